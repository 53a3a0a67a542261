// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using System.Text.RegularExpressions;
using Octavia.Core.Model;
using AmphoraEntity = Octavia.Core.Model.Amphora;

namespace Octavia.Drivers.Amphorae;

/// <summary>A load balancer cannot be turned into an HAProxy configuration; the message says why.</summary>
public sealed class HaproxyConfigException : Exception
{
    public HaproxyConfigException(string message) : base(message)
    {
    }

    public HaproxyConfigException()
    {
    }

    public HaproxyConfigException(string message, Exception innerException) : base(message, innerException)
    {
    }
}

/// <summary>Builds the template context from the entities (upstream <c>JinjaTemplater._transform_*</c>).</summary>
internal static partial class HaproxyConfigTransform
{
    private static readonly Dictionary<string, string> s_protocolMode = new()
    {
        [Protocols.Tcp] = "tcp",
        [Protocols.Http] = "http",
        [Protocols.Https] = "tcp",
        [Protocols.Proxy] = "proxy",
        [Protocols.ProxyV2] = "proxy",
        [Protocols.TerminatedHttps] = "http",
        [Protocols.Prometheus] = "http",
    };

    // SOURCE_IP_PORT is ours (upstream answers 501): hash the source address and port together.
    internal const string SourceIpPortBalance = "hash src,concat(:,sess.odp_src_port)";

    private static readonly Dictionary<string, string> s_balance = new()
    {
        [LbAlgorithms.RoundRobin] = "roundrobin",
        [LbAlgorithms.LeastConnections] = "leastconn",
        [LbAlgorithms.SourceIp] = "source",
        [LbAlgorithms.SourceIpPort] = SourceIpPortBalance,
    };

    private static readonly Dictionary<string, string> s_clientAuth = new()
    {
        [ClientAuthenticationModes.None] = "none",
        [ClientAuthenticationModes.Optional] = "optional",
        [ClientAuthenticationModes.Mandatory] = "required",
    };

    [GeneratedRegex(@"^[A-Za-z0-9\-+!:@=_.]+\z")]
    private static partial Regex ValidCipher();

    [GeneratedRegex(@"[\x00-\x20\x7f-\x9f]")]
    private static partial Regex InvalidUrlChars();

    [GeneratedRegex(@"[\x00-\x1f\x7f-\x9f]")]
    private static partial Regex InvalidConfigChars();

    public static HaproxyTemplateContext Build(LoadBalancer lb, AmphoraEntity amphora, RenderOptions options, HaproxyTlsFiles tls)
    {
        ArgumentNullException.ThrowIfNull(lb);
        ArgumentNullException.ThrowIfNull(amphora);
        if (lb.Vip?.IpAddress is not { Length: > 0 } vipAddress)
        {
            throw new HaproxyConfigException($"Load balancer {lb.Id} has no VIP address; cannot render its HAProxy configuration.");
        }
        foreach (var l in lb.Listeners)
        {
            if (l.Protocol is Protocols.Udp or Protocols.Sctp)
            {
                throw new HaproxyConfigException(
                    $"{l.Protocol} listeners are not supported by this amphora driver: the kernel has no IPVS (listener {l.Id}).");
            }
            if (!s_protocolMode.ContainsKey(l.Protocol))
            {
                throw new HaproxyConfigException($"Listener {l.Id} has unknown protocol '{l.Protocol}'.");
            }
        }

        var haproxy = options.HaproxyVersion;
        var prometheusSupported = haproxy.Major >= 2;
        var listeners = lb.Listeners.Select(l => TransformListener(l, lb, options, tls)).ToList();

        // Upstream sums every listener's limit; ours also caps the total at what the fd limit allows.
        long sum = listeners.Sum(l => (long)l.ConnectionLimit);
        var global = (int)Math.Min(sum > 0 ? sum : options.MaxGlobalConnections, options.MaxGlobalConnections);

        var rendered = new RenderedLoadBalancer
        {
            Id = lb.Id,
            ProjectId = lb.ProjectId,
            VipAddress = vipAddress,
            AdditionalVips = lb.AdditionalVips.Where(v => !string.IsNullOrEmpty(v.IpAddress)).Select(v => v.IpAddress!).ToList(),
            Listeners = listeners,
            Topology = lb.Topology,
            Enabled = lb.Enabled,
            PeerPort = lb.Listeners.FirstOrDefault()?.PeerPort,
            HostAmphora = TransformAmphora(amphora),
            Amphorae = lb.Amphorae.Select(TransformAmphora).ToList(),
            GlobalConnectionLimit = global,
        };
        return new HaproxyTemplateContext
        {
            Loadbalancer = rendered,
            StatsSock = options.StatsSocketPath ?? Path.Combine(options.BasePath, lb.Id + ".sock"),
            StateFile = Path.Combine(options.BasePath, lb.Id, "servers-state"),
            LogHttp = options.LogHttp,
            LogServer = options.LogServer,
            AdministrativeLogFacility = options.AdministrativeLogFacility,
            UserLogFacility = options.UserLogFacility,
            ConnectionLogging = options.ConnectionLogging,
            EnablePrometheus = prometheusSupported && lb.Listeners.Any(l => l.Protocol == Protocols.Prometheus),
            RequireInsecureFork = haproxy >= new Version(2, 2),
            PingWrapperPath = options.PingWrapperPath,
        };
    }

