// Licensed under the Apache License, Version 2.0.
// WorkerBench: create->ACTIVE of a load balancer (HTTP listener, pool, 3 members) with real amphorae
// (local compute in namespace mode, REST amphora driver, HAProxy) through the API of a private stack.sh
// deployment, without and with a spare amphora pool.
// Usage (root): dotnet build src/Octavia -c Release && dotnet run --project bench/WorkerBench -c Release -- [--sequential N] [--concurrent N] [--keep]

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

const string TenantSubnet = "0b0e5500-5b55-4b55-8b55-000000000055";
var sequentialCount = IntArg("--sequential", 8);
var concurrentCount = IntArg("--concurrent", 8);
var keep = args.Contains("--keep");
var withSpares = !args.Contains("--no-spares");
if (!Environment.IsPrivilegedProcess)
{
    Console.Error.WriteLine("WorkerBench needs root (namespaced amphorae, bridges)");
    return 2;
}
var repo = FindRepo();
var exe = Path.Combine(repo, "artifacts", "bin", "Octavia", "release", "octavia");
if (!File.Exists(exe))
{
    Console.Error.WriteLine("build octavia first: dotnet build src/Octavia -c Release");
    return 2;
}

// Short path: HAProxy's stats sockets live under it (sun_path is 108 bytes).
var state = Directory.CreateTempSubdirectory("owbb-").FullName;
var apiPort = FreeTcpPort();
var hmPort = FreeUdpPort();
var env = new Dictionary<string, string>
{
    ["OCTAVIA_STACK_DIR"] = state,
    ["OCTAVIA_API_PORT"] = apiPort.ToString(CultureInfo.InvariantCulture),
    ["OCTAVIA_OPENRC"] = Path.Combine(state, "openrc"),
    ["OCTAVIA_STACK_EXTRA_CONF"] = Path.Combine(state, "extra.ini"),
};
using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{apiPort}"), Timeout = TimeSpan.FromSeconds(30) };
var results = new List<string>();
var code = 0;
try
{
    // Phase 1: no spares; every create boots an amphora.
    Stack(spares: 0);
    Console.WriteLine("warm-up (first agent start pays disk cache and JIT of the host side)");
    await DeleteAsync((await CreateToActiveAsync("owb-warm")).Id);
    var log = Path.Combine(state, "logs", "octavia.log");
    var logMark = new FileInfo(log).Length;
    var cpu = CpuMark();
    var seq = await SequentialAsync("nospare-seq", sequentialCount);
    results.Add(Summary("no spares, sequential", seq.Latencies));
    results.Add(CpuSummary(cpu, seq.Latencies.Count));
    results.Add(TaskProfile(log, logMark));
    await DeleteAllAsync(seq.Ids);
    if (concurrentCount > 0)
    {
        logMark = new FileInfo(log).Length;
        cpu = CpuMark();
        var conc = await ConcurrentAsync("nospare-conc", concurrentCount);
        results.Add(Summary($"no spares, {concurrentCount} at once", conc.Latencies));
        results.Add(CpuSummary(cpu, conc.Latencies.Count));
        results.Add(TaskProfile(log, logMark));
        await DeleteAllAsync(conc.Ids);
    }
    if (!withSpares)
    {
        return 0;
    }

    // Phase 2: a pool as big as the batch. The housekeeper fills it once at start (interval 3600 s),
    // so no refill competes with the measurement.
    // One more than a batch: a warm-up create after each restart takes one.
    var pool = Math.Max(sequentialCount, concurrentCount) + 1;
    Stack(spares: pool);
    await WaitForSparesAsync(pool);
    logMark = new FileInfo(log).Length;
    cpu = CpuMark();
    seq = await SequentialAsync("spare-seq", sequentialCount);
    results.Add(Summary("spares pool, sequential", seq.Latencies));
    results.Add(CpuSummary(cpu, seq.Latencies.Count));
    results.Add(TaskProfile(log, logMark));
    await DeleteAllAsync(seq.Ids);
    if (concurrentCount > 0)
    {
        Stack(spares: pool);
        await WaitForSparesAsync(pool);
        logMark = new FileInfo(log).Length;
        cpu = CpuMark();
        var conc = await ConcurrentAsync("spare-conc", concurrentCount);
        results.Add(Summary($"spares pool, {concurrentCount} at once", conc.Latencies));
        results.Add(CpuSummary(cpu, conc.Latencies.Count));
        results.Add(TaskProfile(log, logMark));
        await DeleteAllAsync(conc.Ids);
    }
}
catch (Exception ex) when (ex is InvalidOperationException or HttpRequestException or TimeoutException)
{
    Console.Error.WriteLine($"WorkerBench failed: {ex.Message}");
    code = 1;
}
finally
{
    Console.WriteLine();
    Console.WriteLine($"load average: {File.ReadAllText("/proc/loadavg").Trim()}");
    foreach (var line in results)
    {
        Console.WriteLine(line);
    }
    if (!keep)
    {
        RunScript("unstack.sh", "--purge");
    }
    else
    {
        Console.WriteLine($"kept {state}; remove with OCTAVIA_STACK_DIR={state} ./unstack.sh --purge");
    }
}
return code;

