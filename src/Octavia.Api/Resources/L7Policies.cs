// Licensed under the Apache License, Version 2.0.

using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Octavia.Api.Errors;
using Octavia.Api.Json;
using Octavia.Api.Paging;
using Octavia.Api.Policy;
using Octavia.Core.Model;

namespace Octavia.Api.Resources;

/// <summary><c>/v2/lbaas/l7policies</c> with position renumbering.</summary>
internal static class L7Policies
{
    private static readonly string[] s_update =
        ["name", "description", "admin_state_up", "tags", "action", "redirect_pool_id", "redirect_url", "redirect_prefix", "redirect_http_code", "position"];
    private static readonly string[] s_create = [.. s_update, "listener_id", "project_id", "tenant_id"];
    private static readonly int[] s_codes = [301, 302, 303, 307, 308];

    private static readonly Dictionary<string, Column<L7Policy>> s_columns = BuildColumns();

    private static Dictionary<string, Column<L7Policy>> BuildColumns()
    {
        var c = Columns.Base<L7Policy>();
        c["description"] = Columns.Str<L7Policy>(p => p.Description ?? "", nullable: false);
        c["action"] = Columns.Str<L7Policy>(p => p.Action, nullable: false);
        c["listener_id"] = Columns.Str<L7Policy>(p => p.ListenerId, nullable: false);
        c["redirect_pool_id"] = Columns.Str<L7Policy>(p => p.RedirectPoolId);
        c["redirect_url"] = Columns.Str<L7Policy>(p => p.RedirectUrl);
        c["redirect_prefix"] = Columns.Str<L7Policy>(p => p.RedirectPrefix);
        c["position"] = Columns.Int<L7Policy>(p => p.Position, nullable: false);
        c["redirect_http_code"] = Columns.Int<L7Policy>(p => p.RedirectHttpCode, nullable: true);
        c["rules"] = Columns.Has<L7Policy>(id => p => p.L7Rules.Any(r => r.Id == id));
        return c;
    }

