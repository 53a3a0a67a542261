// Licensed under the Apache License, Version 2.0.

using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Octavia.Controller.Worker.Engine;
using Octavia.Controller.Worker.Tasks;
using Octavia.Core.Model;
using Octavia.Data;

namespace Octavia.Controller.Worker.Flows;

/// <summary>A cast that cannot be turned into a flow (unknown method, missing id, missing object).</summary>
public sealed class FlowPreparationException(string message) : Exception(message)
{
}

/// <summary>
/// Turns a worker cast into a flow: <see cref="PrepareAsync"/> resolves everything the flow's shape
/// depends on (ids, topology, the amphorae to replace) into the job's store once, and
/// <see cref="Build"/> composes the same flow from that store every time the job is (re)started.
/// Flow shapes follow upstream's <c>controller/worker/v2/flows</c>.
/// </summary>
public sealed class FlowCatalog
{
    /// <summary>Every method the worker accepts: upstream's endpoints plus ours.</summary>
    public static readonly IReadOnlyList<string> Methods =
    [
        "create_load_balancer", "update_load_balancer", "delete_load_balancer", "failover_load_balancer",
        "failover_amphora", "update_amphora_agent_config", "delete_amphora",
        "create_listener", "update_listener", "delete_listener",
        "create_pool", "update_pool", "delete_pool",
        "create_health_monitor", "update_health_monitor", "delete_health_monitor",
        "create_member", "update_member", "delete_member", "batch_update_members",
        "create_l7policy", "update_l7policy", "delete_l7policy",
        "create_l7rule", "update_l7rule", "delete_l7rule",
        "rotate_amphora_certificate", "create_spare_amphora",
    ];

    private const string Graph = "graph";
    private const string Role = "role";
    private const string NewAmphorae = "new_amphorae";
    private const string AntiAffinity = "anti_affinity";

    private readonly Func<WorkerDbContext> _db;
    private readonly WorkerSettings _settings;
    private readonly TimeProvider _time;

    public FlowCatalog(Func<WorkerDbContext> db, WorkerSettings settings, TimeProvider time)
    {
        _db = db;
        _settings = settings;
        _time = time;
    }

    /// <summary>How many times (one second apart) to look for an object the API has just written.</summary>
    public int VisibilityRetries { get; init; } = 10;

