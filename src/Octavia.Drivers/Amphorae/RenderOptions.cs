// Licensed under the Apache License, Version 2.0.

using Octavia.Core.Configuration;

namespace Octavia.Drivers.Amphorae;

/// <summary>
/// Inputs of the HAProxy configuration renderer that come from octavia.conf (<c>[haproxy_amphora]</c>,
/// <c>[amphora_agent]</c>, <c>[api_settings]</c>) and from the amphora's HAProxy version.
/// Defaults are upstream's, except <see cref="MaxGlobalConnections"/> (ours).
/// </summary>
public sealed record RenderOptions
{
    /// <summary><c>[haproxy_amphora] base_path</c>: where the stats socket and server-state file live.</summary>
    public string BasePath { get; init; } = "/var/lib/octavia";

    /// <summary><c>[haproxy_amphora] base_cert_dir</c>: certificates are under <c>base_cert_dir/lb_id/</c>.</summary>
    public string BaseCertDir { get; init; } = "/var/lib/octavia/certs";

    /// <summary><c>[haproxy_amphora] connection_logging</c>: false renders <c>no log</c> and no log-format.</summary>
    public bool ConnectionLogging { get; init; } = true;

    /// <summary><c>[haproxy_amphora] user_log_format</c>, with <c>{{ project_id }}</c> and <c>{{ lb_id }}</c> placeholders.</summary>
    public string UserLogFormat { get; init; } =
        "{{ project_id }} {{ lb_id }} %f %ci %cp %t %{+Q}r %ST %B %U %[ssl_c_verify] %{+Q}[ssl_c_s_dn] %b %s %Tt %tsc";

    /// <summary><c>[haproxy_amphora] haproxy_stick_size</c>.</summary>
    public string StickSize { get; init; } = "10k";

    /// <summary><c>[haproxy_amphora] timeout_client_data</c> (ms), used when the listener has none.</summary>
    public int TimeoutClientData { get; init; } = 50000;

    /// <summary><c>[haproxy_amphora] timeout_member_connect</c> (ms).</summary>
    public int TimeoutMemberConnect { get; init; } = 5000;

    /// <summary><c>[haproxy_amphora] timeout_member_data</c> (ms).</summary>
    public int TimeoutMemberData { get; init; } = 50000;

    /// <summary><c>[haproxy_amphora] timeout_tcp_inspect</c> (ms); 0 renders no inspect-delay.</summary>
    public int TimeoutTcpInspect { get; init; }

    /// <summary><c>[haproxy_amphora] default_connection_limit</c>: a listener's limit when it has none (or -1).</summary>
    public int DefaultConnectionLimit { get; init; } = 50000;

    /// <summary>
    /// <c>[haproxy_amphora] max_global_connections</c> (ours): the largest global <c>maxconn</c> rendered. HAProxy needs
    /// about two descriptors per connection and refuses to start when the open-file limit is lower
    /// ("Cannot raise FD limit"); listeners without a limit are capped to this, and a listener asking for
    /// more is refused.
    /// </summary>
    public int MaxGlobalConnections { get; init; } = 5000;

    /// <summary><c>[amphora_agent] user_log_facility</c>.</summary>
    public int UserLogFacility { get; init; }

    /// <summary><c>[amphora_agent] administrative_log_facility</c>.</summary>
    public int AdministrativeLogFacility { get; init; } = 1;

    /// <summary>Log target for user traffic; upstream's default when null.</summary>
    public string? LogHttp { get; init; }

    /// <summary>Log target for administrative messages; upstream's default when null.</summary>
    public string? LogServer { get; init; }

    /// <summary><c>[api_settings] default_listener_ciphers</c>: replaces invalid listener cipher strings.</summary>
    public string DefaultListenerCiphers { get; init; } = "";

    /// <summary><c>[api_settings] default_pool_ciphers</c>: replaces invalid pool cipher strings.</summary>
    public string DefaultPoolCiphers { get; init; } = "";

    /// <summary>The external-check command used by PING health monitors (upstream's path inside the amphora).</summary>
    public string PingWrapperPath { get; init; } = "/var/lib/octavia/ping-wrapper.sh";

    /// <summary>The stats socket path; <c>base_path/lb_id.sock</c> when null.</summary>
    public string? StatsSocketPath { get; init; }

    /// <summary>The amphora's HAProxy major and minor version (from the agent's <c>/info</c>); selects features as upstream does.</summary>
    public Version HaproxyVersion { get; init; } = new(2, 6);

    /// <summary>Reads the options from octavia.conf.</summary>
    public static RenderOptions FromConfig(OctaviaConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var ha = OptionBinder.Bind<HaproxyAmphoraOptions>(config);
        var agent = OptionBinder.Bind<AmphoraAgentOptions>(config);
        var api = OptionBinder.Bind<ApiSettingsOptions>(config);
        return new RenderOptions
        {
            BasePath = ha.BasePath,
            BaseCertDir = ha.BaseCertDir,
            ConnectionLogging = ha.ConnectionLogging,
            UserLogFormat = ha.UserLogFormat,
            StickSize = ha.HaproxyStickSize,
            TimeoutClientData = ha.TimeoutClientData,
            TimeoutMemberConnect = ha.TimeoutMemberConnect,
            TimeoutMemberData = ha.TimeoutMemberData,
            TimeoutTcpInspect = ha.TimeoutTcpInspect,
            DefaultConnectionLimit = ha.DefaultConnectionLimit,
            MaxGlobalConnections = ha.MaxGlobalConnections,
            UserLogFacility = agent.UserLogFacility,
            AdministrativeLogFacility = agent.AdministrativeLogFacility,
            DefaultListenerCiphers = api.DefaultListenerCiphers,
            DefaultPoolCiphers = api.DefaultPoolCiphers,
        };
    }
}