void Stack(int spares)
{
    File.WriteAllText(env["OCTAVIA_STACK_EXTRA_CONF"], $"""
        [DEFAULT]
        debug = true
        [local_networks]
        networks = name=lb-mgmt-net,subnet=lb-mgmt-subnet,cidr=198.18.54.0/25,gateway=none,host=198.18.54.1,bridge=owbbmgmt
        networks = name=private,subnet=private-subnet,subnet_id={TenantSubnet},cidr=198.18.55.0/25,gateway=198.18.55.1,host=198.18.55.1,bridge=owbbten
        [health_manager]
        bind_ip = 198.18.54.1
        bind_port = {hmPort}
        controller_ip_port_list = 198.18.54.1:{hmPort}
        [house_keeping]
        spare_amphora_pool_size = {spares}
        spare_check_interval = 3600
        [controller_worker]
        workers = {Math.Max(concurrentCount, 1)}
        """);
    Console.WriteLine($"stack.sh (spare_amphora_pool_size = {spares}) in {state}");
    RunScript("stack.sh");
}

void RunScript(string script, params string[] arguments)
{
    var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = repo };
    psi.ArgumentList.Add(Path.Combine(repo, script));
    foreach (var a in arguments)
    {
        psi.ArgumentList.Add(a);
    }
    foreach (var (k, v) in env)
    {
        psi.Environment[k] = v;
    }
    using var p = Process.Start(psi)!;
    var stdout = p.StandardOutput.ReadToEndAsync();
    var stderr = p.StandardError.ReadToEndAsync();
    p.WaitForExit();
    if (p.ExitCode != 0)
    {
        throw new InvalidOperationException($"{script} exited {p.ExitCode}: {stdout.Result}\n{stderr.Result}");
    }
}

async Task<(List<double> Latencies, List<string> Ids)> SequentialAsync(string name, int n)
{
    var latencies = new List<double>();
    var ids = new List<string>();
    for (var i = 0; i < n; i++)
    {
        var (id, ms) = await CreateToActiveAsync($"owb-{name}-{i}");
        ids.Add(id);
        latencies.Add(ms);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {name} {i}: {ms:F0} ms"));
    }
    return (latencies, ids);
}

async Task<(List<double> Latencies, List<string> Ids)> ConcurrentAsync(string name, int n)
{
    var runs = await Task.WhenAll(Enumerable.Range(0, n).Select(i => CreateToActiveAsync($"owb-{name}-{i}")));
    foreach (var (_, ms) in runs)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {name}: {ms:F0} ms"));
    }
    return (runs.Select(r => r.Ms).ToList(), runs.Select(r => r.Id).ToList());
}