    /// <summary>
    /// The store a new job starts with, or null when there is nothing to do (the object is already gone).
    /// </summary>
    /// <exception cref="FlowPreparationException">The cast cannot be run.</exception>
    public async Task<JsonObject?> PrepareAsync(string method, JsonObject args, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (!Methods.Contains(method))
        {
            throw new FlowPreparationException($"unknown worker method '{method}'");
        }
        var store = new JsonObject();
        var verb = method.Split('_')[0];
        var kind = KindOf(method);
        switch (method)
        {
            case "create_load_balancer":
            case "update_load_balancer":
            case "delete_load_balancer":
            case "failover_load_balancer":
                {
                    var source = method switch
                    {
                        "update_load_balancer" => args["original_load_balancer"] ?? args["load_balancer"],
                        "failover_load_balancer" => args,
                        _ => args["loadbalancer"] ?? args["load_balancer"],
                    };
                    // Our API casts the ids flat ({"loadbalancer_id": ...}), as for the other objects.
                    source ??= args;
                    var id = IdOf(source, "loadbalancer_id", "load_balancer_id", "id")
                        ?? throw new FlowPreparationException($"{method}: no load balancer id in the cast");
                    var lb = await WaitForAsync(db => db.LoadBalancers.AsNoTracking().Include(l => l.Listeners).Include(l => l.Amphorae).SingleOrDefaultAsync(l => l.Id == id, cancellationToken), verb != "delete", cancellationToken).ConfigureAwait(false);
                    if (lb is null || lb.ProvisioningStatus == ProvisioningStatus.Deleted)
                    {
                        return verb == "delete" ? null : throw new FlowPreparationException($"{method}: load balancer {id} not found");
                    }
                    store[StoreKeys.LoadBalancerId] = id;
                    store[StoreKeys.ObjectIds] = new JsonArray(id);
                    if (method is "create_load_balancer" or "failover_load_balancer")
                    {
                        var flavor = (args["flavor"] as JsonObject)?.DeepClone() as JsonObject ?? await FlavorOfAsync(lb.FlavorId, cancellationToken).ConfigureAwait(false);
                        var topology = flavor?["loadbalancer_topology"]?.GetValue<string>()
                            ?? (method == "failover_load_balancer" ? lb.Topology : null)
                            ?? _settings.ControllerWorker.LoadbalancerTopology;
                        if (!Topologies.All.Contains(topology))
                        {
                            throw new FlowPreparationException($"{method}: unknown load balancer topology '{topology}'");
                        }
                        store[StoreKeys.Topology] = topology;
                        store[StoreKeys.Flavor] = flavor;
                        store[AntiAffinity] = topology == Topologies.ActiveStandby && _settings.Nova.EnableAntiAffinity;
                        store[Graph] = lb.Listeners.Count > 0;
                    }
                    if (method == "failover_load_balancer")
                    {
                        PlanLoadBalancerFailover(store, lb.Amphorae.Where(a => a.Status is not (ProvisioningStatus.Deleted or ProvisioningStatus.PendingDelete)).ToList());
                    }
                    if (method == "update_load_balancer")
                    {
                        store[StoreKeys.UpdateDict] = (args["load_balancer_updates"] ?? args["loadbalancer_updates"])?.DeepClone();
                    }
                    if (method == "delete_load_balancer")
                    {
                        store[StoreKeys.Cascade] = args["cascade"]?.GetValue<bool>() ?? false;
                    }
                    return store;
                }

            case "failover_amphora":
            case "update_amphora_agent_config":
            case "delete_amphora":
            case "rotate_amphora_certificate":
                {
                    var id = IdOf(args, "amphora_id", "id") ?? throw new FlowPreparationException($"{method}: no amphora_id in the cast");
                    var amp = await WaitForAsync(db => db.Amphorae.AsNoTracking().SingleOrDefaultAsync(a => a.Id == id, cancellationToken), true, cancellationToken).ConfigureAwait(false);
                    if (amp is null || amp.Status == ProvisioningStatus.Deleted)
                    {
                        return method is "delete_amphora" or "failover_amphora" ? null : throw new FlowPreparationException($"{method}: amphora {id} not found");
                    }
                    store[StoreKeys.AmphoraId] = id;
                    if (amp.LoadBalancerId is { } lbId)
                    {
                        store[StoreKeys.LoadBalancerId] = lbId;
                        await using var db = _db();
                        var topology = await db.LoadBalancers.Where(l => l.Id == lbId).Select(l => l.Topology).SingleOrDefaultAsync(cancellationToken).ConfigureAwait(false);
                        store[StoreKeys.Topology] = topology ?? _settings.ControllerWorker.LoadbalancerTopology;
                        store[Role] = amp.Role ?? AmphoraRoles.Standalone;
                    }
                    return store;
                }

            case "create_spare_amphora":
                store[StoreKeys.Topology] = _settings.ControllerWorker.LoadbalancerTopology;
                return store;

            case "batch_update_members":
                {
                    var oldIds = IdsOf(args["old_members"], "member_id", "id");
                    var newIds = IdsOf(args["new_members"], "member_id", "id");
                    var updated = args["updated_members"] as JsonArray ?? [];
                    var updatedIds = IdsOf(updated, "member_id", "id");
                    var all = oldIds.Concat(newIds).Concat(updatedIds).Distinct().ToList();
                    if (all.Count == 0)
                    {
                        return null;
                    }
                    string? lbId = null;
                    foreach (var id in all)
                    {
                        await using var db = _db();
                        lbId ??= await WorkerDb.LoadBalancerOfAsync(db, ObjectKind.Member, id, cancellationToken).ConfigureAwait(false);
                    }
                    lbId ??= await WaitForAsync(db => WorkerDb.LoadBalancerOfAsync(db, ObjectKind.Member, all[0], cancellationToken), true, cancellationToken).ConfigureAwait(false);
                    if (lbId is null)
                    {
                        throw new FlowPreparationException($"{method}: none of the members exists");
                    }
                    store[StoreKeys.LoadBalancerId] = lbId;
                    store[StoreKeys.ObjectIds] = new JsonArray(all.Select(i => (JsonNode)i).ToArray());
                    store[StoreKeys.DeletedIds] = new JsonArray(oldIds.Select(i => (JsonNode)i).ToArray());
                    store[StoreKeys.NewMemberIds] = new JsonArray(newIds.Select(i => (JsonNode)i).ToArray());
                    store[StoreKeys.UpdatedMembers] = updated.DeepClone();
                    return store;
                }

            default:
                {
                    var noun = method[(verb.Length + 1)..];
                    var source = verb switch
                    {
                        "update" => args["original_" + noun],
                        _ => args[noun],
                    } ?? args;
                    var k = kind!.Value;
                    var id = IdOf(source, StoreKeys.IdKey(k), k == ObjectKind.HealthMonitor ? "health_monitor_id" : StoreKeys.IdKey(k), "id")
                        ?? throw new FlowPreparationException($"{method}: no {StoreKeys.IdKey(k)} in the cast");
                    var lbId = await WaitForAsync(db => WorkerDb.LoadBalancerOfAsync(db, k, id, cancellationToken), verb != "delete", cancellationToken).ConfigureAwait(false);
                    if (lbId is null)
                    {
                        return verb == "delete" ? null : throw new FlowPreparationException($"{method}: {noun} {id} not found");
                    }
                    store[StoreKeys.LoadBalancerId] = lbId;
                    store[StoreKeys.IdKey(k)] = id;
                    store[StoreKeys.ObjectIds] = new JsonArray(id);
                    if (verb == "update")
                    {
                        store[StoreKeys.UpdateDict] = args[noun + "_updates"]?.DeepClone();
                    }
                    if (verb == "delete")
                    {
                        store[StoreKeys.DeletedIds] = new JsonArray(id);
                    }
                    return store;
                }
        }
    }

