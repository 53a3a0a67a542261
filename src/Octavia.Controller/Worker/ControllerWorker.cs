// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Octavia.Controller.Messaging;
using Octavia.Controller.Worker.Engine;
using Octavia.Controller.Worker.Flows;
using Octavia.Core.Messaging;
using Octavia.Data;

namespace Octavia.Controller.Worker;

/// <summary>
/// The worker's endpoint (upstream <c>controller/queue/v2/endpoints.py</c> + <c>controller_worker.py</c>):
/// turns each cast into a persisted flow job and runs it, and takes over jobs whose worker died.
/// </summary>
public sealed partial class ControllerWorker : IDisposable, ICastJournal
{
    private readonly FlowEngine _engine;
    private readonly FlowCatalog _catalog;
    private readonly SemaphoreSlim _slots;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, bool> _running = new();

    public ControllerWorker(FlowEngine engine, FlowCatalog catalog, int concurrency, ILogger<ControllerWorker> logger)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(logger);
        _engine = engine;
        _catalog = catalog;
        _slots = new SemaphoreSlim(Math.Max(1, concurrency));
        _logger = logger;
    }

    public void Dispose() => _slots.Dispose();

    /// <summary>
    /// Handles one cast to completion. A redelivered cast (same message id) resumes the job it created
    /// before instead of starting a second one. Bad casts are logged and dropped.
    /// </summary>
    public async Task HandleCastAsync(WorkerCast cast, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cast);
        var job = await _engine.TryClaimAsync(cast.MessageId, cancellationToken).ConfigureAwait(false);
        if (job is null)
        {
            JsonObject? store;
            try
            {
                store = await _catalog.PrepareAsync(cast.Method, cast.Args, cancellationToken).ConfigureAwait(false);
            }
            catch (FlowPreparationException ex)
            {
                Log.Rejected(_logger, cast.Method, cast.MessageId, ex.Message);
                return;
            }
            if (store is null)
            {
                Log.NothingToDo(_logger, cast.Method, cast.MessageId);
                return;
            }
            if (!await _engine.CreateJobAsync(cast.MessageId, cast.Method, cast.Args, store, cancellationToken).ConfigureAwait(false))
            {
                // It existed after all (finished, or a live worker owns it): nothing for us to do.
                job = await _engine.TryClaimAsync(cast.MessageId, cancellationToken).ConfigureAwait(false);
                if (job is null)
                {
                    return;
                }
            }
            else
            {
                job = await _engine.TryClaimAsync(cast.MessageId, cancellationToken).ConfigureAwait(false);
                if (job is null)
                {
                    return;
                }
            }
        }
        await RunAsync(job, cancellationToken).ConfigureAwait(false);
    }

    // The in-process bus's journal: if this process dies with casts still queued in memory, the next worker
    // finds them as orphaned QUEUED jobs and runs them.
    FlowJob ICastJournal.Entry(WorkerCast cast)
    {
        ArgumentNullException.ThrowIfNull(cast);
        return _engine.QueuedJob(cast.MessageId, cast.Method, cast.Args);
    }

    Task ICastJournal.RecordAsync(WorkerCast cast, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cast);
        return _engine.QueueJobAsync(cast.MessageId, cast.Method, cast.Args, cancellationToken);
    }

    /// <summary>Claims and runs every job whose lease expired (their worker died); returns how many it ran.</summary>
    public async Task<int> RecoverOrphansAsync(CancellationToken cancellationToken)
    {
        var ids = await _engine.FindOrphansAsync(cancellationToken).ConfigureAwait(false);
        var runs = new List<Task>();
        foreach (var id in ids)
        {
            var job = await _engine.TryClaimAsync(id, cancellationToken).ConfigureAwait(false);
            if (job is null)
            {
                continue;
            }
            Log.TakingOver(_logger, job.Id, job.FlowName, job.State);
            runs.Add(RunAsync(job, cancellationToken));
        }
        await Task.WhenAll(runs).ConfigureAwait(false);
        return runs.Count;
    }

    /// <summary>Runs orphan recovery every <paramref name="period"/> until cancelled.</summary>
    public async Task RecoverOrphansLoopAsync(TimeSpan period, TimeProvider time, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await _engine.RenewQueuedAsync(cancellationToken).ConfigureAwait(false);
                await RecoverOrphansAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.RecoveryFailed(_logger, ex);
            }
            try
            {
                await Task.Delay(period, time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task RunAsync(FlowJob job, CancellationToken cancellationToken)
    {
        // The bus and orphan recovery can both reach a job this process owns (a QUEUED one, say): run it once.
        if (!_running.TryAdd(job.Id, true))
        {
            return;
        }
        try
        {
            await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await RunClaimedAsync(job, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _slots.Release();
            }
        }
        finally
        {
            _running.TryRemove(job.Id, out _);
        }
    }

    private async Task RunClaimedAsync(FlowJob job, CancellationToken cancellationToken)
    {
        if (job.State == FlowJobStates.Queued)
        {
            // Prepared now, as a cast is when it arrives: from the database as it is when the work starts.
            JsonObject? prepared = null;
            try
            {
                prepared = await _catalog.PrepareAsync(job.FlowName, JsonNode.Parse(job.Args) as JsonObject ?? [], cancellationToken).ConfigureAwait(false);
                if (prepared is null)
                {
                    Log.NothingToDo(_logger, job.FlowName, job.Id);
                }
            }
            catch (FlowPreparationException ex)
            {
                Log.Rejected(_logger, job.FlowName, job.Id, ex.Message);
            }
            var started = await _engine.StartQueuedAsync(job.Id, prepared, cancellationToken).ConfigureAwait(false);
            if (started is null)
            {
                return;
            }
            job = started;
        }
        var store = JsonNode.Parse(job.Store) as JsonObject ?? [];
        FlowNode root;
        try
        {
            root = FlowCatalog.Build(job.FlowName, store);
        }
        catch (FlowPreparationException ex)
        {
            Log.Rejected(_logger, job.FlowName, job.Id, ex.Message);
            return;
        }
        await _engine.RunAsync(job, root, cancellationToken).ConfigureAwait(false);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3101, Level = LogLevel.Error, Message = "Cast {Method} ({MessageId}) rejected: {Reason}")]
        public static partial void Rejected(ILogger logger, string method, string messageId, string reason);

        [LoggerMessage(EventId = 3102, Level = LogLevel.Information, Message = "Cast {Method} ({MessageId}): the object is already gone; nothing to do")]
        public static partial void NothingToDo(ILogger logger, string method, string messageId);

        [LoggerMessage(EventId = 3103, Level = LogLevel.Warning, Message = "Taking over flow job {JobId} ({Flow}, {State}) from a worker whose lease expired")]
        public static partial void TakingOver(ILogger logger, string jobId, string flow, string state);

        [LoggerMessage(EventId = 3104, Level = LogLevel.Error, Message = "Orphaned flow recovery failed; retrying later")]
        public static partial void RecoveryFailed(ILogger logger, Exception exception);
    }
}
