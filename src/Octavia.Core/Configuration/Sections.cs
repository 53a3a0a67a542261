// Licensed under the Apache License, Version 2.0.
// Typed views of octavia.conf sections. Defaults and help live in OptionCatalog; add a property
// here (with [OsloOption]) when code needs an option.

namespace Octavia.Core.Configuration;

/// <summary>[DEFAULT]</summary>
[OsloSection("DEFAULT")]
public sealed class DefaultOptions
{
    [OsloOption("transport_url")] public string? TransportUrl { get; set; }
    [OsloOption("debug")] public bool Debug { get; set; }
    [OsloOption("log_file")] public string? LogFile { get; set; }
    [OsloOption("host")] public string Host { get; set; } = "";
    [OsloOption("state_path")] public string StatePath { get; set; } = "";
}

/// <summary>[database]</summary>
[OsloSection("database")]
public sealed class DatabaseOptions
{
    [OsloOption("connection")] public string Connection { get; set; } = "";
    [OsloOption("max_pool_size")] public int MaxPoolSize { get; set; }
}

/// <summary>[api_settings]</summary>
[OsloSection("api_settings")]
public sealed class ApiSettingsOptions
{
    [OsloOption("bind_host")] public string BindHost { get; set; } = "";
    [OsloOption("bind_port")] public int BindPort { get; set; }
    [OsloOption("auth_strategy")] public string AuthStrategy { get; set; } = "";
    [OsloOption("allow_pagination")] public bool AllowPagination { get; set; }
    [OsloOption("allow_sorting")] public bool AllowSorting { get; set; }
    [OsloOption("allow_filtering")] public bool AllowFiltering { get; set; }
    [OsloOption("allow_field_selection")] public bool AllowFieldSelection { get; set; }
    [OsloOption("pagination_max_limit")] public string PaginationMaxLimit { get; set; } = "";
    [OsloOption("api_base_uri")] public string? ApiBaseUri { get; set; }
    [OsloOption("allow_tls_terminated_listeners")] public bool AllowTlsTerminatedListeners { get; set; }
    [OsloOption("allow_ping_health_monitors")] public bool AllowPingHealthMonitors { get; set; }
    [OsloOption("allow_prometheus_listeners")] public bool AllowPrometheusListeners { get; set; }
    [OsloOption("enabled_provider_drivers")] public Dictionary<string, string> EnabledProviderDrivers { get; set; } = [];
    [OsloOption("default_provider_driver")] public string DefaultProviderDriver { get; set; } = "";
    [OsloOption("udp_connect_min_interval_health_monitor")] public int UdpConnectMinIntervalHealthMonitor { get; set; }
    [OsloOption("healthcheck_enabled")] public bool HealthcheckEnabled { get; set; }
    [OsloOption("default_listener_ciphers")] public string DefaultListenerCiphers { get; set; } = "";
    [OsloOption("default_pool_ciphers")] public string DefaultPoolCiphers { get; set; } = "";
    [OsloOption("tls_cipher_prohibit_list")] public string TlsCipherProhibitList { get; set; } = "";
    [OsloOption("default_listener_tls_versions")] public List<string> DefaultListenerTlsVersions { get; set; } = [];
    [OsloOption("default_pool_tls_versions")] public List<string> DefaultPoolTlsVersions { get; set; } = [];
    [OsloOption("minimum_tls_version")] public string? MinimumTlsVersion { get; set; }
    [OsloOption("default_listener_alpn_protocols")] public List<string> DefaultListenerAlpnProtocols { get; set; } = [];
    [OsloOption("default_pool_alpn_protocols")] public List<string> DefaultPoolAlpnProtocols { get; set; } = [];
    [OsloOption("noauth_default_project_id")] public string? NoauthDefaultProjectId { get; set; }
    [OsloOption("response_cache")] public bool ResponseCache { get; set; }
    [OsloOption("response_cache_size")] public int ResponseCacheSize { get; set; }
}

