// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Octavia.Core.Model;
using AmphoraEntity = Octavia.Core.Model.Amphora;

namespace Octavia.Drivers.Amphorae;

/// <summary>
/// Renders one haproxy.cfg per load balancer, directive for directive as upstream's
/// <c>combined_listeners/templates/haproxy.cfg.j2</c> does: frontend = listener id, backend =
/// <c>pool_id:listener_id</c>, server = member id. With <c>[haproxy_amphora] haproxy_template</c> set, the
/// operator's Liquid template is rendered instead (see <see cref="HaproxyTemplate"/>).
/// </summary>
public sealed class HaproxyConfigRenderer
{
    /// <summary>Upstream's HAPROXY_BASE_PEER_PORT.</summary>
    public const int PeerPort = 1025;

    private readonly RenderOptions _options;
    private readonly HaproxyTemplate? _template;

    /// <summary>A renderer; <paramref name="customTemplatePath"/> selects an operator template.</summary>
    public HaproxyConfigRenderer(RenderOptions options, string? customTemplatePath = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _template = string.IsNullOrWhiteSpace(customTemplatePath) ? null : HaproxyTemplate.Load(customTemplatePath);
    }

    /// <summary>The options this renderer uses.</summary>
    public RenderOptions Options => _options;

    /// <summary>Renders with the built-in template.</summary>
    /// <exception cref="HaproxyConfigException">The load balancer cannot be served by HAProxy here.</exception>
    public static string Render(LoadBalancer loadBalancer, AmphoraEntity amphora, RenderOptions options, HaproxyTlsFiles? tlsFiles = null) =>
        new HaproxyConfigRenderer(options).Render(loadBalancer, amphora, tlsFiles);

    /// <summary>Renders the load balancer's configuration for <paramref name="amphora"/>.</summary>
    /// <exception cref="HaproxyConfigException">The load balancer cannot be served by HAProxy here.</exception>
    public string Render(LoadBalancer loadBalancer, AmphoraEntity amphora, HaproxyTlsFiles? tlsFiles = null)
    {
        var context = HaproxyConfigTransform.Build(loadBalancer, amphora, _options, tlsFiles ?? HaproxyTlsFiles.Empty);
        return _template is null ? RenderBuiltIn(context) : _template.Render(context);
    }

    /// <summary>The peer name HAProxy must be started with (<c>-L</c>) on this amphora: upstream's <c>hash_amp_id</c> filter.</summary>
    public static string PeerName(string amphoraId)
    {
        ArgumentNullException.ThrowIfNull(amphoraId);
        // Not a security use: upstream's peer names are this hash, and both amphorae must agree on it.
#pragma warning disable CA5350
        var b64 = Convert.ToBase64String(SHA1.HashData(Encoding.UTF8.GetBytes(amphoraId)))
            .Replace('+', '_').Replace('/', '-').Replace("=", "", StringComparison.Ordinal);
#pragma warning restore CA5350
        // HAProxy refuses peer names starting with '-' (haproxy issue 644).
        return b64.StartsWith('-') ? "x" + b64[1..] : b64;
    }

