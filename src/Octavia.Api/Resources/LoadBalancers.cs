// Licensed under the Apache License, Version 2.0.

using System.Globalization;
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
using Octavia.Data;

namespace Octavia.Api.Resources;

/// <summary><c>/v2/lbaas/loadbalancers</c>, with graph create, status tree, stats and failover.</summary>
internal static class LoadBalancers
{
    private static readonly string[] s_update = ["name", "description", "admin_state_up", "tags", "vip_qos_policy_id"];
    private static readonly string[] s_create =
    [
        .. s_update, "project_id", "tenant_id", "vip_address", "vip_port_id", "vip_subnet_id", "vip_network_id", "additional_vips",
        "provider", "flavor_id", "availability_zone", "listeners", "pools",
    ];

    public static void Map(RouteGroupBuilder g)
    {
        g.MapGet("/lbaas/loadbalancers", async (HttpContext http, ApiServices api) =>
        {
            var scope = Policies.ListScope(http, "loadbalancer");
            // The version is read before anything is built (see ResponseCache); the key holds everything the
            // body depends on: the scope the policy granted, the query, and the scheme, host and path of the links.
            var version = api.Cache.Version();
            var key = version is null ? "" : ListCacheKey(http, scope);
            if (api.Cache.TryGet(version, key, out var cached))
            {
                return new JsonBytesResult(cached);
            }
            await using var db = api.Store.Read();
            var lbs = Common.Scoped(db.LoadBalancers.AsNoTracking(), scope).Where(l => l.ProvisioningStatus != ProvisioningStatus.Deleted);
            // The page's ids come from the filtered, sorted query; its rows are read by ordinal (LoadBalancerRows).
            var ids = await SqlList.PageIdsAsync(http, api.Settings, lbs, s_columns, Views.LoadBalancerAttributes, http.RequestAborted);
            if (ids is null)
            {
                var all = await lbs.Include(l => l.Vip).ToListAsync(http.RequestAborted);
                await AttachChildrenAsync(db, all, http.RequestAborted);
                return Common.Json(ListQuery.Respond(http, api.Settings, all.Select(Views.LoadBalancer), "loadbalancers", "loadbalancers_links", Views.LoadBalancerAttributes));
            }
            var page = SqlList.WithItems(ids, await LoadBalancerRows.LoadAsync(db, ids.Items, http.RequestAborted));
            if (version is null)
            {
                return SqlList.Write(page, "loadbalancers", "loadbalancers_links", ListQuery.Fields(http, api.Settings), ViewWriters.LoadBalancer);
            }
            var body = SqlList.Render(page, "loadbalancers", "loadbalancers_links", ListQuery.Fields(http, api.Settings), ViewWriters.LoadBalancer);
            api.Cache.Add(version, key, body);
            return new JsonBytesResult(body);
        });
        g.MapGet("/lbaas/loadbalancers/{id}", async (HttpContext http, ApiServices api, string id) =>
        {
            var lb = await FindAsync(api, id, http.RequestAborted);
            Policies.Authorize(http, "loadbalancer", "get_one", lb.ProjectId);
            return Common.One(http, api, "loadbalancer", Views.LoadBalancer(lb));
        });
        g.MapGet("/lbaas/loadbalancers/{id}/stats", async (HttpContext http, ApiServices api, string id) =>
        {
            var lb = await FindAsync(api, id, http.RequestAborted);
            Policies.Authorize(http, "loadbalancer", "get_stats", lb.ProjectId);
            await using var db = api.Store.Read();
            return Common.Json(new JsonObject { ["stats"] = await Stats.ForListenersAsync(db, lb.Listeners.Select(l => l.Id).ToList(), http.RequestAborted) });
        });
        foreach (var path in new[] { "/lbaas/loadbalancers/{id}/status", "/lbaas/loadbalancers/{id}/statuses" })
        {
            g.MapGet(path, async (HttpContext http, ApiServices api, string id) =>
            {
                var lb = await FindAsync(api, id, http.RequestAborted);
                Policies.Authorize(http, "loadbalancer", "get_status", lb.ProjectId);
                await using var db = api.Store.Read();
                return Common.Json(new JsonObject { ["statuses"] = new JsonObject { ["loadbalancer"] = await StatusTreeAsync(db, lb, http.RequestAborted) } });
            });
        }
        g.MapPut("/lbaas/loadbalancers/{id}/failover", async (HttpContext http, ApiServices api, string id) =>
        {
            var existing = await FindAsync(api, id, http.RequestAborted);
            Policies.Authorize(http, "loadbalancer", "put_failover", existing.ProjectId);
            await api.Store.WriteAsync(existing.Id, async db =>
            {
                var lb = await db.LoadBalancers.FirstAsync(l => l.Id == existing.Id, http.RequestAborted);
                if (lb.ProvisioningStatus is not (ProvisioningStatus.Active or ProvisioningStatus.Error))
                {
                    throw ApiException.Conflict($"Invalid state {lb.ProvisioningStatus} of loadbalancer resource {lb.Id}");
                }
                Common.MarkUpdating(lb, api.Store.Now);
                await Common.SubmitAsync(api, lb, "failover_load_balancer", new JsonObject { ["load_balancer_id"] = lb.Id }, http.RequestAborted);
            }, http.RequestAborted);
            return Common.Accepted();
        });
        g.MapPost("/lbaas/loadbalancers", CreateAsync);
        g.MapPut("/lbaas/loadbalancers/{id}", async (HttpContext http, ApiServices api, string id) =>
        {
            var existing = await FindAsync(api, id, http.RequestAborted);
            Policies.Authorize(http, "loadbalancer", "put", existing.ProjectId);
            var b = new Body(await Body.ReadRootAsync(http, "loadbalancer"), "loadbalancer", s_update);
            string? qos = null;
            if (b.Has("vip_qos_policy_id") && b.Uuid("vip_qos_policy_id") is { } q)
            {
                qos = await api.Network.GetQosPolicyAsync(q, http.RequestAborted) is null ? throw ApiException.BadRequest($"Invalid vip_qos_policy_id: QoS policy {q} not found.") : q;
            }
            await api.Store.WriteAsync(existing.Id, async db =>
            {
                var lb = await db.LoadBalancers.Include(l => l.Tags).Include(l => l.Vip).FirstAsync(l => l.Id == existing.Id, http.RequestAborted);
                if (lb.ProvisioningStatus != ProvisioningStatus.Active)
                {
                    throw ApiException.Immutable("Load Balancer", lb.Id);
                }
                Common.ApplyBase(lb, b, create: false, d => lb.Description = d);
                if (b.Has("vip_qos_policy_id") && lb.Vip is not null)
                {
                    lb.Vip.QosPolicyId = qos;
                }
                Common.MarkUpdating(lb, api.Store.Now);
                await Common.SubmitAsync(api, lb, "update_load_balancer", new JsonObject { ["load_balancer_id"] = lb.Id, ["load_balancer_updates"] = b.Raw() }, http.RequestAborted);
            }, http.RequestAborted);
            return Common.One(http, api, "loadbalancer", Views.LoadBalancer(await FindAsync(api, id, http.RequestAborted)));
        });
        g.MapDelete("/lbaas/loadbalancers/{id}", async (HttpContext http, ApiServices api, string id) =>
        {
            var existing = await FindAsync(api, id, http.RequestAborted);
            Policies.Authorize(http, "loadbalancer", "delete", existing.ProjectId);
            var cascade = string.Equals(http.Request.Query["cascade"].FirstOrDefault(), "true", StringComparison.OrdinalIgnoreCase);
            await api.Store.WriteAsync(existing.Id, async db =>
            {
                var lb = await db.LoadBalancers.Include(l => l.Listeners).ThenInclude(l => l.L7Policies).ThenInclude(p => p.L7Rules)
                    .Include(l => l.Pools).ThenInclude(p => p.Members).Include(l => l.Pools).ThenInclude(p => p.HealthMonitor)
                    .AsSplitQuery().FirstAsync(l => l.Id == existing.Id, http.RequestAborted);
                if (lb.ProvisioningStatus is not (ProvisioningStatus.Active or ProvisioningStatus.Error))
                {
                    throw ApiException.Immutable("Load Balancer", lb.Id);
                }
                if (!cascade && (lb.Listeners.Count > 0 || lb.Pools.Count > 0))
                {
                    throw ApiException.BadRequest($"Cannot delete Load Balancer {lb.Id} - it has children");
                }
                var now = api.Store.Now;
                IEnumerable<LbaasObject> all = [lb, .. lb.Listeners, .. lb.Listeners.SelectMany(l => l.L7Policies), .. lb.Listeners.SelectMany(l => l.L7Policies).SelectMany(p => p.L7Rules),
                    .. lb.Pools, .. lb.Pools.SelectMany(p => p.Members), .. lb.Pools.Where(p => p.HealthMonitor is not null).Select(p => p.HealthMonitor!)];
                foreach (var o in all)
                {
                    o.ProvisioningStatus = ProvisioningStatus.PendingDelete;
                    o.UpdatedAt = now;
                }
                await Common.SubmitAsync(api, lb, "delete_load_balancer", new JsonObject { ["load_balancer_id"] = lb.Id, ["cascade"] = cascade }, http.RequestAborted);
            }, http.RequestAborted);
            return Common.NoContent();
        });
    }

