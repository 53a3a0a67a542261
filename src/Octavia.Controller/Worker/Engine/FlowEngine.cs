// Licensed under the Apache License, Version 2.0.

using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Octavia.Data;

namespace Octavia.Controller.Worker.Engine;

/// <summary>How a job run ended for this worker.</summary>
public enum FlowOutcome
{
    /// <summary>Every task completed.</summary>
    Success,
    /// <summary>A task failed and the completed tasks were reverted.</summary>
    Reverted,
    /// <summary>This worker stopped (shutdown or lost lease); another worker will take the job over.</summary>
    Abandoned,
}

/// <summary>The lease on a job was taken by another worker; stop touching it.</summary>
public sealed class LeaseLostException(string jobId) : Exception($"lease on flow job {jobId} was lost")
{
}

/// <summary>Engine settings.</summary>
public sealed record FlowEngineOptions
{
    /// <summary>Name written to <c>flow_job.owner</c>.</summary>
    public string Owner { get; init; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";

    /// <summary>How long a job stays ours without renewal; a dead worker's jobs are taken over after this.</summary>
    public TimeSpan Lease { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>After this many starts of the same job, a still-running job is reverted instead of resumed.</summary>
    public int MaxAttempts { get; init; } = 3;
}

/// <summary>
/// Runs flows and persists their progress in <c>flow_job</c> after every task, so another worker can
/// resume a flow (forward) or finish its revert after this one dies. A failing flow reverts the failed
/// task, then every completed task in reverse completion order.
/// </summary>
public sealed partial class FlowEngine
{
    private readonly Func<WorkerDbContext> _db;
    private readonly IServiceProvider _services;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public FlowEngine(Func<WorkerDbContext> db, IServiceProvider services, FlowEngineOptions options, TimeProvider time, ILogger<FlowEngine> logger)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _db = db;
        _services = services;
        Options = options;
        _time = time;
        _logger = logger;
    }

    public FlowEngineOptions Options { get; }

    /// <summary>Inserts a new job (state PENDING, owned by this worker) unless one with this id exists.</summary>
    /// <returns>False if the job already existed (a redelivered cast).</returns>
    public async Task<bool> CreateJobAsync(string id, string flowName, JsonObject args, JsonObject store, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(store);
        await using var db = _db();
        if (await db.FlowJobs.AnyAsync(j => j.Id == id, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }
        var now = Now();
        db.FlowJobs.Add(new FlowJob
        {
            Id = id,
            FlowName = flowName,
            Args = args.ToJsonString(),
            Store = store.ToJsonString(),
            Progress = "{}",
            State = FlowJobStates.Pending,
            Owner = Options.Owner,
            LeaseExpiresAt = now + Options.Lease,
            CreatedAt = now,
            UpdatedAt = now,
        });
        try
        {
            await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (DbUpdateException)
        {
            // Another worker inserted the same cast's job between our check and insert.
            return false;
        }
    }

    /// <summary>
    /// Records a cast that waits in this process's memory (state QUEUED, owned by this worker, the
    /// lease renewed by <see cref="RenewQueuedAsync"/>); a no-op if the job exists.
    /// </summary>
    public async Task QueueJobAsync(string id, string flowName, JsonObject args, CancellationToken cancellationToken)
    {
        await using var db = _db();
        db.FlowJobs.Add(QueuedJob(id, flowName, args));
        try
        {
            await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (DbUpdateException)
        {
            await using var check = _db();
            if (!await check.FlowJobs.AnyAsync(j => j.Id == id, cancellationToken).ConfigureAwait(false))
            {
                throw;
            }
        }
    }

    /// <summary>A QUEUED job row owned by this worker, its lease starting now.</summary>
    public FlowJob QueuedJob(string id, string flowName, JsonObject args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var now = Now();
        return new FlowJob
        {
            Id = id,
            FlowName = flowName,
            Args = args.ToJsonString(),
            State = FlowJobStates.Queued,
            Owner = Options.Owner,
            LeaseExpiresAt = now + Options.Lease,
            CreatedAt = now,
            UpdatedAt = now,
        };
    }

    /// <summary>Keeps this worker's QUEUED jobs its own while they wait in memory.</summary>
    public async Task RenewQueuedAsync(CancellationToken cancellationToken)
    {
        var until = Now() + Options.Lease;
        var owner = Options.Owner;
        await using var db = _db();
        await db.FlowJobs.Where(j => j.Owner == owner && j.State == FlowJobStates.Queued)
            .ExecuteUpdateAsync(s => s.SetProperty(j => j.LeaseExpiresAt, until), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Turns a claimed QUEUED job into a PENDING one with its prepared store, or deletes it when there is
    /// nothing to run (<paramref name="store"/> null). Returns the job to run, or null.
    /// </summary>
    public async Task<FlowJob?> StartQueuedAsync(string id, JsonObject? store, CancellationToken cancellationToken)
    {
        var owner = Options.Owner;
        await using var db = _db();
        var mine = db.FlowJobs.Where(j => j.Id == id && j.Owner == owner && j.State == FlowJobStates.Queued);
        if (store is null)
        {
            await mine.ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
            return null;
        }
        var text = store.ToJsonString();
        var now = Now();
        if (await mine.ExecuteUpdateAsync(s => s.SetProperty(j => j.Store, text).SetProperty(j => j.State, FlowJobStates.Pending).SetProperty(j => j.UpdatedAt, now), cancellationToken).ConfigureAwait(false) == 0)
        {
            return null;
        }
        return await db.FlowJobs.AsNoTracking().SingleAsync(j => j.Id == id, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Takes the lease on a job if nobody holds a live one (or it is already ours). Returns the job, or
    /// null if it is terminal or owned by a live worker.
    /// </summary>
    public async Task<FlowJob?> TryClaimAsync(string id, CancellationToken cancellationToken)
    {
        var now = Now();
        var until = now + Options.Lease;
        var owner = Options.Owner;
        await using var db = _db();
        var claimed = await db.FlowJobs
            .Where(j => j.Id == id
                && j.State != FlowJobStates.Success && j.State != FlowJobStates.Reverted
                && (j.Owner == owner || j.Owner == null || j.LeaseExpiresAt == null || j.LeaseExpiresAt < now))
            .ExecuteUpdateAsync(s => s.SetProperty(j => j.Owner, owner).SetProperty(j => j.LeaseExpiresAt, until), cancellationToken)
            .ConfigureAwait(false);
        if (claimed == 0)
        {
            return null;
        }
        return await db.FlowJobs.AsNoTracking().SingleAsync(j => j.Id == id, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Ids of unfinished jobs whose lease has expired (their worker died or stopped).</summary>
    public async Task<IReadOnlyList<string>> FindOrphansAsync(CancellationToken cancellationToken)
    {
        var now = Now();
        await using var db = _db();
        return await db.FlowJobs.AsNoTracking()
            .Where(j => j.State != FlowJobStates.Success && j.State != FlowJobStates.Reverted
                && (j.Owner == null || j.LeaseExpiresAt == null || j.LeaseExpiresAt < now))
            .OrderBy(j => j.CreatedAt)
            .Select(j => j.Id)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs (or resumes) a claimed job until it succeeds, is reverted, or this worker stops.</summary>
    public async Task<FlowOutcome> RunAsync(FlowJob job, FlowNode root, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(root);
        var store = JsonNode.Parse(job.Store) as JsonObject ?? [];
        using var run = new JobRun(this, job, root, new FlowContext(job.Id, store, _services));
        using var renewCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var renewal = RenewLeaseAsync(job.Id, renewCts.Token);
        try
        {
            return await run.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (LeaseLostException)
        {
            Log.LeaseLost(_logger, job.Id, job.FlowName);
            return FlowOutcome.Abandoned;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await ReleaseAsync(job.Id).ConfigureAwait(false);
            Log.Abandoned(_logger, job.Id, job.FlowName);
            return FlowOutcome.Abandoned;
        }
        finally
        {
            await renewCts.CancelAsync().ConfigureAwait(false);
            try
            {
                await renewal.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    private DateTime Now() => _time.GetUtcNow().UtcDateTime;

    private async Task RenewLeaseAsync(string id, CancellationToken cancellationToken)
    {
        var period = Options.Lease / 3;
        while (true)
        {
            await Task.Delay(period, _time, cancellationToken).ConfigureAwait(false);
            var until = Now() + Options.Lease;
            var owner = Options.Owner;
            try
            {
                await using var db = _db();
                await db.FlowJobs.Where(j => j.Id == id && j.Owner == owner)
                    .ExecuteUpdateAsync(s => s.SetProperty(j => j.LeaseExpiresAt, until), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.LeaseRenewFailed(_logger, id, ex);
            }
        }
    }

    // On a clean shutdown, let the next worker take the job at once instead of waiting for the lease.
    private async Task ReleaseAsync(string id)
    {
        try
        {
            var owner = Options.Owner;
            await using var db = _db();
            await db.FlowJobs.Where(j => j.Id == id && j.Owner == owner)
                .ExecuteUpdateAsync(s => s.SetProperty(j => j.Owner, (string?)null).SetProperty(j => j.LeaseExpiresAt, (DateTime?)null), CancellationToken.None)
                .ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is DbUpdateException or InvalidOperationException)
        {
            Log.LeaseRenewFailed(_logger, id, ex);
        }
    }

    private sealed class JobRun : IDisposable
    {
        private readonly FlowEngine _engine;
        private readonly FlowJob _job;
        private readonly FlowNode _root;
        private readonly FlowContext _context;
        private readonly Dictionary<FlowTask, int> _index = new(ReferenceEqualityComparer.Instance);
        private readonly List<FlowTask> _tasks;
        private readonly List<int> _started = [];
        private readonly List<int> _completed = [];
        private readonly List<int> _reverted = [];
        private readonly Dictionary<int, JsonNode?> _results = [];
        private readonly SemaphoreSlim _saveLock = new(1, 1);
        private readonly Lock _stateLock = new();
        private string _state;
        private string? _error;
        private int _current = -1;

        public JobRun(FlowEngine engine, FlowJob job, FlowNode root, FlowContext context)
        {
            _engine = engine;
            _job = job;
            _root = root;
            _context = context;
            _tasks = root.Tasks().ToList();
            for (var i = 0; i < _tasks.Count; i++)
            {
                if (!_index.TryAdd(_tasks[i], i))
                {
                    throw new InvalidOperationException($"flow {job.FlowName} uses the same task instance twice");
                }
            }
            _state = job.State;
            _error = job.Error;
            LoadProgress(job.Progress);
        }

        public void Dispose() => _saveLock.Dispose();

        public async Task<FlowOutcome> RunAsync(CancellationToken cancellationToken)
        {
            var logger = _engine._logger;
            if (_state is FlowJobStates.Pending or FlowJobStates.Running)
            {
                var resumed = _state == FlowJobStates.Running;
                var attempts = _job.Attempts + 1;
                if (resumed && attempts > _engine.Options.MaxAttempts)
                {
                    _state = FlowJobStates.Reverting;
                    _error = $"gave up after {attempts - 1} attempts";
                }
                else
                {
                    _state = FlowJobStates.Running;
                    if (resumed)
                    {
                        Log.Resuming(logger, _job.Id, _job.FlowName, _completed.Count, _tasks.Count);
                    }
                }
                await SaveAsync(attempts, cancellationToken).ConfigureAwait(false);
            }

            if (_state == FlowJobStates.Running)
            {
                try
                {
                    await ExecuteAsync(_root, cancellationToken).ConfigureAwait(false);
                    _state = FlowJobStates.Success;
                    await SaveAsync(null, cancellationToken).ConfigureAwait(false);
                    Log.Succeeded(logger, _job.Id, _job.FlowName);
                    return FlowOutcome.Success;
                }
                catch (Exception ex) when (ex is not LeaseLostException && !(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
                {
                    _state = FlowJobStates.Reverting;
                    _error = ex.GetBaseException().Message;
                    Log.Failed(logger, _job.Id, _job.FlowName, _current >= 0 ? _tasks[_current].Name : "?", ex);
                    await SaveAsync(null, cancellationToken).ConfigureAwait(false);
                }
            }
            else if (_state == FlowJobStates.Reverting)
            {
                Log.ResumingRevert(logger, _job.Id, _job.FlowName);
            }

            if (_state == FlowJobStates.Reverting)
            {
                await RevertAllAsync(cancellationToken).ConfigureAwait(false);
                _state = FlowJobStates.Reverted;
                await SaveAsync(null, cancellationToken).ConfigureAwait(false);
                Log.RevertedFlow(logger, _job.Id, _job.FlowName, _error ?? "");
                return FlowOutcome.Reverted;
            }
            return _state == FlowJobStates.Success ? FlowOutcome.Success : FlowOutcome.Reverted;
        }

        private async Task ExecuteAsync(FlowNode node, CancellationToken cancellationToken)
        {
            switch (node)
            {
                case TaskNode t:
                    await ExecuteTaskAsync(t.Task, cancellationToken).ConfigureAwait(false);
                    break;
                case LinearFlow linear:
                    foreach (var child in linear.Children)
                    {
                        await ExecuteAsync(child, cancellationToken).ConfigureAwait(false);
                    }
                    break;
                case UnorderedFlow unordered:
                    // WhenAll lets every sibling finish before the failure propagates, so nothing is
                    // still running while the revert starts.
                    await Task.WhenAll(unordered.Children.Select(c => Task.Run(() => ExecuteAsync(c, cancellationToken), cancellationToken))).ConfigureAwait(false);
                    break;
                default:
                    throw new InvalidOperationException($"unknown flow node {node.GetType().Name}");
            }
        }

        private async Task ExecuteTaskAsync(FlowTask task, CancellationToken cancellationToken)
        {
            var i = _index[task];
            lock (_stateLock)
            {
                if (_completed.Contains(i))
                {
                    return;
                }
                if (!_started.Contains(i))
                {
                    _started.Add(i);
                }
                _current = i;
            }
            await SaveAsync(null, cancellationToken).ConfigureAwait(false);
            Log.TaskStarting(_engine._logger, _job.Id, task.Name);
            var started = _engine._time.GetTimestamp();
            var result = await task.ExecuteAsync(_context, cancellationToken).ConfigureAwait(false);
            var elapsed = _engine._time.GetElapsedTime(started);
            Log.TaskDone(_engine._logger, _job.Id, _job.FlowName, task.Name, elapsed.TotalMilliseconds);
            lock (_stateLock)
            {
                _results[i] = result?.DeepClone();
                _completed.Add(i);
            }
            if (task.Provides is { } key)
            {
                _context.Set(key, result);
            }
            await SaveAsync(null, cancellationToken).ConfigureAwait(false);
        }

        private async Task RevertAllAsync(CancellationToken cancellationToken)
        {
            List<int> order;
            lock (_stateLock)
            {
                // The failed or interrupted tasks first (they may have done part of their work), then
                // the completed ones newest first.
                order = _started.Where(i => !_completed.Contains(i)).Reverse()
                    .Concat(Enumerable.Reverse(_completed))
                    .Where(i => !_reverted.Contains(i))
                    .ToList();
            }
            foreach (var i in order)
            {
                var task = _tasks[i];
                _current = i;
                _results.TryGetValue(i, out var result);
                try
                {
                    Log.TaskReverting(_engine._logger, _job.Id, task.Name);
                    await task.RevertAsync(_context, result?.DeepClone(), cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
                {
                    // A revert that fails is logged and skipped: stopping here would leave the
                    // objects the later reverts fix in PENDING_* for ever.
                    Log.RevertFailed(_engine._logger, _job.Id, task.Name, ex);
                }
                lock (_stateLock)
                {
                    _reverted.Add(i);
                }
                await SaveAsync(null, cancellationToken).ConfigureAwait(false);
            }
        }

        private void LoadProgress(string json)
        {
            if (JsonNode.Parse(string.IsNullOrEmpty(json) ? "{}" : json) is not JsonObject p)
            {
                return;
            }
            static IEnumerable<int> Ints(JsonNode? n) => n is JsonArray a ? a.Select(x => x!.GetValue<int>()) : [];
            _started.AddRange(Ints(p["started"]));
            _completed.AddRange(Ints(p["completed"]));
            _reverted.AddRange(Ints(p["reverted"]));
            if (p["results"] is JsonObject results)
            {
                foreach (var (k, v) in results)
                {
                    _results[int.Parse(k, System.Globalization.CultureInfo.InvariantCulture)] = v?.DeepClone();
                }
            }
        }

        private string ProgressJson()
        {
            lock (_stateLock)
            {
                var results = new JsonObject();
                foreach (var (k, v) in _results)
                {
                    results[k.ToString(System.Globalization.CultureInfo.InvariantCulture)] = v?.DeepClone();
                }
                return new JsonObject
                {
                    ["started"] = new JsonArray(_started.Select(i => (JsonNode)i).ToArray()),
                    ["completed"] = new JsonArray(_completed.Select(i => (JsonNode)i).ToArray()),
                    ["reverted"] = new JsonArray(_reverted.Select(i => (JsonNode)i).ToArray()),
                    ["results"] = results,
                }.ToJsonString();
            }
        }

        private async Task SaveAsync(int? attempts, CancellationToken cancellationToken)
        {
            await _saveLock.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            try
            {
                var now = _engine.Now();
                var until = now + _engine.Options.Lease;
                var owner = _engine.Options.Owner;
                var progress = ProgressJson();
                var store = _context.Snapshot();
                var state = _state;
                var error = _error;
                var current = _current;
                var currentName = current >= 0 ? _tasks[current].Name : null;
                await using var db = _engine._db();
                var query = db.FlowJobs.Where(j => j.Id == _job.Id && j.Owner == owner);
                // Progress is written even when the caller is being cancelled: losing the record of a
                // completed task would make the next worker repeat more than it must.
                var rows = attempts is int a
                    ? await query.ExecuteUpdateAsync(s => s
                        .SetProperty(j => j.Progress, progress).SetProperty(j => j.Store, store)
                        .SetProperty(j => j.State, state).SetProperty(j => j.Error, error)
                        .SetProperty(j => j.CurrentTaskIndex, current).SetProperty(j => j.CurrentTask, currentName)
                        .SetProperty(j => j.LeaseExpiresAt, until).SetProperty(j => j.UpdatedAt, now)
                        .SetProperty(j => j.Attempts, a), CancellationToken.None).ConfigureAwait(false)
                    : await query.ExecuteUpdateAsync(s => s
                        .SetProperty(j => j.Progress, progress).SetProperty(j => j.Store, store)
                        .SetProperty(j => j.State, state).SetProperty(j => j.Error, error)
                        .SetProperty(j => j.CurrentTaskIndex, current).SetProperty(j => j.CurrentTask, currentName)
                        .SetProperty(j => j.LeaseExpiresAt, until).SetProperty(j => j.UpdatedAt, now), CancellationToken.None).ConfigureAwait(false);
                if (rows == 0)
                {
                    throw new LeaseLostException(_job.Id);
                }
            }
            finally
            {
                _saveLock.Release();
            }
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3001, Level = LogLevel.Debug, Message = "Flow job {JobId}: running task {Task}")]
        public static partial void TaskStarting(ILogger logger, string jobId, string task);

        [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Flow job {JobId} ({Flow}) succeeded")]
        public static partial void Succeeded(ILogger logger, string jobId, string flow);

        [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Flow job {JobId} ({Flow}) failed in task {Task}; reverting")]
        public static partial void Failed(ILogger logger, string jobId, string flow, string task, Exception exception);

        [LoggerMessage(EventId = 3004, Level = LogLevel.Debug, Message = "Flow job {JobId}: reverting task {Task}")]
        public static partial void TaskReverting(ILogger logger, string jobId, string task);

        [LoggerMessage(EventId = 3005, Level = LogLevel.Error, Message = "Flow job {JobId}: revert of task {Task} failed; continuing with the remaining reverts")]
        public static partial void RevertFailed(ILogger logger, string jobId, string task, Exception exception);

        [LoggerMessage(EventId = 3006, Level = LogLevel.Warning, Message = "Flow job {JobId} ({Flow}) reverted: {Error}")]
        public static partial void RevertedFlow(ILogger logger, string jobId, string flow, string error);

        [LoggerMessage(EventId = 3007, Level = LogLevel.Information, Message = "Flow job {JobId} ({Flow}): resuming after {Completed} of {Total} tasks")]
        public static partial void Resuming(ILogger logger, string jobId, string flow, int completed, int total);

        [LoggerMessage(EventId = 3008, Level = LogLevel.Information, Message = "Flow job {JobId} ({Flow}): resuming its revert")]
        public static partial void ResumingRevert(ILogger logger, string jobId, string flow);

        [LoggerMessage(EventId = 3009, Level = LogLevel.Warning, Message = "Flow job {JobId} ({Flow}): lease lost to another worker; stopping")]
        public static partial void LeaseLost(ILogger logger, string jobId, string flow);

        [LoggerMessage(EventId = 3010, Level = LogLevel.Information, Message = "Flow job {JobId} ({Flow}): released at shutdown; another worker will resume it")]
        public static partial void Abandoned(ILogger logger, string jobId, string flow);

        [LoggerMessage(EventId = 3011, Level = LogLevel.Warning, Message = "Flow job {JobId}: could not renew or release the lease")]
        public static partial void LeaseRenewFailed(ILogger logger, string jobId, Exception exception);

        // Per-task durations show operators (and bench/WorkerBench) where a slow flow spends its time.
        [LoggerMessage(EventId = 3012, Level = LogLevel.Debug, Message = "Flow job {JobId} ({Flow}): task {Task} done in {ElapsedMs:F0} ms")]
        public static partial void TaskDone(ILogger logger, string jobId, string flow, string task, double elapsedMs);
    }
}
