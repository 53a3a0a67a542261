// Licensed under the Apache License, Version 2.0.

using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Octavia.Api.Auth;

namespace Octavia.Api.Resources;

/// <summary>
/// Ours, not upstream's: a read-only, Keystone-v3-shaped <c>/projects</c> served only when the API runs without
/// Keystone (<c>auth_strategy = noauth</c> or <c>testing</c>). python-octaviaclient's quota commands resolve their
/// project argument through the identity service (<c>identity_common.find_project</c>: <c>GET /projects/NAME</c>,
/// then <c>GET /projects?name=NAME</c>), which <c>--os-auth-type none --os-endpoint URL</c> sends to this API.
/// Without Keystone a project is just the id callers use, so every name is the project of the same id.
/// </summary>
internal static class ProjectView
{
    public static void Map(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (app.Services.GetRequiredService<AuthSettings>().Strategy == AuthStrategies.Keystone)
        {
            return;
        }
        foreach (var prefix in new[] { "", "/v3" })
        {
            app.MapGet(prefix + "/projects/{id}", (string id) => Common.Json(new JsonObject { ["project"] = Project(id) }));
            app.MapGet(prefix + "/projects", async (HttpContext http, ApiServices api) =>
            {
                IEnumerable<string> ids;
                if (http.Request.Query["name"].FirstOrDefault() is { Length: > 0 } name)
                {
                    ids = [name];
                }
                else
                {
                    await using var db = api.Store.Read();
                    var owners = await db.LoadBalancers.Select(l => l.ProjectId).Distinct().ToListAsync(http.RequestAborted);
                    var quotas = await db.Quotas.Select(q => q.ProjectId).ToListAsync(http.RequestAborted);
                    ids = owners.Concat(quotas).OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
                }
                return Common.Json(new JsonObject
                {
                    ["projects"] = new JsonArray(ids.Select(i => (JsonNode)Project(i)).ToArray()),
                    ["links"] = new JsonObject { ["self"] = null, ["next"] = null, ["previous"] = null },
                });
            });
        }
    }

    private static JsonObject Project(string id) => new()
    {
        ["id"] = id,
        ["name"] = id,
        ["domain_id"] = "default",
        ["description"] = "",
        ["enabled"] = true,
        ["is_domain"] = false,
        ["parent_id"] = "default",
        ["tags"] = new JsonArray(),
        ["options"] = new JsonObject(),
        ["links"] = new JsonObject { ["self"] = null },
    };
}
