// Licensed under the Apache License, Version 2.0.

using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Octavia.Core.Configuration;
using Octavia.Core.Messaging;
using Octavia.Core.Model;
using Octavia.Data;

namespace Octavia.Controller.Housekeeping;

/// <summary>Which housekeeping loop finished a cycle.</summary>
public enum HousekeepingTask
{
    /// <summary>Spare amphora pool check.</summary>
    Spares,
    /// <summary>Expired DELETED rows purge.</summary>
    Cleanup,
    /// <summary>Certificate rotation.</summary>
    CertRotation,
}

/// <summary>What one housekeeping cycle did.</summary>
public sealed record HousekeepingCycle(HousekeepingTask Task, int Count);

/// <summary>
/// Upstream's <c>octavia-housekeeping</c>: purges expired DELETED amphora and load balancer rows, starts
/// certificate rotation for amphorae whose certificate is about to expire, and (ours, as before upstream
/// 9.0) keeps <c>spare_amphora_pool_size</c> spare amphorae. The work itself is cast to the worker.
/// </summary>
public sealed partial class Housekeeper
{
    private static readonly string[] Gone = [ProvisioningStatus.Deleted, ProvisioningStatus.PendingDelete];
    private static readonly string[] SpareStatuses = [ProvisioningStatus.Ready, ProvisioningStatus.Booting, ProvisioningStatus.PendingCreate];

    private readonly OctaviaDatabase _database;
    private readonly IWorkerBus _bus;
    private readonly HouseKeepingOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;

    /// <summary>Creates a housekeeper over <paramref name="database"/> that casts to <paramref name="bus"/>.</summary>
    public Housekeeper(OctaviaDatabase database, IWorkerBus bus, HouseKeepingOptions options, TimeProvider timeProvider, ILogger logger)
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

    /// <summary>Raised after each cycle, once the wait for the loop's next cycle has been scheduled.</summary>
    public event Action<HousekeepingCycle>? CycleCompleted;

    /// <summary>Runs the three loops (each immediately, then every its interval) until cancelled.</summary>
    public Task RunAsync(CancellationToken cancellationToken) => Task.WhenAll(
        LoopAsync(HousekeepingTask.Spares, _options.SpareCheckInterval, CheckSparesAsync, cancellationToken),
        LoopAsync(HousekeepingTask.Cleanup, _options.CleanupInterval, CleanupAsync, cancellationToken),
        LoopAsync(HousekeepingTask.CertRotation, _options.CertInterval, RotateCertificatesAsync, cancellationToken));

    /// <summary>Casts <c>create_spare_amphora</c> once per missing spare; returns how many were requested.</summary>
    public async Task<int> CheckSparesAsync(CancellationToken cancellationToken)
    {
        if (_options.SpareAmphoraPoolSize <= 0)
        {
            return 0;
        }
        int have;
        await using (var db = _database.CreateContext())
        {
            have = await db.Amphorae
                .CountAsync(a => a.LoadBalancerId == null && SpareStatuses.Contains(a.Status), cancellationToken)
                .ConfigureAwait(false);
        }
        var missing = _options.SpareAmphoraPoolSize - have;
        if (missing <= 0)
        {
            return 0;
        }
        LogSpares(_logger, have, _options.SpareAmphoraPoolSize, missing);
        for (var i = 0; i < missing; i++)
        {
            await _bus.CastAsync(new WorkerCast("create_spare_amphora", []), cancellationToken).ConfigureAwait(false);
        }
        return missing;
    }

    /// <summary>Upstream's <c>DatabaseCleanup</c>: returns the number of rows purged.</summary>
    public async Task<int> CleanupAsync(CancellationToken cancellationToken)
    {
        var now = _timeProvider.GetUtcNow().UtcDateTime;
        var ampExpiry = now.AddSeconds(-_options.AmphoraExpiryAge);
        var lbExpiry = now.AddSeconds(-_options.LoadBalancerExpiryAge);
        var purged = 0;
        await using var db = _database.CreateContext();

        var amphorae = await db.Amphorae
            .Where(a => a.Status == ProvisioningStatus.Deleted && a.UpdatedAt < ampExpiry)
            .Select(a => a.Id)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        foreach (var id in amphorae)
        {
            // A DELETED amphora that still sends heartbeats is a zombie; keep its row until it goes quiet.
            var alive = await db.AmphoraHealth.AnyAsync(h => h.AmphoraId == id && h.LastUpdate > ampExpiry, cancellationToken).ConfigureAwait(false);
            if (alive)
            {
                continue;
            }
            await db.AmphoraHealth.Where(h => h.AmphoraId == id).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
            purged += await db.Amphorae.Where(a => a.Id == id && a.Status == ProvisioningStatus.Deleted).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
            LogPurgedAmphora(_logger, id);
        }

        var loadBalancers = await db.LoadBalancers
            .Where(l => l.ProvisioningStatus == ProvisioningStatus.Deleted && l.UpdatedAt < lbExpiry)
            .Select(l => l.Id)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        foreach (var id in loadBalancers)
        {
            purged += await db.LoadBalancers.Where(l => l.Id == id && l.ProvisioningStatus == ProvisioningStatus.Deleted)
                .ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
            LogPurgedLoadBalancer(_logger, id);
        }

        // Ours: finished flow jobs (upstream's jobboard forgets them itself) go with the load balancers' age.
        var jobs = await db.Set<FlowJob>()
            .Where(j => (j.State == FlowJobStates.Success || j.State == FlowJobStates.Reverted) && j.UpdatedAt < lbExpiry)
            .ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
        if (jobs > 0)
        {
            LogPurgedFlowJobs(_logger, jobs);
        }
        return purged + jobs;
    }

