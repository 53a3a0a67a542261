// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Octavia.Amphora.Agent.Logging;
using Octavia.Amphora.Agent.Tests.Infrastructure;
using Octavia.Tests.Shared;

namespace Octavia.Amphora.Agent.Tests.Logging;

/// <summary>The agent as the amphora's log daemon: HAProxy's logs stored locally and forwarded, by real traffic.</summary>
public sealed class AmphoraLogTests
{
    private const string RsyslogLines = """
            log /run/rsyslog/octavia/log local0
            log /run/rsyslog/octavia/log local1 notice
        """;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void RouteToAgent_SendsTrafficToStandardOutput_AndAdminLinesToDescriptor3_InsteadOfUpstreamsRsyslogSocket()
    {
        var config = "global\n    daemon\n" + RsyslogLines + "\n\ndefaults\n    log global\n";
        var routed = LogRouting.RouteToAgent(config, 0);
        routed.ShouldContain("    log stdout format short local0\n");
        routed.ShouldContain("    log fd@3 format rfc5424 local1 notice\n");
        routed.ShouldNotContain("/run/rsyslog");

        // Another user_log_facility: local0 is then administrative.
        LogRouting.RouteToAgent(config, 3).ShouldNotContain("stdout");

        // Other log targets (an operator's template) are left alone.
        const string other = "global\n    log 192.0.2.1:514 local0\n";
        LogRouting.RouteToAgent(other, 0).ShouldBe(other);
    }

    [Fact]
    public async Task TrafficLogs_AreStoredAndForwardedOverUdp_OneLinePerRequest()
    {
        using var tenant = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var tenantPort = ((IPEndPoint)tenant.Client.LocalEndPoint!).Port;
        await using var backend = await HttpBackend.StartAsync("member-a");
        await using var agent = await RunningAgent.StartAsync($"""
            [amphora_agent]
            tenant_log_targets = 127.0.0.1:{tenantPort}
            log_protocol = UDP
            """);
        var lb = await StartLoadBalancerAsync(agent, backend);

        using var plain = new HttpClient();
        var paths = Enumerable.Range(0, 5).Select(i => $"/?path-{i}-{Guid.NewGuid():N}").ToList();
        foreach (var path in paths)
        {
            (await plain.GetStringAsync($"http://127.0.0.1:{lb.Port}{path}", Ct)).ShouldBe("member-a");
        }

        var forwarded = new List<string>();
        using (var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct))
        {
            cts.CancelAfter(TimeSpan.FromSeconds(20));
            while (forwarded.Count(l => paths.Any(l.Contains)) < paths.Count)
            {
                forwarded.Add(Encoding.UTF8.GetString((await tenant.ReceiveAsync(cts.Token)).Buffer));
            }
        }
        foreach (var path in paths)
        {
            var line = forwarded.Single(l => l.Contains(path, StringComparison.Ordinal));
            line.ShouldStartWith("<134>1 ");                // local0.info, RFC 5424
            line.ShouldContain($"\"GET {path} HTTP/1.1\"");
            line.ShouldContain(" 200 ");
        }

        var receiver = agent.Service<AmphoraLogReceiver>();
        var stored = await WaitForAsync(receiver.TrafficLogPath, text => paths.All(text.Contains));
        stored.Split('\n').Count(l => l.Contains("?path-", StringComparison.Ordinal)).ShouldBe(paths.Count);

