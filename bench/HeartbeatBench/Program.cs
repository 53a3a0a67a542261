// Licensed under the Apache License, Version 2.0.
// Heartbeats per second one health manager processes: N simulated amphorae send signed v3 heartbeats
// over real UDP (from a child process on another core) to a HealthManagerService pinned to one core,
// which writes amphora_health, statuses and listener_statistics to a SQLite file database.
//
//   dotnet run -c Release --project bench/HeartbeatBench -- [--amphorae 1000] [--rate 10000] [--seconds 10]
//   (--rate 0 sends as fast as the sender can)

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Octavia.Controller.HealthManager;
using Octavia.Core.Configuration;
using Octavia.Core.Heartbeat;
using Octavia.Core.Messaging;
using Octavia.Core.Model;
using Octavia.Data;

const string Key = "bench-heartbeat-key";

if (args.Length > 0 && args[0] == "send")
{
    return Sender.Run(args[1], int.Parse(args[2], CultureInfo.InvariantCulture), int.Parse(args[3], CultureInfo.InvariantCulture), int.Parse(args[4], CultureInfo.InvariantCulture), Key);
}

var amphorae = Arg("--amphorae", 1000);
var rate = Arg("--rate", 10000);
var seconds = Arg("--seconds", 10);

// One core for the health manager (receiver, updater, SQLite), as the target is stated per core.
if (Environment.ProcessorCount > 1 && OperatingSystem.IsLinux())
{
    Process.GetCurrentProcess().ProcessorAffinity = 1;
}

var dir = Path.Combine(Path.GetTempPath(), "ohm-bench-" + Guid.NewGuid().ToString("N")[..8]);
Directory.CreateDirectory(dir);
try
{
    var database = new OctaviaDatabase(DatabaseUrl.Parse($"sqlite:///{dir}/octavia.db"));
    var ids = await SeedAsync(database, amphorae);
    var idFile = Path.Combine(dir, "plan.txt");
    await File.WriteAllLinesAsync(idFile, ids);

    var options = new HealthManagerOptions
    {
        BindIp = "127.0.0.1",
        BindPort = 0,
        HeartbeatKey = Key,
        HeartbeatInterval = 10,
        HeartbeatTimeout = 3600,
        HealthCheckInterval = 3,
        FailoverThreads = 10,
    };
    await using var service = new HealthManagerService(database, new NullBus(), options, TimeProvider.System, NullLoggerFactory.Instance, socketReceiveBuffer: 8 * 1024 * 1024);
    using var cts = new CancellationTokenSource();
    var run = service.RunAsync(cts.Token);

    var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true };
    if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
    {
        start.ArgumentList.Add(typeof(Sender).Assembly.Location);
    }
    foreach (var a in new[] { "send", idFile, service.LocalEndPoint.Port.ToString(CultureInfo.InvariantCulture), rate.ToString(CultureInfo.InvariantCulture), seconds.ToString(CultureInfo.InvariantCulture) })
    {
        start.ArgumentList.Add(a);
    }
    var sender = Process.Start(start)!;
    if (Environment.ProcessorCount > 1 && OperatingSystem.IsLinux())
    {
        sender.ProcessorAffinity = 2;
    }
    var cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
    var clock = Stopwatch.StartNew();
    var output = await sender.StandardOutput.ReadToEndAsync();
    await sender.WaitForExitAsync();
    var sent = long.Parse(output.Trim(), CultureInfo.InvariantCulture);

    // Let the updater drain what is queued, then stop.
    var drainDeadline = Stopwatch.StartNew();
    while (service.Counters.ProcessedCount + service.Counters.Snapshot().Dropped < service.Counters.ReceivedCount && drainDeadline.Elapsed < TimeSpan.FromSeconds(30))
    {
        await Task.Delay(10);
    }
    var elapsed = clock.Elapsed;
    var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuStart;
    await cts.CancelAsync();
    await run;

    var s = service.Counters.Snapshot();
    long healthRows;
    await using (var db = database.CreateContext())
    {
        healthRows = await db.AmphoraHealth.CountAsync();
    }
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"amphorae={amphorae} target={rate}/s sent={sent} received={s.Received} processed={s.Processed} dropped(queue)={s.QueueFull} kernel-lost={sent - s.Received}"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"elapsed={elapsed.TotalSeconds:F2}s processed/s={s.Processed / elapsed.TotalSeconds:F0} cpu={cpu.TotalSeconds:F2}s ({cpu.TotalSeconds / elapsed.TotalSeconds * 100:F0}% of one core) processed per cpu-second={s.Processed / Math.Max(cpu.TotalSeconds, 0.001):F0}"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"batches={s.Batches} avg-batch={(double)s.Processed / Math.Max(s.Batches, 1):F1} health-writes={s.HealthWrites} status-writes={s.StatusWrites} stats-writes={s.StatsWrites} failed-batches={s.FailedBatches} amphora_health rows={healthRows}"));
    return 0;
}
finally
{
    SqliteConnection.ClearAllPools();
    Directory.Delete(dir, recursive: true);
}

