// Licensed under the Apache License, Version 2.0.

using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Octavia.Controller.HealthManager;
using Octavia.Core.Configuration;
using Octavia.Core.Drivers;
using Octavia.Core.Model;

namespace Octavia.Controller.Tests.HealthManager;

/// <summary>The whole health manager: heartbeats over real UDP keep an amphora healthy; silence fails it over.</summary>
public sealed class HealthManagerServiceTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly RecordingWorkerBus _bus = new();
    private HealthTestDatabase _db = null!;

    public async ValueTask InitializeAsync() => _db = await HealthTestDatabase.CreateAsync();

    public async ValueTask DisposeAsync() => await _db.DisposeAsync();

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("condition not reached");
            }
            await Task.Delay(2);
        }
    }

    [Fact]
    public async Task Service_HeartbeatsThenSilence_HealthyThenFailedOver()
    {
        var ct = TestContext.Current.CancellationToken;
        var lb = await Seed.LoadBalancerAsync(_db);
        var options = new HealthManagerOptions
        {
            BindIp = "127.0.0.1",
            BindPort = 0,
            HeartbeatKey = Heartbeats.Key,
            HeartbeatInterval = 10,
            HeartbeatTimeout = 60,
            HealthCheckInterval = 3,
            FailoverThreads = 10,
        };
        await using var service = new HealthManagerService(_db.Database, _bus, options, _time, NullLoggerFactory.Instance);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cycles = Channel.CreateUnbounded<FailoverCycle>();
        service.Detector.Started += () => started.TrySetResult();
        service.Detector.CycleCompleted += c => cycles.Writer.TryWrite(c);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var run = service.RunAsync(cts.Token);
        await started.Task.WaitAsync(ct);

        using var amphora = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        amphora.Connect(service.LocalEndPoint);
        amphora.Send(Heartbeats.Packet(Heartbeats.Message(lb.AmphoraId).Listener(lb.Listeners[0], rx: 7).Pool(lb.Pools[0], "UP", (lb.Members[0], "UP"))));
        await WaitUntil(() => service.Counters.ProcessedCount == 1);

        await using (var db = _db.Context())
        {
            (await db.AmphoraHealth.AsNoTracking().SingleAsync(h => h.AmphoraId == lb.AmphoraId, ct)).LastUpdate.ShouldBe(_time.GetUtcNow().UtcDateTime);
            (await db.ListenerStatistics.AsNoTracking().SingleAsync(s => s.AmphoraId == lb.AmphoraId, ct)).BytesIn.ShouldBe(7);
        }

        // The amphora goes silent. First check at heartbeat_timeout: not yet stale (not older than the timeout).
        _time.Advance(TimeSpan.FromSeconds(60));
        (await cycles.Reader.ReadAsync(ct)).FailedOver.ShouldBeEmpty();
        _time.Advance(TimeSpan.FromSeconds(3));
        (await cycles.Reader.ReadAsync(ct)).FailedOver.ShouldBe([lb.AmphoraId]);
        _bus.AmphoraIds("failover_amphora").ShouldBe([lb.AmphoraId]);

        await cts.CancelAsync();
        await run;
    }

    [Fact]
    public async Task Updater_SpareAmphoraWithoutListeners_HealthRowKept()
    {
        var ct = TestContext.Current.CancellationToken;
        var spare = Seed.NewId();
        await using (var db = _db.Context())
        {
            db.Amphorae.Add(new Amphora { Id = spare, Status = ProvisioningStatus.Ready, ComputeId = Seed.NewId() });
            await db.SaveChangesAsync(ct);
        }
        var compute = new RecordingCompute();
        await using var updater = new HealthUpdater(_db.Database, new HealthManagerOptions { HeartbeatInterval = 10, HeartbeatTimeout = 60 }, new HeartbeatCounters(), _time, NullLogger.Instance, compute);

        await updater.ProcessBatchAsync([Heartbeats.Parse(Heartbeats.Message(spare), _time.GetUtcNow())], ct);

        await using var check = _db.Context();
        (await check.AmphoraHealth.AsNoTracking().SingleAsync(h => h.AmphoraId == spare, ct)).LastUpdate.ShouldBe(_time.GetUtcNow().UtcDateTime);
        compute.Deleted.ShouldBeEmpty();
    }

    [Fact]
    public async Task Updater_DeletedAmphoraStillBeating_ComputeDeletedOncePerTimeout()
    {
        var ct = TestContext.Current.CancellationToken;
        var lb = await Seed.LoadBalancerAsync(_db, amphoraStatus: ProvisioningStatus.Deleted);
        string computeId;
        await using (var db = _db.Context())
        {
            computeId = (await db.Amphorae.SingleAsync(a => a.Id == lb.AmphoraId, ct)).ComputeId!;
        }
        var compute = new RecordingCompute();
        var counters = new HeartbeatCounters();
        await using var updater = new HealthUpdater(_db.Database, new HealthManagerOptions { HeartbeatInterval = 10, HeartbeatTimeout = 60 }, counters, _time, NullLogger.Instance, compute);
        var beat = Heartbeats.Message(lb.AmphoraId).Listener(lb.Listeners[0], "FULL");

        await updater.ProcessBatchAsync([Heartbeats.Parse(beat, _time.GetUtcNow())], ct);
        _time.Advance(TimeSpan.FromSeconds(10));
        await updater.ProcessBatchAsync([Heartbeats.Parse(beat, _time.GetUtcNow())], ct);
        _time.Advance(TimeSpan.FromSeconds(60));
        await updater.ProcessBatchAsync([Heartbeats.Parse(beat, _time.GetUtcNow())], ct);

        compute.Deleted.ShouldBe([computeId, computeId]);
        counters.Snapshot().ZombieAmphora.ShouldBe(3);
        await using var check = _db.Context();
        (await check.AmphoraHealth.AnyAsync(ct)).ShouldBeFalse();
        (await check.Listeners.SingleAsync(l => l.Id == lb.Listeners[0], ct)).OperatingStatus.ShouldBe(OperatingStatus.Online);
    }

    /// <summary>Records compute deletions (the only call the health manager makes).</summary>
    private sealed class RecordingCompute : IComputeDriver
    {
        public List<string> Deleted { get; } = [];

        public Task DeleteAsync(string computeId, CancellationToken cancellationToken)
        {
            Deleted.Add(computeId);
            return Task.CompletedTask;
        }

        public Task<string> BuildAsync(AmphoraBootRequest request, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<ComputeInstance> GetAsync(string computeId, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<string?> CreateServerGroupAsync(string name, string policy, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task DeleteServerGroupAsync(string serverGroupId, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