    private static readonly Dictionary<string, Column<LoadBalancer>> s_columns = BuildColumns();

    /// <summary>The response cache key of a load balancer list: <c>null</c> scope (every project) is kept apart from any project.</summary>
    internal static string ListCacheKey(HttpContext http, string? scope)
    {
        var r = http.Request;
        return string.Concat("GET loadbalancers\n", scope is null ? "*" : string.Create(CultureInfo.InvariantCulture, $"p{scope.Length}:{scope}"), "\n", r.Scheme, "://", r.Host.Value, r.PathBase.Value, r.Path.Value, r.QueryString.Value);
    }

    private static Dictionary<string, Column<LoadBalancer>> BuildColumns()
    {
        var c = Columns.Base<LoadBalancer>();
        c["description"] = Columns.Str<LoadBalancer>(l => l.Description ?? "", nullable: false);
        c["vip_address"] = Columns.Str<LoadBalancer>(l => l.Vip!.IpAddress);
        c["vip_port_id"] = Columns.Str<LoadBalancer>(l => l.Vip!.PortId);
        c["vip_subnet_id"] = Columns.Str<LoadBalancer>(l => l.Vip!.SubnetId);
        c["vip_network_id"] = Columns.Str<LoadBalancer>(l => l.Vip!.NetworkId);
        c["vip_qos_policy_id"] = Columns.Str<LoadBalancer>(l => l.Vip!.QosPolicyId);
        c["provider"] = Columns.Str<LoadBalancer>(l => l.Provider ?? "octavia", nullable: false);
        c["flavor_id"] = Columns.Str<LoadBalancer>(l => l.FlavorId);
        c["availability_zone"] = Columns.Str<LoadBalancer>(l => l.AvailabilityZone);
        c["listeners"] = Columns.Has<LoadBalancer>(id => l => l.Listeners.Any(x => x.Id == id));
        c["pools"] = Columns.Has<LoadBalancer>(id => l => l.Pools.Any(x => x.Id == id));
        return c;
    }