    internal static string RenderBuiltIn(HaproxyTemplateContext ctx)
    {
        var lb = ctx.Loadbalancer;
        var w = new ConfigWriter();
        w.Line($"# Configuration for loadbalancer {lb.Id}");
        w.Line("global");
        w.Directive("daemon");
        w.Directive("user nobody");
        w.Directive($"log {Or(ctx.LogHttp, "/run/rsyslog/octavia/log")} local{ctx.UserLogFacility}");
        w.Directive($"log {Or(ctx.LogServer, "/run/rsyslog/octavia/log")} local{ctx.AdministrativeLogFacility} notice");
        w.Directive($"stats socket {ctx.StatsSock} mode 0666 level user");
        w.Directive($"server-state-file {ctx.StateFile}");
        w.Directive($"maxconn {lb.GlobalConnectionLimit}");
        if (lb.Listeners.Any(l => l.Enabled && l.Pools.Any(p => p.Enabled && p.HealthMonitor is { Enabled: true, Type: HealthMonitorTypes.Ping })))
        {
            w.Directive("external-check");
            if (ctx.RequireInsecureFork)
            {
                w.Directive("insecure-fork-wanted");
            }
        }
        w.Blank();
        w.Line("defaults");
        w.Directive(ctx.ConnectionLogging ? "log global" : "no log");
        w.Directive("retries 3");
        w.Directive("option redispatch");
        w.Directive("option splice-request");
        w.Directive("option splice-response");
        w.Directive("option http-keep-alive");
        w.Blank();

        if (lb.Topology == Topologies.ActiveStandby)
        {
            w.Line($"peers {lb.PeersName}");
            foreach (var amp in lb.Amphorae.Where(a => a.Status == ProvisioningStatus.Allocated))
            {
                w.Directive($"peer {amp.PeerName} {amp.VrrpIp}:{PeerPort}");
            }
            w.Blank();
        }

        if (lb.Enabled)
        {
            foreach (var listener in lb.Listeners.Where(l => l.Enabled))
            {
                Frontend(w, listener, lb);
                foreach (var pool in listener.Pools.Where(p => p.Enabled))
                {
                    Backend(w, listener, pool, ctx);
                }
            }
        }
        return w.ToString();
    }

    private static string Or(string? value, string fallback) => string.IsNullOrEmpty(value) ? fallback : value;

    private static string Bind(RenderedListener l, string address)
    {
        var parts = new List<string>();
        if (l.CrtListFilename is not null)
        {
            parts.Add($"ssl crt-list {l.CrtListFilename}");
        }
        if (l.ClientCaTlsPath is not null && l.ClientAuth is not null)
        {
            parts.Add($"ca-file {l.ClientCaTlsPath} verify {l.ClientAuth}");
            if (l.ClientCrlPath is not null)
            {
                parts.Add($"crl-file {l.ClientCrlPath}");
            }
        }
        if (l.TlsCiphers is not null)
        {
            parts.Add($"ciphers {l.TlsCiphers}");
        }
        if (l.TlsVersions is not null)
        {
            parts.AddRange(DisabledTlsVersions(l.TlsVersions));
        }
        if (l.AlpnProtocols is not null)
        {
            parts.Add($"alpn {l.AlpnProtocols}");
        }
        return $"bind {address}:{l.ProtocolPort} {string.Join(' ', parts)}".TrimEnd();
    }

    private static IEnumerable<string> DisabledTlsVersions(IReadOnlyList<string> allowed)
    {
        (string Version, string Option)[] all =
            [("SSLv3", "no-sslv3"), ("TLSv1", "no-tlsv10"), ("TLSv1.1", "no-tlsv11"), ("TLSv1.2", "no-tlsv12"), ("TLSv1.3", "no-tlsv13")];
        return all.Where(v => !allowed.Contains(v.Version)).Select(v => v.Option);
    }

    private static string Match(string compareType) => compareType switch
    {
        L7RuleCompareTypes.Regex => "-m reg",
        L7RuleCompareTypes.StartsWith => "-m beg",
        L7RuleCompareTypes.EndsWith => "-m end",
        L7RuleCompareTypes.Contains => "-m sub",
        L7RuleCompareTypes.EqualTo => "-m str",
        _ => throw new HaproxyConfigException($"Unknown L7 rule compare_type '{compareType}'."),
    };