    public static void Map(RouteGroupBuilder g)
    {
        g.MapGet("/lbaas/l7policies", async (HttpContext http, ApiServices api) =>
        {
            var scope = Policies.ListScope(http, "l7policy");
            await using var db = api.Store.Read();
            var page = await SqlList.PageAsync(http, api.Settings, Common.Scoped(db.L7Policies.AsNoTracking(), scope), s_columns, Views.L7PolicyAttributes,
                q => q.Include(p => p.Tags).Include(p => p.L7Rules).AsSplitQuery(), http.RequestAborted);
            if (page is not null)
            {
                return SqlList.Write(page, "l7policies", "l7policies_links", ListQuery.Fields(http, api.Settings), ViewWriters.Tree<L7Policy>(Views.L7Policy));
            }
            var items = await Common.Scoped(Common.L7PolicyView(db), scope).ToListAsync(http.RequestAborted);
            return Common.Json(ListQuery.Respond(http, api.Settings, items.Select(Views.L7Policy), "l7policies", "l7policies_links", Views.L7PolicyAttributes));
        });
        g.MapGet("/lbaas/l7policies/{id}", async (HttpContext http, ApiServices api, string id) =>
        {
            var p = await FindAsync(api, id, http.RequestAborted);
            Policies.Authorize(http, "l7policy", "get_one", p.ProjectId);
            return Common.One(http, api, "l7policy", Views.L7Policy(p));
        });
        g.MapPost("/lbaas/l7policies", async (HttpContext http, ApiServices api) =>
        {
            var b = new Body(await Body.ReadRootAsync(http, "l7policy"), "l7policy", s_create);
            var project = Common.ProjectForCreate(http, b);
            Policies.Authorize(http, "l7policy", "post", project);
            var listener = await Listeners.FindAsync(api, b.Uuid("listener_id", required: true)!, http.RequestAborted);
            var id = await api.Store.WriteAsync(listener.LoadBalancerId, async db =>
            {
                var lb = await Common.MutableLoadBalancerAsync(db, listener.LoadBalancerId, http.RequestAborted);
                var l = await db.Listeners.FirstAsync(x => x.Id == listener.Id, http.RequestAborted);
                Common.RequireActive(l, "Listener");
                if (l.Protocol == Protocols.Prometheus)
                {
                    throw ApiException.BadRequest("Validation failure: PROMETHEUS listeners cannot have L7 policies.");
                }
                if (lb.Provider is "amphora" or "octavia" && l.Protocol is not (Protocols.Http or Protocols.TerminatedHttps))
                {
                    throw new ApiException(501, $"Provider '{lb.Provider}' does not support a requested option: L7 policies on {l.Protocol} listeners");
                }
                await Common.CheckQuotaAsync(db, api, lb.ProjectId!, "l7policy", 1, http.RequestAborted);
                var now = api.Store.Now;
                var p = new L7Policy { ListenerId = l.Id, Action = b.Enum("action", L7PolicyActions.All, required: true)! };
                Common.Stamp(p, lb.ProjectId!, now);
                await ApplyAsync(db, b, p, l, create: true, http.RequestAborted);
                var siblings = await db.L7Policies.Where(x => x.ListenerId == l.Id).OrderBy(x => x.Position).ToListAsync(http.RequestAborted);
                var position = b.Int("position", 1, int.MaxValue) ?? int.MaxValue;
                siblings.Insert(Math.Min(position - 1, siblings.Count), p);
                Renumber(siblings);
                db.L7Policies.Add(p);
                Common.MarkUpdating(l, now);
                Common.MarkUpdating(lb, now);
                await Common.SubmitAsync(api, lb, "create_l7policy", new JsonObject { ["l7policy_id"] = p.Id }, http.RequestAborted);
                return p.Id;
            }, http.RequestAborted);
            return Common.One(http, api, "l7policy", Views.L7Policy(await FindAsync(api, id, http.RequestAborted)), StatusCodes.Status201Created);
        });
        g.MapPut("/lbaas/l7policies/{id}", async (HttpContext http, ApiServices api, string id) =>
        {
            var existing = await FindAsync(api, id, http.RequestAborted);
            Policies.Authorize(http, "l7policy", "put", existing.ProjectId);
            var b = new Body(await Body.ReadRootAsync(http, "l7policy"), "l7policy", s_update);
            var listener = await Listeners.FindAsync(api, existing.ListenerId, http.RequestAborted);
            await api.Store.WriteAsync(listener.LoadBalancerId, async db =>
            {
                var lb = await Common.MutableLoadBalancerAsync(db, listener.LoadBalancerId, http.RequestAborted);
                var l = await db.Listeners.FirstAsync(x => x.Id == listener.Id, http.RequestAborted);
                var p = await db.L7Policies.Include(x => x.Tags).FirstAsync(x => x.Id == existing.Id, http.RequestAborted);
                Common.RequireActive(p, "L7 Policy");
                if (b.Has("action"))
                {
                    p.Action = b.Enum("action", L7PolicyActions.All) ?? p.Action;
                }
                await ApplyAsync(db, b, p, l, create: false, http.RequestAborted);
                if (b.Int("position", 1, int.MaxValue) is { } position)
                {
                    var siblings = await db.L7Policies.Where(x => x.ListenerId == l.Id && x.Id != p.Id).OrderBy(x => x.Position).ToListAsync(http.RequestAborted);
                    siblings.Insert(Math.Min(position - 1, siblings.Count), p);
                    Renumber(siblings);
                }
                var now = api.Store.Now;
                Common.MarkUpdating(p, now);
                Common.MarkUpdating(l, now);
                Common.MarkUpdating(lb, now);
                await Common.SubmitAsync(api, lb, "update_l7policy", new JsonObject { ["l7policy_id"] = p.Id, ["l7policy_updates"] = b.Raw() }, http.RequestAborted);
            }, http.RequestAborted);
            return Common.One(http, api, "l7policy", Views.L7Policy(await FindAsync(api, id, http.RequestAborted)));
        });
        g.MapDelete("/lbaas/l7policies/{id}", async (HttpContext http, ApiServices api, string id) =>
        {
            var existing = await FindAsync(api, id, http.RequestAborted);
            Policies.Authorize(http, "l7policy", "delete", existing.ProjectId);
            var listener = await Listeners.FindAsync(api, existing.ListenerId, http.RequestAborted);
            await api.Store.WriteAsync(listener.LoadBalancerId, async db =>
            {
                var lb = await Common.MutableLoadBalancerAsync(db, listener.LoadBalancerId, http.RequestAborted);
                var l = await db.Listeners.FirstAsync(x => x.Id == listener.Id, http.RequestAborted);
                var p = await db.L7Policies.FirstAsync(x => x.Id == existing.Id, http.RequestAborted);
                Common.RequireActive(p, "L7 Policy");
                var now = api.Store.Now;
                p.ProvisioningStatus = ProvisioningStatus.PendingDelete;
                p.UpdatedAt = now;
                Renumber(await db.L7Policies.Where(x => x.ListenerId == l.Id && x.Id != p.Id).OrderBy(x => x.Position).ToListAsync(http.RequestAborted));
                Common.MarkUpdating(l, now);
                Common.MarkUpdating(lb, now);
                await Common.SubmitAsync(api, lb, "delete_l7policy", new JsonObject { ["l7policy_id"] = p.Id }, http.RequestAborted);
            }, http.RequestAborted);
            return Common.NoContent();
        });
    }