    /// <summary>
    /// Fills in the listener and pool ids, tags and additional VIPs of <paramref name="lbs"/> with one UNION ALL
    /// of (kind, owner, value, extra) rows, so a page costs two queries however many children it has.
    /// </summary>
    internal static async Task AttachChildrenAsync(OctaviaDbContext db, List<LoadBalancer> lbs, CancellationToken ct)
    {
        if (lbs.Count == 0)
        {
            return;
        }
        var ids = lbs.Select(l => l.Id).ToList();
        var listenerRows = db.Listeners.Where(l => ids.Contains(l.LoadBalancerId!)).Select(l => new ChildRow { Kind = 0, Owner = l.LoadBalancerId, Value = l.Id, Extra = null });
        var poolRows = db.Pools.Where(p => ids.Contains(p.LoadBalancerId!)).Select(p => new ChildRow { Kind = 1, Owner = p.LoadBalancerId, Value = p.Id, Extra = null });
        var tagRows = db.Tags.Where(t => ids.Contains(t.ResourceId)).Select(t => new ChildRow { Kind = 2, Owner = t.ResourceId, Value = t.Value, Extra = null });
        var vipRows = db.AdditionalVips.Where(v => ids.Contains(v.LoadBalancerId)).Select(v => new ChildRow { Kind = 3, Owner = v.LoadBalancerId, Value = v.SubnetId, Extra = v.IpAddress });
        var children = await listenerRows.Concat(poolRows).Concat(tagRows).Concat(vipRows).AsNoTracking().ToListAsync(ct);
        var byId = lbs.ToDictionary(l => l.Id, StringComparer.Ordinal);
        foreach (var row in children)
        {
            if (row.Owner is null || !byId.TryGetValue(row.Owner, out var lb))
            {
                continue;
            }
            switch (row.Kind)
            {
                case 0:
                    lb.Listeners.Add(new Listener { Id = row.Value });
                    break;
                case 1:
                    lb.Pools.Add(new Pool { Id = row.Value });
                    break;
                case 2:
                    lb.Tags.Add(new Tag { ResourceId = lb.Id, Value = row.Value });
                    break;
                default:
                    lb.AdditionalVips.Add(new AdditionalVip { LoadBalancerId = lb.Id, SubnetId = row.Value, IpAddress = row.Extra });
                    break;
            }
        }
    }

