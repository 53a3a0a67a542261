// Licensed under the Apache License, Version 2.0.
// The view of a load balancer that haproxy.cfg is rendered from. It mirrors the dictionaries upstream's
// jinja_cfg.py hands to its templates; custom Liquid templates see the same objects with snake_case
// member names (loadbalancer.listeners[0].default_pool.members, ...).

namespace Octavia.Drivers.Amphorae;

/// <summary>Template variable <c>loadbalancer</c>.</summary>
public sealed record RenderedLoadBalancer
{
    public required string Id { get; init; }
    public string? ProjectId { get; init; }
    public required string VipAddress { get; init; }
    public required IReadOnlyList<string> AdditionalVips { get; init; }
    public required IReadOnlyList<RenderedListener> Listeners { get; init; }
    public string? Topology { get; init; }
    public bool Enabled { get; init; }
    public int? PeerPort { get; init; }
    public required RenderedAmphora HostAmphora { get; init; }
    public required IReadOnlyList<RenderedAmphora> Amphorae { get; init; }
    public int GlobalConnectionLimit { get; init; }

    /// <summary>The peers section name for ACTIVE_STANDBY stick-table replication.</summary>
    public string PeersName => Id.Replace("-", "", StringComparison.Ordinal) + "_peers";
}

/// <summary>An amphora as the templates see it (<c>host_amphora</c>, <c>loadbalancer.amphorae</c>).</summary>
public sealed record RenderedAmphora
{
    public required string Id { get; init; }
    public string? LbNetworkIp { get; init; }
    public string? VrrpIp { get; init; }
    public string? HaIp { get; init; }
    public string? VrrpPortId { get; init; }
    public string? HaPortId { get; init; }
    public string? Role { get; init; }
    public string? Status { get; init; }
    public string? VrrpInterface { get; init; }
    public int? VrrpPriority { get; init; }

    /// <summary>The HAProxy peer name: upstream's url-safe base64 SHA-1 of the id, without padding.</summary>
    public string PeerName => HaproxyConfigRenderer.PeerName(Id);
}

/// <summary>A listener (one HAProxy frontend).</summary>
public sealed record RenderedListener
{
    public required string Id { get; init; }
    public int ProtocolPort { get; init; }
    /// <summary>HAProxy mode: http or tcp.</summary>
    public required string ProtocolMode { get; init; }
    /// <summary>The API protocol (HTTP, TERMINATED_HTTPS, ...).</summary>
    public required string Protocol { get; init; }
    public required IReadOnlyDictionary<string, string> InsertHeaders { get; init; }
    public bool Enabled { get; init; }
    public int TimeoutClientData { get; init; }
    public int TimeoutMemberConnect { get; init; }
    public int TimeoutMemberData { get; init; }
    public int TimeoutTcpInspect { get; init; }
    public int ConnectionLimit { get; init; }
    public string? UserLogFormat { get; init; }
    public string? CrtListFilename { get; init; }
    public string? ClientCaTlsPath { get; init; }
    /// <summary>HAProxy verify mode: none, optional or required.</summary>
    public string? ClientAuth { get; init; }
    public string? ClientCrlPath { get; init; }
    public string? TlsCiphers { get; init; }
    public IReadOnlyList<string>? TlsVersions { get; init; }
    /// <summary>Comma-joined, as HAProxy's <c>alpn</c> wants it.</summary>
    public string? AlpnProtocols { get; init; }
    public int? HstsMaxAge { get; init; }
    public bool HstsIncludeSubdomains { get; init; }
    public bool HstsPreload { get; init; }
    /// <summary>Ours: source CIDRs allowed to connect (upstream enforces these with security groups).</summary>
    public required IReadOnlyList<string> AllowedCidrs { get; init; }
    public required IReadOnlyList<RenderedPool> Pools { get; init; }
    public RenderedPool? DefaultPool { get; init; }
    /// <summary>Ordered by position.</summary>
    public required IReadOnlyList<RenderedL7Policy> L7Policies { get; init; }
}

