// Licensed under the Apache License, Version 2.0.
// Requests per second through an amphora-rendered HAProxy HTTP listener, through the same HAProxy with a
// minimal hand-written config, and straight to the members, measured in one run with wrk (an HttpClient
// loop when wrk is missing). Usage: HaproxyBench [seconds per run] [rounds]

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Octavia.Amphora.Agent;
using Octavia.Amphora.Agent.Logging;
using Octavia.Core.Model;
using Octavia.Drivers.Amphorae;

var seconds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 8;
var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
var dir = Directory.CreateTempSubdirectory("odp-bench-").FullName;

var backendPorts = new List<int>();
var apps = new List<WebApplication>();
for (var i = 0; i < 3; i++)
{
    var port = FreePort();
    var builder = WebApplication.CreateSlimBuilder();
    builder.Logging.ClearProviders();
    builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, port));
    var app = builder.Build();
    var name = "m" + i;
    app.Run(ctx => ctx.Response.WriteAsync(name));
    await app.StartAsync();
    apps.Add(app);
    backendPorts.Add(port);
}

var lb = new LoadBalancer { Id = Guid.NewGuid().ToString(), ProjectId = "bench", Topology = Topologies.Single, Vip = new Vip { IpAddress = "127.0.0.1" } };
var amp = new Amphora { Id = Guid.NewGuid().ToString(), Status = ProvisioningStatus.Allocated };
var pool = new Pool { Id = Guid.NewGuid().ToString(), Protocol = Protocols.Http, LbAlgorithm = LbAlgorithms.RoundRobin };
foreach (var p in backendPorts)
{
    pool.Members.Add(new Member { Id = Guid.NewGuid().ToString(), IpAddress = "127.0.0.1", ProtocolPort = p, Weight = 1 });
}
var renderedPort = FreePort();
lb.Listeners.Add(new Listener { Id = Guid.NewGuid().ToString(), Protocol = Protocols.Http, ProtocolPort = renderedPort, DefaultPool = pool });
// The amphora agent's own log receiver, as in a running amphora: HAProxy writes into its FIFOs and it
// appends every line to base_path/logs/traffic.log.
var agentSettings = new AgentSettings
{
    BasePath = dir,
    BaseCertDir = Path.Combine(dir, "certs"),
    BindHost = "127.0.0.1",
    BindPort = 0,
    HaproxyCmd = "haproxy",
    ServerCertPath = "",
    ServerCaPath = "",
    TlsProtocols = System.Security.Authentication.SslProtocols.Tls12,
    AmphoraId = amp.Id,
};
var agentPaths = new AgentPaths(dir, agentSettings.BaseCertDir);
using var receiver = new AmphoraLogReceiver(agentSettings, agentPaths, NullLogger<AmphoraLogReceiver>.Instance);
await receiver.StartAsync(CancellationToken.None);

// What upstream's rsyslog receives in an amphora VM: one datagram per log line on a unix socket.
var logPath = Path.Combine(dir, "log.sock");
using var logSocket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
logSocket.Bind(new UnixDomainSocketEndPoint(logPath));
_ = Task.Run(async () =>
{
    var buffer = new byte[65536];
    while (true)
    {
        try
        {
            await logSocket.ReceiveAsync(buffer);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return;
        }
    }
});

var options = new RenderOptions { BasePath = dir, BaseCertDir = Path.Combine(dir, "certs") };
Directory.CreateDirectory(Path.Combine(dir, lb.Id));
string Render(int port, RenderOptions o, string socket)
{
    lb.Listeners[0].ProtocolPort = port;
    return HaproxyConfigRenderer.Render(lb, amp, o with { StatsSocketPath = Path.Combine(dir, socket) }).Replace("    user nobody\n", "", StringComparison.Ordinal);
}
// The agent routes upstream's rsyslog socket to its receiver when the config is uploaded.
var rendered = receiver.Route(Render(renderedPort, options, "r.sock"));
var datagramPort = FreePort();
var renderedDatagram = Render(datagramPort, options with { LogHttp = logPath, LogServer = logPath }, "d.sock");
var noLogPort = FreePort();
var renderedNoLog = Render(noLogPort, options with { ConnectionLogging = false }, "n.sock");