    public static async Task<LoadBalancer> FindAsync(ApiServices api, string id, CancellationToken ct)
    {
        var key = Common.PathId(id, "Load Balancer");
        await using var db = api.Store.Read();
        // Two queries (the row with its VIP, then child ids, tags and additional VIPs) instead of one per collection:
        // every show, and every poll for ACTIVE, comes through here.
        var lb = await db.LoadBalancers.AsNoTracking().Include(l => l.Vip).FirstOrDefaultAsync(l => l.Id == key, ct);
        if (lb is null || lb.ProvisioningStatus == ProvisioningStatus.Deleted)
        {
            throw ApiException.NotFound("Load Balancer", id);
        }
        await AttachChildrenAsync(db, [lb], ct);
        return lb;
    }

    private static async Task<IResult> CreateAsync(HttpContext http, ApiServices api)
    {
        var b = new Body(await Body.ReadRootAsync(http, "loadbalancer"), "loadbalancer", s_create);
        var project = Common.ProjectForCreate(http, b);
        Policies.Authorize(http, "loadbalancer", "post", project);
        var ct = http.RequestAborted;
        var lb = new LoadBalancer { Id = Ids.New() };
        Common.ApplyBase(lb, b, create: true, d => lb.Description = d);
        Common.Stamp(lb, project, api.Store.Now);
        var vip = new Vip
        {
            LoadBalancerId = lb.Id,
            IpAddress = b.Ip("vip_address"),
            PortId = b.Uuid("vip_port_id"),
            SubnetId = b.Uuid("vip_subnet_id"),
            NetworkId = b.Uuid("vip_network_id"),
            QosPolicyId = b.Uuid("vip_qos_policy_id"),
        };
        await ValidateVipAsync(api, vip, ct);
        var additional = b.Children("additional_vips", "additional_vip", ["subnet_id", "ip_address"]) ?? [];
        foreach (var a in additional)
        {
            var av = new AdditionalVip { LoadBalancerId = lb.Id, SubnetId = a.Uuid("subnet_id", required: true)!, IpAddress = a.Ip("ip_address") };
            if (lb.AdditionalVips.Any(x => x.SubnetId == av.SubnetId) || av.SubnetId == vip.SubnetId)
            {
                throw ApiException.BadRequest($"Duplicate VIP subnet(s) specified. Only one IP can be bound per subnet: {av.SubnetId}");
            }
            var subnet = await api.Network.GetSubnetAsync(av.SubnetId, ct) ?? throw ApiException.BadRequest($"Invalid additional_vips subnet_id: subnet {av.SubnetId} not found.");
            if (vip.NetworkId is not null && subnet.NetworkId != vip.NetworkId)
            {
                throw ApiException.BadRequest("Validation failure: All VIP subnets must belong to the same network.");
            }
            av.NetworkId = subnet.NetworkId;
            lb.AdditionalVips.Add(av);
        }
        var providerName = b.Str("provider", 64);
        var flavorId = b.Uuid("flavor_id");
        var azName = b.Str("availability_zone");
        var listenerBodies = b.Children("listeners", "listener", Listeners.GraphCreate) ?? [];
        var poolBodies = b.Children("pools", "pool", [.. Pools.GraphCreate]) ?? [];

        await api.Store.WriteAsync(null, async db =>
        {
            if (flavorId is not null)
            {
                var flavor = await db.Flavors.FirstOrDefaultAsync(f => f.Id == flavorId, ct) ?? throw ApiException.BadRequest($"Validation failure: Invalid flavor_id: {flavorId}.");
                if (!flavor.Enabled)
                {
                    throw ApiException.BadRequest("The selected flavor is disabled: " + flavorId);
                }
                var profile = await db.FlavorProfiles.FirstAsync(p => p.Id == flavor.FlavorProfileId, ct);
                if (providerName is not null && providerName != profile.ProviderName)
                {
                    throw ApiException.BadRequest($"Flavor '{flavorId}' is not compatible with provider '{providerName}'");
                }
                providerName ??= profile.ProviderName;
                lb.FlavorId = flavorId;
                if (System.Text.Json.Nodes.JsonNode.Parse(profile.FlavorData) is JsonObject data && data["loadbalancer_topology"] is { } topology)
                {
                    lb.Topology = topology.ToString();
                }
            }
            if (azName is not null)
            {
                var az = await db.AvailabilityZones.FirstOrDefaultAsync(z => z.Name == azName, ct) ?? throw ApiException.BadRequest($"Validation failure: Invalid availability zone: {azName}.");
                if (!az.Enabled)
                {
                    throw ApiException.BadRequest("The selected availability_zone is disabled: " + azName);
                }
                lb.AvailabilityZone = azName;
            }
            lb.Provider = providerName ?? api.Providers.Default;
            _ = api.Providers.Get(lb.Provider);
            lb.Topology ??= string.IsNullOrEmpty(api.Worker.LoadbalancerTopology) ? Topologies.Single : api.Worker.LoadbalancerTopology;
            await Common.CheckQuotaAsync(db, api, project, "loadbalancer", 1, ct);
            lb.Vip = await api.Network.AllocateVipAsync(new LoadBalancer { Id = lb.Id, ProjectId = project, Vip = vip }, ct);
            lb.Vip.LoadBalancerId = lb.Id;
            var now = lb.CreatedAt!.Value;
            BuildGraph(lb, listenerBodies, poolBodies, api, now);
            await GraphCreate.CheckTlsReferencesAsync(TlsReferences.Manager(http), lb, ct);
            await Common.CheckQuotaAsync(db, api, project, "listener", lb.Listeners.Count, ct);
            await Common.CheckQuotaAsync(db, api, project, "pool", lb.Pools.Count, ct);
            await Common.CheckQuotaAsync(db, api, project, "member", lb.Pools.Sum(p => p.Members.Count), ct);
            await Common.CheckQuotaAsync(db, api, project, "healthmonitor", lb.Pools.Count(p => p.HealthMonitor is not null), ct);
            await Common.CheckQuotaAsync(db, api, project, "l7policy", lb.Listeners.Sum(l => l.L7Policies.Count), ct);
            await Common.CheckQuotaAsync(db, api, project, "l7rule", lb.Listeners.Sum(l => l.L7Policies.Sum(p => p.L7Rules.Count)), ct);
            db.LoadBalancers.Add(lb);
            await Common.SubmitAsync(api, lb, "create_load_balancer", new JsonObject
            {
                ["loadbalancer_id"] = lb.Id,
                ["flavor"] = lb.FlavorId is null ? null : new JsonObject { ["id"] = lb.FlavorId },
                ["availability_zone"] = lb.AvailabilityZone is null ? null : new JsonObject { ["name"] = lb.AvailabilityZone },
            }, ct);
        }, ct);
        var created = await FindAsync(api, lb.Id, ct);
        var view = Views.LoadBalancer(created);
        if (listenerBodies.Count > 0 || poolBodies.Count > 0)
        {
            await using var db = api.Store.Read();
            var listeners = await Common.ListenerView(db).Where(l => l.LoadBalancerId == lb.Id).ToListAsync(ct);
            var pools = await Common.PoolView(db).Where(p => p.LoadBalancerId == lb.Id).ToListAsync(ct);
            var users = await Common.PoolListenersAsync(db, pools.Select(p => p.Id).ToList(), ct);
            var policies = await Common.L7PolicyView(db).Where(p => p.Listener!.LoadBalancerId == lb.Id).ToListAsync(ct);
            view["listeners"] = new JsonArray(listeners.Select(l => (JsonNode)GraphCreate.FullListener(l, [.. policies.Where(p => p.ListenerId == l.Id)])).ToArray());
            view["pools"] = new JsonArray(pools.Select(p => (JsonNode)Views.Pool(p, users[p.Id])).ToArray());
        }
        return Common.Json(new JsonObject { ["loadbalancer"] = view }, StatusCodes.Status201Created);
    }