        // A reload makes the old worker log its proxies' stop: administrative lines (HAProxy sends them to the
        // traffic target too, at warning level), which belong in the admin log only, as upstream's local0.=info rule has it.
        (await agent.Client.PutAsync($"/1.0/loadbalancer/{lb.Id}/reload", null, Ct)).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var admin = await WaitForAsync(receiver.AdminLogPath, text => text.Contains(" stopped (cumulated conns", StringComparison.Ordinal));
        admin.ShouldContain(" stopped (cumulated conns");
        admin.Split('\n', StringSplitOptions.RemoveEmptyEntries).ShouldAllBe(l => l.StartsWith("<14", StringComparison.Ordinal));   // local1, RFC 5424
        admin.ShouldNotContain("?path-");                                                   // traffic never lands in the admin log
        (await plain.GetStringAsync($"http://127.0.0.1:{lb.Port}/?after-reload", Ct)).ShouldBe("member-a");
        (await WaitForAsync(receiver.TrafficLogPath, text => text.Contains("?after-reload", StringComparison.Ordinal))).ShouldNotContain("stopped");
    }

    [Fact]
    public async Task Logs_GoToTheFirstReachableTcpTarget_AndNotToDisk_WhenLocalStorageIsDisabled()
    {
        using var dead = new TcpListener(IPAddress.Loopback, 0);
        dead.Start();
        var deadPort = ((IPEndPoint)dead.LocalEndpoint).Port;
        dead.Stop();                                  // nothing listens there any more: a failed primary
        using var backup = new TcpListener(IPAddress.Loopback, 0);
        backup.Start();
        var backupPort = ((IPEndPoint)backup.LocalEndpoint).Port;
        await using var backend = await HttpBackend.StartAsync("member-b");
        await using var agent = await RunningAgent.StartAsync($"""
            [amphora_agent]
            tenant_log_targets = 127.0.0.1:{deadPort}, 127.0.0.1:{backupPort}
            log_protocol = TCP
            log_retry_interval = 0
            disable_local_log_storage = true
            """);
        var lb = await StartLoadBalancerAsync(agent, backend);
        using var plain = new HttpClient();
        var path = $"/?tcp-{Guid.NewGuid():N}";
        (await plain.GetStringAsync($"http://127.0.0.1:{lb.Port}{path}", Ct)).ShouldBe("member-b");

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cts.CancelAfter(TimeSpan.FromSeconds(20));
        using var connection = await backup.AcceptTcpClientAsync(cts.Token);
        using var reader = new StreamReader(connection.GetStream());
        string? line;
        do
        {
            line = await reader.ReadLineAsync(cts.Token);
        }
        while (line is not null && !line.Contains(path, StringComparison.Ordinal));
        line.ShouldNotBeNull();
        line.ShouldStartWith("<134>1 ");
        File.Exists(agent.Service<AmphoraLogReceiver>().TrafficLogPath).ShouldBeFalse();
    }

    [Fact]
    public async Task AdminTargets_GetTheAgentsOwnRecords_AndWithForwardAllLogs_HaproxysConsoleOutput()
    {
        using var admin = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var adminPort = ((IPEndPoint)admin.Client.LocalEndPoint!).Port;
        await using var backend = await HttpBackend.StartAsync("member-c");
        await using var agent = await RunningAgent.StartAsync($"""
            [amphora_agent]
            admin_log_targets = 127.0.0.1:{adminPort}
            administrative_log_facility = 2
            forward_all_logs = true
            """);
        var lb = await StartLoadBalancerAsync(agent, backend);

        // local2 (administrative_log_facility) at info is <150>; the agent's hostname is the amphora id.
        var agentRecord = $"<150>1 \\S+ {Regex.Escape(agent.AmphoraId)} amphora-agent - - - HAProxy for load balancer {lb.Id} started";
        var console = $"<150>1 \\S+ {Regex.Escape(agent.AmphoraId)} haproxy - - - haproxy\\[{lb.Id}\\]: \\[NOTICE\\]";
        var received = new List<string>();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cts.CancelAfter(TimeSpan.FromSeconds(20));
        while (!(received.Any(l => Regex.IsMatch(l, agentRecord)) && received.Any(l => Regex.IsMatch(l, console))))
        {
            received.Add(Encoding.UTF8.GetString((await admin.ReceiveAsync(cts.Token)).Buffer));
        }
        var stored = await WaitForAsync(agent.Service<AmphoraLogReceiver>().AdminLogPath, text => Regex.IsMatch(text, agentRecord));
        Regex.IsMatch(stored, agentRecord).ShouldBeTrue(stored);
    }

    [Fact]
    public void BadLogTarget_NamesTheOption()
    {
        var config = Octavia.Core.Configuration.OctaviaConfig.FromText("[amphora_agent]\nadmin_log_targets = 127.0.0.1\n");
        Should.Throw<Octavia.Core.Configuration.ConfigException>(() => LogSettings.FromConfig(config))
            .Message.ShouldBe("[amphora_agent] admin_log_targets: '127.0.0.1' is not an ip:port pair");
    }

    private sealed record Lb(string Id, int Port);

    /// <summary>Uploads and starts an HTTP load balancer whose config logs as upstream's renderer does.</summary>
    private static async Task<Lb> StartLoadBalancerAsync(RunningAgent agent, HttpBackend backend)
    {
        var lb = new Lb(Guid.NewGuid().ToString(), TestEnvironment.FreeTcpPort());
        var config = TestConfigs.Haproxy(agent.BasePath, lb.Id, Guid.NewGuid().ToString(), Guid.NewGuid().ToString(), Guid.NewGuid().ToString(), lb.Port, backend.Port, extraGlobal: RsyslogLines)
            .Replace("    mode http\n    default_backend", "    mode http\n    option httplog\n    default_backend", StringComparison.Ordinal);
        config.ShouldContain("option httplog");
        (await agent.PutTextAsync($"/1.0/loadbalancer/{agent.AmphoraId}/{lb.Id}/haproxy", config)).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var start = await agent.Client.PutAsync($"/1.0/loadbalancer/{lb.Id}/start", null, Ct);
        start.StatusCode.ShouldBe(HttpStatusCode.Accepted, await start.Content.ReadAsStringAsync(Ct));
        return lb;
    }

    private static async Task<string> WaitForAsync(string path, Func<string, bool> done)
    {
        var sw = Stopwatch.StartNew();
        var text = "";
        while (sw.Elapsed < TimeSpan.FromSeconds(20))
        {
            text = File.Exists(path) ? await File.ReadAllTextAsync(path, Ct) : "";
            if (done(text))
            {
                return text;
            }
            await Task.Delay(100, Ct);
        }
        return text;
    }
}
