// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Text.Json.Nodes;
using Octavia.Data;
using Octavia.Tests.Shared;

namespace Octavia.Api.Tests;

/// <summary><c>octavia api</c> as a real process on its own SQLite file and port, with extra octavia.conf lines.</summary>
internal sealed class ApiProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _dir;

    private ApiProcess(Process process, string dir, string endpoint)
    {
        _process = process;
        _dir = dir;
        Endpoint = endpoint;
    }

    public string Endpoint { get; }

    public string Directory => _dir;

    public static async Task<ApiProcess> StartAsync(string extraApiSettings, string extraSections = "", int? port = null, Action<string>? prepare = null)
    {
        var dir = System.IO.Directory.CreateTempSubdirectory("oaf-cli-").FullName;
        var bindPort = port ?? TestEnvironment.FreeTcpPort();
        var conf = Path.Combine(dir, "octavia.conf");
        await File.WriteAllTextAsync(conf, $"""
            [api_settings]
            bind_host = 127.0.0.1
            bind_port = {bindPort}
            enabled_provider_drivers = noop_driver:The noop driver.
            default_provider_driver = noop_driver
            {extraApiSettings}
            [database]
            connection = sqlite:///{dir}/octavia.db
            [controller_worker]
            network_driver = network_noop_driver
            {extraSections.Replace("{dir}", dir, StringComparison.Ordinal)}
            """);
        prepare?.Invoke(dir);
        using (var database = new OctaviaDatabase(DatabaseUrl.Parse($"sqlite:///{dir}/octavia.db")))
        {
            await ApiServer.CreateSchemaAsync(database);
        }
        var psi = new ProcessStartInfo(TestEnvironment.OctaviaExe) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("api");
        psi.ArgumentList.Add("--config-file");
        psi.ArgumentList.Add(conf);
        var process = Process.Start(psi)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var endpoint = $"http://127.0.0.1:{bindPort}";
        var api = new ApiProcess(process, dir, endpoint);
        using var http = new HttpClient();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                using var resp = await http.GetAsync(endpoint + "/");
                if (resp.IsSuccessStatusCode)
                {
                    return api;
                }
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(100);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        System.IO.Directory.Delete(_dir, recursive: true);
    }
}

/// <summary>
/// The stock CLI's quota commands against <c>octavia api</c> in noauth mode (they resolve the project through
/// the identity endpoint, which the API serves itself without Keystone), and TLS reference refusals as the CLI
/// prints them.
/// </summary>
public sealed class CliQuotaAndTlsTests
{
    private const string Subnet = "3a1c2b47-8c3b-4f0b-9a07-0d7e4b2b8f11";

    private static (int Code, string Output) Os(ApiProcess api, params string[] args) =>
        TestEnvironment.Run("openstack", ["--os-auth-type", "none", "--os-endpoint", api.Endpoint, .. args]);

    private static JsonNode Json(ApiProcess api, params string[] args)
    {
        var (code, output) = Os(api, args);
        code.ShouldBe(0, $"openstack {string.Join(' ', args)}\n{output}");
        return JsonNode.Parse(output[output.IndexOfAny(['{', '['])..])!;
    }

