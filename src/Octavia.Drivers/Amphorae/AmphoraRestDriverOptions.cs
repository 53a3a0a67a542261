// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using Octavia.Core.Configuration;

namespace Octavia.Drivers.Amphorae;

/// <summary>Settings of <see cref="AmphoraRestDriver"/>, from <c>[haproxy_amphora]</c>, <c>[amphora_agent]</c> and <c>[keepalived_vrrp]</c>.</summary>
public sealed record AmphoraRestDriverOptions
{
    /// <summary><c>[haproxy_amphora] client_cert</c>: the controller's certificate and key in one PEM file.</summary>
    public required string ClientCertPath { get; init; }

    /// <summary><c>[haproxy_amphora] server_ca</c>: the only CA trusted for agent certificates (may hold a chain).</summary>
    public required string ServerCaPath { get; init; }

    /// <summary><c>[haproxy_amphora] bind_port</c>: the agent's port.</summary>
    public int AgentPort { get; init; } = 9443;

    /// <summary><c>[haproxy_amphora] connection_max_retries</c>.</summary>
    public int ConnectionMaxRetries { get; init; } = 120;

    /// <summary><c>[haproxy_amphora] connection_retry_interval</c>.</summary>
    public TimeSpan ConnectionRetryInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary><c>[haproxy_amphora] rest_request_conn_timeout</c>.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary><c>[haproxy_amphora] rest_request_read_timeout</c>.</summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary><c>[haproxy_amphora] lb_network_interface</c>: zone of IPv6 link-local agent addresses.</summary>
    public string LbNetworkInterface { get; init; } = "o-hm0";

    /// <summary><c>[haproxy_amphora] haproxy_template</c>: an operator template, or null for the built-in one.</summary>
    public string? HaproxyTemplatePath { get; init; }

    /// <summary>Renderer settings.</summary>
    public RenderOptions Render { get; init; } = new();

    /// <summary>keepalived.conf settings.</summary>
    public KeepalivedOptions Keepalived { get; init; } = new();

    /// <summary>Reads the options from octavia.conf.</summary>
    public static AmphoraRestDriverOptions FromConfig(OctaviaConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var ha = OptionBinder.Bind<HaproxyAmphoraOptions>(config);
        return new AmphoraRestDriverOptions
        {
            ClientCertPath = ha.ClientCert,
            ServerCaPath = ha.ServerCa,
            AgentPort = ha.BindPort,
            ConnectionMaxRetries = ha.ConnectionMaxRetries,
            ConnectionRetryInterval = TimeSpan.FromSeconds(ha.ConnectionRetryInterval),
            ConnectTimeout = TimeSpan.FromSeconds(ha.RestRequestConnTimeout),
            ReadTimeout = TimeSpan.FromSeconds(ha.RestRequestReadTimeout),
            LbNetworkInterface = config.Get("haproxy_amphora", "lb_network_interface") ?? "o-hm0",
            HaproxyTemplatePath = string.IsNullOrWhiteSpace(ha.HaproxyTemplate) ? null : ha.HaproxyTemplate,
            Render = RenderOptions.FromConfig(config),
            Keepalived = KeepalivedOptions.FromConfig(config),
        };
    }

    internal static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
