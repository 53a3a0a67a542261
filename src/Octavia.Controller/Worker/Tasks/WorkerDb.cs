// Licensed under the Apache License, Version 2.0.

using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Octavia.Controller.Worker.Engine;
using Octavia.Core.Model;
using Octavia.Data;

namespace Octavia.Controller.Worker.Tasks;

/// <summary>Database helpers the tasks share: graph loading and status writes.</summary>
public static class WorkerDb
{
    /// <summary>A new context from the flow's services.</summary>
    public static WorkerDbContext Open(FlowContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Get<Func<WorkerDbContext>>()();
    }

    /// <summary>Current UTC time from the worker's clock.</summary>
    public static DateTime Now(FlowContext context) => context.Get<TimeProvider>().GetUtcNow().UtcDateTime;

    /// <summary>The load balancer with every child, untracked (what the amphora configuration is rendered from).</summary>
    public static async Task<LoadBalancer?> LoadGraphAsync(OctaviaDbContext db, string loadBalancerId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        var lb = await LoadGraphUnlinkedAsync(db, loadBalancerId, cancellationToken).ConfigureAwait(false);
        if (lb is not null)
        {
            // No-tracking queries do not fix up references to already-loaded pools: link them by id, or a
            // listener's default pool and L7 redirect pools are missing from the rendered configuration.
            foreach (var listener in lb.Listeners)
            {
                listener.DefaultPool ??= lb.Pools.FirstOrDefault(p => p.Id == listener.DefaultPoolId);
                foreach (var policy in listener.L7Policies)
                {
                    policy.RedirectPool ??= lb.Pools.FirstOrDefault(p => p.Id == policy.RedirectPoolId);
                }
            }
        }
        return lb;
    }

    private static Task<LoadBalancer?> LoadGraphUnlinkedAsync(OctaviaDbContext db, string loadBalancerId, CancellationToken cancellationToken)
    {
        return db.LoadBalancers.AsNoTracking().AsSplitQuery()
            .Include(l => l.Vip)
            .Include(l => l.AdditionalVips)
            .Include(l => l.VrrpGroup)
            .Include(l => l.Tags)
            .Include(l => l.Amphorae)
            .Include(l => l.Listeners).ThenInclude(x => x.SniContainers)
            .Include(l => l.Listeners).ThenInclude(x => x.AllowedCidrs)
            .Include(l => l.Listeners).ThenInclude(x => x.L7Policies).ThenInclude(p => p.L7Rules)
            .Include(l => l.Pools).ThenInclude(p => p.Members)
            .Include(l => l.Pools).ThenInclude(p => p.HealthMonitor)
            .Include(l => l.Pools).ThenInclude(p => p.SessionPersistence)
            .SingleOrDefaultAsync(l => l.Id == loadBalancerId, cancellationToken);
    }

    /// <summary>Ids listed in a store value (a JSON array of strings), or none.</summary>
    public static List<string> Ids(JsonNode? node) =>
        node is JsonArray a ? a.Select(x => x?.GetValue<string>()).OfType<string>().ToList() : [];

    /// <summary>The load balancer's amphorae that serve it (ALLOCATED), untracked.</summary>
    public static Task<List<Amphora>> ServingAmphoraeAsync(OctaviaDbContext db, string loadBalancerId, CancellationToken cancellationToken) =>
        db.Amphorae.AsNoTracking()
            .Where(a => a.LoadBalancerId == loadBalancerId && a.Status == ProvisioningStatus.Allocated)
            .OrderBy(a => a.Role).ThenBy(a => a.Id)
            .ToListAsync(cancellationToken);

    /// <summary>Sets the provisioning status of one object (no-op if it is gone).</summary>
    public static async Task SetStatusAsync(OctaviaDbContext db, ObjectKind kind, string id, string status, DateTime now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        switch (kind)
        {
            case ObjectKind.LoadBalancer:
                await db.LoadBalancers.Where(x => x.Id == id && x.ProvisioningStatus != ProvisioningStatus.Deleted)
                    .ExecuteUpdateAsync(s => s.SetProperty(x => x.ProvisioningStatus, status).SetProperty(x => x.UpdatedAt, now), cancellationToken).ConfigureAwait(false);
                break;
            case ObjectKind.Listener:
                await db.Listeners.Where(x => x.Id == id).ExecuteUpdateAsync(s => s.SetProperty(x => x.ProvisioningStatus, status).SetProperty(x => x.UpdatedAt, now), cancellationToken).ConfigureAwait(false);
                break;
            case ObjectKind.Pool:
                await db.Pools.Where(x => x.Id == id).ExecuteUpdateAsync(s => s.SetProperty(x => x.ProvisioningStatus, status).SetProperty(x => x.UpdatedAt, now), cancellationToken).ConfigureAwait(false);
                break;
            case ObjectKind.Member:
                await db.Members.Where(x => x.Id == id).ExecuteUpdateAsync(s => s.SetProperty(x => x.ProvisioningStatus, status).SetProperty(x => x.UpdatedAt, now), cancellationToken).ConfigureAwait(false);
                break;
            case ObjectKind.HealthMonitor:
                await db.HealthMonitors.Where(x => x.Id == id).ExecuteUpdateAsync(s => s.SetProperty(x => x.ProvisioningStatus, status).SetProperty(x => x.UpdatedAt, now), cancellationToken).ConfigureAwait(false);
                break;
            case ObjectKind.L7Policy:
                await db.L7Policies.Where(x => x.Id == id).ExecuteUpdateAsync(s => s.SetProperty(x => x.ProvisioningStatus, status).SetProperty(x => x.UpdatedAt, now), cancellationToken).ConfigureAwait(false);
                break;
            case ObjectKind.L7Rule:
                await db.L7Rules.Where(x => x.Id == id).ExecuteUpdateAsync(s => s.SetProperty(x => x.ProvisioningStatus, status).SetProperty(x => x.UpdatedAt, now), cancellationToken).ConfigureAwait(false);
                break;
        }
    }

