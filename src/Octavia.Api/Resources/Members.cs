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

/// <summary><c>/v2/lbaas/pools/{pool_id}/members</c>, including the batch update.</summary>
internal static class Members
{
    private static readonly string[] s_update = ["name", "admin_state_up", "tags", "weight", "backup", "monitor_address", "monitor_port"];
    public static readonly string[] GraphCreate = [.. s_update, "address", "protocol_port", "subnet_id"];
    public static readonly string[] Create = [.. GraphCreate, "project_id", "tenant_id"];

    public static void Map(RouteGroupBuilder g)
    {
        g.MapGet("/lbaas/pools/{poolId}/members", async (HttpContext http, ApiServices api, string poolId) =>
        {
            var pool = await Pools.FindAsync(api, poolId, http.RequestAborted);
            Policies.Authorize(http, "member", "get_all", pool.ProjectId);
            await using var db = api.Store.Read();
            var page = await SqlList.PageAsync(http, api.Settings, db.Members.AsNoTracking().Where(m => m.PoolId == pool.Id), s_columns, Views.MemberAttributes,
                q => q.Include(m => m.Tags), http.RequestAborted);
            if (page is not null)
            {
                return SqlList.Write(page, "members", "members_links", ListQuery.Fields(http, api.Settings), ViewWriters.Tree<Member>(Views.Member));
            }
            var items = await db.Members.Include(m => m.Tags).Where(m => m.PoolId == pool.Id).ToListAsync(http.RequestAborted);
            return Common.Json(ListQuery.Respond(http, api.Settings, items.Select(Views.Member), "members", "members_links", Views.MemberAttributes));
        });
        g.MapGet("/lbaas/pools/{poolId}/members/{id}", async (HttpContext http, ApiServices api, string poolId, string id) =>
        {
            var m = await FindAsync(api, poolId, id, http.RequestAborted);
            Policies.Authorize(http, "member", "get_one", m.ProjectId);
            return Common.One(http, api, "member", Views.Member(m));
        });
        g.MapPost("/lbaas/pools/{poolId}/members", async (HttpContext http, ApiServices api, string poolId) =>
        {
            var pool = await Pools.FindAsync(api, poolId, http.RequestAborted);
            var b = new Body(await Body.ReadRootAsync(http, "member"), "member", Create);
            var project = Common.ProjectForCreate(http, b);
            Policies.Authorize(http, "member", "post", project);
            Policies.Authorize(http, "member", "post", pool.ProjectId);
            var id = await api.Store.WriteAsync(pool.LoadBalancerId, async db =>
            {
                var lb = await Common.MutableLoadBalancerAsync(db, pool.LoadBalancerId, http.RequestAborted);
                var p = await db.Pools.Include(x => x.HealthMonitor).FirstAsync(x => x.Id == pool.Id, http.RequestAborted);
                Common.RequireActive(p, "Pool");
                await Common.CheckQuotaAsync(db, api, lb.ProjectId!, "member", 1, http.RequestAborted);
                var now = api.Store.Now;
                var m = await BuildAsync(b, p, api, now, http.RequestAborted);
                if (await db.Members.AnyAsync(x => x.PoolId == p.Id && x.IpAddress == m.IpAddress && x.ProtocolPort == m.ProtocolPort, http.RequestAborted))
                {
                    throw ApiException.Conflict($"Duplicate member '{m.IpAddress}' '{m.ProtocolPort}' in pool {p.Id}.");
                }
                db.Members.Add(m);
                Common.MarkUpdating(p, now);
                Common.MarkUpdating(lb, now);
                await MarkListenersAsync(db, p.Id, now, http.RequestAborted);
                await Common.SubmitAsync(api, lb, "create_member", new JsonObject { ["member_id"] = m.Id }, http.RequestAborted);
                return m.Id;
            }, http.RequestAborted);
            return Common.One(http, api, "member", Views.Member(await FindAsync(api, pool.Id, id, http.RequestAborted)), StatusCodes.Status201Created);
        });
        g.MapPut("/lbaas/pools/{poolId}/members/{id}", async (HttpContext http, ApiServices api, string poolId, string id) =>
        {
            var existing = await FindAsync(api, poolId, id, http.RequestAborted);
            Policies.Authorize(http, "member", "put", existing.ProjectId);
            var b = new Body(await Body.ReadRootAsync(http, "member"), "member", s_update);
            var pool = await Pools.FindAsync(api, poolId, http.RequestAborted);
            await api.Store.WriteAsync(pool.LoadBalancerId, async db =>
            {
                var lb = await Common.MutableLoadBalancerAsync(db, pool.LoadBalancerId, http.RequestAborted);
                var p = await db.Pools.FirstAsync(x => x.Id == pool.Id, http.RequestAborted);
                Common.RequireActive(p, "Pool");
                var m = await db.Members.Include(x => x.Tags).FirstAsync(x => x.Id == existing.Id, http.RequestAborted);
                Common.RequireActive(m, "Member");
                Apply(b, m, create: false);
                var now = api.Store.Now;
                Common.MarkUpdating(m, now);
                Common.MarkUpdating(p, now);
                Common.MarkUpdating(lb, now);
                await MarkListenersAsync(db, p.Id, now, http.RequestAborted);
                await Common.SubmitAsync(api, lb, "update_member", new JsonObject { ["member_id"] = m.Id, ["member_updates"] = b.Raw() }, http.RequestAborted);
            }, http.RequestAborted);
            return Common.One(http, api, "member", Views.Member(await FindAsync(api, poolId, id, http.RequestAborted)));
        });
        g.MapDelete("/lbaas/pools/{poolId}/members/{id}", async (HttpContext http, ApiServices api, string poolId, string id) =>
        {
            var existing = await FindAsync(api, poolId, id, http.RequestAborted);
            Policies.Authorize(http, "member", "delete", existing.ProjectId);
            var pool = await Pools.FindAsync(api, poolId, http.RequestAborted);
            await api.Store.WriteAsync(pool.LoadBalancerId, async db =>
            {
                var lb = await Common.MutableLoadBalancerAsync(db, pool.LoadBalancerId, http.RequestAborted);
                var p = await db.Pools.FirstAsync(x => x.Id == pool.Id, http.RequestAborted);
                Common.RequireActive(p, "Pool");
                var m = await db.Members.FirstAsync(x => x.Id == existing.Id, http.RequestAborted);
                Common.RequireActive(m, "Member");
                var now = api.Store.Now;
                m.ProvisioningStatus = ProvisioningStatus.PendingDelete;
                m.UpdatedAt = now;
                Common.MarkUpdating(p, now);
                Common.MarkUpdating(lb, now);
                await MarkListenersAsync(db, p.Id, now, http.RequestAborted);
                await Common.SubmitAsync(api, lb, "delete_member", new JsonObject { ["member_id"] = m.Id }, http.RequestAborted);
            }, http.RequestAborted);
            return Common.NoContent();
        });
        g.MapPut("/lbaas/pools/{poolId}/members", BatchAsync);
    }

