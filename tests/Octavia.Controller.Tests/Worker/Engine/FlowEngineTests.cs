// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Octavia.Controller.Worker.Engine;
using Octavia.Data;

namespace Octavia.Controller.Tests.Worker.Engine;

public sealed class FlowEngineTests : IAsyncLifetime
{
    private WorkerTestBed _bed = null!;
    private readonly ConcurrentQueue<string> _journal = new();
    private IServiceProvider _services = null!;

    public async ValueTask InitializeAsync()
    {
        _bed = await WorkerTestBed.CreateAsync();
        _services = new ServiceCollection().BuildServiceProvider();
    }

    public async ValueTask DisposeAsync() => await _bed.DisposeAsync();

    private FlowEngine NewEngine(string owner, TimeSpan? lease = null) =>
        new(_bed.Db, _services, new FlowEngineOptions { Owner = owner, Lease = lease ?? TimeSpan.FromSeconds(30) }, TimeProvider.System, NullLogger<FlowEngine>.Instance);

    private static async Task<FlowJob> StartJobAsync(FlowEngine engine, string id)
    {
        (await engine.CreateJobAsync(id, "test", [], [], default)).ShouldBeTrue();
        return (await engine.TryClaimAsync(id, default)).ShouldNotBeNull();
    }

    private async Task<FlowJob> LoadAsync(string id)
    {
        await using var db = _bed.Db();
        return await db.FlowJobs.AsNoTracking().SingleAsync(j => j.Id == id);
    }

    [Fact]
    public async Task RunAsync_TaskFails_RevertsFailedThenCompletedInReverseOrder()
    {
        var engine = NewEngine("a");
        var job = await StartJobAsync(engine, "j1");
        var flow = Flow.Linear("f", new Rec("t1", _journal), new Rec("t2", _journal), new Rec("t3", _journal) { Fail = true }, new Rec("t4", _journal));

        (await engine.RunAsync(job, flow, default)).ShouldBe(FlowOutcome.Reverted);

        _journal.ShouldBe(["do t1", "do t2", "do t3", "undo t3", "undo t2", "undo t1"]);
        var row = await LoadAsync("j1");
        row.State.ShouldBe(FlowJobStates.Reverted);
        row.Error!.ShouldContain("t3 failed");
    }

    [Fact]
    public async Task RunAsync_Success_ResultsAreStoredAndProgressPersisted()
    {
        var engine = NewEngine("a");
        var job = await StartJobAsync(engine, "j2");
        var flow = Flow.Linear("f", new Rec("t1", _journal) { Provides = "x" }, new Rec("t2", _journal));

        (await engine.RunAsync(job, flow, default)).ShouldBe(FlowOutcome.Success);

        var row = await LoadAsync("j2");
        row.State.ShouldBe(FlowJobStates.Success);
        JsonNode.Parse(row.Store)!["x"]!.GetValue<string>().ShouldBe("result of t1");
        JsonNode.Parse(row.Progress)!["completed"]!.AsArray().Select(n => n!.GetValue<int>()).ShouldBe([0, 1]);
        row.CurrentTask.ShouldBe("t2");
    }

    [Fact]
    public async Task RunAsync_UnorderedFlow_RunsChildrenConcurrentlyAndRevertsAllOnFailure()
    {
        var engine = NewEngine("a");
        var job = await StartJobAsync(engine, "j3");
        using var barrier = new Barrier(2);
        var flow = Flow.Linear("f",
            new Rec("first", _journal),
            Flow.Unordered("pair",
                Flow.Linear("left", new Rec("l1", _journal) { Barrier = barrier }, new Rec("l2", _journal)),
                Flow.Linear("right", new Rec("r1", _journal) { Barrier = barrier }, new Rec("r2", _journal) { Fail = true })));

        (await engine.RunAsync(job, flow, default)).ShouldBe(FlowOutcome.Reverted);

        // Both l1 and r1 passed the two-party barrier, so they ran at the same time.
        _journal.ShouldContain("do l1");
        _journal.ShouldContain("do r1");
        var undo = _journal.Where(e => e.StartsWith("undo", StringComparison.Ordinal)).ToList();
        undo[0].ShouldBe("undo r2");
        undo[^1].ShouldBe("undo first");
        undo.ShouldContain("undo l1");
        undo.ShouldContain("undo r1");
        undo.IndexOf("undo r1").ShouldBeGreaterThan(undo.IndexOf("undo r2"));
    }