    private static void Renumber(List<L7Policy> ordered)
    {
        for (var i = 0; i < ordered.Count; i++)
        {
            ordered[i].Position = i + 1;
        }
    }

    public static async Task<L7Policy> FindAsync(ApiServices api, string id, CancellationToken ct)
    {
        var key = Common.PathId(id, "L7 Policy");
        await using var db = api.Store.Read();
        return await Common.L7PolicyView(db).FirstOrDefaultAsync(p => p.Id == key, ct) ?? throw ApiException.NotFound("L7 Policy", id);
    }

    private static async Task ApplyAsync(Data.OctaviaDbContext db, Body b, L7Policy p, Listener l, bool create, CancellationToken ct)
    {
        Common.ApplyBase(p, b, create, d => p.Description = d);
        var pool = b.Has("redirect_pool_id") ? b.Uuid("redirect_pool_id") : null;
        var url = b.Has("redirect_url") ? b.Str("redirect_url") : null;
        var prefix = b.Has("redirect_prefix") ? b.Str("redirect_prefix") : null;
        if (new[] { pool, url, prefix }.Count(x => x is not null) > 1)
        {
            throw ApiException.BadRequest("Invalid L7 Policy arguments: only one of redirect_pool_id, redirect_url and redirect_prefix may be given.");
        }
        foreach (var (name, value) in new[] { ("redirect_url", url), ("redirect_prefix", prefix) })
        {
            if (value is not null && (!Uri.TryCreate(value, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https") || u.Host.Length == 0))
            {
                throw ApiException.InvalidInput(name, value, "Value should be an http or https URL.");
            }
        }
        if (pool is not null)
        {
            p.Action = L7PolicyActions.RedirectToPool;
        }
        else if (url is not null)
        {
            p.Action = L7PolicyActions.RedirectToUrl;
        }
        else if (prefix is not null)
        {
            p.Action = L7PolicyActions.RedirectPrefix;
        }
        p.RedirectPoolId = p.Action == L7PolicyActions.RedirectToPool ? pool ?? p.RedirectPoolId : null;
        p.RedirectUrl = p.Action == L7PolicyActions.RedirectToUrl ? url ?? p.RedirectUrl : null;
        p.RedirectPrefix = p.Action == L7PolicyActions.RedirectPrefix ? prefix ?? p.RedirectPrefix : null;
        if ((p.Action == L7PolicyActions.RedirectToPool && p.RedirectPoolId is null)
            || (p.Action == L7PolicyActions.RedirectToUrl && p.RedirectUrl is null)
            || (p.Action == L7PolicyActions.RedirectPrefix && p.RedirectPrefix is null))
        {
            throw ApiException.BadRequest($"Invalid L7 Policy arguments: action {p.Action} requires its redirect argument.");
        }
        if (b.Has("redirect_http_code"))
        {
            var code = b.Int("redirect_http_code", 0, 999);
            if (code is not null && !s_codes.Contains(code.Value))
            {
                throw ApiException.InvalidInput("redirect_http_code", code, "Value should be one of: 301, 302, 303, 307, 308");
            }
            p.RedirectHttpCode = code;
        }
        if (p.Action is L7PolicyActions.RedirectToUrl or L7PolicyActions.RedirectPrefix)
        {
            p.RedirectHttpCode ??= 302;
        }
        else
        {
            p.RedirectHttpCode = null;
        }
        if (p.RedirectPoolId is { } poolId)
        {
            var target = await db.Pools.AsNoTracking().FirstOrDefaultAsync(x => x.Id == poolId, ct);
            if (target is null || target.LoadBalancerId != l.LoadBalancerId)
            {
                throw ApiException.NotFound("Pool", poolId);
            }
            Listeners.CheckProtocols(l.Protocol, target.Protocol);
        }
    }
}
