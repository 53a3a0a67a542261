// Licensed under the Apache License, Version 2.0.

using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Octavia.Amphora.Agent.Haproxy;
using Octavia.Amphora.Agent.Os;
using Octavia.Amphora.Agent.Tests.Infrastructure;
using Octavia.Tests.Shared;

namespace Octavia.Amphora.Agent.Tests.Haproxy;

public sealed class HaproxyLifecycleTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private sealed record Lb(string Id, string Listener, string Pool, string Member, int Port)
    {
        public static Lb New() => new(Guid.NewGuid().ToString(), Guid.NewGuid().ToString(), Guid.NewGuid().ToString(), Guid.NewGuid().ToString(), TestEnvironment.FreeTcpPort());

        public string Config(RunningAgent agent, HttpBackend backend, int maxconn = 1000) =>
            TestConfigs.Haproxy(agent.BasePath, Id, Listener, Pool, Member, Port, backend.Port, maxconn);
    }

    private static async Task<string> FetchAsync(HttpClient plain, Lb lb) =>
        await plain.GetStringAsync($"http://127.0.0.1:{lb.Port}/", Ct);

    [Fact]
    public async Task UploadStartReloadStopDelete_FollowUpstreamCodesAndServeTraffic()
    {
        await using var backend = await HttpBackend.StartAsync("member-a");
        await using var agent = await RunningAgent.StartAsync();
        using var plain = new HttpClient();
        var lb = Lb.New();
        var config = lb.Config(agent, backend);

        var upload = await agent.PutTextAsync($"/1.0/loadbalancer/{agent.AmphoraId}/{lb.Id}/haproxy", config);
        upload.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        (await upload.BodyAsync()).ToJsonString().ShouldBe("{\"message\":\"OK\"}");
        string.Join("", upload.Headers.NonValidated["ETag"]).ShouldBe(Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(config))));

        var stored = await agent.Client.GetAsync($"/1.0/loadbalancer/{lb.Id}/haproxy", Ct);
        stored.StatusCode.ShouldBe(HttpStatusCode.OK);
        var storedText = await stored.Content.ReadAsStringAsync(Ct);
        storedText.ShouldContain($"frontend {lb.Listener}");
        storedText.ShouldNotContain("group nogroup");

        var listeners = await (await agent.Client.GetAsync("/1.0/listeners", Ct)).BodyAsync();
        listeners.ToJsonString().ShouldBe($"[{{\"status\":\"ACTIVE\",\"uuid\":\"{lb.Listener}\",\"type\":\"HTTP\"}}]");

        var start = await agent.Client.PutAsync($"/1.0/loadbalancer/{lb.Id}/start", null, Ct);
        start.StatusCode.ShouldBe(HttpStatusCode.Accepted, await start.Content.ReadAsStringAsync(Ct));
        ((string?)(await start.BodyAsync())["details"]).ShouldBe($"Configuration file is valid\nhaproxy daemon for {lb.Id} started");
        (await FetchAsync(plain, lb)).ShouldBe("member-a");
        var pid = agent.Service<HaproxyManager>().MasterPid(lb.Id);
        pid.ShouldBeGreaterThan(0);
        Posix.ReadPidFile(Path.Combine(agent.BasePath, lb.Id, lb.Id + ".pid")).ShouldBe(pid);

        var reload = await agent.Client.PutAsync($"/1.0/loadbalancer/{lb.Id}/reload", null, Ct);
        reload.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        ((string?)(await reload.BodyAsync())["details"]).ShouldBe($"Listener {lb.Id} reloaded");
        agent.Service<HaproxyManager>().MasterPid(lb.Id).ShouldBe(pid);
        (await FetchAsync(plain, lb)).ShouldBe("member-a");

        var details = await (await agent.Client.GetAsync("/1.0/details", Ct)).BodyAsync();
        ((int?)details["haproxy_count"]).ShouldBe(1);
        details["listeners"]!.ToJsonString().ShouldBe($"[\"{lb.Listener}\"]");
        ((string?)details["topology"]).ShouldBe("SINGLE");

        var stop = await agent.Client.PutAsync($"/1.0/loadbalancer/{lb.Id}/stop", null, Ct);
        stop.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        ((string?)(await stop.BodyAsync())["details"]).ShouldBe($"Listener {lb.Id} stoped");
        Posix.IsAlive(pid).ShouldBeFalse();
        await Should.ThrowAsync<HttpRequestException>(() => FetchAsync(plain, lb));

        var delete = await agent.Client.DeleteAsync($"/1.0/listeners/{lb.Id}", Ct);
        delete.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await delete.BodyAsync()).ToJsonString().ShouldBe("{\"message\":\"OK\"}");
        Directory.Exists(Path.Combine(agent.BasePath, lb.Id)).ShouldBeFalse();
        var gone = await agent.Client.GetAsync($"/1.0/loadbalancer/{lb.Id}/haproxy", Ct);
        gone.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await gone.BodyAsync()).ToJsonString().ShouldBe($"{{\"message\":\"Loadbalancer Not Found\",\"details\":\"No loadbalancer with UUID: {lb.Id}\"}}");
        (await agent.Client.DeleteAsync($"/1.0/listeners/{lb.Id}", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task UploadBadConfig_Returns400WithHaproxyMessage_AndRunningConfigKeepsServing()
    {
        await using var backend = await HttpBackend.StartAsync("member-a");
        await using var agent = await RunningAgent.StartAsync();
        using var plain = new HttpClient();
        var lb = Lb.New();
        var good = lb.Config(agent, backend);
        (await agent.PutTextAsync($"/1.0/loadbalancer/{agent.AmphoraId}/{lb.Id}/haproxy", good)).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        (await agent.Client.PutAsync($"/1.0/loadbalancer/{lb.Id}/start", null, Ct)).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        (await FetchAsync(plain, lb)).ShouldBe("member-a");

        var bad = good.Replace("balance roundrobin", "balance roundrobin\n    frobnicate-the-backend yes", StringComparison.Ordinal);
        var rejected = await agent.PutTextAsync($"/1.0/loadbalancer/{agent.AmphoraId}/{lb.Id}/haproxy", bad);
        rejected.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var body = await rejected.BodyAsync();
        ((string?)body["message"]).ShouldBe("Invalid request");
        ((string?)body["details"])!.ShouldContain("frobnicate-the-backend");

        (await agent.Client.GetStringAsync($"/1.0/loadbalancer/{lb.Id}/haproxy", Ct)).ShouldNotContain("frobnicate");
        (await agent.Client.PutAsync($"/1.0/loadbalancer/{lb.Id}/reload", null, Ct)).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        (await FetchAsync(plain, lb)).ShouldBe("member-a");
    }

    [Fact]
    public async Task StartAndReload_OfTheUploadedFile_DoNotCheckItAgain_ButAChangedFileOrCertificateIsChecked()
    {
        // haproxy_cmd is a wrapper that records every "haproxy -c" before running the real one.
        var dir = Directory.CreateTempSubdirectory("oag-hc-").FullName;
        var checks = Path.Combine(dir, "checks.log");
        var wrapper = Path.Combine(dir, "haproxy-counting");
        File.WriteAllText(wrapper, $"#!/bin/sh\ncase \" $* \" in *\" -c \"*) echo check >> {checks};; esac\nexec haproxy \"$@\"\n");
        File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        int Checks() => File.Exists(checks) ? File.ReadAllLines(checks).Length : 0;
        try
        {
            await using var backend = await HttpBackend.StartAsync("member-a");
            await using var agent = await RunningAgent.StartAsync($"[haproxy_amphora]\nhaproxy_cmd = {wrapper}\n");
            using var plain = new HttpClient();
            var lb = Lb.New();
            var configPath = Path.Combine(agent.BasePath, lb.Id, "haproxy.cfg");

            (await agent.PutTextAsync($"/1.0/loadbalancer/{agent.AmphoraId}/{lb.Id}/haproxy", lb.Config(agent, backend))).StatusCode.ShouldBe(HttpStatusCode.Accepted);
            Checks().ShouldBe(1);
            var start = await agent.Client.PutAsync($"/1.0/loadbalancer/{lb.Id}/reload", null, Ct);
            start.StatusCode.ShouldBe(HttpStatusCode.Accepted, await start.Content.ReadAsStringAsync(Ct));
            ((string?)(await start.BodyAsync())["details"]).ShouldBe($"Configuration file is valid\nhaproxy daemon for {lb.Id} started");
            (await FetchAsync(plain, lb)).ShouldBe("member-a");
            (await agent.Client.PutAsync($"/1.0/loadbalancer/{lb.Id}/reload", null, Ct)).StatusCode.ShouldBe(HttpStatusCode.Accepted);
            Checks().ShouldBe(1);

            // Changed outside the upload path: checked again, and a broken file is refused with HAProxy's words.
            File.AppendAllText(configPath, "# edited by hand\n");
            (await agent.Client.PutAsync($"/1.0/loadbalancer/{lb.Id}/reload", null, Ct)).StatusCode.ShouldBe(HttpStatusCode.Accepted);
            Checks().ShouldBe(2);
            (await agent.Client.PutAsync($"/1.0/loadbalancer/{lb.Id}/reload", null, Ct)).StatusCode.ShouldBe(HttpStatusCode.Accepted);
            Checks().ShouldBe(2);

            // A certificate of the load balancer changed: checked again.
            (await agent.PutTextAsync($"/1.0/loadbalancer/{lb.Id}/certificates/extra.pem", "not used by the configuration\n")).StatusCode.ShouldBe(HttpStatusCode.OK);
            (await agent.Client.PutAsync($"/1.0/loadbalancer/{lb.Id}/reload", null, Ct)).StatusCode.ShouldBe(HttpStatusCode.Accepted);
            Checks().ShouldBe(3);

            File.AppendAllText(configPath, "frobnicate-the-proxy yes\n");
            var refused = await agent.Client.PutAsync($"/1.0/loadbalancer/{lb.Id}/reload", null, Ct);
            refused.StatusCode.ShouldBe(HttpStatusCode.InternalServerError);
            ((string?)(await refused.BodyAsync())["details"])!.ShouldContain("frobnicate-the-proxy");
            Checks().ShouldBe(4);
            (await FetchAsync(plain, lb)).ShouldBe("member-a");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task UploadConfig_WithMaxconnBeyondTheOpenFileLimit_Returns400NamingTheLimit()
    {
        await using var backend = await HttpBackend.StartAsync("member-a");
        await using var agent = await RunningAgent.StartAsync();
        var lb = Lb.New();
        var response = await agent.PutTextAsync($"/1.0/loadbalancer/{agent.AmphoraId}/{lb.Id}/haproxy", lb.Config(agent, backend, maxconn: 50000));
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var details = (string?)(await response.BodyAsync())["details"];
        details!.ShouldContain("global maxconn 50000");
        details!.ShouldContain($"at most {Posix.HardOpenFileLimit()}");
        Directory.Exists(Path.Combine(agent.BasePath, lb.Id)).ShouldBeFalse();
    }

    [Fact]
    public async Task Action_UnknownOrOnUnknownLoadBalancer_Returns400Or404()
    {
        await using var agent = await RunningAgent.StartAsync();
        var unknown = await agent.Client.PutAsync($"/1.0/loadbalancer/{Guid.NewGuid()}/explode", null, Ct);
        unknown.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await unknown.BodyAsync()).ToJsonString().ShouldBe("{\"message\":\"Invalid Request\",\"details\":\"Unknown action: explode\"}");

        var id = Guid.NewGuid().ToString();
        var missing = await agent.Client.PutAsync($"/1.0/loadbalancer/{id}/start", null, Ct);
        missing.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        ((string?)(await missing.BodyAsync())["message"]).ShouldBe("Loadbalancer Not Found");
    }

    [Fact]
    public async Task Reload50Times_UnderLoad_NoRequestFails()
    {
        await using var backend = await HttpBackend.StartAsync("member-a");
        await using var agent = await RunningAgent.StartAsync();
        var lb = Lb.New();
        (await agent.PutTextAsync($"/1.0/loadbalancer/{agent.AmphoraId}/{lb.Id}/haproxy", lb.Config(agent, backend))).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        (await agent.Client.PutAsync($"/1.0/loadbalancer/{lb.Id}/start", null, Ct)).StatusCode.ShouldBe(HttpStatusCode.Accepted);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var ok = 0;
        var failures = new List<string>();
        using var plain = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var load = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var text = await plain.GetStringAsync($"http://127.0.0.1:{lb.Port}/", CancellationToken.None);
                    if (text == "member-a")
                    {
                        Interlocked.Increment(ref ok);
                    }
                    else
                    {
                        lock (failures)
                        {
                            failures.Add("unexpected body " + text);
                        }
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    lock (failures)
                    {
                        failures.Add(ex.Message);
                    }
                }
            }
        }, CancellationToken.None)).ToList();

        var manager = agent.Service<HaproxyManager>();
        var before = await manager.ReadProcAsync(lb.Id, Ct);
        for (var i = 0; i < 50; i++)
        {
            var r = await agent.Client.PutAsync($"/1.0/loadbalancer/{lb.Id}/reload", null, Ct);
            r.StatusCode.ShouldBe(HttpStatusCode.Accepted, await r.Content.ReadAsStringAsync(Ct));
        }
        await stop.CancelAsync();
        await Task.WhenAll(load);
        var after = await manager.ReadProcAsync(lb.Id, Ct);

        failures.ShouldBeEmpty();
        ok.ShouldBeGreaterThan(100);
        (after!.Reloads - before!.Reloads).ShouldBe(50);
        after.Failed.ShouldBe(0);
    }

    [Fact]
    public async Task AgentShutdown_StopsHaproxyByPid_AndRestartBringsConfiguredLoadBalancerBack()
    {
        await using var backend = await HttpBackend.StartAsync("member-a");
        var agent = await RunningAgent.StartAsync();
        var lb = Lb.New();
        int pid;
        try
        {
            (await agent.PutTextAsync($"/1.0/loadbalancer/{agent.AmphoraId}/{lb.Id}/haproxy", lb.Config(agent, backend))).StatusCode.ShouldBe(HttpStatusCode.Accepted);
            (await agent.Client.PutAsync($"/1.0/loadbalancer/{lb.Id}/start", null, Ct)).StatusCode.ShouldBe(HttpStatusCode.Accepted);
            pid = agent.Service<HaproxyManager>().MasterPid(lb.Id);
            await agent.App!.StopAsync(Ct);
            Posix.IsAlive(pid).ShouldBeFalse();

            // A rebooted amphora starts the load balancers it has configurations for, as upstream's enabled units do.
            var settings = AgentSettings.FromConfig(Octavia.Core.Configuration.OctaviaConfig.Load([agent.ConfigPath]));
            await using var again = AgentHost.Build(settings, l => l.SetMinimumLevel(LogLevel.Warning));
            await again.StartAsync(Ct);
            try
            {
                using var plain = new HttpClient();
                (await FetchAsync(plain, lb)).ShouldBe("member-a");
            }
            finally
            {
                await again.StopAsync(Ct);
            }
        }
        finally
        {
            await agent.DisposeAsync();
        }
    }
}
