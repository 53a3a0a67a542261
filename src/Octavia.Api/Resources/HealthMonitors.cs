// Licensed under the Apache License, Version 2.0.

using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
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

/// <summary><c>/v2/lbaas/healthmonitors</c>.</summary>
internal static partial class HealthMonitors
{
    private static readonly string[] s_update =
        ["name", "admin_state_up", "tags", "delay", "timeout", "max_retries", "max_retries_down", "http_method", "url_path", "expected_codes", "http_version", "domain_name"];
    public static readonly string[] GraphCreate = [.. s_update, "type"];
    public static readonly string[] Create = [.. GraphCreate, "pool_id", "project_id", "tenant_id"];
    private static readonly string[] s_methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "OPTIONS", "CONNECT", "PATCH"];

    [GeneratedRegex(@"^(\d{3}(\s*,\s*\d{3})*)$|^(\d{3}-\d{3})$")]
    private static partial Regex ExpectedCodes();

    [GeneratedRegex(@"^(?=.{1,255}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$")]
    private static partial Regex DomainName();

    private static readonly Dictionary<string, Column<HealthMonitor>> s_columns = BuildColumns();

    private static Dictionary<string, Column<HealthMonitor>> BuildColumns()
    {
        var c = Columns.Base<HealthMonitor>();
        c["type"] = Columns.Str<HealthMonitor>(h => h.Type, nullable: false);
        c["delay"] = Columns.Int<HealthMonitor>(h => h.Delay, nullable: false);
        c["timeout"] = Columns.Int<HealthMonitor>(h => h.Timeout, nullable: false);
        c["max_retries"] = Columns.Int<HealthMonitor>(h => h.RiseThreshold, nullable: false);
        c["max_retries_down"] = Columns.Int<HealthMonitor>(h => h.FallThreshold, nullable: false);
        c["http_method"] = Columns.Str<HealthMonitor>(h => h.HttpMethod);
        c["url_path"] = Columns.Str<HealthMonitor>(h => h.UrlPath);
        c["expected_codes"] = Columns.Str<HealthMonitor>(h => h.ExpectedCodes);
        c["pools"] = Columns.Has<HealthMonitor>(id => h => h.PoolId == id);
        c["domain_name"] = Columns.Str<HealthMonitor>(h => h.DomainName);
        return c;
    }

    public static void Map(RouteGroupBuilder g)
    {
        g.MapGet("/lbaas/healthmonitors", async (HttpContext http, ApiServices api) =>
        {
            var scope = Policies.ListScope(http, "healthmonitor");
            await using var db = api.Store.Read();
            var page = await SqlList.PageAsync(http, api.Settings, Common.Scoped(db.HealthMonitors.AsNoTracking(), scope), s_columns, Views.HealthMonitorAttributes,
                q => q.Include(h => h.Tags), http.RequestAborted);
            if (page is not null)
            {
                return SqlList.Write(page, "healthmonitors", "healthmonitors_links", ListQuery.Fields(http, api.Settings), ViewWriters.Tree<HealthMonitor>(Views.HealthMonitor));
            }
            var items = await Common.Scoped(db.HealthMonitors.Include(h => h.Tags), scope).ToListAsync(http.RequestAborted);
            return Common.Json(ListQuery.Respond(http, api.Settings, items.Select(Views.HealthMonitor), "healthmonitors", "healthmonitors_links", Views.HealthMonitorAttributes));
        });
        g.MapGet("/lbaas/healthmonitors/{id}", async (HttpContext http, ApiServices api, string id) =>
        {
            var h = await FindAsync(api, id, http.RequestAborted);
            Policies.Authorize(http, "healthmonitor", "get_one", h.ProjectId);
            return Common.One(http, api, "healthmonitor", Views.HealthMonitor(h));
        });
        g.MapPost("/lbaas/healthmonitors", async (HttpContext http, ApiServices api) =>
        {
            var b = new Body(await Body.ReadRootAsync(http, "healthmonitor"), "healthmonitor", Create);
            var project = Common.ProjectForCreate(http, b);
            Policies.Authorize(http, "healthmonitor", "post", project);
            var pool = await Pools.FindAsync(api, b.Uuid("pool_id", required: true)!, http.RequestAborted);
            var id = await api.Store.WriteAsync(pool.LoadBalancerId, async db =>
            {
                var lb = await Common.MutableLoadBalancerAsync(db, pool.LoadBalancerId, http.RequestAborted);
                var p = await db.Pools.Include(x => x.HealthMonitor).FirstAsync(x => x.Id == pool.Id, http.RequestAborted);
                Common.RequireActive(p, "Pool");
                if (p.HealthMonitor is not null)
                {
                    throw ApiException.Conflict($"This pool already has a health monitor");
                }
                await Common.CheckQuotaAsync(db, api, lb.ProjectId!, "healthmonitor", 1, http.RequestAborted);
                var now = api.Store.Now;
                var h = Build(b, p, api, now);
                db.HealthMonitors.Add(h);
                Common.MarkUpdating(p, now);
                Common.MarkUpdating(lb, now);
                await Members.MarkListenersAsync(db, p.Id, now, http.RequestAborted);
                await Common.SubmitAsync(api, lb, "create_health_monitor", new JsonObject { ["health_monitor_id"] = h.Id }, http.RequestAborted);
                return h.Id;
            }, http.RequestAborted);
            return Common.One(http, api, "healthmonitor", Views.HealthMonitor(await FindAsync(api, id, http.RequestAborted)), StatusCodes.Status201Created);
        });
        g.MapPut("/lbaas/healthmonitors/{id}", async (HttpContext http, ApiServices api, string id) =>
        {
            var existing = await FindAsync(api, id, http.RequestAborted);
            Policies.Authorize(http, "healthmonitor", "put", existing.ProjectId);
            var b = new Body(await Body.ReadRootAsync(http, "healthmonitor"), "healthmonitor", s_update);
            var pool = await Pools.FindAsync(api, existing.PoolId, http.RequestAborted);
            await api.Store.WriteAsync(pool.LoadBalancerId, async db =>
            {
                var lb = await Common.MutableLoadBalancerAsync(db, pool.LoadBalancerId, http.RequestAborted);
                var p = await db.Pools.FirstAsync(x => x.Id == pool.Id, http.RequestAborted);
                Common.RequireActive(p, "Pool");
                var h = await db.HealthMonitors.Include(x => x.Tags).FirstAsync(x => x.Id == existing.Id, http.RequestAborted);
                Common.RequireActive(h, "Health Monitor");
                Apply(b, h, p, api, create: false);
                var now = api.Store.Now;
                Common.MarkUpdating(h, now);
                Common.MarkUpdating(p, now);
                Common.MarkUpdating(lb, now);
                await Members.MarkListenersAsync(db, p.Id, now, http.RequestAborted);
                await Common.SubmitAsync(api, lb, "update_health_monitor", new JsonObject { ["health_monitor_id"] = h.Id, ["health_monitor_updates"] = b.Raw() }, http.RequestAborted);
            }, http.RequestAborted);
            return Common.One(http, api, "healthmonitor", Views.HealthMonitor(await FindAsync(api, id, http.RequestAborted)));
        });
        g.MapDelete("/lbaas/healthmonitors/{id}", async (HttpContext http, ApiServices api, string id) =>
        {
            var existing = await FindAsync(api, id, http.RequestAborted);
            Policies.Authorize(http, "healthmonitor", "delete", existing.ProjectId);
            var pool = await Pools.FindAsync(api, existing.PoolId, http.RequestAborted);
            await api.Store.WriteAsync(pool.LoadBalancerId, async db =>
            {
                var lb = await Common.MutableLoadBalancerAsync(db, pool.LoadBalancerId, http.RequestAborted);
                var p = await db.Pools.FirstAsync(x => x.Id == pool.Id, http.RequestAborted);
                Common.RequireActive(p, "Pool");
                var h = await db.HealthMonitors.FirstAsync(x => x.Id == existing.Id, http.RequestAborted);
                Common.RequireActive(h, "Health Monitor");
                var now = api.Store.Now;
                h.ProvisioningStatus = ProvisioningStatus.PendingDelete;
                h.UpdatedAt = now;
                Common.MarkUpdating(p, now);
                Common.MarkUpdating(lb, now);
                await Members.MarkListenersAsync(db, p.Id, now, http.RequestAborted);
                await Common.SubmitAsync(api, lb, "delete_health_monitor", new JsonObject { ["health_monitor_id"] = h.Id }, http.RequestAborted);
            }, http.RequestAborted);
            return Common.NoContent();
        });
    }

    public static async Task<HealthMonitor> FindAsync(ApiServices api, string id, CancellationToken ct)
    {
        var key = Common.PathId(id, "Health Monitor");
        await using var db = api.Store.Read();
        return await db.HealthMonitors.Include(h => h.Tags).FirstOrDefaultAsync(h => h.Id == key, ct) ?? throw ApiException.NotFound("Health Monitor", id);
    }

    /// <summary>A new health monitor of <paramref name="pool"/>, validated.</summary>
    public static HealthMonitor Build(Body b, Pool pool, ApiServices api, DateTime now)
    {
        var h = new HealthMonitor
        {
            PoolId = pool.Id,
            Type = b.Enum("type", HealthMonitorTypes.All, required: true)!,
            Delay = b.Int("delay", 0, int.MaxValue, required: true)!.Value,
            Timeout = b.Int("timeout", 0, int.MaxValue, required: true)!.Value,
            RiseThreshold = b.Int("max_retries", 1, 10, required: true)!.Value,
        };
        Common.Stamp(h, pool.ProjectId!, now);
        Apply(b, h, pool, api, create: true);
        return h;
    }

    private static void Apply(Body b, HealthMonitor h, Pool pool, ApiServices api, bool create)
    {
        Common.ApplyBase(h, b, create);
        var http = h.Type is HealthMonitorTypes.Http or HealthMonitorTypes.Https;
        if (!create)
        {
            h.Delay = b.Has("delay") ? b.Int("delay", 0, int.MaxValue) ?? h.Delay : h.Delay;
            h.Timeout = b.Has("timeout") ? b.Int("timeout", 0, int.MaxValue) ?? h.Timeout : h.Timeout;
            h.RiseThreshold = b.Has("max_retries") ? b.Int("max_retries", 1, 10) ?? h.RiseThreshold : h.RiseThreshold;
        }
        if (b.Has("max_retries_down") || create)
        {
            h.FallThreshold = b.Int("max_retries_down", 1, 10) ?? 3;
        }
        foreach (var key in new[] { "http_method", "url_path", "expected_codes" })
        {
            if (!http && b.Has(key) && !b.IsNull(key))
            {
                throw ApiException.BadRequest($"{key} is not a valid option for health monitors of type {h.Type}");
            }
        }
        if (http)
        {
            if (b.Has("http_method") || create)
            {
                h.HttpMethod = b.Enum("http_method", s_methods) ?? "GET";
            }
            if (b.Has("url_path") || create)
            {
                var path = b.Str("url_path", 2048) ?? "/";
                if (!path.StartsWith('/') || !Uri.TryCreate("http://x" + path, UriKind.Absolute, out _))
                {
                    throw ApiException.InvalidInput("url_path", path, "Value should be a valid URL path starting with /.");
                }
                h.UrlPath = path;
            }
            if (b.Has("expected_codes") || create)
            {
                var codes = b.Str("expected_codes", 64) ?? "200";
                if (!ExpectedCodes().IsMatch(codes))
                {
                    throw ApiException.InvalidInput("expected_codes", codes, "Value should match the pattern ^(\\d{3}(\\s*,\\s*\\d{3})*)$|^(\\d{3}-\\d{3})$");
                }
                h.ExpectedCodes = codes;
            }
        }
        if (b.Has("http_version"))
        {
            var node = b.Raw()["http_version"];
            double? version = node is null ? null : double.TryParse(node.ToString(), System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : -1;
            if (version is not (null or 1.0 or 1.1))
            {
                throw ApiException.InvalidInput("http_version", node?.ToJsonString(), "Value should be one of: 1.0, 1.1");
            }
            h.HttpVersion = version;
        }
        if (b.Has("domain_name"))
        {
            var domain = b.Str("domain_name", 255, minLength: 1);
            if (domain is not null && !DomainName().IsMatch(domain))
            {
                throw ApiException.InvalidInput("domain_name", domain, "Value should be a valid domain name.");
            }
            h.DomainName = domain;
        }
        if (h.DomainName is not null && h.HttpVersion is not 1.1)
        {
            throw ApiException.BadRequest("http_version 1.1 or newer is required when domain_name is specified.");
        }
        if (h.Type == HealthMonitorTypes.Ping && !api.Settings.AllowPingHealthMonitors)
        {
            throw ApiException.BadRequest("The selected health monitor type is not allowed in this deployment: PING");
        }
        var lvs = pool.Protocol is Protocols.Udp or Protocols.Sctp;
        if (lvs && h.Type is not (HealthMonitorTypes.UdpConnect or HealthMonitorTypes.Sctp or HealthMonitorTypes.Tcp or HealthMonitorTypes.Http))
        {
            throw ApiException.BadRequest($"The associated pool protocol is {pool.Protocol}, so only a UDP-CONNECT, SCTP, TCP or HTTP type health monitor is supported.");
        }
        if (!lvs && h.Type is HealthMonitorTypes.UdpConnect or HealthMonitorTypes.Sctp)
        {
            throw ApiException.BadRequest($"The associated pool protocol is {pool.Protocol}, so a {h.Type} type health monitor is not supported.");
        }
        if (h.Type == HealthMonitorTypes.UdpConnect && api.Settings.UdpConnectMinIntervalHealthMonitor >= 0 && h.Delay < api.Settings.UdpConnectMinIntervalHealthMonitor)
        {
            throw ApiException.BadRequest($"The request delay value {h.Delay} should be larger than {api.Settings.UdpConnectMinIntervalHealthMonitor} for UDP-CONNECT health monitor type.");
        }
    }
}
