// Licensed under the Apache License, Version 2.0.

using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Octavia.Api.Persistence;
using Octavia.Core.Model;

namespace Octavia.Api.Providers;

/// <summary>
/// <c>noop_driver</c>: accepts every change and completes it right after the request's transaction
/// commits, as the worker would — pending objects become ACTIVE, deleted ones go away.
/// </summary>
public sealed partial class NoopProviderDriver(Store store, ILogger<NoopProviderDriver> logger) : IProviderDriver
{
    public string Name => "noop_driver";

    public IReadOnlyDictionary<string, string> FlavorCapabilities { get; } =
        new Dictionary<string, string> { ["some_topology"] = "Indicates the topology of the load balancer." };

    public IReadOnlyDictionary<string, string> AvailabilityZoneCapabilities { get; } =
        new Dictionary<string, string> { ["some_compute_zone"] = "Indicates the compute zone of the load balancer." };

    public void ValidateFlavor(JsonObject flavorData)
    {
    }

    public void ValidateAvailabilityZone(JsonObject availabilityZoneData)
    {
    }

    public void CheckOptions(string objectKind, string? protocol, string? lbAlgorithm)
    {
    }

    public Task SubmitAsync(ProviderCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        if (call.LoadBalancerId is { } lbId)
        {
            // Waits for the write lock, which the submitting transaction holds until it commits.
            _ = Task.Run(() => CompleteAsync(lbId), CancellationToken.None);
        }
        return Task.CompletedTask;
    }

    /// <summary>Settles every pending object of the load balancer.</summary>
    public async Task CompleteAsync(string loadBalancerId)
    {
        try
        {
            await store.WriteAsync(loadBalancerId, db => Settle(db, loadBalancerId, store.Now), CancellationToken.None).ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            // The host is shutting down; whatever is pending stays for the next start to see.
        }
        catch (Exception ex) when (ex is DbUpdateException or InvalidOperationException or System.Data.Common.DbException)
        {
            LogCompletionFailed(logger, loadBalancerId, ex);
        }
    }

    private static async Task Settle(Data.OctaviaDbContext db, string lbId, DateTime now)
    {
        var lb = await db.LoadBalancers.FirstOrDefaultAsync(l => l.Id == lbId).ConfigureAwait(false);
        if (lb is null)
        {
            return;
        }
        var listeners = await db.Listeners.Where(l => l.LoadBalancerId == lbId).ToListAsync().ConfigureAwait(false);
        var pools = await db.Pools.Include(p => p.HealthMonitor).Where(p => p.LoadBalancerId == lbId).ToListAsync().ConfigureAwait(false);
        var poolIds = pools.Select(p => p.Id).ToList();
        var listenerIds = listeners.Select(l => l.Id).ToList();
        var members = await db.Members.Where(m => poolIds.Contains(m.PoolId)).ToListAsync().ConfigureAwait(false);
        var policies = await db.L7Policies.Where(p => listenerIds.Contains(p.ListenerId)).ToListAsync().ConfigureAwait(false);
        var policyIds = policies.Select(p => p.Id).ToList();
        var rules = await db.L7Rules.Where(r => policyIds.Contains(r.L7PolicyId)).ToListAsync().ConfigureAwait(false);
        var monitors = pools.Where(p => p.HealthMonitor is not null).Select(p => p.HealthMonitor!).ToList();

        bool Settled(LbaasObject o, string online)
        {
            switch (o.ProvisioningStatus)
            {
                case ProvisioningStatus.PendingCreate or ProvisioningStatus.PendingUpdate:
                    o.ProvisioningStatus = ProvisioningStatus.Active;
                    o.OperatingStatus = o.Enabled ? online : OperatingStatus.Offline;
                    o.UpdatedAt = now;
                    return false;
                case ProvisioningStatus.PendingDelete:
                    return true;
                default:
                    return false;
            }
        }

        db.L7Rules.RemoveRange(rules.Where(r => Settled(r, OperatingStatus.Online)));
        db.L7Policies.RemoveRange(policies.Where(p => Settled(p, OperatingStatus.Online)));
        db.HealthMonitors.RemoveRange(monitors.Where(h => Settled(h, OperatingStatus.Online)));
        var withMonitor = monitors.Where(h => h.ProvisioningStatus != ProvisioningStatus.PendingDelete).Select(h => h.PoolId).ToHashSet();
        db.Members.RemoveRange(members.Where(m => Settled(m, withMonitor.Contains(m.PoolId) ? OperatingStatus.Online : OperatingStatus.NoMonitor)));
        foreach (var l in listeners.Where(l => l.ProvisioningStatus == ProvisioningStatus.PendingDelete))
        {
            l.DefaultPoolId = null;
        }
        var deletedPools = pools.Where(p => Settled(p, OperatingStatus.Online)).ToList();
        var deletedListeners = listeners.Where(l => Settled(l, OperatingStatus.Online)).ToList();
        foreach (var l in listeners.Where(l => l.DefaultPoolId is not null && deletedPools.Any(p => p.Id == l.DefaultPoolId)))
        {
            l.DefaultPoolId = null;
        }
        db.Listeners.RemoveRange(deletedListeners);
        db.Pools.RemoveRange(deletedPools);
        if (lb.ProvisioningStatus == ProvisioningStatus.PendingDelete)
        {
            lb.ProvisioningStatus = ProvisioningStatus.Deleted;
            lb.OperatingStatus = OperatingStatus.Offline;
            lb.UpdatedAt = now;
        }
        else
        {
            Settled(lb, OperatingStatus.Online);
        }
    }

    [LoggerMessage(EventId = 1200, Level = LogLevel.Error, Message = "noop provider could not complete load balancer {LoadBalancerId}")]
    private static partial void LogCompletionFailed(ILogger logger, string loadBalancerId, Exception ex);
}
