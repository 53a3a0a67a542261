// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Octavia.Core.Messaging;
using Octavia.Core.Model;
using Octavia.Data;

namespace Octavia.Api.Tests;

/// <summary>The amphora provider casts upstream's worker methods with ids and refuses UDP/SCTP for now.</summary>
public sealed class AmphoraProviderTests : IAsyncLifetime
{
    private readonly RecordingBus _bus = new();
    private ApiServer _api = null!;

    /// <summary>Records casts in memory (the bus itself is tested with RabbitMQ elsewhere).</summary>
    private sealed class RecordingBus : IWorkerBus
    {
        public ConcurrentQueue<WorkerCast> Casts { get; } = new();

        public Task CastAsync(WorkerCast cast, CancellationToken cancellationToken)
        {
            Casts.Enqueue(cast);
            return Task.CompletedTask;
        }
    }

    public async ValueTask InitializeAsync() =>
        _api = await ApiServer.StartAsync(extra: "default_provider_driver = amphora", services: s => s.AddSingleton<IWorkerBus>(_bus));

    public async ValueTask DisposeAsync() => await _api.DisposeAsync();

    [Fact]
    public async Task Create_CastsCreateLoadBalancer_AndStaysPendingForTheWorker()
    {
        var (s, body) = await _api.PostAsync("/v2/lbaas/loadbalancers", new JsonObject { ["loadbalancer"] = new JsonObject { ["vip_subnet_id"] = "3a1c2b47-8c3b-4f0b-9a07-0d7e4b2b8f11" } });
        s.ShouldBe(201);
        var id = (string)body!["loadbalancer"]!["id"]!;
        ((string?)body["loadbalancer"]!["provider"]).ShouldBe("amphora");
        _bus.Casts.Single().Method.ShouldBe("create_load_balancer");
        ((string?)_bus.Casts.Single().Args["loadbalancer_id"]).ShouldBe(id);
        await Task.Delay(100, TestContext.Current.CancellationToken);
        var (_, shown) = await _api.GetAsync($"/v2/lbaas/loadbalancers/{id}");
        ((string?)shown!["loadbalancer"]!["provisioning_status"]).ShouldBe("PENDING_CREATE");
    }

    [Fact]
    public async Task UdpListener_Returns501_SourceIpPortPoolAccepted_AmphoraCastsUseIds()
    {
        var (_, body) = await _api.PostAsync("/v2/lbaas/loadbalancers", new JsonObject { ["loadbalancer"] = new JsonObject { ["vip_subnet_id"] = "3a1c2b47-8c3b-4f0b-9a07-0d7e4b2b8f11" } });
        var lbId = (string)body!["loadbalancer"]!["id"]!;
        // Play the worker: mark the load balancer ACTIVE.
        var database = _api.Services.GetRequiredService<OctaviaDatabase>();
        await using (var db = database.CreateContext())
        {
            await db.LoadBalancers.Where(l => l.Id == lbId).ExecuteUpdateAsync(u => u.SetProperty(l => l.ProvisioningStatus, ProvisioningStatus.Active), TestContext.Current.CancellationToken);
            db.Amphorae.Add(new Amphora { Id = Ids.New(), LoadBalancerId = lbId, Status = ProvisioningStatus.Allocated, Role = AmphoraRoles.Standalone });
            await db.SaveChangesAsync(TestContext.Current.CancellationToken);
        }
        var (us, fault) = await _api.PostAsync("/v2/lbaas/listeners", new JsonObject { ["listener"] = new JsonObject { ["loadbalancer_id"] = lbId, ["protocol"] = "UDP", ["protocol_port"] = 53 } });
        us.ShouldBe(501);
        ((string)fault!["faultstring"]!).ShouldContain("does not support a requested option");
        var (ps, pool) = await _api.PostAsync("/v2/lbaas/pools", new JsonObject { ["pool"] = new JsonObject { ["loadbalancer_id"] = lbId, ["protocol"] = "TCP", ["lb_algorithm"] = "SOURCE_IP_PORT" } });
        ps.ShouldBe(201, pool?.ToJsonString());
        var cast = _bus.Casts.Last();
        cast.Method.ShouldBe("create_pool");
        ((string?)cast.Args["pool_id"]).ShouldBe((string?)pool!["pool"]!["id"]);

        var (_, amps) = await _api.GetAsync("/v2/octavia/amphorae");
        var ampId = (string)amps!["amphorae"]![0]!["id"]!;
        (await _api.PutAsync($"/v2/octavia/amphorae/{ampId}/config", new JsonObject())).Status.ShouldBe(202);
        _bus.Casts.Last().Method.ShouldBe("update_amphora_agent_config");
        // The pool create left the load balancer PENDING_UPDATE: failover refuses it, as upstream's test_and_set does.
        (await _api.PutAsync($"/v2/octavia/amphorae/{ampId}/failover", new JsonObject())).Status.ShouldBe(409);
        await using (var db = database.CreateContext())
        {
            await db.LoadBalancers.Where(l => l.Id == lbId).ExecuteUpdateAsync(u => u.SetProperty(l => l.ProvisioningStatus, ProvisioningStatus.Active), TestContext.Current.CancellationToken);
        }
        (await _api.PutAsync($"/v2/octavia/amphorae/{ampId}/failover", new JsonObject())).Status.ShouldBe(202);
        _bus.Casts.Last().Method.ShouldBe("failover_amphora");
        ((string?)_bus.Casts.Last().Args["amphora_id"]).ShouldBe(ampId);
        var (_, failing) = await _api.GetAsync($"/v2/lbaas/loadbalancers/{lbId}");
        ((string?)failing!["loadbalancer"]!["provisioning_status"]).ShouldBe(ProvisioningStatus.PendingUpdate);
        (await _api.DeleteAsync($"/v2/octavia/amphorae/{ampId}")).Status.ShouldBe(409);
        var (ss, stats) = await _api.GetAsync($"/v2/octavia/amphorae/{ampId}/stats");
        ss.ShouldBe(200);
        stats!["amphora_stats"]!.AsArray().ShouldBeEmpty();
    }
}