    private static string Acl(RenderedL7Rule r) => r.Type switch
    {
        L7RuleTypes.HostName => $"acl {r.Id} req.hdr(host) -i {Match(r.CompareType)} {r.Value}",
        L7RuleTypes.Path => $"acl {r.Id} path {Match(r.CompareType)} {r.Value}",
        // Upstream renders "path_end -m str php", which compares the whole path with "php" and never matches
        // a file; a suffix match on ".php" is what FILE_TYPE EQUAL_TO means.
        L7RuleTypes.FileType when r.CompareType == L7RuleCompareTypes.EqualTo => $"acl {r.Id} path_end .{r.Value.TrimStart('.')}",
        L7RuleTypes.FileType => $"acl {r.Id} path_end {Match(r.CompareType)} {r.Value}",
        L7RuleTypes.Header => $"acl {r.Id} req.hdr({r.Key}) {Match(r.CompareType)} {r.Value}",
        L7RuleTypes.Cookie => $"acl {r.Id} req.cook({r.Key}) {Match(r.CompareType)} {r.Value}",
        L7RuleTypes.SslConnHasCert => $"acl {r.Id} ssl_c_used",
        L7RuleTypes.SslVerifyResult => $"acl {r.Id} ssl_c_verify eq {r.Value}",
        L7RuleTypes.SslDnField => $"acl {r.Id} ssl_c_s_dn({r.Key}) {Match(r.CompareType)} {r.Value}",
        _ => throw new HaproxyConfigException($"Unknown L7 rule type '{r.Type}'."),
    };

    private static void Policy(ConfigWriter w, RenderedL7Policy p, RenderedListener l)
    {
        foreach (var r in p.L7Rules)
        {
            w.Directive(Acl(r));
        }
        var conditions = string.Concat(p.L7Rules.Select(r => " " + (r.Invert ? "!" : "") + r.Id));
        var code = p.RedirectHttpCode is { } c ? $" code {c}" : "";
        switch (p.Action)
        {
            case L7PolicyActions.Reject:
                w.Directive($"http-request deny if{conditions}");
                break;
            case L7PolicyActions.RedirectToUrl when p.RedirectUrl is not null:
                w.Directive($"redirect{code} location {p.RedirectUrl} if{conditions}");
                break;
            case L7PolicyActions.RedirectToPool when p.RedirectPool is { Enabled: true } rp:
                w.Directive($"use_backend {rp.Id}:{l.Id} if{conditions}");
                break;
            case L7PolicyActions.RedirectPrefix when p.RedirectPrefix is not null:
                w.Directive($"redirect{code} prefix {p.RedirectPrefix} if{conditions}");
                break;
        }
    }

    private static void Frontend(ConfigWriter w, RenderedListener l, RenderedLoadBalancer lb)
    {
        w.Line($"frontend {l.Id}");
        w.Directive($"maxconn {l.ConnectionLimit}");
        if (l.Protocol == Protocols.TerminatedHttps)
        {
            w.Directive("redirect scheme https if !{ ssl_fc }");
        }
        w.Directive(Bind(l, lb.VipAddress));
        foreach (var vip in lb.AdditionalVips)
        {
            w.Directive(Bind(l, vip));
        }
        w.Directive($"mode {l.ProtocolMode}");
        if (l.AllowedCidrs.Count > 0)
        {
            w.Directive($"tcp-request connection reject unless {{ src {string.Join(' ', l.AllowedCidrs)} }}");
        }
        if (l.Protocol == Protocols.Prometheus)
        {
            w.Directive("http-request use-service prometheus-exporter if { path /metrics }");
            w.Directive("http-request deny deny_status 404");
        }
        foreach (var p in l.L7Policies.Where(p => p.Enabled && p.L7Rules.Count > 0))
        {
            Policy(w, p, l);
        }
        if (l.DefaultPool is { Enabled: true } dp)
        {
            w.Directive($"default_backend {dp.Id}:{l.Id}");
        }
        w.Directive($"timeout client {l.TimeoutClientData}");
        if (l.TimeoutTcpInspect > 0)
        {
            w.Directive($"tcp-request inspect-delay {l.TimeoutTcpInspect}");
        }
        if (l.HstsMaxAge is { } maxAge)
        {
            var value = $"max-age={maxAge}" + (l.HstsIncludeSubdomains ? "; includeSubDomains" : "") + (l.HstsPreload ? "; preload" : "");
            w.Directive($"http-response set-header Strict-Transport-Security \"{value}\" if {{ ssl_fc }}");
        }
        if (l.UserLogFormat is not null)
        {
            w.Directive($"log-format {l.UserLogFormat}");
        }
        w.Blank();
    }

