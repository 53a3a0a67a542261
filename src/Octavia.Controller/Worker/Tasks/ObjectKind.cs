// Licensed under the Apache License, Version 2.0.

namespace Octavia.Controller.Worker.Tasks;

/// <summary>The LBaaS objects a flow can be about.</summary>
public enum ObjectKind
{
    LoadBalancer,
    Listener,
    Pool,
    Member,
    HealthMonitor,
    L7Policy,
    L7Rule,
}

/// <summary>Flow store keys shared by flows and tasks.</summary>
public static class StoreKeys
{
    public const string LoadBalancerId = "loadbalancer_id";
    public const string ListenerId = "listener_id";
    public const string PoolId = "pool_id";
    public const string MemberId = "member_id";
    public const string HealthMonitorId = "healthmonitor_id";
    public const string L7PolicyId = "l7policy_id";
    public const string L7RuleId = "l7rule_id";
    public const string AmphoraId = "amphora_id";
    public const string Topology = "topology";
    public const string UpdateDict = "update_dict";
    /// <summary>Ids of the objects a flow changes (one for most flows, many for batch member updates).</summary>
    public const string ObjectIds = "object_ids";
    /// <summary>Ids of objects the flow deletes (left out of the amphora configuration).</summary>
    public const string DeletedIds = "deleted_ids";
    public const string NewMemberIds = "new_member_ids";
    public const string UpdatedMembers = "updated_members";
    public const string Cascade = "cascade";
    public const string Flavor = "flavor";
    /// <summary>Amphorae (id and role) a failover replaces, resolved when the flow starts.</summary>
    public const string FailedAmphorae = "failed_amphorae";

    public static string IdKey(ObjectKind kind) => kind switch
    {
        ObjectKind.LoadBalancer => LoadBalancerId,
        ObjectKind.Listener => ListenerId,
        ObjectKind.Pool => PoolId,
        ObjectKind.Member => MemberId,
        ObjectKind.HealthMonitor => HealthMonitorId,
        ObjectKind.L7Policy => L7PolicyId,
        ObjectKind.L7Rule => L7RuleId,
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}
