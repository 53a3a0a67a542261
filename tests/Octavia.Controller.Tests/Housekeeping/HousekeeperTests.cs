// Licensed under the Apache License, Version 2.0.

using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Octavia.Controller.Housekeeping;
using Octavia.Controller.Tests.HealthManager;
using Octavia.Core.Configuration;
using Octavia.Core.Model;
using Octavia.Data;

namespace Octavia.Controller.Tests.Housekeeping;

/// <summary>DB cleanup, certificate rotation and the spare pool, driven by one FakeTimeProvider.</summary>
public sealed class HousekeeperTests : IAsyncLifetime
{
    private const int Day = 86400;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly RecordingWorkerBus _bus = new();
    private HealthTestDatabase _db = null!;

    public async ValueTask InitializeAsync() => _db = await HealthTestDatabase.CreateAsync();

    public async ValueTask DisposeAsync() => await _db.DisposeAsync();

    private static HouseKeepingOptions Options(int spares = 0) => new()
    {
        CleanupInterval = 30,
        AmphoraExpiryAge = 7 * Day,
        LoadBalancerExpiryAge = 7 * Day,
        CertInterval = 3600,
        CertExpiryBuffer = 14 * Day,
        CertRotateThreads = 10,
        SpareAmphoraPoolSize = spares,
        SpareCheckInterval = 30,
    };

    private Housekeeper Housekeeper(HouseKeepingOptions? options = null) => new(_db.Database, _bus, options ?? Options(), _time, NullLogger.Instance);

    private DateTime DaysAgo(double days) => _time.GetUtcNow().UtcDateTime.AddDays(-days);

    private async Task<string> AddAmphora(string status, DateTime? updatedAt = null, DateTime? healthAt = null, string? lbId = null, DateTime? certExpiration = null, bool certBusy = false)
    {
        var id = Seed.NewId();
        await using var db = _db.Context();
        db.Amphorae.Add(new Amphora { Id = id, Status = status, UpdatedAt = updatedAt, LoadBalancerId = lbId, CertExpiration = certExpiration, CertBusy = certBusy });
        if (healthAt is { } h)
        {
            db.AmphoraHealth.Add(new AmphoraHealth { AmphoraId = id, LastUpdate = h });
        }
        await db.SaveChangesAsync(TestContext.Current.CancellationToken);
        return id;
    }

    private async Task<HashSet<string>> AmphoraIds()
    {
        await using var db = _db.Context();
        return [.. await db.Amphorae.Select(a => a.Id).ToListAsync(TestContext.Current.CancellationToken)];
    }

    [Fact]
    public async Task Cleanup_ExpiredDeletedAmphora_PurgedWithHealthRow()
    {
        var expired = await AddAmphora(ProvisioningStatus.Deleted, DaysAgo(8), healthAt: DaysAgo(8));
        var expiredNoHealth = await AddAmphora(ProvisioningStatus.Deleted, DaysAgo(8));
        var zombie = await AddAmphora(ProvisioningStatus.Deleted, DaysAgo(8), healthAt: DaysAgo(1));
        var young = await AddAmphora(ProvisioningStatus.Deleted, DaysAgo(6));
        var alive = await AddAmphora(ProvisioningStatus.Allocated, DaysAgo(30));

        var purged = await Housekeeper().CleanupAsync(TestContext.Current.CancellationToken);

        purged.ShouldBe(2);
        (await AmphoraIds()).ShouldBe(new HashSet<string> { zombie, young, alive }, ignoreOrder: true);
        await using var db = _db.Context();
        (await db.AmphoraHealth.AnyAsync(h => h.AmphoraId == expired, TestContext.Current.CancellationToken)).ShouldBeFalse();
        (await db.AmphoraHealth.AnyAsync(h => h.AmphoraId == zombie, TestContext.Current.CancellationToken)).ShouldBeTrue();
        expiredNoHealth.ShouldNotBeNull();
    }

