// Licensed under the Apache License, Version 2.0.

using System.Text.Json.Nodes;

namespace Octavia.Api.Tests;

/// <summary>L7 policies and rules in a single-call graph create (upstream's listener and l7policy _graph_create).</summary>
public sealed class GraphL7Tests : IAsyncLifetime
{
    private const string Subnet = "3a1c2b47-8c3b-4f0b-9a07-0d7e4b2b8f11";
    private ApiServer _api = null!;

    public async ValueTask InitializeAsync() => _api = await ApiServer.StartAsync();

    public async ValueTask DisposeAsync() => await _api.DisposeAsync();

    private static JsonObject Pool(string name, string protocol = "HTTP") => new()
    {
        ["name"] = name,
        ["protocol"] = protocol,
        ["lb_algorithm"] = "ROUND_ROBIN",
        ["members"] = new JsonArray(new JsonObject { ["address"] = "192.0.2.10", ["protocol_port"] = 8080 }),
    };

    private static JsonObject Rule(string type, string compare, string value, string? key = null, bool invert = false)
    {
        var r = new JsonObject { ["type"] = type, ["compare_type"] = compare, ["value"] = value, ["invert"] = invert };
        if (key is not null)
        {
            r["key"] = key;
        }
        return r;
    }

    /// <summary>One HTTP listener with a default pool "web", a top-level pool "api", and the given policies.</summary>
    public static JsonObject Graph(string name, JsonArray policies, string listenerProtocol = "HTTP") => new()
    {
        ["loadbalancer"] = new JsonObject
        {
            ["name"] = name,
            ["vip_subnet_id"] = Subnet,
            ["pools"] = new JsonArray(Pool("api")),
            ["listeners"] = new JsonArray(new JsonObject
            {
                ["name"] = "front",
                ["protocol"] = listenerProtocol,
                ["protocol_port"] = 80,
                ["default_pool"] = Pool("web", listenerProtocol == "TCP" ? "TCP" : "HTTP"),
                ["l7policies"] = policies,
            }),
        },
    };

    /// <summary>A policy of every action; one redirect pool is a name reference, one a full definition.</summary>
    public static JsonArray EveryAction() =>
    [
        new JsonObject
        {
            ["name"] = "to-api",
            ["action"] = "REDIRECT_TO_POOL",
            ["redirect_pool"] = new JsonObject { ["name"] = "api" },
            ["rules"] = new JsonArray(Rule("PATH", "STARTS_WITH", "/api")),
        },
        new JsonObject
        {
            ["name"] = "to-static",
            ["action"] = "REDIRECT_TO_POOL",
            ["position"] = 1,
            ["redirect_pool"] = Pool("static"),
            ["rules"] = new JsonArray(Rule("FILE_TYPE", "EQUAL_TO", "png"), Rule("HOST_NAME", "ENDS_WITH", ".example.com")),
        },
        new JsonObject
        {
            ["name"] = "moved",
            ["action"] = "REDIRECT_TO_URL",
            ["redirect_url"] = "http://www.example.com/new",
            ["redirect_http_code"] = 301,
            ["rules"] = new JsonArray(Rule("HOST_NAME", "EQUAL_TO", "old.example.com")),
        },
        new JsonObject
        {
            ["name"] = "prefix",
            ["action"] = "REDIRECT_PREFIX",
            ["redirect_prefix"] = "https://secure.example.com",
            ["rules"] = new JsonArray(Rule("HEADER", "EQUAL_TO", "yes", key: "X-Secure")),
        },
        new JsonObject
        {
            ["name"] = "deny",
            ["action"] = "REJECT",
            ["admin_state_up"] = false,
            ["tags"] = new JsonArray("t1"),
            ["rules"] = new JsonArray(Rule("COOKIE", "CONTAINS", "bad", key: "session", invert: true)),
        },
    ];

