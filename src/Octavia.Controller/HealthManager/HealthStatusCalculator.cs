// Licensed under the Apache License, Version 2.0.

using Octavia.Core.Model;

namespace Octavia.Controller.HealthManager;

/// <summary>Which table an operating-status change goes to.</summary>
internal enum StatusTarget
{
    Listener,
    Member,
    Pool,
    LoadBalancer,
}

/// <summary>One operating-status write.</summary>
internal readonly record struct StatusChange(StatusTarget Target, string Id, string NewStatus, string OldStatus);

/// <summary>
/// Upstream's <c>UpdateHealthDb</c> status mapping, as a pure function of the cached graph and one heartbeat.
/// The returned changes are in upstream's order (listeners, members, pools, offline pools) with the load
/// balancer last.
/// </summary>
internal static class HealthStatusCalculator
{
    // The amphora's words (octavia.common.constants).
    public const string Open = "OPEN";
    public const string Full = "FULL";
    public const string Up = "UP";
    public const string Down = "DOWN";
    public const string Drain = "DRAIN";
    public const string Maint = "MAINT";
    public const string NoCheck = "no check";
    public const string Restarting = "RESTARTING";

    /// <summary>
    /// Listener count the amphora must report for its health row to be refreshed, or null when the
    /// count is not checked (LB pending or disabled).
    /// </summary>
    public static int? ExpectedListenerCount(LoadBalancerHealthGraph lb, HeartbeatMessage message)
    {
        if (lb.ProvisioningStatus.Contains("PENDING", StringComparison.Ordinal) || !lb.Enabled)
        {
            return null;
        }
        var expected = lb.Listeners.Values.Count(l => l.Enabled);
        // Pre-versioning (Rocky) amphorae only report a UDP listener once its default pool has an enabled member.
        if (message.Version == 0)
        {
            foreach (var listener in lb.Listeners.Values.Where(l => l.Protocol == Protocols.Udp))
            {
                var pool = listener.DefaultPoolId is { } pid && lb.Pools.TryGetValue(pid, out var p) ? p : null;
                if (pool is null || pool.Members.Count == 0 || !pool.Members.Values.Any(m => m.Enabled))
                {
                    expected--;
                }
            }
        }
        return expected;
    }

    /// <summary>Computes the status writes for <paramref name="message"/> without touching the graph.</summary>
    public static List<StatusChange> Evaluate(LoadBalancerHealthGraph lb, HeartbeatMessage message)
    {
        var changes = new List<StatusChange>();
        var lbStatus = lb.Enabled ? OperatingStatus.Online : OperatingStatus.Offline;
        var processedPools = new HashSet<string>(StringComparer.Ordinal);
        var potentialOfflinePools = new Dictionary<string, string>(StringComparer.Ordinal);

        foreach (var (listenerId, dbListener) in lb.Listeners)
        {
            string? listenerStatus = null;
            if (!message.Listeners.TryGetValue(listenerId, out var reported))
            {
                listenerStatus = dbListener.Enabled && lb.ProvisioningStatus == ProvisioningStatus.Active
                    ? OperatingStatus.Error
                    : OperatingStatus.Offline;
            }
            else if (reported.Status == Open)
            {
                listenerStatus = OperatingStatus.Online;
            }
            else if (reported.Status == Full)
            {
                listenerStatus = OperatingStatus.Degraded;
                if (lbStatus == OperatingStatus.Online)
                {
                    lbStatus = OperatingStatus.Degraded;
                }
            }

            if (listenerStatus is not null && !SameStatus(listenerStatus, dbListener.OperatingStatus))
            {
                changes.Add(new StatusChange(StatusTarget.Listener, listenerId, listenerStatus, dbListener.OperatingStatus));
            }

            if (reported is null || message.Version >= 2)
            {
                continue;
            }
            var nested = reported.Pools ?? new Dictionary<string, HeartbeatPool>();
            foreach (var (poolId, dbPool) in lb.Pools)
            {
                if (!processedPools.Contains(poolId))
                {
                    lbStatus = ProcessPool(poolId, dbPool, nested, lbStatus, processedPools, potentialOfflinePools, changes);
                }
            }
        }

        if (message.Version >= 2)
        {
            foreach (var (poolId, dbPool) in lb.Pools)
            {
                if (!processedPools.Contains(poolId))
                {
                    lbStatus = ProcessPool(poolId, dbPool, message.Pools, lbStatus, processedPools, potentialOfflinePools, changes);
                }
            }
        }

        foreach (var (poolId, dbStatus) in potentialOfflinePools)
        {
            if (!processedPools.Contains(poolId) && dbStatus != OperatingStatus.Offline)
            {
                changes.Add(new StatusChange(StatusTarget.Pool, poolId, OperatingStatus.Offline, dbStatus));
            }
        }

        if (lbStatus != lb.OperatingStatus)
        {
            changes.Add(new StatusChange(StatusTarget.LoadBalancer, lb.Id, lbStatus, lb.OperatingStatus));
        }
        return changes;
    }