/// <summary>A pool (one HAProxy backend per listener using it).</summary>
public sealed record RenderedPool
{
    public required string Id { get; init; }
    /// <summary>HAProxy mode of the pool protocol (http, tcp or proxy).</summary>
    public required string Protocol { get; init; }
    /// <summary>1 for PROXY, 2 for PROXYV2, else null.</summary>
    public int? ProxyProtocol { get; init; }
    public bool ListenerTlsEnabled { get; init; }
    /// <summary>The API algorithm (ROUND_ROBIN...).</summary>
    public required string LbAlgorithmName { get; init; }
    /// <summary>The HAProxy balance argument.</summary>
    public required string LbAlgorithm { get; init; }
    public required IReadOnlyList<RenderedMember> Members { get; init; }
    public RenderedHealthMonitor? HealthMonitor { get; init; }
    public RenderedSessionPersistence? SessionPersistence { get; init; }
    public bool Enabled { get; init; }
    public string? OperatingStatus { get; init; }
    public required string StickSize { get; init; }
    public bool HttpReuse { get; init; }
    public bool TlsEnabled { get; init; }
    public string? ClientCert { get; init; }
    public string? CaCert { get; init; }
    public string? Crl { get; init; }
    public string? TlsCiphers { get; init; }
    public IReadOnlyList<string>? TlsVersions { get; init; }
    public string? AlpnProtocols { get; init; }
}

/// <summary>Session persistence of a pool.</summary>
public sealed record RenderedSessionPersistence(string Type, string? CookieName);

/// <summary>A member (one HAProxy server).</summary>
public sealed record RenderedMember
{
    public required string Id { get; init; }
    public required string Address { get; init; }
    public int ProtocolPort { get; init; }
    public int Weight { get; init; }
    public bool Enabled { get; init; }
    public string? SubnetId { get; init; }
    public string? OperatingStatus { get; init; }
    public string? MonitorAddress { get; init; }
    public int? MonitorPort { get; init; }
    public bool Backup { get; init; }
}

/// <summary>A health monitor.</summary>
public sealed record RenderedHealthMonitor
{
    public required string Id { get; init; }
    public required string Type { get; init; }
    public int Delay { get; init; }
    public int Timeout { get; init; }
    public int FallThreshold { get; init; }
    public int RiseThreshold { get; init; }
    public string? HttpMethod { get; init; }
    public string? UrlPath { get; init; }
    /// <summary>Expanded and joined with <c>|</c> (200-202 becomes 200|201|202).</summary>
    public string? ExpectedCodes { get; init; }
    public bool Enabled { get; init; }
    public double? HttpVersion { get; init; }
    public string? DomainName { get; init; }
}

/// <summary>An L7 policy.</summary>
public sealed record RenderedL7Policy
{
    public required string Id { get; init; }
    public required string Action { get; init; }
    public string? RedirectUrl { get; init; }
    public string? RedirectPrefix { get; init; }
    public bool Enabled { get; init; }
    public int Position { get; init; }
    public RenderedPool? RedirectPool { get; init; }
    public int? RedirectHttpCode { get; init; }
    public required IReadOnlyList<RenderedL7Rule> L7Rules { get; init; }
}

/// <summary>An L7 rule; <see cref="Value"/> is already escaped for haproxy.cfg.</summary>
public sealed record RenderedL7Rule
{
    public required string Id { get; init; }
    public required string Type { get; init; }
    public required string CompareType { get; init; }
    public string? Key { get; init; }
    public required string Value { get; init; }
    public bool Invert { get; init; }
    public bool Enabled { get; init; }
}

/// <summary>Everything a template is rendered with (upstream's template context).</summary>
public sealed record HaproxyTemplateContext
{
    public required RenderedLoadBalancer Loadbalancer { get; init; }
    public required string StatsSock { get; init; }
    public string? LogHttp { get; init; }
    public string? LogServer { get; init; }
    public required string StateFile { get; init; }
    public int AdministrativeLogFacility { get; init; }
    public int UserLogFacility { get; init; }
    public bool ConnectionLogging { get; init; }
    public bool EnablePrometheus { get; init; }
    public bool RequireInsecureFork { get; init; }
    public required string PingWrapperPath { get; init; }
}

/// <summary>
/// Files the load balancer's TLS settings point to, as uploaded to the amphora (all under
/// <c>base_cert_dir/lb_id/</c>). Upstream's <c>tls_certs</c> dictionary.
/// </summary>
public sealed record HaproxyTlsFiles
{
    /// <summary>No TLS files.</summary>
    public static HaproxyTlsFiles Empty { get; } = new();

    /// <summary>Secret reference (client CA, CRL) to its file name on the amphora (<c>sha1(pem).pem</c>).</summary>
    public IReadOnlyDictionary<string, string> SecretFileNames { get; init; } = new Dictionary<string, string>();

    /// <summary>Pool id to the full paths of its re-encryption files.</summary>
    public IReadOnlyDictionary<string, PoolTlsFiles> Pools { get; init; } = new Dictionary<string, PoolTlsFiles>();
}

/// <summary>Full paths of a pool's client certificate, CA and CRL on the amphora.</summary>
public sealed record PoolTlsFiles(string? ClientCert, string? CaCert, string? Crl);
