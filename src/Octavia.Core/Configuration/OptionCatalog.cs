// Licensed under the Apache License, Version 2.0.

namespace Octavia.Core.Configuration;

/// <summary>Every option this implementation reads, defined once (upstream's plus ours).</summary>
public static partial class OptionCatalog
{
    private static readonly Lazy<IReadOnlyDictionary<(string, string), OptionDefinition>> s_byName = new(() =>
    {
        var map = new Dictionary<(string, string), OptionDefinition>();
        foreach (var def in Upstream().Concat(Extra()))
        {
            map[(def.Section.ToLowerInvariant(), def.Name.ToLowerInvariant())] = def;
        }
        return map;
    });

    /// <summary>All definitions, grouped by section in definition order.</summary>
    public static IEnumerable<OptionDefinition> All => s_byName.Value.Values;

    /// <summary>Definitions grouped by section: DEFAULT first, then the others by name.</summary>
    public static IEnumerable<IGrouping<string, OptionDefinition>> BySection() =>
        All.GroupBy(d => d.Section).OrderBy(g => g.Key == "DEFAULT" ? "" : g.Key, StringComparer.Ordinal);

    /// <summary>Finds a definition, or null.</summary>
    public static OptionDefinition? Find(string section, string name) =>
        s_byName.Value.TryGetValue((section.ToLowerInvariant(), name.ToLowerInvariant()), out var d) ? d : null;

    /// <summary>Finds a definition or throws (a programming error: code reads an undefined option).</summary>
    public static OptionDefinition Get(string section, string name) =>
        Find(section, name) ?? throw new InvalidOperationException($"option [{section}] {name} is not defined");

