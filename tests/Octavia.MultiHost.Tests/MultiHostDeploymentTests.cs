// Licensed under the Apache License, Version 2.0.

using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MySql.Data.MySqlClient;
using Npgsql;
using Octavia.Data;
using Octavia.Tests.Shared;

namespace Octavia.MultiHost.Tests;

/// <summary>
/// docs/multi-host.md run for real: config files from tools/multihost/render.sh, one PostgreSQL database,
/// one RabbitMQ queue, and two api, two worker and two health-manager processes of the built executable.
/// </summary>
public sealed class MultiHostDeploymentTests : IAsyncLifetime
{
    private static readonly TimeSpan s_converge = TimeSpan.FromSeconds(90);
    private const string Subnet = "6b8a5d6e-0000-4000-8000-00000000d0c5";
    private const string Project = "omh-project";

    private readonly List<OctaviaProcess> _processes = [];
    private readonly List<Func<Task>> _cleanup = [];
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private string _dir = "";

    public ValueTask InitializeAsync()
    {
        _dir = Directory.CreateTempSubdirectory("omh-").FullName;
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var p in _processes)
        {
            p.Dispose();
        }
        foreach (var step in Enumerable.Reverse(_cleanup))
        {
            try
            {
                await step();
            }
            catch (Exception ex) when (ex is DbException or InvalidOperationException or IOException)
            {
                // Cleanup must not hide the test's own failure.
            }
        }
        _http.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Theory]
    [InlineData("OCTAVIA_TEST_POSTGRES")]
    [InlineData("OCTAVIA_TEST_MYSQL")]
    public async Task TwoOfEachProcess_OneOfEachStopped_LoadBalancersStillConverge(string databaseVariable)
    {
        var server = Environment.GetEnvironmentVariable(databaseVariable);
        var rabbit = Environment.GetEnvironmentVariable("OCTAVIA_TEST_RABBIT");
        if (string.IsNullOrEmpty(server) || string.IsNullOrEmpty(rabbit))
        {
            Assert.Skip($"{databaseVariable} and OCTAVIA_TEST_RABBIT must be set (bash .ci/services.sh)");
        }
        var suffix = Guid.NewGuid().ToString("N")[..10];
        var dbUrl = await CreateDatabaseAsync(server, "omh_" + suffix);
        var topic = "omh_" + suffix;
        _cleanup.Add(() =>
        {
            TestEnvironment.Run("rabbitmqctl", "-q", "delete_queue", topic);
            return Task.CompletedTask;
        });

        // The doc's steps, in order: certificates once, config files per process, schema once.
        var certs = Path.Combine(_dir, "certs");
        Exec(TestEnvironment.OctaviaExe, "certs", "init", "--dir", certs, "--passphrase", "omh-ca-" + suffix);
        var apiPorts = new[] { TestEnvironment.FreeTcpPort(), TestEnvironment.FreeTcpPort() };
        var hmPorts = new[] { TestEnvironment.FreeUdpPort(), TestEnvironment.FreeUdpPort() };
        var etc = Path.Combine(_dir, "etc");
        Exec("bash", new Dictionary<string, string>
        {
            ["DB_URL"] = dbUrl,
            ["TRANSPORT_URL"] = rabbit,
            ["TOPIC"] = topic,
            ["CERT_DIR"] = certs,
            ["CA_PASSPHRASE"] = "omh-ca-" + suffix,
            ["SERVER_CERTS_KEY_PASSPHRASE"] = Guid.NewGuid().ToString("N"),
            ["HEARTBEAT_KEY"] = "omh-hb-" + suffix,
            ["API1_HOST"] = "127.0.0.1",
            ["API1_PORT"] = Str(apiPorts[0]),
            ["API2_HOST"] = "127.0.0.1",
            ["API2_PORT"] = Str(apiPorts[1]),
            ["HM1_IP"] = "127.0.0.1",
            ["HM1_PORT"] = Str(hmPorts[0]),
            ["HM2_IP"] = "127.0.0.1",
            ["HM2_PORT"] = Str(hmPorts[1]),
            // Short leases so a killed worker's flows are resumed quickly; slow noop drivers so a kill lands mid-flow.
            ["FLOW_LEASE_SECONDS"] = "4",
            ["NOOP_DRIVER_DELAY"] = "0.3",
        }, Path.Combine(TestEnvironment.RepoRoot, "tools", "multihost", "render.sh"), etc);
        Exec(TestEnvironment.OctaviaExe, "db-manage", "--config-file", Path.Combine(etc, "api-1.conf"), "upgrade", "head");

        var api1 = Start("api-1", "api", etc);
        var api2 = Start("api-2", "api", etc);
        var worker1 = Start("worker-1", "worker", etc);
        var worker2 = Start("worker-2", "worker", etc);
        var hm1 = Start("health-manager-1", "health-manager", etc);
        var hm2 = Start("health-manager-2", "health-manager", etc);
        var url1 = $"http://127.0.0.1:{apiPorts[0]}";
        var url2 = $"http://127.0.0.1:{apiPorts[1]}";
        await WaitForApiAsync(api1, url1);
        await WaitForApiAsync(api2, url2);
        await WaitUntilAsync(() => hm1.Output.Contains($":{hmPorts[0]}", StringComparison.Ordinal), "health-manager-1 listening on its UDP port");
        await WaitUntilAsync(() => hm2.Output.Contains($":{hmPorts[1]}", StringComparison.Ordinal), "health-manager-2 listening on its UDP port");

        // Phase 1: every process up; a full load balancer through each API, steps alternating between them.
        var lbA = await CreateFullLoadBalancerAsync("omh-a", url1, url2);
        var lbB = await CreateFullLoadBalancerAsync("omh-b", url2, url1);
        (await StatusAsync(url2, lbA)).ShouldBe("ACTIVE");
        (await StatusAsync(url1, lbB)).ShouldBe("ACTIVE");
        // The stock client sees through either API what was made through the other (docs/multi-host.md step 5).
        if (TestEnvironment.HasProgram("openstack"))
        {
            Cli(url2, "loadbalancer", "show", lbA.Lb, "-f", "value", "-c", "provisioning_status").Trim().ShouldBe("ACTIVE");
            Cli(url1, "loadbalancer", "list", "-f", "value", "-c", "name").ShouldContain("omh-b");
        }

        // Phase 2: one of each kind goes away. Worker 1 is killed while casts are in flight.
        await api2.StopAsync("TERM", TimeSpan.FromSeconds(30));
        await hm2.StopAsync("TERM", TimeSpan.FromSeconds(30));
        var inFlight = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            inFlight.Add(await CreateLoadBalancerAsync(url1, $"omh-k{i}"));
        }
        await Task.Delay(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken);
        await worker1.StopAsync("KILL", TimeSpan.FromSeconds(30));
        foreach (var id in inFlight)
        {
            await WaitForStatusAsync(url1, $"/v2/lbaas/loadbalancers/{id}", "loadbalancer", "ACTIVE");
        }
        var lbC = await CreateFullLoadBalancerAsync("omh-c", url1, url1);

        // Everything is deleted through the surviving API, cascade and piece by piece.
        await DeleteFullLoadBalancerAsync(url1, lbC);
        foreach (var id in inFlight.Append(lbA.Lb).Append(lbB.Lb))
        {
            (await _http.DeleteAsync($"{url1}/v2/lbaas/loadbalancers/{id}?cascade=true", TestContext.Current.CancellationToken)).StatusCode.ShouldBe(System.Net.HttpStatusCode.NoContent, $"cascade delete of {id}");
        }
        foreach (var id in inFlight.Append(lbA.Lb).Append(lbB.Lb).Append(lbC.Lb))
        {
            await WaitForGoneAsync(url1, $"/v2/lbaas/loadbalancers/{id}");
        }

        foreach (var kind in new[] { "loadbalancers", "listeners", "pools" })
        {
            var left = await GetAsync(url1, $"/v2/lbaas/{kind}");
            left[kind]!.AsArray().Select(o => $"{o!["id"]} {o["provisioning_status"]}")
                .ShouldBeEmpty($"{kind} left behind");
        }
        foreach (var survivor in new[] { api1, worker2, hm1 })
        {
            survivor.HasExited.ShouldBeFalse($"{survivor.Name} exited\n{survivor.Output}");
        }
        // The killed worker's casts or flows were finished by the other one (redelivered cast or expired lease).
        worker2.Output.ShouldContain("resuming", Case.Insensitive, $"worker-2 resumed nothing of worker-1's\n{Logs()}");
        // Noop amphorae never send heartbeats, so the health managers must not have failed any over.
        hm1.Output.ShouldNotContain("failover", Case.Insensitive);
        worker2.Output.ShouldNotContain("failover_amphora", Case.Insensitive);
    }

    private sealed record FullLb(string Lb, string Listener, string Pool, string Member);

    private async Task<FullLb> CreateFullLoadBalancerAsync(string name, string apiA, string apiB)
    {
        var lb = await CreateLoadBalancerAsync(apiA, name);
        await WaitForStatusAsync(apiB, $"/v2/lbaas/loadbalancers/{lb}", "loadbalancer", "ACTIVE");
        var listener = await PostAsync(apiB, "/v2/lbaas/listeners", "listener", new JsonObject
        {
            ["name"] = name + "-l",
            ["loadbalancer_id"] = lb,
            ["protocol"] = "HTTP",
            ["protocol_port"] = 80,
            ["project_id"] = Project,
        });
        await WaitForStatusAsync(apiA, $"/v2/lbaas/loadbalancers/{lb}", "loadbalancer", "ACTIVE");
        var pool = await PostAsync(apiA, "/v2/lbaas/pools", "pool", new JsonObject
        {
            ["name"] = name + "-p",
            ["listener_id"] = listener,
            ["protocol"] = "HTTP",
            ["lb_algorithm"] = "ROUND_ROBIN",
            ["project_id"] = Project,
        });
        await WaitForStatusAsync(apiB, $"/v2/lbaas/loadbalancers/{lb}", "loadbalancer", "ACTIVE");
        var member = await PostAsync(apiB, $"/v2/lbaas/pools/{pool}/members", "member", new JsonObject
        {
            ["name"] = name + "-m",
            ["address"] = "198.18.0.10",
            ["protocol_port"] = 8080,
            ["project_id"] = Project,
        });
        await WaitForStatusAsync(apiA, $"/v2/lbaas/loadbalancers/{lb}", "loadbalancer", "ACTIVE");
        await WaitForStatusAsync(apiA, $"/v2/lbaas/listeners/{listener}", "listener", "ACTIVE");
        await WaitForStatusAsync(apiA, $"/v2/lbaas/pools/{pool}", "pool", "ACTIVE");
        await WaitForStatusAsync(apiA, $"/v2/lbaas/pools/{pool}/members/{member}", "member", "ACTIVE");
        return new FullLb(lb, listener, pool, member);
    }

    private async Task DeleteFullLoadBalancerAsync(string api, FullLb lb)
    {
        var ct = TestContext.Current.CancellationToken;
        (await _http.DeleteAsync($"{api}/v2/lbaas/pools/{lb.Pool}/members/{lb.Member}", ct)).StatusCode.ShouldBe(System.Net.HttpStatusCode.NoContent);
        await WaitForGoneAsync(api, $"/v2/lbaas/pools/{lb.Pool}/members/{lb.Member}");
        await WaitForStatusAsync(api, $"/v2/lbaas/loadbalancers/{lb.Lb}", "loadbalancer", "ACTIVE");
        (await _http.DeleteAsync($"{api}/v2/lbaas/pools/{lb.Pool}", ct)).StatusCode.ShouldBe(System.Net.HttpStatusCode.NoContent);
        await WaitForGoneAsync(api, $"/v2/lbaas/pools/{lb.Pool}");
        await WaitForStatusAsync(api, $"/v2/lbaas/loadbalancers/{lb.Lb}", "loadbalancer", "ACTIVE");
        (await _http.DeleteAsync($"{api}/v2/lbaas/listeners/{lb.Listener}", ct)).StatusCode.ShouldBe(System.Net.HttpStatusCode.NoContent);
        await WaitForGoneAsync(api, $"/v2/lbaas/listeners/{lb.Listener}");
        await WaitForStatusAsync(api, $"/v2/lbaas/loadbalancers/{lb.Lb}", "loadbalancer", "ACTIVE");
        (await _http.DeleteAsync($"{api}/v2/lbaas/loadbalancers/{lb.Lb}", ct)).StatusCode.ShouldBe(System.Net.HttpStatusCode.NoContent);
    }

    private Task<string> CreateLoadBalancerAsync(string api, string name) =>
        PostAsync(api, "/v2/lbaas/loadbalancers", "loadbalancer", new JsonObject
        {
            ["name"] = name,
            ["vip_subnet_id"] = Subnet,
            ["project_id"] = Project,
        });

    private async Task<string> PostAsync(string api, string path, string root, JsonObject body)
    {
        using var response = await _http.PostAsJsonAsync(api + path, new JsonObject { [root] = body }, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        response.IsSuccessStatusCode.ShouldBeTrue($"POST {api}{path}: {(int)response.StatusCode} {text}\n{Logs()}");
        return (string)JsonNode.Parse(text)![root]!["id"]!;
    }

    private async Task<JsonNode> GetAsync(string api, string path)
    {
        var text = await _http.GetStringAsync(api + path, TestContext.Current.CancellationToken);
        return JsonNode.Parse(text)!;
    }

    private async Task<string> StatusAsync(string api, FullLb lb) =>
        (string)(await GetAsync(api, $"/v2/lbaas/loadbalancers/{lb.Lb}"))["loadbalancer"]!["provisioning_status"]!;

    private async Task WaitForStatusAsync(string api, string path, string root, string wanted)
    {
        var last = "";
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < s_converge)
        {
            using var response = await _http.GetAsync(api + path, TestContext.Current.CancellationToken);
            var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            if (response.IsSuccessStatusCode)
            {
                last = (string?)JsonNode.Parse(text)![root]!["provisioning_status"] ?? "";
                if (last == wanted)
                {
                    return;
                }
                last.ShouldNotBe("ERROR", $"{path} went to ERROR\n{Logs()}");
            }
            else
            {
                last = $"{(int)response.StatusCode} {text}";
            }
            await Task.Delay(200, TestContext.Current.CancellationToken);
        }
        Assert.Fail($"{path} is {last}, not {wanted}, after {s_converge.TotalSeconds}s\n{Logs()}");
    }

    private async Task WaitForGoneAsync(string api, string path)
    {
        var last = "";
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < s_converge)
        {
            using var response = await _http.GetAsync(api + path, TestContext.Current.CancellationToken);
            if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                return;
            }
            last = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            if (last.Contains("\"DELETED\"", StringComparison.Ordinal))
            {
                return;
            }
            await Task.Delay(200, TestContext.Current.CancellationToken);
        }
        Assert.Fail($"{path} still there after {s_converge.TotalSeconds}s: {last}\n{Logs()}");
    }

    private async Task WaitForApiAsync(OctaviaProcess api, string url)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            api.HasExited.ShouldBeFalse($"{api.Name} exited\n{api.Output}");
            try
            {
                using var response = await _http.GetAsync(url + "/", TestContext.Current.CancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(200, TestContext.Current.CancellationToken);
        }
        Assert.Fail($"{api.Name} did not answer on {url}\n{api.Output}");
    }

    private async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(60))
            {
                Assert.Fail($"timed out waiting for {what}\n{Logs()}");
            }
            await Task.Delay(200, TestContext.Current.CancellationToken);
        }
    }

    private OctaviaProcess Start(string name, string subcommand, string etc)
    {
        var p = OctaviaProcess.Start(name, subcommand, Path.Combine(etc, name + ".conf"));
        _processes.Add(p);
        return p;
    }

    private string Logs() => string.Join("\n", _processes.Select(p =>
        $"--- {p.Name} (pid {p.Pid}{(p.HasExited ? ", exited" : "")}) ---\n{Tail(p.Output)}"));

    private static string Tail(string text) => text.Length > 4000 ? text[^4000..] : text;

    private async Task<string> CreateDatabaseAsync(string serverUrl, string name)
    {
        var url = DatabaseUrl.Parse(serverUrl);
        var postgres = url.Engine == DatabaseEngine.PostgreSql;
        await AdminAsync(url, $"CREATE DATABASE {name}");
        _cleanup.Add(async () =>
        {
            NpgsqlConnection.ClearAllPools();
            MySqlConnection.ClearAllPools();
            await AdminAsync(url, postgres ? $"DROP DATABASE IF EXISTS {name} WITH (FORCE)" : $"DROP DATABASE IF EXISTS {name}");
        });
        var query = serverUrl.IndexOf('?', StringComparison.Ordinal);
        var baseUrl = query < 0 ? serverUrl : serverUrl[..query];
        return baseUrl[..(baseUrl.LastIndexOf('/') + 1)] + name;
    }

    private static async Task AdminAsync(DatabaseUrl url, string sql)
    {
        await using DbConnection connection = url.Engine == DatabaseEngine.PostgreSql
            ? new NpgsqlConnection(url.ConnectionString)
            : new MySqlConnection(url.ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private static void Exec(string file, params string[] args) => Exec(file, new Dictionary<string, string>(), args);

    private static void Exec(string file, Dictionary<string, string> env, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
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
        p.ExitCode.ShouldBe(0, $"{file} {string.Join(' ', args)}: {stdout.Result}{stderr.Result}");
    }

    private static string Cli(string endpoint, params string[] args)
    {
        var (code, output) = TestEnvironment.Run("openstack", ["--os-auth-type", "none", "--os-endpoint", endpoint, .. args]);
        code.ShouldBe(0, $"openstack {string.Join(' ', args)}: {output}");
        return output;
    }

    private static string Str(int port) => port.ToString(CultureInfo.InvariantCulture);
}
