// Licensed under the Apache License, Version 2.0.

using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Octavia.Controller.Messaging;
using Octavia.Controller.Worker;
using Octavia.Controller.Worker.Tasks;
using Octavia.Core.Configuration;
using Octavia.Core.Drivers;
using Octavia.Core.Messaging;
using Octavia.Data;
using Octavia.Drivers.Amphorae;
using Octavia.Drivers.Network.Noop;
using Octavia.Tests.Shared;

namespace Octavia.Api.Tests;

/// <summary>
/// A graph with L7 policies through the amphora provider: the API casts create_load_balancer to a real worker
/// (noop compute and amphora drivers) over the in-process bus, the worker's flow settles every policy and rule,
/// and the haproxy.cfg rendered from the stored graph carries them and passes <c>haproxy -c</c>.
/// </summary>
public sealed class GraphL7AmphoraTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("oaf-l7amp-").FullName;
    private readonly InProcessWorkerBus _bus = new(1);
    private readonly CancellationTokenSource _stop = new();
    private WorkerHost _worker = null!;
    private Task _running = Task.CompletedTask;
    private ApiServer _api = null!;

    /// <summary>Self-signed amphora certificates (the noop amphora driver never presents them).</summary>
    private sealed class SelfSigned : ICertGenerator
    {
        public SignedCertificate Generate(string commonName, TimeSpan validity)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest("CN=" + commonName, key, HashAlgorithmName.SHA256);
            var now = DateTimeOffset.UtcNow;
            using var cert = request.CreateSelfSigned(now.AddMinutes(-1), now + validity);
            return new SignedCertificate(cert.ExportCertificatePem() + "\n", key.ExportPkcs8PrivateKeyPem() + "\n", null, cert.NotAfter.ToUniversalTime());
        }
    }

    public async ValueTask InitializeAsync()
    {
        var connection = $"sqlite:///{_dir}/octavia.db";
        _api = await ApiServer.StartAsync(connection, extra: "default_provider_driver = amphora", services: s => s.AddSingleton<IWorkerBus>(_bus));
        var config = OctaviaConfig.FromText($"""
            [database]
            connection = {connection}
            [controller_worker]
            workers = 1
            compute_driver = compute_noop_driver
            amphora_driver = amphora_noop_driver
            network_driver = network_noop_driver
            loadbalancer_topology = SINGLE
            amp_active_retries = 3
            amp_active_wait_sec = 0
            [certificates]
            cert_generator = oaf_self_signed
            [health_manager]
            heartbeat_key = oaf-test-key
            controller_ip_port_list = 127.0.0.1:5555
            """);
        var registry = DriverRegistry.CreateDefault();
        registry.Network["network_noop_driver"] = _ => new NoopNetworkDriver();
        registry.CertGenerator["oaf_self_signed"] = _ => new SelfSigned();
        _worker = new WorkerHost(config, registry, NullLoggerFactory.Instance, TimeProvider.System, _bus);
        _running = _worker.RunAsync(_stop.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _running;
        }
        catch (OperationCanceledException)
        {
        }
        await _api.DisposeAsync();
        _stop.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private async Task<JsonNode> WaitStatusAsync(string path, string root, string status)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (true)
        {
            var (_, body) = await _api.GetAsync(path);
            var current = (string?)body?[root]?["provisioning_status"];
            if (current == status)
            {
                return body![root]!;
            }
            if (current == "ERROR" || DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{path}: {body?.ToJsonString()}");
            }
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task GraphCreate_WithL7Policies_WorkerSettlesThemAndHaproxyCfgServesThem()
    {
        var (s, body) = await _api.PostAsync("/v2/lbaas/loadbalancers", GraphL7Tests.Graph("oaf-l7-amp", GraphL7Tests.EveryAction()));
        s.ShouldBe(201, body?.ToJsonString());
        var lbId = (string)body!["loadbalancer"]!["id"]!;
        ((string?)body["loadbalancer"]!["provider"]).ShouldBe("amphora");
        ((string?)body["loadbalancer"]!["listeners"]![0]!["l7policies"]![0]!["provisioning_status"]).ShouldBe("PENDING_CREATE");

        await WaitStatusAsync($"/v2/lbaas/loadbalancers/{lbId}", "loadbalancer", "ACTIVE");
        var (_, policies) = await _api.GetAsync("/v2/lbaas/l7policies");
        policies!["l7policies"]!.AsArray().Count.ShouldBe(5);
        foreach (var p in policies["l7policies"]!.AsArray())
        {
            ((string?)p!["provisioning_status"]).ShouldBe("ACTIVE");
            ((string?)p["operating_status"]).ShouldBe((bool)p["admin_state_up"]! ? "ONLINE" : "OFFLINE");
            var (_, rules) = await _api.GetAsync($"/v2/lbaas/l7policies/{(string)p["id"]!}/rules");
            rules!["rules"]!.AsArray().ShouldAllBe(r => (string?)r!["provisioning_status"] == "ACTIVE" && (string?)r["operating_status"] == "ONLINE");
        }

        // Render the amphora's configuration from the stored graph, as the amphora driver does.
        var database = _api.Services.GetRequiredService<OctaviaDatabase>();
        await using var db = database.CreateContext();
        var lb = await WorkerDb.LoadGraphAsync(db, lbId, TestContext.Current.CancellationToken);
        lb.ShouldNotBeNull();
        var amphora = lb.Amphorae.Single();
        var cfg = HaproxyConfigRenderer.Render(lb, amphora, new RenderOptions());
        var listener = lb.Listeners.Single();
        var byName = lb.Pools.ToDictionary(p => p.Name!, p => p.Id);
        cfg.ShouldContain($"use_backend {byName["static"]}:{listener.Id} if ");
        cfg.ShouldContain($"use_backend {byName["api"]}:{listener.Id} if ");
        cfg.ShouldContain("redirect code 301 location http://www.example.com/new if ");
        cfg.ShouldContain("redirect code 302 prefix https://secure.example.com if ");
        cfg.ShouldContain("path_end .png");
        cfg.ShouldContain("req.hdr(X-Secure)");
        // The disabled REJECT policy is not rendered.
        cfg.ShouldNotContain("http-request deny if");
        // Position order: the static-files policy (position 1) comes before the /api one.
        cfg.IndexOf($"use_backend {byName["static"]}", StringComparison.Ordinal).ShouldBeLessThan(cfg.IndexOf($"use_backend {byName["api"]}", StringComparison.Ordinal));

        Assert.SkipUnless(TestEnvironment.HasProgram("haproxy"), "haproxy is not installed");
        var file = Path.Combine(_dir, "haproxy.cfg");
        await File.WriteAllTextAsync(file, cfg, TestContext.Current.CancellationToken);
        var (code, output) = TestEnvironment.Run("haproxy", "-c", "-f", file);
        code.ShouldBe(0, output + "\n" + cfg);
    }
}