var handPort = FreePort();
var hand = $"""
global
    maxconn 5000
defaults
    mode http
    timeout connect 5s
    timeout client 50s
    timeout server 50s
frontend fe
    bind 127.0.0.1:{handPort}
    default_backend be
backend be
    balance roundrobin
{string.Join("\n", backendPorts.Select((p, i) => $"    server s{i} 127.0.0.1:{p}"))}

""";

using var renderedProc = StartHaproxy(Path.Combine(dir, "rendered.cfg"), rendered, agentPaths);
using var handProc = StartHaproxy(Path.Combine(dir, "hand.cfg"), hand);
using var noLogProc = StartHaproxy(Path.Combine(dir, "nolog.cfg"), renderedNoLog);
using var datagramProc = StartHaproxy(Path.Combine(dir, "datagram.cfg"), renderedDatagram);
await WaitPort(noLogPort);
await WaitPort(datagramPort);
await WaitPort(renderedPort);
await WaitPort(handPort);

// For profiling by hand (strace, perf): HAPROXYBENCH_HOLD=<seconds> keeps everything up that long before measuring.
if (int.TryParse(Environment.GetEnvironmentVariable("HAPROXYBENCH_HOLD"), CultureInfo.InvariantCulture, out var hold))
{
    Console.WriteLine($"holding {hold}s: dir {dir}, bench pid {Environment.ProcessId}, ports direct {backendPorts[0]} hand-written {handPort} ({handProc.Id}) rendered {renderedPort} ({renderedProc.Id}) no-log {noLogPort} ({noLogProc.Id}) datagram {datagramPort} ({datagramProc.Id})");
    await Task.Delay(TimeSpan.FromSeconds(hold));
}

var results = new Dictionary<string, List<double>> { ["direct"] = [], ["hand-written"] = [], ["rendered"] = [], ["rendered, no connection log"] = [], ["rendered, log per datagram"] = [] };
var renderedRequests = 0L;
var useWrk = File.Exists("/usr/bin/wrk");
var targets = new (string Name, int Port, Process? Haproxy)[]
{
    ("direct", backendPorts[0], null), ("hand-written", handPort, handProc), ("rendered", renderedPort, renderedProc), ("rendered, no connection log", noLogPort, noLogProc),
    ("rendered, log per datagram", datagramPort, datagramProc),
};
// CPU time HAProxy spends per request is robust against neighbours stealing the CPU, unlike req/s. So is the
// CPU of this process (the three Kestrel members and the agent's log receiver) and of wrk (reaped children's
// CPU of this process); req/s on a shared box follows the sum of the three.
var cpuPerRequest = targets.ToDictionary(t => t.Name, _ => new List<double>());
var selfCpuPerRequest = targets.ToDictionary(t => t.Name, _ => new List<double>());
var wrkCpuPerRequest = targets.ToDictionary(t => t.Name, _ => new List<double>());
for (var r = 0; r < rounds; r++)
{
    // Rotate the order each round so a neighbour's load burst does not always hit the same target.
    for (var k = 0; k < targets.Length; k++)
    {
        var (name, port, haproxy) = targets[(k + r) % targets.Length];
        var cpuBefore = haproxy is null ? 0 : TreeCpuSeconds(haproxy.Id);
        var (selfBefore, childrenBefore) = SelfCpuSeconds();
        var (rate, requests) = await Measure(port, seconds, useWrk);
        var (selfAfter, childrenAfter) = SelfCpuSeconds();
        results[name].Add(rate);
        renderedRequests += name == "rendered" ? requests : 0;
        if (haproxy is not null && requests > 0)
        {
            cpuPerRequest[name].Add((TreeCpuSeconds(haproxy.Id) - cpuBefore) * 1e6 / requests);
        }
        if (requests > 0)
        {
            selfCpuPerRequest[name].Add((selfAfter - selfBefore) * 1e6 / requests);
            wrkCpuPerRequest[name].Add((childrenAfter - childrenBefore) * 1e6 / requests);
        }
    }
}

