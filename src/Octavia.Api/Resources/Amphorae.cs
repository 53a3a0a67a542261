// Licensed under the Apache License, Version 2.0.

using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Octavia.Api.Errors;
using Octavia.Api.Paging;
using Octavia.Api.Policy;
using Octavia.Api.Providers;
using Octavia.Core.Model;

namespace Octavia.Api.Resources;

/// <summary><c>/v2/octavia/amphorae</c> (admin only).</summary>
internal static class Amphorae
{
    public static void Map(RouteGroupBuilder g)
    {
        g.MapGet("/octavia/amphorae", async (HttpContext http, ApiServices api) =>
        {
            Policies.Authorize(http, "amphora", "get_all", null);
            await using var db = api.Store.Read();
            var items = await db.Amphorae.Where(a => a.Status != ProvisioningStatus.Deleted).ToListAsync(http.RequestAborted);
            return Common.Json(ListQuery.Respond(http, api.Settings, items.Select(Views.Amphora), "amphorae", "amphorae_links", Views.AmphoraAttributes));
        });
        g.MapGet("/octavia/amphorae/{id}", async (HttpContext http, ApiServices api, string id) =>
        {
            Policies.Authorize(http, "amphora", "get_one", null);
            return Common.One(http, api, "amphora", Views.Amphora(await FindAsync(api, id, http.RequestAborted)));
        });
        g.MapGet("/octavia/amphorae/{id}/stats", async (HttpContext http, ApiServices api, string id) =>
        {
            Policies.Authorize(http, "amphora", "get_stats", null);
            var amp = await FindAsync(api, id, http.RequestAborted);
            await using var db = api.Store.Read();
            var rows = await db.ListenerStatistics.Where(s => s.AmphoraId == amp.Id).ToListAsync(http.RequestAborted);
            var stats = new JsonArray(rows.Select(r => (JsonNode)new JsonObject
            {
                ["id"] = amp.Id,
                ["listener_id"] = r.ListenerId,
                ["loadbalancer_id"] = amp.LoadBalancerId,
                ["active_connections"] = r.ActiveConnections,
                ["bytes_in"] = r.BytesIn,
                ["bytes_out"] = r.BytesOut,
                ["request_errors"] = r.RequestErrors,
                ["total_connections"] = r.TotalConnections,
            }).ToArray());
            return Common.Json(new JsonObject { ["amphora_stats"] = stats });
        });
        g.MapPut("/octavia/amphorae/{id}/failover", async (HttpContext http, ApiServices api, string id) =>
        {
            Policies.Authorize(http, "amphora", "put_failover", null);
            var amp = await FindAsync(api, id, http.RequestAborted);
            if (amp.LoadBalancerId is not { } lbId)
            {
                return await CastAsync(http, api, id, "put_failover", "failover_amphora", requireStatus: null);
            }
            // As upstream: the load balancer goes PENDING_UPDATE before the cast (409 unless ACTIVE), so
            // `amphora failover --wait`, which waits for the load balancer, waits for the failover itself.
            await api.Store.WriteAsync(lbId, async db =>
            {
                var lb = await db.LoadBalancers.FirstAsync(l => l.Id == lbId, http.RequestAborted);
                if (lb.ProvisioningStatus != ProvisioningStatus.Active)
                {
                    throw ApiException.Immutable("Load Balancer", lb.Id);
                }
                Common.MarkUpdating(lb, api.Store.Now);
                await Common.SubmitAsync(api, lb, "failover_amphora", new JsonObject { ["amphora_id"] = amp.Id }, http.RequestAborted);
            }, http.RequestAborted);
            return Common.Accepted();
        });
        g.MapPut("/octavia/amphorae/{id}/config", (HttpContext http, ApiServices api, string id) =>
            CastAsync(http, api, id, "put_config", "update_amphora_agent_config", requireStatus: null));
        g.MapDelete("/octavia/amphorae/{id}", async (HttpContext http, ApiServices api, string id) =>
        {
            await CastAsync(http, api, id, "delete", "delete_amphora", requireStatus: [ProvisioningStatus.Ready, ProvisioningStatus.Error]);
            return Common.NoContent();
        });
    }

    private static async Task<IResult> CastAsync(HttpContext http, ApiServices api, string id, string action, string method, string[]? requireStatus)
    {
        Policies.Authorize(http, "amphora", action, null);
        var amp = await FindAsync(api, id, http.RequestAborted);
        if (requireStatus is not null && !requireStatus.Contains(amp.Status))
        {
            throw ApiException.Conflict($"Amphora {amp.Id} is in status {amp.Status} and cannot be deleted.");
        }
        string? provider = null;
        if (amp.LoadBalancerId is { } lbId)
        {
            await using var db = api.Store.Read();
            provider = await db.LoadBalancers.Where(l => l.Id == lbId).Select(l => l.Provider).FirstOrDefaultAsync(http.RequestAborted);
        }
        // Amphorae only exist for the amphora provider; a provider-less amphora still belongs to it.
        var driver = api.Providers.Get(provider ?? "amphora");
        await driver.SubmitAsync(new ProviderCall(method, new JsonObject { ["amphora_id"] = amp.Id }, null), http.RequestAborted);
        return Common.Accepted();
    }

    private static async Task<Amphora> FindAsync(ApiServices api, string id, CancellationToken ct)
    {
        var key = Common.PathId(id, "Amphora");
        await using var db = api.Store.Read();
        var amp = await db.Amphorae.FirstOrDefaultAsync(a => a.Id == key, ct);
        return amp is null || amp.Status == ProvisioningStatus.Deleted ? throw ApiException.NotFound("Amphora", id) : amp;
    }
}
