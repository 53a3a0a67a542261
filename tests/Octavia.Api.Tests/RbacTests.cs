// Licensed under the Apache License, Version 2.0.

using System.Text.Json.Nodes;

namespace Octavia.Api.Tests;

/// <summary>Upstream's default rules per family (auth_strategy = testing applies them to the roles sent).</summary>
public sealed class RbacTests : IAsyncLifetime
{
    private ApiServer _api = null!;
    private string _lbA = "";

    public async ValueTask InitializeAsync()
    {
        _api = await ApiServer.StartAsync();
        _lbA = await _api.CreateLoadBalancerAsync("proj-a", "a-lb");
        await _api.CreateLoadBalancerAsync("proj-b", "b-lb");
    }

    public async ValueTask DisposeAsync() => await _api.DisposeAsync();

    private static JsonObject NewLb() => new() { ["loadbalancer"] = new JsonObject { ["vip_subnet_id"] = "3a1c2b47-8c3b-4f0b-9a07-0d7e4b2b8f11" } };

    [Fact]
    public async Task MemberOfProjectA_SeesOnlyA_AndCannotReadB()
    {
        var (s, list) = await _api.GetAsync("/v2/lbaas/loadbalancers", "proj-a", "load-balancer_member", admin: false);
        s.ShouldBe(200);
        list!["loadbalancers"]!.AsArray().Select(l => (string?)l!["name"]).ShouldBe(["a-lb"]);
        (await _api.GetAsync($"/v2/lbaas/loadbalancers/{_lbA}", "proj-b", "load-balancer_member", admin: false)).Status.ShouldBe(403);
        (await _api.GetAsync("/v2/lbaas/loadbalancers?project_id=proj-b", "proj-a", "load-balancer_member", admin: false)).Status.ShouldBe(403);
        var (fs, fault) = await _api.DeleteAsync($"/v2/lbaas/loadbalancers/{_lbA}", "proj-b", "load-balancer_member", admin: false);
        fs.ShouldBe(403);
        ((string?)fault!["faultstring"]).ShouldBe("Policy does not allow this request to be performed.");
    }

    [Fact]
    public async Task Observer_CanRead_CannotWrite()
    {
        (await _api.GetAsync($"/v2/lbaas/loadbalancers/{_lbA}", "proj-a", "load-balancer_observer", admin: false)).Status.ShouldBe(200);
        (await _api.PostAsync("/v2/lbaas/loadbalancers", NewLb(), "proj-a", "load-balancer_observer", admin: false)).Status.ShouldBe(403);
        (await _api.PutAsync($"/v2/lbaas/loadbalancers/{_lbA}", new JsonObject { ["loadbalancer"] = new JsonObject { ["name"] = "x" } }, "proj-a", "load-balancer_observer", admin: false)).Status.ShouldBe(403);
    }

    [Fact]
    public async Task NoRole_IsDeniedEverything()
    {
        (await _api.GetAsync("/v2/lbaas/loadbalancers", "proj-a", null, admin: false)).Status.ShouldBe(403);
        (await _api.GetAsync("/v2/lbaas/quotas/proj-a", "proj-a", null, admin: false)).Status.ShouldBe(403);
    }

    [Fact]
    public async Task GlobalObserver_SeesAllProjects()
    {
        var (s, list) = await _api.GetAsync("/v2/lbaas/loadbalancers", "proj-z", "load-balancer_global_observer", admin: false);
        s.ShouldBe(200);
        list!["loadbalancers"]!.AsArray().Count.ShouldBe(2);
    }

    [Fact]
    public async Task OnlyAdmin_ReachesAmphoraeFailoverAndCatalogWrites()
    {
        (await _api.GetAsync("/v2/octavia/amphorae", "proj-a", "load-balancer_member", admin: false)).Status.ShouldBe(403);
        (await _api.PutAsync($"/v2/lbaas/loadbalancers/{_lbA}/failover", new JsonObject(), "proj-a", "load-balancer_member", admin: false)).Status.ShouldBe(403);
        (await _api.PostAsync("/v2/lbaas/flavorprofiles", new JsonObject { ["flavorprofile"] = new JsonObject { ["name"] = "x", ["provider_name"] = "noop_driver", ["flavor_data"] = "{}" } }, "proj-a", "load-balancer_member", admin: false)).Status.ShouldBe(403);
        (await _api.GetAsync("/v2/lbaas/flavors", "proj-a", "load-balancer_member", admin: false)).Status.ShouldBe(200);
        (await _api.GetAsync("/v2/octavia/amphorae", "proj-a", "load-balancer_admin", admin: false)).Status.ShouldBe(200);
        (await _api.PutAsync($"/v2/lbaas/loadbalancers/{_lbA}/failover", new JsonObject(), "proj-a", "admin", admin: false)).Status.ShouldBe(202);
    }

    [Fact]
    public async Task QuotaAdmin_WritesAnyProjectsQuota_MemberCannot()
    {
        (await _api.PutAsync("/v2/lbaas/quotas/proj-b", new JsonObject { ["quota"] = new JsonObject { ["pool"] = 3 } }, "proj-a", "load-balancer_member", admin: false)).Status.ShouldBe(403);
        (await _api.PutAsync("/v2/lbaas/quotas/proj-b", new JsonObject { ["quota"] = new JsonObject { ["pool"] = 3 } }, "proj-a", "load-balancer_quota_admin", admin: false)).Status.ShouldBe(202);
    }

    [Fact]
    public async Task Create_ForeignProjectId_OnlyAdmin_MissingProject400()
    {
        var body = NewLb();
        body["loadbalancer"]!["project_id"] = "proj-b";
        (await _api.PostAsync("/v2/lbaas/loadbalancers", body, "proj-a", "load-balancer_member", admin: false)).Status.ShouldBe(403);
        var (s, created) = await _api.PostAsync("/v2/lbaas/loadbalancers", body, "proj-a");
        s.ShouldBe(201);
        ((string?)created!["loadbalancer"]!["project_id"]).ShouldBe("proj-b");
        var (ms, fault) = await _api.PostAsync("/v2/lbaas/loadbalancers", NewLb(), project: null);
        ms.ShouldBe(400);
        ((string?)fault!["faultstring"]).ShouldBe("Missing project ID in request where one is required.");
    }
}
