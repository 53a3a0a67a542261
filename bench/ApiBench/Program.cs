// Licensed under the Apache License, Version 2.0.
// ApiBench: create->ACTIVE latency (noop provider) and list throughput of `octavia api` on SQLite.
// Usage: dotnet run --project bench/ApiBench -c Release [-- path/to/octavia]

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Octavia.Data;

var exe = args.Length > 0 ? args[0] : FindOctavia();
var dir = Directory.CreateTempSubdirectory("oapi-bench-").FullName;
var port = FreePort();
var endpoint = $"http://127.0.0.1:{port}";
var conf = Path.Combine(dir, "octavia.conf");
File.WriteAllText(conf, $"""
    [api_settings]
    bind_host = 127.0.0.1
    bind_port = {port}
    auth_strategy = noauth
    enabled_provider_drivers = noop_driver:The noop driver.
    default_provider_driver = noop_driver
    noauth_default_project_id = bench
    [database]
    connection = sqlite:///{dir}/octavia.db
    [controller_worker]
    network_driver = network_noop_driver
    """);
using (var database = new OctaviaDatabase(DatabaseUrl.Parse($"sqlite:///{dir}/octavia.db")))
{
    await DatabaseSchema.UpgradeAsync(database);
}

var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true };
psi.ArgumentList.Add("api");
psi.ArgumentList.Add("--config-file");
psi.ArgumentList.Add(conf);
using var server = Process.Start(psi)!;
server.BeginOutputReadLine();
server.BeginErrorReadLine();
using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = new Uri(endpoint) };
try
{
    for (var i = 0; ; i++)
    {
        try
        {
            (await http.GetAsync("/")).EnsureSuccessStatusCode();
            break;
        }
        catch (HttpRequestException) when (i < 300)
        {
            await Task.Delay(100);
        }
    }

    // Warm up.
    for (var i = 0; i < 5; i++)
    {
        await CreateToActive();
    }
    var sequential = new List<double>();
    var createCpuBefore = CpuMs(server.Id);
    for (var i = 0; i < 40; i++)
    {
        sequential.Add(await CreateToActive());
    }
    var createCpu = (CpuMs(server.Id) - createCpuBefore) / sequential.Count;
    var concurrent = new List<double>();
    await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
    {
        for (var i = 0; i < 10; i++)
        {
            var ms = await CreateToActive();
            lock (concurrent)
            {
                concurrent.Add(ms);
            }
        }
    }));
    var count = JsonNode.Parse(await http.GetStringAsync("/v2/lbaas/loadbalancers"))!["loadbalancers"]!.AsArray().Count;
    for (; count < 100; count++)
    {
        await CreateToActive();
    }
    // Warm up the list path (JIT, connection pool) before measuring it.
    await ListLoad(http, server.Id, "/v2/lbaas/loadbalancers", TimeSpan.FromSeconds(3));
    var (rps, cpuPerRequest) = await ListLoad(http, server.Id, "/v2/lbaas/loadbalancers", TimeSpan.FromSeconds(10));
    var wrk = RunWrk(server.Id, $"{endpoint}/v2/lbaas/loadbalancers");
    var wrkLimit = RunWrk(server.Id, $"{endpoint}/v2/lbaas/loadbalancers?limit=1");
    var rss = File.ReadLines($"/proc/{server.Id}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));

    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"create->ACTIVE sequential (n={sequential.Count}): p50 {P(sequential, 50):F1} ms, p95 {P(sequential, 95):F1} ms"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  server CPU per sequential create->ACTIVE (POST, completion and the 1 ms polls): {createCpu:F1} ms"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"create->ACTIVE 8 concurrent clients (n={concurrent.Count}): p50 {P(concurrent, 50):F1} ms, p95 {P(concurrent, 95):F1} ms"));
    Console.WriteLine($"GET list with {count} LBs, response cache on (default; every request after the first is a hit):");
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  HttpClient c=16 10s: {rps:F0} req/s, server CPU {cpuPerRequest:F3} ms/request"));
    Console.WriteLine($"  wrk -t2 -c16 -d10s /v2/lbaas/loadbalancers: {wrk}");
    Console.WriteLine($"  wrk -t2 -c16 -d10s /v2/lbaas/loadbalancers?limit=1: {wrkLimit}");
    Console.WriteLine($"  server {rss.Replace("\t", " ", StringComparison.Ordinal)}");

    // The miss path: a second API process on the same database with the cache off builds every body.
    var missPort = FreePort();
    var missConf = Path.Combine(dir, "octavia-nocache.conf");
    File.WriteAllText(missConf, File.ReadAllText(conf).Replace($"bind_port = {port}", $"bind_port = {missPort}", StringComparison.Ordinal)
        .Replace("[api_settings]", "[api_settings]\nresponse_cache = false", StringComparison.Ordinal));
    var missPsi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (var a in new[] { "api", "--config-file", missConf })
    {
        missPsi.ArgumentList.Add(a);
    }
    using var missServer = Process.Start(missPsi)!;
    missServer.BeginOutputReadLine();
    missServer.BeginErrorReadLine();
    try
    {
        using var missHttp = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = new Uri($"http://127.0.0.1:{missPort}") };
        for (var i = 0; ; i++)
        {
            try
            {
                (await missHttp.GetAsync("/")).EnsureSuccessStatusCode();
                break;
            }
            catch (HttpRequestException) when (i < 300)
            {
                await Task.Delay(100);
            }
        }
        // Longer warm-up than the hit path: every request runs the whole read path, which tiered JIT needs a
        // while to optimise on a loaded machine.
        await ListLoad(missHttp, missServer.Id, "/v2/lbaas/loadbalancers", TimeSpan.FromSeconds(10));
        var (missRps, missCpu) = await ListLoad(missHttp, missServer.Id, "/v2/lbaas/loadbalancers", TimeSpan.FromSeconds(10));
        var missWrk = RunWrk(missServer.Id, $"http://127.0.0.1:{missPort}/v2/lbaas/loadbalancers");
        var missWrkLimit = RunWrk(missServer.Id, $"http://127.0.0.1:{missPort}/v2/lbaas/loadbalancers?limit=1");
        var missRss = File.ReadLines($"/proc/{missServer.Id}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        Console.WriteLine($"GET list with {count} LBs, response cache off (response_cache = false: every request builds its body):");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  HttpClient c=16 10s: {missRps:F0} req/s, server CPU {missCpu:F3} ms/request"));
        Console.WriteLine($"  wrk -t2 -c16 -d10s /v2/lbaas/loadbalancers: {missWrk}");
        Console.WriteLine($"  wrk -t2 -c16 -d10s /v2/lbaas/loadbalancers?limit=1: {missWrkLimit}");
        Console.WriteLine($"  server {missRss.Replace("\t", " ", StringComparison.Ordinal)}");
    }
    finally
    {
        missServer.Kill(entireProcessTree: true);
        missServer.WaitForExit();
    }
}
finally
{
    server.Kill(entireProcessTree: true);
    server.WaitForExit();
    Directory.Delete(dir, recursive: true);
}