    private static async Task ValidateVipAsync(ApiServices api, Vip vip, CancellationToken ct)
    {
        if (vip.PortId is null && vip.SubnetId is null && vip.NetworkId is null)
        {
            throw ApiException.BadRequest("Validation failure: VIP must contain one of: vip_port_id, vip_network_id, vip_subnet_id.");
        }
        if (vip.PortId is not null && !api.Networking.AllowVipPortId)
        {
            throw ApiException.BadRequest("The selected option is not allowed in this deployment: vip_port_id");
        }
        if (vip.SubnetId is not null && !api.Networking.AllowVipSubnetId)
        {
            throw ApiException.BadRequest("The selected option is not allowed in this deployment: vip_subnet_id");
        }
        if (vip.NetworkId is not null && !api.Networking.AllowVipNetworkId)
        {
            throw ApiException.BadRequest("The selected option is not allowed in this deployment: vip_network_id");
        }
        if (vip.PortId is { } portId)
        {
            var port = await api.Network.GetPortAsync(portId, ct) ?? throw ApiException.BadRequest($"Invalid vip_port_id: port {portId} not found.");
            if (vip.NetworkId is not null && vip.NetworkId != port.NetworkId)
            {
                throw ApiException.BadRequest("Validation failure: vip_network_id does not match the network of vip_port_id.");
            }
            vip.NetworkId = port.NetworkId;
            vip.QosPolicyId ??= port.QosPolicyId;
        }
        if (vip.SubnetId is { } subnetId)
        {
            var subnet = await api.Network.GetSubnetAsync(subnetId, ct) ?? throw ApiException.BadRequest($"Invalid vip_subnet_id: subnet {subnetId} not found.");
            if (vip.NetworkId is not null && vip.NetworkId != subnet.NetworkId)
            {
                throw ApiException.BadRequest("Validation failure: vip_subnet_id does not belong to vip_network_id.");
            }
            vip.NetworkId = subnet.NetworkId;
        }
        else if (vip.NetworkId is { } networkId && await api.Network.GetNetworkAsync(networkId, ct) is null)
        {
            throw ApiException.BadRequest($"Invalid vip_network_id: network {networkId} not found.");
        }
        if (api.Networking.ValidVipNetworks is { Count: > 0 } valid && vip.NetworkId is not null && !valid.Contains(vip.NetworkId))
        {
            throw ApiException.BadRequest($"Validation failure: Supplied network does not allow VIPs: {vip.NetworkId}");
        }
        if (vip.QosPolicyId is { } qos && await api.Network.GetQosPolicyAsync(qos, ct) is null)
        {
            throw ApiException.BadRequest($"Invalid vip_qos_policy_id: QoS policy {qos} not found.");
        }
    }