    [Fact]
    public async Task GraphCreate_PoliciesOfEveryActionWithRules_ActiveAndShownInFull()
    {
        var (s, body) = await _api.PostAsync("/v2/lbaas/loadbalancers", Graph("oaf-l7", EveryAction()));
        s.ShouldBe(201, body?.ToJsonString());
        var lb = body!["loadbalancer"]!;
        var lbId = (string)lb["id"]!;
        var pools = lb["pools"]!.AsArray().ToDictionary(p => (string)p!["name"]!, p => (string)p!["id"]!);
        pools.Keys.ShouldBe(["api", "static", "web"], ignoreOrder: true);

        // The response carries upstream's full listener: policies and their rules as objects, in position order.
        var policies = lb["listeners"]![0]!["l7policies"]!.AsArray();
        policies.Select(p => (string?)p!["name"]).ShouldBe(["to-static", "to-api", "moved", "prefix", "deny"]);
        policies.Select(p => (int?)p!["position"]).ShouldBe([1, 2, 3, 4, 5]);
        ((string?)policies[0]!["redirect_pool_id"]).ShouldBe(pools["static"]);
        ((string?)policies[1]!["redirect_pool_id"]).ShouldBe(pools["api"]);
        policies[0]!["rules"]!.AsArray().Count.ShouldBe(2);
        // Rules have no position: upstream returns them in the database's order.
        policies[0]!["rules"]!.AsArray().Select(r => (string?)r!["type"]).ShouldBe(["FILE_TYPE", "HOST_NAME"], ignoreOrder: true);
        ((string?)policies[3]!["rules"]![0]!["key"]).ShouldBe("X-Secure");

        await _api.WaitActiveAsync($"/v2/lbaas/loadbalancers/{lbId}", "loadbalancer");
        var (_, listed) = await _api.GetAsync($"/v2/lbaas/l7policies?listener_id={(string)lb["listeners"]![0]!["id"]!}");
        var byName = listed!["l7policies"]!.AsArray().ToDictionary(p => (string)p!["name"]!, p => p!);
        byName.Count.ShouldBe(5);
        foreach (var p in byName.Values)
        {
            ((string?)p["provisioning_status"]).ShouldBe("ACTIVE");
            ((string?)p["operating_status"]).ShouldBe((bool)p["admin_state_up"]! ? "ONLINE" : "OFFLINE");
            var (_, rules) = await _api.GetAsync($"/v2/lbaas/l7policies/{(string)p["id"]!}/rules");
            rules!["rules"]!.AsArray().Count.ShouldBe(p["rules"]!.AsArray().Count);
            rules["rules"]!.AsArray().ShouldAllBe(r => (string?)r!["provisioning_status"] == "ACTIVE");
        }
        ((string?)byName["to-api"]["action"]).ShouldBe("REDIRECT_TO_POOL");
        ((string?)byName["moved"]["redirect_url"]).ShouldBe("http://www.example.com/new");
        ((int?)byName["moved"]["redirect_http_code"]).ShouldBe(301);
        ((string?)byName["prefix"]["redirect_prefix"]).ShouldBe("https://secure.example.com");
        ((int?)byName["prefix"]["redirect_http_code"]).ShouldBe(302);
        ((int?)byName["deny"]["redirect_http_code"]).ShouldBeNull();
        byName["deny"]["tags"]!.AsArray().Select(t => (string?)t).ShouldBe(["t1"]);
        var (_, rule) = await _api.GetAsync($"/v2/lbaas/l7policies/{(string)byName["deny"]["id"]!}/rules");
        ((bool?)rule!["rules"]![0]!["invert"]).ShouldBe(true);

        // The status tree lists the redirect pools under the listener, as for policies made one by one.
        var (_, tree) = await _api.GetAsync($"/v2/lbaas/loadbalancers/{lbId}/status");
        tree!["statuses"]!["loadbalancer"]!["listeners"]![0]!["pools"]!.AsArray().Select(p => (string?)p!["name"])
            .ShouldBe(["api", "static", "web"], ignoreOrder: true);
    }

    [Fact]
    public async Task GraphCreate_CountsL7PoliciesAndRulesAgainstQuota()
    {
        (await _api.PutAsync("/v2/lbaas/quotas/p1", new JsonObject { ["quota"] = new JsonObject { ["l7rule"] = 3 } })).Status.ShouldBe(202);
        var (s, body) = await _api.PostAsync("/v2/lbaas/loadbalancers", Graph("oaf-q", EveryAction()));
        s.ShouldBe(403, body?.ToJsonString());
        ((string?)body!["faultstring"]).ShouldBe("Quota has been met for resources: L7 Rule");
        (await _api.GetAsync("/v2/lbaas/loadbalancers")).Body!["loadbalancers"]!.AsArray().ShouldBeEmpty();
    }

