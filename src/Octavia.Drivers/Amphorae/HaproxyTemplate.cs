// Licensed under the Apache License, Version 2.0.

using Fluid;
using Octavia.Core.Model;

namespace Octavia.Drivers.Amphorae;

/// <summary>
/// An operator's haproxy.cfg template (<c>[haproxy_amphora] haproxy_template</c>). Upstream's templates are
/// Jinja; ours are Liquid (Fluid), rendered with the same variables: <c>loadbalancer</c> (with
/// <c>listeners</c>, each with <c>pools</c>, <c>default_pool</c>, <c>l7policies</c>...), <c>stats_sock</c>,
/// <c>state_file</c>, <c>log_http</c>, <c>log_server</c>, <c>user_log_facility</c>,
/// <c>administrative_log_facility</c>, <c>connection_logging</c>, <c>enable_prometheus</c>,
/// <c>require_insecure_fork</c>, <c>ping_wrapper_path</c>, and <c>constants</c> (upstream's constant names,
/// e.g. <c>constants.TOPOLOGY_ACTIVE_STANDBY</c>). Member names are snake_case, as in upstream's dictionaries;
/// see <see cref="RenderedLoadBalancer"/> and its siblings for every field. Output is not HTML-encoded.
/// </summary>
public sealed class HaproxyTemplate
{
    private static readonly FluidParser s_parser = new();

    private static readonly Dictionary<string, object> s_constants = new()
    {
        ["TOPOLOGY_SINGLE"] = Topologies.Single,
        ["TOPOLOGY_ACTIVE_STANDBY"] = Topologies.ActiveStandby,
        ["AMPHORA_ALLOCATED"] = ProvisioningStatus.Allocated,
        ["HAPROXY_BASE_PEER_PORT"] = HaproxyConfigRenderer.PeerPort,
        ["PROTOCOL_TCP"] = Protocols.Tcp,
        ["PROTOCOL_HTTP"] = Protocols.Http,
        ["PROTOCOL_HTTPS"] = Protocols.Https,
        ["PROTOCOL_TERMINATED_HTTPS"] = Protocols.TerminatedHttps,
        ["PROTOCOL_PROXY"] = Protocols.Proxy,
        ["PROTOCOL_PROXYV2"] = Protocols.ProxyV2,
        ["PROTOCOL_PROMETHEUS"] = Protocols.Prometheus,
        ["HEALTH_MONITOR_HTTP"] = HealthMonitorTypes.Http,
        ["HEALTH_MONITOR_HTTPS"] = HealthMonitorTypes.Https,
        ["HEALTH_MONITOR_TCP"] = HealthMonitorTypes.Tcp,
        ["HEALTH_MONITOR_TLS_HELLO"] = HealthMonitorTypes.TlsHello,
        ["HEALTH_MONITOR_PING"] = HealthMonitorTypes.Ping,
        ["SESSION_PERSISTENCE_SOURCE_IP"] = SessionPersistenceTypes.SourceIp,
        ["SESSION_PERSISTENCE_HTTP_COOKIE"] = SessionPersistenceTypes.HttpCookie,
        ["SESSION_PERSISTENCE_APP_COOKIE"] = SessionPersistenceTypes.AppCookie,
        ["L7POLICY_ACTION_REJECT"] = L7PolicyActions.Reject,
        ["L7POLICY_ACTION_REDIRECT_TO_URL"] = L7PolicyActions.RedirectToUrl,
        ["L7POLICY_ACTION_REDIRECT_TO_POOL"] = L7PolicyActions.RedirectToPool,
        ["L7POLICY_ACTION_REDIRECT_PREFIX"] = L7PolicyActions.RedirectPrefix,
        ["L7RULE_TYPE_HOST_NAME"] = L7RuleTypes.HostName,
        ["L7RULE_TYPE_PATH"] = L7RuleTypes.Path,
        ["L7RULE_TYPE_FILE_TYPE"] = L7RuleTypes.FileType,
        ["L7RULE_TYPE_HEADER"] = L7RuleTypes.Header,
        ["L7RULE_TYPE_COOKIE"] = L7RuleTypes.Cookie,
        ["L7RULE_TYPE_SSL_CONN_HAS_CERT"] = L7RuleTypes.SslConnHasCert,
        ["L7RULE_TYPE_SSL_VERIFY_RESULT"] = L7RuleTypes.SslVerifyResult,
        ["L7RULE_TYPE_SSL_DN_FIELD"] = L7RuleTypes.SslDnField,
        ["L7RULE_COMPARE_TYPE_REGEX"] = L7RuleCompareTypes.Regex,
        ["L7RULE_COMPARE_TYPE_STARTS_WITH"] = L7RuleCompareTypes.StartsWith,
        ["L7RULE_COMPARE_TYPE_ENDS_WITH"] = L7RuleCompareTypes.EndsWith,
        ["L7RULE_COMPARE_TYPE_CONTAINS"] = L7RuleCompareTypes.Contains,
        ["L7RULE_COMPARE_TYPE_EQUAL_TO"] = L7RuleCompareTypes.EqualTo,
    };

    private readonly IFluidTemplate _template;
    private readonly TemplateOptions _options;

    private HaproxyTemplate(IFluidTemplate template)
    {
        _template = template;
        _options = new TemplateOptions { MemberAccessStrategy = new UnsafeMemberAccessStrategy() };
        _options.MemberAccessStrategy.MemberNameStrategy = MemberNameStrategies.SnakeCase;
    }

    /// <summary>Parses a template from text.</summary>
    /// <exception cref="HaproxyConfigException">The template does not parse.</exception>
    public static HaproxyTemplate Parse(string source, string name = "template")
    {
        ArgumentNullException.ThrowIfNull(source);
        return s_parser.TryParse(source, out var template, out var error)
            ? new HaproxyTemplate(template)
            : throw new HaproxyConfigException($"haproxy_template {name} does not parse: {error}");
    }

    /// <summary>Reads and parses a template file.</summary>
    /// <exception cref="HaproxyConfigException">The file is missing or does not parse.</exception>
    public static HaproxyTemplate Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new HaproxyConfigException($"haproxy_template {path} does not exist.");
        }
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Renders the template with upstream's variables.</summary>
    public string Render(HaproxyTemplateContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var tc = new TemplateContext(context, _options);
        tc.SetValue("constants", s_constants);
        tc.SetValue("lib_consts", s_constants);
        return _template.Render(tc, NullEncoder.Default);
    }
}