    private static RenderedAmphora TransformAmphora(AmphoraEntity a) => new()
    {
        Id = a.Id,
        LbNetworkIp = a.LbNetworkIp,
        VrrpIp = a.VrrpIp,
        HaIp = a.HaIp,
        VrrpPortId = a.VrrpPortId,
        HaPortId = a.HaPortId,
        Role = a.Role,
        Status = a.Status,
        VrrpInterface = a.VrrpInterface,
        VrrpPriority = a.VrrpPriority,
    };

    private static RenderedListener TransformListener(Listener l, LoadBalancer lb, RenderOptions options, HaproxyTlsFiles tls)
    {
        int limit;
        if (l.ConnectionLimit is { } asked && asked > -1)
        {
            if (asked > options.MaxGlobalConnections)
            {
                throw new HaproxyConfigException(
                    $"Listener {l.Id} asks for connection_limit {asked}, more than this amphora allows " +
                    $"({options.MaxGlobalConnections}, [haproxy_amphora] max_global_connections; HAProxy needs two file descriptors per connection).");
            }
            limit = asked;
        }
        else
        {
            limit = Math.Min(options.DefaultConnectionLimit, options.MaxGlobalConnections);
        }

        var tlsEnabled = l.Protocol is Protocols.TerminatedHttps or Protocols.Prometheus;
        string? clientCa = null, clientAuth = null, clientCrl = null;
        if (l.ClientCaTlsCertificateId is { } caRef)
        {
            clientCa = Path.Combine(options.BaseCertDir, lb.Id, SecretFile(tls, caRef, l.Id));
            clientAuth = s_clientAuth.GetValueOrDefault(l.ClientAuthentication);
        }
        if (l.ClientCrlContainerId is { } crlRef)
        {
            clientCrl = Path.Combine(options.BaseCertDir, lb.Id, SecretFile(tls, crlRef, l.Id));
        }

        var pools = ListenerPools(l)
            .Where(p => p.ProvisioningStatus != ProvisioningStatus.PendingDelete)
            .Select(p => TransformPool(p, tlsEnabled, options, tls))
            .ToList();
        var policies = l.L7Policies
            .Where(p => p.ProvisioningStatus != ProvisioningStatus.PendingDelete)
            .OrderBy(p => p.Position)
            .Select(p => TransformPolicy(p, tlsEnabled, options, tls))
            .ToList();

        return new RenderedListener
        {
            Id = l.Id,
            ProtocolPort = l.ProtocolPort,
            ProtocolMode = s_protocolMode[l.Protocol],
            Protocol = l.Protocol,
            InsertHeaders = l.InsertHeaders ?? new Dictionary<string, string>(),
            Enabled = l.Enabled,
            TimeoutClientData = l.TimeoutClientData ?? options.TimeoutClientData,
            TimeoutMemberConnect = l.TimeoutMemberConnect ?? options.TimeoutMemberConnect,
            TimeoutMemberData = l.TimeoutMemberData ?? options.TimeoutMemberData,
            TimeoutTcpInspect = l.TimeoutTcpInspect ?? options.TimeoutTcpInspect,
            ConnectionLimit = limit,
            UserLogFormat = options.ConnectionLogging ? FormatLogString(options.UserLogFormat, lb, l.Protocol) : null,
            CrtListFilename = l.TlsCertificateId is null ? null : Path.Combine(options.BaseCertDir, lb.Id, l.Id + ".pem"),
            ClientCaTlsPath = clientCa,
            ClientAuth = clientAuth,
            ClientCrlPath = clientCrl,
            TlsCiphers = !tlsEnabled || l.TlsCiphers is null ? null
                : ValidCipher().IsMatch(l.TlsCiphers) ? l.TlsCiphers : options.DefaultListenerCiphers,
            TlsVersions = tlsEnabled ? l.TlsVersions : null,
            AlpnProtocols = tlsEnabled && l.AlpnProtocols is { } alpn ? string.Join(',', alpn) : null,
            HstsMaxAge = l.Protocol == Protocols.TerminatedHttps ? l.HstsMaxAge : null,
            HstsIncludeSubdomains = l.HstsIncludeSubdomains ?? false,
            HstsPreload = l.HstsPreload ?? false,
            AllowedCidrs = l.AllowedCidrs.Select(c => c.Cidr).ToList(),
            Pools = pools,
            DefaultPool = l.DefaultPool is null && l.DefaultPoolId is null ? null
                : pools.FirstOrDefault(p => p.Id == (l.DefaultPool?.Id ?? l.DefaultPoolId)),
            L7Policies = policies,
        };
    }

