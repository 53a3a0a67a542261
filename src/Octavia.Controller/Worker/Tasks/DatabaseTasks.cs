// Licensed under the Apache License, Version 2.0.
// Upstream database_tasks: each task reads or writes the database only; every one may be repeated.

using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Octavia.Controller.Worker.Engine;
using Octavia.Core.Model;
using Octavia.Data;

namespace Octavia.Controller.Worker.Tasks;

/// <summary>Applies the cast's update dictionary to the object (upstream Update*InDB).</summary>
public sealed class ApplyUpdatesInDb(ObjectKind kind) : FlowTask
{
    public override string Name => $"Update{kind}InDb";

    public override async Task<JsonNode?> ExecuteAsync(FlowContext context, CancellationToken cancellationToken)
    {
        if (context.GetNode(StoreKeys.UpdateDict) is not JsonObject updates)
        {
            return null;
        }
        var id = context.GetString(StoreKeys.IdKey(kind));
        await using var db = WorkerDb.Open(context);
        await ApplyAsync(db, kind, id, updates, cancellationToken).ConfigureAwait(false);
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        return null;
    }

    internal static async Task ApplyAsync(WorkerDbContext db, ObjectKind kind, string id, JsonObject updates, CancellationToken cancellationToken)
    {
        switch (kind)
        {
            case ObjectKind.LoadBalancer:
                if (await db.LoadBalancers.Include(x => x.Vip).SingleOrDefaultAsync(x => x.Id == id, cancellationToken).ConfigureAwait(false) is { } lb)
                {
                    UpdateApplier.Apply(lb, updates);
                }
                break;
            case ObjectKind.Listener:
                if (await db.Listeners.Include(x => x.SniContainers).Include(x => x.AllowedCidrs).SingleOrDefaultAsync(x => x.Id == id, cancellationToken).ConfigureAwait(false) is { } l)
                {
                    UpdateApplier.Apply(l, updates);
                }
                break;
            case ObjectKind.Pool:
                if (await db.Pools.Include(x => x.SessionPersistence).SingleOrDefaultAsync(x => x.Id == id, cancellationToken).ConfigureAwait(false) is { } p)
                {
                    UpdateApplier.Apply(p, updates);
                }
                break;
            case ObjectKind.Member:
                if (await db.Members.FindAsync([id], cancellationToken).ConfigureAwait(false) is { } m)
                {
                    UpdateApplier.Apply(m, updates);
                }
                break;
            case ObjectKind.HealthMonitor:
                if (await db.HealthMonitors.FindAsync([id], cancellationToken).ConfigureAwait(false) is { } h)
                {
                    UpdateApplier.Apply(h, updates);
                }
                break;
            case ObjectKind.L7Policy:
                if (await db.L7Policies.FindAsync([id], cancellationToken).ConfigureAwait(false) is { } lp)
                {
                    UpdateApplier.Apply(lp, updates);
                }
                break;
            case ObjectKind.L7Rule:
                if (await db.L7Rules.FindAsync([id], cancellationToken).ConfigureAwait(false) is { } r)
                {
                    UpdateApplier.Apply(r, updates);
                }
                break;
        }
    }
}

/// <summary>Applies each entry of a batch member update (<see cref="StoreKeys.UpdatedMembers"/>: dicts carrying <c>id</c> or <c>member_id</c>).</summary>
public sealed class ApplyMemberUpdatesInDb : FlowTask
{
    public override async Task<JsonNode?> ExecuteAsync(FlowContext context, CancellationToken cancellationToken)
    {
        if (context.GetNode(StoreKeys.UpdatedMembers) is not JsonArray updates)
        {
            return null;
        }
        await using var db = WorkerDb.Open(context);
        foreach (var u in updates.OfType<JsonObject>())
        {
            var id = (u["id"] ?? u["member_id"])?.GetValue<string>();
            if (id is not null)
            {
                await ApplyUpdatesInDb.ApplyAsync(db, ObjectKind.Member, id, u, cancellationToken).ConfigureAwait(false);
            }
        }
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        return null;
    }
}