    /// <summary>
    /// Ends an operation on a load balancer's tree: the LB goes ACTIVE and every child waiting in
    /// PENDING_UPDATE goes back to ACTIVE (upstream's MarkLBActiveInDB and the Mark*ActiveInDB parents).
    /// With <paramref name="markSubobjects"/> (graph create, failover) every non-deleted child goes ACTIVE.
    /// </summary>
    public static async Task MarkTreeActiveAsync(OctaviaDbContext db, string loadBalancerId, bool markSubobjects, DateTime now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        await SettleTreeAsync(db, loadBalancerId, markSubobjects ? null : [ProvisioningStatus.PendingUpdate], ProvisioningStatus.Active, now, cancellationToken).ConfigureAwait(false);
        if (markSubobjects)
        {
            await SetOperatingStatusForEnabledAsync(db, loadBalancerId, cancellationToken).ConfigureAwait(false);
        }
        await SetStatusAsync(db, ObjectKind.LoadBalancer, loadBalancerId, ProvisioningStatus.Active, now, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Moves children of the load balancer whose status is one of <paramref name="from"/> (any status but
    /// DELETED when null) to <paramref name="to"/>.
    /// </summary>
    public static async Task SettleTreeAsync(OctaviaDbContext db, string loadBalancerId, string[]? from, string to, DateTime now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        bool Match(string s) => from is null ? s != ProvisioningStatus.Deleted : from.Contains(s);
        var listeners = await db.Listeners.Where(x => x.LoadBalancerId == loadBalancerId).Include(x => x.L7Policies).ThenInclude(p => p.L7Rules).ToListAsync(cancellationToken).ConfigureAwait(false);
        var pools = await db.Pools.Where(x => x.LoadBalancerId == loadBalancerId).Include(p => p.Members).Include(p => p.HealthMonitor).ToListAsync(cancellationToken).ConfigureAwait(false);
        IEnumerable<LbaasObject> all = listeners.Cast<LbaasObject>()
            .Concat(listeners.SelectMany(l => l.L7Policies))
            .Concat(listeners.SelectMany(l => l.L7Policies).SelectMany(p => p.L7Rules))
            .Concat(pools)
            .Concat(pools.SelectMany(p => p.Members))
            .Concat(pools.Select(p => p.HealthMonitor).OfType<HealthMonitor>());
        foreach (var o in all.Where(o => Match(o.ProvisioningStatus) && o.ProvisioningStatus != to))
        {
            o.ProvisioningStatus = to;
            o.UpdatedAt = now;
        }
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>On ACTIVE, health monitors and L7 objects are ONLINE when enabled, else OFFLINE (upstream).</summary>
    public static async Task SetOperatingStatusForEnabledAsync(OctaviaDbContext db, string loadBalancerId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        var listeners = await db.Listeners.Where(x => x.LoadBalancerId == loadBalancerId).Include(x => x.L7Policies).ThenInclude(p => p.L7Rules).ToListAsync(cancellationToken).ConfigureAwait(false);
        var monitors = await db.HealthMonitors.Where(h => h.Pool!.LoadBalancerId == loadBalancerId).ToListAsync(cancellationToken).ConfigureAwait(false);
        IEnumerable<LbaasObject> objects = listeners.SelectMany(l => l.L7Policies).Cast<LbaasObject>()
            .Concat(listeners.SelectMany(l => l.L7Policies).SelectMany(p => p.L7Rules))
            .Concat(monitors);
        foreach (var o in objects.Where(o => o.ProvisioningStatus == ProvisioningStatus.Active))
        {
            o.OperatingStatus = o.Enabled ? OperatingStatus.Online : OperatingStatus.Offline;
        }
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The load balancer an object belongs to, or null if the object is gone.</summary>
    public static async Task<string?> LoadBalancerOfAsync(OctaviaDbContext db, ObjectKind kind, string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        return kind switch
        {
            ObjectKind.LoadBalancer => await db.LoadBalancers.Where(x => x.Id == id).Select(x => x.Id).SingleOrDefaultAsync(cancellationToken).ConfigureAwait(false),
            ObjectKind.Listener => await db.Listeners.Where(x => x.Id == id).Select(x => x.LoadBalancerId).SingleOrDefaultAsync(cancellationToken).ConfigureAwait(false),
            ObjectKind.Pool => await db.Pools.Where(x => x.Id == id).Select(x => x.LoadBalancerId).SingleOrDefaultAsync(cancellationToken).ConfigureAwait(false),
            ObjectKind.Member => await db.Members.Where(x => x.Id == id).Select(x => x.Pool!.LoadBalancerId).SingleOrDefaultAsync(cancellationToken).ConfigureAwait(false),
            ObjectKind.HealthMonitor => await db.HealthMonitors.Where(x => x.Id == id).Select(x => x.Pool!.LoadBalancerId).SingleOrDefaultAsync(cancellationToken).ConfigureAwait(false),
            ObjectKind.L7Policy => await db.L7Policies.Where(x => x.Id == id).Select(x => x.Listener!.LoadBalancerId).SingleOrDefaultAsync(cancellationToken).ConfigureAwait(false),
            ObjectKind.L7Rule => await db.L7Rules.Where(x => x.Id == id).Select(x => x.L7Policy!.Listener!.LoadBalancerId).SingleOrDefaultAsync(cancellationToken).ConfigureAwait(false),
            _ => null,
        };
    }
}