    /// <summary>Composes the flow for a job from its store (the same store always gives the same flow).</summary>
    public static FlowNode Build(string method, JsonObject store)
    {
        ArgumentNullException.ThrowIfNull(store);
        var verb = method.Split('_')[0];
        var topology = store[StoreKeys.Topology]?.GetValue<string>() ?? Topologies.Single;
        var activeStandby = topology == Topologies.ActiveStandby;
        switch (method)
        {
            case "create_load_balancer":
                {
                    var graph = store[Graph]?.GetValue<bool>() ?? false;
                    return Flow.Linear(method,
                        new LoadBalancerToErrorOnRevert(),
                        new AllocateVip(),
                        new UpdateLoadBalancerTopologyInDb(),
                        store[AntiAffinity]?.GetValue<bool>() == true ? new ServerGroupCreate() : null,
                        AmphoraeForTopology(topology, useSpare: true, "amp"),
                        activeStandby ? new object[] { new CreateVrrpGroupForLb(), new AmphoraeVrrpUpdate() } : null,
                        graph ? new object[] { new HandleMemberNetworks(), new AmphoraeUpdate() } : null,
                        new MarkActiveInDb(ObjectKind.LoadBalancer, markSubobjects: graph));
                }
            case "update_load_balancer":
                return Flow.Linear(method,
                    new LoadBalancerToErrorOnRevert(),
                    new ApplyUpdatesInDb(ObjectKind.LoadBalancer),
                    new AmphoraeUpdate(),
                    new MarkActiveInDb(ObjectKind.LoadBalancer));
            case "delete_load_balancer":
                return Flow.Linear(method,
                    new LoadBalancerToErrorOnRevert(),
                    new ServerGroupDelete(),
                    new UnplugVipAll(),
                    new DeallocateVip(),
                    new DeleteLoadBalancerAmphorae(),
                    new MarkLoadBalancerDeletedInDb());
            case "failover_load_balancer":
                {
                    var plan = store["failover_plan"] as JsonArray ?? [];
                    var steps = new List<object?>();
                    var n = 0;
                    foreach (var step in plan.OfType<JsonObject>())
                    {
                        var oldKey = step["old_key"]?.GetValue<string>();
                        var role = step["role"]?.GetValue<string>();
                        // ACTIVE_STANDBY: the new amphora serves and joins VRRP before the old one goes, so
                        // one configured amphora always holds the VIP (upstream rebuilds one at a time too).
                        steps.Add(Flow.Linear($"replace-{n}",
                            oldKey is null ? null : new MarkAmphoraPendingDeleteInDb(oldKey),
                            role is null ? null : AmphoraSubflow($"amp_new_{n}", role, useSpare: false),
                            activeStandby && role is not null ? new object[] { new HandleMemberNetworks(), new AmphoraeUpdate(), new AmphoraeVrrpUpdate() } : null,
                            activeStandby && oldKey is not null ? new StopVrrpOnAmphora(oldKey) : null,
                            oldKey is null ? null : new UnplugVipFromAmphora(oldKey),
                            oldKey is null ? null : new DeleteAmphora(oldKey)));
                        n++;
                    }
                    return Flow.Linear(method,
                        new LoadBalancerToErrorOnRevert(),
                        new AllocateVip(),
                        new UpdateLoadBalancerTopologyInDb(),
                        activeStandby ? new CreateVrrpGroupForLb() : null,
                        steps,
                        new HandleMemberNetworks(),
                        new AmphoraeUpdate(),
                        activeStandby ? new AmphoraeVrrpUpdate() : null,
                        new MarkActiveInDb(ObjectKind.LoadBalancer, markSubobjects: true));
                }
            case "failover_amphora":
                {
                    if (store[StoreKeys.LoadBalancerId] is null)
                    {
                        return Flow.Linear(method,
                            new AmphoraToErrorOnRevert(),
                            new MarkAmphoraPendingDeleteInDb(StoreKeys.AmphoraId),
                            new DeleteAmphora(StoreKeys.AmphoraId));
                    }
                    var role = store[Role]?.GetValue<string>() ?? AmphoraRoles.Standalone;
                    return Flow.Linear(method,
                        new LoadBalancerToErrorOnRevert(),
                        new AmphoraToErrorOnRevert(),
                        new MarkAmphoraPendingDeleteInDb(StoreKeys.AmphoraId),
                        AmphoraSubflow("amp_replacement", role, useSpare: false),
                        new UnplugVipFromAmphora(StoreKeys.AmphoraId),
                        new DeleteAmphora(StoreKeys.AmphoraId),
                        new HandleMemberNetworks(),
                        new AmphoraeUpdate(),
                        activeStandby ? new AmphoraeVrrpUpdate() : null,
                        new MarkActiveInDb(ObjectKind.LoadBalancer, markSubobjects: true));
                }
            case "update_amphora_agent_config":
                return Flow.Linear(method, new AmphoraAgentConfigUpdate());
            case "delete_amphora":
                return Flow.Linear(method,
                    new AmphoraToErrorOnRevert(),
                    new MarkAmphoraPendingDeleteInDb(StoreKeys.AmphoraId),
                    new DeleteAmphora(StoreKeys.AmphoraId));
            case "rotate_amphora_certificate":
                return Flow.Linear(method, new ClearCertBusyOnRevert(), new RotateAmphoraCertificate());
            case "create_spare_amphora":
                return Flow.Linear(method,
                    new CreateAmphoraInDb(StoreKeys.AmphoraId, "", useSpare: false),
                    new CertComputeCreate(StoreKeys.AmphoraId),
                    new ComputeWait(StoreKeys.AmphoraId),
                    new AmphoraConnectivityWait(StoreKeys.AmphoraId),
                    new MarkAmphoraReadyInDb(StoreKeys.AmphoraId));
            case "batch_update_members":
                return Flow.Linear(method,
                    new ObjectsToErrorOnRevert(ObjectKind.Member),
                    new ApplyMemberUpdatesInDb(),
                    new HandleMemberNetworks(),
                    new AmphoraeUpdate(),
                    new DeleteObjectsInDb(ObjectKind.Member),
                    new MarkActiveInDb(ObjectKind.Member));
        }

        var kind = KindOf(method) ?? throw new FlowPreparationException($"unknown worker method '{method}'");
        var touchesMembers = kind is ObjectKind.Member or ObjectKind.Pool;
        return verb switch
        {
            "create" => Flow.Linear(method,
                new ObjectsToErrorOnRevert(kind),
                touchesMembers ? new HandleMemberNetworks() : null,
                new AmphoraeUpdate(),
                new MarkActiveInDb(kind)),
            "update" => Flow.Linear(method,
                new ObjectsToErrorOnRevert(kind),
                new ApplyUpdatesInDb(kind),
                new AmphoraeUpdate(),
                new MarkActiveInDb(kind)),
            "delete" => Flow.Linear(method,
                new ObjectsToErrorOnRevert(kind),
                new AmphoraeUpdate(),
                touchesMembers ? new HandleMemberNetworks() : null,
                new DeleteObjectsInDb(kind),
                new MarkActiveInDb(kind)),
            _ => throw new FlowPreparationException($"unknown worker method '{method}'"),
        };
    }

