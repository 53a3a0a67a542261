// Licensed under the Apache License, Version 2.0.

using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Octavia.Api.Auth;
using Octavia.Api.Errors;

namespace Octavia.Api.Policy;

/// <summary>Calls the policy enforcer with upstream's rule names; a denial is a 403 fault.</summary>
internal static class Policies
{
    public const string Prefix = "os_load-balancer_api:";

    /// <summary>Throws 403 unless <c>os_load-balancer_api:{obj}:{action}</c> allows the call.</summary>
    public static RequestContext Authorize(HttpContext http, string obj, string action, string? targetProjectId)
    {
        var ctx = RequestContext.Of(http);
        var enforcer = http.RequestServices.GetRequiredService<IPolicyEnforcer>();
        if (!enforcer.Authorize($"{Prefix}{obj}:{action}", ctx, targetProjectId))
        {
            throw ApiException.Forbidden();
        }
        return ctx;
    }

    /// <summary>True if the caller may list every project (the <c>get_all-global</c> rule).</summary>
    public static bool CanReadGlobal(HttpContext http, string obj)
    {
        var ctx = RequestContext.Of(http);
        return http.RequestServices.GetRequiredService<IPolicyEnforcer>().Authorize($"{Prefix}{obj}:get_all-global", ctx, null);
    }

    /// <summary>
    /// The project scope of a list: null means all projects. Without the global rule the caller sees
    /// its own project, and asking for another one is forbidden.
    /// </summary>
    public static string? ListScope(HttpContext http, string obj)
    {
        var requested = http.Request.Query["project_id"].FirstOrDefault();
        if (CanReadGlobal(http, obj))
        {
            Authorize(http, obj, "get_all-global", null);
            return requested;
        }
        var ctx = Authorize(http, obj, "get_all", RequestContext.Of(http).ProjectId);
        if (requested is not null && requested != ctx.ProjectId)
        {
            throw ApiException.Forbidden();
        }
        return ctx.ProjectId ?? "";
    }
}
