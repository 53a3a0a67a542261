// Licensed under the Apache License, Version 2.0.
// The persisted object graph. Property names follow upstream's column names (snake_case in the
// database, mapped by Octavia.Data) so an operator's existing database can be read later.

namespace Octavia.Core.Model;

/// <summary>Columns every top-level LBaaS object carries.</summary>
public abstract class LbaasObject
{
    public string Id { get; set; } = "";
    public string? ProjectId { get; set; }
    public string? Name { get; set; }
    public string ProvisioningStatus { get; set; } = Model.ProvisioningStatus.PendingCreate;
    public string OperatingStatus { get; set; } = Model.OperatingStatus.Offline;
    public bool Enabled { get; set; } = true;
    public DateTime? CreatedAt { get; set; }
    public DateTime? UpdatedAt { get; set; }

    /// <summary>Tags, stored in upstream's shared <c>tags</c> table.</summary>
    public List<Tag> Tags { get; set; } = [];
}

/// <summary>A row of upstream's <c>tags</c> table (resource_id, tag).</summary>
public sealed class Tag
{
    public string ResourceId { get; set; } = "";
    public string Value { get; set; } = "";
}

/// <summary>Upstream table <c>load_balancer</c>.</summary>
public sealed class LoadBalancer : LbaasObject
{
    public string? Description { get; set; }
    public string? Topology { get; set; }
    public string? ServerGroupId { get; set; }
    public string? Provider { get; set; }
    public string? FlavorId { get; set; }
    public string? AvailabilityZone { get; set; }

    public Vip? Vip { get; set; }
    public List<AdditionalVip> AdditionalVips { get; set; } = [];
    public List<Listener> Listeners { get; set; } = [];
    public List<Pool> Pools { get; set; } = [];
    public List<Amphora> Amphorae { get; set; } = [];
    public VrrpGroup? VrrpGroup { get; set; }
}

/// <summary>Upstream table <c>vip</c>.</summary>
public sealed class Vip
{
    public string LoadBalancerId { get; set; } = "";
    public string? IpAddress { get; set; }
    public string? PortId { get; set; }
    public string? SubnetId { get; set; }
    public string? NetworkId { get; set; }
    public string? QosPolicyId { get; set; }
    public bool? OctaviaOwned { get; set; }
}

/// <summary>Upstream table <c>additional_vip</c>.</summary>
public sealed class AdditionalVip
{
    public string LoadBalancerId { get; set; } = "";
    public string SubnetId { get; set; } = "";
    public string? IpAddress { get; set; }
    public string? PortId { get; set; }
    public string? NetworkId { get; set; }
}

/// <summary>Upstream table <c>vrrp_group</c>.</summary>
public sealed class VrrpGroup
{
    public string LoadBalancerId { get; set; } = "";
    public string? VrrpGroupName { get; set; }
    public string? VrrpAuthType { get; set; }
    public string? VrrpAuthPass { get; set; }
    public int? AdvertInt { get; set; }
}

/// <summary>Upstream table <c>listener</c>.</summary>
public sealed class Listener : LbaasObject
{
    public string? Description { get; set; }
    public string Protocol { get; set; } = "";
    public int ProtocolPort { get; set; }
    public int? ConnectionLimit { get; set; }
    public string? LoadBalancerId { get; set; }
    public LoadBalancer? LoadBalancer { get; set; }
    public string? TlsCertificateId { get; set; }
    public string? DefaultPoolId { get; set; }
    public Pool? DefaultPool { get; set; }
    public int? PeerPort { get; set; }
    /// <summary>Header name to value ("true"/"false" or a string), stored as JSON.</summary>
    public Dictionary<string, string>? InsertHeaders { get; set; }
    public int? TimeoutClientData { get; set; }
    public int? TimeoutMemberConnect { get; set; }
    public int? TimeoutMemberData { get; set; }
    public int? TimeoutTcpInspect { get; set; }
    public string? ClientCaTlsCertificateId { get; set; }
    public string ClientAuthentication { get; set; } = ClientAuthenticationModes.None;
    public string? ClientCrlContainerId { get; set; }
    public string? TlsCiphers { get; set; }
    public List<string>? TlsVersions { get; set; }
    public List<string>? AlpnProtocols { get; set; }
    public int? HstsMaxAge { get; set; }
    public bool? HstsIncludeSubdomains { get; set; }
    public bool? HstsPreload { get; set; }

