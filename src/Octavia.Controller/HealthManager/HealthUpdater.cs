// Licensed under the Apache License, Version 2.0.

using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Octavia.Core.Configuration;
using Octavia.Core.Drivers;
using Octavia.Core.Model;
using Octavia.Data;

namespace Octavia.Controller.HealthManager;

/// <summary>
/// Upstream's <c>UpdateHealthDb</c> and <c>update_stats</c>, batched: it drains whatever heartbeats are
/// queued, keeps the newest per amphora for health and status, sums v3 stats deltas, and writes the
/// result in one transaction. The amphora → load balancer graph is cached (see <see cref="CacheTtl"/>)
/// and updated in place on every write, so unchanged statuses cost no SQL.
/// </summary>
internal sealed partial class HealthUpdater : IAsyncDisposable
{
    /// <summary>Most heartbeats taken into one transaction.</summary>
    public const int MaxBatch = 4096;

    private static readonly TimeSpan ReloadGuard = TimeSpan.FromSeconds(1);

    private readonly OctaviaDatabase _database;
    private readonly HeartbeatCounters _counters;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly IComputeDriver? _compute;
    private readonly TimeSpan _heartbeatInterval;
    private readonly TimeSpan _zombieRetry;
    private readonly LogThrottle _throttle;
    private readonly Dictionary<string, AmphoraRecord> _amphorae = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _unknown = new(StringComparer.Ordinal);
    private readonly Dictionary<string, LoadBalancerHealthGraph> _graphs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _deadGraphs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _zombieDeletes = new(StringComparer.Ordinal);
    private HealthStore? _store;