    private static bool HeaderOn(RenderedListener l, string name) =>
        l.InsertHeaders.TryGetValue(name, out var v) && string.Equals(v, "true", StringComparison.OrdinalIgnoreCase);

    private static void Backend(ConfigWriter w, RenderedListener l, RenderedPool pool, HaproxyTemplateContext ctx)
    {
        var lb = ctx.Loadbalancer;
        w.Line($"backend {pool.Id}:{l.Id}");
        var mode = pool.ProxyProtocol is not null ? l.ProtocolMode : pool.Protocol;
        w.Directive($"mode {mode}");
        if (pool.HttpReuse && (pool.Protocol == "http" || (pool.Protocol == "proxy" && l.ProtocolMode == "http")))
        {
            w.Directive("http-reuse safe");
        }
        if (pool.LbAlgorithmName == LbAlgorithms.SourceIpPort)
        {
            w.Directive("tcp-request content set-var(sess.odp_src_port) src_port");
        }
        w.Directive($"balance {pool.LbAlgorithm}");
        var peers = lb.Topology == Topologies.ActiveStandby ? $" peers {lb.PeersName}" : "";
        switch (pool.SessionPersistence?.Type)
        {
            case SessionPersistenceTypes.SourceIp:
                w.Directive($"stick-table type ip size {pool.StickSize}{peers}");
                w.Directive("stick on src");
                break;
            case SessionPersistenceTypes.AppCookie:
                w.Directive($"stick-table type string len 64 size {pool.StickSize}{peers}");
                w.Directive($"stick store-response res.cook({pool.SessionPersistence.CookieName})");
                w.Directive($"stick match req.cook({pool.SessionPersistence.CookieName})");
                break;
            case SessionPersistenceTypes.HttpCookie:
                w.Directive("cookie SRV insert indirect nocache");
                break;
        }
        if (pool.HealthMonitor is { Enabled: true } hm)
        {
            w.Directive("load-server-state-from-file global");
            w.Directive($"timeout check {hm.Timeout}s");
            if (hm.Type is HealthMonitorTypes.Http or HealthMonitorTypes.Https)
            {
                var version = hm.HttpVersion is { } v ? " HTTP/" + v.ToString("0.0", CultureInfo.InvariantCulture) : "";
                w.Directive($"option httpchk {hm.HttpMethod} {hm.UrlPath}{version}");
                if (hm.HttpVersion is 1.1 && !string.IsNullOrEmpty(hm.DomainName))
                {
                    w.Directive($"http-check send hdr Host {hm.DomainName}");
                }
                w.Directive($"http-check expect rstatus {hm.ExpectedCodes}");
            }
            else if (hm.Type == HealthMonitorTypes.TlsHello)
            {
                w.Directive("option ssl-hello-chk");
            }
            else if (hm.Type == HealthMonitorTypes.Ping)
            {
                w.Directive("option external-check");
                w.Directive($"external-check command {ctx.PingWrapperPath}");
            }
        }
        if (pool.Protocol == "http")
        {
            if (HeaderOn(l, "X-Forwarded-For"))
            {
                w.Directive("option forwardfor");
            }
            if (HeaderOn(l, "X-Forwarded-Port"))
            {
                w.Directive("http-request set-header X-Forwarded-Port %[dst_port]");
            }
        }
        if (HeaderOn(l, "X-Forwarded-Proto"))
        {
            if (l.Protocol == Protocols.Http)
            {
                w.Directive("http-request set-header X-Forwarded-Proto http");
            }
            else if (l.Protocol == Protocols.TerminatedHttps)
            {
                w.Directive("http-request set-header X-Forwarded-Proto https");
            }
        }
        if (l.Protocol == Protocols.TerminatedHttps)
        {
            (string Header, string Value)[] ssl =
            [
                ("X-SSL-Client-Verify", "%[ssl_c_verify]"),
                ("X-SSL-Client-Has-Cert", "%[ssl_c_used]"),
                ("X-SSL-Client-DN", "%{+Q}[ssl_c_s_dn]"),
                ("X-SSL-Client-CN", "%{+Q}[ssl_c_s_dn(cn)]"),
                ("X-SSL-Issuer", "%{+Q}[ssl_c_i_dn]"),
                ("X-SSL-Client-SHA1", "%{+Q}[ssl_c_sha1,hex]"),
                ("X-SSL-Client-Not-Before", "%{+Q}[ssl_c_notbefore]"),
                ("X-SSL-Client-Not-After", "%{+Q}[ssl_c_notafter]"),
            ];
            foreach (var (header, value) in ssl.Where(h => HeaderOn(l, h.Header)))
            {
                w.Directive($"http-request set-header {header} {value}");
            }
        }
        w.Directive($"fullconn {l.ConnectionLimit}");
        w.Directive("option allbackups");
        w.Directive($"timeout connect {l.TimeoutMemberConnect}");
        w.Directive($"timeout server {l.TimeoutMemberData}");
        foreach (var m in pool.Members)
        {
            w.Directive(Server(pool, m));
        }
        w.Blank();
    }

