// Licensed under the Apache License, Version 2.0.

using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Octavia.Controller.HealthManager;
using Octavia.Core.Configuration;
using Octavia.Core.Model;

namespace Octavia.Controller.Tests.HealthManager;

/// <summary>
/// Stale amphora detection (upstream's health_check). Time is driven by one FakeTimeProvider; the
/// loop's progress is observed through its events, never by sleeping.
/// </summary>
public sealed class FailoverDetectorTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(Start);
    private readonly RecordingWorkerBus _bus = new();
    private HealthTestDatabase _db = null!;

    public async ValueTask InitializeAsync() => _db = await HealthTestDatabase.CreateAsync();

    public async ValueTask DisposeAsync() => await _db.DisposeAsync();

    private static HealthManagerOptions Options(int? threshold = null, int threads = 10) =>
        new() { HeartbeatTimeout = 60, HealthCheckInterval = 3, HeartbeatInterval = 10, FailoverThreads = threads, FailoverThreshold = threshold };

    private FailoverDetector Detector(HealthManagerOptions? options = null, RecordingWorkerBus? bus = null) =>
        new(_db.Database, bus ?? _bus, options ?? Options(), _time, NullLogger.Instance);

    private DateTime Ago(int seconds) => _time.GetUtcNow().UtcDateTime.AddSeconds(-seconds);

    private async Task<(string AmphoraStatus, bool Busy, string LbStatus)> State(TestLb lb)
    {
        await using var db = _db.Context();
        var ct = TestContext.Current.CancellationToken;
        return (
            (await db.Amphorae.AsNoTracking().SingleAsync(a => a.Id == lb.AmphoraId, ct)).Status!,
            (await db.AmphoraHealth.AsNoTracking().SingleAsync(h => h.AmphoraId == lb.AmphoraId, ct)).Busy,
            (await db.LoadBalancers.AsNoTracking().SingleAsync(l => l.Id == lb.LoadBalancerId, ct)).ProvisioningStatus);
    }

    [Fact]
    public async Task CheckOnce_StaleAllocatedAmphora_ClaimedLbPendingAndFailoverCast()
    {
        var stale = await Seed.LoadBalancerAsync(_db, lastUpdate: Ago(61));
        var fresh = await Seed.LoadBalancerAsync(_db, lastUpdate: Ago(59));

        var cycle = await Detector().CheckOnceAsync(TestContext.Current.CancellationToken);

        cycle.FailedOver.ShouldBe([stale.AmphoraId]);
        _bus.AmphoraIds("failover_amphora").ShouldBe([stale.AmphoraId]);
        (await State(stale)).ShouldBe((ProvisioningStatus.Allocated, true, ProvisioningStatus.PendingUpdate));
        (await State(fresh)).ShouldBe((ProvisioningStatus.Allocated, false, ProvisioningStatus.Active));
    }

    [Fact]
    public async Task CheckOnce_LbAlreadyPending_SkipsAndLeavesAmphoraUnclaimed()
    {
        var lb = await Seed.LoadBalancerAsync(_db, provisioningStatus: ProvisioningStatus.PendingUpdate, lastUpdate: Ago(120));

        var cycle = await Detector().CheckOnceAsync(TestContext.Current.CancellationToken);

        cycle.FailedOver.ShouldBeEmpty();
        _bus.Casts.ShouldBeEmpty();
        (await State(lb)).ShouldBe((ProvisioningStatus.Allocated, false, ProvisioningStatus.PendingUpdate));
    }

    [Fact]
    public async Task CheckOnce_LbInError_IsFailedOver()
    {
        var lb = await Seed.LoadBalancerAsync(_db, provisioningStatus: ProvisioningStatus.Error, lastUpdate: Ago(120));
        await Detector().CheckOnceAsync(TestContext.Current.CancellationToken);
        (await State(lb)).ShouldBe((ProvisioningStatus.Allocated, true, ProvisioningStatus.PendingUpdate));
    }

    [Theory]
    [InlineData(ProvisioningStatus.PendingCreate)]
    [InlineData(ProvisioningStatus.Deleted)]
    [InlineData(ProvisioningStatus.Error)]
    [InlineData(ProvisioningStatus.Ready)]
    public async Task CheckOnce_AmphoraNotAllocated_IsNotFailedOver(string status)
    {
        await Seed.LoadBalancerAsync(_db, amphoraStatus: status, lastUpdate: Ago(600));
        (await Detector().CheckOnceAsync(TestContext.Current.CancellationToken)).FailedOver.ShouldBeEmpty();
        _bus.Casts.ShouldBeEmpty();
    }

    [Fact]
    public async Task CheckOnce_CastFails_ClaimAndLbStatusAreReleased()
    {
        var lb = await Seed.LoadBalancerAsync(_db, lastUpdate: Ago(61));
        _bus.Fail = true;

        (await Detector().CheckOnceAsync(TestContext.Current.CancellationToken)).FailedOver.ShouldBeEmpty();

        (await State(lb)).ShouldBe((ProvisioningStatus.Allocated, false, ProvisioningStatus.Active));
    }

    [Fact]
    public async Task CheckOnce_ThresholdReached_AllStaleStoppedAndBackWhenTheyReport()
    {
        var lbs = new List<TestLb>();
        for (var i = 0; i < 3; i++)
        {
            lbs.Add(await Seed.LoadBalancerAsync(_db, lastUpdate: Ago(100)));
        }
        var detector = Detector(Options(threshold: 3));

        var cycle = await detector.CheckOnceAsync(TestContext.Current.CancellationToken);

        cycle.ThresholdReached.ShouldBeTrue();
        _bus.Casts.ShouldBeEmpty();
        foreach (var lb in lbs)
        {
            (await State(lb)).ShouldBe((ProvisioningStatus.FailoverStopped, false, ProvisioningStatus.Active));
        }

        // Two report again: they return to ALLOCATED; the third is now below the threshold and is failed over.
        await using (var db = _db.Context())
        {
            var back = new[] { lbs[0].AmphoraId, lbs[1].AmphoraId };
            var now = _time.GetUtcNow().UtcDateTime;
            await db.AmphoraHealth.Where(h => back.Contains(h.AmphoraId)).ExecuteUpdateAsync(s => s.SetProperty(h => h.LastUpdate, now), TestContext.Current.CancellationToken);
        }
        cycle = await detector.CheckOnceAsync(TestContext.Current.CancellationToken);

        cycle.ThresholdReached.ShouldBeFalse();
        (await State(lbs[0])).ShouldBe((ProvisioningStatus.Allocated, false, ProvisioningStatus.Active));
        (await State(lbs[1])).ShouldBe((ProvisioningStatus.Allocated, false, ProvisioningStatus.Active));
        (await State(lbs[2])).ShouldBe((ProvisioningStatus.FailoverStopped, true, ProvisioningStatus.PendingUpdate));
        _bus.AmphoraIds("failover_amphora").ShouldBe([lbs[2].AmphoraId]);
    }

    [Fact]
    public async Task CheckOnce_MoreStaleThanFailoverThreads_CastsAtMostThatManyUntilTheyFinish()
    {
        for (var i = 0; i < 5; i++)
        {
            await Seed.LoadBalancerAsync(_db, lastUpdate: Ago(100));
        }
        var detector = Detector(Options(threads: 2));

        (await detector.CheckOnceAsync(TestContext.Current.CancellationToken)).FailedOver.Count.ShouldBe(2);
        // The two claimed ones are still running (not DELETED): no free slot.
        (await detector.CheckOnceAsync(TestContext.Current.CancellationToken)).FailedOver.ShouldBeEmpty();

        // The worker finishes one (the old amphora ends DELETED).
        await using (var db = _db.Context())
        {
            var done = _bus.AmphoraIds("failover_amphora")[0];
            await db.Amphorae.Where(a => a.Id == done).ExecuteUpdateAsync(s => s.SetProperty(a => a.Status, ProvisioningStatus.Deleted), TestContext.Current.CancellationToken);
        }
        (await detector.CheckOnceAsync(TestContext.Current.CancellationToken)).FailedOver.Count.ShouldBe(1);
        _bus.Casts.Count.ShouldBe(3);
        _bus.AmphoraIds("failover_amphora").Distinct().Count().ShouldBe(3);
    }

    [Fact]
    public async Task CheckOnce_TwoHealthManagersAtOnce_FailOverEachStaleAmphoraOnce()
    {
        var lbs = new List<TestLb>();
        for (var i = 0; i < 4; i++)
        {
            lbs.Add(await Seed.LoadBalancerAsync(_db, lastUpdate: Ago(100)));
        }
        for (var round = 0; round < 3; round++)
        {
            var busA = new RecordingWorkerBus();
            var busB = new RecordingWorkerBus();
            var a = Detector(bus: busA);
            var b = Detector(bus: busB);
            using var go = new ManualResetEventSlim();
            var runA = Task.Run(() => { go.Wait(); return a.CheckOnceAsync(CancellationToken.None); }, TestContext.Current.CancellationToken);
            var runB = Task.Run(() => { go.Wait(); return b.CheckOnceAsync(CancellationToken.None); }, TestContext.Current.CancellationToken);
            go.Set();
            await Task.WhenAll(runA, runB);

            var all = busA.AmphoraIds("failover_amphora").Concat(busB.AmphoraIds("failover_amphora")).ToList();
            if (round == 0)
            {
                all.Order().ShouldBe(lbs.Select(l => l.AmphoraId).Order());
            }
            else
            {
                all.ShouldBeEmpty();
            }
        }
    }

    [Fact]
    public async Task Run_WaitsHeartbeatTimeoutThenChecksEveryInterval()
    {
        var lb = await Seed.LoadBalancerAsync(_db, lastUpdate: Ago(0));
        var detector = Detector();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cycles = Channel.CreateUnbounded<FailoverCycle>();
        detector.Started += () => started.TrySetResult();
        detector.CycleCompleted += c => cycles.Writer.TryWrite(c);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var run = detector.RunAsync(cts.Token);
        var ct = TestContext.Current.CancellationToken;

        await started.Task.WaitAsync(ct);
        _time.Advance(TimeSpan.FromSeconds(59));
        cycles.Reader.TryRead(out _).ShouldBeFalse();

        // t = 60: first check; the amphora's last beat is exactly heartbeat_timeout old, not yet stale.
        _time.Advance(TimeSpan.FromSeconds(1));
        (await cycles.Reader.ReadAsync(ct)).FailedOver.ShouldBeEmpty();

        // t = 63: now stale.
        _time.Advance(TimeSpan.FromSeconds(3));
        (await cycles.Reader.ReadAsync(ct)).FailedOver.ShouldBe([lb.AmphoraId]);

        // t = 66: already claimed, nothing new.
        _time.Advance(TimeSpan.FromSeconds(3));
        (await cycles.Reader.ReadAsync(ct)).FailedOver.ShouldBeEmpty();
        _bus.Casts.Count.ShouldBe(1);

        await cts.CancelAsync();
        await run;
    }
}
