// Licensed under the Apache License, Version 2.0.

using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using Octavia.Core.Model;

namespace Octavia.Data;

/// <summary>
/// The Octavia database, mapped onto upstream's table and column names (snake_case) so that a copy
/// of an upstream database can be read.
/// </summary>
public class OctaviaDbContext(DbContextOptions options) : DbContext(options)
{
    public DbSet<LoadBalancer> LoadBalancers => Set<LoadBalancer>();
    public DbSet<Vip> Vips => Set<Vip>();
    public DbSet<AdditionalVip> AdditionalVips => Set<AdditionalVip>();
    public DbSet<VrrpGroup> VrrpGroups => Set<VrrpGroup>();
    public DbSet<Listener> Listeners => Set<Listener>();
    public DbSet<Sni> Snis => Set<Sni>();
    public DbSet<ListenerCidr> ListenerCidrs => Set<ListenerCidr>();
    public DbSet<Pool> Pools => Set<Pool>();
    public DbSet<SessionPersistence> SessionPersistences => Set<SessionPersistence>();
    public DbSet<Member> Members => Set<Member>();
    public DbSet<HealthMonitor> HealthMonitors => Set<HealthMonitor>();
    public DbSet<L7Policy> L7Policies => Set<L7Policy>();
    public DbSet<L7Rule> L7Rules => Set<L7Rule>();
    public DbSet<Tag> Tags => Set<Tag>();
    public DbSet<Quotas> Quotas => Set<Quotas>();
    public DbSet<Amphora> Amphorae => Set<Amphora>();
    public DbSet<AmphoraHealth> AmphoraHealth => Set<AmphoraHealth>();
    public DbSet<ListenerStatistics> ListenerStatistics => Set<ListenerStatistics>();
    public DbSet<Flavor> Flavors => Set<Flavor>();
    public DbSet<FlavorProfile> FlavorProfiles => Set<FlavorProfile>();
    public DbSet<AvailabilityZone> AvailabilityZones => Set<AvailabilityZone>();
    public DbSet<AvailabilityZoneProfile> AvailabilityZoneProfiles => Set<AvailabilityZoneProfile>();

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        ArgumentNullException.ThrowIfNull(configurationBuilder);
        // Every timestamp is UTC. Npgsql refuses to write an Unspecified DateTime to timestamptz, and SQLite and
        // MariaDB hand back Unspecified; marking the kind both ways makes the three engines behave alike.
        configurationBuilder.Properties<DateTime>().HaveConversion<UtcDateTimeConverter>();
        configurationBuilder.Properties<DateTime?>().HaveConversion<UtcDateTimeConverter>();
    }

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        ArgumentNullException.ThrowIfNull(modelBuilder);

        modelBuilder.Entity<Tag>(e =>
        {
            e.ToTable("tags");
            e.HasKey(t => new { t.ResourceId, t.Value });
            e.Property(t => t.ResourceId).HasColumnName("resource_id").HasMaxLength(36);
            e.Property(t => t.Value).HasColumnName("tag").HasMaxLength(255);
        });

        modelBuilder.Entity<LoadBalancer>(e =>
        {
            MapLbaasObject(e, "load_balancer");
            e.Property(x => x.Description).HasColumnName("description").HasMaxLength(255);
            e.Property(x => x.Topology).HasColumnName("topology").HasMaxLength(36);
            e.Property(x => x.ServerGroupId).HasColumnName("server_group_id").HasMaxLength(36);
            e.Property(x => x.Provider).HasColumnName("provider").HasMaxLength(64);
            e.Property(x => x.FlavorId).HasColumnName("flavor_id").HasMaxLength(36);
            e.Property(x => x.AvailabilityZone).HasColumnName("availability_zone").HasMaxLength(255);
            e.HasOne(x => x.Vip).WithOne().HasForeignKey<Vip>(v => v.LoadBalancerId).OnDelete(DeleteBehavior.Cascade);
            e.HasMany(x => x.AdditionalVips).WithOne().HasForeignKey(v => v.LoadBalancerId).OnDelete(DeleteBehavior.Cascade);
            e.HasOne(x => x.VrrpGroup).WithOne().HasForeignKey<VrrpGroup>(v => v.LoadBalancerId).OnDelete(DeleteBehavior.Cascade);
            e.HasMany(x => x.Listeners).WithOne(l => l.LoadBalancer).HasForeignKey(l => l.LoadBalancerId).OnDelete(DeleteBehavior.Cascade);
            e.HasMany(x => x.Pools).WithOne(p => p.LoadBalancer).HasForeignKey(p => p.LoadBalancerId).OnDelete(DeleteBehavior.Cascade);
            e.HasMany(x => x.Amphorae).WithOne(a => a.LoadBalancer).HasForeignKey(a => a.LoadBalancerId).OnDelete(DeleteBehavior.SetNull);
            e.HasIndex(x => x.ProjectId);
        });

        modelBuilder.Entity<Vip>(e =>
        {
            e.ToTable("vip");
            e.HasKey(x => x.LoadBalancerId);
            e.Property(x => x.LoadBalancerId).HasColumnName("load_balancer_id").HasMaxLength(36);
            e.Property(x => x.IpAddress).HasColumnName("ip_address").HasMaxLength(64);
            e.Property(x => x.PortId).HasColumnName("port_id").HasMaxLength(36);
            e.Property(x => x.SubnetId).HasColumnName("subnet_id").HasMaxLength(36);
            e.Property(x => x.NetworkId).HasColumnName("network_id").HasMaxLength(36);
            e.Property(x => x.QosPolicyId).HasColumnName("qos_policy_id").HasMaxLength(36);
            e.Property(x => x.OctaviaOwned).HasColumnName("octavia_owned");
        });

        modelBuilder.Entity<AdditionalVip>(e =>
        {
            e.ToTable("additional_vip");
            e.HasKey(x => new { x.LoadBalancerId, x.SubnetId });
            e.Property(x => x.LoadBalancerId).HasColumnName("load_balancer_id").HasMaxLength(36);
            e.Property(x => x.SubnetId).HasColumnName("subnet_id").HasMaxLength(36);
            e.Property(x => x.IpAddress).HasColumnName("ip_address").HasMaxLength(64);
            e.Property(x => x.PortId).HasColumnName("port_id").HasMaxLength(36);
            e.Property(x => x.NetworkId).HasColumnName("network_id").HasMaxLength(36);
        });

        modelBuilder.Entity<VrrpGroup>(e =>
        {
            e.ToTable("vrrp_group");
            e.HasKey(x => x.LoadBalancerId);
            e.Property(x => x.LoadBalancerId).HasColumnName("load_balancer_id").HasMaxLength(36);
            e.Property(x => x.VrrpGroupName).HasColumnName("vrrp_group_name").HasMaxLength(36);
            e.Property(x => x.VrrpAuthType).HasColumnName("vrrp_auth_type").HasMaxLength(16);
            e.Property(x => x.VrrpAuthPass).HasColumnName("vrrp_auth_pass").HasMaxLength(36);
            e.Property(x => x.AdvertInt).HasColumnName("advert_int");
        });

        modelBuilder.Entity<Listener>(e =>
        {
            MapLbaasObject(e, "listener");
            e.Property(x => x.Description).HasColumnName("description").HasMaxLength(255);
            e.Property(x => x.Protocol).HasColumnName("protocol").HasMaxLength(16);
            e.Property(x => x.ProtocolPort).HasColumnName("protocol_port");
            e.Property(x => x.ConnectionLimit).HasColumnName("connection_limit");
            e.Property(x => x.LoadBalancerId).HasColumnName("load_balancer_id").HasMaxLength(36);
            e.Property(x => x.TlsCertificateId).HasColumnName("tls_certificate_id").HasMaxLength(255);
            e.Property(x => x.DefaultPoolId).HasColumnName("default_pool_id").HasMaxLength(36);
            e.Property(x => x.PeerPort).HasColumnName("peer_port");
            e.Property(x => x.InsertHeaders).HasColumnName("insert_headers").HasConversion(JsonConverter<Dictionary<string, string>>(), JsonComparer<Dictionary<string, string>>());
            e.Property(x => x.TimeoutClientData).HasColumnName("timeout_client_data");
            e.Property(x => x.TimeoutMemberConnect).HasColumnName("timeout_member_connect");
            e.Property(x => x.TimeoutMemberData).HasColumnName("timeout_member_data");
            e.Property(x => x.TimeoutTcpInspect).HasColumnName("timeout_tcp_inspect");
            e.Property(x => x.ClientCaTlsCertificateId).HasColumnName("client_ca_tls_certificate_id").HasMaxLength(255);
            e.Property(x => x.ClientAuthentication).HasColumnName("client_authentication").HasMaxLength(10);
            e.Property(x => x.ClientCrlContainerId).HasColumnName("client_crl_container_id").HasMaxLength(255);
            e.Property(x => x.TlsCiphers).HasColumnName("tls_ciphers").HasMaxLength(2048);
            e.Property(x => x.TlsVersions).HasColumnName("tls_versions").HasConversion(ScalarListConverter(), ScalarListComparer()).HasMaxLength(512);
            e.Property(x => x.AlpnProtocols).HasColumnName("alpn_protocols").HasConversion(ScalarListConverter(), ScalarListComparer()).HasMaxLength(512);
            e.Property(x => x.HstsMaxAge).HasColumnName("hsts_max_age");
            e.Property(x => x.HstsIncludeSubdomains).HasColumnName("hsts_include_subdomains");
            e.Property(x => x.HstsPreload).HasColumnName("hsts_preload");
            e.HasOne(x => x.DefaultPool).WithMany().HasForeignKey(x => x.DefaultPoolId).OnDelete(DeleteBehavior.SetNull);
            e.HasMany(x => x.SniContainers).WithOne().HasForeignKey(s => s.ListenerId).OnDelete(DeleteBehavior.Cascade);
            e.HasMany(x => x.L7Policies).WithOne(p => p.Listener).HasForeignKey(p => p.ListenerId).OnDelete(DeleteBehavior.Cascade);
            e.HasMany(x => x.AllowedCidrs).WithOne().HasForeignKey(c => c.ListenerId).OnDelete(DeleteBehavior.Cascade);
            e.HasIndex(x => new { x.LoadBalancerId, x.Protocol, x.ProtocolPort }).IsUnique().HasDatabaseName("uq_listener_load_balancer_id_protocol_port");
        });

        modelBuilder.Entity<Sni>(e =>
        {
            e.ToTable("sni");
            e.HasKey(x => new { x.ListenerId, x.TlsContainerId });
            e.Property(x => x.ListenerId).HasColumnName("listener_id").HasMaxLength(36);
            e.Property(x => x.TlsContainerId).HasColumnName("tls_container_id").HasMaxLength(128);
            e.Property(x => x.Position).HasColumnName("position");
        });

        modelBuilder.Entity<ListenerCidr>(e =>
        {
            e.ToTable("listener_cidr");
            e.HasKey(x => new { x.ListenerId, x.Cidr });
            e.Property(x => x.ListenerId).HasColumnName("listener_id").HasMaxLength(36);
            e.Property(x => x.Cidr).HasColumnName("cidr").HasMaxLength(64);
        });

        modelBuilder.Entity<Pool>(e =>
        {
            MapLbaasObject(e, "pool");
            e.Property(x => x.Description).HasColumnName("description").HasMaxLength(255);
            e.Property(x => x.Protocol).HasColumnName("protocol").HasMaxLength(16);
            e.Property(x => x.LbAlgorithm).HasColumnName("lb_algorithm").HasMaxLength(255);
            e.Property(x => x.LoadBalancerId).HasColumnName("load_balancer_id").HasMaxLength(36);
            e.Property(x => x.TlsCertificateId).HasColumnName("tls_certificate_id").HasMaxLength(255);
            e.Property(x => x.CaTlsCertificateId).HasColumnName("ca_tls_certificate_id").HasMaxLength(255);
            e.Property(x => x.CrlContainerId).HasColumnName("crl_container_id").HasMaxLength(255);
            e.Property(x => x.TlsEnabled).HasColumnName("tls_enabled");
            e.Property(x => x.TlsCiphers).HasColumnName("tls_ciphers").HasMaxLength(2048);
            e.Property(x => x.TlsVersions).HasColumnName("tls_versions").HasConversion(ScalarListConverter(), ScalarListComparer()).HasMaxLength(512);
            e.Property(x => x.AlpnProtocols).HasColumnName("alpn_protocols").HasConversion(ScalarListConverter(), ScalarListComparer()).HasMaxLength(512);
            e.HasOne(x => x.HealthMonitor).WithOne(h => h.Pool).HasForeignKey<HealthMonitor>(h => h.PoolId).OnDelete(DeleteBehavior.Cascade);
            e.HasOne(x => x.SessionPersistence).WithOne().HasForeignKey<SessionPersistence>(s => s.PoolId).OnDelete(DeleteBehavior.Cascade);
            e.HasMany(x => x.Members).WithOne(m => m.Pool).HasForeignKey(m => m.PoolId).OnDelete(DeleteBehavior.Cascade);
        });

        modelBuilder.Entity<SessionPersistence>(e =>
        {
            e.ToTable("session_persistence");
            e.HasKey(x => x.PoolId);
            e.Property(x => x.PoolId).HasColumnName("pool_id").HasMaxLength(36);
            e.Property(x => x.Type).HasColumnName("type").HasMaxLength(36);
            e.Property(x => x.CookieName).HasColumnName("cookie_name").HasMaxLength(255);
            e.Property(x => x.PersistenceTimeout).HasColumnName("persistence_timeout");
            e.Property(x => x.PersistenceGranularity).HasColumnName("persistence_granularity").HasMaxLength(64);
        });

        modelBuilder.Entity<Member>(e =>
        {
            MapLbaasObject(e, "member");
            e.Property(x => x.PoolId).HasColumnName("pool_id").HasMaxLength(36);
            e.Property(x => x.SubnetId).HasColumnName("subnet_id").HasMaxLength(36);
            e.Property(x => x.IpAddress).HasColumnName("ip_address").HasMaxLength(64);
            e.Property(x => x.ProtocolPort).HasColumnName("protocol_port");
            e.Property(x => x.Weight).HasColumnName("weight");
            e.Property(x => x.Backup).HasColumnName("backup");
            e.Property(x => x.MonitorAddress).HasColumnName("monitor_address").HasMaxLength(64);
            e.Property(x => x.MonitorPort).HasColumnName("monitor_port");
            e.HasIndex(x => new { x.PoolId, x.IpAddress, x.ProtocolPort }).IsUnique().HasDatabaseName("uq_member_pool_id_address_protocol_port");
        });

        modelBuilder.Entity<HealthMonitor>(e =>
        {
            MapLbaasObject(e, "health_monitor");
            e.Property(x => x.Type).HasColumnName("type").HasMaxLength(36);
            e.Property(x => x.PoolId).HasColumnName("pool_id").HasMaxLength(36);
            e.Property(x => x.Delay).HasColumnName("delay");
            e.Property(x => x.Timeout).HasColumnName("timeout");
            e.Property(x => x.FallThreshold).HasColumnName("fall_threshold");
            e.Property(x => x.RiseThreshold).HasColumnName("rise_threshold");
            e.Property(x => x.HttpMethod).HasColumnName("http_method").HasMaxLength(16);
            e.Property(x => x.UrlPath).HasColumnName("url_path").HasMaxLength(2048);
            e.Property(x => x.ExpectedCodes).HasColumnName("expected_codes").HasMaxLength(64);
            e.Property(x => x.HttpVersion).HasColumnName("http_version");
            e.Property(x => x.DomainName).HasColumnName("domain_name").HasMaxLength(255);
            e.HasIndex(x => x.PoolId).IsUnique().HasDatabaseName("uq_health_monitor_pool");
        });

        modelBuilder.Entity<L7Policy>(e =>
        {
            MapLbaasObject(e, "l7policy");
            e.Property(x => x.Description).HasColumnName("description").HasMaxLength(255);
            e.Property(x => x.ListenerId).HasColumnName("listener_id").HasMaxLength(36);
            e.Property(x => x.Action).HasColumnName("action").HasMaxLength(36);
            e.Property(x => x.RedirectPoolId).HasColumnName("redirect_pool_id").HasMaxLength(36);
            e.Property(x => x.RedirectUrl).HasColumnName("redirect_url").HasMaxLength(255);
            e.Property(x => x.RedirectPrefix).HasColumnName("redirect_prefix").HasMaxLength(255);
            e.Property(x => x.RedirectHttpCode).HasColumnName("redirect_http_code");
            e.Property(x => x.Position).HasColumnName("position");
            e.HasOne(x => x.RedirectPool).WithMany().HasForeignKey(x => x.RedirectPoolId).OnDelete(DeleteBehavior.Restrict);
            e.HasMany(x => x.L7Rules).WithOne(r => r.L7Policy).HasForeignKey(r => r.L7PolicyId).OnDelete(DeleteBehavior.Cascade);
        });

        modelBuilder.Entity<L7Rule>(e =>
        {
            MapLbaasObject(e, "l7rule");
            e.Ignore(x => x.Name);
            e.Property(x => x.L7PolicyId).HasColumnName("l7policy_id").HasMaxLength(36);
            e.Property(x => x.Type).HasColumnName("type").HasMaxLength(36);
            e.Property(x => x.CompareType).HasColumnName("compare_type").HasMaxLength(36);
            e.Property(x => x.Key).HasColumnName("key").HasMaxLength(255);
            e.Property(x => x.Value).HasColumnName("value").HasMaxLength(255);
            e.Property(x => x.Invert).HasColumnName("invert");
        });

        modelBuilder.Entity<Quotas>(e =>
        {
            e.ToTable("quotas");
            e.HasKey(x => x.ProjectId);
            e.Property(x => x.ProjectId).HasColumnName("project_id").HasMaxLength(36);
            e.Property(x => x.HealthMonitor).HasColumnName("health_monitor");
            e.Property(x => x.Listener).HasColumnName("listener");
            e.Property(x => x.LoadBalancer).HasColumnName("load_balancer");
            e.Property(x => x.Member).HasColumnName("member");
            e.Property(x => x.Pool).HasColumnName("pool");
            e.Property(x => x.L7Policy).HasColumnName("l7policy");
            e.Property(x => x.L7Rule).HasColumnName("l7rule");
            e.Property(x => x.InUseHealthMonitor).HasColumnName("in_use_health_monitor");
            e.Property(x => x.InUseListener).HasColumnName("in_use_listener");
            e.Property(x => x.InUseLoadBalancer).HasColumnName("in_use_load_balancer");
            e.Property(x => x.InUseMember).HasColumnName("in_use_member");
            e.Property(x => x.InUsePool).HasColumnName("in_use_pool");
            e.Property(x => x.InUseL7Policy).HasColumnName("in_use_l7policy");
            e.Property(x => x.InUseL7Rule).HasColumnName("in_use_l7rule");
        });

        modelBuilder.Entity<Amphora>(e =>
        {
            e.ToTable("amphora");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasColumnName("id").HasMaxLength(36);
            e.Property(x => x.LoadBalancerId).HasColumnName("load_balancer_id").HasMaxLength(36);
            e.Property(x => x.ComputeId).HasColumnName("compute_id").HasMaxLength(36);
            e.Property(x => x.LbNetworkIp).HasColumnName("lb_network_ip").HasMaxLength(64);
            e.Property(x => x.VrrpIp).HasColumnName("vrrp_ip").HasMaxLength(64);
            e.Property(x => x.HaIp).HasColumnName("ha_ip").HasMaxLength(64);
            e.Property(x => x.VrrpPortId).HasColumnName("vrrp_port_id").HasMaxLength(36);
            e.Property(x => x.HaPortId).HasColumnName("ha_port_id").HasMaxLength(36);
            e.Property(x => x.CertExpiration).HasColumnName("cert_expiration");
            e.Property(x => x.CertBusy).HasColumnName("cert_busy");
            e.Property(x => x.Role).HasColumnName("role").HasMaxLength(36);
            e.Property(x => x.Status).HasColumnName("status").HasMaxLength(36);
            e.Property(x => x.VrrpInterface).HasColumnName("vrrp_interface").HasMaxLength(16);
            e.Property(x => x.VrrpId).HasColumnName("vrrp_id");
            e.Property(x => x.VrrpPriority).HasColumnName("vrrp_priority");
            e.Property(x => x.CachedZone).HasColumnName("cached_zone").HasMaxLength(255);
            e.Property(x => x.ImageId).HasColumnName("image_id").HasMaxLength(36);
            e.Property(x => x.ComputeFlavor).HasColumnName("compute_flavor").HasMaxLength(255);
            e.Property(x => x.CreatedAt).HasColumnName("created_at");
            e.Property(x => x.UpdatedAt).HasColumnName("updated_at");
        });

        modelBuilder.Entity<AmphoraHealth>(e =>
        {
            e.ToTable("amphora_health");
            e.HasKey(x => x.AmphoraId);
            e.Property(x => x.AmphoraId).HasColumnName("amphora_id").HasMaxLength(36);
            e.Property(x => x.LastUpdate).HasColumnName("last_update");
            e.Property(x => x.Busy).HasColumnName("busy");
        });

        modelBuilder.Entity<ListenerStatistics>(e =>
        {
            e.ToTable("listener_statistics");
            e.HasKey(x => new { x.ListenerId, x.AmphoraId });
            e.Property(x => x.ListenerId).HasColumnName("listener_id").HasMaxLength(36);
            e.Property(x => x.AmphoraId).HasColumnName("amphora_id").HasMaxLength(36);
            e.Property(x => x.BytesIn).HasColumnName("bytes_in");
            e.Property(x => x.BytesOut).HasColumnName("bytes_out");
            e.Property(x => x.ActiveConnections).HasColumnName("active_connections");
            e.Property(x => x.TotalConnections).HasColumnName("total_connections");
            e.Property(x => x.RequestErrors).HasColumnName("request_errors");
        });

        modelBuilder.Entity<FlavorProfile>(e =>
        {
            e.ToTable("flavor_profile");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasColumnName("id").HasMaxLength(36);
            e.Property(x => x.Name).HasColumnName("name").HasMaxLength(255);
            e.Property(x => x.ProviderName).HasColumnName("provider_name").HasMaxLength(255);
            e.Property(x => x.FlavorData).HasColumnName("flavor_data").HasMaxLength(4096);
        });

        modelBuilder.Entity<Flavor>(e =>
        {
            e.ToTable("flavor");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasColumnName("id").HasMaxLength(36);
            e.Property(x => x.Name).HasColumnName("name").HasMaxLength(255);
            e.Property(x => x.Description).HasColumnName("description").HasMaxLength(255);
            e.Property(x => x.Enabled).HasColumnName("enabled");
            e.Property(x => x.FlavorProfileId).HasColumnName("flavor_profile_id").HasMaxLength(36);
            e.HasIndex(x => x.Name).IsUnique().HasDatabaseName("uq_flavor_name");
            e.HasOne<FlavorProfile>().WithMany().HasForeignKey(x => x.FlavorProfileId).OnDelete(DeleteBehavior.Restrict);
        });

        modelBuilder.Entity<AvailabilityZoneProfile>(e =>
        {
            e.ToTable("availability_zone_profile");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasColumnName("id").HasMaxLength(36);
            e.Property(x => x.Name).HasColumnName("name").HasMaxLength(255);
            e.Property(x => x.ProviderName).HasColumnName("provider_name").HasMaxLength(255);
            e.Property(x => x.AvailabilityZoneData).HasColumnName("availability_zone_data").HasMaxLength(4096);
        });

        modelBuilder.Entity<AvailabilityZone>(e =>
        {
            e.ToTable("availability_zone");
            e.HasKey(x => x.Name);
            e.Property(x => x.Name).HasColumnName("name").HasMaxLength(255);
            e.Property(x => x.Description).HasColumnName("description").HasMaxLength(255);
            e.Property(x => x.Enabled).HasColumnName("enabled");
            e.Property(x => x.AvailabilityZoneProfileId).HasColumnName("availability_zone_profile_id").HasMaxLength(36);
            e.HasOne<AvailabilityZoneProfile>().WithMany().HasForeignKey(x => x.AvailabilityZoneProfileId).OnDelete(DeleteBehavior.Restrict);
        });

        // The worker's flow_job table (FlowJobs.cs), so db-manage creates it with everything else.
        modelBuilder.MapFlowJobs();
    }

    private static void MapLbaasObject<T>(EntityTypeBuilder<T> e, string table) where T : LbaasObject
    {
        e.ToTable(table);
        e.HasKey(x => x.Id);
        e.Property(x => x.Id).HasColumnName("id").HasMaxLength(36);
        e.Property(x => x.ProjectId).HasColumnName("project_id").HasMaxLength(36);
        e.Property(x => x.Name).HasColumnName("name").HasMaxLength(255);
        e.Property(x => x.ProvisioningStatus).HasColumnName("provisioning_status").HasMaxLength(16);
        e.Property(x => x.OperatingStatus).HasColumnName("operating_status").HasMaxLength(16);
        e.Property(x => x.Enabled).HasColumnName("enabled");
        e.Property(x => x.CreatedAt).HasColumnName("created_at");
        e.Property(x => x.UpdatedAt).HasColumnName("updated_at");
        // Tags live in the shared tags table keyed by resource id, with no database foreign key (as upstream).
        e.HasMany(x => x.Tags).WithOne().HasForeignKey(t => t.ResourceId).OnDelete(DeleteBehavior.Cascade);
    }

    private sealed class UtcDateTimeConverter() : ValueConverter<DateTime, DateTime>(
        v => v.Kind == DateTimeKind.Utc ? v : v.Kind == DateTimeKind.Local ? v.ToUniversalTime() : DateTime.SpecifyKind(v, DateTimeKind.Utc),
        v => DateTime.SpecifyKind(v, DateTimeKind.Utc));

    // sqlalchemy_utils.ScalarListType stores a list as a comma-joined string.
    private static ValueConverter<List<string>?, string?> ScalarListConverter() => new(
        v => v == null ? null : string.Join(",", v),
        v => v == null ? null : v.Split(',', StringSplitOptions.RemoveEmptyEntries).ToList());

    private static ValueComparer<List<string>?> ScalarListComparer() => new(
        (a, b) => a == null ? b == null : b != null && a.SequenceEqual(b),
        v => v == null ? 0 : string.Join(",", v).GetHashCode(StringComparison.Ordinal),
        v => v == null ? null : v.ToList());

    private static ValueConverter<T?, string?> JsonConverter<T>() where T : class => new(
        v => v == null ? null : JsonSerializer.Serialize(v, (JsonSerializerOptions?)null),
        v => v == null ? null : JsonSerializer.Deserialize<T>(v, (JsonSerializerOptions?)null));

    private static ValueComparer<T?> JsonComparer<T>() where T : class => new(
        (a, b) => JsonSerializer.Serialize(a, (JsonSerializerOptions?)null) == JsonSerializer.Serialize(b, (JsonSerializerOptions?)null),
        v => JsonSerializer.Serialize(v, (JsonSerializerOptions?)null).GetHashCode(StringComparison.Ordinal),
        v => v == null ? null : JsonSerializer.Deserialize<T>(JsonSerializer.Serialize(v, (JsonSerializerOptions?)null), (JsonSerializerOptions?)null));
}
