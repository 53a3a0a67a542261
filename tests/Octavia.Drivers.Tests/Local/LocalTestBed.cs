// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Octavia.Core.Configuration;
using Octavia.Core.Drivers;
using Octavia.Core.Model;
using Octavia.Drivers.Compute.Local;
using Octavia.Drivers.Network.Local;
using Octavia.Tests.Shared;

namespace Octavia.Drivers.Tests.Local;

/// <summary>
/// One isolated local-driver setup: a temp state dir, two networks in their own /26 blocks of
/// 198.18.30.0–198.18.39.255 on bridges named olc*, and a stand-in agent script. Disposing deletes
/// every amphora it built (namespaces, veths, processes), its bridges and its files.
/// </summary>
internal sealed class LocalTestBed : IAsyncDisposable
{
    private static int _nextBlock = Random.Shared.Next(0, 20);

    // Stand-in for `octavia amphora-agent` (helper "agent" builds the real one): answers TCP on
    // [haproxy_amphora] bind_host:bind_port and sends "hello <id>" datagrams to the controllers, as
    // heartbeats would go. [standin] fail = true makes it exit at once with a message.
    private const string StandInAgent = """
        #!/bin/bash
        conf=""
        while [ $# -gt 0 ]; do case "$1" in --config-file) conf="$2"; shift 2;; *) shift;; esac; done
        get() { awk -v s="[$1]" -v k="$2" '$0==s{f=1;next} /^\[/{f=0} f{n=index($0,"="); if(n>0){key=substr($0,1,n-1); gsub(/[ \t]/,"",key); if(key==k){v=substr($0,n+1); sub(/^[ \t]+/,"",v); print v}}}' "$conf" | tail -1; }
        id=$(get amphora_agent amphora_id)
        if [ "$(get standin fail)" = "true" ]; then echo "stand-in agent for $id: configured to fail" >&2; exit 3; fi
        host=$(get haproxy_amphora bind_host); port=$(get haproxy_amphora bind_port)
        controllers=$(get health_manager controller_ip_port_list)
        echo "stand-in agent $id on $host:$port, controllers $controllers"
        ( while true; do for c in ${controllers//,/ }; do echo "hello $id" | socat -u - "UDP-SENDTO:$c" 2>/dev/null; done; sleep 0.2; done ) &
        exec socat "TCP-LISTEN:$port,bind=$host,reuseaddr,fork" SYSTEM:"echo agent-ok $id"
        """;

    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _amphorae = new();

