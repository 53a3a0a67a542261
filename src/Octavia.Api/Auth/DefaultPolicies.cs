// Licensed under the Apache License, Version 2.0.

namespace Octavia.Api.Auth;

/// <summary>
/// Upstream's registered policies (octavia/policies/*.py, 11.0.0): the base rules with their check strings,
/// the deprecated check strings oslo.policy ORs in while <c>enforce_new_defaults</c> is False, and every
/// <c>os_load-balancer_api:&lt;object&gt;:&lt;action&gt;</c> policy with its default rule.
/// </summary>
public static class DefaultPolicies
{
    /// <summary>A registered policy: its default check string, and the deprecated one if any.</summary>
    public sealed record Policy(string Name, string CheckString, string? DeprecatedCheckString = null);

    /// <summary>The base rules (octavia/policies/base.py).</summary>
    public static IReadOnlyList<Policy> BaseRules { get; } =
    [
        new("system-admin", "role:admin and system_scope:all"),
        new("system-reader", "role:reader and system_scope:all"),
        new("project-member", "role:member and project_id:%(project_id)s"),
        new("project-reader", "role:reader and project_id:%(project_id)s"),
        new("context_is_admin", "role:load-balancer_admin or rule:system-admin",
            "role:admin or role:load-balancer_admin"),
        new("load-balancer:owner", "project_id:%(project_id)s"),
        new("load-balancer:observer_and_owner", "role:load-balancer_observer and rule:project-reader",
            "role:load-balancer_observer and rule:load-balancer:owner"),
        new("load-balancer:global_observer", "role:load-balancer_global_observer or rule:system-reader"),
        new("load-balancer:member_and_owner", "role:load-balancer_member and rule:project-member",
            "role:load-balancer_member and rule:load-balancer:owner"),
        new("load-balancer:admin", "is_admin:True or role:load-balancer_admin or rule:system-admin"),
        new("load-balancer:read",
            "rule:load-balancer:observer_and_owner or rule:load-balancer:global_observer or " +
            "rule:load-balancer:member_and_owner or rule:load-balancer:admin"),
        new("load-balancer:read-global", "rule:load-balancer:global_observer or rule:load-balancer:admin"),
        new("load-balancer:write", "rule:load-balancer:member_and_owner or rule:load-balancer:admin"),
        new("load-balancer:read-quota",
            "rule:load-balancer:observer_and_owner or rule:load-balancer:global_observer or " +
            "rule:load-balancer:member_and_owner or role:load-balancer_quota_admin or rule:load-balancer:admin"),
        new("load-balancer:read-quota-global",
            "rule:load-balancer:global_observer or role:load-balancer_quota_admin or rule:load-balancer:admin"),
        new("load-balancer:write-quota", "role:load-balancer_quota_admin or rule:load-balancer:admin"),
    ];