double Median(List<double> xs) => xs.Order().ElementAt(xs.Count / 2);
Console.WriteLine($"tool: {(useWrk ? "wrk -t1 -c32" : "HttpClient loop, 32 tasks")}, {seconds}s x {rounds} rounds, 3 Kestrel members, cores: {Environment.ProcessorCount}");
foreach (var (name, xs) in results)
{
    Console.WriteLine(FormattableString.Invariant($"{name,-28} median {Median(xs),9:F0} req/s   runs: {string.Join(" ", xs.Select(x => x.ToString("F0", CultureInfo.InvariantCulture)))}"));
}
Console.WriteLine(FormattableString.Invariant($"rendered / hand-written = {Median(results["rendered"]) / Median(results["hand-written"]):F2} (req/s)"));
foreach (var (name, xs) in cpuPerRequest.Where(kv => kv.Value.Count > 0))
{
    Console.WriteLine(FormattableString.Invariant($"{name,-28} HAProxy CPU {Median(xs),6:F1} us/request   runs: {string.Join(" ", xs.Select(x => x.ToString("F1", CultureInfo.InvariantCulture)))}"));
}
Console.WriteLine("CPU per request (median of runs), us: HAProxy + members and agent receiver (this process) + wrk = total");
foreach (var (name, _, haproxy) in targets)
{
    var h = haproxy is null ? 0 : Median(cpuPerRequest[name]);
    var self = Median(selfCpuPerRequest[name]);
    var wrk = useWrk ? Median(wrkCpuPerRequest[name]) : 0;
    Console.WriteLine(FormattableString.Invariant($"{name,-28} {h,6:F1} + {self,6:F1} + {wrk,6:F1} = {h + self + wrk,6:F1}   (this process, runs: {string.Join(" ", selfCpuPerRequest[name].Select(x => x.ToString("F1", CultureInfo.InvariantCulture)))})"));
}
// The receiver reads in batches: wait until every request's line has reached it (or 10 s pass).
for (var wait = Stopwatch.StartNew(); receiver.Received < renderedRequests && wait.Elapsed < TimeSpan.FromSeconds(10);)
{
    await Task.Delay(50);
}
Console.WriteLine(FormattableString.Invariant($"log lines the agent's receiver got: {receiver.Received} for {renderedRequests} requests through \"rendered\" (traffic.log: {new FileInfo(receiver.TrafficLogPath).Length / 1024} KiB); HAProxy's DroppedLogs: {await DroppedLogs(Path.Combine(dir, "r.sock"))}"));
Console.WriteLine(FormattableString.Invariant($"hand-written / rendered CPU per request = {Median(cpuPerRequest["hand-written"]) / Median(cpuPerRequest["rendered"]):F2} with connection logging, {Median(cpuPerRequest["hand-written"]) / Median(cpuPerRequest["rendered, no connection log"]):F2} without (throughput-equivalent)"));

// The receiver alone: real traffic lines written into its FIFO in large chunks, as HAProxy's writes pile up
// there while the receiver pauses; the CPU this process spends until the receiver has counted them all is its cost.
var sample = File.ReadLines(receiver.TrafficLogPath).Last(l => l.Contains(lb.Id, StringComparison.Ordinal));
const int ReceiverLines = 400_000;
using (var feed = new FileStream(agentPaths.TrafficLogFifoPath, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0))
{
    var line = System.Text.Encoding.UTF8.GetBytes("<6>" + sample + "\n");
    var chunk = Enumerable.Repeat(line, 16384 / line.Length).SelectMany(b => b).ToArray();
    var perChunk = chunk.Length / line.Length;
    var start = receiver.Received;
    var (before, _) = SelfCpuSeconds();
    var clock = Stopwatch.StartNew();
    for (var sent = 0; sent < ReceiverLines; sent += perChunk)
    {
        feed.Write(chunk);
    }
    var expected = start + ((ReceiverLines + perChunk - 1) / perChunk * perChunk);
    while (receiver.Received < expected && clock.Elapsed < TimeSpan.FromSeconds(60))
    {
        await Task.Delay(5);
    }
    var (after, _) = SelfCpuSeconds();
    Console.WriteLine(FormattableString.Invariant($"agent receiver alone: {receiver.Received - start} lines of {line.Length} bytes in {clock.Elapsed.TotalMilliseconds:F0} ms, CPU {(after - before) * 1e6 / (receiver.Received - start):F2} us/line"));
}