    // Options that come from oslo libraries (oslo.db, oslo.messaging, keystonemiddleware) rather than
    // octavia itself, and options of ours. Names and defaults are the libraries'.
    private static IEnumerable<OptionDefinition> Extra()
    {
        yield return new("DEFAULT", "transport_url", OptionKind.Str, null,
            "The network address and optional user credentials for connecting to the messaging backend, in URL format: rabbit://user:pass@host:5672/. Unset means the in-process bus (all-in-one only).")
        { Secret = true };
        yield return new("DEFAULT", "debug", OptionKind.Bool, "false", "If set to true, the logging level will be set to DEBUG instead of the default INFO level.");
        yield return new("DEFAULT", "log_file", OptionKind.Str, null, "Name of log file to send logging output to. If not set, logging goes to stderr.");
        yield return new("DEFAULT", "log_dir", OptionKind.Str, null, "The base directory used for relative log_file paths.");
        yield return new("DEFAULT", "state_path", OptionKind.Str, "/var/lib/octavia", "Directory where octavia keeps its state (ours: amphora run directories, local certificates).") { Ours = true };

        yield return new("database", "connection", OptionKind.Str, "sqlite:////var/lib/octavia/octavia.db",
            "The SQLAlchemy-style connection string used to connect to the database: sqlite:////path, mysql+pymysql://user:pass@host:3306/octavia, postgresql+psycopg2://user:pass@host/octavia.")
        { Secret = true };
        yield return new("database", "max_pool_size", OptionKind.Int, "5", "Maximum number of SQL connections to keep open in a pool.") { Min = 1 };
        yield return new("database", "connection_recycle_time", OptionKind.Int, "3600", "Connections which have been present in the connection pool longer than this number of seconds will be replaced with a new one.");

        yield return new("keystone_authtoken", "www_authenticate_uri", OptionKind.Str, null, "Complete public Identity API endpoint, returned to unauthenticated clients in the WWW-Authenticate header.");
        yield return new("keystone_authtoken", "auth_url", OptionKind.Str, null, "Authentication URL of the Identity service used to validate tokens.");
        yield return new("keystone_authtoken", "auth_type", OptionKind.Str, "password", "Authentication type to load.");
        yield return new("keystone_authtoken", "username", OptionKind.Str, null, "Service user name.");
        yield return new("keystone_authtoken", "password", OptionKind.Str, null, "Service user password.") { Secret = true };
        yield return new("keystone_authtoken", "project_name", OptionKind.Str, null, "Service project name.");
        yield return new("keystone_authtoken", "user_domain_name", OptionKind.Str, "Default", "Service user's domain name.");
        yield return new("keystone_authtoken", "project_domain_name", OptionKind.Str, "Default", "Service project's domain name.");
        yield return new("keystone_authtoken", "token_cache_time", OptionKind.Int, "300", "In order to prevent excessive effort spent validating tokens, the middleware caches previously-seen tokens for a configurable duration (in seconds).") { Min = 0 };
        yield return new("keystone_authtoken", "service_token_roles_required", OptionKind.Bool, "false", "Whether the service token must carry service roles.");
        yield return new("keystone_authtoken", "token_cache_size", OptionKind.Int, "10000",
            "Ours: the most validated tokens kept in memory (keystonemiddleware's cache is unbounded in-process or memcached).")
        { Min = 1, Ours = true };

        yield return new("oslo_policy", "policy_file", OptionKind.Str, "policy.yaml", "The relative or absolute path of a file that maps roles to permissions for a given service. Relative paths must be specified in relation to the configuration file setting this option.");
        yield return new("oslo_policy", "enforce_new_defaults", OptionKind.Bool, "false", "This option controls whether or not to use old deprecated defaults when evaluating policies. If True, the old deprecated defaults are not going to be evaluated.");
        yield return new("oslo_policy", "enforce_scope", OptionKind.Bool, "false", "Accepted for compatibility: oslo.policy only warns on scope mismatches unless set, and scope is not enforced here.");
        yield return new("api_settings", "path_prefix", OptionKind.Str, null,
            "Ours: also serve the API under this path prefix (devstack's endpoint is http://host/load-balancer); requests without the prefix keep working.")
        { Ours = true };

        yield return new("certificates", "storage_path", OptionKind.Str, "/var/lib/octavia/certificates/", "Absolute path to the certificate storage directory of the local cert manager.");

        yield return new("oslo_messaging_rabbit", "rabbit_ha_queues", OptionKind.Bool, "false", "Accepted for compatibility; queues here are durable classic queues.");

        yield return new("api_settings", "noauth_default_project_id", OptionKind.Str, null,
            "Ours, not upstream's: with auth_strategy = noauth, the project used when a request carries no X-Project-Id header. Unset (the default) keeps upstream's behaviour of rejecting such creates.")
        { Ours = true };

        yield return new("api_settings", "response_cache", OptionKind.Bool, "true",
            "Ours: keep GET load balancer list bodies in memory, valid for one state of the database (SQLite's data_version, which every commit of any process changes). Only on a SQLite file; PostgreSQL, MariaDB and in-memory SQLite are never cached.")
        { Ours = true };
        yield return new("api_settings", "response_cache_size", OptionKind.Int, "32",
            "Ours: MiB of response bodies the response cache keeps, least recently used first; 0 turns the cache off.")
        { Min = 0, Ours = true };

        yield return new("house_keeping", "spare_amphora_pool_size", OptionKind.Int, "0",
            "Number of spare amphorae kept booted and idle; a new load balancer takes one before booting another. (Removed upstream in 9.0.0; kept here because local amphorae are cheap.)")
        { Min = 0, Ours = true };
        yield return new("amphora_agent", "haproxy_fd_limit", OptionKind.Int, "0",
            "Ours: the open-file limit HAProxy runs under on this amphora. An uploaded haproxy.cfg whose global maxconn needs more descriptors is refused with 400. 0 means the agent's own hard RLIMIT_NOFILE.")
        { Min = 0, Ours = true };
        yield return new("controller_worker", "flow_lease_seconds", OptionKind.Int, "30",
            "Ours: seconds a worker holds a flow job without renewing it. When a worker dies, another worker resumes its flows (or finishes reverting them) after this long.")
        { Min = 2, Ours = true };
        yield return new("controller_worker", "noop_driver_delay", OptionKind.Float, "0",
            "Ours: seconds each call of the noop compute and amphora drivers takes, to make flows slow enough to observe (tests, demos).")
        { Min = 0, Ours = true };

        yield return new("house_keeping", "spare_check_interval", OptionKind.Int, "30", "Spare pool check interval in seconds.") { Min = 1, Ours = true };

        yield return new("haproxy_amphora", "max_global_connections", OptionKind.Int, "5000",
            "Ours: the largest global maxconn rendered into haproxy.cfg. HAProxy needs about two file descriptors per connection and will not start when the open-file limit is lower; listeners without a connection_limit are capped to this, and a listener asking for more is refused.")
        { Min = 1, Ours = true };
        yield return new("local_compute", "state_dir", OptionKind.Str, "",
            "Directory of the local compute and network drivers: amphorae/<id>/ run directories and the address book (ipam.json). Empty means <[DEFAULT] state_path>/local.")
        { Ours = true };
        yield return new("local_compute", "agent_executable", OptionKind.Str, "",
            "Program started as an amphora's agent. Empty means the running octavia executable (the installed agent is the amphora 'image').")
        { Ours = true };
        yield return new("local_compute", "agent_arguments", OptionKind.List, "amphora-agent",
            "Arguments given to agent_executable before '--config-file <amphora-agent.conf>'.")
        { Ours = true };
        yield return new("local_compute", "mode", OptionKind.Str, "auto",
            "namespace: each amphora in network namespace amphora-<id>, wired by veth to one Linux bridge per network (needs root). loopback: amphorae in the host namespace on 127.x addresses (see [local_networks]). auto: namespace when running as root, else loopback.")
        { Choices = ["auto", "namespace", "loopback"], Ours = true };
        yield return new("local_compute", "management_network", OptionKind.Str, "lb-mgmt-net",
            "Name or id of the [local_networks] network amphorae are managed through, used when [controller_worker] amp_boot_network_list is empty.")
        { Ours = true };
        yield return new("local_compute", "agent_stop_timeout", OptionKind.Float, "5",
            "Seconds an amphora's processes get between SIGTERM and SIGKILL when it is deleted.")
        { Min = 0, Ours = true };
        yield return new("local_compute", "ssh_key_dir", OptionKind.Str, "",
            "Directory of public keys standing in for Nova keypairs: with [controller_worker] amp_ssh_key_name = NAME, each amphora runs an sshd that accepts <ssh_key_dir>/NAME.pub for root (in loopback mode: for the user running octavia). Empty means <[local_compute] state_dir>/keys.")
        { Ours = true };
        yield return new("local_compute", "ssh_port", OptionKind.Int, "0",
            "Port of an amphora's sshd on its management address. 0 means 22 in namespace mode and 2222 in loopback mode (amphorae share the host's ports there, each on its own 127.x address).")
        { Min = 0, Max = 65535, Ours = true };
        yield return new("local_compute", "sshd_executable", OptionKind.Str, "/usr/sbin/sshd",
            "The OpenSSH server started in an amphora when [controller_worker] amp_ssh_key_name is set (Debian package openssh-server).")
        { Ours = true };
        yield return new("amphora_agent", "network_namespace", OptionKind.Str, null,
            "Written by the local compute driver into an amphora's agent config: the network namespace the agent runs in (amphora-<id>), or empty when it shares the host's (loopback mode). Unset: the agent decides for itself.")
        { Ours = true };
        yield return new("local_networks", "networks", OptionKind.MultiStr, null,
            "One line per subnet, repeat the key for more: 'name=NET,subnet=SUBNET,cidr=CIDR[,id=UUID][,subnet_id=UUID][,gateway=IP|none][,host=IP][,bridge=BRIDGE][,mtu=1500][,loopback_cidr=127.A.B.0/24]'. "
            + "Lines with the same name make one network with several subnets; ids default to a UUID derived from the name. host is the host's address on the bridge (default: the gateway). "
            + "In loopback mode subnet number i (0-based, in order) is mapped to 127.(64+i).0.0 with the same prefix length, keeping each address's host part, unless loopback_cidr is given. "
            + "Default: lb-mgmt-net/lb-mgmt-subnet 198.18.0.0/24 (host 198.18.0.1, bridge br-lb-mgmt) and private/private-subnet 198.19.0.0/24 (gateway and host 198.19.0.1, bridge br-private).")
        { Ours = true };
    }
}
