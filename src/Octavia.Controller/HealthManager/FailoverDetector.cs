// Licensed under the Apache License, Version 2.0.

using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Octavia.Core.Configuration;
using Octavia.Core.Messaging;
using Octavia.Core.Model;
using Octavia.Data;

namespace Octavia.Controller.HealthManager;

/// <summary>What one <see cref="FailoverDetector.CheckOnceAsync"/> cycle did.</summary>
public sealed record FailoverCycle(int Expired, bool ThresholdReached, IReadOnlyList<string> FailedOver);

/// <summary>
/// Upstream's <c>HealthManager.health_check</c>: finds amphorae whose heartbeats stopped, claims each
/// one atomically (so several health managers never fail over the same amphora twice), marks its load
/// balancer PENDING_UPDATE and casts <c>failover_amphora</c> to the worker. A mass outage
/// (<c>failover_threshold</c>) parks the amphorae in FAILOVER_STOPPED instead.
/// </summary>
public sealed partial class FailoverDetector
{
    private static readonly string[] Failoverable = [ProvisioningStatus.Allocated, ProvisioningStatus.FailoverStopped];
    private static readonly string[] FailoverableLb = [ProvisioningStatus.Active, ProvisioningStatus.Error];
    private static readonly string[] Gone = [ProvisioningStatus.Deleted, ProvisioningStatus.PendingDelete];
    private static readonly string[] InFlight = [ProvisioningStatus.Allocated, ProvisioningStatus.FailoverStopped, ProvisioningStatus.PendingDelete];

    private readonly OctaviaDatabase _database;
    private readonly IWorkerBus _bus;
    private readonly HealthManagerOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;

