// Licensed under the Apache License, Version 2.0.

using Microsoft.AspNetCore.Http;

namespace Octavia.Api.Auth;

/// <summary>
/// Who is calling (oslo.context's RequestContext): set by the auth middleware (noauth headers or a
/// validated Keystone token) before any endpoint runs.
/// </summary>
public sealed record RequestContext
{
    public string? ProjectId { get; init; }
    public string? UserId { get; init; }

    /// <summary>Names from the token (keystone) or the X-Project-Name / X-User-Name headers; informational only.</summary>
    public string? ProjectName { get; init; }
    public string? UserName { get; init; }
    public string? UserDomainId { get; init; }
    public string? ProjectDomainId { get; init; }

    /// <summary>Set for domain-scoped tokens.</summary>
    public string? DomainId { get; init; }
    public IReadOnlySet<string> Roles { get; init; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>noauth makes every request admin, as upstream does.</summary>
    public bool IsAdmin { get; init; }

    /// <summary>The token is system-scoped (<c>system_scope:all</c>).</summary>
    public bool SystemScopeAll { get; init; }

    private const string ItemKey = "octavia.request_context";

    /// <summary>The context of the current request (an anonymous one if no middleware set it).</summary>
    public static RequestContext Of(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        return http.Items.TryGetValue(ItemKey, out var value) && value is RequestContext ctx ? ctx : new RequestContext();
    }

    /// <summary>Attaches <paramref name="context"/> to the request.</summary>
    public static void Set(HttpContext http, RequestContext context)
    {
        ArgumentNullException.ThrowIfNull(http);
        http.Items[ItemKey] = context;
    }
}

/// <summary>
/// Upstream's policy check: <c>rule</c> is a policy name such as
/// <c>os_load-balancer_api:loadbalancer:get_one</c>; <c>targetProjectId</c> the owning project
/// of the object (null for collection-level checks, which then mean "in the caller's own project").
/// An unregistered rule name throws <see cref="PolicyNotRegisteredException"/> (upstream answers 500).
/// </summary>
public interface IPolicyEnforcer
{
    bool Authorize(string rule, RequestContext context, string? targetProjectId);
}