    [Fact]
    public async Task Cleanup_FinishedFlowJobsOlderThanTheExpiryAge_Purged_UnfinishedKept()
    {
        var ct = TestContext.Current.CancellationToken;
        await using (var db = _db.Context())
        {
            foreach (var (id, state, days) in new[]
            {
                ("old-success", FlowJobStates.Success, 8.0), ("old-reverted", FlowJobStates.Reverted, 8.0),
                ("recent-success", FlowJobStates.Success, 1.0), ("old-running", FlowJobStates.Running, 8.0),
                ("old-queued", FlowJobStates.Queued, 8.0),
            })
            {
                db.Set<FlowJob>().Add(new FlowJob { Id = id, FlowName = "create_load_balancer", State = state, CreatedAt = DaysAgo(days), UpdatedAt = DaysAgo(days) });
            }
            await db.SaveChangesAsync(ct);
        }

        (await Housekeeper().CleanupAsync(ct)).ShouldBe(2);

        await using var check = _db.Context();
        (await check.Set<FlowJob>().Select(j => j.Id).ToListAsync(ct)).ShouldBe(["recent-success", "old-running", "old-queued"], ignoreOrder: true);
    }

    [Fact]
    public async Task Cleanup_ExpiredDeletedLoadBalancer_PurgedWithChildren()
    {
        var old = await Seed.LoadBalancerAsync(_db, provisioningStatus: ProvisioningStatus.Deleted);
        var recent = await Seed.LoadBalancerAsync(_db, provisioningStatus: ProvisioningStatus.Deleted);
        var active = await Seed.LoadBalancerAsync(_db);
        await using (var db = _db.Context())
        {
            var ct = TestContext.Current.CancellationToken;
            var oldTime = DaysAgo(8);
            var recentTime = DaysAgo(1);
            var activeTime = DaysAgo(100);
            await db.LoadBalancers.Where(l => l.Id == old.LoadBalancerId).ExecuteUpdateAsync(s => s.SetProperty(l => l.UpdatedAt, oldTime), ct);
            await db.LoadBalancers.Where(l => l.Id == recent.LoadBalancerId).ExecuteUpdateAsync(s => s.SetProperty(l => l.UpdatedAt, recentTime), ct);
            await db.LoadBalancers.Where(l => l.Id == active.LoadBalancerId).ExecuteUpdateAsync(s => s.SetProperty(l => l.UpdatedAt, activeTime), ct);
        }

        (await Housekeeper().CleanupAsync(TestContext.Current.CancellationToken)).ShouldBe(1);

        await using var check = _db.Context();
        var remaining = await check.LoadBalancers.Select(l => l.Id).ToListAsync(TestContext.Current.CancellationToken);
        remaining.ShouldBe([recent.LoadBalancerId, active.LoadBalancerId], ignoreOrder: true);
        (await check.Listeners.AnyAsync(l => l.LoadBalancerId == old.LoadBalancerId, TestContext.Current.CancellationToken)).ShouldBeFalse();
        (await check.Members.AnyAsync(m => m.Id == old.Members[0], TestContext.Current.CancellationToken)).ShouldBeFalse();
    }

    [Fact]
    public async Task RotateCertificates_ExpiringWithinBuffer_ClaimedAndCastOnce()
    {
        var now = _time.GetUtcNow().UtcDateTime;
        var expiring = await AddAmphora(ProvisioningStatus.Allocated, certExpiration: now.AddDays(13));
        var spare = await AddAmphora(ProvisioningStatus.Ready, certExpiration: now.AddDays(-1));
        await AddAmphora(ProvisioningStatus.Allocated, certExpiration: now.AddDays(15));
        await AddAmphora(ProvisioningStatus.Allocated, certExpiration: now.AddDays(1), certBusy: true);
        await AddAmphora(ProvisioningStatus.Deleted, certExpiration: now.AddDays(1));
        await AddAmphora(ProvisioningStatus.PendingDelete, certExpiration: now.AddDays(1));
        await AddAmphora(ProvisioningStatus.Allocated);
        var housekeeper = Housekeeper();

        (await housekeeper.RotateCertificatesAsync(TestContext.Current.CancellationToken)).ShouldBe(2);
        (await housekeeper.RotateCertificatesAsync(TestContext.Current.CancellationToken)).ShouldBe(0);

        _bus.AmphoraIds("rotate_amphora_certificate").ShouldBe([expiring, spare], ignoreOrder: true);
        await using var db = _db.Context();
        (await db.Amphorae.Where(a => a.Id == expiring || a.Id == spare).AllAsync(a => a.CertBusy, TestContext.Current.CancellationToken)).ShouldBeTrue();
    }