    public List<Sni> SniContainers { get; set; } = [];
    public List<L7Policy> L7Policies { get; set; } = [];
    public List<ListenerCidr> AllowedCidrs { get; set; } = [];
}

/// <summary>Upstream table <c>sni</c>.</summary>
public sealed class Sni
{
    public string ListenerId { get; set; } = "";
    public string TlsContainerId { get; set; } = "";
    public int? Position { get; set; }
}

/// <summary>Upstream table <c>listener_cidr</c>.</summary>
public sealed class ListenerCidr
{
    public string ListenerId { get; set; } = "";
    public string Cidr { get; set; } = "";
}

/// <summary>Upstream table <c>pool</c>.</summary>
public sealed class Pool : LbaasObject
{
    public string? Description { get; set; }
    public string Protocol { get; set; } = "";
    public string LbAlgorithm { get; set; } = "";
    public string? LoadBalancerId { get; set; }
    public LoadBalancer? LoadBalancer { get; set; }
    public string? TlsCertificateId { get; set; }
    public string? CaTlsCertificateId { get; set; }
    public string? CrlContainerId { get; set; }
    public bool TlsEnabled { get; set; }
    public string? TlsCiphers { get; set; }
    public List<string>? TlsVersions { get; set; }
    public List<string>? AlpnProtocols { get; set; }

    public HealthMonitor? HealthMonitor { get; set; }
    public SessionPersistence? SessionPersistence { get; set; }
    public List<Member> Members { get; set; } = [];
}

/// <summary>Upstream table <c>session_persistence</c>.</summary>
public sealed class SessionPersistence
{
    public string PoolId { get; set; } = "";
    public string Type { get; set; } = "";
    public string? CookieName { get; set; }
    public int? PersistenceTimeout { get; set; }
    public string? PersistenceGranularity { get; set; }
}

/// <summary>Upstream table <c>member</c>.</summary>
public sealed class Member : LbaasObject
{
    public string PoolId { get; set; } = "";
    public Pool? Pool { get; set; }
    public string? SubnetId { get; set; }
    public string IpAddress { get; set; } = "";
    public int ProtocolPort { get; set; }
    public int? Weight { get; set; }
    public bool Backup { get; set; }
    public string? MonitorAddress { get; set; }
    public int? MonitorPort { get; set; }
}

/// <summary>Upstream table <c>health_monitor</c>.</summary>
public sealed class HealthMonitor : LbaasObject
{
    public string Type { get; set; } = "";
    public string PoolId { get; set; } = "";
    public Pool? Pool { get; set; }
    public int Delay { get; set; }
    public int Timeout { get; set; }
    /// <summary>API <c>max_retries_down</c>.</summary>
    public int FallThreshold { get; set; }
    /// <summary>API <c>max_retries</c>.</summary>
    public int RiseThreshold { get; set; }
    public string? HttpMethod { get; set; }
    public string? UrlPath { get; set; }
    public string? ExpectedCodes { get; set; }
    public double? HttpVersion { get; set; }
    public string? DomainName { get; set; }
}

/// <summary>Upstream table <c>l7policy</c>.</summary>
public sealed class L7Policy : LbaasObject
{
    public string? Description { get; set; }
    public string ListenerId { get; set; } = "";
    public Listener? Listener { get; set; }
    public string Action { get; set; } = "";
    public string? RedirectPoolId { get; set; }
    public Pool? RedirectPool { get; set; }
    public string? RedirectUrl { get; set; }
    public string? RedirectPrefix { get; set; }
    public int? RedirectHttpCode { get; set; }
    public int Position { get; set; }
    public List<L7Rule> L7Rules { get; set; } = [];
}

/// <summary>Upstream table <c>l7rule</c> (it has no name column).</summary>
public sealed class L7Rule : LbaasObject
{
    public string L7PolicyId { get; set; } = "";
    public L7Policy? L7Policy { get; set; }
    public string Type { get; set; } = "";
    public string CompareType { get; set; } = "";
    public string? Key { get; set; }
    public string Value { get; set; } = "";
    public bool Invert { get; set; }
}

