// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Octavia.Controller.Messaging;
using Octavia.Core.Messaging;
using Octavia.Core.Model;
using Octavia.Data;

namespace Octavia.Controller.Tests.Worker;

/// <summary>
/// The all-in-one's in-process bus keeps its queue in memory; the journal (QUEUED flow jobs) is what keeps a
/// cast that has not started yet from being lost with the process, leaving its object PENDING forever.
/// </summary>
public sealed class QueuedCastTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static WorkerCast Create(string lbId) =>
        new("create_load_balancer", new JsonObject { ["loadbalancer"] = new JsonObject { ["loadbalancer_id"] = lbId } });

    [Fact]
    public async Task CastsStillQueuedWhenTheProcessDies_AreRunByTheNextWorker()
    {
        await using var bed = await WorkerTestBed.CreateAsync();
        var lbs = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            lbs.Add(await bed.SeedLoadBalancerAsync());
        }

        // A process whose bus accepted three casts and died before consuming any of them.
        var deadBus = new InProcessWorkerBus();
        await using (bed.NewHost(deadBus))
        {
            foreach (var id in lbs)
            {
                await deadBus.CastAsync(Create(id), Ct);
            }
        }
        await using (var db = bed.Db())
        {
            (await db.FlowJobs.CountAsync(j => j.State == FlowJobStates.Queued, Ct)).ShouldBe(3);
        }

        // The next worker takes them over once the dead owner's lease (2 s here) has run out.
        var nextBus = new InProcessWorkerBus();
        await using var next = bed.NewHost(nextBus);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var run = next.RunAsync(stop.Token);
        var waited = Stopwatch.StartNew();
        while (!await SettledAsync(bed) && waited.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(100, Ct);
        }
        await stop.CancelAsync();
        await run;

        (await bed.PendingAsync()).ShouldBeEmpty();
        foreach (var id in lbs)
        {
            (await bed.StatusAsync(id)).ShouldBe(ProvisioningStatus.Active);
        }
        await using (var db = bed.Db())
        {
            (await db.FlowJobs.Select(j => j.State).ToListAsync(Ct)).ShouldAllBe(s => s == FlowJobStates.Success);
            (await db.Amphorae.CountAsync(a => a.Status != ProvisioningStatus.Deleted, Ct)).ShouldBe(3);
        }
    }

    [Fact]
    public async Task LongQueueOnALiveWorker_EveryCastRunsOnce()
    {
        // One flow at a time, each slow enough that the last casts wait in memory for longer than the 2 s lease,
        // while orphan recovery runs every second: however the bus and recovery meet a QUEUED job, it runs once.
        await using var bed = await WorkerTestBed.CreateAsync(extraConfig: """
            [controller_worker]
            workers = 1
            noop_driver_delay = 0.15
            """);
        var lbs = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            lbs.Add(await bed.SeedLoadBalancerAsync());
        }
        var bus = new InProcessWorkerBus();
        await using var host = bed.NewHost(bus);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var run = host.RunAsync(stop.Token);
        foreach (var id in lbs)
        {
            await bus.CastAsync(Create(id), Ct);
        }
        var waited = Stopwatch.StartNew();
        while (!await SettledAsync(bed) && waited.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(100, Ct);
        }
        var took = waited.Elapsed;
        await stop.CancelAsync();
        await run;

        (await bed.PendingAsync()).ShouldBeEmpty();
        took.ShouldBeGreaterThan(TimeSpan.FromSeconds(2), "the queue must outlast the lease for this test to mean anything");
        await using var db = bed.Db();
        (await db.FlowJobs.Select(j => j.State).ToListAsync(Ct)).ShouldAllBe(s => s == FlowJobStates.Success);
        // A second run of a create flow would have booted a second amphora for the same load balancer.
        (await db.Amphorae.CountAsync(a => a.Status != ProvisioningStatus.Deleted, Ct)).ShouldBe(4);
        foreach (var id in lbs)
        {
            (await bed.StatusAsync(id)).ShouldBe(ProvisioningStatus.Active);
        }
    }

    [Fact]
    public async Task CastInsideAWrite_JournalRowCommitsWithIt_WorkerGetsItOnlyAfterTheCommit_RollbackCastsNothing()
    {
        await using var bed = await WorkerTestBed.CreateAsync();
        var bus = new InProcessWorkerBus();
        await using var host = bed.NewHost(bus);
        var seen = System.Threading.Channels.Channel.CreateUnbounded<(string Id, bool Committed)>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var consume = bus.ConsumeAsync(async (cast, ct) =>
        {
            await using var other = bed.Db();
            var committed = await other.FlowJobs.AnyAsync(j => j.Id == cast.MessageId, ct);
            await seen.Writer.WriteAsync((cast.MessageId, committed), ct);
        }, stop.Token);

        // As the API does: the cast is made inside the request's transaction, which commits afterwards.
        var kept = Create(await bed.SeedLoadBalancerAsync());
        await WriteAsync(bed, bus, kept, commit: true);
        // A change that rolls back must cast nothing and leave no journal row.
        var dropped = Create(await bed.SeedLoadBalancerAsync());
        await WriteAsync(bed, bus, dropped, commit: false);
        var after = Create(await bed.SeedLoadBalancerAsync());
        await bus.CastAsync(after, Ct);

        (await seen.Reader.ReadAsync(Ct)).ShouldBe((kept.MessageId, true));
        (await seen.Reader.ReadAsync(Ct)).ShouldBe((after.MessageId, true));
        await stop.CancelAsync();
        await consume;
        await using var db = bed.Db();
        (await db.FlowJobs.AnyAsync(j => j.Id == dropped.MessageId, Ct)).ShouldBeFalse();
    }

    // Nothing PENDING and every flow job finished: a flow marks its load balancer ACTIVE in its last task and
    // records its own success just after, so stopping the worker between the two would abandon the job.
    private static async Task<bool> SettledAsync(WorkerTestBed bed)
    {
        if ((await bed.PendingAsync()).Count > 0)
        {
            return false;
        }
        await using var db = bed.Db();
        return await db.FlowJobs.AllAsync(j => j.State == FlowJobStates.Success || j.State == FlowJobStates.Reverted, Ct);
    }

    private static async Task WriteAsync(WorkerTestBed bed, InProcessWorkerBus bus, WorkerCast cast, bool commit)
    {
        await using var db = bed.Db();
        await using var tx = await db.Database.BeginTransactionAsync(Ct);
        var scope = WriteScope.Enter(db);
        try
        {
            await bus.CastAsync(cast, Ct);
            // Give a consumer every chance to see the cast before the commit.
            await Task.Delay(50, Ct);
            await db.SaveChangesAsync(Ct);
            if (!commit)
            {
                await tx.RollbackAsync(Ct);
                return;
            }
            await tx.CommitAsync(Ct);
        }
        finally
        {
            WriteScope.Exit();
        }
        await scope.CommittedAsync();
    }
}