    /// <summary>Builds one amphora for the load balancer and plugs it into the VIP network (upstream get_amphora_for_lb_subflow + the VIP plug subflow).</summary>
    internal static LinearFlow AmphoraSubflow(string ampKey, string role, bool useSpare) => Flow.Linear(ampKey,
        new CreateAmphoraInDb(ampKey, role, useSpare),
        new CertComputeCreate(ampKey),
        new ComputeWait(ampKey),
        new AmphoraConnectivityWait(ampKey),
        new MarkAmphoraAllocatedInDb(ampKey, role),
        new PlugVip(ampKey),
        new AmphoraPostVipPlug(ampKey));

    private static FlowNode AmphoraeForTopology(string topology, bool useSpare, string prefix) => topology == Topologies.ActiveStandby
        ? Flow.Unordered("amphorae",
            AmphoraSubflow($"{prefix}_master", AmphoraRoles.Master, useSpare),
            AmphoraSubflow($"{prefix}_backup", AmphoraRoles.Backup, useSpare))
        : AmphoraSubflow($"{prefix}_standalone", AmphoraRoles.Standalone, useSpare);

    // Pairs each amphora the failed LB has with a role the topology needs: matching roles first, then
    // any; extra amphorae are only deleted and missing roles only built.
    private static void PlanLoadBalancerFailover(JsonObject store, List<Amphora> existing)
    {
        var topology = store[StoreKeys.Topology]!.GetValue<string>();
        var roles = topology == Topologies.ActiveStandby ? new List<string> { AmphoraRoles.Master, AmphoraRoles.Backup } : [AmphoraRoles.Standalone];
        var plan = new JsonArray();
        var remaining = existing.OrderBy(a => a.Id, StringComparer.Ordinal).ToList();
        var i = 0;
        foreach (var role in roles)
        {
            var old = remaining.FirstOrDefault(a => a.Role == role) ?? remaining.FirstOrDefault();
            var step = new JsonObject { ["role"] = role };
            if (old is not null)
            {
                remaining.Remove(old);
                var key = $"failed_amp_{i}";
                store[key] = old.Id;
                step["old_key"] = key;
            }
            plan.Add(step);
            i++;
        }
        foreach (var old in remaining)
        {
            var key = $"failed_amp_{i++}";
            store[key] = old.Id;
            plan.Add(new JsonObject { ["old_key"] = key });
        }
        store["failover_plan"] = plan;
        store[NewAmphorae] = roles.Count;
    }