    private LocalTestBed(string root, LocalMode mode, int block, string? agentExecutable, string? agentArguments)
    {
        Root = root;
        Mode = mode;
        var suffix = Convert.ToHexString(Guid.NewGuid().ToByteArray().AsSpan(0, 3)).ToLowerInvariant();
        MgmtBridge = "olcm" + suffix;
        PrivateBridge = "olcp" + suffix;
        MgmtNetwork = "olc-mgmt-" + suffix;
        PrivateNetwork = "olc-priv-" + suffix;
        PrivateSubnet = PrivateNetwork + "-subnet";
        MgmtCidr = Block(block * 2);
        PrivateCidr = Block((block * 2) + 1);
        AgentPort = TestEnvironment.FreeTcpPort();
        ControllerPort = TestEnvironment.FreeUdpPort();
        AgentScript = Path.Combine(root, "standin-agent.sh");
        File.WriteAllText(AgentScript, StandInAgent.Replace("\r\n", "\n", StringComparison.Ordinal) + "\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(AgentScript, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var loopbackMgmt = $"127.77.{block * 2}.0";
        var loopbackPrivate = $"127.77.{(block * 2) + 1}.0";
        var config = new StringBuilder();
        config.Append(CultureInfo.InvariantCulture, $"""
            [DEFAULT]
            state_path = {root}

            [local_compute]
            state_dir = {root}/state
            agent_executable = {agentExecutable ?? AgentScript}
            agent_arguments = {agentArguments ?? "amphora-agent"}
            mode = {(mode == LocalMode.Namespace ? "namespace" : "loopback")}
            management_network = {MgmtNetwork}
            agent_stop_timeout = 2

            [local_networks]
            networks = name={MgmtNetwork},subnet={MgmtNetwork}-subnet,cidr={MgmtCidr},gateway=none,host={Host(MgmtCidr, 1)},bridge={MgmtBridge},loopback_cidr={loopbackMgmt}/26
            networks = name={PrivateNetwork},subnet={PrivateSubnet},cidr={PrivateCidr},gateway={Host(PrivateCidr, 1)},bridge={PrivateBridge},loopback_cidr={loopbackPrivate}/26

            """);
        ConfigFile = Path.Combine(root, "octavia.conf");
        File.WriteAllText(ConfigFile, config.ToString());
        Config = OctaviaConfig.Load([ConfigFile]);
        Context = LocalDriverContext.FromConfig(Config, TimeProvider.System);
        Compute = new LocalComputeDriver(Context, TimeProvider.System, NullLogger<LocalComputeDriver>.Instance);
        Network = new LocalNetworkDriver(Context, NullLogger<LocalNetworkDriver>.Instance);
    }

    public string Root { get; }
    public LocalMode Mode { get; }
    public string MgmtBridge { get; }
    public string PrivateBridge { get; }
    public string MgmtNetwork { get; }
    public string PrivateNetwork { get; }
    public string PrivateSubnet { get; }
    public IPNetwork MgmtCidr { get; }
    public IPNetwork PrivateCidr { get; }
    public int AgentPort { get; }
    public int ControllerPort { get; }
    public string AgentScript { get; }
    public string ConfigFile { get; }
    public OctaviaConfig Config { get; }
    public LocalDriverContext Context { get; }
    public LocalComputeDriver Compute { get; }
    public LocalNetworkDriver Network { get; }

    /// <summary>The host's management address as the amphorae see it (mapped in loopback mode).</summary>
    public IPAddress ControllerAddress => Context.Layout.Effective(Host(MgmtCidr, 1));

    public static LocalTestBed Create(LocalMode mode, string? agentExecutable = null, string? agentArguments = null)
    {
        var root = Path.Combine(Path.GetTempPath(), "olc-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(root);
        // 20 pairs of /26 blocks fit in the range; tests of this process take them in turn.
        var block = Interlocked.Increment(ref _nextBlock) % 20;
        return new LocalTestBed(root, mode, block, agentExecutable, agentArguments);
    }

    /// <summary>Boots an amphora with the stand-in agent; it is deleted on dispose.</summary>
    public async Task<string> BuildAsync(bool fail = false, string? id = null)
    {
        id ??= Guid.NewGuid().ToString();
        _amphorae.Enqueue(id);
        await Compute.BuildAsync(Request(id, fail), TestContext.Current.CancellationToken);
        return id;
    }

    /// <summary>Deletes this amphora on dispose (for builds made directly through <see cref="Compute"/>).</summary>
    public void Track(string id) => _amphorae.Enqueue(id);

    public AmphoraBootRequest Request(string id, bool fail = false) => new()
    {
        AmphoraId = id,
        AgentConfig = $"""
            [haproxy_amphora]
            bind_host = 0.0.0.0
            bind_port = {AgentPort}

            [health_manager]
            controller_ip_port_list = {Host(MgmtCidr, 1)}:{ControllerPort}
            heartbeat_interval = 1

            [amphora_agent]
            agent_server_cert = /etc/octavia/certs/server.pem
            amphora_id = {id}

            [standin]
            fail = {(fail ? "true" : "false")}
            """,
        ServerPem = "-----BEGIN CERTIFICATE-----\ntest\n-----END CERTIFICATE-----\n",
        ClientCaPem = "-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n",
        ImageTag = "amphora",
        FlavorId = "flavor-1",
    };

    public static LoadBalancer LoadBalancer(string? subnetId = null, string? networkId = null, string? address = null) => new()
    {
        Id = Guid.NewGuid().ToString(),
        ProjectId = "project-1",
        Vip = new Vip { SubnetId = subnetId, NetworkId = networkId, IpAddress = address },
    };

    public static IPAddress Host(IPNetwork cidr, uint offset) =>
        LocalNetworkLayout.FromUInt(LocalNetworkLayout.ToUInt(cidr.BaseAddress) + offset);

    /// <summary>Connects to the stand-in agent and returns its one-line answer.</summary>
    public static async Task<string> AskAgentAsync(string address, int port)
    {
        using var client = new TcpClient();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        while (true)
        {
            try
            {
                await client.ConnectAsync(IPAddress.Parse(address), port, timeout.Token);
                break;
            }
            catch (SocketException) when (!timeout.IsCancellationRequested)
            {
                // The agent may still be starting: connection refused until it listens.
                await Task.Delay(100, timeout.Token);
            }
        }
        using var reader = new StreamReader(client.GetStream());
        return (await reader.ReadLineAsync(timeout.Token))?.Trim() ?? "";
    }

    public static (int ExitCode, string Output) Ip(params string[] args) => TestEnvironment.Run("ip", args);

    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        foreach (var id in _amphorae)
        {
            try
            {
                await Compute.DeleteAsync(id, cts.Token);
            }
            catch (Exception)
            {
                // Keep cleaning: the rest below must run even if one amphora resists.
            }
            // Belt and braces for a failed delete: anything left in the namespace, then the namespace.
            var ns = LinkTool.NamespaceName(id);
            if (TestEnvironment.IsRoot && Ip("netns", "list").Output.Contains(ns, StringComparison.Ordinal))
            {
                foreach (var pid in Ip("netns", "pids", ns).Output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    TestEnvironment.Run("kill", "-KILL", pid.Trim());
                }
                Ip("netns", "del", ns);
            }
        }
        if (File.Exists(Path.Combine(Root, "state", "ipam.json")))
        {
            foreach (var port in await Context.Ipam.ReadAsync(cts.Token))
            {
                if (port.HostInterface is { } link)
                {
                    Ip("link", "del", link);
                }
            }
        }
        if (TestEnvironment.IsRoot)
        {
            Ip("link", "del", MgmtBridge);
            Ip("link", "del", PrivateBridge);
        }
        Directory.Delete(Root, recursive: true);
    }

    private static IPNetwork Block(int index)
    {
        var third = 30 + (index / 4);
        var fourth = 64 * (index % 4);
        return IPNetwork.Parse($"198.18.{third}.{fourth}/26");
    }
}
