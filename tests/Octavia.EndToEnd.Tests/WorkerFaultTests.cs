// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Octavia.EndToEnd.Tests;

/// <summary>
/// Faults in the create path with the real local drivers: an all-in-one process (API and worker)
/// SIGKILLed in the middle of create flows, and amphorae whose agent cannot start. A private stack.sh
/// deployment on 198.18.54.128/25 (management) and 198.18.55.128/25 (tenant), bridges <c>owbf*</c>.
/// </summary>
public sealed class WorkerFaultTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string TenantSubnet = "0b0e5500-5b55-4b55-8b55-0000000000f5";
    private static readonly TimeSpan StackTimeout = TimeSpan.FromMinutes(4);

    private readonly string _state = Deployment.TempDir("owbf-");
    private readonly int _apiPort = FreeTcpPort();
    private readonly int _hmPort = FreeUdpPort();
    private readonly HashSet<string> _amphoraIds = [];
    private readonly HashSet<string> _portIds = [];
    private readonly HashSet<int> _agentPids = [];
    private HttpClient? _http;
    private Shell? _sh;

    private HttpClient Http => _http!;

    private string Log => Path.Combine(_state, "logs", "octavia.log");

    public ValueTask InitializeAsync()
    {
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_apiPort}"), Timeout = TimeSpan.FromSeconds(30) };
        _sh = new Shell(RepoRoot, new Dictionary<string, string>
        {
            ["OCTAVIA_STACK_DIR"] = _state,
            ["OCTAVIA_API_PORT"] = _apiPort.ToString(CultureInfo.InvariantCulture),
            ["OCTAVIA_OPENRC"] = Path.Combine(_state, "openrc"),
            ["OCTAVIA_STACK_EXTRA_CONF"] = Path.Combine(_state, "extra.ini"),
        }, output);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        _http?.Dispose();
        if (File.Exists(Path.Combine(_state, "octavia.conf")))
        {
            _sh!.Try("./unstack.sh --purge", TimeSpan.FromMinutes(2));
        }
        if (Directory.Exists(_state))
        {
            Directory.Delete(_state, recursive: true);
        }
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task AllInOne_SigkilledDuringCreateFlows_RestartFinishesEveryLoadBalancerAndLeaksNothing()
    {
        SkipUnlessReady();
        Stack();
        // After compute create (the agent is starting), after the VIP plug, during the config push.
        string[] killAt = ["ComputeWait", "AmphoraPostVipPlug", "AmphoraeUpdate"];
        var lbs = new List<string>();
        foreach (var task in killAt)
        {
            // The log line that triggers the kill can reach the file together with the flow's last lines (the
            // logger writes in batches), so on a quick machine the flow may already be done: then try again.
            for (var attempt = 1; ; attempt++)
            {
                var mark = new FileInfo(Log).Length;
                var lb = await CreateAsync($"owbf-kill-{task}-{attempt}");
                lbs.Add(lb);
                await WaitForLogAsync(mark, $"running task {task}", TimeSpan.FromMinutes(3));
                Snapshot();
                var pid = int.Parse(File.ReadAllText(Path.Combine(_state, "octavia.pid")).Trim(), CultureInfo.InvariantCulture);
                using (var process = Process.GetProcessById(pid))
                {
                    process.Kill(); // SIGKILL: no revert, no lease release
                    await process.WaitForExitAsync(TestContext.Current.CancellationToken);
                }
                var midRun = !ReadLogFrom(mark).Contains("(create_load_balancer) succeeded", StringComparison.Ordinal);
                output.WriteLine($"killed the all-in-one process at task {task} of {lb} (attempt {attempt}, {(midRun ? "mid-run" : "the flow had already finished")})");
                var restartMark = new FileInfo(Log).Length;
                Stack();
                var final = await WaitForTerminalAsync(lb, TimeSpan.FromMinutes(4));
                output.WriteLine($"{lb} ended {final}");
                Snapshot();
                if (midRun)
                {
                    ReadLogFrom(restartMark).ShouldContain("(create_load_balancer): resuming after");
                    break;
                }
                attempt.ShouldBeLessThan(3, $"the kill at {task} never landed while the flow was running");
            }
        }

        foreach (var lb in lbs)
        {
            // A resumed flow finishes rather than reverting: the amphora and VIP it had made are reused.
            (await StatusAsync(lb)).ShouldBe("ACTIVE");
            var amphorae = await AmphoraeAsync(lb);
            amphorae.Count.ShouldBe(1, $"{lb}: one amphora, none left from the killed attempt");
            ((string?)amphorae[0]["status"]).ShouldBe("ALLOCATED");
            var id = (string)amphorae[0]["id"]!;
            Deployment.Namespaces().ShouldContain("amphora-" + id);
            AgentProcesses(id).Count.ShouldBe(1, $"amphora {id}: one agent");
        }
        var live = (await AllAmphoraeAsync()).Where(a => (string?)a["status"] != "DELETED").Select(a => (string)a["id"]!).ToHashSet();
        AmphoraRunDirs().ShouldBe(live, ignoreOrder: true);

        foreach (var lb in lbs)
        {
            await DeleteAsync(lb);
        }
        AssertNothingLeaked();
    }

    [Fact]
    public async Task AgentCannotStart_LoadBalancerGoesToErrorWithReasonAndAmphoraIsCleanedUp()
    {
        SkipUnlessReady();
        Stack("[local_compute]\nagent_executable = /bin/false\n");
        var mark = new FileInfo(Log).Length;
        var lb = await CreateAsync("owbf-noagent");
        var sw = Stopwatch.StartNew();
        var final = await WaitForTerminalAsync(lb, TimeSpan.FromMinutes(2));
        output.WriteLine($"{lb} ended {final} after {sw.Elapsed.TotalSeconds:F1} s");
        final.ShouldBe("ERROR");
        var log = ReadLogFrom(mark);
        log.ShouldContain("failed in task");
        log.ShouldContain("exited", customMessage: "the log names why the amphora failed");
        (await AmphoraeAsync(lb)).ShouldAllBe(a => (string?)a["status"] == "DELETED" || (string?)a["status"] == "ERROR");
        // The load balancer in ERROR keeps its VIP port until it is deleted, as upstream's does.
        AssertNothingLeaked(vipMayRemain: true);
        await DeleteAsync(lb);
        AssertNothingLeaked();
    }

    private void Stack(string extra = "")
    {
        File.WriteAllText(Path.Combine(_state, "extra.ini"), $"""
            [DEFAULT]
            debug = true
            [local_networks]
            networks = name=lb-mgmt-net,subnet=lb-mgmt-subnet,cidr=198.18.54.128/25,gateway=none,host=198.18.54.129,bridge=owbfmgmt
            networks = name=private,subnet=private-subnet,subnet_id={TenantSubnet},cidr=198.18.55.128/25,gateway=198.18.55.129,host=198.18.55.129,bridge=owbften
            [health_manager]
            bind_ip = 198.18.54.129
            bind_port = {_hmPort}
            controller_ip_port_list = 198.18.54.129:{_hmPort}
            [controller_worker]
            flow_lease_seconds = 2
            {extra}
            """);
        _sh!.Run("./stack.sh", StackTimeout);
    }

    private async Task<string> CreateAsync(string name)
    {
        var body = $$$"""
            {"loadbalancer": {"name": "{{{name}}}", "vip_subnet_id": "{{{TenantSubnet}}}",
              "listeners": [{"protocol": "HTTP", "protocol_port": 80,
                "default_pool": {"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                  "members": [{"address": "198.18.55.129", "protocol_port": 8081, "subnet_id": "{{{TenantSubnet}}}"},
                              {"address": "198.18.55.129", "protocol_port": 8082, "subnet_id": "{{{TenantSubnet}}}"}]}}]}}
            """;
        using var resp = await Http.PostAsync("/v2/lbaas/loadbalancers", new StringContent(body, Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        var text = await resp.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        resp.StatusCode.ShouldBe(HttpStatusCode.Created, text);
        return (string)JsonNode.Parse(text)!["loadbalancer"]!["id"]!;
    }

    private async Task<string?> StatusAsync(string lb)
    {
        using var resp = await Http.GetAsync($"/v2/lbaas/loadbalancers/{lb}", TestContext.Current.CancellationToken);
        return resp.StatusCode == HttpStatusCode.NotFound
            ? "DELETED"
            : (string?)JsonNode.Parse(await resp.Content.ReadAsStringAsync(TestContext.Current.CancellationToken))!["loadbalancer"]!["provisioning_status"];
    }

    private async Task<string> WaitForTerminalAsync(string lb, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        string? status = null;
        while (sw.Elapsed < timeout)
        {
            status = await StatusAsync(lb);
            if (status is "ACTIVE" or "ERROR" or "DELETED")
            {
                return status;
            }
            Snapshot();
            await Task.Delay(200, TestContext.Current.CancellationToken);
        }
        throw new TimeoutException($"load balancer {lb} still {status} after {timeout}; see {Log}");
    }

    private async Task DeleteAsync(string lb)
    {
        using (var resp = await Http.DeleteAsync($"/v2/lbaas/loadbalancers/{lb}?cascade=true", TestContext.Current.CancellationToken))
        {
            ((int)resp.StatusCode).ShouldBeInRange(200, 299, await resp.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        }
        (await WaitForTerminalAsync(lb, TimeSpan.FromMinutes(2))).ShouldBe("DELETED");
    }

    private async Task<List<JsonObject>> AllAmphoraeAsync() =>
        [.. JsonNode.Parse(await Http.GetStringAsync("/v2/octavia/amphorae", TestContext.Current.CancellationToken))!["amphorae"]!.AsArray().OfType<JsonObject>()];

    private async Task<List<JsonObject>> AmphoraeAsync(string lb) =>
        [.. (await AllAmphoraeAsync()).Where(a => (string?)a["loadbalancer_id"] == lb)];

    private async Task WaitForLogAsync(long from, string text, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (!ReadLogFrom(from).Contains(text, StringComparison.Ordinal))
        {
            if (sw.Elapsed > timeout)
            {
                throw new TimeoutException($"'{text}' not logged within {timeout}; see {Log}");
            }
            await Task.Delay(5, TestContext.Current.CancellationToken);
        }
    }

    private string ReadLogFrom(long from)
    {
        using var stream = new FileStream(Log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        stream.Seek(from, SeekOrigin.Begin);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private string AmphoraeDir => Path.Combine(_state, "local", "amphorae");

    private HashSet<string> AmphoraRunDirs() =>
        Directory.Exists(AmphoraeDir) ? [.. Directory.GetDirectories(AmphoraeDir).Select(Path.GetFileName).OfType<string>()] : [];

    // Remembers every amphora, agent PID and port seen, so the end can check none of them outlived its load balancer.
    private void Snapshot()
    {
        foreach (var dir in AmphoraRunDirs())
        {
            _amphoraIds.Add(dir);
            var pidFile = Path.Combine(AmphoraeDir, dir, "agent.pid");
            try
            {
                if (int.TryParse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture, out var pid))
                {
                    _agentPids.Add(pid);
                }
            }
            catch (IOException)
            {
            }
        }
        try
        {
            var ipam = JsonNode.Parse(File.ReadAllText(Path.Combine(_state, "local", "ipam.json")));
            foreach (var port in (ipam?["ports"] as JsonArray ?? []).OfType<JsonObject>())
            {
                if ((string?)port["id"] is { } id)
                {
                    _portIds.Add(id);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or System.Text.Json.JsonException)
        {
        }
    }

    // The agent's command line names its config file; its HAProxy's names only the run directory.
    private List<int> AgentProcesses(string amphoraId) => Deployment.ProcessesMentioning(Path.Combine(AmphoraeDir, amphoraId, "amphora-agent.conf"));

    private List<int> ProcessesOf(string amphoraId) => Deployment.ProcessesMentioning(Path.Combine(AmphoraeDir, amphoraId));

    private void AssertNothingLeaked(bool vipMayRemain = false)
    {
        Snapshot();
        _amphoraIds.ShouldNotBeEmpty("the test saw amphorae being built");
        var live = AmphoraRunDirs();
        var namespaces = Deployment.Namespaces();
        var links = Deployment.Links();
        foreach (var id in _amphoraIds.Where(id => !live.Contains(id)))
        {
            namespaces.ShouldNotContain("amphora-" + id);
            ProcessesOf(id).ShouldBeEmpty($"amphora {id} is gone but processes of it run");
        }
        foreach (var pid in _agentPids)
        {
            var alive = File.Exists($"/proc/{pid}/cmdline") && File.ReadAllText($"/proc/{pid}/cmdline").Contains(AmphoraeDir, StringComparison.Ordinal);
            if (alive)
            {
                live.ShouldContain(id => File.ReadAllText($"/proc/{pid}/cmdline").Contains(id, StringComparison.Ordinal), $"agent pid {pid} runs without a live amphora");
            }
        }
        var ipamPorts = File.Exists(Path.Combine(_state, "local", "ipam.json"))
            ? (JsonNode.Parse(File.ReadAllText(Path.Combine(_state, "local", "ipam.json")))?["ports"] as JsonArray ?? []).OfType<JsonObject>().Select(p => (string)p["id"]!).ToHashSet()
            : [];
        foreach (var port in _portIds.Where(p => !ipamPorts.Contains(p)))
        {
            links.ShouldNotContain("tap" + port[..11], $"port {port} is gone but its veth is not");
        }
        if (live.Count == 0 && !vipMayRemain)
        {
            ipamPorts.ShouldBeEmpty("no amphora, no port");
        }
    }

    private static void SkipUnlessReady()
    {
        if (!IsRoot)
        {
            Assert.Skip("needs root (namespaced amphorae, bridges, veths)");
        }
        foreach (var program in new[] { "haproxy", "openssl", "ip" })
        {
            if (!HasProgram(program))
            {
                Assert.Skip($"needs {program}");
            }
        }
    }
}