    /// <summary>Records written changes in the cached graph so the next heartbeat compares against them.</summary>
    public static void Apply(LoadBalancerHealthGraph lb, IEnumerable<StatusChange> changes)
    {
        foreach (var change in changes)
        {
            switch (change.Target)
            {
                case StatusTarget.LoadBalancer:
                    lb.OperatingStatus = change.NewStatus;
                    break;
                case StatusTarget.Listener when lb.Listeners.TryGetValue(change.Id, out var l):
                    l.OperatingStatus = change.NewStatus;
                    break;
                case StatusTarget.Pool when lb.Pools.TryGetValue(change.Id, out var p):
                    p.OperatingStatus = change.NewStatus;
                    break;
                case StatusTarget.Member:
                    foreach (var pool in lb.Pools.Values)
                    {
                        if (pool.Members.TryGetValue(change.Id, out var m))
                        {
                            m.OperatingStatus = change.NewStatus;
                        }
                    }
                    break;
                default:
                    break;
            }
        }
    }

    private static string ProcessPool(
        string poolId,
        PoolNode dbPool,
        IReadOnlyDictionary<string, HeartbeatPool> reportedPools,
        string lbStatus,
        HashSet<string> processedPools,
        Dictionary<string, string> potentialOfflinePools,
        List<StatusChange> changes)
    {
        if (!reportedPools.TryGetValue(poolId, out var pool))
        {
            potentialOfflinePools[poolId] = dbPool.OperatingStatus;
            return lbStatus;
        }
        processedPools.Add(poolId);

        string? poolStatus = null;
        if (pool.Status == Up)
        {
            poolStatus = OperatingStatus.Online;
        }
        else if (pool.Status == Down)
        {
            poolStatus = OperatingStatus.Error;
            lbStatus = OperatingStatus.Error;
        }

        foreach (var (memberId, dbMember) in dbPool.Members)
        {
            string? memberStatus = null;
            if (!pool.Members.TryGetValue(memberId, out var status))
            {
                if (dbMember.OperatingStatus != OperatingStatus.NoMonitor)
                {
                    memberStatus = OperatingStatus.Offline;
                }
            }
            else if (status.StartsWith(Up, StringComparison.Ordinal))
            {
                memberStatus = OperatingStatus.Online;
            }
            else if (status.StartsWith(Down, StringComparison.Ordinal))
            {
                memberStatus = OperatingStatus.Error;
                if (poolStatus == OperatingStatus.Online)
                {
                    poolStatus = OperatingStatus.Degraded;
                    if (lbStatus == OperatingStatus.Online)
                    {
                        lbStatus = OperatingStatus.Degraded;
                    }
                }
            }
            else if (status == Drain)
            {
                memberStatus = OperatingStatus.Draining;
            }
            else if (status == Maint)
            {
                memberStatus = OperatingStatus.Offline;
            }
            else if (status == NoCheck)
            {
                memberStatus = OperatingStatus.NoMonitor;
            }
            // RESTARTING (keepalived restarting) and unknown words keep the previous status.

            if (memberStatus is not null && !SameStatus(memberStatus, dbMember.OperatingStatus))
            {
                changes.Add(new StatusChange(StatusTarget.Member, memberId, memberStatus, dbMember.OperatingStatus));
            }
        }

        if (poolStatus is not null && !SameStatus(poolStatus, dbPool.OperatingStatus))
        {
            changes.Add(new StatusChange(StatusTarget.Pool, poolId, poolStatus, dbPool.OperatingStatus));
        }
        return lbStatus;
    }

    private static bool SameStatus(string a, string b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);
}