    private static void BuildGraph(LoadBalancer lb, List<Body> listenerBodies, List<Body> poolBodies, ApiServices api, DateTime now)
    {
        var named = new Dictionary<string, Pool>(StringComparer.Ordinal);
        Pool BuildPool(Body pb)
        {
            var pool = Pools.Build(pb, lb, api, now);
            foreach (var mb in pb.Children("members", "member", Members.GraphCreate) ?? [])
            {
                var m = Members.BuildAsync(mb, pool, api, now, CancellationToken.None).GetAwaiter().GetResult();
                if (pool.Members.Any(x => x.IpAddress == m.IpAddress && x.ProtocolPort == m.ProtocolPort))
                {
                    throw ApiException.Conflict($"Duplicate member '{m.IpAddress}' '{m.ProtocolPort}' in pool {pool.Id}.");
                }
                pool.Members.Add(m);
            }
            if (pb.Child("healthmonitor", "healthmonitor", HealthMonitors.GraphCreate) is { } hb)
            {
                pool.HealthMonitor = HealthMonitors.Build(hb, pool, api, now);
            }
            lb.Pools.Add(pool);
            if (pool.Name is { Length: > 0 } name && !named.TryAdd(name, pool))
            {
                throw ApiException.BadRequest("Validation failure: Pool names must be unique when creating a fully populated loadbalancer.");
            }
            return pool;
        }
        foreach (var pb in poolBodies)
        {
            BuildPool(pb);
        }
        // As upstream, full default_pool and redirect_pool definitions are created before any listener, so a
        // name-only reference may point at a pool defined anywhere in the graph.
        var plans = new List<(Body Body, Pool? DefaultPool, string? DefaultRef, List<Body> Policies)>();
        var referenced = new List<string>();
        foreach (var lbody in listenerBodies)
        {
            Pool? defaultPool = null;
            string? defaultRef = null;
            if (lbody.Child("default_pool", "pool", Pools.GraphCreate) is { } dp)
            {
                if (GraphCreate.IsReference(dp))
                {
                    defaultRef = dp.Str("name")!;
                    referenced.Add(defaultRef);
                }
                else
                {
                    defaultPool = BuildPool(dp);
                }
            }
            var policies = GraphCreate.PolicyBodies(lbody);
            foreach (var rp in policies.Select(GraphCreate.RedirectPoolBody).OfType<Body>())
            {
                if (GraphCreate.IsReference(rp))
                {
                    referenced.Add(rp.Str("name")!);
                }
                else
                {
                    BuildPool(rp);
                }
            }
            plans.Add((lbody, defaultPool, defaultRef, policies));
        }
        foreach (var name in referenced.Where(n => !named.ContainsKey(n)))
        {
            throw ApiException.BadRequest($"Validation failure: Pool '{name}' was referenced but no full definition was found.");
        }
        foreach (var (lbody, defaultPool, defaultRef, policies) in plans)
        {
            var listener = Listeners.Build(lbody, lb, api, now, graph: true);
            Listeners.CheckCidrsMatchVip(listener, lb.Vip?.IpAddress);
            if (lb.Listeners.Any(x => x.ProtocolPort == listener.ProtocolPort && (x.Protocol is Protocols.Udp or Protocols.Sctp ? x.Protocol : "TCP") == (listener.Protocol is Protocols.Udp or Protocols.Sctp ? listener.Protocol : "TCP")))
            {
                throw ApiException.Conflict($"Another Listener on this Load Balancer is already using protocol_port {listener.ProtocolPort}");
            }
            if ((defaultPool ?? (defaultRef is null ? null : named[defaultRef])) is { } pool)
            {
                if (listener.Protocol == Protocols.Prometheus)
                {
                    throw ApiException.BadRequest($"Protocol {Protocols.Prometheus} listeners cannot have child objects.");
                }
                Listeners.CheckProtocols(listener.Protocol, pool.Protocol);
                listener.DefaultPoolId = pool.Id;
            }
            GraphCreate.AddL7Policies(lb, listener, policies, named, now);
            lb.Listeners.Add(listener);
        }
    }