    private static string Server(RenderedPool pool, RenderedMember m)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"server {m.Id} {m.Address}:{m.ProtocolPort} weight {m.Weight}");
        if (pool.HealthMonitor is { Enabled: true } hm)
        {
            sb.Append(" check");
            if (hm.Type == HealthMonitorTypes.Https)
            {
                sb.Append(" check-ssl verify none");
            }
            sb.Append(CultureInfo.InvariantCulture, $" inter {hm.Delay}s fall {hm.FallThreshold} rise {hm.RiseThreshold}");
            if (!string.IsNullOrEmpty(m.MonitorAddress))
            {
                sb.Append(" addr ").Append(m.MonitorAddress);
            }
            if (m.MonitorPort is { } mp)
            {
                sb.Append(CultureInfo.InvariantCulture, $" port {mp}");
            }
        }
        if (pool.SessionPersistence?.Type == SessionPersistenceTypes.HttpCookie)
        {
            sb.Append(" cookie ").Append(m.Id);
        }
        sb.Append(pool.ProxyProtocol switch
        {
            1 => " send-proxy",
            2 => pool.ListenerTlsEnabled ? " send-proxy-v2-ssl-cn" : " send-proxy-v2",
            _ => "",
        });
        if (m.Backup)
        {
            sb.Append(" backup");
        }
        if (!m.Enabled)
        {
            sb.Append(" disabled");
        }
        if (pool.TlsEnabled)
        {
            sb.Append(" ssl");
            if (pool.ClientCert is not null)
            {
                sb.Append(" crt ").Append(pool.ClientCert);
            }
            if (pool.CaCert is not null)
            {
                sb.Append(" ca-file ").Append(pool.CaCert);
                if (pool.Crl is not null)
                {
                    sb.Append(" crl-file ").Append(pool.Crl);
                }
                sb.Append(" verify required");
            }
            else
            {
                sb.Append(" verify none");
            }
            sb.Append(" sni ssl_fc_sni");
            if (pool.TlsCiphers is not null)
            {
                sb.Append(" ciphers ").Append(pool.TlsCiphers);
            }
            if (pool.TlsVersions is not null)
            {
                foreach (var o in DisabledTlsVersions(pool.TlsVersions))
                {
                    sb.Append(' ').Append(o);
                }
            }
            if (pool.AlpnProtocols is not null)
            {
                sb.Append(" alpn ").Append(pool.AlpnProtocols);
            }
        }
        return sb.ToString();
    }

    private sealed class ConfigWriter
    {
        private readonly StringBuilder _sb = new();

        public void Line(string text) => _sb.Append(text).Append('\n');

        public void Directive(string text) => _sb.Append("    ").Append(text).Append('\n');

        public void Blank() => _sb.Append('\n');

        public override string ToString() => _sb.ToString();
    }
}
