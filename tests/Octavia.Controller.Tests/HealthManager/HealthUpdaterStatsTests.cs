// Licensed under the Apache License, Version 2.0.

using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Octavia.Controller.HealthManager;
using Octavia.Core.Configuration;
using Octavia.Core.Model;

namespace Octavia.Controller.Tests.HealthManager;

/// <summary>listener_statistics: v3 deltas are added, v1/v2 absolutes replace, active connections are always current.</summary>
public sealed class HealthUpdaterStatsTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly HeartbeatCounters _counters = new();
    private HealthTestDatabase _db = null!;
    private HealthUpdater _updater = null!;
    private TestLb _lb = null!;

    public async ValueTask InitializeAsync()
    {
        _db = await HealthTestDatabase.CreateAsync();
        _updater = new HealthUpdater(_db.Database, new HealthManagerOptions { HeartbeatInterval = 10, HeartbeatTimeout = 60 }, _counters, _time, NullLogger.Instance);
        _lb = await Seed.LoadBalancerAsync(_db);
    }

    public async ValueTask DisposeAsync()
    {
        await _updater.DisposeAsync();
        await _db.DisposeAsync();
    }

    private Task Process(params System.Text.Json.Nodes.JsonObject[] messages) =>
        _updater.ProcessBatchAsync(messages.Select(m => Heartbeats.Parse(m, _time.GetUtcNow())).ToList(), TestContext.Current.CancellationToken);

    private async Task<ListenerStatistics> Stats()
    {
        await using var db = _db.Context();
        return await db.ListenerStatistics.AsNoTracking().SingleAsync(s => s.ListenerId == _lb.Listeners[0] && s.AmphoraId == _lb.AmphoraId, TestContext.Current.CancellationToken);
    }

    private System.Text.Json.Nodes.JsonObject Beat(int version, long rx, long tx, long conns, long totconns, long ereq) =>
        Heartbeats.Message(_lb.AmphoraId, version).Listener(_lb.Listeners[0], rx: rx, tx: tx, conns: conns, totconns: totconns, ereq: ereq)
            .Pool(_lb.Pools[0], "UP", (_lb.Members[0], "UP"));

    [Fact]
    public async Task Version3_DeltasInSeparateBatches_AreAdded()
    {
        await Process(Beat(3, rx: 100, tx: 200, conns: 5, totconns: 10, ereq: 1));
        await Process(Beat(3, rx: 50, tx: 20, conns: 3, totconns: 4, ereq: 2));

        var stats = await Stats();
        (stats.BytesIn, stats.BytesOut, stats.ActiveConnections, stats.TotalConnections, stats.RequestErrors).ShouldBe((150L, 220L, 3, 14L, 3L));
    }

    [Fact]
    public async Task Version3_DeltasCoalescedInOneBatch_AreAdded()
    {
        await Process(Beat(3, 1, 2, 7, 3, 0), Beat(3, 10, 20, 8, 30, 0), Beat(3, 100, 200, 9, 300, 4));

        var stats = await Stats();
        (stats.BytesIn, stats.BytesOut, stats.ActiveConnections, stats.TotalConnections, stats.RequestErrors).ShouldBe((111L, 222L, 9, 333L, 4L));
        _counters.Snapshot().StatsWrites.ShouldBe(1);
    }

    [Fact]
    public async Task Version2_Absolutes_Replace()
    {
        await Process(Beat(2, 100, 200, 5, 10, 1));
        await Process(Beat(2, 150, 260, 2, 12, 1));

        var stats = await Stats();
        (stats.BytesIn, stats.BytesOut, stats.ActiveConnections, stats.TotalConnections, stats.RequestErrors).ShouldBe((150L, 260L, 2, 12L, 1L));
    }

    [Fact]
    public async Task Version2ThenVersion3_InOneBatch_DeltaAddsToAbsolute()
    {
        await Process(Beat(3, 1000, 1000, 1, 1000, 0));
        await Process(Beat(2, 100, 100, 1, 100, 0), Beat(3, 5, 5, 4, 5, 0));

        var stats = await Stats();
        (stats.BytesIn, stats.ActiveConnections, stats.TotalConnections).ShouldBe((105L, 4, 105L));
    }
}
