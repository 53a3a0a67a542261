// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Text.Json.Nodes;
using Octavia.Data;
using Octavia.Tests.Shared;

namespace Octavia.Api.Tests;

/// <summary>The stock <c>openstack loadbalancer</c> CLI against <c>octavia api</c> run as a real process.</summary>
public sealed class CliTests : IAsyncLifetime
{
    private const string Subnet = "3a1c2b47-8c3b-4f0b-9a07-0d7e4b2b8f11";
    private Process? _server;
    private string _dir = "";
    private string _endpoint = "";

    public async ValueTask InitializeAsync()
    {
        if (!TestEnvironment.HasProgram("openstack"))
        {
            return;
        }
        _dir = Directory.CreateTempSubdirectory("oapi-cli-").FullName;
        var port = TestEnvironment.FreeTcpPort();
        _endpoint = $"http://127.0.0.1:{port}";
        var conf = Path.Combine(_dir, "octavia.conf");
        await File.WriteAllTextAsync(conf, $"""
            [api_settings]
            bind_host = 127.0.0.1
            bind_port = {port}
            auth_strategy = noauth
            enabled_provider_drivers = noop_driver:The noop driver.,amphora:The Octavia Amphora driver.
            default_provider_driver = noop_driver
            noauth_default_project_id = demo
            [database]
            connection = sqlite:///{_dir}/octavia.db
            [controller_worker]
            network_driver = network_noop_driver
            """);
        await ApiServer.CreateSchemaAsync(new OctaviaDatabase(DatabaseUrl.Parse($"sqlite:///{_dir}/octavia.db")));
        var psi = new ProcessStartInfo(TestEnvironment.OctaviaExe) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("api");
        psi.ArgumentList.Add("--config-file");
        psi.ArgumentList.Add(conf);
        _server = Process.Start(psi)!;
        _server.OutputDataReceived += (_, _) => { };
        _server.ErrorDataReceived += (_, _) => { };
        _server.BeginOutputReadLine();
        _server.BeginErrorReadLine();
        using var http = new HttpClient();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                using var resp = await http.GetAsync(_endpoint + "/");
                if (resp.IsSuccessStatusCode)
                {
                    break;
                }
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline && !_server.HasExited)
            {
                await Task.Delay(100);
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        if (_server is { HasExited: false })
        {
            _server.Kill(entireProcessTree: true);
            _server.WaitForExit(5000);
        }
        _server?.Dispose();
        if (_dir.Length > 0)
        {
            Directory.Delete(_dir, recursive: true);
        }
        return ValueTask.CompletedTask;
    }

    private JsonNode? Os(params string[] args)
    {
        var all = new List<string> { "--os-auth-type", "none", "--os-endpoint", _endpoint };
        all.AddRange(args);
        var (code, output) = TestEnvironment.Run("openstack", [.. all]);
        code.ShouldBe(0, $"openstack {string.Join(' ', args)}\n{output}");
        var start = output.IndexOfAny(['{', '[']);
        return start < 0 ? null : JsonNode.Parse(output[start..]);
    }

