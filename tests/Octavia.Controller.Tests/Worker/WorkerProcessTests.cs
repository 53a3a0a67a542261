// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Octavia.Controller.Worker;
using Octavia.Controller.Worker.Engine;
using Octavia.Controller.Worker.Flows;
using Octavia.Core.Configuration;
using Octavia.Core.Model;
using Octavia.Data;
using Octavia.Tests.Shared;

namespace Octavia.Controller.Tests.Worker;

/// <summary>The real <c>octavia worker</c> process, SIGKILLed mid-flow, on a SQLite file.</summary>
public sealed class WorkerProcessTests : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), "owk-" + Guid.NewGuid().ToString("N")[..10]);
    private readonly List<Process> _processes = [];

    public ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        foreach (var p in _processes)
        {
            try
            {
                if (!p.HasExited)
                {
                    p.Kill();
                    p.WaitForExit(5000);
                }
            }
            catch (InvalidOperationException)
            {
            }
            p.Dispose();
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
        return ValueTask.CompletedTask;
    }

    private string WriteConfig()
    {
        // A throw-away CA for local_cert_generator.
        using var caKey = RSA.Create(2048);
        var request = new CertificateRequest("CN=owk-test-ca", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        File.WriteAllText(Path.Combine(_dir, "ca.pem"), ca.ExportCertificatePem());
        File.WriteAllText(Path.Combine(_dir, "ca.key"), caKey.ExportEncryptedPkcs8PrivateKeyPem("owk-passphrase", new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 10000)));
        var path = Path.Combine(_dir, "octavia.conf");
        File.WriteAllText(path, $"""
            [DEFAULT]
            debug = true
            [database]
            connection = sqlite:///{Path.Combine(_dir, "octavia.db")}
            [controller_worker]
            workers = 1
            compute_driver = compute_noop_driver
            amphora_driver = amphora_noop_driver
            network_driver = network_noop_driver
            loadbalancer_topology = SINGLE
            amp_active_wait_sec = 0
            flow_lease_seconds = 2
            noop_driver_delay = 0.15
            [certificates]
            cert_generator = local_cert_generator
            ca_certificate = {Path.Combine(_dir, "ca.pem")}
            ca_private_key = {Path.Combine(_dir, "ca.key")}
            ca_private_key_passphrase = owk-passphrase
            [health_manager]
            heartbeat_key = owk
            """);
        return path;
    }

    private Process StartWorker(string config)
    {
        var psi = new ProcessStartInfo(TestEnvironment.OctaviaExe) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("worker");
        psi.ArgumentList.Add("--config-file");
        psi.ArgumentList.Add(config);
        var p = Process.Start(psi)!;
        _processes.Add(p);
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    [Fact]
    public async Task Worker_SigkilledMidFlowSeveralTimes_NextWorkersFinishEveryFlowActiveOrError()
    {
        if (!File.Exists(Path.Combine(TestEnvironment.RepoRoot, "artifacts", "bin", "Octavia", "debug", "octavia"))
            && !File.Exists(Path.Combine(TestEnvironment.RepoRoot, "artifacts", "bin", "Octavia", "release", "octavia")))
        {
            Assert.Skip("octavia is not built");
        }
        var config = WriteConfig();
        var probe = TestEnvironment.Run(TestEnvironment.OctaviaExe, "worker", "--config-file", config, "--help");
        var octaviaConfig = OctaviaConfig.Load([config]);
        var db = WorkerDbContext.Factory(DatabaseUrl.Parse(OptionBinder.Bind<DatabaseOptions>(octaviaConfig).Connection));
        using (var database = new OctaviaDatabase(DatabaseUrl.Parse(OptionBinder.Bind<DatabaseOptions>(octaviaConfig).Connection)))
        {
            await DatabaseSchema.UpgradeAsync(database);
        }

        // Is every driver this test names available in this build? (network_noop_driver and
        // local_cert_generator come from other components.)
        using (var check = StartWorker(config))
        {
            var exited = check.WaitForExit(4000);
            if (exited && check.ExitCode != 0)
            {
                Assert.Skip("the worker does not start with the noop network driver and local cert generator in this build");
            }
            check.Kill();
            await check.WaitForExitAsync(TestContext.Current.CancellationToken);
        }
        probe.ExitCode.ShouldBe(0);

        // The API's part: three load balancers PENDING_CREATE, their create jobs queued (no owner).
        var settings = WorkerSettings.FromConfig(octaviaConfig);
        var catalog = new FlowCatalog(db, settings, TimeProvider.System);
        var engine = new FlowEngine(db, new ServiceCollection().BuildServiceProvider(), new FlowEngineOptions { Owner = "api", Lease = TimeSpan.Zero }, TimeProvider.System, NullLogger<FlowEngine>.Instance);
        var lbs = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var id = Guid.NewGuid().ToString();
            lbs.Add(id);
            await using (var ctx = db())
            {
                ctx.LoadBalancers.Add(new LoadBalancer { Id = id, ProjectId = "owk", ProvisioningStatus = ProvisioningStatus.PendingCreate, Vip = new Vip { LoadBalancerId = id, SubnetId = Guid.NewGuid().ToString(), NetworkId = Guid.NewGuid().ToString() } });
                await ctx.SaveChangesAsync(TestContext.Current.CancellationToken);
            }
            var args = new JsonObject { ["loadbalancer"] = new JsonObject { ["loadbalancer_id"] = id } };
            var store = (await catalog.PrepareAsync("create_load_balancer", args, TestContext.Current.CancellationToken))!;
            (await engine.CreateJobAsync("job-" + i, "create_load_balancer", args, store, TestContext.Current.CancellationToken)).ShouldBeTrue();
        }

        // Kill the worker by PID after 3, 8 and 14 completed tasks in all: mid-flow each time.
        foreach (var threshold in new[] { 3, 8, 14 })
        {
            var worker = StartWorker(config);
            await WaitUntilAsync(async () => await CompletedTasksAsync(db) >= threshold, TimeSpan.FromSeconds(60));
            worker.Kill(); // SIGKILL
            await worker.WaitForExitAsync(TestContext.Current.CancellationToken);
            (await JobsAsync(db)).ShouldContain(j => j.State == FlowJobStates.Running, $"killed after {threshold} tasks: a flow was mid-run");
        }

        var last = StartWorker(config);
        await WaitUntilAsync(async () => (await JobsAsync(db)).All(j => FlowJobStates.IsTerminal(j.State)), TimeSpan.FromSeconds(90));
        last.Kill();
        await last.WaitForExitAsync(TestContext.Current.CancellationToken);

        await using var final = db();
        var statuses = await final.LoadBalancers.Where(l => lbs.Contains(l.Id)).Select(l => l.ProvisioningStatus).ToListAsync(TestContext.Current.CancellationToken);
        statuses.ShouldAllBe(s => s == ProvisioningStatus.Active || s == ProvisioningStatus.Error);
        (await final.Amphorae.Where(a => a.Status != null && a.Status.StartsWith("PENDING")).CountAsync(TestContext.Current.CancellationToken)).ShouldBe(0);
        var jobs = await JobsAsync(db);
        jobs.ShouldContain(j => j.Attempts > 1, "some job was resumed by a later worker");
        // Resumed flows complete rather than revert: every load balancer ends ACTIVE with one allocated amphora.
        statuses.ShouldAllBe(s => s == ProvisioningStatus.Active);
        foreach (var lb in lbs)
        {
            (await final.Amphorae.CountAsync(a => a.LoadBalancerId == lb && a.Status == ProvisioningStatus.Allocated, TestContext.Current.CancellationToken)).ShouldBe(1);
        }
    }

    private static async Task<List<FlowJob>> JobsAsync(Func<WorkerDbContext> db)
    {
        await using var ctx = db();
        return await ctx.FlowJobs.AsNoTracking().ToListAsync();
    }

    private static async Task<int> CompletedTasksAsync(Func<WorkerDbContext> db) =>
        (await JobsAsync(db)).Sum(j => (JsonNode.Parse(j.Progress)?["completed"] as JsonArray)?.Count ?? 0);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("condition not met in time");
            }
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }
}
