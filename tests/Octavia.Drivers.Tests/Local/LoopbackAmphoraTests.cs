// Licensed under the Apache License, Version 2.0.

using System.Net;
using System.Net.Sockets;
using System.Text;
using Octavia.Core.Drivers;
using Octavia.Core.Model;
using Octavia.Drivers.Compute.Local;
using Octavia.Drivers.Network.Local;

namespace Octavia.Drivers.Tests.Local;

/// <summary>Loopback mode: real agent processes in the host namespace, no root needed.</summary>
public sealed class LoopbackAmphoraTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Build_Loopback_AgentListensOnItsOwn127AddressAndReachesController()
    {
        await using var bed = LocalTestBed.Create(LocalMode.Loopback);
        var id = await bed.BuildAsync();

        var instance = await bed.Compute.GetAsync(id, Ct);

        instance.Status.ShouldBe(ComputeStatus.Active);
        instance.LbNetworkIp.ShouldNotBeNull();
        instance.LbNetworkIp.ShouldStartWith("127.77.");
        (await LocalTestBed.AskAgentAsync(instance.LbNetworkIp, bed.AgentPort)).ShouldBe("agent-ok " + id);

        var conf = File.ReadAllText(Path.Combine(bed.Context.AmphoraDir(id), "amphora-agent.conf"));
        IniText.Get(conf, "haproxy_amphora", "bind_host").ShouldBe(instance.LbNetworkIp);
        IniText.Get(conf, "health_manager", "controller_ip_port_list").ShouldBe($"{bed.ControllerAddress}:{bed.ControllerPort}");
        bed.Context.ManagementHostAddress.ShouldBe(bed.ControllerAddress);
        IniText.Get(conf, "amphora_agent", "network_namespace").ShouldBe("");
        Core.Configuration.OptionBinder.Bind<Core.Configuration.LocalAgentOptions>(Core.Configuration.OctaviaConfig.FromText(conf)).NetworkNamespace.ShouldBe("");
        Core.Configuration.OptionBinder.Bind<Core.Configuration.LocalAgentOptions>(Core.Configuration.OctaviaConfig.FromText("")).NetworkNamespace.ShouldBeNull();
        using var udp = new UdpClient(new IPEndPoint(bed.ControllerAddress, bed.ControllerPort));
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        wait.CancelAfter(TimeSpan.FromSeconds(10));
        Encoding.ASCII.GetString((await udp.ReceiveAsync(wait.Token)).Buffer).Trim().ShouldBe("hello " + id);
    }

    internal static string Describe(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ') + " / " + File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return "gone";
        }
    }

    [Fact]
    public async Task TwoAmphorae_Loopback_GetDistinctAddressesOnTheSamePort()
    {
        await using var bed = LocalTestBed.Create(LocalMode.Loopback);
        var a = await bed.BuildAsync();
        var b = await bed.BuildAsync();

        var ipA = (await bed.Compute.GetAsync(a, Ct)).LbNetworkIp!;
        var ipB = (await bed.Compute.GetAsync(b, Ct)).LbNetworkIp!;

        ipA.ShouldNotBe(ipB);
        (await LocalTestBed.AskAgentAsync(ipA, bed.AgentPort)).ShouldBe("agent-ok " + a);
        (await LocalTestBed.AskAgentAsync(ipB, bed.AgentPort)).ShouldBe("agent-ok " + b);
    }

    [Fact]
    public async Task Delete_Loopback_StopsAgentAndEverythingInItsSession()
    {
        await using var bed = LocalTestBed.Create(LocalMode.Loopback);
        var id = await bed.BuildAsync();
        var ip = (await bed.Compute.GetAsync(id, Ct)).LbNetworkIp!;
        (await LocalTestBed.AskAgentAsync(ip, bed.AgentPort)).ShouldStartWith("agent-ok");
        var agent = ProcessIdentity.Parse(LocalComputeDriver.ReadInstance(bed.Context.AmphoraDir(id))!.Agent!)!.Value;
        var session = HostProcesses.SessionMembers(agent.Pid).Select(HostProcesses.Identify).OfType<ProcessIdentity>().ToList();
        session.Count.ShouldBeGreaterThan(1); // the agent and its heartbeat loop

        await bed.Compute.DeleteAsync(id, Ct);

        // Zombies count as gone: PID 1 here may be slow to reap the orphans it inherits.
        foreach (var process in session)
        {
            HostProcesses.IsAlive(process).ShouldBeFalse($"process {process.Pid} of the amphora is still running: {Describe(process.Pid)}");
        }
        (await bed.Compute.GetAsync(id, Ct)).Status.ShouldBe(ComputeStatus.Deleted);
        (await bed.Context.Ipam.ReadAsync(Ct)).ShouldNotContain(p => p.DeviceId == id);
        await bed.Compute.DeleteAsync(id, Ct);
    }

    [Fact]
    public async Task Build_LoopbackAgentExitsAtOnce_ReportsError()
    {
        await using var bed = LocalTestBed.Create(LocalMode.Loopback);
        var id = await bed.BuildAsync(fail: true);

        var instance = await NamespaceAmphoraTests.WaitForStatusAsync(bed, id, ComputeStatus.Error);

        instance.Fault!.ShouldContain("configured to fail");
    }

    [Fact]
    public async Task Build_AgentProgramMissing_FailsWithClearMessage()
    {
        await using var bed = LocalTestBed.Create(LocalMode.Loopback);
        File.Delete(bed.AgentScript);

        var error = await Should.ThrowAsync<InvalidOperationException>(() => bed.BuildAsync());

        error.Message.ShouldContain("agent_executable");
    }

    [Fact]
    public async Task VipAndMembers_Loopback_ComeFromMapped127Ranges()
    {
        await using var bed = LocalTestBed.Create(LocalMode.Loopback);
        var id = await bed.BuildAsync();
        var subnet = (await bed.Network.GetSubnetAsync(bed.PrivateSubnet, Ct))!;
        subnet.Cidr.ShouldStartWith("127.77.");
        var lb = LocalTestBed.LoadBalancer(subnetId: subnet.Id);
        lb.Vip = await bed.Network.AllocateVipAsync(lb, Ct);
        IPNetwork.Parse(subnet.Cidr).Contains(IPAddress.Parse(lb.Vip.IpAddress!)).ShouldBeTrue();

        var config = await bed.Network.PlugVipAsync(lb, new Amphora { Id = id }, Ct);
        var member = await bed.Network.PlugNetworkAsync(new Amphora { Id = id }, bed.PrivateNetwork, bed.PrivateSubnet, Ct);

        config.VrrpPort.FixedIps[0].IpAddress.ShouldStartWith("127.77.");
        member.FixedIps[0].SubnetId.ShouldBe(subnet.Id);
        (await bed.Context.Ipam.ReadAsync(Ct)).Where(p => p.DeviceId == id).ShouldAllBe(p => p.HostInterface == null);
    }
}