    /// <summary>Polls the load balancer until ACTIVE (the CLI's own --wait sleeps 3 s per poll).</summary>
    private void Settle(string lbId)
    {
        using var http = new HttpClient();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            var body = JsonNode.Parse(http.GetStringAsync($"{_endpoint}/v2/lbaas/loadbalancers/{lbId}").GetAwaiter().GetResult())!;
            if ((string?)body["loadbalancer"]!["provisioning_status"] == "ACTIVE")
            {
                return;
            }
            Thread.Sleep(20);
        }
        throw new TimeoutException($"load balancer {lbId} did not become ACTIVE");
    }

    [Fact]
    public void StockCli_EveryResource_CreateShowListSetUnsetDelete()
    {
        if (_server is null)
        {
            Assert.Skip("python3-openstackclient is not installed");
        }
        var lb = Os("loadbalancer", "create", "--name", "cli-lb", "--vip-subnet-id", Subnet, "--tag", "t1", "--wait", "-f", "json")!;
        var lbId = (string)lb["id"]!;
        ((string?)lb["provisioning_status"]).ShouldBe("ACTIVE");
        Os("loadbalancer", "list", "--name", "cli-lb", "-f", "json")!.AsArray().Count.ShouldBe(1);
        Os("loadbalancer", "set", "--description", "d", lbId);
        Settle(lbId);
        Os("loadbalancer", "unset", "--description", lbId);
        Settle(lbId);
        ((string?)Os("loadbalancer", "show", lbId, "-f", "json")!["description"]).ShouldBe("");

        var listener = Os("loadbalancer", "listener", "create", "--name", "l1", "--protocol", "HTTP", "--protocol-port", "80", "--wait", "-f", "json", lbId)!;
        var listenerId = (string)listener["id"]!;
        Os("loadbalancer", "listener", "set", "--connection-limit", "100", listenerId);
        Settle(lbId);
        Os("loadbalancer", "listener", "unset", "--connection-limit", listenerId);
        Settle(lbId);
        Os("loadbalancer", "listener", "list", "--loadbalancer", lbId, "-f", "json")!.AsArray().Count.ShouldBe(1);

        var pool = Os("loadbalancer", "pool", "create", "--name", "p1", "--protocol", "HTTP", "--lb-algorithm", "ROUND_ROBIN", "--listener", listenerId, "--wait", "-f", "json")!;
        var poolId = (string)pool["id"]!;
        Os("loadbalancer", "pool", "set", "--description", "pd", poolId);
        Settle(lbId);
        var member = Os("loadbalancer", "member", "create", "--address", "192.0.2.5", "--protocol-port", "8080", "--subnet-id", Subnet, "--wait", "-f", "json", poolId)!;
        var memberId = (string)member["id"]!;
        Os("loadbalancer", "member", "set", "--weight", "7", poolId, memberId);
        Settle(lbId);
        ((int?)Os("loadbalancer", "member", "show", poolId, memberId, "-f", "json")!["weight"]).ShouldBe(7);
        Os("loadbalancer", "member", "list", poolId, "-f", "json")!.AsArray().Count.ShouldBe(1);

        var hm = Os("loadbalancer", "healthmonitor", "create", "--delay", "5", "--timeout", "3", "--max-retries", "3", "--type", "HTTP", "--url-path", "/hc", "-f", "json", poolId)!;
        Settle(lbId);
        var hmId = (string)hm["id"]!;
        Os("loadbalancer", "healthmonitor", "set", "--delay", "6", hmId);
        Settle(lbId);

        var policy = Os("loadbalancer", "l7policy", "create", "--action", "REDIRECT_TO_POOL", "--redirect-pool", poolId, "-f", "json", listenerId)!;
        Settle(lbId);
        var policyId = (string)policy["id"]!;
        // octaviaclient 3.1.0's "l7rule create --wait" swaps the rule and policy ids when re-reading, so wait here.
        var rule = Os("loadbalancer", "l7rule", "create", "--compare-type", "STARTS_WITH", "--type", "PATH", "--value", "/api", "-f", "json", policyId)!;
        Settle(lbId);
        Os("loadbalancer", "l7rule", "set", "--value", "/v2", policyId, (string)rule["id"]!);
        Settle(lbId);
        Os("loadbalancer", "l7rule", "list", policyId, "-f", "json")!.AsArray().Count.ShouldBe(1);

        var status = Os("loadbalancer", "status", "show", lbId)!;
        ((string?)status["loadbalancer"]!["listeners"]![0]!["id"]).ShouldBe(listenerId);
        Os("loadbalancer", "stats", "show", lbId, "-f", "json")!["bytes_in"].ShouldNotBeNull();
        Os("loadbalancer", "listener", "stats", "show", listenerId, "-f", "json")!["bytes_in"].ShouldNotBeNull();

        // quota set/show/reset resolve the project through Keystone first, which --os-auth-type none lacks.
        Os("loadbalancer", "quota", "defaults", "show", "-f", "json")!["load_balancer"].ShouldNotBeNull();
        Os("loadbalancer", "quota", "list", "-f", "json");

        var fp = Os("loadbalancer", "flavorprofile", "create", "--name", "fp", "--provider", "amphora", "--flavor-data", "{\"loadbalancer_topology\": \"SINGLE\"}", "-f", "json")!;
        var flavor = Os("loadbalancer", "flavor", "create", "--name", "fl", "--flavorprofile", (string)fp["id"]!, "--enable", "-f", "json")!;
        Os("loadbalancer", "flavor", "set", "--name", "fl2", "--disable", (string)flavor["id"]!);
        ((bool?)Os("loadbalancer", "flavor", "show", (string)flavor["id"]!, "-f", "json")!["enabled"]).ShouldBe(false);
        Os("loadbalancer", "flavor", "list", "-f", "json")!.AsArray().Count.ShouldBe(1);
        Os("loadbalancer", "flavor", "delete", (string)flavor["id"]!);
        Os("loadbalancer", "flavorprofile", "delete", (string)fp["id"]!);
        var azp = Os("loadbalancer", "availabilityzoneprofile", "create", "--name", "azp", "--provider", "amphora", "--availability-zone-data", "{\"compute_zone\": \"nova\"}", "-f", "json")!;
        Os("loadbalancer", "availabilityzone", "create", "--name", "az1", "--availabilityzoneprofile", (string)azp["id"]!, "-f", "json");
        Os("loadbalancer", "availabilityzone", "set", "--description", "zone", "az1");
        Os("loadbalancer", "availabilityzone", "list", "-f", "json")!.AsArray().Count.ShouldBe(1);
        Os("loadbalancer", "availabilityzone", "delete", "az1");
        Os("loadbalancer", "availabilityzoneprofile", "delete", (string)azp["id"]!);
        Os("loadbalancer", "provider", "list", "-f", "json")!.AsArray().Count.ShouldBe(2);
        Os("loadbalancer", "amphora", "list", "-f", "json")!.AsArray().ShouldBeEmpty();

        Os("loadbalancer", "l7policy", "delete", policyId);
        Settle(lbId);
        Os("loadbalancer", "healthmonitor", "delete", hmId);
        Settle(lbId);
        Os("loadbalancer", "member", "delete", poolId, memberId);
        Settle(lbId);
        Os("loadbalancer", "pool", "delete", poolId);
        Settle(lbId);
        Os("loadbalancer", "listener", "delete", listenerId);
        Settle(lbId);
        Os("loadbalancer", "delete", "--wait", lbId);
        Os("loadbalancer", "list", "-f", "json")!.AsArray().ShouldBeEmpty();
    }
}