    // Upstream's Listener.pools: the default pool and every pool an L7 policy redirects to.
    private static IEnumerable<Pool> ListenerPools(Listener l)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        if (l.DefaultPool is { } dp && seen.Add(dp.Id))
        {
            yield return dp;
        }
        foreach (var p in l.L7Policies.OrderBy(p => p.Position))
        {
            if (p.RedirectPool is { } rp && seen.Add(rp.Id))
            {
                yield return rp;
            }
        }
    }

    private static string SecretFile(HaproxyTlsFiles tls, string reference, string listenerId) =>
        tls.SecretFileNames.TryGetValue(reference, out var name)
            ? name
            : throw new HaproxyConfigException($"Listener {listenerId}: the certificate file for '{reference}' was not uploaded.");

    private static string FormatLogString(string format, LoadBalancer lb, string protocol)
    {
        var f = format.Replace("{{ project_id }}", lb.ProjectId ?? "", StringComparison.Ordinal)
            .Replace("{{ lb_id }}", lb.Id, StringComparison.Ordinal);
        if (protocol is not (Protocols.Http or Protocols.TerminatedHttps))
        {
            // HAProxy rejects or silently drops HTTP fields in TCP frontends' log formats.
            f = f.Replace("%{+Q}r", "-", StringComparison.Ordinal).Replace("%r", "-", StringComparison.Ordinal)
                .Replace("%{+Q}ST", "-", StringComparison.Ordinal).Replace("%ST", "-", StringComparison.Ordinal);
        }
        return f.Replace(" ", "\\ ", StringComparison.Ordinal);
    }

    private static RenderedPool TransformPool(Pool p, bool listenerTlsEnabled, RenderOptions options, HaproxyTlsFiles tls)
    {
        if (!s_protocolMode.TryGetValue(p.Protocol, out var mode) || p.Protocol == Protocols.Prometheus)
        {
            throw new HaproxyConfigException(p.Protocol is Protocols.Udp or Protocols.Sctp
                ? $"{p.Protocol} pools are not supported by this amphora driver: the kernel has no IPVS (pool {p.Id})."
                : $"Pool {p.Id} has unknown protocol '{p.Protocol}'.");
        }
        if (!s_balance.TryGetValue(p.LbAlgorithm, out var balance))
        {
            throw new HaproxyConfigException($"Pool {p.Id} has unknown lb_algorithm '{p.LbAlgorithm}'.");
        }
        tls.Pools.TryGetValue(p.Id, out var files);
        var hm = p.HealthMonitor is { } h && h.ProvisioningStatus != ProvisioningStatus.PendingDelete ? TransformMonitor(h) : null;
        if (hm is { Enabled: true, Type: HealthMonitorTypes.UdpConnect or HealthMonitorTypes.Sctp })
        {
            throw new HaproxyConfigException($"Health monitor {hm.Id}: type {hm.Type} needs IPVS, which this amphora driver does not have.");
        }
        return new RenderedPool
        {
            Id = p.Id,
            Protocol = mode,
            ProxyProtocol = p.Protocol switch { Protocols.Proxy => 1, Protocols.ProxyV2 => 2, _ => null },
            ListenerTlsEnabled = listenerTlsEnabled,
            LbAlgorithmName = p.LbAlgorithm,
            LbAlgorithm = balance,
            Members = p.Members.Where(m => m.ProvisioningStatus != ProvisioningStatus.PendingDelete).Select(TransformMember).ToList(),
            HealthMonitor = hm,
            SessionPersistence = p.SessionPersistence is { } sp ? new RenderedSessionPersistence(sp.Type, sp.CookieName) : null,
            Enabled = p.Enabled,
            OperatingStatus = p.OperatingStatus,
            StickSize = options.StickSize,
            HttpReuse = options.HaproxyVersion >= new Version(1, 6),
            TlsEnabled = p.TlsEnabled,
            ClientCert = p.TlsCertificateId is not null ? files?.ClientCert : null,
            CaCert = p.CaTlsCertificateId is not null ? files?.CaCert : null,
            Crl = p.CrlContainerId is not null ? files?.Crl : null,
            TlsCiphers = !p.TlsEnabled || p.TlsCiphers is null ? null
                : ValidCipher().IsMatch(p.TlsCiphers) ? p.TlsCiphers : options.DefaultPoolCiphers,
            TlsVersions = p.TlsEnabled ? p.TlsVersions : null,
            AlpnProtocols = p.TlsEnabled && p.AlpnProtocols is { } alpn && options.HaproxyVersion >= new Version(1, 9)
                ? string.Join(',', alpn) : null,
        };
    }

    private static RenderedMember TransformMember(Member m) => new()
    {
        Id = m.Id,
        Address = m.IpAddress,
        ProtocolPort = m.ProtocolPort,
        Weight = m.Weight ?? 1,
        Enabled = m.Enabled,
        SubnetId = m.SubnetId,
        OperatingStatus = m.OperatingStatus,
        MonitorAddress = m.MonitorAddress,
        MonitorPort = m.MonitorPort,
        Backup = m.Backup,
    };

    private static RenderedHealthMonitor TransformMonitor(HealthMonitor h) => new()
    {
        Id = h.Id,
        Type = h.Type,
        Delay = h.Delay,
        Timeout = h.Timeout,
        FallThreshold = h.FallThreshold,
        RiseThreshold = h.RiseThreshold,
        HttpMethod = h.HttpMethod ?? "GET",
        UrlPath = h.UrlPath ?? "/",
        ExpectedCodes = ExpandExpectedCodes(h.ExpectedCodes ?? "200"),
        Enabled = h.Enabled,
        HttpVersion = h.HttpVersion,
        DomainName = h.DomainName,
    };

    /// <summary>"200-202, 204" becomes "200|201|202|204" (upstream <c>expand_expected_codes</c>, sorted).</summary>
    internal static string ExpandExpectedCodes(string codes)
    {
        var set = new SortedSet<int>();
        foreach (var part in codes.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var range = part.Split('-');
            if (range.Length >= 2 && int.TryParse(range[0], CultureInfo.InvariantCulture, out var lo)
                && int.TryParse(range[1], CultureInfo.InvariantCulture, out var hi))
            {
                for (var i = lo; i <= hi; i++)
                {
                    set.Add(i);
                }
            }
            else if (int.TryParse(part, CultureInfo.InvariantCulture, out var code))
            {
                set.Add(code);
            }
            else
            {
                throw new HaproxyConfigException($"Invalid expected_codes '{codes}'.");
            }
        }
        return string.Join('|', set.Select(c => c.ToString(CultureInfo.InvariantCulture)));
    }

    private static RenderedL7Policy TransformPolicy(L7Policy p, bool listenerTlsEnabled, RenderOptions options, HaproxyTlsFiles tls)
    {
        var redirectCode = p.Action is L7PolicyActions.RedirectToUrl or L7PolicyActions.RedirectPrefix ? p.RedirectHttpCode : null;
        return new RenderedL7Policy
        {
            Id = p.Id,
            Action = p.Action,
            RedirectUrl = SanitizeUrl(p.RedirectUrl),
            RedirectPrefix = SanitizeUrl(p.RedirectPrefix),
            Enabled = p.Enabled,
            Position = p.Position,
            RedirectPool = p.RedirectPool is { } rp && rp.ProvisioningStatus != ProvisioningStatus.PendingDelete
                ? TransformPool(rp, listenerTlsEnabled, options, tls) : null,
            RedirectHttpCode = redirectCode,
            L7Rules = p.L7Rules
                .Where(r => r.Enabled && r.ProvisioningStatus != ProvisioningStatus.PendingDelete)
                .Where(r => !InvalidConfigChars().IsMatch(r.Value))
                .Select(r => new RenderedL7Rule
                {
                    Id = r.Id,
                    Type = r.Type,
                    CompareType = r.CompareType,
                    Key = r.Key,
                    Value = EscapeConfigString(r.Value),
                    Invert = r.Invert,
                    Enabled = r.Enabled,
                })
                .ToList(),
        };
    }

    private static string? SanitizeUrl(string? value) =>
        value is not null && InvalidUrlChars().IsMatch(value) ? null : value;

    // Backslashes first, then spaces, so HAProxy reads the value as one word.
    private static string EscapeConfigString(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace(" ", "\\ ", StringComparison.Ordinal);
}