async Task<double> CreateToActive()
{
    var sw = Stopwatch.StartNew();
    var body = """
        {"loadbalancer": {"name": "bench", "vip_subnet_id": "3a1c2b47-8c3b-4f0b-9a07-0d7e4b2b8f11",
          "listeners": [{"protocol": "HTTP", "protocol_port": 80,
            "default_pool": {"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
              "members": [{"address": "192.0.2.1", "protocol_port": 80}, {"address": "192.0.2.2", "protocol_port": 80}, {"address": "192.0.2.3", "protocol_port": 80}],
              "healthmonitor": {"type": "HTTP", "delay": 5, "timeout": 3, "max_retries": 3}}}]}}
        """;
    using var resp = await http.PostAsync("/v2/lbaas/loadbalancers", new StringContent(body, Encoding.UTF8, "application/json"));
    var created = JsonNode.Parse(await resp.Content.ReadAsStringAsync())!;
    if (resp.StatusCode != HttpStatusCode.Created)
    {
        throw new InvalidOperationException(created.ToJsonString());
    }
    var id = (string)created["loadbalancer"]!["id"]!;
    while (true)
    {
        var shown = JsonNode.Parse(await http.GetStringAsync($"/v2/lbaas/loadbalancers/{id}?fields=provisioning_status"))!;
        if ((string?)shown["loadbalancer"]!["provisioning_status"] == "ACTIVE")
        {
            return sw.Elapsed.TotalMilliseconds;
        }
        await Task.Delay(1);
    }
}