/// <summary>[networking]</summary>
[OsloSection("networking")]
public sealed class NetworkingOptions
{
    [OsloOption("allow_vip_network_id")] public bool AllowVipNetworkId { get; set; }
    [OsloOption("allow_vip_subnet_id")] public bool AllowVipSubnetId { get; set; }
    [OsloOption("allow_vip_port_id")] public bool AllowVipPortId { get; set; }
    [OsloOption("valid_vip_networks")] public List<string>? ValidVipNetworks { get; set; }
    [OsloOption("reserved_ips")] public List<string> ReservedIps { get; set; } = [];
}

/// <summary>[quotas]</summary>
[OsloSection("quotas")]
public sealed class QuotasOptions
{
    [OsloOption("default_load_balancer_quota")] public int DefaultLoadBalancerQuota { get; set; }
    [OsloOption("default_listener_quota")] public int DefaultListenerQuota { get; set; }
    [OsloOption("default_member_quota")] public int DefaultMemberQuota { get; set; }
    [OsloOption("default_pool_quota")] public int DefaultPoolQuota { get; set; }
    [OsloOption("default_health_monitor_quota")] public int DefaultHealthMonitorQuota { get; set; }
    [OsloOption("default_l7policy_quota")] public int DefaultL7PolicyQuota { get; set; }
    [OsloOption("default_l7rule_quota")] public int DefaultL7RuleQuota { get; set; }
}

/// <summary>[haproxy_amphora]</summary>
[OsloSection("haproxy_amphora")]
public sealed class HaproxyAmphoraOptions
{
    [OsloOption("base_path")] public string BasePath { get; set; } = "";
    [OsloOption("base_cert_dir")] public string BaseCertDir { get; set; } = "";
    [OsloOption("haproxy_template")] public string? HaproxyTemplate { get; set; }
    [OsloOption("connection_logging")] public bool ConnectionLogging { get; set; }
    [OsloOption("connection_max_retries")] public int ConnectionMaxRetries { get; set; }
    [OsloOption("connection_retry_interval")] public int ConnectionRetryInterval { get; set; }
    [OsloOption("active_connection_max_retries")] public int ActiveConnectionMaxRetries { get; set; }
    [OsloOption("active_connection_retry_interval")] public int ActiveConnectionRetryInterval { get; set; }
    [OsloOption("bind_host")] public string BindHost { get; set; } = "";
    [OsloOption("bind_port")] public int BindPort { get; set; }
    [OsloOption("haproxy_cmd")] public string HaproxyCmd { get; set; } = "";
    [OsloOption("rest_request_conn_timeout")] public double RestRequestConnTimeout { get; set; }
    [OsloOption("rest_request_read_timeout")] public double RestRequestReadTimeout { get; set; }
    [OsloOption("timeout_client_data")] public int TimeoutClientData { get; set; }
    [OsloOption("timeout_member_connect")] public int TimeoutMemberConnect { get; set; }
    [OsloOption("timeout_member_data")] public int TimeoutMemberData { get; set; }
    [OsloOption("timeout_tcp_inspect")] public int TimeoutTcpInspect { get; set; }
    [OsloOption("client_cert")] public string ClientCert { get; set; } = "";
    [OsloOption("server_ca")] public string ServerCa { get; set; } = "";
    [OsloOption("default_connection_limit")] public int DefaultConnectionLimit { get; set; }
    [OsloOption("haproxy_stick_size")] public string HaproxyStickSize { get; set; } = "";
    [OsloOption("user_log_format")] public string UserLogFormat { get; set; } = "";
    [OsloOption("max_global_connections")] public int MaxGlobalConnections { get; set; }
    [OsloOption("respawn_count")] public int RespawnCount { get; set; }
    [OsloOption("respawn_interval")] public int RespawnInterval { get; set; }
    [OsloOption("use_upstart")] public bool UseUpstart { get; set; }
}

