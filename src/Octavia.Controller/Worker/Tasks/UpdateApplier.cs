// Licensed under the Apache License, Version 2.0.

using System.Text.Json;
using System.Text.Json.Nodes;
using Octavia.Core.Model;

namespace Octavia.Controller.Worker.Tasks;

/// <summary>
/// Applies an update cast's <c>*_updates</c> dictionary to a tracked entity. Both the provider
/// spelling (<c>admin_state_up</c>, <c>default_tls_container_ref</c>) and the database spelling
/// (<c>enabled</c>, <c>tls_certificate_id</c>) are accepted, as upstream's amphora driver sends a mix.
/// Keys that are not columns of the object (ids, tags, <c>loadbalancer_id</c>...) are ignored.
/// </summary>
public static class UpdateApplier
{
    public static void Apply(LoadBalancer lb, JsonObject updates)
    {
        ArgumentNullException.ThrowIfNull(lb);
        ArgumentNullException.ThrowIfNull(updates);
        foreach (var (key, v) in updates)
        {
            switch (key)
            {
                case "name": lb.Name = Str(v); break;
                case "description": lb.Description = Str(v); break;
                case "admin_state_up" or "enabled": lb.Enabled = Bool(v) ?? true; break;
                case "vip_qos_policy_id" when lb.Vip is not null: lb.Vip.QosPolicyId = Str(v); break;
                default: break;
            }
        }
    }

    public static void Apply(Listener l, JsonObject updates)
    {
        ArgumentNullException.ThrowIfNull(l);
        ArgumentNullException.ThrowIfNull(updates);
        foreach (var (key, v) in updates)
        {
            switch (key)
            {
                case "name": l.Name = Str(v); break;
                case "description": l.Description = Str(v); break;
                case "admin_state_up" or "enabled": l.Enabled = Bool(v) ?? true; break;
                case "connection_limit": l.ConnectionLimit = Int(v); break;
                case "default_pool_id": l.DefaultPoolId = Str(v); break;
                case "insert_headers": l.InsertHeaders = v is JsonObject o ? o.ToDictionary(p => p.Key, p => p.Value?.ToString() ?? "") : null; break;
                case "timeout_client_data": l.TimeoutClientData = Int(v); break;
                case "timeout_member_connect": l.TimeoutMemberConnect = Int(v); break;
                case "timeout_member_data": l.TimeoutMemberData = Int(v); break;
                case "timeout_tcp_inspect": l.TimeoutTcpInspect = Int(v); break;
                case "default_tls_container_ref" or "tls_certificate_id": l.TlsCertificateId = Str(v); break;
                case "client_ca_tls_container_ref" or "client_ca_tls_certificate_id": l.ClientCaTlsCertificateId = Str(v); break;
                case "client_crl_container_ref" or "client_crl_container_id": l.ClientCrlContainerId = Str(v); break;
                case "client_authentication": l.ClientAuthentication = Str(v) ?? ClientAuthenticationModes.None; break;
                case "tls_ciphers": l.TlsCiphers = Str(v); break;
                case "tls_versions": l.TlsVersions = List(v); break;
                case "alpn_protocols": l.AlpnProtocols = List(v); break;
                case "hsts_max_age": l.HstsMaxAge = Int(v); break;
                case "hsts_include_subdomains": l.HstsIncludeSubdomains = Bool(v); break;
                case "hsts_preload": l.HstsPreload = Bool(v); break;
                case "sni_container_refs":
                    l.SniContainers = (List(v) ?? []).Select((r, i) => new Sni { ListenerId = l.Id, TlsContainerId = r, Position = i }).ToList();
                    break;
                case "allowed_cidrs":
                    l.AllowedCidrs = (List(v) ?? []).Distinct().Select(c => new ListenerCidr { ListenerId = l.Id, Cidr = c }).ToList();
                    break;
                default: break;
            }
        }
    }

    public static void Apply(Pool p, JsonObject updates)
    {
        ArgumentNullException.ThrowIfNull(p);
        ArgumentNullException.ThrowIfNull(updates);
        foreach (var (key, v) in updates)
        {
            switch (key)
            {
                case "name": p.Name = Str(v); break;
                case "description": p.Description = Str(v); break;
                case "admin_state_up" or "enabled": p.Enabled = Bool(v) ?? true; break;
                case "lb_algorithm": p.LbAlgorithm = Str(v) ?? p.LbAlgorithm; break;
                case "tls_enabled": p.TlsEnabled = Bool(v) ?? false; break;
                case "tls_container_ref" or "tls_certificate_id": p.TlsCertificateId = Str(v); break;
                case "ca_tls_container_ref" or "ca_tls_certificate_id": p.CaTlsCertificateId = Str(v); break;
                case "crl_container_ref" or "crl_container_id": p.CrlContainerId = Str(v); break;
                case "tls_ciphers": p.TlsCiphers = Str(v); break;
                case "tls_versions": p.TlsVersions = List(v); break;
                case "alpn_protocols": p.AlpnProtocols = List(v); break;
                case "session_persistence":
                    if (v is JsonObject sp && Str(sp["type"]) is { } type)
                    {
                        p.SessionPersistence ??= new SessionPersistence { PoolId = p.Id };
                        p.SessionPersistence.Type = type;
                        p.SessionPersistence.CookieName = Str(sp["cookie_name"]);
                        p.SessionPersistence.PersistenceTimeout = Int(sp["persistence_timeout"]);
                        p.SessionPersistence.PersistenceGranularity = Str(sp["persistence_granularity"]);
                    }
                    else
                    {
                        p.SessionPersistence = null;
                    }
                    break;
                default: break;
            }
        }
    }