static double CpuMs(int pid)
{
    // utime and stime, fields 14 and 15 of /proc/pid/stat, in clock ticks (100 per second on Linux).
    var stat = File.ReadAllText($"/proc/{pid}/stat");
    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) * 10.0;
}

// Requests per second and the server's CPU per request for 16 concurrent HttpClient loops over `path`.
static async Task<(double Rps, double CpuMs)> ListLoad(HttpClient client, int pid, string path, TimeSpan duration)
{
    var total = 0L;
    var cpuBefore = CpuMs(pid);
    var sw = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, 16).Select(async _ =>
    {
        while (sw.Elapsed < duration)
        {
            using var resp = await client.GetAsync(path);
            resp.EnsureSuccessStatusCode();
            await resp.Content.ReadAsByteArrayAsync();
            Interlocked.Increment(ref total);
        }
    }));
    var elapsed = sw.Elapsed.TotalSeconds;
    // Server CPU per request is what the load on this shared machine disturbs least.
    return (total / elapsed, (CpuMs(pid) - cpuBefore) / total);
}

static string RunWrk(int pid, string url)
{
    var psi = new ProcessStartInfo("wrk") { RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (var a in new[] { "-t2", "-c16", "-d10s", url })
    {
        psi.ArgumentList.Add(a);
    }
    try
    {
        var cpuBefore = CpuMs(pid);
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        var cpu = CpuMs(pid) - cpuBefore;
        var lines = output.Split('\n');
        var line = lines.FirstOrDefault(l => l.StartsWith("Requests/sec:", StringComparison.Ordinal));
        var errors = lines.FirstOrDefault(l => l.Contains("Non-2xx", StringComparison.Ordinal));
        // "  12345 requests in 10.00s, 1.00GB read"
        var countLine = lines.FirstOrDefault(l => l.Contains(" requests in ", StringComparison.Ordinal));
        var requests = countLine is null ? 0 : long.Parse(countLine.Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        var perRequest = requests == 0 ? "" : string.Create(CultureInfo.InvariantCulture, $", server CPU {cpu / requests:F3} ms/request");
        return (line?.Trim() ?? "no result") + perRequest + (errors is null ? "" : " (" + errors.Trim() + ")");
    }
    catch (System.ComponentModel.Win32Exception)
    {
        return "wrk not installed";
    }
}

static double P(List<double> values, int percentile)
{
    var sorted = values.Order().ToList();
    return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(percentile / 100.0 * sorted.Count) - 1)];
}

static int FreePort()
{
    using var l = new TcpListener(IPAddress.Loopback, 0);
    l.Start();
    return ((IPEndPoint)l.LocalEndpoint).Port;
}

static string FindOctavia()
{
    var dir = new DirectoryInfo(AppContext.BaseDirectory);
    while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Octavia.slnx")))
    {
        dir = dir.Parent;
    }
    foreach (var config in new[] { "release", "debug" })
    {
        var path = Path.Combine(dir!.FullName, "artifacts", "bin", "Octavia", config, "octavia");
        if (File.Exists(path))
        {
            return path;
        }
    }
    throw new InvalidOperationException("octavia is not built: run 'dotnet build src/Octavia -c Release' first");
}