/// <summary>Upstream table <c>quotas</c>. Null means "use the configured default".</summary>
public sealed class Quotas
{
    public string ProjectId { get; set; } = "";
    public int? HealthMonitor { get; set; }
    public int? Listener { get; set; }
    public int? LoadBalancer { get; set; }
    public int? Member { get; set; }
    public int? Pool { get; set; }
    public int? L7Policy { get; set; }
    public int? L7Rule { get; set; }
    public int? InUseHealthMonitor { get; set; }
    public int? InUseListener { get; set; }
    public int? InUseLoadBalancer { get; set; }
    public int? InUseMember { get; set; }
    public int? InUsePool { get; set; }
    public int? InUseL7Policy { get; set; }
    public int? InUseL7Rule { get; set; }
}

/// <summary>Upstream table <c>amphora</c>.</summary>
public sealed class Amphora
{
    public string Id { get; set; } = "";
    public string? LoadBalancerId { get; set; }
    public LoadBalancer? LoadBalancer { get; set; }
    public string? ComputeId { get; set; }
    public string? LbNetworkIp { get; set; }
    public string? VrrpIp { get; set; }
    public string? HaIp { get; set; }
    public string? VrrpPortId { get; set; }
    public string? HaPortId { get; set; }
    public DateTime? CertExpiration { get; set; }
    public bool CertBusy { get; set; }
    public string? Role { get; set; }
    public string? Status { get; set; }
    public string? VrrpInterface { get; set; }
    public int? VrrpId { get; set; }
    public int? VrrpPriority { get; set; }
    public string? CachedZone { get; set; }
    public string? ImageId { get; set; }
    public string? ComputeFlavor { get; set; }
    public DateTime? CreatedAt { get; set; }
    public DateTime? UpdatedAt { get; set; }
}

/// <summary>Upstream table <c>amphora_health</c>.</summary>
public sealed class AmphoraHealth
{
    public string AmphoraId { get; set; } = "";
    public DateTime LastUpdate { get; set; }
    public bool Busy { get; set; }
}

/// <summary>Upstream table <c>listener_statistics</c>.</summary>
public sealed class ListenerStatistics
{
    public string ListenerId { get; set; } = "";
    public string AmphoraId { get; set; } = "";
    public long BytesIn { get; set; }
    public long BytesOut { get; set; }
    public int ActiveConnections { get; set; }
    public long TotalConnections { get; set; }
    public long RequestErrors { get; set; }
}

/// <summary>A provider profile: a named blob of provider-specific JSON (flavor or availability zone profile).</summary>
public interface IProviderProfile
{
    string Id { get; set; }
    string Name { get; set; }
    string ProviderName { get; set; }

    /// <summary>The provider-specific JSON (<c>flavor_data</c> or <c>availability_zone_data</c>).</summary>
    string Data { get; set; }
}

/// <summary>Upstream table <c>flavor_profile</c>.</summary>
public sealed class FlavorProfile : IProviderProfile
{
    public string Id { get; set; } = "";
    public string Name { get; set; } = "";
    public string ProviderName { get; set; } = "";
    public string FlavorData { get; set; } = "";
    string IProviderProfile.Data { get => FlavorData; set => FlavorData = value; }
}

/// <summary>Upstream table <c>flavor</c>.</summary>
public sealed class Flavor
{
    public string Id { get; set; } = "";
    public string Name { get; set; } = "";
    public string? Description { get; set; }
    public bool Enabled { get; set; } = true;
    public string FlavorProfileId { get; set; } = "";
}

/// <summary>Upstream table <c>availability_zone_profile</c>.</summary>
public sealed class AvailabilityZoneProfile : IProviderProfile
{
    public string Id { get; set; } = "";
    public string Name { get; set; } = "";
    public string ProviderName { get; set; } = "";
    public string AvailabilityZoneData { get; set; } = "";
    string IProviderProfile.Data { get => AvailabilityZoneData; set => AvailabilityZoneData = value; }
}

/// <summary>Upstream table <c>availability_zone</c>, keyed by name.</summary>
public sealed class AvailabilityZone
{
    public string Name { get; set; } = "";
    public string? Description { get; set; }
    public bool Enabled { get; set; } = true;
    public string AvailabilityZoneProfileId { get; set; } = "";
}
