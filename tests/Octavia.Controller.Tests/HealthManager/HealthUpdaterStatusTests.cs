// Licensed under the Apache License, Version 2.0.

using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Octavia.Controller.HealthManager;
using Octavia.Core.Configuration;
using Octavia.Core.Model;

namespace Octavia.Controller.Tests.HealthManager;

/// <summary>Upstream's UpdateHealthDb status mapping (octavia.md §3.6), row by row, on a real SQLite database.</summary>
public sealed class HealthUpdaterStatusTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly HeartbeatCounters _counters = new();
    private HealthTestDatabase _db = null!;
    private HealthUpdater _updater = null!;

    public async ValueTask InitializeAsync()
    {
        _db = await HealthTestDatabase.CreateAsync();
        _updater = new HealthUpdater(_db.Database, new HealthManagerOptions { HeartbeatInterval = 10, HeartbeatTimeout = 60 }, _counters, _time, NullLogger.Instance);
    }

    public async ValueTask DisposeAsync()
    {
        await _updater.DisposeAsync();
        await _db.DisposeAsync();
    }

    private Task Process(params System.Text.Json.Nodes.JsonObject[] messages) =>
        _updater.ProcessBatchAsync(messages.Select(m => Heartbeats.Parse(m, _time.GetUtcNow())).ToList(), TestContext.Current.CancellationToken);

    private async Task<(string Lb, string Listener, string Pool, string Member)> Statuses(TestLb lb)
    {
        await using var db = _db.Context();
        var ct = TestContext.Current.CancellationToken;
        return (
            (await db.LoadBalancers.AsNoTracking().SingleAsync(x => x.Id == lb.LoadBalancerId, ct)).OperatingStatus,
            (await db.Listeners.AsNoTracking().SingleAsync(x => x.Id == lb.Listeners[0], ct)).OperatingStatus,
            (await db.Pools.AsNoTracking().SingleAsync(x => x.Id == lb.Pools[0], ct)).OperatingStatus,
            (await db.Members.AsNoTracking().SingleAsync(x => x.Id == lb.Members[0], ct)).OperatingStatus);
    }

    private async Task<DateTime?> LastUpdate(string amphoraId)
    {
        await using var db = _db.Context();
        return (await db.AmphoraHealth.AsNoTracking().SingleOrDefaultAsync(h => h.AmphoraId == amphoraId, TestContext.Current.CancellationToken))?.LastUpdate;
    }

    [Theory]
    // listener status, pool status, member status -> LB, listener, pool, member
    [InlineData("OPEN", "UP", "UP", "ONLINE", "ONLINE", "ONLINE", "ONLINE")]
    [InlineData("FULL", "UP", "UP", "DEGRADED", "DEGRADED", "ONLINE", "ONLINE")]
    [InlineData("OPEN", "DOWN", "DOWN", "ERROR", "ONLINE", "ERROR", "ERROR")]
    [InlineData("OPEN", "UP", "DOWN", "DEGRADED", "ONLINE", "DEGRADED", "ERROR")]
    [InlineData("OPEN", "UP", "DOWN 1/3", "DEGRADED", "ONLINE", "DEGRADED", "ERROR")]
    [InlineData("OPEN", "UP", "UP 2/3", "ONLINE", "ONLINE", "ONLINE", "ONLINE")]
    [InlineData("OPEN", "UP", "DRAIN", "ONLINE", "ONLINE", "ONLINE", "DRAINING")]
    [InlineData("OPEN", "UP", "MAINT", "ONLINE", "ONLINE", "ONLINE", "OFFLINE")]
    [InlineData("OPEN", "UP", "no check", "ONLINE", "ONLINE", "ONLINE", "NO_MONITOR")]
    [InlineData("OPEN", "UP", "RESTARTING", "ONLINE", "ONLINE", "ONLINE", "ONLINE")]
    [InlineData("FULL", "DOWN", "UP", "ERROR", "DEGRADED", "ERROR", "ONLINE")]
    [InlineData("OPEN", "UP", null, "ONLINE", "ONLINE", "ONLINE", "OFFLINE")]
    [InlineData("OPEN", null, null, "ONLINE", "ONLINE", "OFFLINE", "ONLINE")]
    public async Task Heartbeat_ReportedStatuses_MapAsUpstream(string listener, string? pool, string? member, string lbExpected, string listenerExpected, string poolExpected, string memberExpected)
    {
        var lb = await Seed.LoadBalancerAsync(_db);
        var message = Heartbeats.Message(lb.AmphoraId).Listener(lb.Listeners[0], listener);
        if (pool is not null)
        {
            var members = member is null ? Array.Empty<(string, string)>() : [(lb.Members[0], member)];
            message.Pool($"{lb.Pools[0]}:{lb.Listeners[0]}", pool, members);
        }

        await Process(message);

        (await Statuses(lb)).ShouldBe((lbExpected, listenerExpected, poolExpected, memberExpected));
    }

    [Fact]
    public async Task Heartbeat_ListenerNotReportedOnActiveLb_ListenerError()
    {
        var lb = await Seed.LoadBalancerAsync(_db, listeners: 2);
        await Process(Heartbeats.Message(lb.AmphoraId).Listener(lb.Listeners[0]).Pool(lb.Pools[0], "UP", (lb.Members[0], "UP")));

        await using var db = _db.Context();
        (await db.Listeners.AsNoTracking().SingleAsync(x => x.Id == lb.Listeners[1], TestContext.Current.CancellationToken)).OperatingStatus.ShouldBe(OperatingStatus.Error);
        // Two enabled listeners expected, one reported: the amphora is not healthy.
        (await LastUpdate(lb.AmphoraId)).ShouldBeNull();
        _counters.Snapshot().ListenerCountMismatch.ShouldBe(1);
    }

    [Fact]
    public async Task Heartbeat_ListenerNotReportedOnPendingLb_ListenerOfflineAndHealthWritten()
    {
        var lb = await Seed.LoadBalancerAsync(_db, provisioningStatus: ProvisioningStatus.PendingUpdate);
        await Process(Heartbeats.Message(lb.AmphoraId));

        (await Statuses(lb)).Listener.ShouldBe(OperatingStatus.Offline);
        // Listener count is not checked while the LB is PENDING_*.
        (await LastUpdate(lb.AmphoraId)).ShouldBe(_time.GetUtcNow().UtcDateTime);
    }

    [Fact]
    public async Task Heartbeat_DisabledLb_LbOffline()
    {
        var lb = await Seed.LoadBalancerAsync(_db, enabled: false);
        await Process(Heartbeats.Message(lb.AmphoraId).Listener(lb.Listeners[0]).Pool(lb.Pools[0], "UP", (lb.Members[0], "UP")));
        (await Statuses(lb)).Lb.ShouldBe(OperatingStatus.Offline);
    }

    [Fact]
    public async Task Heartbeat_MemberMissingAndNoMonitor_StaysNoMonitor()
    {
        var lb = await Seed.LoadBalancerAsync(_db);
        await using (var db = _db.Context())
        {
            await db.Members.Where(m => m.Id == lb.Members[0]).ExecuteUpdateAsync(s => s.SetProperty(m => m.OperatingStatus, OperatingStatus.NoMonitor), TestContext.Current.CancellationToken);
        }
        await Process(Heartbeats.Message(lb.AmphoraId).Listener(lb.Listeners[0]).Pool(lb.Pools[0], "UP"));
        (await Statuses(lb)).Member.ShouldBe(OperatingStatus.NoMonitor);
    }

    [Fact]
    public async Task Heartbeat_Version1NestedPools_AreRead()
    {
        var lb = await Seed.LoadBalancerAsync(_db);
        var message = new System.Text.Json.Nodes.JsonObject
        {
            ["id"] = lb.AmphoraId,
            ["listeners"] = new System.Text.Json.Nodes.JsonObject
            {
                [lb.Listeners[0]] = new System.Text.Json.Nodes.JsonObject
                {
                    ["status"] = "OPEN",
                    ["stats"] = new System.Text.Json.Nodes.JsonObject { ["rx"] = 5, ["tx"] = 6, ["conns"] = 1, ["totconns"] = 2, ["ereq"] = 0 },
                    ["pools"] = new System.Text.Json.Nodes.JsonObject
                    {
                        [lb.Pools[0]] = new System.Text.Json.Nodes.JsonObject
                        {
                            ["status"] = "UP",
                            ["members"] = new System.Text.Json.Nodes.JsonObject { [lb.Members[0]] = "DOWN" },
                        },
                    },
                },
            },
        };
        await Process(message);
        (await Statuses(lb)).ShouldBe(("DEGRADED", "ONLINE", "DEGRADED", "ERROR"));
    }

    [Fact]
    public async Task Heartbeat_SameStatusTwice_WritesOnlyOnce()
    {
        var lb = await Seed.LoadBalancerAsync(_db);
        var message = Heartbeats.Message(lb.AmphoraId).Listener(lb.Listeners[0]).Pool(lb.Pools[0], "UP", (lb.Members[0], "DRAIN"));
        await Process(message);
        var first = _counters.Snapshot().StatusWrites;
        first.ShouldBe(1);

        _time.Advance(TimeSpan.FromSeconds(10));
        await Process(message);

        _counters.Snapshot().StatusWrites.ShouldBe(first);
        (await LastUpdate(lb.AmphoraId)).ShouldBe(_time.GetUtcNow().UtcDateTime);
    }

    [Fact]
    public async Task Heartbeat_ProcessedLaterThanHeartbeatInterval_IsIgnored()
    {
        var lb = await Seed.LoadBalancerAsync(_db);
        var message = Heartbeats.Parse(Heartbeats.Message(lb.AmphoraId).Listener(lb.Listeners[0], "FULL").Pool(lb.Pools[0], "UP", (lb.Members[0], "UP")), _time.GetUtcNow());
        _time.Advance(TimeSpan.FromSeconds(10));

        await _updater.ProcessBatchAsync([message], TestContext.Current.CancellationToken);

        (await LastUpdate(lb.AmphoraId)).ShouldBeNull();
        (await Statuses(lb)).Listener.ShouldBe(OperatingStatus.Online);
        _counters.Snapshot().TooSlow.ShouldBe(1);
    }

    [Fact]
    public async Task Heartbeat_UnknownAmphora_IsCountedAndWritesNothing()
    {
        await Process(Heartbeats.Message(Seed.NewId()).Listener(Seed.NewId()));
        _counters.Snapshot().UnknownAmphora.ShouldBe(1);
        await using var db = _db.Context();
        (await db.AmphoraHealth.CountAsync(TestContext.Current.CancellationToken)).ShouldBe(0);
        (await db.ListenerStatistics.CountAsync(TestContext.Current.CancellationToken)).ShouldBe(0);
    }

    [Fact]
    public async Task Heartbeat_StatusChangedByApiAfterCacheTtl_IsCorrectedAgain()
    {
        var lb = await Seed.LoadBalancerAsync(_db);
        var message = Heartbeats.Message(lb.AmphoraId).Listener(lb.Listeners[0]).Pool(lb.Pools[0], "UP", (lb.Members[0], "UP"));
        await Process(message);
        await using (var db = _db.Context())
        {
            await db.Members.Where(m => m.Id == lb.Members[0]).ExecuteUpdateAsync(s => s.SetProperty(m => m.OperatingStatus, OperatingStatus.Offline), TestContext.Current.CancellationToken);
        }

        _time.Advance(_updater.CacheTtl);
        await Process(message);

        (await Statuses(lb)).Member.ShouldBe(OperatingStatus.Online);
    }

    [Fact]
    public async Task Heartbeat_NewListenerNotInCache_ReloadsGraph()
    {
        var lb = await Seed.LoadBalancerAsync(_db);
        await Process(Heartbeats.Message(lb.AmphoraId).Listener(lb.Listeners[0]).Pool(lb.Pools[0], "UP", (lb.Members[0], "UP")));
        var added = Seed.NewId();
        await using (var db = _db.Context())
        {
            db.Listeners.Add(new Listener { Id = added, LoadBalancerId = lb.LoadBalancerId, Protocol = Protocols.Tcp, ProtocolPort = 9000, ProvisioningStatus = ProvisioningStatus.Active, OperatingStatus = OperatingStatus.Offline });
            await db.SaveChangesAsync(TestContext.Current.CancellationToken);
        }

        _time.Advance(TimeSpan.FromSeconds(2));
        await Process(Heartbeats.Message(lb.AmphoraId).Listener(lb.Listeners[0]).Listener(added).Pool(lb.Pools[0], "UP", (lb.Members[0], "UP")));

        await using var check = _db.Context();
        (await check.Listeners.AsNoTracking().SingleAsync(l => l.Id == added, TestContext.Current.CancellationToken)).OperatingStatus.ShouldBe(OperatingStatus.Online);
        (await LastUpdate(lb.AmphoraId)).ShouldBe(_time.GetUtcNow().UtcDateTime);
    }

    [Fact]
    public async Task Heartbeat_ReplacementMappedToItsLbWithinCacheTtl_KeepsItsHealthFresh()
    {
        // A failover's replacement heartbeats while BOOTING without a load balancer, then the worker maps it
        // and HAProxy starts: the listener it now reports must not be judged by the cached booting record.
        var lb = await Seed.LoadBalancerAsync(_db);
        await using (var db = _db.Context())
        {
            await db.Amphorae.Where(a => a.Id == lb.AmphoraId).ExecuteUpdateAsync(
                s => s.SetProperty(a => a.Status, ProvisioningStatus.Booting).SetProperty(a => a.LoadBalancerId, (string?)null), TestContext.Current.CancellationToken);
        }
        await Process(Heartbeats.Message(lb.AmphoraId));
        (await LastUpdate(lb.AmphoraId)).ShouldBe(_time.GetUtcNow().UtcDateTime);
        await using (var db = _db.Context())
        {
            await db.Amphorae.Where(a => a.Id == lb.AmphoraId).ExecuteUpdateAsync(
                s => s.SetProperty(a => a.Status, ProvisioningStatus.Allocated).SetProperty(a => a.LoadBalancerId, lb.LoadBalancerId), TestContext.Current.CancellationToken);
        }

        _time.Advance(TimeSpan.FromSeconds(2));
        await Process(Heartbeats.Message(lb.AmphoraId).Listener(lb.Listeners[0]).Pool(lb.Pools[0], "UP", (lb.Members[0], "UP")));

        _updater.CacheTtl.ShouldBeGreaterThan(TimeSpan.FromSeconds(2));
        (await LastUpdate(lb.AmphoraId)).ShouldBe(_time.GetUtcNow().UtcDateTime);
        _counters.Snapshot().ZombieAmphora.ShouldBe(0);
    }
}