    private async Task<JsonObject?> FlavorOfAsync(string? flavorId, CancellationToken cancellationToken)
    {
        if (flavorId is null)
        {
            return null;
        }
        await using var db = _db();
        var data = await db.Flavors.Where(f => f.Id == flavorId)
            .Join(db.FlavorProfiles, f => f.FlavorProfileId, p => p.Id, (f, p) => p.FlavorData)
            .SingleOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        if (string.IsNullOrEmpty(data))
        {
            return null;
        }
        try
        {
            return JsonNode.Parse(data) as JsonObject;
        }
        catch (JsonException ex)
        {
            throw new FlowPreparationException($"flavor {flavorId} has invalid flavor_data: {ex.Message}");
        }
    }

    // The API commits before it casts, but a reader on another connection (or a replica) may not see
    // the row at once: upstream retries the first read too.
    private async Task<T?> WaitForAsync<T>(Func<WorkerDbContext, Task<T?>> query, bool retry, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            await using (var db = _db())
            {
                var value = await query(db).ConfigureAwait(false);
                if (value is not null || !retry || attempt + 1 >= VisibilityRetries)
                {
                    return value;
                }
            }
            await Task.Delay(TimeSpan.FromSeconds(1), _time, cancellationToken).ConfigureAwait(false);
        }
    }

    private static ObjectKind? KindOf(string method) => method.Split('_', 2) is [_, var noun] ? noun switch
    {
        "load_balancer" => ObjectKind.LoadBalancer,
        "listener" => ObjectKind.Listener,
        "pool" => ObjectKind.Pool,
        "member" => ObjectKind.Member,
        "health_monitor" => ObjectKind.HealthMonitor,
        "l7policy" => ObjectKind.L7Policy,
        "l7rule" => ObjectKind.L7Rule,
        _ => null,
    } : null;

    private static string? IdOf(JsonNode? node, params string[] keys)
    {
        if (node is JsonValue v && v.TryGetValue<string>(out var s))
        {
            return s;
        }
        if (node is not JsonObject o)
        {
            return null;
        }
        foreach (var key in keys)
        {
            if (o[key] is JsonValue value && value.TryGetValue<string>(out var id) && !string.IsNullOrEmpty(id))
            {
                return id;
            }
        }
        return null;
    }

    private static List<string> IdsOf(JsonNode? node, params string[] keys) =>
        node is JsonArray a ? a.Select(x => IdOf(x, keys)).OfType<string>().ToList() : [];
}