async Task<(string Id, double Ms)> CreateToActiveAsync(string name)
{
    var body = $$$"""
        {"loadbalancer": {"name": "{{{name}}}", "vip_subnet_id": "{{{TenantSubnet}}}",
          "listeners": [{"protocol": "HTTP", "protocol_port": 80,
            "default_pool": {"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
              "members": [{"address": "198.18.55.1", "protocol_port": 8081, "subnet_id": "{{{TenantSubnet}}}"},
                          {"address": "198.18.55.1", "protocol_port": 8082, "subnet_id": "{{{TenantSubnet}}}"},
                          {"address": "198.18.55.1", "protocol_port": 8083, "subnet_id": "{{{TenantSubnet}}}"}]}}]}}
        """;
    var sw = Stopwatch.StartNew();
    using var resp = await http.PostAsync("/v2/lbaas/loadbalancers", new StringContent(body, Encoding.UTF8, "application/json"));
    var text = await resp.Content.ReadAsStringAsync();
    if (resp.StatusCode != HttpStatusCode.Created)
    {
        throw new InvalidOperationException($"POST {name}: {(int)resp.StatusCode} {text}");
    }
    var id = (string)JsonNode.Parse(text)!["loadbalancer"]!["id"]!;
    while (sw.Elapsed < TimeSpan.FromMinutes(5))
    {
        var status = (string?)JsonNode.Parse(await http.GetStringAsync($"/v2/lbaas/loadbalancers/{id}"))!["loadbalancer"]!["provisioning_status"];
        if (status == "ACTIVE")
        {
            return (id, sw.Elapsed.TotalMilliseconds);
        }
        if (status == "ERROR")
        {
            throw new InvalidOperationException($"load balancer {name} ({id}) went to ERROR; see {state}/logs/octavia.log");
        }
        await Task.Delay(10);
    }
    throw new TimeoutException($"load balancer {name} ({id}) not ACTIVE after 5 minutes");
}

async Task DeleteAllAsync(List<string> ids)
{
    await Task.WhenAll(ids.Select(DeleteAsync));
}

async Task DeleteAsync(string id)
{
    (await http.DeleteAsync($"/v2/lbaas/loadbalancers/{id}?cascade=true")).EnsureSuccessStatusCode();
    var sw = Stopwatch.StartNew();
    while (sw.Elapsed < TimeSpan.FromMinutes(3))
    {
        using var resp = await http.GetAsync($"/v2/lbaas/loadbalancers/{id}");
        if (resp.StatusCode == HttpStatusCode.NotFound
            || (string?)JsonNode.Parse(await resp.Content.ReadAsStringAsync())!["loadbalancer"]!["provisioning_status"] == "DELETED")
        {
            return;
        }
        await Task.Delay(200);
    }
    throw new TimeoutException($"load balancer {id} not deleted after 3 minutes");
}

async Task WaitForSparesAsync(int n)
{
    var sw = Stopwatch.StartNew();
    while (sw.Elapsed < TimeSpan.FromMinutes(5))
    {
        var amps = JsonNode.Parse(await http.GetStringAsync("/v2/octavia/amphorae"))!["amphorae"]!.AsArray();
        var ready = amps.Count(a => (string?)a!["status"] == "READY" && a["loadbalancer_id"] is null);
        if (ready >= n)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"spares pool: {ready} READY after {sw.Elapsed.TotalSeconds:F1} s"));
            // Let the booted agents' start-up CPU settle, and warm the restarted service's code paths.
            await Task.Delay(TimeSpan.FromSeconds(5));
            await DeleteAsync((await CreateToActiveAsync("owb-warm-spare")).Id);
            return;
        }
        await Task.Delay(500);
    }
    throw new TimeoutException($"the spares pool did not reach {n} READY amphorae in 5 minutes");
}