    /// <summary>Upstream's <c>CertRotation.rotate</c>: returns the number of rotations cast.</summary>
    public async Task<int> RotateCertificatesAsync(CancellationToken cancellationToken)
    {
        var expiring = _timeProvider.GetUtcNow().UtcDateTime.AddSeconds(_options.CertExpiryBuffer);
        await using var db = _database.CreateContext();
        var candidates = await db.Amphorae
            .Where(a => !Gone.Contains(a.Status) && !a.CertBusy && a.CertExpiration < expiring)
            .Select(a => a.Id)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        var rotated = 0;
        foreach (var id in candidates)
        {
            // Claim first: another housekeeper may be looking at the same rows.
            var claimed = await db.Amphorae
                .Where(a => a.Id == id && !a.CertBusy)
                .ExecuteUpdateAsync(s => s.SetProperty(a => a.CertBusy, true), cancellationToken)
                .ConfigureAwait(false);
            if (claimed != 1)
            {
                continue;
            }
            try
            {
                await _bus.CastAsync(new WorkerCast("rotate_amphora_certificate", new JsonObject { ["amphora_id"] = id }), cancellationToken).ConfigureAwait(false);
                rotated++;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                LogRotateCastFailed(_logger, id, ex);
                await db.Amphorae.Where(a => a.Id == id)
                    .ExecuteUpdateAsync(s => s.SetProperty(a => a.CertBusy, false), CancellationToken.None)
                    .ConfigureAwait(false);
            }
        }
        if (rotated > 0)
        {
            LogRotated(_logger, rotated);
        }
        return rotated;
    }

    private async Task LoopAsync(HousekeepingTask task, int intervalSeconds, Func<CancellationToken, Task<int>> work, CancellationToken cancellationToken)
    {
        var interval = TimeSpan.FromSeconds(Math.Max(intervalSeconds, 1));
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                int count;
                try
                {
                    count = await work(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // As upstream: log and try again next interval.
                    LogCycleFailed(_logger, task, ex);
                    count = -1;
                }
                var next = Task.Delay(interval, _timeProvider, cancellationToken);
                CycleCompleted?.Invoke(new HousekeepingCycle(task, count));
                await next.ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(EventId = 4200, Level = LogLevel.Information, Message = "Spare pool has {Have} of {Size} amphorae; requesting {Missing} more")]
    private static partial void LogSpares(ILogger logger, int have, int size, int missing);

    [LoggerMessage(EventId = 4201, Level = LogLevel.Information, Message = "Purged db record for Amphora ID: {AmphoraId}")]
    private static partial void LogPurgedAmphora(ILogger logger, string amphoraId);

    [LoggerMessage(EventId = 4202, Level = LogLevel.Information, Message = "Deleted load balancer id : {LoadBalancerId}")]
    private static partial void LogPurgedLoadBalancer(ILogger logger, string loadBalancerId);

    [LoggerMessage(EventId = 4206, Level = LogLevel.Information, Message = "Purged {Count} finished flow jobs")]
    private static partial void LogPurgedFlowJobs(ILogger logger, int count);

    [LoggerMessage(EventId = 4203, Level = LogLevel.Information, Message = "Rotated certificates for {Count} amphora")]
    private static partial void LogRotated(ILogger logger, int count);

    [LoggerMessage(EventId = 4204, Level = LogLevel.Error, Message = "Casting rotate_amphora_certificate for {AmphoraId} failed; cert_busy was released")]
    private static partial void LogRotateCastFailed(ILogger logger, string amphoraId, Exception exception);

    [LoggerMessage(EventId = 4205, Level = LogLevel.Warning, Message = "Housekeeping task {Task} failed and will run again next interval")]
    private static partial void LogCycleFailed(ILogger logger, HousekeepingTask task, Exception exception);
}
