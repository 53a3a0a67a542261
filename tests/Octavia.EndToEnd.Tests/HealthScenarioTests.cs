// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Octavia.EndToEnd.Tests;

/// <summary>The "ofo" deployment is one at a time: its classes share networks, bridges and names.</summary>
[CollectionDefinition("ofo", DisableParallelization = true)]
public sealed class HealthCollection
{
}

/// <summary>
/// One private deployment with a SINGLE load balancer (HTTP listener, pool with an HTTP health monitor, two
/// members on the tenant host address), shared by the health scenarios; unstacked when the class is done.
/// </summary>
public sealed class HealthStackFixture : IAsyncDisposable
{
    private HealthStack? _stack;
    private ITestOutputHelper? _output;

    internal HealthStack Stack => _stack!;

    internal string Vip { get; private set; } = "";

    internal HttpBackend Web1 { get; private set; } = null!;

    internal HttpBackend Web2 { get; private set; } = null!;

    internal string Member2 { get; private set; } = "";

    internal void Log(string text)
    {
        // Unstacking happens after the last test, when there is no test output to write to.
        if (TestContext.Current.Test is not null)
        {
            _output?.WriteLine(text);
        }
    }

    internal string Run(string command) => Stack.Run(RepoRoot, command);

    /// <summary>Starts the deployment and builds the load balancer the first time a test asks.</summary>
    internal async Task EnsureAsync(ITestOutputHelper output)
    {
        _output = output;
        if (!IsRoot)
        {
            Assert.Skip("needs root (stack.sh makes bridges, namespaces and veths)");
        }
        foreach (var program in new[] { "openstack", "haproxy", "python3" })
        {
            if (!HasProgram(program))
            {
                Assert.Skip($"needs {program}");
            }
        }
        if (_stack is not null)
        {
            return;
        }
        var started = Stopwatch.StartNew();
        _stack = HealthStack.Start(RepoRoot, Log);
        Web1 = _stack.Backend("web-1", bodyBytes: 1000);
        Web2 = _stack.Backend("web-2", bodyBytes: 1000);
        var lb = HealthStack.Json(Run("openstack loadbalancer create --name lb1 --vip-subnet-id private-subnet --wait -f json"));
        Vip = (string)lb["vip_address"]!;
        Run("openstack loadbalancer listener create --name listener1 --protocol HTTP --protocol-port 80 --wait lb1");
        Run("openstack loadbalancer pool create --name pool1 --lb-algorithm ROUND_ROBIN --listener listener1 --protocol HTTP --wait");
        Run("openstack loadbalancer healthmonitor create --name hm1 --delay 1 --timeout 1 --max-retries 1 --max-retries-down 1 --type HTTP --url-path /health --wait pool1");
        Run($"openstack loadbalancer member create --name m1 --address {HealthStack.TenantHost} --protocol-port {Web1.Port} --subnet-id private-subnet --wait pool1");
        Member2 = (string)HealthStack.Json(Run($"openstack loadbalancer member create --name m2 --address {HealthStack.TenantHost} --protocol-port {Web2.Port} --subnet-id private-subnet --wait pool1 -f json"))["id"]!;
        await WaitHealthyAsync();
        Log($"deployment and load balancer ready in {started.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>Waits until every object is ACTIVE/ONLINE and both members answer on the VIP.</summary>
    internal async Task WaitHealthyAsync(int seconds = 90)
    {
        var deadline = Stopwatch.StartNew();
        string last = "";
        while (deadline.Elapsed < TimeSpan.FromSeconds(seconds))
        {
            last = Run("openstack loadbalancer status show lb1");
            var tree = HealthStack.Json(last).ToJsonString();
            var bodies = new HashSet<string>();
            for (var i = 0; i < 4; i++)
            {
                var (status, body) = await Deployment.GetAsync($"http://{Vip}/");
                bodies.Add(status == 200 ? body : status.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            var allGood = !tree.Contains("PENDING", StringComparison.Ordinal) && !tree.Contains("ERROR", StringComparison.Ordinal)
                && !tree.Contains("DEGRADED", StringComparison.Ordinal) && !tree.Contains("OFFLINE", StringComparison.Ordinal)
                && !tree.Contains("NO_MONITOR", StringComparison.Ordinal);
            if (allGood && bodies.SetEquals(["web-1", "web-2"]))
            {
                return;
            }
            await Task.Delay(1000, TestContext.Current.CancellationToken);
        }
        throw new ShouldAssertException($"lb1 did not become ACTIVE/ONLINE with both members answering within {seconds} s:\n{last}");
    }

    public async ValueTask DisposeAsync()
    {
        if (_stack is null)
        {
            return;
        }
        var state = _stack.State;
        _stack.Unstack(RepoRoot);
        _stack.Dispose();
        await Task.CompletedTask;
        // Nothing of the deployment may survive unstack: processes, namespaces' veths, bridges.
        Deployment.ProcessesMentioning(state).ShouldBeEmpty();
        var links = Deployment.Links();
        links.ShouldNotContain("ofo-mgmt");
        links.ShouldNotContain("ofo-priv");
    }
}

/// <summary>
/// Issue #4: the health manager with real amphorae in the SINGLE topology — failover of a killed amphora
/// under load, member health from a health monitor, statistics from real traffic, manual failover.
/// </summary>
[Collection("ofo")]
public sealed class HealthScenarioTests(HealthStackFixture fx, ITestOutputHelper output) : IClassFixture<HealthStackFixture>
{
    [Fact]
    public async Task KilledAmphora_UnderLoad_HealthManagerFailsOverAndTrafficReturns()
    {
        await fx.EnsureAsync(output);
        var result = await FailoverDrill.RunAsync(fx.Stack, RepoRoot, fx.Vip, "lb1", fx.Log);
        output.WriteLine(result.ToString());
        result.Outage.ShouldNotBeNull("traffic never returned after the failover");
        await fx.WaitHealthyAsync();
        result.OldAmphoraDeleted.ShouldBeTrue("the killed amphora's row is not DELETED");
        Deployment.Namespaces().ShouldNotContain("amphora-" + result.OldAmphoraId);
        Deployment.ProcessesMentioning(result.OldAmphoraId).ShouldBeEmpty();
        Directory.Exists(Path.Combine(fx.Stack.State, "local", "amphorae", result.OldAmphoraId)).ShouldBeFalse();
    }

    [Fact]
    public async Task MemberBackendStops_MemberErrorPoolAndLbDegraded_ThenOnlineWhenItReturns()
    {
        await fx.EnsureAsync(output);
        await fx.WaitHealthyAsync();
        var stopped = Stopwatch.StartNew();
        fx.Web2.Stop();
        try
        {
            var degraded = await WaitStatusAsync(s => s.Member2 == "ERROR" && s.Pool == "DEGRADED" && s.Lb == "DEGRADED", 60);
            output.WriteLine($"member ERROR, pool and LB DEGRADED {stopped.Elapsed.TotalSeconds:F1} s after the backend stopped: {degraded}");
            degraded.Member2.ShouldBe("ERROR");
            // HAProxy's health monitor took the member out: every request lands on web-1.
            for (var i = 0; i < 10; i++)
            {
                var (status, body) = await Deployment.GetAsync($"http://{fx.Vip}/");
                status.ShouldBe(200, body);
                body.ShouldBe("web-1");
            }
        }
        finally
        {
            fx.Web2.Start();
        }
        var restarted = Stopwatch.StartNew();
        var online = await WaitStatusAsync(s => s.Member2 == "ONLINE" && s.Pool == "ONLINE" && s.Lb == "ONLINE", 60);
        output.WriteLine($"ONLINE everywhere {restarted.Elapsed.TotalSeconds:F1} s after the backend returned: {online}");
        online.Lb.ShouldBe("ONLINE");
        await fx.WaitHealthyAsync();
    }

    [Fact]
    public async Task KnownTraffic_StatsShowExactConnectionsRequestErrorsAndBytes()
    {
        await fx.EnsureAsync(output);
        await fx.WaitHealthyAsync();
        using var api = new HttpClient { BaseAddress = new Uri(fx.Stack.Environment["OS_ENDPOINT"]) };
        var lbId = (string)fx.Stack.Show(RepoRoot, "loadbalancer show lb1")["id"]!;
        var listenerId = (string)fx.Stack.Show(RepoRoot, "loadbalancer listener show listener1")["id"]!;

        // Other scenarios' traffic must have been reported before the baseline is taken: wait until the
        // counters have not moved for two heartbeat intervals (1 s each here).
        var settle = Stopwatch.StartNew();
        var unchangedSince = Stopwatch.StartNew();
        var last = await ApiStatsAsync(api, $"/v2/lbaas/loadbalancers/{lbId}/stats");
        while (unchangedSince.Elapsed < TimeSpan.FromSeconds(2) && settle.Elapsed < TimeSpan.FromSeconds(20))
        {
            await Task.Delay(100, TestContext.Current.CancellationToken);
            var now = await ApiStatsAsync(api, $"/v2/lbaas/loadbalancers/{lbId}/stats");
            if (now != last)
            {
                last = now;
                unchangedSince.Restart();
            }
        }
        var before = Stats("loadbalancer stats show lb1");
        var beforeListener = Stats("loadbalancer listener stats show listener1");

        const int good = 20;
        const int bad = 3;
        long sent = 0;
        long received = 0;
        long responseHeaders = 0;
        long requestSeparators = 0;
        var goodRequest = Encoding.ASCII.GetBytes($"GET /blob HTTP/1.1\r\nHost: {fx.Vip}\r\nUser-Agent: ofo-stats\r\nConnection: close\r\n\r\n");
        var badRequest = Encoding.ASCII.GetBytes("NOT A REQUEST\r\n\r\n");
        for (var i = 0; i < good + bad; i++)
        {
            var request = i < good ? goodRequest : badRequest;
            var answer = await ExchangeAsync(fx.Vip, request);
            sent += request.Length;
            received += answer.Length;
            var text = Encoding.ASCII.GetString(answer);
            var headEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            responseHeaders += headEnd < 0 ? answer.Length : headEnd + 4;
            // HAProxy's internal HTTP representation does not count the ": " and CRLF separators it parsed.
            var requestText = Encoding.ASCII.GetString(request);
            requestSeparators += (2 * CountOf(requestText, "\r\n")) + (2 * CountOf(requestText, ": "));
            var statusLine = Encoding.ASCII.GetString(answer).Split('\r')[0];
            statusLine.ShouldMatch(i < good ? "^HTTP/1.[01] 200" : "^HTTP/1.[01] 400");
        }
        var sentAt = Stopwatch.StartNew();
        output.WriteLine($"sent {good} good and {bad} bad requests: {sent} bytes in, {received} bytes out");

        // Polled through the API itself (the CLI takes ~1.5 s a call), so the delay is what the system adds.
        (long In, long Out, long Conns, long Errors) delta = default;
        (long In, long Out, long Conns, long Errors) listenerDelta = default;
        while (sentAt.Elapsed < TimeSpan.FromSeconds(30))
        {
            var now = await ApiStatsAsync(api, $"/v2/lbaas/loadbalancers/{lbId}/stats");
            var nowListener = await ApiStatsAsync(api, $"/v2/lbaas/listeners/{listenerId}/stats");
            delta = (now.In - before.In, now.Out - before.Out, now.Conns - before.Conns, now.Errors - before.Errors);
            listenerDelta = (nowListener.In - beforeListener.In, nowListener.Out - beforeListener.Out, nowListener.Conns - beforeListener.Conns, nowListener.Errors - beforeListener.Errors);
            if (delta.Conns >= good + bad && delta.Errors >= bad && delta.In > 0 && listenerDelta == delta)
            {
                break;
            }
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
        var reportedAfter = sentAt.Elapsed;
        output.WriteLine($"stats after {sentAt.Elapsed.TotalSeconds:F1} s: load balancer {delta}, listener {listenerDelta}");
        delta.Conns.ShouldBe(good + bad);
        delta.Errors.ShouldBe(bad);
        // Bytes: at most what went over the wire, at least that minus what HTTP framing explains.
        output.WriteLine($"bytes in: counted {delta.In} of {sent} sent ({requestSeparators} bytes of separators); bytes out: counted {delta.Out} of {received} received ({responseHeaders} bytes of headers)");
        delta.In.ShouldBeInRange(sent - requestSeparators, sent);
        delta.Out.ShouldBeInRange(received - responseHeaders, received);
        listenerDelta.ShouldBe(delta);
        // Issue #4: within two heartbeat intervals (1 s here) of the traffic's end.
        reportedAfter.ShouldBeLessThanOrEqualTo(TimeSpan.FromSeconds(2), $"stats reported after {reportedAfter.TotalSeconds:F2} s");
    }

    private static async Task<(long In, long Out, long Conns, long Errors)> ApiStatsAsync(HttpClient api, string path)
    {
        var json = JsonNode.Parse(await api.GetStringAsync(path, TestContext.Current.CancellationToken))!["stats"]!;
        return ((long)json["bytes_in"]!, (long)json["bytes_out"]!, (long)json["total_connections"]!, (long)json["request_errors"]!);
    }

    [Fact]
    public async Task ManualFailover_LoadBalancerAndAmphora_ReplaceTheAmphoraAndTrafficReturns()
    {
        await fx.EnsureAsync(output);
        await fx.WaitHealthyAsync();
        var first = fx.Stack.Amphorae(RepoRoot, "lb1").Single();
        await using (var client = new SteadyClient($"http://{fx.Vip}/"))
        {
            await WaitSuccessAsync(client, DateTime.UtcNow);
            var at = DateTime.UtcNow;
            fx.Run("openstack loadbalancer failover --wait lb1");
            var second = fx.Stack.Amphorae(RepoRoot, "lb1").Single();
            ((string)second["id"]!).ShouldNotBe((string)first["id"]!);
            var back = await WaitSuccessAsync(client, at);
            output.WriteLine($"load balancer failover: outage {client.OutageAround(at)?.TotalSeconds:F1} s");
            back.ShouldBeTrue();

            at = DateTime.UtcNow;
            fx.Run($"openstack loadbalancer amphora failover --wait {(string)second["id"]!}");
            var third = fx.Stack.Amphorae(RepoRoot, "lb1").Single();
            ((string)third["id"]!).ShouldNotBe((string)second["id"]!);
            back = await WaitSuccessAsync(client, at);
            output.WriteLine($"amphora failover: outage {client.OutageAround(at)?.TotalSeconds:F1} s");
            back.ShouldBeTrue();
        }
        await fx.WaitHealthyAsync();
        Deployment.Namespaces().ShouldNotContain("amphora-" + (string)first["id"]!);
    }

    private static async Task<bool> WaitSuccessAsync(SteadyClient client, DateTime since)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (client.FirstSuccessAfter(since.AddSeconds(0.5)) is not null && client.Results.Last().Ok)
            {
                return true;
            }
            await Task.Delay(250, TestContext.Current.CancellationToken);
        }
        return false;
    }

    private (long In, long Out, long Conns, long Errors) Stats(string what)
    {
        var json = fx.Stack.Show(RepoRoot, what);
        return ((long)json["bytes_in"]!, (long)json["bytes_out"]!, (long)json["total_connections"]!, (long)json["request_errors"]!);
    }

    private sealed record Tree(string Lb, string Pool, string Member2);

    private async Task<Tree> WaitStatusAsync(Func<Tree, bool> accept, int seconds)
    {
        var deadline = Stopwatch.StartNew();
        Tree last = new("", "", "");
        while (deadline.Elapsed < TimeSpan.FromSeconds(seconds))
        {
            var lb = fx.Stack.Show(RepoRoot, "loadbalancer show lb1");
            var pool = fx.Stack.Show(RepoRoot, "loadbalancer pool show pool1");
            var member = fx.Stack.Show(RepoRoot, $"loadbalancer member show pool1 {fx.Member2}");
            last = new((string)lb["operating_status"]!, (string)pool["operating_status"]!, (string)member["operating_status"]!);
            if (accept(last))
            {
                return last;
            }
            await Task.Delay(500, TestContext.Current.CancellationToken);
        }
        return last;
    }

    private static int CountOf(string text, string part)
    {
        var count = 0;
        for (var i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + part.Length, StringComparison.Ordinal))
        {
            count++;
        }
        return count;
    }

    private static async Task<byte[]> ExchangeAsync(string host, byte[] request)
    {
        using var tcp = new TcpClient();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        await tcp.ConnectAsync(host, 80, timeout.Token);
        var stream = tcp.GetStream();
        await stream.WriteAsync(request, timeout.Token);
        using var answer = new MemoryStream();
        await stream.CopyToAsync(answer, timeout.Token);
        return answer.ToArray();
    }
}
