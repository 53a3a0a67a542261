// Licensed under the Apache License, Version 2.0.

using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Octavia.Api.Auth;

/// <summary>The resolved auth settings the middleware runs with.</summary>
public sealed record AuthSettings(string Strategy, string? NoauthDefaultProjectId, string? PathPrefix);

/// <summary>Paths upstream serves without authentication (octavia/common/keystone.py _NOAUTH_PATHS).</summary>
public static class UnauthenticatedPaths
{
    private static readonly HashSet<string> s_paths = new(StringComparer.Ordinal)
    {
        "/", "/healthcheck", "/load-balancer/", "/load-balancer/healthcheck",
    };

    /// <summary>Whether the request's full path (path base included, as WSGI's request.path) skips auth.</summary>
    public static bool Contains(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return s_paths.Contains(request.PathBase.Add(request.Path).Value ?? "/");
    }
}

/// <summary>
/// <c>auth_strategy = noauth</c> and <c>testing</c>: the context comes from oslo.context's request headers.
/// noauth makes every caller admin, as upstream does; testing applies the policy to the given roles.
/// </summary>
internal sealed class HeaderAuthMiddleware(RequestDelegate next, AuthSettings settings, PolicyEnforcer enforcer)
{
    public Task InvokeAsync(HttpContext http)
    {
        var h = http.Request.Headers;
        var context = new RequestContext
        {
            ProjectId = First(h, "X-Project-Id", "X-Tenant-Id", "X-Tenant"),
            ProjectName = First(h, "X-Project-Name", "X-Tenant-Name"),
            UserId = First(h, "X-User-Id", "X-User"),
            UserName = First(h, "X-User-Name"),
            DomainId = First(h, "X-Domain-Id"),
            UserDomainId = First(h, "X-User-Domain-Id"),
            ProjectDomainId = First(h, "X-Project-Domain-Id"),
            Roles = ParseRoles(First(h, "X-Roles", "X-Role")),
            SystemScopeAll = string.Equals(First(h, "OpenStack-System-Scope"), "all", StringComparison.OrdinalIgnoreCase),
        };
        if (settings.Strategy == AuthStrategies.NoAuth)
        {
            context = context with { IsAdmin = true, ProjectId = context.ProjectId ?? settings.NoauthDefaultProjectId };
        }
        else
        {
            context = context with { IsAdmin = enforcer.IsContextAdmin(context) };
        }
        RequestContext.Set(http, context);
        return next(http);
    }

    private static string? First(IHeaderDictionary headers, params string[] names)
    {
        foreach (var name in names)
        {
            if (headers.TryGetValue(name, out var value) && !StringValues.IsNullOrEmpty(value) && value.ToString().Trim() is { Length: > 0 } v)
            {
                return v;
            }
        }
        return null;
    }

    internal static HashSet<string> ParseRoles(string? header) => new(
        (header ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
        StringComparer.OrdinalIgnoreCase);
}

/// <summary>
/// <c>auth_strategy = keystone</c>: keystonemiddleware's auth_token in front of the API. Every request outside
/// <see cref="UnauthenticatedPaths"/> needs a valid <c>X-Auth-Token</c>; the context is built from the token
/// only (identity headers sent by the client are ignored, as auth_token strips them).
/// </summary>
internal sealed class KeystoneAuthMiddleware(RequestDelegate next, KeystoneTokenValidator validator, PolicyEnforcer enforcer)
{
    private const string AuthRequired = "The request you have made requires authentication.";

    public async Task InvokeAsync(HttpContext http)
    {
        if (UnauthenticatedPaths.Contains(http.Request))
        {
            await next(http).ConfigureAwait(false);
            return;
        }
        var token = Header(http.Request.Headers, "X-Auth-Token") ?? Header(http.Request.Headers, "X-Storage-Token");
        if (token is null)
        {
            await RejectAsync(http).ConfigureAwait(false);
            return;
        }
        var result = await validator.ValidateAsync(token).ConfigureAwait(false);
        switch (result)
        {
            case { Status: TokenStatus.Valid, Token: { } info }:
                var context = new RequestContext
                {
                    ProjectId = info.ProjectId,
                    ProjectName = info.ProjectName,
                    ProjectDomainId = info.ProjectDomainId,
                    UserId = info.UserId,
                    UserName = info.UserName,
                    UserDomainId = info.UserDomainId,
                    DomainId = info.DomainId,
                    Roles = new HashSet<string>(info.Roles, StringComparer.OrdinalIgnoreCase),
                    SystemScopeAll = info.SystemScopeAll,
                };
                RequestContext.Set(http, context with { IsAdmin = enforcer.IsContextAdmin(context) });
                await next(http).ConfigureAwait(false);
                return;
            case { Status: TokenStatus.Unavailable }:
                await WriteFaultAsync(http, StatusCodes.Status503ServiceUnavailable, "Server",
                    "The Keystone service is temporarily unavailable.").ConfigureAwait(false);
                return;
            default:
                await RejectAsync(http).ConfigureAwait(false);
                return;
        }
    }

    private static string? Header(IHeaderDictionary headers, string name) =>
        headers.TryGetValue(name, out var value) && value.ToString().Trim() is { Length: > 0 } v ? v : null;

    private Task RejectAsync(HttpContext http)
    {
        http.Response.Headers.WWWAuthenticate = $"Keystone uri=\"{validator.Settings.WwwAuthenticateUri}\"";
        return WriteFaultAsync(http, StatusCodes.Status401Unauthorized, "Client", AuthRequired, keystoneError: true);
    }

    // The body carries both shapes: Octavia's WSME fault (what octaviaclient reads) and keystonemiddleware's
    // "error" object (what auth_token itself returns in front of upstream's API).
    private static Task WriteFaultAsync(HttpContext http, int status, string faultCode, string message, bool keystoneError = false)
    {
        var body = new JsonObject
        {
            ["faultcode"] = faultCode,
            ["faultstring"] = message,
            ["debuginfo"] = null,
        };
        if (keystoneError)
        {
            body["error"] = new JsonObject { ["code"] = status, ["title"] = "Unauthorized", ["message"] = message };
        }
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        return http.Response.WriteAsync(body.ToJsonString(), http.RequestAborted);
    }
}
