// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using System.Text.Json.Nodes;
using Octavia.Core.Model;

namespace Octavia.Api.Resources;

/// <summary>The response shapes of upstream's *Response WSME types, built from loaded entities.</summary>
internal static class Views
{
    public static string? Time(DateTime? t) => t?.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);

    private static JsonArray Ids(IEnumerable<string> ids) => new(ids.Select(i => (JsonNode)new JsonObject { ["id"] = i }).ToArray());

    private static JsonArray Strings(IEnumerable<string>? values) => new((values ?? []).Select(v => (JsonNode)JsonValue.Create(v)!).ToArray());

    private static JsonArray? StringsOrNull(IEnumerable<string>? values) => values is null ? null : Strings(values);

    private static JsonArray Tags(LbaasObject o) => Strings(o.Tags.Select(t => t.Value).Order(StringComparer.Ordinal));

    public static JsonObject LoadBalancer(LoadBalancer lb) => new()
    {
        ["id"] = lb.Id,
        ["name"] = lb.Name ?? "",
        ["description"] = lb.Description ?? "",
        ["provisioning_status"] = lb.ProvisioningStatus,
        ["operating_status"] = lb.OperatingStatus,
        ["admin_state_up"] = lb.Enabled,
        ["project_id"] = lb.ProjectId,
        ["created_at"] = Time(lb.CreatedAt),
        ["updated_at"] = Time(lb.UpdatedAt),
        ["vip_address"] = lb.Vip?.IpAddress,
        ["vip_port_id"] = lb.Vip?.PortId,
        ["vip_subnet_id"] = lb.Vip?.SubnetId,
        ["vip_network_id"] = lb.Vip?.NetworkId,
        ["vip_qos_policy_id"] = lb.Vip?.QosPolicyId,
        ["additional_vips"] = new JsonArray(lb.AdditionalVips.Select(a => (JsonNode)new JsonObject { ["subnet_id"] = a.SubnetId, ["ip_address"] = a.IpAddress }).ToArray()),
        ["listeners"] = Ids(lb.Listeners.Select(l => l.Id)),
        ["pools"] = Ids(lb.Pools.Select(p => p.Id)),
        ["provider"] = lb.Provider ?? "octavia",
        ["flavor_id"] = lb.FlavorId,
        ["availability_zone"] = lb.AvailabilityZone,
        ["tags"] = Tags(lb),
    };

    public static JsonObject Listener(Listener l) => new()
    {
        ["id"] = l.Id,
        ["name"] = l.Name ?? "",
        ["description"] = l.Description ?? "",
        ["provisioning_status"] = l.ProvisioningStatus,
        ["operating_status"] = l.OperatingStatus,
        ["admin_state_up"] = l.Enabled,
        ["protocol"] = l.Protocol,
        ["protocol_port"] = l.ProtocolPort,
        ["connection_limit"] = l.ConnectionLimit ?? -1,
        ["default_tls_container_ref"] = l.TlsCertificateId,
        ["sni_container_refs"] = Strings(l.SniContainers.OrderBy(s => s.Position).Select(s => s.TlsContainerId)),
        ["project_id"] = l.ProjectId,
        ["default_pool_id"] = l.DefaultPoolId,
        ["l7policies"] = Ids(l.L7Policies.OrderBy(p => p.Position).Select(p => p.Id)),
        ["insert_headers"] = l.InsertHeaders is null ? new JsonObject() : new JsonObject(l.InsertHeaders.Select(kv => new KeyValuePair<string, JsonNode?>(kv.Key, kv.Value))),
        ["created_at"] = Time(l.CreatedAt),
        ["updated_at"] = Time(l.UpdatedAt),
        ["loadbalancers"] = Ids(l.LoadBalancerId is null ? [] : [l.LoadBalancerId]),
        ["timeout_client_data"] = l.TimeoutClientData,
        ["timeout_member_connect"] = l.TimeoutMemberConnect,
        ["timeout_member_data"] = l.TimeoutMemberData,
        ["timeout_tcp_inspect"] = l.TimeoutTcpInspect,
        ["tags"] = Tags(l),
        ["client_ca_tls_container_ref"] = l.ClientCaTlsCertificateId,
        ["client_authentication"] = l.ClientAuthentication,
        ["client_crl_container_ref"] = l.ClientCrlContainerId,
        ["allowed_cidrs"] = l.AllowedCidrs.Count == 0 ? null : Strings(l.AllowedCidrs.Select(c => c.Cidr)),
        ["tls_ciphers"] = l.TlsCiphers,
        ["tls_versions"] = StringsOrNull(l.TlsVersions),
        ["alpn_protocols"] = StringsOrNull(l.AlpnProtocols),
        ["hsts_max_age"] = l.HstsMaxAge,
        ["hsts_include_subdomains"] = l.HstsIncludeSubdomains ?? false,
        ["hsts_preload"] = l.HstsPreload ?? false,
    };

    public static JsonObject Pool(Pool p, IEnumerable<string> listenerIds) => new()
    {
        ["id"] = p.Id,
        ["name"] = p.Name ?? "",
        ["description"] = p.Description ?? "",
        ["provisioning_status"] = p.ProvisioningStatus,
        ["operating_status"] = p.OperatingStatus,
        ["admin_state_up"] = p.Enabled,
        ["protocol"] = p.Protocol,
        ["lb_algorithm"] = p.LbAlgorithm,
        ["session_persistence"] = p.SessionPersistence is { } sp
            ? new JsonObject
            {
                ["type"] = sp.Type,
                ["cookie_name"] = sp.CookieName,
                ["persistence_timeout"] = sp.PersistenceTimeout,
                ["persistence_granularity"] = sp.PersistenceGranularity,
            }
            : null,
        ["project_id"] = p.ProjectId,
        ["loadbalancers"] = Ids(p.LoadBalancerId is null ? [] : [p.LoadBalancerId]),
        ["listeners"] = Ids(listenerIds.Distinct()),
        ["created_at"] = Time(p.CreatedAt),
        ["updated_at"] = Time(p.UpdatedAt),
        ["healthmonitor_id"] = p.HealthMonitor?.Id,
        ["members"] = Ids(p.Members.Select(m => m.Id)),
        ["tags"] = Tags(p),
        ["tls_container_ref"] = p.TlsCertificateId,
        ["ca_tls_container_ref"] = p.CaTlsCertificateId,
        ["crl_container_ref"] = p.CrlContainerId,
        ["tls_enabled"] = p.TlsEnabled,
        ["tls_ciphers"] = p.TlsCiphers,
        ["tls_versions"] = StringsOrNull(p.TlsVersions),
        ["alpn_protocols"] = StringsOrNull(p.AlpnProtocols),
    };

    public static JsonObject Member(Member m) => new()
    {
        ["id"] = m.Id,
        ["name"] = m.Name ?? "",
        ["operating_status"] = m.OperatingStatus,
        ["provisioning_status"] = m.ProvisioningStatus,
        ["admin_state_up"] = m.Enabled,
        ["address"] = m.IpAddress,
        ["protocol_port"] = m.ProtocolPort,
        ["weight"] = m.Weight,
        ["backup"] = m.Backup,
        ["subnet_id"] = m.SubnetId,
        ["project_id"] = m.ProjectId,
        ["created_at"] = Time(m.CreatedAt),
        ["updated_at"] = Time(m.UpdatedAt),
        ["monitor_address"] = m.MonitorAddress,
        ["monitor_port"] = m.MonitorPort,
        ["tags"] = Tags(m),
    };

    public static JsonObject HealthMonitor(HealthMonitor h) => new()
    {
        ["id"] = h.Id,
        ["name"] = h.Name ?? "",
        ["type"] = h.Type,
        ["delay"] = h.Delay,
        ["timeout"] = h.Timeout,
        ["max_retries"] = h.RiseThreshold,
        ["max_retries_down"] = h.FallThreshold,
        ["http_method"] = h.HttpMethod,
        ["url_path"] = h.UrlPath,
        ["expected_codes"] = h.ExpectedCodes,
        ["admin_state_up"] = h.Enabled,
        ["project_id"] = h.ProjectId,
        ["pools"] = Ids([h.PoolId]),
        ["provisioning_status"] = h.ProvisioningStatus,
        ["operating_status"] = h.OperatingStatus,
        ["created_at"] = Time(h.CreatedAt),
        ["updated_at"] = Time(h.UpdatedAt),
        ["tags"] = Tags(h),
        ["http_version"] = h.HttpVersion,
        ["domain_name"] = h.DomainName,
    };

    public static JsonObject L7Policy(L7Policy p) => new()
    {
        ["id"] = p.Id,
        ["name"] = p.Name ?? "",
        ["description"] = p.Description ?? "",
        ["provisioning_status"] = p.ProvisioningStatus,
        ["operating_status"] = p.OperatingStatus,
        ["admin_state_up"] = p.Enabled,
        ["project_id"] = p.ProjectId,
        ["action"] = p.Action,
        ["listener_id"] = p.ListenerId,
        ["redirect_pool_id"] = p.RedirectPoolId,
        ["redirect_url"] = p.RedirectUrl,
        ["redirect_prefix"] = p.RedirectPrefix,
        ["position"] = p.Position,
        ["rules"] = Ids(p.L7Rules.Select(r => r.Id)),
        ["created_at"] = Time(p.CreatedAt),
        ["updated_at"] = Time(p.UpdatedAt),
        ["tags"] = Tags(p),
        ["redirect_http_code"] = p.RedirectHttpCode,
    };

    public static JsonObject L7Rule(L7Rule r) => new()
    {
        ["id"] = r.Id,
        ["type"] = r.Type,
        ["compare_type"] = r.CompareType,
        ["key"] = r.Key,
        ["value"] = r.Value,
        ["invert"] = r.Invert,
        ["provisioning_status"] = r.ProvisioningStatus,
        ["operating_status"] = r.OperatingStatus,
        ["admin_state_up"] = r.Enabled,
        ["project_id"] = r.ProjectId,
        ["created_at"] = Time(r.CreatedAt),
        ["updated_at"] = Time(r.UpdatedAt),
        ["tags"] = Tags(r),
    };

    public static JsonObject Amphora(Amphora a) => new()
    {
        ["id"] = a.Id,
        ["loadbalancer_id"] = a.LoadBalancerId,
        ["compute_id"] = a.ComputeId,
        ["lb_network_ip"] = a.LbNetworkIp,
        ["vrrp_ip"] = a.VrrpIp,
        ["ha_ip"] = a.HaIp,
        ["vrrp_port_id"] = a.VrrpPortId,
        ["ha_port_id"] = a.HaPortId,
        ["cert_expiration"] = Time(a.CertExpiration),
        ["cert_busy"] = a.CertBusy,
        ["role"] = a.Role,
        ["status"] = a.Status,
        ["vrrp_interface"] = a.VrrpInterface,
        ["vrrp_id"] = a.VrrpId,
        ["vrrp_priority"] = a.VrrpPriority,
        ["cached_zone"] = a.CachedZone,
        ["created_at"] = Time(a.CreatedAt),
        ["updated_at"] = Time(a.UpdatedAt),
        ["image_id"] = a.ImageId,
        ["compute_flavor"] = a.ComputeFlavor,
    };

    public static JsonObject Flavor(Flavor f) => new()
    {
        ["id"] = f.Id,
        ["name"] = f.Name,
        ["description"] = f.Description ?? "",
        ["enabled"] = f.Enabled,
        ["flavor_profile_id"] = f.FlavorProfileId,
    };

    public static JsonObject FlavorProfile(FlavorProfile f) => new()
    {
        ["id"] = f.Id,
        ["name"] = f.Name,
        ["provider_name"] = f.ProviderName,
        ["flavor_data"] = f.FlavorData,
    };

    public static JsonObject AvailabilityZone(AvailabilityZone z) => new()
    {
        ["name"] = z.Name,
        ["description"] = z.Description ?? "",
        ["enabled"] = z.Enabled,
        ["availability_zone_profile_id"] = z.AvailabilityZoneProfileId,
    };

    public static JsonObject AvailabilityZoneProfile(AvailabilityZoneProfile z) => new()
    {
        ["id"] = z.Id,
        ["name"] = z.Name,
        ["provider_name"] = z.ProviderName,
        ["availability_zone_data"] = z.AvailabilityZoneData,
    };

    /// <summary>The attribute names of a shape, for filter and sort validation.</summary>
    public static IReadOnlyCollection<string> Attributes(JsonObject sample) => sample.Select(p => p.Key).ToHashSet();

    public static readonly IReadOnlyCollection<string> LoadBalancerAttributes = Attributes(LoadBalancer(new LoadBalancer()));
    public static readonly IReadOnlyCollection<string> ListenerAttributes = Attributes(Listener(new Listener()));
    public static readonly IReadOnlyCollection<string> PoolAttributes = Attributes(Pool(new Pool(), []));
    public static readonly IReadOnlyCollection<string> MemberAttributes = Attributes(Member(new Member()));
    public static readonly IReadOnlyCollection<string> HealthMonitorAttributes = Attributes(HealthMonitor(new HealthMonitor()));
    public static readonly IReadOnlyCollection<string> L7PolicyAttributes = Attributes(L7Policy(new L7Policy()));
    public static readonly IReadOnlyCollection<string> L7RuleAttributes = Attributes(L7Rule(new L7Rule()));
    public static readonly IReadOnlyCollection<string> AmphoraAttributes = Attributes(Amphora(new Amphora()));
    public static readonly IReadOnlyCollection<string> FlavorAttributes = Attributes(Flavor(new Flavor()));
    public static readonly IReadOnlyCollection<string> FlavorProfileAttributes = Attributes(FlavorProfile(new FlavorProfile()));
    public static readonly IReadOnlyCollection<string> AvailabilityZoneAttributes = Attributes(AvailabilityZone(new AvailabilityZone()));
    public static readonly IReadOnlyCollection<string> AvailabilityZoneProfileAttributes = Attributes(AvailabilityZoneProfile(new AvailabilityZoneProfile()));
}
