// Licensed under the Apache License, Version 2.0.
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Octavia.Controller.Worker;
using Octavia.Core.Configuration;
using Octavia.Core.Messaging;
using Octavia.Core.Model;
using Octavia.Data;

namespace Octavia.Controller.Tests.Worker;

/// <summary>
/// A worker on a fresh SQLite file with the noop compute and amphora drivers, an in-memory network and
/// a self-signed certificate generator, every driver call counted by a <see cref="FaultPlan"/>.
/// The API's part (rows in PENDING_*) is played by the Seed* helpers.
/// </summary>
internal sealed class WorkerTestBed : IAsyncDisposable
{
    public const string ProjectId = "owk-project";

    private WorkerHost? _host;

    private WorkerTestBed(string dir, string topology, string extraConfig)
    {
        Directory = dir;
        DatabasePath = Path.Combine(dir, "octavia.db");
        Topology = topology;
        ExtraConfig = extraConfig;
        Db = WorkerDbContext.Factory(DatabaseUrl.Parse("sqlite:///" + DatabasePath));
    }

    public string Directory { get; }
    public string DatabasePath { get; }
    public string Topology { get; }
    public string ExtraConfig { get; }
    public Func<WorkerDbContext> Db { get; }
    public FaultPlan Faults { get; } = new();
    public InMemoryNetworkDriver Network { get; } = new();
    public SelfSignedCertGenerator Certs { get; } = new();

    public WorkerHost Host => _host ??= CreateHost();

    public ControllerWorker Worker => Host.Services.GetRequiredService<ControllerWorker>();

    public static async Task<WorkerTestBed> CreateAsync(string topology = Topologies.Single, string extraConfig = "")
    {
        // tmpfs when there is one: every flow step commits, and fsync on a loaded disk dominates the run time.
        var root = System.IO.Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        var dir = Path.Combine(root, "owk-" + Guid.NewGuid().ToString("N")[..10]);
        System.IO.Directory.CreateDirectory(dir);
        var bed = new WorkerTestBed(dir, topology, extraConfig);
        await CreateSchemaAsync(bed.DatabasePath).ConfigureAwait(false);
        return bed;
    }

    /// <summary>The one place tests create the schema: the same migrations <c>db-manage upgrade head</c> applies.</summary>
    public static async Task CreateSchemaAsync(string databasePath)
    {
        using var database = new OctaviaDatabase(DatabaseUrl.Parse("sqlite:///" + databasePath));
        await DatabaseSchema.UpgradeAsync(database).ConfigureAwait(false);
    }

    public string ConfigText(string computeDriver = "compute_noop_driver", string amphoraDriver = "amphora_noop_driver", string networkDriver = "test_network_driver") => $"""
        [DEFAULT]
        debug = true
        [database]
        connection = sqlite:///{DatabasePath}
        [controller_worker]
        workers = 2
        compute_driver = {computeDriver}
        amphora_driver = {amphoraDriver}
        network_driver = {networkDriver}
        loadbalancer_topology = {Topology}
        amp_active_retries = 3
        amp_active_wait_sec = 0
        amphora_delete_retries = 1
        amphora_delete_retry_interval = 0
        flow_lease_seconds = 2
        [certificates]
        cert_generator = test_cert_generator
        [health_manager]
        heartbeat_key = owk-test-key
        controller_ip_port_list = 127.0.0.1:5555
        {ExtraConfig}
        """;

    // The flows are driven by direct HandleCastAsync calls; this bus is never consumed.
    private WorkerHost CreateHost() => NewHost(new Octavia.Controller.Messaging.InProcessWorkerBus());

    /// <summary>Another worker host (its own flow-job owner) on this bed's database, drivers and extra config.</summary>
    public WorkerHost NewHost(Core.Messaging.IWorkerBusConsumer consumer)
    {
        var config = OctaviaConfig.FromText(ConfigText());
        var registry = DriverRegistry.CreateDefault();
        var compute = registry.Compute["compute_noop_driver"];
        var amphora = registry.Amphora["amphora_noop_driver"];
        registry.Compute["compute_noop_driver"] = c => Faults.Wrap(compute(c));
        registry.Amphora["amphora_noop_driver"] = c => Faults.Wrap(amphora(c));
        registry.Network["test_network_driver"] = _ => Faults.Wrap<Core.Drivers.INetworkDriver>(Network);
        registry.CertGenerator["test_cert_generator"] = _ => Certs;
        return new WorkerHost(config, registry, NullLoggerFactory.Instance, TimeProvider.System, consumer);
    }

    /// <summary>Runs one cast to completion, as the bus would deliver it.</summary>
    public Task CastAsync(string method, JsonObject args, string? messageId = null) =>
        Worker.HandleCastAsync(new WorkerCast(method, args) { MessageId = messageId ?? Guid.NewGuid().ToString() }, TestContext.Current.CancellationToken);