/// <summary>
/// The flow's objects go ACTIVE, then the load balancer and every child waiting in PENDING_UPDATE
/// (upstream Mark*ActiveInDB + MarkLBActiveInDB). With <paramref name="markSubobjects"/> every child goes ACTIVE.
/// </summary>
public sealed class MarkActiveInDb(ObjectKind kind, bool markSubobjects = false) : FlowTask
{
    public override string Name => $"Mark{kind}ActiveInDb";

    public override async Task<JsonNode?> ExecuteAsync(FlowContext context, CancellationToken cancellationToken)
    {
        var lbId = context.GetString(StoreKeys.LoadBalancerId);
        var now = WorkerDb.Now(context);
        await using var db = WorkerDb.Open(context);
        if (kind != ObjectKind.LoadBalancer)
        {
            foreach (var id in WorkerDb.Ids(context.GetNode(StoreKeys.ObjectIds)))
            {
                await WorkerDb.SetStatusAsync(db, kind, id, ProvisioningStatus.Active, now, cancellationToken).ConfigureAwait(false);
            }
        }
        await WorkerDb.MarkTreeActiveAsync(db, lbId, markSubobjects, now, cancellationToken).ConfigureAwait(false);
        await WorkerDb.SetOperatingStatusForEnabledAsync(db, lbId, cancellationToken).ConfigureAwait(false);
        return null;
    }
}

/// <summary>Deletes the flow's deleted objects (<see cref="StoreKeys.DeletedIds"/>) and gives their quota back (upstream Delete*InDB + Decrement*Quota).</summary>
public sealed class DeleteObjectsInDb(ObjectKind kind) : FlowTask
{
    public override string Name => $"Delete{kind}InDb";

    public override async Task<JsonNode?> ExecuteAsync(FlowContext context, CancellationToken cancellationToken)
    {
        var ids = WorkerDb.Ids(context.GetNode(StoreKeys.DeletedIds));
        if (ids.Count == 0)
        {
            return null;
        }
        await using var db = WorkerDb.Open(context);
        var projectId = await db.LoadBalancers.Where(l => l.Id == context.GetString(StoreKeys.LoadBalancerId)).Select(l => l.ProjectId).SingleOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        var counts = new Dictionary<ObjectKind, int>();
        void Count(ObjectKind k, int n) => counts[k] = counts.GetValueOrDefault(k) + n;
        foreach (var id in ids)
        {
            switch (kind)
            {
                case ObjectKind.Listener:
                    if (await db.Listeners.Include(l => l.L7Policies).ThenInclude(p => p.L7Rules).SingleOrDefaultAsync(l => l.Id == id, cancellationToken).ConfigureAwait(false) is { } l)
                    {
                        Count(ObjectKind.Listener, 1);
                        Count(ObjectKind.L7Policy, l.L7Policies.Count);
                        Count(ObjectKind.L7Rule, l.L7Policies.Sum(p => p.L7Rules.Count));
                        db.Remove(l);
                    }
                    break;
                case ObjectKind.Pool:
                    if (await db.Pools.Include(p => p.Members).Include(p => p.HealthMonitor).Include(p => p.SessionPersistence).SingleOrDefaultAsync(p => p.Id == id, cancellationToken).ConfigureAwait(false) is { } p)
                    {
                        Count(ObjectKind.Pool, 1);
                        Count(ObjectKind.Member, p.Members.Count);
                        Count(ObjectKind.HealthMonitor, p.HealthMonitor is null ? 0 : 1);
                        await db.Listeners.Where(x => x.DefaultPoolId == id).ExecuteUpdateAsync(s => s.SetProperty(x => x.DefaultPoolId, (string?)null), cancellationToken).ConfigureAwait(false);
                        db.Remove(p);
                    }
                    break;
                case ObjectKind.Member:
                    if (await db.Members.FindAsync([id], cancellationToken).ConfigureAwait(false) is { } m)
                    {
                        Count(ObjectKind.Member, 1);
                        db.Remove(m);
                    }
                    break;
                case ObjectKind.HealthMonitor:
                    if (await db.HealthMonitors.FindAsync([id], cancellationToken).ConfigureAwait(false) is { } h)
                    {
                        Count(ObjectKind.HealthMonitor, 1);
                        db.Remove(h);
                    }
                    break;
                case ObjectKind.L7Policy:
                    if (await db.L7Policies.Include(x => x.L7Rules).SingleOrDefaultAsync(x => x.Id == id, cancellationToken).ConfigureAwait(false) is { } lp)
                    {
                        Count(ObjectKind.L7Policy, 1);
                        Count(ObjectKind.L7Rule, lp.L7Rules.Count);
                        db.Remove(lp);
                    }
                    break;
                case ObjectKind.L7Rule:
                    if (await db.L7Rules.FindAsync([id], cancellationToken).ConfigureAwait(false) is { } r)
                    {
                        Count(ObjectKind.L7Rule, 1);
                        db.Remove(r);
                    }
                    break;
                default:
                    throw new InvalidOperationException($"{kind} is not deleted by this task");
            }
        }
        await db.Tags.Where(t => ids.Contains(t.ResourceId)).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        await Quota.DecrementAsync(db, projectId, counts, cancellationToken).ConfigureAwait(false);
        return null;
    }
}

