// Licensed under the Apache License, Version 2.0.

using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Octavia.Api.Json;
using Octavia.Api.Paging;
using Octavia.Api.Policy;
using Octavia.Core.Model;

namespace Octavia.Api.Resources;

/// <summary><c>/v2/lbaas/quotas</c>; both spellings of the LB and HM keys are accepted and returned.</summary>
internal static class QuotaEndpoints
{
    private static readonly string[] s_keys = ["loadbalancer", "load_balancer", "listener", "pool", "member", "healthmonitor", "health_monitor", "l7policy", "l7rule"];

    public static void Map(RouteGroupBuilder g)
    {
        g.MapGet("/lbaas/quotas", async (HttpContext http, ApiServices api) =>
        {
            var global = Policies.CanReadGlobal(http, "quota");
            var ctx = Policies.Authorize(http, "quota", global ? "get_all-global" : "get_all", Auth.RequestContext.Of(http).ProjectId);
            await using var db = api.Store.Read();
            var rows = await db.Quotas.ToListAsync(http.RequestAborted);
            var visible = rows.Where(q => global || q.ProjectId == ctx.ProjectId).Select(q => View(q, api));
            return Common.Json(ListQuery.Respond(http, api.Settings, visible, "quotas", "quotas_links", s_keys.Append("project_id").ToHashSet()));
        });
        foreach (var path in new[] { "/lbaas/quotas/defaults", "/lbaas/quotas/{projectId}/default" })
        {
            g.MapGet(path, (HttpContext http, ApiServices api) =>
            {
                Policies.Authorize(http, "quota", "get_defaults", http.Request.RouteValues["projectId"] as string);
                var view = View(new Quotas(), api);
                view.Remove("project_id");
                return Common.Json(new JsonObject { ["quota"] = view });
            });
        }
        g.MapGet("/lbaas/quotas/{projectId}", async (HttpContext http, ApiServices api, string projectId) =>
        {
            Policies.Authorize(http, "quota", "get_one", projectId);
            await using var db = api.Store.Read();
            var q = await db.Quotas.FirstOrDefaultAsync(x => x.ProjectId == projectId, http.RequestAborted) ?? new Quotas { ProjectId = projectId };
            return Common.Json(new JsonObject { ["quota"] = View(q, api) });
        });
        g.MapPut("/lbaas/quotas/{projectId}", async (HttpContext http, ApiServices api, string projectId) =>
        {
            Policies.Authorize(http, "quota", "put", projectId);
            var b = new Body(await Body.ReadRootAsync(http, "quota"), "quota", s_keys);
            int? Read(string key) => b.Int(key, -1, 2000000000);
            var q = await api.Store.WriteAsync(null, async db =>
            {
                var row = await db.Quotas.FirstOrDefaultAsync(x => x.ProjectId == projectId, http.RequestAborted);
                if (row is null)
                {
                    row = new Quotas { ProjectId = projectId };
                    db.Quotas.Add(row);
                }
                if (b.Has("loadbalancer") || b.Has("load_balancer"))
                {
                    row.LoadBalancer = Read("loadbalancer") ?? Read("load_balancer");
                }
                if (b.Has("healthmonitor") || b.Has("health_monitor"))
                {
                    row.HealthMonitor = Read("healthmonitor") ?? Read("health_monitor");
                }
                if (b.Has("listener"))
                {
                    row.Listener = Read("listener");
                }
                if (b.Has("pool"))
                {
                    row.Pool = Read("pool");
                }
                if (b.Has("member"))
                {
                    row.Member = Read("member");
                }
                if (b.Has("l7policy"))
                {
                    row.L7Policy = Read("l7policy");
                }
                if (b.Has("l7rule"))
                {
                    row.L7Rule = Read("l7rule");
                }
                return row;
            }, http.RequestAborted);
            return Common.Json(new JsonObject { ["quota"] = View(q, api) }, StatusCodes.Status202Accepted);
        });
        g.MapDelete("/lbaas/quotas/{projectId}", async (HttpContext http, ApiServices api, string projectId) =>
        {
            Policies.Authorize(http, "quota", "delete", projectId);
            var found = await api.Store.WriteAsync(null, async db =>
            {
                var row = await db.Quotas.FirstOrDefaultAsync(x => x.ProjectId == projectId, http.RequestAborted);
                if (row is not null)
                {
                    db.Quotas.Remove(row);
                }
                return row is not null;
            }, http.RequestAborted);
            return found ? Common.Accepted() : throw Errors.ApiException.NotFound("Quota", projectId);
        });
    }

    private static JsonObject View(Quotas q, ApiServices api)
    {
        var d = api.Quotas;
        return new JsonObject
        {
            ["project_id"] = q.ProjectId,
            ["loadbalancer"] = q.LoadBalancer ?? d.DefaultLoadBalancerQuota,
            ["load_balancer"] = q.LoadBalancer ?? d.DefaultLoadBalancerQuota,
            ["listener"] = q.Listener ?? d.DefaultListenerQuota,
            ["pool"] = q.Pool ?? d.DefaultPoolQuota,
            ["member"] = q.Member ?? d.DefaultMemberQuota,
            ["healthmonitor"] = q.HealthMonitor ?? d.DefaultHealthMonitorQuota,
            ["health_monitor"] = q.HealthMonitor ?? d.DefaultHealthMonitorQuota,
            ["l7policy"] = q.L7Policy ?? d.DefaultL7PolicyQuota,
            ["l7rule"] = q.L7Rule ?? d.DefaultL7RuleQuota,
        };
    }
}