    private static async Task<IResult> BatchAsync(HttpContext http, ApiServices api, string poolId)
    {
        var pool = await Pools.FindAsync(api, poolId, http.RequestAborted);
        var root = await Body.ReadJsonAsync(http) as JsonObject ?? throw ApiException.BadRequest("Invalid request body: a JSON object is required.");
        var top = new Body(root, "members", ["members"]);
        var bodies = top.Children("members", "member", Create) ?? throw ApiException.InvalidInput("members", "Unset", "Mandatory field missing.");
        var additive = string.Equals(http.Request.Query["additive_only"].FirstOrDefault(), "true", StringComparison.OrdinalIgnoreCase);
        Policies.Authorize(http, "member", "put", pool.ProjectId);
        await api.Store.WriteAsync(pool.LoadBalancerId, async db =>
        {
            var lb = await Common.MutableLoadBalancerAsync(db, pool.LoadBalancerId, http.RequestAborted);
            var p = await db.Pools.Include(x => x.HealthMonitor).FirstAsync(x => x.Id == pool.Id, http.RequestAborted);
            Common.RequireActive(p, "Pool");
            var existing = await db.Members.Include(x => x.Tags).Where(x => x.PoolId == p.Id).ToListAsync(http.RequestAborted);
            var now = api.Store.Now;
            var created = new List<Member>();
            var updated = new List<Member>();
            var seen = new HashSet<(string, int)>();
            foreach (var b in bodies)
            {
                var address = b.Ip("address", required: true)!;
                var port = b.Int("protocol_port", 1, 65535, required: true)!.Value;
                if (!seen.Add((address, port)))
                {
                    throw ApiException.Conflict($"Duplicate member '{address}' '{port}' in the request.");
                }
                var match = existing.FirstOrDefault(m => m.IpAddress == address && m.ProtocolPort == port);
                if (match is null)
                {
                    created.Add(await BuildAsync(b, p, api, now, http.RequestAborted));
                }
                else
                {
                    Apply(b, match, create: false);
                    updated.Add(match);
                }
            }
            var deleted = additive ? [] : existing.Where(m => !updated.Contains(m)).ToList();
            if (deleted.Count > 0)
            {
                Policies.Authorize(http, "member", "delete", p.ProjectId);
            }
            if (created.Count > 0)
            {
                Policies.Authorize(http, "member", "post", p.ProjectId);
            }
            await Common.CheckQuotaAsync(db, api, lb.ProjectId!, "member", created.Count - deleted.Count, http.RequestAborted);
            if (existing.Any(m => m.ProvisioningStatus != ProvisioningStatus.Active && (updated.Contains(m) || deleted.Contains(m))))
            {
                throw ApiException.Conflict($"Pool {p.Id} has members in a pending state.");
            }
            db.Members.AddRange(created);
            foreach (var m in updated)
            {
                Common.MarkUpdating(m, now);
            }
            foreach (var m in deleted)
            {
                m.ProvisioningStatus = ProvisioningStatus.PendingDelete;
                m.UpdatedAt = now;
            }
            Common.MarkUpdating(p, now);
            Common.MarkUpdating(lb, now);
            await MarkListenersAsync(db, p.Id, now, http.RequestAborted);
            await Common.SubmitAsync(api, lb, "batch_update_members", new JsonObject
            {
                ["old_member_ids"] = new JsonArray(deleted.Select(m => (JsonNode)JsonValue.Create(m.Id)!).ToArray()),
                ["new_member_ids"] = new JsonArray(created.Select(m => (JsonNode)JsonValue.Create(m.Id)!).ToArray()),
                ["updated_members"] = new JsonArray(updated.Select(m => (JsonNode)Views.Member(m)).ToArray()),
            }, http.RequestAborted);
        }, http.RequestAborted);
        return Common.Accepted();
    }