    [Fact]
    public async Task RotateCertificates_CastFails_CertBusyReleased()
    {
        var id = await AddAmphora(ProvisioningStatus.Allocated, certExpiration: _time.GetUtcNow().UtcDateTime.AddDays(1));
        _bus.Fail = true;

        (await Housekeeper().RotateCertificatesAsync(TestContext.Current.CancellationToken)).ShouldBe(0);

        await using var db = _db.Context();
        (await db.Amphorae.SingleAsync(a => a.Id == id, TestContext.Current.CancellationToken)).CertBusy.ShouldBeFalse();
    }

    [Fact]
    public async Task CheckSpares_CountsReadyAndBuildingWithoutLb_CastsShortfall()
    {
        var lb = await Seed.LoadBalancerAsync(_db);
        await AddAmphora(ProvisioningStatus.Ready);
        await AddAmphora(ProvisioningStatus.Booting);
        await AddAmphora(ProvisioningStatus.Ready, lbId: lb.LoadBalancerId);
        await AddAmphora(ProvisioningStatus.Error);
        await AddAmphora(ProvisioningStatus.Deleted);

        (await Housekeeper(Options(spares: 5)).CheckSparesAsync(TestContext.Current.CancellationToken)).ShouldBe(3);

        _bus.Casts.Count(c => c.Method == "create_spare_amphora").ShouldBe(3);
    }

    [Fact]
    public async Task CheckSpares_PoolSizeZero_DoesNothing()
    {
        (await Housekeeper().CheckSparesAsync(TestContext.Current.CancellationToken)).ShouldBe(0);
        _bus.Casts.ShouldBeEmpty();
    }

    [Fact]
    public async Task Run_EachLoopRunsAtStartThenEveryItsInterval()
    {
        var housekeeper = Housekeeper(Options(spares: 1));
        var cycles = Channel.CreateUnbounded<HousekeepingCycle>();
        housekeeper.CycleCompleted += c => cycles.Writer.TryWrite(c);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var run = housekeeper.RunAsync(cts.Token);
        var ct = TestContext.Current.CancellationToken;

        async Task<List<HousekeepingTask>> Next(int count)
        {
            var list = new List<HousekeepingTask>();
            for (var i = 0; i < count; i++)
            {
                list.Add((await cycles.Reader.ReadAsync(ct)).Task);
            }
            return list;
        }

        (await Next(3)).ShouldBe([HousekeepingTask.Spares, HousekeepingTask.Cleanup, HousekeepingTask.CertRotation], ignoreOrder: true);
        _bus.Casts.Count.ShouldBe(1);

        // The worker has not booted the spare yet: 30 s later the spare and cleanup loops run again, rotation does not.
        await AddAmphora(ProvisioningStatus.Booting);
        var expiring = await AddAmphora(ProvisioningStatus.Allocated, certExpiration: _time.GetUtcNow().UtcDateTime.AddDays(1));
        _time.Advance(TimeSpan.FromSeconds(30));
        (await Next(2)).ShouldBe([HousekeepingTask.Spares, HousekeepingTask.Cleanup], ignoreOrder: true);
        cycles.Reader.TryRead(out _).ShouldBeFalse();
        _bus.Casts.Count.ShouldBe(1);

        // At one hour the certificate loop runs and rotates the expiring amphora.
        for (var t = 60; t <= 3600; t += 30)
        {
            _time.Advance(TimeSpan.FromSeconds(30));
            var expected = t == 3600 ? 3 : 2;
            (await Next(expected)).Count.ShouldBe(expected);
        }
        _bus.AmphoraIds("rotate_amphora_certificate").ShouldBe([expiring]);

        await cts.CancelAsync();
        await run;
    }
}