/// <summary>Cascade delete: removes the load balancer's listeners and pools, marks it DELETED and gives the quota back.</summary>
public sealed class MarkLoadBalancerDeletedInDb : FlowTask
{
    public override async Task<JsonNode?> ExecuteAsync(FlowContext context, CancellationToken cancellationToken)
    {
        var lbId = context.GetString(StoreKeys.LoadBalancerId);
        var now = WorkerDb.Now(context);
        await using var db = WorkerDb.Open(context);
        var lb = await db.LoadBalancers
            .Include(l => l.Listeners).ThenInclude(l => l.L7Policies).ThenInclude(p => p.L7Rules)
            .Include(l => l.Pools).ThenInclude(p => p.Members)
            .Include(l => l.Pools).ThenInclude(p => p.HealthMonitor)
            .Include(l => l.VrrpGroup)
            .AsSplitQuery()
            .SingleOrDefaultAsync(l => l.Id == lbId, cancellationToken).ConfigureAwait(false);
        if (lb is null || lb.ProvisioningStatus == ProvisioningStatus.Deleted)
        {
            return null;
        }
        var counts = new Dictionary<ObjectKind, int>
        {
            [ObjectKind.LoadBalancer] = 1,
            [ObjectKind.Listener] = lb.Listeners.Count,
            [ObjectKind.L7Policy] = lb.Listeners.Sum(l => l.L7Policies.Count),
            [ObjectKind.L7Rule] = lb.Listeners.Sum(l => l.L7Policies.Sum(p => p.L7Rules.Count)),
            [ObjectKind.Pool] = lb.Pools.Count,
            [ObjectKind.Member] = lb.Pools.Sum(p => p.Members.Count),
            [ObjectKind.HealthMonitor] = lb.Pools.Count(p => p.HealthMonitor is not null),
        };
        var childIds = lb.Listeners.Select(l => l.Id)
            .Concat(lb.Listeners.SelectMany(l => l.L7Policies).Select(p => p.Id))
            .Concat(lb.Listeners.SelectMany(l => l.L7Policies).SelectMany(p => p.L7Rules).Select(r => r.Id))
            .Concat(lb.Pools.Select(p => p.Id))
            .Concat(lb.Pools.SelectMany(p => p.Members).Select(m => m.Id))
            .Concat(lb.Pools.Select(p => p.HealthMonitor).OfType<HealthMonitor>().Select(h => h.Id))
            .ToList();
        foreach (var l in lb.Listeners)
        {
            l.DefaultPoolId = null;
            foreach (var p in l.L7Policies)
            {
                p.RedirectPoolId = null;
            }
        }
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        db.RemoveRange(lb.Listeners);
        db.RemoveRange(lb.Pools);
        if (lb.VrrpGroup is not null)
        {
            db.Remove(lb.VrrpGroup);
        }
        lb.ProvisioningStatus = ProvisioningStatus.Deleted;
        lb.UpdatedAt = now;
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        await db.Tags.Where(t => childIds.Contains(t.ResourceId)).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
        await Quota.DecrementAsync(db, lb.ProjectId, counts, cancellationToken).ConfigureAwait(false);
        return null;
    }
}