    private static async Task<JsonObject> StatusTreeAsync(OctaviaDbContext db, LoadBalancer lb, CancellationToken ct)
    {
        var listeners = await db.Listeners.Where(l => l.LoadBalancerId == lb.Id).ToListAsync(ct);
        var pools = await db.Pools.Include(p => p.Members).Include(p => p.HealthMonitor).Where(p => p.LoadBalancerId == lb.Id).AsSplitQuery().ToListAsync(ct);
        var redirects = await db.L7Policies.Where(p => p.RedirectPoolId != null && p.Listener!.LoadBalancerId == lb.Id).Select(p => new { p.ListenerId, p.RedirectPoolId }).ToListAsync(ct);
        JsonObject Status(LbaasObject o) => new()
        {
            ["id"] = o.Id,
            ["name"] = o.Name ?? "",
            ["operating_status"] = o.OperatingStatus,
            ["provisioning_status"] = o.ProvisioningStatus,
        };
        var tree = Status(lb);
        tree["listeners"] = new JsonArray(listeners.Select(l =>
        {
            var ln = Status(l);
            var poolIds = redirects.Where(r => r.ListenerId == l.Id).Select(r => r.RedirectPoolId!).Prepend(l.DefaultPoolId).Where(x => x is not null).Distinct();
            ln["pools"] = new JsonArray(pools.Where(p => poolIds.Contains(p.Id)).Select(p =>
            {
                var pn = Status(p);
                if (p.HealthMonitor is { } h)
                {
                    var hn = Status(h);
                    hn["type"] = h.Type;
                    pn["health_monitor"] = hn;
                }
                pn["members"] = new JsonArray(p.Members.Select(m =>
                {
                    var mn = Status(m);
                    mn["address"] = m.IpAddress;
                    mn["protocol_port"] = m.ProtocolPort;
                    return (JsonNode)mn;
                }).ToArray());
                return (JsonNode)pn;
            }).ToArray());
            return (JsonNode)ln;
        }).ToArray());
        return tree;
    }
}

/// <summary>One row of the list endpoint's child query.</summary>
internal sealed class ChildRow
{
    public int Kind { get; init; }
    public string? Owner { get; init; }
    public string Value { get; init; } = "";
    public string? Extra { get; init; }
}