    public static TheoryData<string, string, int, string> BadPolicies() => new()
    {
        {
            "unknown pool name",
            """[{"action": "REDIRECT_TO_POOL", "redirect_pool": {"name": "nope"}}]""",
            400, "Validation failure: Pool 'nope' was referenced but no full definition was found."
        },
        {
            "unnamed redirect pool",
            """[{"action": "REDIRECT_TO_POOL", "redirect_pool": {"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}}]""",
            400, "Validation failure: Pools must be named when creating a fully populated loadbalancer."
        },
        {
            "duplicate pool name",
            """[{"action": "REDIRECT_TO_POOL", "redirect_pool": {"name": "api", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}}]""",
            400, "Validation failure: Pool names must be unique when creating a fully populated loadbalancer."
        },
        {
            "redirect to pool without a pool",
            """[{"action": "REDIRECT_TO_POOL"}]""",
            400, "Invalid L7 Policy arguments: redirect_pool_id or redirect_pool must not be None"
        },
        {
            "redirect to url without a url",
            """[{"action": "REDIRECT_TO_URL"}]""",
            400, "Invalid L7 Policy arguments: redirect_url must not be None"
        },
        {
            "redirect prefix without a prefix",
            """[{"action": "REDIRECT_PREFIX"}]""",
            400, "Invalid L7 Policy arguments: redirect_prefix must not be None"
        },
        {
            "pool and prefix together",
            """[{"action": "REDIRECT_PREFIX", "redirect_pool": {"name": "api"}, "redirect_prefix": "http://x.example.com"}]""",
            400, "Invalid L7 Policy arguments: Cannot specify redirect_pool_id and redirect_url or redirect_prefix at the same time"
        },
        {
            "unknown action",
            """[{"action": "DROP"}]""",
            400, "Invalid input for field/attribute action."
        },
        {
            "bad redirect code",
            """[{"action": "REDIRECT_TO_URL", "redirect_url": "http://x.example.com", "redirect_http_code": 305}]""",
            400, "Invalid input for field/attribute redirect_http_code."
        },
        {
            "not a url",
            """[{"action": "REDIRECT_TO_URL", "redirect_url": "ftp://x.example.com"}]""",
            400, "Invalid input for field/attribute redirect_url."
        },
        {
            "header rule without key",
            """[{"action": "REJECT", "rules": [{"type": "HEADER", "compare_type": "EQUAL_TO", "value": "v"}]}]""",
            400, "Error parsing L7Rule: Validation failure: L7rule type HEADER needs a key"
        },
        {
            "rule without value",
            """[{"action": "REJECT", "rules": [{"type": "PATH", "compare_type": "EQUAL_TO"}]}]""",
            400, "Error parsing L7Rule: "
        },
        {
            "unknown policy attribute",
            """[{"action": "REJECT", "listener_id": "x"}]""",
            400, "Unknown attribute for argument l7policy: listener_id"
        },
        {
            "pool protocol the listener cannot use",
            """[{"action": "REDIRECT_TO_POOL", "redirect_pool": {"name": "udp", "protocol": "UDP", "lb_algorithm": "ROUND_ROBIN"}}]""",
            400, "The pool protocol 'UDP' is invalid while the listener protocol is 'HTTP'."
        },
    };

    [Theory]
    [MemberData(nameof(BadPolicies))]
    public async Task GraphCreate_BadPolicy_RefusedAndNothingWritten(string why, string policies, int status, string fault)
    {
        var (s, body) = await _api.PostAsync("/v2/lbaas/loadbalancers", Graph("oaf-bad", JsonNode.Parse(policies)!.AsArray()));
        s.ShouldBe(status, why + ": " + body?.ToJsonString());
        ((string?)body!["faultstring"]).ShouldNotBeNull().ShouldStartWith(fault.Split(" (", 2)[0], Case.Sensitive, why);
        var (_, list) = await _api.GetAsync("/v2/lbaas/loadbalancers");
        list!["loadbalancers"]!.AsArray().ShouldBeEmpty(why);
        var (_, all) = await _api.GetAsync("/v2/lbaas/l7policies");
        all!["l7policies"]!.AsArray().ShouldBeEmpty(why);
    }

    [Fact]
    public async Task GraphCreate_L7PoliciesOnATcpListener_RefusedByTheAmphoraProvider()
    {
        var graph = Graph("oaf-tcp", [new JsonObject { ["action"] = "REJECT" }], listenerProtocol: "TCP");
        graph["loadbalancer"]!["provider"] = "amphora";
        var (s, body) = await _api.PostAsync("/v2/lbaas/loadbalancers", graph);
        s.ShouldBe(501, body?.ToJsonString());
        ((string?)body!["faultstring"]).ShouldBe("Provider 'amphora' does not support a requested option: L7 policies on TCP listeners");
    }
}
