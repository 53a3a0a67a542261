// Licensed under the Apache License, Version 2.0.
// Interim: replaced at merge by helper "keystone"'s Auth/ middleware and policy enforcer.

using Microsoft.AspNetCore.Http;
using Octavia.Api.Auth;
using Octavia.Core.Configuration;

namespace Octavia.Api.Hosting;

/// <summary>
/// noauth as upstream does it: the project and roles come from oslo.context's headers and every
/// request is admin. The enforcer is a small model of upstream's default rules so RBAC is testable.
/// </summary>
internal static class InterimAuth
{
    public static RequestDelegate Middleware(RequestDelegate next, ApiSettingsOptions settings) => http =>
    {
        var project = Header(http, "X-Project-Id") ?? Header(http, "X-Tenant-Id") ?? settings.NoauthDefaultProjectId;
        var roles = (Header(http, "X-Roles") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        // A test-only switch: "X-Interim-Not-Admin: true" drops the noauth admin bit so RBAC can be exercised.
        var admin = !string.Equals(Header(http, "X-Interim-Not-Admin"), "true", StringComparison.OrdinalIgnoreCase);
        RequestContext.Set(http, new RequestContext
        {
            ProjectId = project,
            UserId = Header(http, "X-User-Id"),
            Roles = new HashSet<string>(roles, StringComparer.OrdinalIgnoreCase),
            IsAdmin = admin,
        });
        return next(http);
    };

    private static string? Header(HttpContext http, string name) =>
        http.Request.Headers.TryGetValue(name, out var v) && !string.IsNullOrEmpty(v.ToString()) ? v.ToString() : null;
}

/// <summary>Upstream's default policy (octavia/policies, deprecated rules ORed in), reduced to roles.</summary>
internal sealed class InterimPolicyEnforcer : IPolicyEnforcer
{
    public bool Authorize(string rule, RequestContext context, string? targetProjectId)
    {
        ArgumentNullException.ThrowIfNull(rule);
        ArgumentNullException.ThrowIfNull(context);
        bool Has(string role) => context.Roles.Contains(role);
        var admin = context.IsAdmin || Has("admin") || Has("load-balancer_admin");
        if (admin)
        {
            return true;
        }
        var owner = targetProjectId is null || targetProjectId == context.ProjectId;
        var globalObserver = Has("load-balancer_global_observer");
        var quotaAdmin = Has("load-balancer_quota_admin");
        var member = Has("load-balancer_member") && owner && context.ProjectId is not null;
        var observer = Has("load-balancer_observer") && owner && context.ProjectId is not null;
        var read = member || observer || globalObserver;
        var parts = rule.Split(':');
        var obj = parts.Length > 1 ? parts[1] : "";
        var action = parts.Length > 2 ? parts[2] : "";
        switch (obj)
        {
            case "amphora" or "flavor-profile" or "availability-zone-profile" or "provider-flavor" or "provider-availability-zone":
                return false;
            case "flavor" or "availability-zone":
                return action is "get_all" or "get_one" && read;
            case "provider":
                return read;
            case "quota":
                return action switch
                {
                    "get_all-global" => globalObserver || quotaAdmin,
                    "get_all" or "get_one" or "get_defaults" => read || quotaAdmin,
                    _ => quotaAdmin,
                };
            case "loadbalancer" when action == "put_failover":
                return false;
        }
        return action switch
        {
            "get_all-global" => globalObserver,
            "get_all" or "get_one" or "get_stats" or "get_status" => read,
            _ => member,
        };
    }
}