    /// <summary>Creates a detector over <paramref name="database"/> that casts to <paramref name="bus"/>.</summary>
    public FailoverDetector(OctaviaDatabase database, IWorkerBus bus, HealthManagerOptions options, TimeProvider timeProvider, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(bus);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        _database = database;
        _bus = bus;
        _options = options;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>Raised after each cycle of <see cref="RunAsync"/>, once the wait for the next one has been scheduled.</summary>
    public event Action<FailoverCycle>? CycleCompleted;

    /// <summary>Raised when <see cref="RunAsync"/> has scheduled its initial <c>heartbeat_timeout</c> wait.</summary>
    public event Action? Started;

    /// <summary>Waits <c>heartbeat_timeout</c>, then checks every <c>health_check_interval</c> until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            // Amphorae need a chance to report after a controller restart before anything counts as stale.
            var initial = Task.Delay(TimeSpan.FromSeconds(_options.HeartbeatTimeout), _timeProvider, cancellationToken);
            Started?.Invoke();
            await initial.ConfigureAwait(false);
            while (!cancellationToken.IsCancellationRequested)
            {
                FailoverCycle cycle;
                try
                {
                    cycle = await CheckOnceAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogCheckFailed(_logger, ex);
                    cycle = new FailoverCycle(0, false, []);
                }
                var next = Task.Delay(TimeSpan.FromSeconds(Math.Max(_options.HealthCheckInterval, 1)), _timeProvider, cancellationToken);
                CycleCompleted?.Invoke(cycle);
                await next.ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One health check cycle.</summary>
    public async Task<FailoverCycle> CheckOnceAsync(CancellationToken cancellationToken)
    {
        var expiredBefore = _timeProvider.GetUtcNow().UtcDateTime.AddSeconds(-_options.HeartbeatTimeout);
        await using var db = _database.CreateContext();

        // FAILOVER_STOPPED amphorae that report again go back to ALLOCATED.
        var fresh = db.AmphoraHealth.Where(h => !h.Busy && h.LastUpdate >= expiredBefore).Select(h => h.AmphoraId);
        await db.Amphorae
            .Where(a => a.Status == ProvisioningStatus.FailoverStopped && fresh.Contains(a.Id))
            .ExecuteUpdateAsync(s => s.SetProperty(a => a.Status, ProvisioningStatus.Allocated), cancellationToken)
            .ConfigureAwait(false);

        var expiredIds = db.AmphoraHealth.Where(h => !h.Busy && h.LastUpdate < expiredBefore).Select(h => h.AmphoraId);
        var expired = await expiredIds.CountAsync(cancellationToken).ConfigureAwait(false);
        if (_options.FailoverThreshold is { } threshold && expired >= threshold)
        {
            var stopped = await db.Amphorae
                .Where(a => !Gone.Contains(a.Status) && expiredIds.Contains(a.Id))
                .ExecuteUpdateAsync(s => s.SetProperty(a => a.Status, ProvisioningStatus.FailoverStopped), cancellationToken)
                .ConfigureAwait(false);
            LogThreshold(_logger, threshold, stopped);
            return new FailoverCycle(expired, true, []);
        }
        if (expired == 0)
        {
            return new FailoverCycle(0, false, []);
        }

        // Casts return at once, so "failover_threads at a time" counts failovers the worker has not finished:
        // claimed (busy) amphorae that are not yet DELETED or ERROR.
        var running = await db.AmphoraHealth
            .Where(h => h.Busy && db.Amphorae.Any(a => a.Id == h.AmphoraId && InFlight.Contains(a.Status)))
            .CountAsync(cancellationToken).ConfigureAwait(false);
        var slots = Math.Max(_options.FailoverThreads, 1) - running;
        if (slots <= 0)
        {
            LogBusy(_logger, running);
            return new FailoverCycle(expired, false, []);
        }

        var candidates = await (
            from h in db.AmphoraHealth
            join a in db.Amphorae on h.AmphoraId equals a.Id
            where !h.Busy && h.LastUpdate < expiredBefore && Failoverable.Contains(a.Status)
            select new { a.Id, a.LoadBalancerId }).ToListAsync(cancellationToken).ConfigureAwait(false);
        // Several health managers start from different amphorae, as upstream's ORDER BY random() does.
        var shuffled = candidates.ToArray();
        Random.Shared.Shuffle(shuffled);

        var failedOver = new List<string>();
        foreach (var candidate in shuffled)
        {
            if (failedOver.Count >= slots)
            {
                break;
            }
            var priorLbStatus = await ClaimAsync(db, candidate.Id, candidate.LoadBalancerId, expiredBefore, cancellationToken).ConfigureAwait(false);
            if (priorLbStatus is null)
            {
                continue;
            }
            LogStale(_logger, candidate.Id);
            try
            {
                await _bus.CastAsync(new WorkerCast("failover_amphora", new JsonObject { ["amphora_id"] = candidate.Id }), cancellationToken).ConfigureAwait(false);
                failedOver.Add(candidate.Id);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                LogCastFailed(_logger, candidate.Id, ex);
                await ReleaseAsync(candidate.Id, candidate.LoadBalancerId, priorLbStatus).ConfigureAwait(false);
            }
        }
        return new FailoverCycle(expired, false, failedOver);
    }

    // Returns the LB's previous provisioning status ("" when the amphora has no LB), or null if the
    // amphora was claimed by someone else, recovered, or its LB is immutable.
    private async Task<string?> ClaimAsync(OctaviaDbContext db, string amphoraId, string? lbId, DateTime expiredBefore, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var claimed = await db.AmphoraHealth
            .Where(h => h.AmphoraId == amphoraId && !h.Busy && h.LastUpdate < expiredBefore)
            .ExecuteUpdateAsync(s => s.SetProperty(h => h.Busy, true), cancellationToken)
            .ConfigureAwait(false);
        if (claimed != 1)
        {
            await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
            return null;
        }
        var prior = "";
        if (lbId is not null)
        {
            prior = await db.LoadBalancers.Where(l => l.Id == lbId).Select(l => l.ProvisioningStatus).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false) ?? "";
            var marked = await db.LoadBalancers
                .Where(l => l.Id == lbId && FailoverableLb.Contains(l.ProvisioningStatus))
                .ExecuteUpdateAsync(s => s.SetProperty(l => l.ProvisioningStatus, ProvisioningStatus.PendingUpdate), cancellationToken)
                .ConfigureAwait(false);
            if (marked != 1)
            {
                // Upstream ends the cycle here; skipping just this amphora keeps one busy LB from blocking the rest.
                await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
                LogImmutable(_logger, lbId, prior, amphoraId);
                return null;
            }
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return prior;
    }

    private async Task ReleaseAsync(string amphoraId, string? lbId, string priorLbStatus)
    {
        try
        {
            await using var db = _database.CreateContext();
            await db.AmphoraHealth.Where(h => h.AmphoraId == amphoraId)
                .ExecuteUpdateAsync(s => s.SetProperty(h => h.Busy, false)).ConfigureAwait(false);
            if (lbId is not null && priorLbStatus.Length > 0)
            {
                await db.LoadBalancers.Where(l => l.Id == lbId && l.ProvisioningStatus == ProvisioningStatus.PendingUpdate)
                    .ExecuteUpdateAsync(s => s.SetProperty(l => l.ProvisioningStatus, priorLbStatus)).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is DbUpdateException or InvalidOperationException or System.Data.Common.DbException)
        {
            LogReleaseFailed(_logger, amphoraId, ex);
        }
    }

    [LoggerMessage(EventId = 4120, Level = LogLevel.Information, Message = "Stale amphora's id is: {AmphoraId}; casting failover_amphora")]
    private static partial void LogStale(ILogger logger, string amphoraId);

    [LoggerMessage(EventId = 4121, Level = LogLevel.Error, Message = "Stale amphora count reached the threshold ({Threshold}). {Count} amphorae were set into FAILOVER_STOPPED status")]
    private static partial void LogThreshold(ILogger logger, int threshold, int count);

    [LoggerMessage(EventId = 4122, Level = LogLevel.Warning, Message = "Load balancer {LoadBalancerId} is in immutable state {Status}. Skipping failover of amphora {AmphoraId}")]
    private static partial void LogImmutable(ILogger logger, string loadBalancerId, string status, string amphoraId);

    [LoggerMessage(EventId = 4123, Level = LogLevel.Error, Message = "Casting failover_amphora for {AmphoraId} failed; the claim was released")]
    private static partial void LogCastFailed(ILogger logger, string amphoraId, Exception exception);

    [LoggerMessage(EventId = 4124, Level = LogLevel.Error, Message = "Releasing the failover claim on amphora {AmphoraId} failed")]
    private static partial void LogReleaseFailed(ILogger logger, string amphoraId, Exception exception);

    [LoggerMessage(EventId = 4125, Level = LogLevel.Error, Message = "Health check cycle failed")]
    private static partial void LogCheckFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 4126, Level = LogLevel.Information, Message = "{Running} failovers still running; waiting for a free failover thread")]
    private static partial void LogBusy(ILogger logger, int running);
}
