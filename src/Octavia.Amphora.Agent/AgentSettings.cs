// Licensed under the Apache License, Version 2.0.

using System.Security.Authentication;
using Octavia.Core.Configuration;

namespace Octavia.Amphora.Agent;

/// <summary>
/// What the agent reads from amphora-agent.conf. Options upstream marks mutable (heartbeat key, controller
/// list, heartbeat interval, topology) live in <see cref="Mutable"/> and change on <c>PUT /1.0/config</c>.
/// </summary>
public sealed class AgentSettings
{
    /// <summary>Upstream's <c>[haproxy_amphora] base_path</c>: per-amphora state directory.</summary>
    public required string BasePath { get; init; }

    /// <summary><c>[haproxy_amphora] base_cert_dir</c>: listener and pool TLS files, one directory per LB.</summary>
    public required string BaseCertDir { get; init; }

    /// <summary><c>[haproxy_amphora] bind_host</c>.</summary>
    public required string BindHost { get; init; }

    /// <summary><c>[haproxy_amphora] bind_port</c>.</summary>
    public required int BindPort { get; init; }

    /// <summary><c>[haproxy_amphora] haproxy_cmd</c>.</summary>
    public required string HaproxyCmd { get; init; }

    /// <summary>keepalived binary (upstream's constant).</summary>
    public string KeepalivedCmd { get; init; } = "/usr/sbin/keepalived";

    /// <summary><c>[amphora_agent] agent_server_cert</c>: PEM with certificate and key.</summary>
    public required string ServerCertPath { get; init; }

    /// <summary><c>[amphora_agent] agent_server_ca</c>: the CA that signs controller client certificates.</summary>
    public required string ServerCaPath { get; init; }

    /// <summary><c>[amphora_agent] agent_tls_protocol</c> as a minimum.</summary>
    public required SslProtocols TlsProtocols { get; init; }

    /// <summary><c>[amphora_agent] agent_request_read_timeout</c> seconds.</summary>
    public int RequestReadTimeout { get; init; } = 180;

    /// <summary><c>[amphora_agent] amphora_id</c>.</summary>
    public string? AmphoraId { get; init; }

    /// <summary>Ours (<c>[amphora_agent] network_namespace</c>): null when unset, empty for loopback mode, else the namespace the agent runs in.</summary>
    public string? NetworkNamespace { get; init; }

    /// <summary>Ours: the open-file limit HAProxy runs under; 0 = this process's hard RLIMIT_NOFILE.</summary>
    public int HaproxyFdLimit { get; init; }

    /// <summary>Where HAProxy's logs go (upstream's <c>[amphora_agent]</c> logging options).</summary>
    public Logging.LogSettings Logs { get; init; } = new();

    /// <summary>The files the configuration came from; <c>PUT /config</c> rewrites the first.</summary>
    public IReadOnlyList<string> ConfigFiles { get; init; } = [];

    /// <summary>The current values of the mutable options.</summary>
    public MutableAgentSettings Mutable { get; private set; } = new();

    /// <summary>Builds the settings from configuration (throws <see cref="ConfigException"/> on bad values).</summary>
    public static AgentSettings FromConfig(OctaviaConfig config)
    {
        var hap = OptionBinder.Bind<HaproxyAmphoraOptions>(config);
        var agent = OptionBinder.Bind<AmphoraAgentOptions>(config);
        return new AgentSettings
        {
            BasePath = hap.BasePath,
            BaseCertDir = hap.BaseCertDir,
            BindHost = hap.BindHost,
            BindPort = hap.BindPort,
            HaproxyCmd = hap.HaproxyCmd,
            ServerCertPath = agent.AgentServerCert,
            ServerCaPath = agent.AgentServerCa,
            TlsProtocols = ParseProtocol(agent.AgentTlsProtocol),
            RequestReadTimeout = agent.AgentRequestReadTimeout,
            AmphoraId = agent.AmphoraId,
            HaproxyFdLimit = agent.HaproxyFdLimit,
            NetworkNamespace = OptionBinder.Bind<LocalAgentOptions>(config).NetworkNamespace,
            ConfigFiles = config.Files,
            Logs = Logging.LogSettings.FromConfig(config),
            Mutable = MutableAgentSettings.FromConfig(config),
        };
    }

    /// <summary>Re-reads the configuration files and applies the mutable options.</summary>
    public void ReloadMutable()
    {
        var config = OctaviaConfig.Load(ConfigFiles);
        OptionBinder.ValidateAll(config);
        Mutable = MutableAgentSettings.FromConfig(config);
    }

    internal static SslProtocols ParseProtocol(string value) => value switch
    {
        // SSLv3, TLSv1 and TLSv1.1 are refused by modern OpenSSL anyway; 1.2 is the floor we can offer.
        "TLSv1.3" => SslProtocols.Tls13,
        _ => SslProtocols.Tls12 | SslProtocols.Tls13,
    };
}

/// <summary>Options upstream declares <c>mutable=True</c> that the agent uses.</summary>
public sealed record MutableAgentSettings
{
    /// <summary><c>[health_manager] heartbeat_key</c>.</summary>
    public string? HeartbeatKey { get; init; }

    /// <summary><c>[health_manager] controller_ip_port_list</c>.</summary>
    public IReadOnlyList<string> ControllerIpPortList { get; init; } = [];

    /// <summary><c>[health_manager] heartbeat_interval</c> seconds.</summary>
    public int HeartbeatInterval { get; init; } = 10;

    /// <summary><c>[controller_worker] loadbalancer_topology</c>.</summary>
    public string Topology { get; init; } = "SINGLE";

    internal static MutableAgentSettings FromConfig(OctaviaConfig config)
    {
        var hm = OptionBinder.Bind<HealthManagerOptions>(config);
        var cw = OptionBinder.Bind<ControllerWorkerOptions>(config);
        return new MutableAgentSettings
        {
            HeartbeatKey = hm.HeartbeatKey,
            ControllerIpPortList = hm.ControllerIpPortList,
            HeartbeatInterval = Math.Max(1, hm.HeartbeatInterval),
            Topology = cw.LoadbalancerTopology,
        };
    }
}