    /// <summary>Marks the listeners that use the pool PENDING_UPDATE, as upstream does for member and HM changes.</summary>
    private static readonly Dictionary<string, Column<Member>> s_columns = BuildColumns();

    private static Dictionary<string, Column<Member>> BuildColumns()
    {
        var c = Columns.Base<Member>();
        c["address"] = Columns.Str<Member>(m => m.IpAddress, nullable: false);
        c["protocol_port"] = Columns.Int<Member>(m => m.ProtocolPort, nullable: false);
        c["weight"] = Columns.Int<Member>(m => m.Weight, nullable: true);
        c["backup"] = Columns.Bool<Member>(m => m.Backup);
        c["subnet_id"] = Columns.Str<Member>(m => m.SubnetId);
        c["monitor_address"] = Columns.Str<Member>(m => m.MonitorAddress);
        c["monitor_port"] = Columns.Int<Member>(m => m.MonitorPort, nullable: true);
        return c;
    }

    public static async Task MarkListenersAsync(Data.OctaviaDbContext db, string poolId, DateTime now, CancellationToken ct)
    {
        foreach (var l in await db.Listeners.Where(l => l.DefaultPoolId == poolId).ToListAsync(ct))
        {
            if (l.ProvisioningStatus == ProvisioningStatus.Active)
            {
                Common.MarkUpdating(l, now);
            }
        }
    }

    public static async Task<Member> FindAsync(ApiServices api, string poolId, string id, CancellationToken ct)
    {
        var pool = Common.PathId(poolId, "Pool");
        var key = Common.PathId(id, "Member");
        await using var db = api.Store.Read();
        return await db.Members.Include(m => m.Tags).FirstOrDefaultAsync(m => m.Id == key && m.PoolId == pool, ct) ?? throw ApiException.NotFound("Member", id);
    }

    /// <summary>A new member of <paramref name="pool"/>, validated.</summary>
    public static async Task<Member> BuildAsync(Body b, Pool pool, ApiServices api, DateTime now, CancellationToken ct)
    {
        var m = new Member
        {
            PoolId = pool.Id,
            IpAddress = b.Ip("address", required: true)!,
            ProtocolPort = b.Int("protocol_port", 1, 65535, required: true)!.Value,
            SubnetId = b.Uuid("subnet_id"),
        };
        if (api.Networking.ReservedIps.Any(r => System.Net.IPAddress.TryParse(r, out var ip) && ip.ToString() == m.IpAddress))
        {
            throw ApiException.BadRequest($"The request could not be processed: member address {m.IpAddress} is reserved.");
        }
        if (m.SubnetId is { } subnetId && await api.Network.GetSubnetAsync(subnetId, ct) is null)
        {
            throw ApiException.NotFound("Subnet", subnetId);
        }
        Common.Stamp(m, pool.ProjectId!, now);
        m.OperatingStatus = pool.HealthMonitor is null ? OperatingStatus.NoMonitor : OperatingStatus.Offline;
        Apply(b, m, create: true);
        return m;
    }

    private static void Apply(Body b, Member m, bool create)
    {
        Common.ApplyBase(m, b, create);
        if (b.Has("weight") || create)
        {
            m.Weight = b.Int("weight", 0, 256) ?? 1;
        }
        if (b.Has("backup") || create)
        {
            m.Backup = b.Bool("backup") ?? false;
        }
        if (b.Has("monitor_address"))
        {
            m.MonitorAddress = b.Ip("monitor_address");
        }
        if (b.Has("monitor_port"))
        {
            m.MonitorPort = b.Int("monitor_port", 1, 65535);
        }
    }
}