/// <summary>[amphora_agent]</summary>
[OsloSection("amphora_agent")]
public sealed class AmphoraAgentOptions
{
    [OsloOption("agent_server_ca")] public string AgentServerCa { get; set; } = "";
    [OsloOption("agent_server_cert")] public string AgentServerCert { get; set; } = "";
    [OsloOption("agent_request_read_timeout")] public int AgentRequestReadTimeout { get; set; }
    [OsloOption("agent_tls_protocol")] public string AgentTlsProtocol { get; set; } = "";
    [OsloOption("amphora_id")] public string? AmphoraId { get; set; }
    [OsloOption("haproxy_fd_limit")] public int HaproxyFdLimit { get; set; }
    [OsloOption("user_log_facility")] public int UserLogFacility { get; set; }
    [OsloOption("admin_log_targets")] public List<string> AdminLogTargets { get; set; } = [];
    [OsloOption("tenant_log_targets")] public List<string> TenantLogTargets { get; set; } = [];
    [OsloOption("log_protocol")] public string LogProtocol { get; set; } = "UDP";
    [OsloOption("log_retry_count")] public int LogRetryCount { get; set; }
    [OsloOption("log_retry_interval")] public int LogRetryInterval { get; set; }
    [OsloOption("log_queue_size")] public int LogQueueSize { get; set; }
    [OsloOption("disable_local_log_storage")] public bool DisableLocalLogStorage { get; set; }
    [OsloOption("administrative_log_facility")] public int AdministrativeLogFacility { get; set; }
    [OsloOption("forward_all_logs")] public bool ForwardAllLogs { get; set; }
    [OsloOption("agent_server_network_dir")] public string? AgentServerNetworkDir { get; set; }
    [OsloOption("amphora_udp_driver")] public string AmphoraUdpDriver { get; set; } = "";
}

/// <summary>[health_manager]</summary>
[OsloSection("health_manager")]
public sealed class HealthManagerOptions
{
    [OsloOption("bind_ip")] public string BindIp { get; set; } = "";
    [OsloOption("bind_port")] public int BindPort { get; set; }
    [OsloOption("failover_threads")] public int FailoverThreads { get; set; }
    [OsloOption("health_update_threads")] public int? HealthUpdateThreads { get; set; }
    [OsloOption("stats_update_threads")] public int? StatsUpdateThreads { get; set; }
    [OsloOption("heartbeat_key")] public string? HeartbeatKey { get; set; }
    [OsloOption("heartbeat_timeout")] public int HeartbeatTimeout { get; set; }
    [OsloOption("health_check_interval")] public int HealthCheckInterval { get; set; }
    [OsloOption("failover_threshold")] public int? FailoverThreshold { get; set; }
    [OsloOption("controller_ip_port_list")] public List<string> ControllerIpPortList { get; set; } = [];
    [OsloOption("heartbeat_interval")] public int HeartbeatInterval { get; set; }
    [OsloOption("sock_rlimit")] public int SockRlimit { get; set; }
}

/// <summary>[controller_worker]</summary>
[OsloSection("controller_worker")]
public sealed class ControllerWorkerOptions
{
    [OsloOption("workers")] public int Workers { get; set; }
    [OsloOption("amp_active_retries")] public int AmpActiveRetries { get; set; }
    [OsloOption("amp_active_wait_sec")] public int AmpActiveWaitSec { get; set; }
    [OsloOption("amp_flavor_id")] public string AmpFlavorId { get; set; } = "";
    [OsloOption("amp_image_tag")] public string AmpImageTag { get; set; } = "";
    [OsloOption("amp_image_owner_id")] public string AmpImageOwnerId { get; set; } = "";
    [OsloOption("amp_ssh_key_name")] public string AmpSshKeyName { get; set; } = "";
    [OsloOption("amp_boot_network_list")] public List<string> AmpBootNetworkList { get; set; } = [];
    [OsloOption("amp_secgroup_list")] public List<string> AmpSecgroupList { get; set; } = [];
    [OsloOption("client_ca")] public string ClientCa { get; set; } = "";
    [OsloOption("amphora_driver")] public string AmphoraDriver { get; set; } = "";
    [OsloOption("compute_driver")] public string ComputeDriver { get; set; } = "";
    [OsloOption("network_driver")] public string NetworkDriver { get; set; } = "";
    [OsloOption("statistics_drivers")] public List<string> StatisticsDrivers { get; set; } = [];
    [OsloOption("loadbalancer_topology")] public string LoadbalancerTopology { get; set; } = "";
    [OsloOption("amphora_delete_retries")] public int AmphoraDeleteRetries { get; set; }
    [OsloOption("amphora_delete_retry_interval")] public int AmphoraDeleteRetryInterval { get; set; }
    [OsloOption("flow_lease_seconds")] public int FlowLeaseSeconds { get; set; }
    [OsloOption("noop_driver_delay")] public double NoopDriverDelay { get; set; }
}