    public static void Apply(Member m, JsonObject updates)
    {
        ArgumentNullException.ThrowIfNull(m);
        ArgumentNullException.ThrowIfNull(updates);
        foreach (var (key, v) in updates)
        {
            switch (key)
            {
                case "name": m.Name = Str(v); break;
                case "admin_state_up" or "enabled": m.Enabled = Bool(v) ?? true; break;
                case "weight": m.Weight = Int(v) ?? 1; break;
                case "backup": m.Backup = Bool(v) ?? false; break;
                case "monitor_address": m.MonitorAddress = Str(v); break;
                case "monitor_port": m.MonitorPort = Int(v); break;
                default: break;
            }
        }
    }

    public static void Apply(HealthMonitor h, JsonObject updates)
    {
        ArgumentNullException.ThrowIfNull(h);
        ArgumentNullException.ThrowIfNull(updates);
        foreach (var (key, v) in updates)
        {
            switch (key)
            {
                case "name": h.Name = Str(v); break;
                case "admin_state_up" or "enabled": h.Enabled = Bool(v) ?? true; break;
                case "delay": h.Delay = Int(v) ?? h.Delay; break;
                case "timeout": h.Timeout = Int(v) ?? h.Timeout; break;
                case "max_retries" or "rise_threshold": h.RiseThreshold = Int(v) ?? h.RiseThreshold; break;
                case "max_retries_down" or "fall_threshold": h.FallThreshold = Int(v) ?? 3; break;
                case "http_method": h.HttpMethod = Str(v); break;
                case "url_path": h.UrlPath = Str(v); break;
                case "expected_codes": h.ExpectedCodes = Str(v); break;
                case "http_version": h.HttpVersion = v is JsonValue hv && hv.TryGetValue<double>(out var d) ? d : double.TryParse(Str(v), System.Globalization.CultureInfo.InvariantCulture, out var d2) ? d2 : null; break;
                case "domain_name": h.DomainName = Str(v); break;
                default: break;
            }
        }
    }

    public static void Apply(L7Policy p, JsonObject updates)
    {
        ArgumentNullException.ThrowIfNull(p);
        ArgumentNullException.ThrowIfNull(updates);
        foreach (var (key, v) in updates)
        {
            switch (key)
            {
                case "name": p.Name = Str(v); break;
                case "description": p.Description = Str(v); break;
                case "admin_state_up" or "enabled": p.Enabled = Bool(v) ?? true; break;
                case "action": p.Action = Str(v) ?? p.Action; break;
                case "redirect_pool_id": p.RedirectPoolId = Str(v); break;
                case "redirect_url": p.RedirectUrl = Str(v); break;
                case "redirect_prefix": p.RedirectPrefix = Str(v); break;
                case "redirect_http_code": p.RedirectHttpCode = Int(v); break;
                case "position": p.Position = Int(v) ?? p.Position; break;
                default: break;
            }
        }
    }

    public static void Apply(L7Rule r, JsonObject updates)
    {
        ArgumentNullException.ThrowIfNull(r);
        ArgumentNullException.ThrowIfNull(updates);
        foreach (var (key, v) in updates)
        {
            switch (key)
            {
                case "admin_state_up" or "enabled": r.Enabled = Bool(v) ?? true; break;
                case "type": r.Type = Str(v) ?? r.Type; break;
                case "compare_type": r.CompareType = Str(v) ?? r.CompareType; break;
                case "key": r.Key = Str(v); break;
                case "value": r.Value = Str(v) ?? r.Value; break;
                case "invert": r.Invert = Bool(v) ?? false; break;
                default: break;
            }
        }
    }

    private static string? Str(JsonNode? v) => v is JsonValue j
        ? (j.GetValueKind() == JsonValueKind.String ? j.GetValue<string>() : j.ToJsonString())
        : null;

    private static int? Int(JsonNode? v) => v is JsonValue j
        ? j.GetValueKind() switch
        {
            JsonValueKind.Number => j.TryGetValue<int>(out var i) ? i : (int)j.GetValue<double>(),
            JsonValueKind.String => int.TryParse(j.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture, out var s) ? s : null,
            _ => null,
        }
        : null;

    private static bool? Bool(JsonNode? v) => v is JsonValue j
        ? j.GetValueKind() switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.String => bool.TryParse(j.GetValue<string>(), out var b) ? b : null,
            _ => null,
        }
        : null;

    private static List<string>? List(JsonNode? v) => v is JsonArray a ? a.Select(x => Str(x)).OfType<string>().ToList() : null;
}