    public HealthUpdater(
        OctaviaDatabase database,
        HealthManagerOptions options,
        HeartbeatCounters counters,
        TimeProvider timeProvider,
        ILogger logger,
        IComputeDriver? compute = null,
        TimeSpan? cacheTtl = null)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(counters);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        _database = database;
        _counters = counters;
        _timeProvider = timeProvider;
        _logger = logger;
        _compute = compute;
        _heartbeatInterval = TimeSpan.FromSeconds(options.HeartbeatInterval);
        _zombieRetry = TimeSpan.FromSeconds(Math.Max(options.HeartbeatTimeout, 1));
        CacheTtl = cacheTtl ?? TimeSpan.FromSeconds(10);
        _throttle = new LogThrottle(timeProvider, TimeSpan.FromSeconds(10));
    }

    /// <summary>
    /// How long a cached amphora or load balancer graph is trusted. Changes made by other processes (API,
    /// worker) are seen after at most this long; a pending LB is never cached.
    /// </summary>
    public TimeSpan CacheTtl { get; }

    /// <summary>Forgets everything cached about one amphora (and its load balancer).</summary>
    public void Invalidate(string amphoraId)
    {
        if (_amphorae.Remove(amphoraId, out var record) && record.LoadBalancerId is { } lb)
        {
            _graphs.Remove(lb);
            _deadGraphs.Remove(lb);
        }
        _unknown.Remove(amphoraId);
    }

    /// <summary>Forgets the whole cache.</summary>
    public void InvalidateAll()
    {
        _amphorae.Clear();
        _unknown.Clear();
        _graphs.Clear();
        _deadGraphs.Clear();
    }

    /// <summary>Processes queued heartbeats until the queue completes or <paramref name="cancellationToken"/> fires.</summary>
    public async Task RunAsync(ChannelReader<HeartbeatMessage> queue, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(queue);
        var batch = new List<HeartbeatMessage>(MaxBatch);
        try
        {
            while (await queue.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                batch.Clear();
                while (batch.Count < MaxBatch && queue.TryRead(out var message))
                {
                    batch.Add(message);
                }
                await ProcessBatchAsync(batch, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Applies one batch. Failures are logged and counted; the cache is dropped so nothing stale survives.</summary>
    public async Task ProcessBatchAsync(IReadOnlyList<HeartbeatMessage> batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0)
        {
            return;
        }
        var zombies = new List<AmphoraRecord>();
        try
        {
            _store ??= await HealthStore.OpenAsync(_database, cancellationToken).ConfigureAwait(false);
            var now = _timeProvider.GetUtcNow();
            var latest = new Dictionary<string, HeartbeatMessage>(StringComparer.Ordinal);
            var counts = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var message in batch)
            {
                latest[message.AmphoraId] = message;
                counts[message.AmphoraId] = counts.GetValueOrDefault(message.AmphoraId) + 1;
            }

            await ResolveAmphoraeAsync(_store, latest.Values, now, cancellationToken).ConfigureAwait(false);
            await ResolveGraphsAsync(_store, latest.Values, now, cancellationToken).ConfigureAwait(false);

            var writes = new HealthBatch();
            foreach (var (amphoraId, message) in latest)
            {
                if (!_amphorae.TryGetValue(amphoraId, out var amphora))
                {
                    _counters.UnknownAmphora(counts[amphoraId]);
                    Throttled("unknown:" + amphoraId, () => LogUnknownAmphora(_logger, amphoraId));
                    continue;
                }
                var graph = GraphFor(amphora);
                if (graph is null)
                {
                    if (amphora.LoadBalancerId is null && amphora.Status is ProvisioningStatus.Ready or ProvisioningStatus.Booting or ProvisioningStatus.PendingCreate)
                    {
                        // A spare (or one still being built) reports no listeners; keep its health row fresh.
                        if (message.Listeners.Count == 0 && !TooSlow(message, now))
                        {
                            writes.HealthyAmphorae.Add(amphoraId);
                        }
                    }
                    else
                    {
                        _counters.ZombieAmphora();
                        zombies.Add(amphora);
                    }
                    continue;
                }

                var expected = HealthStatusCalculator.ExpectedListenerCount(graph, message);
                if (expected is null || message.Listeners.Count == expected)
                {
                    if (TooSlow(message, now))
                    {
                        continue;
                    }
                    writes.HealthyAmphorae.Add(amphoraId);
                }
                else
                {
                    _counters.ListenerCountMismatch();
                    Throttled("count:" + amphoraId, () => LogListenerCount(_logger, amphoraId, message.Listeners.Count, expected.Value));
                }
                var changes = HealthStatusCalculator.Evaluate(graph, message);
                HealthStatusCalculator.Apply(graph, changes);
                writes.StatusChanges.AddRange(changes);
            }

            foreach (var message in batch)
            {
                AddStats(writes, message);
            }

            if (!writes.IsEmpty)
            {
                try
                {
                    await _store.WriteAsync(writes, now.UtcDateTime, cancellationToken).ConfigureAwait(false);
                }
                catch (System.Data.Common.DbException ex)
                {
                    // Another health manager may have inserted the same new amphora_health or statistics row
                    // (amphorae round-robin over controllers). The transaction rolled back, so replaying the
                    // whole batch once on a fresh connection is exact, deltas included.
                    LogRetry(_logger, ex.Message);
                    await _store.DisposeAsync().ConfigureAwait(false);
                    _store = null;
                    _store = await HealthStore.OpenAsync(_database, cancellationToken).ConfigureAwait(false);
                    await _store.WriteAsync(writes, now.UtcDateTime, cancellationToken).ConfigureAwait(false);
                }
            }
            _counters.Written(writes.HealthyAmphorae.Count, writes.StatusChanges.Count, writes.Stats.Count);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _counters.FailedBatch();
            LogBatchFailed(_logger, batch.Count, ex);
            InvalidateAll();
            if (_store is not null)
            {
                await _store.DisposeAsync().ConfigureAwait(false);
                _store = null;
            }
        }
        finally
        {
            _counters.Processed(batch.Count);
        }
        foreach (var zombie in zombies)
        {
            await DeleteZombieAsync(zombie, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync().ConfigureAwait(false);
            _store = null;
        }
    }

    private bool TooSlow(HeartbeatMessage message, DateTimeOffset now)
    {
        var delay = now - message.ReceivedAt;
        if (delay < _heartbeatInterval)
        {
            return false;
        }
        _counters.TooSlow();
        Throttled("slow", () => LogTooSlow(_logger, message.AmphoraId, delay.TotalSeconds));
        return true;
    }

    private LoadBalancerHealthGraph? GraphFor(AmphoraRecord amphora) =>
        amphora.Status != ProvisioningStatus.Deleted && amphora.LoadBalancerId is { } lb && _graphs.TryGetValue(lb, out var graph)
            ? graph
            : null;

    private async Task ResolveAmphoraeAsync(HealthStore store, IEnumerable<HeartbeatMessage> messages, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var missing = new List<string>();
        foreach (var message in messages)
        {
            var id = message.AmphoraId;
            if (_amphorae.TryGetValue(id, out var cached) && now - cached.LoadedAt < CacheTtl && !Unsettled(cached, message))
            {
                continue;
            }
            if (_unknown.TryGetValue(id, out var seen) && now - seen < CacheTtl)
            {
                continue;
            }
            missing.Add(id);
        }
        if (missing.Count == 0)
        {
            return;
        }
        var loaded = await store.LoadAmphoraeAsync(missing, now, cancellationToken).ConfigureAwait(false);
        foreach (var id in missing)
        {
            if (loaded.TryGetValue(id, out var record))
            {
                _amphorae[id] = record;
                _unknown.Remove(id);
            }
            else
            {
                _amphorae.Remove(id);
                // Only holders of heartbeat_key can make up ids, but the negative cache stays bounded anyway.
                if (_unknown.Count >= 100_000)
                {
                    _unknown.Clear();
                }
                _unknown[id] = now;
            }
        }
    }

    // An amphora still being built (a failover's replacement, a new LB's) heartbeats before the worker maps it
    // to its load balancer: a cached "booting, no load balancer" record would drop its heartbeats once HAProxy
    // reports listeners, for up to CacheTtl, which is longer than a short heartbeat_timeout (failover loop).
    private static bool Unsettled(AmphoraRecord cached, HeartbeatMessage message) =>
        cached.Status is ProvisioningStatus.Booting or ProvisioningStatus.PendingCreate
        || (cached.LoadBalancerId is null && message.Listeners.Count > 0);

    private async Task ResolveGraphsAsync(HealthStore store, IEnumerable<HeartbeatMessage> messages, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var missing = new HashSet<string>(StringComparer.Ordinal);
        foreach (var message in messages)
        {
            if (!_amphorae.TryGetValue(message.AmphoraId, out var amphora) || amphora.LoadBalancerId is not { } lbId)
            {
                continue;
            }
            if (_graphs.TryGetValue(lbId, out var graph))
            {
                var age = now - graph.LoadedAt;
                var fresh = age < CacheTtl && !ProvisioningStatus.IsPending(graph.ProvisioningStatus);
                // Objects the amphora reports that the cache does not know were probably just created.
                if (fresh && age >= ReloadGuard && ReportsUnknownObjects(graph, message))
                {
                    fresh = false;
                }
                if (fresh)
                {
                    continue;
                }
            }
            else if (_deadGraphs.TryGetValue(lbId, out var seen) && now - seen < CacheTtl)
            {
                continue;
            }
            missing.Add(lbId);
        }
        if (missing.Count == 0)
        {
            return;
        }
        var loaded = await store.LoadGraphsAsync([.. missing], now, cancellationToken).ConfigureAwait(false);
        foreach (var lbId in missing)
        {
            if (loaded.TryGetValue(lbId, out var graph))
            {
                _graphs[lbId] = graph;
                _deadGraphs.Remove(lbId);
            }
            else
            {
                _graphs.Remove(lbId);
                _deadGraphs[lbId] = now;
            }
        }
    }

    private static bool ReportsUnknownObjects(LoadBalancerHealthGraph graph, HeartbeatMessage message)
    {
        foreach (var listenerId in message.Listeners.Keys)
        {
            if (!graph.Listeners.ContainsKey(listenerId))
            {
                return true;
            }
        }
        foreach (var (poolId, pool) in message.Pools)
        {
            if (!graph.Pools.TryGetValue(poolId, out var dbPool))
            {
                return true;
            }
            foreach (var memberId in pool.Members.Keys)
            {
                if (!dbPool.Members.ContainsKey(memberId))
                {
                    return true;
                }
            }
        }
        return false;
    }

    private void AddStats(HealthBatch writes, HeartbeatMessage message)
    {
        if (!_amphorae.TryGetValue(message.AmphoraId, out var amphora) || GraphFor(amphora) is not { } graph)
        {
            return;
        }
        foreach (var (listenerId, listener) in message.Listeners)
        {
            if (listener.Stats is not { } stats || !graph.Listeners.ContainsKey(listenerId))
            {
                continue;
            }
            var key = (listenerId, message.AmphoraId);
            if (!writes.Stats.TryGetValue(key, out var row))
            {
                row = new StatsUpdate();
                writes.Stats[key] = row;
            }
            if (message.Version < 3)
            {
                row.Replace = true;
                row.BytesIn = stats.Rx;
                row.BytesOut = stats.Tx;
                row.TotalConnections = stats.TotConns;
                row.RequestErrors = stats.Ereq;
            }
            else
            {
                row.BytesIn += stats.Rx;
                row.BytesOut += stats.Tx;
                row.TotalConnections += stats.TotConns;
                row.RequestErrors += stats.Ereq;
            }
            row.ActiveConnections = stats.Conns;
        }
    }

    private async Task DeleteZombieAsync(AmphoraRecord amphora, CancellationToken cancellationToken)
    {
        var now = _timeProvider.GetUtcNow();
        if (_zombieDeletes.TryGetValue(amphora.Id, out var last) && now - last < _zombieRetry)
        {
            return;
        }
        _zombieDeletes[amphora.Id] = now;
        if (_compute is null || amphora.ComputeId is null)
        {
            Throttled("zombie:" + amphora.Id, () => LogZombieNoCompute(_logger, amphora.Id));
            return;
        }
        try
        {
            LogZombieDelete(_logger, amphora.Id, amphora.ComputeId);
            await _compute.DeleteAsync(amphora.ComputeId, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogZombieDeleteFailed(_logger, amphora.Id, ex);
        }
    }

    private void Throttled(string key, Action log)
    {
        if (_throttle.ShouldLog(key, out _))
        {
            log();
        }
    }

    [LoggerMessage(EventId = 4110, Level = LogLevel.Debug, Message = "Heartbeat from amphora {AmphoraId}, which is not in the database; dropped")]
    private static partial void LogUnknownAmphora(ILogger logger, string amphoraId);

    [LoggerMessage(EventId = 4111, Level = LogLevel.Warning, Message = "Amphora {AmphoraId} health message reports {Found} listeners when {Expected} expected")]
    private static partial void LogListenerCount(ILogger logger, string amphoraId, int found, int expected);

    [LoggerMessage(EventId = 4112, Level = LogLevel.Warning, Message = "Amphora {AmphoraId} health message was processed too slowly: {Delay}s! The heartbeat was ignored")]
    private static partial void LogTooSlow(ILogger logger, string amphoraId, double delay);

    [LoggerMessage(EventId = 4113, Level = LogLevel.Error, Message = "Health update of {Count} heartbeats failed; the batch was skipped")]
    private static partial void LogBatchFailed(ILogger logger, int count, Exception exception);

    [LoggerMessage(EventId = 4117, Level = LogLevel.Debug, Message = "Health batch write failed ({Error}); retrying once")]
    private static partial void LogRetry(ILogger logger, string error);

    [LoggerMessage(EventId = 4114, Level = LogLevel.Information, Message = "Amphora {AmphoraId} sends heartbeats but has no live load balancer; deleting compute instance {ComputeId}")]
    private static partial void LogZombieDelete(ILogger logger, string amphoraId, string computeId);

    [LoggerMessage(EventId = 4115, Level = LogLevel.Warning, Message = "Amphora {AmphoraId} sends heartbeats but has no live load balancer, and no compute driver or compute id is available to delete it")]
    private static partial void LogZombieNoCompute(ILogger logger, string amphoraId);

    [LoggerMessage(EventId = 4116, Level = LogLevel.Warning, Message = "Deleting the compute instance of zombie amphora {AmphoraId} failed")]
    private static partial void LogZombieDeleteFailed(ILogger logger, string amphoraId, Exception exception);
}