/// <summary>[house_keeping]</summary>
[OsloSection("house_keeping")]
public sealed class HouseKeepingOptions
{
    [OsloOption("cleanup_interval")] public int CleanupInterval { get; set; }
    [OsloOption("amphora_expiry_age")] public int AmphoraExpiryAge { get; set; }
    [OsloOption("load_balancer_expiry_age")] public int LoadBalancerExpiryAge { get; set; }
    [OsloOption("cert_interval")] public int CertInterval { get; set; }
    [OsloOption("cert_expiry_buffer")] public int CertExpiryBuffer { get; set; }
    [OsloOption("cert_rotate_threads")] public int CertRotateThreads { get; set; }
    [OsloOption("spare_amphora_pool_size")] public int SpareAmphoraPoolSize { get; set; }
    [OsloOption("spare_check_interval")] public int SpareCheckInterval { get; set; }
}

/// <summary>[certificates]</summary>
[OsloSection("certificates")]
public sealed class CertificatesOptions
{
    [OsloOption("cert_generator")] public string CertGenerator { get; set; } = "";
    [OsloOption("cert_manager")] public string CertManager { get; set; } = "";
    [OsloOption("ca_certificate")] public string? CaCertificate { get; set; }
    [OsloOption("ca_private_key")] public string? CaPrivateKey { get; set; }
    [OsloOption("ca_private_key_passphrase")] public string? CaPrivateKeyPassphrase { get; set; }
    [OsloOption("server_certs_key_passphrase")] public string? ServerCertsKeyPassphrase { get; set; }
    [OsloOption("signing_digest")] public string SigningDigest { get; set; } = "";
    [OsloOption("cert_validity_time")] public int CertValidityTime { get; set; }
    [OsloOption("storage_path")] public string? StoragePath { get; set; }
}

/// <summary>[keepalived_vrrp]</summary>
[OsloSection("keepalived_vrrp")]
public sealed class KeepalivedVrrpOptions
{
    [OsloOption("vrrp_advert_int")] public int VrrpAdvertInt { get; set; }
    [OsloOption("vrrp_check_interval")] public int VrrpCheckInterval { get; set; }
    [OsloOption("vrrp_fail_count")] public int VrrpFailCount { get; set; }
    [OsloOption("vrrp_success_count")] public int VrrpSuccessCount { get; set; }
    [OsloOption("vrrp_garp_refresh_interval")] public int VrrpGarpRefreshInterval { get; set; }
    [OsloOption("vrrp_garp_refresh_count")] public int VrrpGarpRefreshCount { get; set; }
}

/// <summary>[keystone_authtoken]</summary>
[OsloSection("keystone_authtoken")]
public sealed class KeystoneAuthtokenOptions
{
    [OsloOption("www_authenticate_uri")] public string? WwwAuthenticateUri { get; set; }
    [OsloOption("auth_url")] public string? AuthUrl { get; set; }
    [OsloOption("username")] public string? Username { get; set; }
    [OsloOption("password")] public string? Password { get; set; }
    [OsloOption("project_name")] public string? ProjectName { get; set; }
    [OsloOption("user_domain_name")] public string UserDomainName { get; set; } = "";
    [OsloOption("project_domain_name")] public string ProjectDomainName { get; set; } = "";
    [OsloOption("token_cache_time")] public int TokenCacheTime { get; set; }
}

/// <summary>[oslo_messaging]</summary>
[OsloSection("oslo_messaging")]
public sealed class OsloMessagingOptions
{
    [OsloOption("topic")] public string? Topic { get; set; }
}

/// <summary>[nova]</summary>
[OsloSection("nova")]
public sealed class NovaOptions
{
    [OsloOption("enable_anti_affinity")] public bool EnableAntiAffinity { get; set; }
    [OsloOption("anti_affinity_policy")] public string AntiAffinityPolicy { get; set; } = "";
    [OsloOption("availability_zone")] public string? AvailabilityZone { get; set; }
}
