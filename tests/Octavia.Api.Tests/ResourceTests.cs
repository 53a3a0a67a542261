// Licensed under the Apache License, Version 2.0.

using System.Text.Json.Nodes;

namespace Octavia.Api.Tests;

/// <summary>Every LBaaS resource end to end on SQLite with the noop provider.</summary>
public class ResourceTests : IAsyncLifetime
{
    protected ApiServer Api { get; set; } = null!;

    public virtual async ValueTask InitializeAsync() => Api = await ApiServer.StartAsync();

    public virtual async ValueTask DisposeAsync()
    {
        await Api.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    private static JsonObject Root(string key, JsonObject inner) => new() { [key] = inner };

    [Fact]
    public async Task FullStack_CreateUpdateDelete_SettlesActiveAndCleansUp()
    {
        var lbId = await Api.CreateLoadBalancerAsync(tags: ["a", "b"]);
        var (s, lb) = await Api.GetAsync($"/v2/lbaas/loadbalancers/{lbId}");
        s.ShouldBe(200);
        ((string?)lb!["loadbalancer"]!["operating_status"]).ShouldBe("ONLINE");
        ((string?)lb["loadbalancer"]!["provider"]).ShouldBe("noop_driver");
        ((string?)lb["loadbalancer"]!["vip_address"]).ShouldStartWith("10.");
        lb["loadbalancer"]!["tags"]!.AsArray().Select(t => (string?)t).ShouldBe(["a", "b"]);

        var (ls, listener) = await Api.PostAsync("/v2/lbaas/listeners", Root("listener", new JsonObject
        {
            ["loadbalancer_id"] = lbId,
            ["protocol"] = "HTTP",
            ["protocol_port"] = 80,
            ["name"] = "web",
            ["insert_headers"] = new JsonObject { ["X-Forwarded-For"] = "true" },
        }));
        ls.ShouldBe(201, listener?.ToJsonString());
        var listenerId = (string)listener!["listener"]!["id"]!;
        ((string?)listener["listener"]!["provisioning_status"]).ShouldBeOneOf("PENDING_CREATE", "ACTIVE");
        ((int?)listener["listener"]!["timeout_client_data"]).ShouldBe(50000);
        await Api.WaitActiveAsync($"/v2/lbaas/listeners/{listenerId}", "listener");

        var (ps, pool) = await Api.PostAsync("/v2/lbaas/pools", Root("pool", new JsonObject
        {
            ["listener_id"] = listenerId,
            ["protocol"] = "HTTP",
            ["lb_algorithm"] = "ROUND_ROBIN",
            ["session_persistence"] = new JsonObject { ["type"] = "APP_COOKIE", ["cookie_name"] = "sid" },
        }));
        ps.ShouldBe(201, pool?.ToJsonString());
        var poolId = (string)pool!["pool"]!["id"]!;
        await Api.WaitActiveAsync($"/v2/lbaas/pools/{poolId}", "pool");
        var (_, l2) = await Api.GetAsync($"/v2/lbaas/listeners/{listenerId}");
        ((string?)l2!["listener"]!["default_pool_id"]).ShouldBe(poolId);

        var (ms, member) = await Api.PostAsync($"/v2/lbaas/pools/{poolId}/members", Root("member", new JsonObject
        {
            ["address"] = "192.0.2.10",
            ["protocol_port"] = 8080,
            ["weight"] = 5,
        }));
        ms.ShouldBe(201, member?.ToJsonString());
        var memberId = (string)member!["member"]!["id"]!;
        await Api.WaitActiveAsync($"/v2/lbaas/pools/{poolId}/members/{memberId}", "member");
        var (dup, dupBody) = await Api.PostAsync($"/v2/lbaas/pools/{poolId}/members", Root("member", new JsonObject { ["address"] = "192.0.2.10", ["protocol_port"] = 8080 }));
        dup.ShouldBe(409, dupBody?.ToJsonString());

        var (hs, hm) = await Api.PostAsync("/v2/lbaas/healthmonitors", Root("healthmonitor", new JsonObject
        {
            ["pool_id"] = poolId,
            ["type"] = "HTTP",
            ["delay"] = 5,
            ["timeout"] = 3,
            ["max_retries"] = 3,
            ["url_path"] = "/health",
        }));
        hs.ShouldBe(201, hm?.ToJsonString());
        var hmId = (string)hm!["healthmonitor"]!["id"]!;
        ((string?)hm["healthmonitor"]!["expected_codes"]).ShouldBe("200");
        ((int?)hm["healthmonitor"]!["max_retries_down"]).ShouldBe(3);
        await Api.WaitActiveAsync($"/v2/lbaas/healthmonitors/{hmId}", "healthmonitor");
        var (hs2, _) = await Api.PostAsync("/v2/lbaas/healthmonitors", Root("healthmonitor", new JsonObject
        {
            ["pool_id"] = poolId,
            ["type"] = "TCP",
            ["delay"] = 5,
            ["timeout"] = 3,
            ["max_retries"] = 3,
        }));
        hs2.ShouldBe(409);

        var (p1s, p1) = await Api.PostAsync("/v2/lbaas/l7policies", Root("l7policy", new JsonObject { ["listener_id"] = listenerId, ["action"] = "REJECT" }));
        p1s.ShouldBe(201, p1?.ToJsonString());
        var policy1 = (string)p1!["l7policy"]!["id"]!;
        await Api.WaitActiveAsync($"/v2/lbaas/l7policies/{policy1}", "l7policy");
        var (p2s, p2) = await Api.PostAsync("/v2/lbaas/l7policies", Root("l7policy", new JsonObject
        {
            ["listener_id"] = listenerId,
            ["action"] = "REDIRECT_TO_URL",
            ["redirect_url"] = "https://example.com",
            ["position"] = 1,
        }));
        p2s.ShouldBe(201, p2?.ToJsonString());
        var policy2 = (string)p2!["l7policy"]!["id"]!;
        ((int?)p2["l7policy"]!["redirect_http_code"]).ShouldBe(302);
        await Api.WaitActiveAsync($"/v2/lbaas/l7policies/{policy2}", "l7policy");
        var (_, first) = await Api.GetAsync($"/v2/lbaas/l7policies/{policy1}");
        ((int?)first!["l7policy"]!["position"]).ShouldBe(2);

        var (rs, rule) = await Api.PostAsync($"/v2/lbaas/l7policies/{policy1}/rules", Root("rule", new JsonObject
        {
            ["type"] = "PATH",
            ["compare_type"] = "STARTS_WITH",
            ["value"] = "/api",
        }));
        rs.ShouldBe(201, rule?.ToJsonString());
        var ruleId = (string)rule!["rule"]!["id"]!;
        await Api.WaitActiveAsync($"/v2/lbaas/l7policies/{policy1}/rules/{ruleId}", "rule");
        var (badRule, badRuleBody) = await Api.PostAsync($"/v2/lbaas/l7policies/{policy1}/rules", Root("rule", new JsonObject
        {
            ["type"] = "HEADER",
            ["compare_type"] = "EQUAL_TO",
            ["value"] = "x",
        }));
        badRule.ShouldBe(400, badRuleBody?.ToJsonString());

        var (ts, tree) = await Api.GetAsync($"/v2/lbaas/loadbalancers/{lbId}/status");
        ts.ShouldBe(200);
        var tl = tree!["statuses"]!["loadbalancer"]!["listeners"]![0]!;
        ((string?)tl["id"]).ShouldBe(listenerId);
        ((string?)tl["pools"]![0]!["health_monitor"]!["type"]).ShouldBe("HTTP");
        ((string?)tl["pools"]![0]!["members"]![0]!["address"]).ShouldBe("192.0.2.10");
        var (ss, stats) = await Api.GetAsync($"/v2/lbaas/loadbalancers/{lbId}/stats");
        ss.ShouldBe(200);
        ((long?)stats!["stats"]!["bytes_in"]).ShouldBe(0);

        var (us, updated) = await Api.PutAsync($"/v2/lbaas/loadbalancers/{lbId}", Root("loadbalancer", new JsonObject { ["name"] = "renamed", ["tags"] = new JsonArray("c") }));
        us.ShouldBe(200, updated?.ToJsonString());
        ((string?)updated!["loadbalancer"]!["provisioning_status"]).ShouldBeOneOf("PENDING_UPDATE", "ACTIVE");
        var (conflict, conflictBody) = await Api.PutAsync($"/v2/lbaas/loadbalancers/{lbId}", Root("loadbalancer", new JsonObject { ["name"] = "again" }));
        if (conflict != 200)
        {
            conflict.ShouldBe(409, conflictBody?.ToJsonString());
        }
        var settled = await Api.WaitActiveAsync($"/v2/lbaas/loadbalancers/{lbId}", "loadbalancer");
        settled!["tags"]!.AsArray().Select(t => (string?)t).ShouldBe(["c"]);

        var (mu, mub) = await Api.PutAsync($"/v2/lbaas/pools/{poolId}/members/{memberId}", Root("member", new JsonObject { ["weight"] = null }));
        mu.ShouldBe(200, mub?.ToJsonString());
        ((int?)mub!["member"]!["weight"]).ShouldBe(1);
        await Api.WaitActiveAsync($"/v2/lbaas/pools/{poolId}/members/{memberId}", "member");

        var (nd, ndBody) = await Api.DeleteAsync($"/v2/lbaas/loadbalancers/{lbId}");
        nd.ShouldBe(400, ndBody?.ToJsonString());
        ((string?)ndBody!["faultstring"]).ShouldBe($"Cannot delete Load Balancer {lbId} - it has children");

        var (ds, _) = await Api.DeleteAsync($"/v2/lbaas/loadbalancers/{lbId}?cascade=true");
        ds.ShouldBe(204);
        await Api.WaitActiveAsync($"/v2/lbaas/loadbalancers/{lbId}", "loadbalancer", gone: true);
        (await Api.GetAsync($"/v2/lbaas/listeners/{listenerId}")).Status.ShouldBe(404);
        (await Api.GetAsync($"/v2/lbaas/pools/{poolId}")).Status.ShouldBe(404);
        var (_, list) = await Api.GetAsync("/v2/lbaas/loadbalancers");
        list!["loadbalancers"]!.AsArray().ShouldBeEmpty();
    }

    [Fact]
    public async Task GraphCreate_WithListenerPoolMembersAndMonitor_ReturnsFullTreeAndSettles()
    {
        var (s, body) = await Api.PostAsync("/v2/lbaas/loadbalancers", Root("loadbalancer", new JsonObject
        {
            ["name"] = "graph",
            ["vip_network_id"] = "5b1c2b47-8c3b-4f0b-9a07-0d7e4b2b8f11",
            ["listeners"] = new JsonArray(new JsonObject
            {
                ["protocol"] = "HTTP",
                ["protocol_port"] = 80,
                ["default_pool"] = new JsonObject
                {
                    ["name"] = "p",
                    ["protocol"] = "HTTP",
                    ["lb_algorithm"] = "SOURCE_IP_PORT",
                    ["members"] = new JsonArray(
                        new JsonObject { ["address"] = "192.0.2.1", ["protocol_port"] = 80 },
                        new JsonObject { ["address"] = "192.0.2.2", ["protocol_port"] = 80 }),
                    ["healthmonitor"] = new JsonObject { ["type"] = "PING", ["delay"] = 1, ["timeout"] = 1, ["max_retries"] = 1 },
                },
            }),
        }));
        s.ShouldBe(201, body?.ToJsonString());
        var lb = body!["loadbalancer"]!;
        ((string?)lb["listeners"]![0]!["protocol"]).ShouldBe("HTTP");
        lb["pools"]![0]!["members"]!.AsArray().Count.ShouldBe(2);
        var id = (string)lb["id"]!;
        await Api.WaitActiveAsync($"/v2/lbaas/loadbalancers/{id}", "loadbalancer");
        var (_, members) = await Api.GetAsync($"/v2/lbaas/pools/{(string)lb["pools"]![0]!["id"]!}/members");
        members!["members"]!.AsArray().ShouldAllBe(m => (string?)m!["provisioning_status"] == "ACTIVE" && (string?)m["operating_status"] == "ONLINE");
    }

    [Fact]
    public async Task BatchMemberUpdate_ReplacesSet_AdditiveOnlyKeepsOthers()
    {
        var lbId = await Api.CreateLoadBalancerAsync();
        var (_, pool) = await Api.PostAsync("/v2/lbaas/pools", Root("pool", new JsonObject { ["loadbalancer_id"] = lbId, ["protocol"] = "TCP", ["lb_algorithm"] = "LEAST_CONNECTIONS" }));
        var poolId = (string)pool!["pool"]!["id"]!;
        await Api.WaitActiveAsync($"/v2/lbaas/pools/{poolId}", "pool");
        async Task Batch(string query, params string[] addresses)
        {
            var members = new JsonArray(addresses.Select(a => (JsonNode)new JsonObject { ["address"] = a, ["protocol_port"] = 80 }).ToArray());
            var (st, b) = await Api.PutAsync($"/v2/lbaas/pools/{poolId}/members{query}", new JsonObject { ["members"] = members });
            st.ShouldBe(202, b?.ToJsonString());
            await Api.WaitActiveAsync($"/v2/lbaas/pools/{poolId}", "pool");
        }
        async Task<string[]> Addresses()
        {
            var (_, b) = await Api.GetAsync($"/v2/lbaas/pools/{poolId}/members");
            return b!["members"]!.AsArray().Select(m => (string)m!["address"]!).Order().ToArray();
        }
        await Batch("", "192.0.2.1", "192.0.2.2");
        (await Addresses()).ShouldBe(["192.0.2.1", "192.0.2.2"]);
        await Batch("", "192.0.2.2", "192.0.2.3");
        (await Addresses()).ShouldBe(["192.0.2.2", "192.0.2.3"]);
        await Batch("?additive_only=true", "192.0.2.4");
        (await Addresses()).ShouldBe(["192.0.2.2", "192.0.2.3", "192.0.2.4"]);
    }

    [Fact]
    public async Task ListLoadBalancers_WithChildrenAndTags_ShowsEachExactlyAsGetOne()
    {
        var lbId = await Api.CreateLoadBalancerAsync(tags: ["x", "a"]);
        var (ls, l) = await Api.PostAsync("/v2/lbaas/listeners", Root("listener", new JsonObject { ["loadbalancer_id"] = lbId, ["protocol"] = "HTTP", ["protocol_port"] = 80 }));
        ls.ShouldBe(201, l?.ToJsonString());
        await Api.WaitActiveAsync($"/v2/lbaas/loadbalancers/{lbId}", "loadbalancer");
        var (ps, p) = await Api.PostAsync("/v2/lbaas/pools", Root("pool", new JsonObject { ["loadbalancer_id"] = lbId, ["protocol"] = "HTTP", ["lb_algorithm"] = "ROUND_ROBIN" }));
        ps.ShouldBe(201, p?.ToJsonString());
        await Api.WaitActiveAsync($"/v2/lbaas/loadbalancers/{lbId}", "loadbalancer");
        var other = await Api.CreateLoadBalancerAsync();

        var (_, one) = await Api.GetAsync($"/v2/lbaas/loadbalancers/{lbId}");
        var (_, list) = await Api.GetAsync("/v2/lbaas/loadbalancers");
        var items = list!["loadbalancers"]!.AsArray();
        items.Count.ShouldBe(2);
        var listed = items.Single(i => (string?)i!["id"] == lbId)!;
        listed.ToJsonString().ShouldBe(one!["loadbalancer"]!.ToJsonString());
        listed["listeners"]!.AsArray().Count.ShouldBe(1);
        listed["pools"]!.AsArray().Count.ShouldBe(1);
        listed["tags"]!.AsArray().Select(t => (string?)t).ShouldBe(["a", "x"]);
        var otherItem = items.Single(i => (string?)i!["id"] == other)!;
        otherItem["listeners"]!.AsArray().ShouldBeEmpty();
        otherItem["tags"]!.AsArray().ShouldBeEmpty();
    }

    [Fact]
    public async Task TerminatedHttpsListener_WithHsts_StoresAndShowsTheHstsFields()
    {
        var lbId = await Api.CreateLoadBalancerAsync();
        var (s, body) = await Api.PostAsync("/v2/lbaas/listeners", Root("listener", new JsonObject
        {
            ["loadbalancer_id"] = lbId,
            ["protocol"] = "TERMINATED_HTTPS",
            ["protocol_port"] = 443,
            ["default_tls_container_ref"] = "cert",
            ["hsts_max_age"] = 31536000,
            ["hsts_preload"] = true,
        }));
        s.ShouldBe(201, body?.ToJsonString());
        var id = (string)body!["listener"]!["id"]!;
        await Api.WaitActiveAsync($"/v2/lbaas/loadbalancers/{lbId}", "loadbalancer");
        var (_, shown) = await Api.GetAsync($"/v2/lbaas/listeners/{id}");
        ((int?)shown!["listener"]!["hsts_max_age"]).ShouldBe(31536000);
        ((bool?)shown["listener"]!["hsts_preload"]).ShouldBe(true);
        ((bool?)shown["listener"]!["hsts_include_subdomains"]).ShouldBe(false);
        var (_, http) = await Api.PostAsync("/v2/lbaas/listeners", Root("listener", new JsonObject { ["loadbalancer_id"] = lbId, ["protocol"] = "HTTP", ["protocol_port"] = 80 }));
        ((int?)http!["listener"]!["hsts_max_age"]).ShouldBeNull();
    }

    [Fact]
    public async Task ListenerPortConflict_SameL4Protocol_Returns409_UdpOnSamePortNeedsProvider()
    {
        var lbId = await Api.CreateLoadBalancerAsync();
        var (a, _) = await Api.PostAsync("/v2/lbaas/listeners", Root("listener", new JsonObject { ["loadbalancer_id"] = lbId, ["protocol"] = "TCP", ["protocol_port"] = 443 }));
        a.ShouldBe(201);
        await Api.WaitActiveAsync($"/v2/lbaas/loadbalancers/{lbId}", "loadbalancer");
        var (b, body) = await Api.PostAsync("/v2/lbaas/listeners", Root("listener", new JsonObject { ["loadbalancer_id"] = lbId, ["protocol"] = "HTTPS", ["protocol_port"] = 443 }));
        b.ShouldBe(409, body?.ToJsonString());
        var (c, _) = await Api.PostAsync("/v2/lbaas/listeners", Root("listener", new JsonObject { ["loadbalancer_id"] = lbId, ["protocol"] = "UDP", ["protocol_port"] = 443 }));
        c.ShouldBe(201);
    }

    [Fact]
    public async Task ChildCreate_WhileLoadBalancerPending_Returns409()
    {
        var (_, body) = await Api.PostAsync("/v2/lbaas/loadbalancers", Root("loadbalancer", new JsonObject { ["vip_subnet_id"] = "3a1c2b47-8c3b-4f0b-9a07-0d7e4b2b8f11" }));
        var lbId = (string)body!["loadbalancer"]!["id"]!;
        // The noop provider settles in the background, so either the listener is refused (409) or the LB was already ACTIVE.
        var (s, fault) = await Api.PostAsync("/v2/lbaas/listeners", Root("listener", new JsonObject { ["loadbalancer_id"] = lbId, ["protocol"] = "TCP", ["protocol_port"] = 1 }));
        if (s != 201)
        {
            s.ShouldBe(409);
            ((string)fault!["faultstring"]!).ShouldContain("Invalid state PENDING_CREATE");
        }
    }

    [Fact]
    public async Task Quotas_LimitLoadBalancers_Returns403AndBothSpellings()
    {
        var (ps, put) = await Api.PutAsync("/v2/lbaas/quotas/pq", Root("quota", new JsonObject { ["load_balancer"] = 1, ["listener"] = 5 }));
        ps.ShouldBe(202, put?.ToJsonString());
        ((int?)put!["quota"]!["loadbalancer"]).ShouldBe(1);
        ((int?)put["quota"]!["load_balancer"]).ShouldBe(1);
        await Api.CreateLoadBalancerAsync("pq");
        var (s, body) = await Api.PostAsync("/v2/lbaas/loadbalancers", Root("loadbalancer", new JsonObject { ["vip_subnet_id"] = "3a1c2b47-8c3b-4f0b-9a07-0d7e4b2b8f11" }), project: "pq");
        s.ShouldBe(403);
        ((string?)body!["faultstring"]).ShouldBe("Quota has been met for resources: Load Balancer");
        var (ls, list) = await Api.GetAsync("/v2/lbaas/quotas");
        ls.ShouldBe(200);
        list!["quotas"]!.AsArray().Count.ShouldBe(1);
        var (dfs, defaults) = await Api.GetAsync("/v2/lbaas/quotas/defaults");
        dfs.ShouldBe(200);
        ((int?)defaults!["quota"]!["healthmonitor"]).ShouldBe(-1);
        (await Api.DeleteAsync("/v2/lbaas/quotas/pq")).Status.ShouldBe(202);
        var (_, reset) = await Api.GetAsync("/v2/lbaas/quotas/pq");
        ((int?)reset!["quota"]!["loadbalancer"]).ShouldBe(-1);
    }

    [Fact]
    public async Task Lists_FilterSortPageFieldsAndTags()
    {
        for (var i = 0; i < 5; i++)
        {
            await Api.CreateLoadBalancerAsync(name: $"lb{i}", tags: i % 2 == 0 ? ["even"] : ["odd"]);
        }
        var (_, byName) = await Api.GetAsync("/v2/lbaas/loadbalancers?name=lb3");
        byName!["loadbalancers"]!.AsArray().Count.ShouldBe(1);
        var (_, sorted) = await Api.GetAsync("/v2/lbaas/loadbalancers?sort=name:desc&fields=name&fields=id");
        sorted!["loadbalancers"]!.AsArray().Select(l => (string?)l!["name"]).ShouldBe(["lb4", "lb3", "lb2", "lb1", "lb0"]);
        sorted["loadbalancers"]![0]!.AsObject().Count.ShouldBe(2);
        var (_, page1) = await Api.GetAsync("/v2/lbaas/loadbalancers?sort_key=name&sort_dir=asc&limit=2");
        page1!["loadbalancers"]!.AsArray().Select(l => (string?)l!["name"]).ShouldBe(["lb0", "lb1"]);
        var next = (string)page1["loadbalancers_links"]![0]!["href"]!;
        next.ShouldContain("marker=");
        var (_, page2) = await Api.GetAsync(new Uri(next).PathAndQuery);
        page2!["loadbalancers"]!.AsArray().Select(l => (string?)l!["name"]).ShouldBe(["lb2", "lb3"]);
        page2["loadbalancers_links"]!.AsArray().Select(l => (string?)l!["rel"]).ShouldBe(["next", "previous"]);
        var (_, even) = await Api.GetAsync("/v2/lbaas/loadbalancers?tags=even");
        even!["loadbalancers"]!.AsArray().Count.ShouldBe(3);
        var (_, notEven) = await Api.GetAsync("/v2/lbaas/loadbalancers?not-tags-any=even");
        notEven!["loadbalancers"]!.AsArray().Count.ShouldBe(2);
        (await Api.GetAsync("/v2/lbaas/loadbalancers?bogus=1")).Status.ShouldBe(400);
        (await Api.GetAsync("/v2/lbaas/loadbalancers?sort=bogus:asc")).Status.ShouldBe(400);
        (await Api.GetAsync("/v2/lbaas/loadbalancers?sort=name:sideways")).Status.ShouldBe(400);
        (await Api.GetAsync("/v2/lbaas/loadbalancers?limit=abc")).Status.ShouldBe(400);
        (await Api.GetAsync("/v2/lbaas/loadbalancers?marker=00000000-0000-0000-0000-000000000001")).Status.ShouldBe(400);
        var (_, shown) = await Api.GetAsync($"/v2/lbaas/loadbalancers/{(string)byName["loadbalancers"]![0]!["id"]!}?fields=name");
        shown!["loadbalancer"]!.AsObject().Select(p => p.Key).ShouldBe(["name"]);
    }

    [Fact]
    public async Task Catalog_FlavorsProfilesZones_CrudAndValidation()
    {
        var (bad, badBody) = await Api.PostAsync("/v2/lbaas/flavorprofiles", Root("flavorprofile", new JsonObject { ["name"] = "fp", ["provider_name"] = "amphora", ["flavor_data"] = "{\"bogus\": 1}" }));
        bad.ShouldBe(501, badBody?.ToJsonString());
        var (notJson, _) = await Api.PostAsync("/v2/lbaas/flavorprofiles", Root("flavorprofile", new JsonObject { ["name"] = "fp", ["provider_name"] = "amphora", ["flavor_data"] = "{" }));
        notJson.ShouldBe(400);
        var (fs, fp) = await Api.PostAsync("/v2/lbaas/flavorprofiles", Root("flavorprofile", new JsonObject { ["name"] = "fp", ["provider_name"] = "noop_driver", ["flavor_data"] = "{\"loadbalancer_topology\": \"SINGLE\"}" }));
        fs.ShouldBe(201, fp?.ToJsonString());
        var fpId = (string)fp!["flavorprofile"]!["id"]!;
        var (fls, flavor) = await Api.PostAsync("/v2/lbaas/flavors", Root("flavor", new JsonObject { ["name"] = "small", ["flavor_profile_id"] = fpId }));
        fls.ShouldBe(201, flavor?.ToJsonString());
        var flavorId = (string)flavor!["flavor"]!["id"]!;
        (await Api.PostAsync("/v2/lbaas/flavors", Root("flavor", new JsonObject { ["name"] = "small", ["flavor_profile_id"] = fpId }))).Status.ShouldBe(409);
        var (lbs, lb) = await Api.PostAsync("/v2/lbaas/loadbalancers", Root("loadbalancer", new JsonObject { ["vip_subnet_id"] = "3a1c2b47-8c3b-4f0b-9a07-0d7e4b2b8f11", ["flavor_id"] = flavorId }));
        lbs.ShouldBe(201, lb?.ToJsonString());
        (await Api.DeleteAsync($"/v2/lbaas/flavors/{flavorId}")).Status.ShouldBe(409);
        (await Api.DeleteAsync($"/v2/lbaas/flavorprofiles/{fpId}")).Status.ShouldBe(409);
        var (fpl, fpList) = await Api.GetAsync("/v2/lbaas/flavorprofiles");
        fpl.ShouldBe(200);
        fpList!["flavorprofile_links"].ShouldNotBeNull();

        var (azp, azProfile) = await Api.PostAsync("/v2/lbaas/availabilityzoneprofiles", Root("availability_zone_profile", new JsonObject { ["name"] = "azp", ["provider_name"] = "amphora", ["availability_zone_data"] = "{\"compute_zone\": \"nova\"}" }));
        azp.ShouldBe(201, azProfile?.ToJsonString());
        var (azs, az) = await Api.PostAsync("/v2/lbaas/availabilityzones", Root("availability_zone", new JsonObject { ["name"] = "zone1", ["availability_zone_profile_id"] = (string)azProfile!["availability_zone_profile"]!["id"]! }));
        azs.ShouldBe(201, az?.ToJsonString());
        var (azu, azUpdated) = await Api.PutAsync("/v2/lbaas/availabilityzones/zone1", Root("availability_zone", new JsonObject { ["enabled"] = false }));
        azu.ShouldBe(200);
        ((bool?)azUpdated!["availability_zone"]!["enabled"]).ShouldBe(false);
        var (disabled, _) = await Api.PostAsync("/v2/lbaas/loadbalancers", Root("loadbalancer", new JsonObject { ["vip_subnet_id"] = "3a1c2b47-8c3b-4f0b-9a07-0d7e4b2b8f11", ["availability_zone"] = "zone1" }));
        disabled.ShouldBe(400);
        (await Api.DeleteAsync("/v2/lbaas/availabilityzones/zone1")).Status.ShouldBe(204);

        var (prs, providers) = await Api.GetAsync("/v2/lbaas/providers");
        prs.ShouldBe(200);
        providers!["providers"]!.AsArray().Select(p => (string)p!["name"]!).ShouldContain("amphora");
        var (cs, caps) = await Api.GetAsync("/v2/lbaas/providers/amphora/flavor_capabilities");
        cs.ShouldBe(200);
        caps!["flavor_capabilities"]!.AsArray().Select(p => (string)p!["name"]!).ShouldContain("loadbalancer_topology");
        (await Api.GetAsync("/v2/lbaas/providers/bogus/flavor_capabilities")).Status.ShouldBe(400);
    }

    [Fact]
    public async Task NeutronView_ResolvesSubnetById_AndLoadBalancerVipIsInside()
    {
        const string subnet = "3a1c2b47-8c3b-4f0b-9a07-0d7e4b2b8f11";
        var (s, body) = await Api.GetAsync($"/v2.0/subnets?id={subnet}");
        s.ShouldBe(200);
        var sn = body!["subnets"]![0]!;
        ((string?)sn["id"]).ShouldBe(subnet);
        var (ns, net) = await Api.GetAsync($"/v2.0/networks/{(string)sn["network_id"]!}");
        ns.ShouldBe(200);
        net!["network"]!["subnets"]!.AsArray().Select(x => (string)x!).ShouldContain(subnet);
        (await Api.GetAsync("/v2.0/subnets?name=nope")).Body!["subnets"]!.AsArray().ShouldBeEmpty();
        (await Api.GetAsync("/v2.0/ports/not-a-uuid")).Status.ShouldBe(404);
        var lbId = await Api.CreateLoadBalancerAsync();
        var (_, lb) = await Api.GetAsync($"/v2/lbaas/loadbalancers/{lbId}");
        var cidr = (string)sn["cidr"]!;
        ((string)lb!["loadbalancer"]!["vip_address"]!).ShouldStartWith(cidr[..cidr.LastIndexOf('.')]);
        ((string?)lb["loadbalancer"]!["vip_network_id"]).ShouldBe((string?)sn["network_id"]);
    }
}
