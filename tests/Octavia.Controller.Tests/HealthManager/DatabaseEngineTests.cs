// Licensed under the Apache License, Version 2.0.

using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Octavia.Controller.HealthManager;
using Octavia.Core.Configuration;
using Octavia.Core.Model;

namespace Octavia.Controller.Tests.HealthManager;

/// <summary>The hot-path SQL and the failover claim on every database engine upstream supports.</summary>
public sealed class DatabaseEngineTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));

    [Theory]
    [MemberData(nameof(HealthTestDatabase.Engines), MemberType = typeof(HealthTestDatabase))]
    public async Task Heartbeats_OnEngine_WriteHealthStatusAndStats(string engine)
    {
        HealthTestDatabase.SkipUnlessAvailable(engine);
        var ct = TestContext.Current.CancellationToken;
        await using var db = await HealthTestDatabase.CreateAsync(engine);
        var lb = await Seed.LoadBalancerAsync(db);
        var counters = new HeartbeatCounters();
        await using var updater = new HealthUpdater(db.Database, new HealthManagerOptions { HeartbeatInterval = 10, HeartbeatTimeout = 60 }, counters, _time, NullLogger.Instance);
        var beat = Heartbeats.Message(lb.AmphoraId).Listener(lb.Listeners[0], "FULL", rx: 10, tx: 20, conns: 3, totconns: 4, ereq: 1)
            .Pool($"{lb.Pools[0]}:{lb.Listeners[0]}", "UP", (lb.Members[0], "DOWN"));

        await updater.ProcessBatchAsync([Heartbeats.Parse(beat, _time.GetUtcNow())], ct);
        _time.Advance(TimeSpan.FromSeconds(10));
        await updater.ProcessBatchAsync([Heartbeats.Parse(beat, _time.GetUtcNow())], ct);

        counters.Snapshot().FailedBatches.ShouldBe(0);
        await using var check = db.Context();
        (await check.AmphoraHealth.AsNoTracking().SingleAsync(h => h.AmphoraId == lb.AmphoraId, ct)).LastUpdate.ShouldBe(_time.GetUtcNow().UtcDateTime, TimeSpan.FromMilliseconds(1));
        (await check.LoadBalancers.AsNoTracking().SingleAsync(l => l.Id == lb.LoadBalancerId, ct)).OperatingStatus.ShouldBe(OperatingStatus.Degraded);
        (await check.Listeners.AsNoTracking().SingleAsync(l => l.Id == lb.Listeners[0], ct)).OperatingStatus.ShouldBe(OperatingStatus.Degraded);
        (await check.Pools.AsNoTracking().SingleAsync(p => p.Id == lb.Pools[0], ct)).OperatingStatus.ShouldBe(OperatingStatus.Degraded);
        (await check.Members.AsNoTracking().SingleAsync(m => m.Id == lb.Members[0], ct)).OperatingStatus.ShouldBe(OperatingStatus.Error);
        var stats = await check.ListenerStatistics.AsNoTracking().SingleAsync(s => s.ListenerId == lb.Listeners[0], ct);
        (stats.BytesIn, stats.BytesOut, stats.ActiveConnections, stats.TotalConnections, stats.RequestErrors).ShouldBe((20L, 40L, 3, 8L, 2L));
    }

    [Theory]
    [MemberData(nameof(HealthTestDatabase.Engines), MemberType = typeof(HealthTestDatabase))]
    public async Task TwoHealthManagers_OnEngine_FailOverEachStaleAmphoraOnce(string engine)
    {
        HealthTestDatabase.SkipUnlessAvailable(engine);
        await using var db = await HealthTestDatabase.CreateAsync(engine);
        var stale = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            stale.Add((await Seed.LoadBalancerAsync(db, lastUpdate: _time.GetUtcNow().UtcDateTime.AddSeconds(-100))).AmphoraId);
        }
        var options = new HealthManagerOptions { HeartbeatTimeout = 60, HealthCheckInterval = 3, FailoverThreads = 10 };
        var buses = new[] { new RecordingWorkerBus(), new RecordingWorkerBus() };
        using var go = new ManualResetEventSlim();
        var runs = buses.Select(bus =>
        {
            var detector = new FailoverDetector(db.Database, bus, options, _time, NullLogger.Instance);
            return Task.Run(() => { go.Wait(); return detector.CheckOnceAsync(CancellationToken.None); }, TestContext.Current.CancellationToken);
        }).ToArray();
        go.Set();
        await Task.WhenAll(runs);

        buses.SelectMany(b => b.AmphoraIds("failover_amphora")).Order().ShouldBe(stale.Order());
    }
    [Theory]
    [MemberData(nameof(HealthTestDatabase.Engines), MemberType = typeof(HealthTestDatabase))]
    public async Task TwoHealthManagers_OnEngine_SameNewAmphoraAtOnce_NoBatchLostAndDeltasSummed(string engine)
    {
        HealthTestDatabase.SkipUnlessAvailable(engine);
        var ct = TestContext.Current.CancellationToken;
        await using var db = await HealthTestDatabase.CreateAsync(engine);
        var options = new HealthManagerOptions { HeartbeatInterval = 10, HeartbeatTimeout = 60 };
        var counters = new[] { new HeartbeatCounters(), new HeartbeatCounters() };
        await using var first = new HealthUpdater(db.Database, options, counters[0], _time, NullLogger.Instance);
        await using var second = new HealthUpdater(db.Database, options, counters[1], _time, NullLogger.Instance);
        const int Rounds = 5;
        var lbs = new List<TestLb>();
        for (var round = 0; round < Rounds; round++)
        {
            var lb = await Seed.LoadBalancerAsync(db);
            lbs.Add(lb);
            var beat = Heartbeats.Parse(Heartbeats.Message(lb.AmphoraId).Listener(lb.Listeners[0], rx: 10, totconns: 1).Pool(lb.Pools[0], "UP", (lb.Members[0], "UP")), _time.GetUtcNow());
            using var go = new ManualResetEventSlim();
            var a = Task.Run(async () => { go.Wait(); await first.ProcessBatchAsync([beat], CancellationToken.None); }, ct);
            var b = Task.Run(async () => { go.Wait(); await second.ProcessBatchAsync([beat], CancellationToken.None); }, ct);
            go.Set();
            await Task.WhenAll(a, b);
        }

        counters.Sum(c => c.Snapshot().FailedBatches).ShouldBe(0);
        await using var check = db.Context();
        foreach (var lb in lbs)
        {
            var stats = await check.ListenerStatistics.AsNoTracking().SingleAsync(s => s.ListenerId == lb.Listeners[0], ct);
            (stats.BytesIn, stats.TotalConnections).ShouldBe((20L, 2L));
            (await check.AmphoraHealth.CountAsync(h => h.AmphoraId == lb.AmphoraId, ct)).ShouldBe(1);
        }
    }
}