/// <summary>Records the topology the flow builds (upstream UpdateLoadbalancerInDB topology).</summary>
public sealed class UpdateLoadBalancerTopologyInDb : FlowTask
{
    public override async Task<JsonNode?> ExecuteAsync(FlowContext context, CancellationToken cancellationToken)
    {
        var lbId = context.GetString(StoreKeys.LoadBalancerId);
        var topology = context.GetString(StoreKeys.Topology);
        await using var db = WorkerDb.Open(context);
        await db.LoadBalancers.Where(l => l.Id == lbId).ExecuteUpdateAsync(s => s.SetProperty(l => l.Topology, topology), cancellationToken).ConfigureAwait(false);
        return null;
    }
}

/// <summary>Creates the VRRP group (name = LB id without dashes, PASS auth, random 7-character password); an existing group is kept.</summary>
public sealed class CreateVrrpGroupForLb : FlowTask
{
    public override async Task<JsonNode?> ExecuteAsync(FlowContext context, CancellationToken cancellationToken)
    {
        var lbId = context.GetString(StoreKeys.LoadBalancerId);
        var settings = context.Get<WorkerSettings>();
        await using var db = WorkerDb.Open(context);
        if (await db.VrrpGroups.AnyAsync(g => g.LoadBalancerId == lbId, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }
        db.VrrpGroups.Add(new VrrpGroup
        {
            LoadBalancerId = lbId,
            VrrpGroupName = lbId.Replace("-", "", StringComparison.Ordinal),
            VrrpAuthType = "PASS",
            VrrpAuthPass = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))[..7],
            AdvertInt = settings.KeepalivedVrrp.VrrpAdvertInt,
        });
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        return null;
    }
}

/// <summary>Gives quota back (upstream Decrement*Quota); the in-use counters never go below zero.</summary>
internal static class Quota
{
    public static async Task DecrementAsync(WorkerDbContext db, string? projectId, IReadOnlyDictionary<ObjectKind, int> counts, CancellationToken cancellationToken)
    {
        if (projectId is null || await db.Quotas.FindAsync([projectId], cancellationToken).ConfigureAwait(false) is not { } q)
        {
            return;
        }
        static int? Dec(int? v, int n) => v is null ? null : Math.Max(0, v.Value - n);
        foreach (var (kind, n) in counts.Where(c => c.Value > 0))
        {
            switch (kind)
            {
                case ObjectKind.LoadBalancer: q.InUseLoadBalancer = Dec(q.InUseLoadBalancer, n); break;
                case ObjectKind.Listener: q.InUseListener = Dec(q.InUseListener, n); break;
                case ObjectKind.Pool: q.InUsePool = Dec(q.InUsePool, n); break;
                case ObjectKind.Member: q.InUseMember = Dec(q.InUseMember, n); break;
                case ObjectKind.HealthMonitor: q.InUseHealthMonitor = Dec(q.InUseHealthMonitor, n); break;
                case ObjectKind.L7Policy: q.InUseL7Policy = Dec(q.InUseL7Policy, n); break;
                case ObjectKind.L7Rule: q.InUseL7Rule = Dec(q.InUseL7Rule, n); break;
            }
        }
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
    }
}
