// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Octavia.Core.Drivers;
using Octavia.Core.Model;
using Octavia.Drivers.Compute.Local;
using Octavia.Drivers.Network.Local;
using Octavia.Tests.Shared;

namespace Octavia.Drivers.Tests.Local;

/// <summary>Real namespaces, bridges, veths and processes (root only).</summary>
public sealed class NamespaceAmphoraTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static LocalTestBed NamespaceBed()
    {
        if (!TestEnvironment.IsRoot)
        {
            Assert.Skip("needs root");
        }
        return LocalTestBed.Create(LocalMode.Namespace);
    }

    [Fact]
    public async Task Build_Root_CreatesNamespaceBridgeVethAndRunningAgent()
    {
        await using var bed = NamespaceBed();
        var id = await bed.BuildAsync();
        var ns = LinkTool.NamespaceName(id);

        var instance = await bed.Compute.GetAsync(id, Ct);
        instance.Status.ShouldBe(ComputeStatus.Active);
        instance.LbNetworkIp.ShouldNotBeNull();
        bed.MgmtCidr.Contains(IPAddress.Parse(instance.LbNetworkIp)).ShouldBeTrue();
        instance.ImageId.ShouldBe("amphora");

        LocalTestBed.Ip("netns", "list").Output.ShouldContain(ns);
        LocalTestBed.Ip("-o", "addr", "show", "dev", bed.MgmtBridge).Output.ShouldContain(LocalTestBed.Host(bed.MgmtCidr, 1) + "/26");
        var mgmtPort = (await bed.Context.Ipam.ReadAsync(Ct)).Single(p => p.DeviceId == id && p.Role == LocalPortRole.Management);
        LocalTestBed.Ip("-o", "link", "show", "dev", mgmtPort.HostInterface!).Output.ShouldContain("master " + bed.MgmtBridge);
        var inside = LocalTestBed.Ip("-n", ns, "-o", "addr", "show", "dev", "eth-mgmt").Output;
        inside.ShouldContain(instance.LbNetworkIp + "/26");
        LocalTestBed.Ip("-n", ns, "-o", "link", "show", "dev", "eth-mgmt").Output.ShouldContain(mgmtPort.MacAddress);
        TestEnvironment.Run("ip", "netns", "exec", ns, "sysctl", "-n", "net.ipv4.ip_nonlocal_bind").Output.Trim().ShouldBe("1");

        // The agent runs inside the namespace, in its own session.
        var dir = bed.Context.AmphoraDir(id);
        var agent = ProcessIdentity.Parse(LocalComputeDriver.ReadInstance(dir)!.Agent!)!.Value;
        LocalTestBed.Ip("netns", "identify", agent.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)).Output.Trim().ShouldBe(ns);
        // Its own session, not our child: it outlives the worker that started it.
        HostProcesses.SessionMembers(agent.Pid).ShouldContain(agent.Pid);
        File.ReadAllText($"/proc/{agent.Pid}/stat").Split(") ")[1].Split(' ')[1].ShouldNotBe(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var recorded = LocalComputeDriver.ReadInstance(dir)!;
        (recorded.ImageTag, recorded.FlavorId, recorded.Mode, recorded.LbNetworkIp).ShouldBe(("amphora", "flavor-1", "namespace", instance.LbNetworkIp));
        File.ReadAllText(Path.Combine(dir, "agent.pid")).Trim().ShouldBe(agent.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture));

        // Host → amphora over the management bridge.
        (await LocalTestBed.AskAgentAsync(instance.LbNetworkIp, bed.AgentPort)).ShouldBe("agent-ok " + id);

        // Amphora → host: the stand-in's "heartbeats" reach the host's management address.
        using var udp = new UdpClient(new IPEndPoint(LocalTestBed.Host(bed.MgmtCidr, 1), bed.ControllerPort));
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        wait.CancelAfter(TimeSpan.FromSeconds(10));
        var datagram = await udp.ReceiveAsync(wait.Token);
        Encoding.ASCII.GetString(datagram.Buffer).Trim().ShouldBe("hello " + id);
        datagram.RemoteEndPoint.Address.ToString().ShouldBe(instance.LbNetworkIp);

        // The files the agent needs, its config pointed at them.
        var conf = File.ReadAllText(Path.Combine(dir, "amphora-agent.conf"));
        IniText.Get(conf, "amphora_agent", "agent_server_cert").ShouldBe(Path.Combine(dir, "server.pem"));
        IniText.Get(conf, "amphora_agent", "agent_server_ca").ShouldBe(Path.Combine(dir, "client_ca.pem"));
        IniText.Get(conf, "haproxy_amphora", "base_path").ShouldBe(Path.Combine(dir, "lb"));
        IniText.Get(conf, "amphora_agent", "network_namespace").ShouldBe(ns);
        Core.Configuration.OptionBinder.Bind<Core.Configuration.LocalAgentOptions>(Core.Configuration.OctaviaConfig.FromText(conf)).NetworkNamespace.ShouldBe(ns);
        if (!OperatingSystem.IsWindows())
        {
            File.GetUnixFileMode(Path.Combine(dir, "server.pem")).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    [Fact]
    public async Task Build_SeveralAtOnce_ShareTheBridgeWithDistinctAddresses()
    {
        await using var bed = NamespaceBed();

        var ids = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => bed.BuildAsync()));

        var instances = await Task.WhenAll(ids.Select(id => bed.Compute.GetAsync(id, Ct)));
        instances.ShouldAllBe(i => i.Status == ComputeStatus.Active);
        instances.Select(i => i.LbNetworkIp).Distinct().Count().ShouldBe(3);
        foreach (var (id, instance) in ids.Zip(instances))
        {
            (await LocalTestBed.AskAgentAsync(instance.LbNetworkIp!, bed.AgentPort)).ShouldBe("agent-ok " + id);
        }
    }

    [Fact]
    public async Task Build_Repeated_KeepsTheRunningAgent()
    {
        await using var bed = NamespaceBed();
        var id = await bed.BuildAsync();
        var first = LocalComputeDriver.ReadInstance(bed.Context.AmphoraDir(id))!.Agent;

        (await bed.Compute.BuildAsync(bed.Request(id), Ct)).ShouldBe(id);

        LocalComputeDriver.ReadInstance(bed.Context.AmphoraDir(id))!.Agent.ShouldBe(first);
        (await bed.Context.Ipam.ReadAsync(Ct)).Count(p => p.DeviceId == id).ShouldBe(1);
    }

    [Fact]
    public async Task Delete_Root_RemovesNamespaceVethsProcessesAndState()
    {
        await using var bed = NamespaceBed();
        var id = await bed.BuildAsync();
        var ns = LinkTool.NamespaceName(id);
        var lb = LocalTestBed.LoadBalancer(subnetId: bed.PrivateSubnet);
        lb.Vip = await bed.Network.AllocateVipAsync(lb, Ct);
        var amphora = new Amphora { Id = id };
        await bed.Network.PlugVipAsync(lb, amphora, Ct);
        await bed.Network.PlugNetworkAsync(amphora, bed.PrivateNetwork, null, Ct);
        var mgmtIp = (await bed.Compute.GetAsync(id, Ct)).LbNetworkIp!;
        (await LocalTestBed.AskAgentAsync(mgmtIp, bed.AgentPort)).ShouldStartWith("agent-ok");
        LocalTestBed.Ip("neigh", "show", "to", mgmtIp).Output.ShouldContain(mgmtIp);
        var pids = LocalTestBed.Ip("netns", "pids", ns).Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => HostProcesses.Identify(int.Parse(p, System.Globalization.CultureInfo.InvariantCulture))).OfType<ProcessIdentity>().ToList();
        pids.Count.ShouldBeGreaterThan(1); // the agent plus its heartbeat loop
        var links = (await bed.Context.Ipam.ReadAsync(Ct)).Where(p => p.DeviceId == id).Select(p => p.HostInterface!).ToList();
        links.Count.ShouldBe(3);

        await bed.Compute.DeleteAsync(id, Ct);

        LocalTestBed.Ip("netns", "list").Output.ShouldNotContain(ns);
        // The next owner of the address must not inherit the old MAC.
        LocalTestBed.Ip("neigh", "show", "to", mgmtIp).Output.ShouldNotContain(mgmtIp);
        foreach (var link in links)
        {
            LocalTestBed.Ip("link", "show", "dev", link).ExitCode.ShouldNotBe(0);
        }
        foreach (var process in pids)
        {
            HostProcesses.IsAlive(process).ShouldBeFalse($"process {process.Pid} of the amphora is still running: {LoopbackAmphoraTests.Describe(process.Pid)}");
        }
        Directory.Exists(bed.Context.AmphoraDir(id)).ShouldBeFalse();
        (await bed.Context.Ipam.ReadAsync(Ct)).ShouldNotContain(p => p.DeviceId == id);
        (await bed.Compute.GetAsync(id, Ct)).Status.ShouldBe(ComputeStatus.Deleted);

        // Tasks repeat: a second delete of the same amphora succeeds.
        await bed.Compute.DeleteAsync(id, Ct);
        // The VIP port is the load balancer's, not the amphora's: only DeallocateVip releases it.
        (await bed.Network.GetPortAsync(lb.Vip.PortId!, Ct)).ShouldNotBeNull();
        await bed.Network.DeallocateVipAsync(lb, Ct);
        (await bed.Network.GetPortAsync(lb.Vip.PortId!, Ct)).ShouldBeNull();
    }

    [Fact]
    public async Task Build_AgentExitsAtOnce_ReportsErrorWithReasonFromLog()
    {
        await using var bed = NamespaceBed();
        var id = await bed.BuildAsync(fail: true);

        var instance = await WaitForStatusAsync(bed, id, ComputeStatus.Error);

        instance.Fault.ShouldNotBeNull();
        instance.Fault.ShouldContain("configured to fail");
    }

    [Fact]
    public async Task PlugVip_Root_VipInsideNamespaceReachableFromHostThroughBridge()
    {
        await using var bed = NamespaceBed();
        var id = await bed.BuildAsync();
        var ns = LinkTool.NamespaceName(id);
        var lb = LocalTestBed.LoadBalancer(subnetId: bed.PrivateSubnet);
        lb.Vip = await bed.Network.AllocateVipAsync(lb, Ct);
        var amphora = new Amphora { Id = id };

        var config = await bed.Network.PlugVipAsync(lb, amphora, Ct);

        config.VipSubnet.Cidr.ShouldBe(bed.PrivateCidr.ToString());
        config.HaIp.ShouldBe(lb.Vip.IpAddress);
        config.VrrpPort.Name.ShouldBe("octavia-lb-vrrp-" + id);
        var vrrpIp = config.VrrpPort.FixedIps.Single().IpAddress;
        vrrpIp.ShouldNotBe(lb.Vip.IpAddress);
        (await bed.Network.PlugVipAsync(lb, amphora, Ct)).VrrpPort.Id.ShouldBe(config.VrrpPort.Id);

        // What the agent does on POST /plug/vip: find the interface by MAC, put the addresses on it.
        var device = InterfaceWithMac(ns, config.VrrpPort.MacAddress);
        device.ShouldBe("eth-vip");
        LocalTestBed.Ip("-n", ns, "addr", "add", vrrpIp + "/26", "dev", device).ExitCode.ShouldBe(0);
        LocalTestBed.Ip("-n", ns, "addr", "add", lb.Vip.IpAddress + "/32", "dev", device).ExitCode.ShouldBe(0);
        var port = TestEnvironment.FreeTcpPort();
        using var listener = StartInNamespace(ns, "socat", $"TCP-LISTEN:{port},bind={lb.Vip.IpAddress},reuseaddr,fork", "SYSTEM:echo vip-ok");
        try
        {
            (await LocalTestBed.AskAgentAsync(lb.Vip.IpAddress!, port)).ShouldBe("vip-ok");
        }
        finally
        {
            listener.Kill();
        }

        await bed.Network.UnplugVipAsync(lb, amphora, Ct);
        LocalTestBed.Ip("-n", ns, "link", "show", "dev", "eth-vip").ExitCode.ShouldNotBe(0);
        (await bed.Network.GetPortAsync(config.VrrpPort.Id, Ct)).ShouldBeNull();
        await bed.Network.UnplugVipAsync(lb, amphora, Ct);
    }

    [Fact]
    public async Task PlugNetwork_Root_MemberOnHostGatewayReachableFromAmphora()
    {
        await using var bed = NamespaceBed();
        var id = await bed.BuildAsync();
        var ns = LinkTool.NamespaceName(id);
        var amphora = new Amphora { Id = id };
        var privateNetworkId = (await bed.Network.GetNetworkAsync(bed.PrivateNetwork, Ct))!.Id;

        var port = await bed.Network.PlugNetworkAsync(amphora, privateNetworkId, null, Ct);

        (await bed.Network.PlugNetworkAsync(amphora, privateNetworkId, null, Ct)).Id.ShouldBe(port.Id);
        var device = InterfaceWithMac(ns, port.MacAddress);
        device.ShouldStartWith("eth-m");
        LocalTestBed.Ip("-n", ns, "addr", "add", port.FixedIps[0].IpAddress + "/26", "dev", device).ExitCode.ShouldBe(0);

        // A member server on the host, bound to the subnet's gateway (host) address.
        var gateway = LocalTestBed.Host(bed.PrivateCidr, 1);
        using var member = new TcpListener(gateway, 0);
        member.Start();
        var memberPort = ((IPEndPoint)member.LocalEndpoint).Port;
        var accept = member.AcceptTcpClientAsync(Ct);
        var (exit, output) = TestEnvironment.Run("ip", "netns", "exec", ns, "socat", "-u", "SYSTEM:echo from-amphora", $"TCP:{gateway}:{memberPort}");
        exit.ShouldBe(0, output);
        using var client = await accept;
        using var reader = new StreamReader(client.GetStream());
        (await reader.ReadLineAsync(Ct)).ShouldBe("from-amphora");
        ((IPEndPoint)client.Client.RemoteEndPoint!).Address.ToString().ShouldBe(port.FixedIps[0].IpAddress);

        await bed.Network.UnplugNetworkAsync(amphora, privateNetworkId, Ct);
        LocalTestBed.Ip("-n", ns, "link", "show", "dev", device).ExitCode.ShouldNotBe(0);
        await bed.Network.UnplugNetworkAsync(amphora, privateNetworkId, Ct);
    }

    [Fact]
    public async Task EnsureHostNetworks_Root_BridgesCarryTheHostAddressesBeforeAnyAmphora()
    {
        await using var bed = NamespaceBed();

        await bed.Network.EnsureHostNetworksAsync(Ct);
        await bed.Network.EnsureHostNetworksAsync(Ct);

        bed.Context.ManagementHostAddress.ShouldBe(LocalTestBed.Host(bed.MgmtCidr, 1));
        LocalTestBed.Ip("-o", "addr", "show", "dev", bed.MgmtBridge).Output.ShouldContain(bed.Context.ManagementHostAddress + "/26");
        LocalTestBed.Ip("-o", "addr", "show", "dev", bed.PrivateBridge).Output.ShouldContain(LocalTestBed.Host(bed.PrivateCidr, 1) + "/26");
        using var healthManager = new UdpClient(new IPEndPoint(bed.Context.ManagementHostAddress!, 0));
    }

    [Fact]
    public async Task PlugVip_AmphoraNotBuilt_FailsClearly()
    {
        await using var bed = NamespaceBed();
        var lb = LocalTestBed.LoadBalancer(subnetId: bed.PrivateSubnet);
        lb.Vip = await bed.Network.AllocateVipAsync(lb, Ct);

        var error = await Should.ThrowAsync<InvalidOperationException>(() => bed.Network.PlugVipAsync(lb, new Amphora { Id = Guid.NewGuid().ToString() }, Ct));

        error.Message.ShouldContain("has no namespace");
    }

    internal static async Task<ComputeInstance> WaitForStatusAsync(LocalTestBed bed, string id, string status)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var instance = await bed.Compute.GetAsync(id, Ct);
            if (instance.Status == status || DateTime.UtcNow > deadline)
            {
                instance.Status.ShouldBe(status);
                return instance;
            }
            await Task.Delay(50, Ct);
        }
    }

    private static string InterfaceWithMac(string ns, string mac)
    {
        foreach (var line in LocalTestBed.Ip("-n", ns, "-o", "link", "show").Output.Split('\n'))
        {
            if (line.Contains("link/ether " + mac, StringComparison.Ordinal))
            {
                return line.Split(':')[1].Trim().Split('@')[0];
            }
        }
        throw new InvalidOperationException($"no interface with MAC {mac} in {ns}");
    }

    private static Process StartInNamespace(string ns, params string[] command)
    {
        var psi = new ProcessStartInfo("ip") { UseShellExecute = false };
        foreach (var a in new[] { "netns", "exec", ns }.Concat(command))
        {
            psi.ArgumentList.Add(a);
        }
        return Process.Start(psi)!;
    }
}