    [Fact]
    public async Task QuotaCommands_NoAuth_ListShowSetUnsetResetDefaults_AndTheLimitIsEnforced()
    {
        Assert.SkipUnless(TestEnvironment.HasProgram("openstack"), "python3-openstackclient is not installed");
        await using var api = await ApiProcess.StartAsync("auth_strategy = noauth\nnoauth_default_project_id = demo", "[quotas]\ndefault_load_balancer_quota = 5");

        var defaults = Json(api, "loadbalancer", "quota", "defaults", "show", "-f", "json");
        ((int?)defaults["load_balancer"]).ShouldBe(5);

        var set = Json(api, "loadbalancer", "quota", "set", "--loadbalancer", "1", "--listener", "7", "demo", "-f", "json");
        ((int?)set["load_balancer"]).ShouldBe(1);
        ((int?)set["listener"]).ShouldBe(7);
        var shown = Json(api, "loadbalancer", "quota", "show", "demo", "-f", "json");
        ((int?)shown["load_balancer"]).ShouldBe(1);
        ((int?)shown["listener"]).ShouldBe(7);
        var listed = Json(api, "loadbalancer", "quota", "list", "--project", "demo", "-f", "json").AsArray();
        listed.Count.ShouldBe(1);
        ((string?)listed[0]!["project_id"]).ShouldBe("demo");
        Json(api, "loadbalancer", "quota", "list", "-f", "json").AsArray().Select(q => (string?)q!["project_id"]).ShouldContain("demo");

        // Enforcement: one load balancer is allowed, the second is refused with upstream's 403 fault.
        Json(api, "loadbalancer", "create", "--name", "oaf-q1", "--vip-subnet-id", Subnet, "-f", "json");
        var (code, output) = Os(api, "loadbalancer", "create", "--name", "oaf-q2", "--vip-subnet-id", Subnet, "-f", "json");
        code.ShouldNotBe(0, output);
        output.ShouldContain("Quota has been met for resources: Load Balancer");
        output.ShouldContain("HTTP 403");

        var unset = Os(api, "loadbalancer", "quota", "unset", "--listener", "demo");
        unset.Code.ShouldBe(0, unset.Output);
        var afterUnset = Json(api, "loadbalancer", "quota", "show", "demo", "-f", "json");
        ((int?)afterUnset["listener"]).ShouldBe(-1);
        ((int?)afterUnset["load_balancer"]).ShouldBe(1);

        var reset = Os(api, "loadbalancer", "quota", "reset", "demo");
        reset.Code.ShouldBe(0, reset.Output);
        ((int?)Json(api, "loadbalancer", "quota", "show", "demo", "-f", "json")["load_balancer"]).ShouldBe(5);
        Json(api, "loadbalancer", "create", "--name", "oaf-q2", "--vip-subnet-id", Subnet, "-f", "json");
    }

    [Fact]
    public async Task ListenerCreate_BadDefaultTlsRef_CliPrintsTheFaultString()
    {
        Assert.SkipUnless(TestEnvironment.HasProgram("openstack"), "python3-openstackclient is not installed");
        var pki = new TestPki();
        try
        {
            await using var api = await ApiProcess.StartAsync("auth_strategy = noauth\nnoauth_default_project_id = demo",
                $"[certificates]\ncert_manager = local_cert_manager\nstorage_path = {pki.Storage}");
            var lb = Json(api, "loadbalancer", "create", "--name", "oaf-tls", "--vip-subnet-id", Subnet, "--wait", "-f", "json");
            var lbId = (string)lb["id"]!;

            var (code, output) = Os(api, "loadbalancer", "listener", "create", "--protocol", "TERMINATED_HTTPS", "--protocol-port", "443",
                "--default-tls-container-ref", "oaf-not-stored", lbId);
            code.ShouldNotBe(0, output);
            output.ShouldContain("Could not retrieve certificate: ['oaf-not-stored'] (HTTP 400)");

            var (code2, output2) = Os(api, "loadbalancer", "listener", "create", "--protocol", "TERMINATED_HTTPS", "--protocol-port", "443",
                "--default-tls-container-ref", pki.MismatchRef, lbId);
            code2.ShouldNotBe(0, output2);
            output2.ShouldContain($"Could not retrieve certificate: ['{pki.MismatchRef}'] (HTTP 400)");
            Json(api, "loadbalancer", "listener", "list", "--loadbalancer", lbId, "-f", "json").AsArray().ShouldBeEmpty();

            var ok = Json(api, "loadbalancer", "listener", "create", "--protocol", "TERMINATED_HTTPS", "--protocol-port", "443",
                "--default-tls-container-ref", pki.ServerRef, "-f", "json", lbId);
            ((string?)ok["default_tls_container_ref"]).ShouldBe(pki.ServerRef);
        }
        finally
        {
            pki.Dispose();
        }
    }
}