    [Fact]
    public async Task RunAsync_WorkerDiesMidFlow_AnotherWorkerResumesAfterLeaseExpiry()
    {
        var a = NewEngine("worker-a", TimeSpan.FromSeconds(30));
        var job = await StartJobAsync(a, "j4");
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var flowA = Flow.Linear("f", new Rec("t1", _journal) { Provides = "x" }, new Rec("t2", _journal) { Gate = gate, Started = started }, new Rec("t3", _journal));
        var runA = a.RunAsync(job, flowA, default);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));

        // Worker A is stuck (as good as dead); its lease runs out.
        var b = NewEngine("worker-b");
        (await b.TryClaimAsync("j4", default)).ShouldBeNull();
        await using (var db = _bed.Db())
        {
            await db.FlowJobs.Where(j => j.Id == "j4").ExecuteUpdateAsync(s => s.SetProperty(j => j.LeaseExpiresAt, DateTime.UtcNow.AddSeconds(-1)));
        }
        (await b.FindOrphansAsync(default)).ShouldContain("j4");
        var claimed = (await b.TryClaimAsync("j4", default)).ShouldNotBeNull();
        var flowB = Flow.Linear("f", new Rec("t1", _journal) { Provides = "x" }, new Rec("t2", _journal), new Rec("t3", _journal));
        (await b.RunAsync(claimed, flowB, default)).ShouldBe(FlowOutcome.Success);

        _journal.Count(e => e == "do t1").ShouldBe(1);
        _journal.Count(e => e == "do t2").ShouldBe(2);
        _journal.Count(e => e == "do t3").ShouldBe(1);
        (await LoadAsync("j4")).Owner.ShouldBe("worker-b");

        // When the stuck worker wakes up it finds the job is not its own any more and stops.
        gate.SetResult();
        (await runA).ShouldBe(FlowOutcome.Abandoned);
        (await LoadAsync("j4")).State.ShouldBe(FlowJobStates.Success);
    }

    [Fact]
    public async Task RunAsync_WorkerDiesMidRevert_NextWorkerFinishesTheRevertOnly()
    {
        var a = NewEngine("worker-a");
        var job = await StartJobAsync(a, "j5");
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var flowA = Flow.Linear("f", new Rec("t1", _journal), new Rec("t2", _journal) { RevertGate = gate, RevertStarted = started }, new Rec("t3", _journal) { Fail = true });
        var runA = a.RunAsync(job, flowA, default);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await using (var db = _bed.Db())
        {
            (await db.FlowJobs.SingleAsync(j => j.Id == "j5")).State.ShouldBe(FlowJobStates.Reverting);
            await db.FlowJobs.Where(j => j.Id == "j5").ExecuteUpdateAsync(s => s.SetProperty(j => j.LeaseExpiresAt, DateTime.UtcNow.AddSeconds(-1)));
        }

        var b = NewEngine("worker-b");
        var claimed = (await b.TryClaimAsync("j5", default)).ShouldNotBeNull();
        var flowB = Flow.Linear("f", new Rec("t1", _journal), new Rec("t2", _journal), new Rec("t3", _journal));
        (await b.RunAsync(claimed, flowB, default)).ShouldBe(FlowOutcome.Reverted);

        _journal.Count(e => e.StartsWith("do", StringComparison.Ordinal)).ShouldBe(3);
        _journal.Count(e => e == "undo t3").ShouldBe(1);
        _journal.ShouldContain("undo t1");
        gate.SetResult();
        (await runA).ShouldBe(FlowOutcome.Abandoned);
    }

    [Fact]
    public async Task RunAsync_ResumedTooOften_RevertsInsteadOfResuming()
    {
        var engine = NewEngine("a");
        var job = await StartJobAsync(engine, "j6");
        await using (var db = _bed.Db())
        {
            await db.FlowJobs.Where(j => j.Id == "j6").ExecuteUpdateAsync(s => s
                .SetProperty(j => j.State, FlowJobStates.Running).SetProperty(j => j.Attempts, 3)
                .SetProperty(j => j.Progress, """{"started":[0,1],"completed":[0]}"""));
        }
        job = (await engine.TryClaimAsync("j6", default))!;

        (await engine.RunAsync(job, Flow.Linear("f", new Rec("t1", _journal), new Rec("t2", _journal)), default)).ShouldBe(FlowOutcome.Reverted);

        _journal.ShouldBe(["undo t2", "undo t1"]);
        (await LoadAsync("j6")).Error!.ShouldContain("gave up after 3 attempts");
    }

    [Fact]
    public async Task RunAsync_ShutdownMidFlow_ReleasesLeaseForImmediateTakeover()
    {
        var engine = NewEngine("a");
        var job = await StartJobAsync(engine, "j7");
        using var cts = new CancellationTokenSource();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var run = engine.RunAsync(job, Flow.Linear("f", new Rec("t1", _journal) { Started = started, WaitForCancel = true }), cts.Token);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await cts.CancelAsync();

        (await run).ShouldBe(FlowOutcome.Abandoned);
        var row = await LoadAsync("j7");
        row.Owner.ShouldBeNull();
        row.State.ShouldBe(FlowJobStates.Running);
        (await NewEngine("b").FindOrphansAsync(default)).ShouldContain("j7");
    }

    [Fact]
    public async Task CreateJobAsync_SameIdTwice_SecondIsRefused()
    {
        var engine = NewEngine("a");
        (await engine.CreateJobAsync("dup", "test", [], [], default)).ShouldBeTrue();
        (await engine.CreateJobAsync("dup", "test", [], [], default)).ShouldBeFalse();
    }

    private sealed class Rec(string name, ConcurrentQueue<string> journal) : FlowTask
    {
        public override string Name => name;
        public bool Fail { get; init; }
        public Barrier? Barrier { get; init; }
        public TaskCompletionSource? Gate { get; init; }
        public TaskCompletionSource? Started { get; init; }
        public TaskCompletionSource? RevertGate { get; init; }
        public TaskCompletionSource? RevertStarted { get; init; }
        public bool WaitForCancel { get; init; }

        public override async Task<JsonNode?> ExecuteAsync(FlowContext context, CancellationToken cancellationToken)
        {
            journal.Enqueue("do " + name);
            Started?.TrySetResult();
            Barrier?.SignalAndWait(TimeSpan.FromSeconds(10), CancellationToken.None).ShouldBeTrue();
            if (Gate is not null)
            {
                await Gate.Task;
            }
            if (WaitForCancel)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            if (Fail)
            {
                throw new InvalidOperationException($"{name} failed");
            }
            return "result of " + name;
        }

        public override async Task RevertAsync(FlowContext context, JsonNode? result, CancellationToken cancellationToken)
        {
            journal.Enqueue("undo " + name);
            RevertStarted?.TrySetResult();
            if (RevertGate is not null)
            {
                await RevertGate.Task;
            }
        }
    }
}