    /// <summary>Inserts a load balancer the way the API does before casting create_load_balancer.</summary>
    public async Task<string> SeedLoadBalancerAsync(string? flavorId = null)
    {
        var id = Guid.NewGuid().ToString();
        await using var db = Db();
        db.LoadBalancers.Add(new LoadBalancer
        {
            Id = id,
            ProjectId = ProjectId,
            Name = "lb",
            Provider = "amphora",
            FlavorId = flavorId,
            ProvisioningStatus = ProvisioningStatus.PendingCreate,
            OperatingStatus = OperatingStatus.Offline,
            Vip = new Vip { LoadBalancerId = id, SubnetId = InMemoryNetworkDriver.VipSubnet.Id, NetworkId = InMemoryNetworkDriver.VipNet.Id },
            CreatedAt = DateTime.UtcNow,
        });
        await db.SaveChangesAsync().ConfigureAwait(false);
        return id;
    }

    /// <summary>A load balancer that went through create_load_balancer (ACTIVE, with amphorae).</summary>
    public async Task<string> CreateActiveLoadBalancerAsync()
    {
        var id = await SeedLoadBalancerAsync().ConfigureAwait(false);
        await CastAsync("create_load_balancer", new JsonObject { ["loadbalancer"] = new JsonObject { ["loadbalancer_id"] = id } }).ConfigureAwait(false);
        (await StatusAsync(id).ConfigureAwait(false)).ShouldBe(ProvisioningStatus.Active);
        return id;
    }

    /// <summary>API side of a child create: the LB goes PENDING_UPDATE and the new row is PENDING_CREATE.</summary>
    public async Task SeedChildAsync(string lbId, Action<OctaviaDbContext> add)
    {
        ArgumentNullException.ThrowIfNull(add);
        await using var db = Db();
        add(db);
        await db.LoadBalancers.Where(l => l.Id == lbId).ExecuteUpdateAsync(s => s.SetProperty(l => l.ProvisioningStatus, ProvisioningStatus.PendingUpdate)).ConfigureAwait(false);
        await db.SaveChangesAsync().ConfigureAwait(false);
    }

    /// <summary>API side of an update or delete: the LB goes PENDING_UPDATE, the object to its PENDING_* state.</summary>
    public async Task MarkPendingAsync(string lbId, Func<OctaviaDbContext, Task> mark)
    {
        ArgumentNullException.ThrowIfNull(mark);
        await using var db = Db();
        await mark(db).ConfigureAwait(false);
        await db.LoadBalancers.Where(l => l.Id == lbId).ExecuteUpdateAsync(s => s.SetProperty(l => l.ProvisioningStatus, ProvisioningStatus.PendingUpdate)).ConfigureAwait(false);
    }

    public async Task<string> StatusAsync(string lbId)
    {
        await using var db = Db();
        return await db.LoadBalancers.Where(l => l.Id == lbId).Select(l => l.ProvisioningStatus).SingleAsync().ConfigureAwait(false);
    }

    /// <summary>Every provisioning status in the database that is PENDING_*, as "table id status" lines.</summary>
    public async Task<List<string>> PendingAsync()
    {
        await using var db = Db();
        var pending = new List<string>();
        string[] p = [ProvisioningStatus.PendingCreate, ProvisioningStatus.PendingUpdate, ProvisioningStatus.PendingDelete];
        pending.AddRange(await db.LoadBalancers.Where(x => p.Contains(x.ProvisioningStatus)).Select(x => "lb " + x.Id + " " + x.ProvisioningStatus).ToListAsync().ConfigureAwait(false));
        pending.AddRange(await db.Listeners.Where(x => p.Contains(x.ProvisioningStatus)).Select(x => "listener " + x.Id + " " + x.ProvisioningStatus).ToListAsync().ConfigureAwait(false));
        pending.AddRange(await db.Pools.Where(x => p.Contains(x.ProvisioningStatus)).Select(x => "pool " + x.Id + " " + x.ProvisioningStatus).ToListAsync().ConfigureAwait(false));
        pending.AddRange(await db.Members.Where(x => p.Contains(x.ProvisioningStatus)).Select(x => "member " + x.Id + " " + x.ProvisioningStatus).ToListAsync().ConfigureAwait(false));
        pending.AddRange(await db.HealthMonitors.Where(x => p.Contains(x.ProvisioningStatus)).Select(x => "hm " + x.Id + " " + x.ProvisioningStatus).ToListAsync().ConfigureAwait(false));
        pending.AddRange(await db.L7Policies.Where(x => p.Contains(x.ProvisioningStatus)).Select(x => "l7policy " + x.Id + " " + x.ProvisioningStatus).ToListAsync().ConfigureAwait(false));
        pending.AddRange(await db.L7Rules.Where(x => p.Contains(x.ProvisioningStatus)).Select(x => "l7rule " + x.Id + " " + x.ProvisioningStatus).ToListAsync().ConfigureAwait(false));
        pending.AddRange(await db.Amphorae.Where(x => x.Status != null && p.Contains(x.Status)).Select(x => "amphora " + x.Id + " " + x.Status).ToListAsync().ConfigureAwait(false));
        return pending;
    }

    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync().ConfigureAwait(false);
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