    /// <summary>The API policies, name → default check string (one entry per upstream DocumentedRuleDefault).</summary>
    public static IReadOnlyDictionary<string, string> ApiRules { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["os_load-balancer_api:flavor:get_all"] = "rule:load-balancer:read",
        ["os_load-balancer_api:flavor:post"] = "rule:load-balancer:admin",
        ["os_load-balancer_api:flavor:put"] = "rule:load-balancer:admin",
        ["os_load-balancer_api:flavor:get_one"] = "rule:load-balancer:read",
        ["os_load-balancer_api:flavor:delete"] = "rule:load-balancer:admin",
        ["os_load-balancer_api:flavor-profile:get_all"] = "rule:load-balancer:admin",
        ["os_load-balancer_api:flavor-profile:post"] = "rule:load-balancer:admin",
        ["os_load-balancer_api:flavor-profile:put"] = "rule:load-balancer:admin",
        ["os_load-balancer_api:flavor-profile:get_one"] = "rule:load-balancer:admin",
        ["os_load-balancer_api:flavor-profile:delete"] = "rule:load-balancer:admin",
        ["os_load-balancer_api:availability-zone:get_all"] = "rule:load-balancer:read",
        ["os_load-balancer_api:availability-zone:post"] = "rule:load-balancer:admin",
        ["os_load-balancer_api:availability-zone:put"] = "rule:load-balancer:admin",
        ["os_load-balancer_api:availability-zone:get_one"] = "rule:load-balancer:read",
        ["os_load-balancer_api:availability-zone:delete"] = "rule:load-balancer:admin",
        ["os_load-balancer_api:availability-zone-profile:get_all"] = "rule:load-balancer:admin",
        ["os_load-balancer_api:availability-zone-profile:post"] = "rule:load-balancer:admin",
        ["os_load-balancer_api:availability-zone-profile:put"] = "rule:load-balancer:admin",
        ["os_load-balancer_api:availability-zone-profile:get_one"] = "rule:load-balancer:admin",
        ["os_load-balancer_api:availability-zone-profile:delete"] = "rule:load-balancer:admin",
        ["os_load-balancer_api:healthmonitor:get_all"] = "rule:load-balancer:read",
        ["os_load-balancer_api:healthmonitor:get_all-global"] = "rule:load-balancer:read-global",
        ["os_load-balancer_api:healthmonitor:post"] = "rule:load-balancer:write",
        ["os_load-balancer_api:healthmonitor:get_one"] = "rule:load-balancer:read",
        ["os_load-balancer_api:healthmonitor:put"] = "rule:load-balancer:write",
        ["os_load-balancer_api:healthmonitor:delete"] = "rule:load-balancer:write",
        ["os_load-balancer_api:l7policy:get_all"] = "rule:load-balancer:read",
        ["os_load-balancer_api:l7policy:get_all-global"] = "rule:load-balancer:read-global",
        ["os_load-balancer_api:l7policy:post"] = "rule:load-balancer:write",
        ["os_load-balancer_api:l7policy:get_one"] = "rule:load-balancer:read",
        ["os_load-balancer_api:l7policy:put"] = "rule:load-balancer:write",
        ["os_load-balancer_api:l7policy:delete"] = "rule:load-balancer:write",
        ["os_load-balancer_api:l7rule:get_all"] = "rule:load-balancer:read",
        ["os_load-balancer_api:l7rule:post"] = "rule:load-balancer:write",
        ["os_load-balancer_api:l7rule:get_one"] = "rule:load-balancer:read",
        ["os_load-balancer_api:l7rule:put"] = "rule:load-balancer:write",
        ["os_load-balancer_api:l7rule:delete"] = "rule:load-balancer:write",
        ["os_load-balancer_api:listener:get_all"] = "rule:load-balancer:read",
        ["os_load-balancer_api:listener:get_all-global"] = "rule:load-balancer:read-global",
        ["os_load-balancer_api:listener:post"] = "rule:load-balancer:write",
        ["os_load-balancer_api:listener:get_one"] = "rule:load-balancer:read",
        ["os_load-balancer_api:listener:put"] = "rule:load-balancer:write",
        ["os_load-balancer_api:listener:delete"] = "rule:load-balancer:write",
        ["os_load-balancer_api:listener:get_stats"] = "rule:load-balancer:read",
        ["os_load-balancer_api:loadbalancer:get_all"] = "rule:load-balancer:read",
        ["os_load-balancer_api:loadbalancer:get_all-global"] = "rule:load-balancer:read-global",
        ["os_load-balancer_api:loadbalancer:post"] = "rule:load-balancer:write",
        ["os_load-balancer_api:loadbalancer:get_one"] = "rule:load-balancer:read",
        ["os_load-balancer_api:loadbalancer:put"] = "rule:load-balancer:write",
        ["os_load-balancer_api:loadbalancer:delete"] = "rule:load-balancer:write",
        ["os_load-balancer_api:loadbalancer:get_stats"] = "rule:load-balancer:read",
        ["os_load-balancer_api:loadbalancer:get_status"] = "rule:load-balancer:read",
        ["os_load-balancer_api:loadbalancer:put_failover"] = "rule:load-balancer:admin",
        ["os_load-balancer_api:member:get_all"] = "rule:load-balancer:read",
        ["os_load-balancer_api:member:post"] = "rule:load-balancer:write",
        ["os_load-balancer_api:member:get_one"] = "rule:load-balancer:read",
        ["os_load-balancer_api:member:put"] = "rule:load-balancer:write",
        ["os_load-balancer_api:member:delete"] = "rule:load-balancer:write",
        ["os_load-balancer_api:pool:get_all"] = "rule:load-balancer:read",
        ["os_load-balancer_api:pool:get_all-global"] = "rule:load-balancer:read-global",
        ["os_load-balancer_api:pool:post"] = "rule:load-balancer:write",
        ["os_load-balancer_api:pool:get_one"] = "rule:load-balancer:read",
        ["os_load-balancer_api:pool:put"] = "rule:load-balancer:write",
        ["os_load-balancer_api:pool:delete"] = "rule:load-balancer:write",
        ["os_load-balancer_api:provider:get_all"] = "rule:load-balancer:read",
        ["os_load-balancer_api:quota:get_all"] = "rule:load-balancer:read-quota",
        ["os_load-balancer_api:quota:get_all-global"] = "rule:load-balancer:read-quota-global",
        ["os_load-balancer_api:quota:get_one"] = "rule:load-balancer:read-quota",
        ["os_load-balancer_api:quota:put"] = "rule:load-balancer:write-quota",
        ["os_load-balancer_api:quota:delete"] = "rule:load-balancer:write-quota",
        ["os_load-balancer_api:quota:get_defaults"] = "rule:load-balancer:read-quota",
        ["os_load-balancer_api:amphora:get_all"] = "rule:load-balancer:admin",
        ["os_load-balancer_api:amphora:get_one"] = "rule:load-balancer:admin",
        ["os_load-balancer_api:amphora:delete"] = "rule:load-balancer:admin",
        ["os_load-balancer_api:amphora:put_config"] = "rule:load-balancer:admin",
        ["os_load-balancer_api:amphora:put_failover"] = "rule:load-balancer:admin",
        ["os_load-balancer_api:amphora:get_stats"] = "rule:load-balancer:admin",
        ["os_load-balancer_api:provider-flavor:get_all"] = "rule:load-balancer:admin",
        ["os_load-balancer_api:provider-availability-zone:get_all"] = "rule:load-balancer:admin",
    };

    /// <summary>Every registered policy, base rules first.</summary>
    public static IEnumerable<Policy> All =>
        BaseRules.Concat(ApiRules.Select(kv => new Policy(kv.Key, kv.Value)));
}