// CPU time (utime + stime, plus what reaped children used: `haproxy -c`, `ip`) of the stack's processes:
// the server (octavia.pid) and everything else whose command line names the state directory (agents,
// HAProxy). Load on the machine stretches wall-clock time, hardly CPU time.
(long Server, long Amphorae, string Load) CpuMark()
{
    var serverPid = int.Parse(File.ReadAllText(Path.Combine(state, "octavia.pid")).Trim(), CultureInfo.InvariantCulture);
    long server = 0, amphorae = 0;
    foreach (var dir in Directory.EnumerateDirectories("/proc"))
    {
        if (!int.TryParse(Path.GetFileName(dir), out var pid))
        {
            continue;
        }
        try
        {
            if (pid != serverPid && !File.ReadAllText(Path.Combine(dir, "cmdline")).Contains(state, StringComparison.Ordinal))
            {
                continue;
            }
            var stat = File.ReadAllText(Path.Combine(dir, "stat"));
            // Fields after the command name "(...)": state is field 3, utime..cstime are fields 14..17.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var ticks = Enumerable.Range(11, 4).Sum(i => long.Parse(fields[i], CultureInfo.InvariantCulture));
            if (pid == serverPid)
            {
                server += ticks;
            }
            else
            {
                amphorae += ticks;
            }
        }
        catch (IOException)
        {
            // The process exited meanwhile.
        }
    }
    return (server, amphorae, File.ReadAllText("/proc/loadavg").Trim());
}

string CpuSummary((long Server, long Amphorae, string Load) start, int n)
{
    if (n == 0)
    {
        return "    CPU per create: not run";
    }
    var end = CpuMark();
    // USER_HZ is 100 on Linux: one tick is 10 ms.
    double PerCreate(long ticks) => ticks * 10.0 / n;
    return string.Create(CultureInfo.InvariantCulture,
        $"    CPU per create: server {PerCreate(end.Server - start.Server):F0} ms, amphorae (agents, HAProxy, their children) {PerCreate(end.Amphorae - start.Amphorae):F0} ms; load average before {start.Load}, after {end.Load}");
}

static string Summary(string what, List<double> ms) => ms.Count == 0
    ? $"{what}: not run"
    : string.Create(CultureInfo.InvariantCulture, $"{what} (n={ms.Count}): p50 {P(ms, 50):F0} ms, p95 {P(ms, 95):F0} ms, min {ms.Min():F0} ms, max {ms.Max():F0} ms");

// Median time per task of the create_load_balancer flows logged since `from` (the engine logs each
// task's duration at debug level).
static string TaskProfile(string log, long from)
{
    using var stream = new FileStream(log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
    stream.Seek(from, SeekOrigin.Begin);
    using var reader = new StreamReader(stream);
    var re = new Regex(@"\(create_load_balancer\): task (\S+) done in (\d+(?:\.\d+)?) ms", RegexOptions.CultureInvariant);
    var byTask = new Dictionary<string, List<double>>();
    var order = new List<string>();
    while (reader.ReadLine() is { } line)
    {
        var m = re.Match(line);
        if (!m.Success)
        {
            continue;
        }
        var task = m.Groups[1].Value;
        if (!byTask.TryGetValue(task, out var list))
        {
            byTask[task] = list = [];
            order.Add(task);
        }
        list.Add(double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
    }
    var sb = new StringBuilder("    per task, median ms:");
    foreach (var task in order)
    {
        sb.Append(CultureInfo.InvariantCulture, $" {task} {P(byTask[task], 50):F0};");
    }
    return sb.ToString();
}

static double P(List<double> values, int percentile)
{
    var sorted = values.Order().ToList();
    return sorted[Math.Min(sorted.Count - 1, Math.Max(0, (int)Math.Ceiling(percentile / 100.0 * sorted.Count) - 1))];
}

int IntArg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

static int FreeTcpPort()
{
    using var l = new TcpListener(IPAddress.Loopback, 0);
    l.Start();
    return ((IPEndPoint)l.LocalEndpoint).Port;
}

static int FreeUdpPort()
{
    using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    s.Bind(new IPEndPoint(IPAddress.Any, 0));
    return ((IPEndPoint)s.LocalEndPoint!).Port;
}

static string FindRepo()
{
    var dir = new DirectoryInfo(AppContext.BaseDirectory);
    while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Octavia.slnx")))
    {
        dir = dir.Parent;
    }
    return dir?.FullName ?? throw new InvalidOperationException("run from inside the repository");
}