int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

static async Task<List<string>> SeedAsync(OctaviaDatabase database, int count)
{
    await DatabaseSchema.UpgradeAsync(database);
    await using var db = database.CreateContext();
    var lines = new List<string>();
    for (var i = 0; i < count; i++)
    {
        var lb = new LoadBalancer { Id = Guid.NewGuid().ToString(), ProvisioningStatus = ProvisioningStatus.Active, OperatingStatus = OperatingStatus.Offline, Provider = "amphora" };
        var pool = new Pool { Id = Guid.NewGuid().ToString(), LoadBalancerId = lb.Id, Protocol = Protocols.Http, LbAlgorithm = LbAlgorithms.RoundRobin, ProvisioningStatus = ProvisioningStatus.Active };
        var m1 = new Member { Id = Guid.NewGuid().ToString(), PoolId = pool.Id, IpAddress = "198.18.40.10", ProtocolPort = 80, ProvisioningStatus = ProvisioningStatus.Active };
        var m2 = new Member { Id = Guid.NewGuid().ToString(), PoolId = pool.Id, IpAddress = "198.18.40.11", ProtocolPort = 80, ProvisioningStatus = ProvisioningStatus.Active };
        pool.Members.AddRange([m1, m2]);
        var listener = new Listener { Id = Guid.NewGuid().ToString(), LoadBalancerId = lb.Id, Protocol = Protocols.Http, ProtocolPort = 80, DefaultPoolId = pool.Id, ProvisioningStatus = ProvisioningStatus.Active };
        lb.Pools.Add(pool);
        lb.Listeners.Add(listener);
        var amphora = new Amphora { Id = Guid.NewGuid().ToString(), LoadBalancerId = lb.Id, Status = ProvisioningStatus.Allocated };
        db.LoadBalancers.Add(lb);
        db.Amphorae.Add(amphora);
        lines.Add(string.Join(' ', amphora.Id, listener.Id, pool.Id, m1.Id, m2.Id));
    }
    await db.SaveChangesAsync();
    return lines;
}

/// <summary>The child process: pre-encodes heartbeats, then sends them at the requested rate.</summary>
internal static class Sender
{
    public static int Run(string planFile, int port, int rate, int seconds, string key)
    {
        var plan = File.ReadAllLines(planFile).Select(l => l.Split(' ')).ToArray();
        const int Variants = 8;
        var packets = new byte[plan.Length * Variants][];
        for (var v = 0; v < Variants; v++)
        {
            for (var i = 0; i < plan.Length; i++)
            {
                var p = plan[i];
                var message = new JsonObject
                {
                    ["id"] = p[0],
                    ["seq"] = v,
                    ["ver"] = 3,
                    ["listeners"] = new JsonObject
                    {
                        [p[1]] = new JsonObject
                        {
                            ["status"] = "OPEN",
                            ["stats"] = new JsonObject { ["tx"] = 1000 + v, ["rx"] = 200 + v, ["conns"] = v, ["totconns"] = 3, ["ereq"] = 0 },
                        },
                    },
                    ["pools"] = new JsonObject
                    {
                        [p[2] + ":" + p[1]] = new JsonObject
                        {
                            ["status"] = "UP",
                            ["members"] = new JsonObject { [p[3]] = "UP", [p[4]] = "UP" },
                        },
                    },
                };
                packets[(v * plan.Length) + i] = HeartbeatCodec.Encode(Encoding.UTF8.GetBytes(message.ToJsonString()), key);
            }
        }
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Connect(new IPEndPoint(IPAddress.Loopback, port));
        var clock = Stopwatch.StartNew();
        var duration = TimeSpan.FromSeconds(seconds);
        long sent = 0;
        while (clock.Elapsed < duration)
        {
            if (rate > 0)
            {
                var due = (long)(clock.Elapsed.TotalSeconds * rate);
                if (sent >= due)
                {
                    Thread.Sleep(1);
                    continue;
                }
            }
            socket.Send(packets[sent % packets.Length]);
            sent++;
        }
        Console.WriteLine(sent.ToString(CultureInfo.InvariantCulture));
        return 0;
    }
}

/// <summary>The bench never reaches failover (heartbeat_timeout is an hour); casts would be a bug.</summary>
internal sealed class NullBus : IWorkerBus
{
    public Task CastAsync(WorkerCast cast, CancellationToken cancellationToken) =>
        throw new InvalidOperationException("unexpected cast " + cast.Method);
}