renderedProc.Kill(entireProcessTree: true);
handProc.Kill(entireProcessTree: true);
noLogProc.Kill(entireProcessTree: true);
datagramProc.Kill(entireProcessTree: true);
await receiver.StopAsync(CancellationToken.None);
foreach (var app in apps)
{
    await app.StopAsync();
}
Directory.Delete(dir, recursive: true);

static int FreePort()
{
    using var l = new TcpListener(IPAddress.Loopback, 0);
    l.Start();
    return ((IPEndPoint)l.LocalEndpoint).Port;
}

static Process StartHaproxy(string path, string config, AgentPaths? logsTo = null)
{
    File.WriteAllText(path, config);
    string[] args = ["-W", "-db", "-f", path];
    // As the agent starts it: standard output and descriptor 3 on the receiver's FIFOs.
    var psi = logsTo is null ? new ProcessStartInfo("haproxy", args) { RedirectStandardError = true } : LogRouting.HaproxyStartInfo("haproxy", args, logsTo.TrafficLogFifoPath, logsTo.AdminLogFifoPath);
    var p = Process.Start(psi)!;
    p.ErrorDataReceived += (_, _) => { };
    p.BeginErrorReadLine();
    return p;
}

// The log lines HAProxy could not write (show info's DroppedLogs).
static async Task<string> DroppedLogs(string statsSocket)
{
    using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
    await socket.ConnectAsync(new UnixDomainSocketEndPoint(statsSocket));
    await socket.SendAsync("show info\n"u8.ToArray());
    using var reader = new StreamReader(new NetworkStream(socket));
    var info = await reader.ReadToEndAsync();
    return Regex.Match(info, @"^DroppedLogs: (\d+)", RegexOptions.Multiline).Groups[1].Value;
}

// utime+stime of this process, and of its reaped children (wrk), in seconds.
static (double Self, double Children) SelfCpuSeconds()
{
    var stat = File.ReadAllText("/proc/self/stat");
    var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    double At(int i) => long.Parse(f[i], CultureInfo.InvariantCulture) / 100.0;
    return (At(11) + At(12), At(13) + At(14));
}

static async Task WaitPort(int port)
{
    for (var i = 0; i < 200; i++)
    {
        try
        {
            using var c = new TcpClient();
            await c.ConnectAsync(IPAddress.Loopback, port);
            return;
        }
        catch (SocketException)
        {
            await Task.Delay(25);
        }
    }
    throw new InvalidOperationException($"port {port} never opened");
}

static double TreeCpuSeconds(int pid)
{
    var ticks = 0L;
    var pending = new Stack<int>([pid]);
    while (pending.Count > 0)
    {
        var p = pending.Pop();
        try
        {
            var stat = File.ReadAllText($"/proc/{p}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            ticks += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            foreach (var task in Directory.GetDirectories($"/proc/{p}/task"))
            {
                foreach (var child in File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    pending.Push(int.Parse(child, CultureInfo.InvariantCulture));
                }
            }
        }
        catch (IOException)
        {
        }
    }
    return ticks / 100.0;
}

static async Task<(double Rate, long Requests)> Measure(int port, int seconds, bool useWrk)
{
    if (useWrk)
    {
        var psi = new ProcessStartInfo("wrk") { RedirectStandardOutput = true };
        foreach (var a in new[] { "-t1", "-c32", $"-d{seconds}s", $"http://127.0.0.1:{port}/" })
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        var output = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        var m = Regex.Match(output, @"Requests/sec:\s+([0-9.]+)");
        var n = Regex.Match(output, @"([0-9]+) requests in");
        return (m.Success ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0,
            n.Success ? long.Parse(n.Groups[1].Value, CultureInfo.InvariantCulture) : 0);
    }
    using var client = new HttpClient();
    var count = 0L;
    var stop = DateTime.UtcNow.AddSeconds(seconds);
    await Task.WhenAll(Enumerable.Range(0, 32).Select(async _ =>
    {
        while (DateTime.UtcNow < stop)
        {
            await client.GetStringAsync(new Uri($"http://127.0.0.1:{port}/"));
            Interlocked.Increment(ref count);
        }
    }));
    return (count / (double)seconds, count);
}
