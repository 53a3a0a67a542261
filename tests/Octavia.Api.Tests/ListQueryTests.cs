// Licensed under the Apache License, Version 2.0.

using System.Text.Json.Nodes;

namespace Octavia.Api.Tests;

/// <summary>
/// The list semantics the SQL path must keep: multi-key sort with created_at/id tie-breaks, marker paging both
/// ways, fields=, tag filters, attribute filters and project scope; and list items identical to show.
/// </summary>
public class ListQueryTests : IAsyncLifetime
{
    protected ApiServer Api { get; set; } = null!;

    public virtual async ValueTask InitializeAsync() => Api = await ApiServer.StartAsync();

    public virtual async ValueTask DisposeAsync()
    {
        await Api.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    private async Task<List<JsonObject>> ListAsync(string query, string project = "p1", string? roles = null, bool admin = true)
    {
        var (status, body) = await Api.GetAsync("/v2/lbaas/loadbalancers" + query, project, roles, admin);
        status.ShouldBe(200, body?.ToJsonString());
        return [.. body!["loadbalancers"]!.AsArray().Select(n => n!.AsObject())];
    }

    private static List<string> Ids(IEnumerable<JsonObject> items) => [.. items.Select(o => (string)o["id"]!)];

    [Fact]
    public async Task Paging_MultiKeySortWithMarkerBothWays_WalksTheWholeOrderedList()
    {
        string[] names = ["b", "a", "c", "a", "b", "c", "a"];
        for (var i = 0; i < names.Length; i++)
        {
            await Api.CreateLoadBalancerAsync(names[i], $"d{i % 3}", []);
        }
        var all = await ListAsync("?sort=name:asc,description:desc&fields=id&fields=name&fields=description&fields=created_at");
        all.Count.ShouldBe(7);
        var expected = all.OrderBy(o => (string)o["name"]!, StringComparer.Ordinal)
            .ThenByDescending(o => (string)o["description"]!, StringComparer.Ordinal)
            .ThenBy(o => (string)o["created_at"]!, StringComparer.Ordinal)
            .ThenBy(o => (string)o["id"]!, StringComparer.Ordinal).ToList();
        Ids(all).ShouldBe(Ids(expected));

        // Forward with limit=3: pages of 3, 3, 1, each with a next link while full.
        var walked = new List<string>();
        string? next = "/v2/lbaas/loadbalancers?sort=name:asc,description:desc&limit=3";
        var pages = 0;
        JsonNode? lastPage = null;
        while (next is not null)
        {
            var (status, page) = await Api.GetAsync(next);
            status.ShouldBe(200);
            walked.AddRange(page!["loadbalancers"]!.AsArray().Select(o => (string)o!["id"]!));
            next = page["loadbalancers_links"]!.AsArray().Where(l => (string?)l!["rel"] == "next").Select(l => new Uri((string)l!["href"]!).PathAndQuery).FirstOrDefault();
            pages++;
            lastPage = page;
        }
        walked.ShouldBe(Ids(expected));
        pages.ShouldBe(3);

        // The last page's previous link goes back to the three before it, in the same order.
        var previous = lastPage!["loadbalancers_links"]!.AsArray().Single(l => (string?)l!["rel"] == "previous");
        var prevHref = new Uri((string)previous!["href"]!).PathAndQuery;
        prevHref.ShouldContain("page_reverse=True");
        var back = await ListAsync(prevHref["/v2/lbaas/loadbalancers".Length..]);
        Ids(back).ShouldBe(Ids(expected).GetRange(3, 3));

        // A marker with sort_key/sort_dir pairs and no limit gives everything after it.
        var after = await ListAsync($"?sort_key=name&sort_key=description&sort_dir=desc&sort_dir=asc&marker={Ids(expected)[0]}");
        var byDesc = all.OrderByDescending(o => (string)o["name"]!, StringComparer.Ordinal)
            .ThenBy(o => (string)o["description"]!, StringComparer.Ordinal)
            .ThenBy(o => (string)o["created_at"]!, StringComparer.Ordinal)
            .ThenBy(o => (string)o["id"]!, StringComparer.Ordinal).ToList();
        var markerAt = Ids(byDesc).IndexOf(Ids(expected)[0]);
        Ids(after).ShouldBe(Ids(byDesc).Skip(markerAt + 1).ToList());

        // A marker filtered out of the list is invalid.
        var (bad, _) = await Api.GetAsync($"/v2/lbaas/loadbalancers?name=a&marker={Ids(expected).Last()}");
        bad.ShouldBe(400);
    }

    [Fact]
    public async Task Fields_And_ListItems_MatchShowExactly()
    {
        var id = await Api.CreateLoadBalancerAsync("full", "desc", ["z", "a"]);
        var (ls, listener) = await Api.PostAsync("/v2/lbaas/listeners", new JsonObject
        {
            ["listener"] = new JsonObject { ["loadbalancer_id"] = id, ["protocol"] = "HTTP", ["protocol_port"] = 80, ["tags"] = new JsonArray("t") },
        });
        ls.ShouldBe(201, listener?.ToJsonString());
        await Api.WaitActiveAsync($"/v2/lbaas/loadbalancers/{id}", "loadbalancer");

        var item = (await ListAsync($"?id={id}")).Single();
        var (_, shown) = await Api.GetAsync($"/v2/lbaas/loadbalancers/{id}");
        item.ToJsonString().ShouldBe(shown!["loadbalancer"]!.ToJsonString());
        item["listeners"]!.AsArray().Count.ShouldBe(1);
        item["tags"]!.AsArray().Select(t => (string?)t).ShouldBe(["a", "z"]);

        var (_, listeners) = await Api.GetAsync($"/v2/lbaas/listeners?loadbalancer_id={id}");
        var (_, listenerShown) = await Api.GetAsync($"/v2/lbaas/listeners/{(string)listener!["listener"]!["id"]!}");
        listeners!["listeners"]!.AsArray().Single()!.ToJsonString().ShouldBe(listenerShown!["listener"]!.ToJsonString());

        var cut = (await ListAsync("?fields=id,tags&fields=vip_address")).Single();
        cut.Select(p => p.Key).Order(StringComparer.Ordinal).ShouldBe(["id", "tags", "vip_address"]);
        (await ListAsync("?fields=listeners")).Single()["listeners"]!.AsArray().Count.ShouldBe(1);
    }

    [Fact]
    public async Task TagFilters_AllAnyNotAllNotAny()
    {
        var onlyA = await Api.CreateLoadBalancerAsync("1", "", ["a"]);
        var both = await Api.CreateLoadBalancerAsync("2", "", ["a", "b"]);
        var onlyB = await Api.CreateLoadBalancerAsync("3", "", ["b"]);
        var none = await Api.CreateLoadBalancerAsync("4", "", []);
        (await ListAsync("?tags=a,b")).Select(o => (string)o["id"]!).ShouldBe([both]);
        (await ListAsync("?tags=a&tags=b")).Select(o => (string)o["id"]!).ShouldBe([both]);
        (await ListAsync("?tags=a")).Select(o => (string)o["id"]!).ShouldBe([onlyA, both], ignoreOrder: true);
        (await ListAsync("?tags-any=a,b")).Select(o => (string)o["id"]!).ShouldBe([onlyA, both, onlyB], ignoreOrder: true);
        (await ListAsync("?not-tags=a,b")).Select(o => (string)o["id"]!).ShouldBe([onlyA, onlyB, none], ignoreOrder: true);
        (await ListAsync("?not-tags-any=a,b")).Select(o => (string)o["id"]!).ShouldBe([none]);
        (await ListAsync("?tags=a&not-tags-any=b")).Select(o => (string)o["id"]!).ShouldBe([onlyA]);
        (await ListAsync("?tags=missing")).ShouldBeEmpty();
    }

    [Fact]
    public async Task AttributeFilters_TypedValues()
    {
        var up = await Api.CreateLoadBalancerAsync("same", "x", []);
        var down = await Api.CreateLoadBalancerAsync("same", "y", [], enabled: false);
        (await ListAsync("?admin_state_up=false")).Select(o => (string)o["id"]!).ShouldBe([down]);
        (await ListAsync("?admin_state_up=True")).Select(o => (string)o["id"]!).ShouldBe([up]);
        (await ListAsync("?admin_state_up=maybe")).ShouldBeEmpty();
        (await ListAsync("?name=same&description=y")).Select(o => (string)o["id"]!).ShouldBe([down]);
        (await ListAsync("?provider=noop_driver")).Count.ShouldBe(2);
        (await ListAsync("?flavor_id=None")).Count.ShouldBe(2);
        (await ListAsync("?vip_subnet_id=3a1c2b47-8c3b-4f0b-9a07-0d7e4b2b8f11")).Count.ShouldBe(2);
        (await ListAsync("?provisioning_status=ACTIVE")).Count.ShouldBe(2);
        var downStatus = (string)(await ListAsync($"?id={down}")).Single()["operating_status"]!;
        (await ListAsync($"?operating_status={downStatus}&admin_state_up=false")).Select(o => (string)o["id"]!).ShouldBe([down]);
        (await ListAsync("?sort=admin_state_up:asc")).Select(o => (string)o["id"]!).ShouldBe([down, up]);
        (await ListAsync("?sort=admin_state_up:desc")).Select(o => (string)o["id"]!).ShouldBe([up, down]);
        (await ListAsync("?sort=additional_vips:asc")).Count.ShouldBe(2);
    }

    [Fact]
    public async Task ChildResources_FilterSortAndPageInSql()
    {
        var (status, body) = await Api.PostAsync("/v2/lbaas/loadbalancers", new JsonObject
        {
            ["loadbalancer"] = new JsonObject
            {
                ["name"] = "graph",
                ["vip_subnet_id"] = "3a1c2b47-8c3b-4f0b-9a07-0d7e4b2b8f11",
                ["listeners"] = new JsonArray(new JsonObject
                {
                    ["protocol"] = "HTTP",
                    ["protocol_port"] = 80,
                    ["default_pool"] = new JsonObject
                    {
                        ["protocol"] = "HTTP",
                        ["lb_algorithm"] = "ROUND_ROBIN",
                        ["members"] = new JsonArray(
                            new JsonObject { ["address"] = "192.0.2.1", ["protocol_port"] = 81, ["weight"] = 5 },
                            new JsonObject { ["address"] = "192.0.2.2", ["protocol_port"] = 83 },
                            new JsonObject { ["address"] = "192.0.2.3", ["protocol_port"] = 82, ["backup"] = true }),
                        ["healthmonitor"] = new JsonObject { ["type"] = "HTTP", ["delay"] = 7, ["timeout"] = 3, ["max_retries"] = 2 },
                    },
                }),
            },
        });
        status.ShouldBe(201, body?.ToJsonString());
        var lbId = (string)body!["loadbalancer"]!["id"]!;
        await Api.WaitActiveAsync($"/v2/lbaas/loadbalancers/{lbId}", "loadbalancer");
        var poolId = (string)body["loadbalancer"]!["pools"]![0]!["id"]!;

        var (_, pools) = await Api.GetAsync($"/v2/lbaas/pools?loadbalancer_id={lbId}&lb_algorithm=ROUND_ROBIN");
        pools!["pools"]!.AsArray().Select(p => (string)p!["id"]!).ShouldBe([poolId]);
        pools["pools"]![0]!["listeners"]!.AsArray().Count.ShouldBe(1);
        pools["pools"]![0]!["members"]!.AsArray().Count.ShouldBe(3);
        var (_, noPools) = await Api.GetAsync("/v2/lbaas/pools?loadbalancer_id=00000000-0000-0000-0000-000000000000");
        noPools!["pools"]!.AsArray().ShouldBeEmpty();

        var (_, byPort) = await Api.GetAsync($"/v2/lbaas/pools/{poolId}/members?sort=protocol_port:desc&limit=2");
        byPort!["members"]!.AsArray().Select(m => (int)m!["protocol_port"]!).ShouldBe([83, 82]);
        var next = new Uri((string)byPort["members_links"]!.AsArray().Single(l => (string?)l!["rel"] == "next")!["href"]!).PathAndQuery;
        var (_, rest) = await Api.GetAsync(next);
        rest!["members"]!.AsArray().Select(m => (int)m!["protocol_port"]!).ShouldBe([81]);
        var (_, backup) = await Api.GetAsync($"/v2/lbaas/pools/{poolId}/members?backup=true&fields=address");
        backup!["members"]!.AsArray().Single()!.ToJsonString().ShouldBe("""{"address":"192.0.2.3"}""");
        var (_, weighted) = await Api.GetAsync($"/v2/lbaas/pools/{poolId}/members?weight=5");
        weighted!["members"]!.AsArray().Select(m => (string?)m!["address"]).ShouldBe(["192.0.2.1"]);
        var (_, badPort) = await Api.GetAsync($"/v2/lbaas/pools/{poolId}/members?protocol_port=081");
        badPort!["members"]!.AsArray().ShouldBeEmpty();

        var (_, monitors) = await Api.GetAsync($"/v2/lbaas/healthmonitors?delay=7&pool_id={poolId}");
        monitors!["healthmonitors"]!.AsArray().Count.ShouldBe(1);
        var (_, noMonitors) = await Api.GetAsync("/v2/lbaas/healthmonitors?delay=8");
        noMonitors!["healthmonitors"]!.AsArray().ShouldBeEmpty();

        var (_, listeners) = await Api.GetAsync($"/v2/lbaas/listeners?protocol_port=80&connection_limit=-1&default_pool_id={poolId}");
        listeners!["listeners"]!.AsArray().Count.ShouldBe(1);
        (await Api.GetAsync("/v2/lbaas/listeners?sort=protocol_port:up")).Status.ShouldBe(400);
    }

    [Fact]
    public async Task ProjectScope_MembersSeeTheirOwnProjectOnly()
    {
        var mine = await Api.CreateLoadBalancerAsync("m", "", [], project: "pa");
        var theirs = await Api.CreateLoadBalancerAsync("t", "", [], project: "pb");
        Ids(await ListAsync("", "pa", "load-balancer_member", admin: false)).ShouldBe([mine]);
        Ids(await ListAsync("?project_id=pa", "pa", "load-balancer_member", admin: false)).ShouldBe([mine]);
        (await Api.GetAsync("/v2/lbaas/loadbalancers?project_id=pb", "pa", "load-balancer_member", admin: false)).Status.ShouldBe(403);
        (await Api.GetAsync($"/v2/lbaas/loadbalancers?marker={theirs}", "pa", "load-balancer_member", admin: false)).Status.ShouldBe(400);
        Ids(await ListAsync("?project_id=pb")).ShouldBe([theirs]);
        Ids(await ListAsync("")).ShouldBe([mine, theirs], ignoreOrder: true);
    }
}

/// <summary>The list semantics again on PostgreSQL.</summary>
public sealed class PostgresListQueryTests : ListQueryTests
{
    public override async ValueTask InitializeAsync() => Api = await ServerDatabase.StartAsync("OCTAVIA_TEST_POSTGRES");
}

/// <summary>The list semantics again on MariaDB.</summary>
public sealed class MariaDbListQueryTests : ListQueryTests
{
    public override async ValueTask InitializeAsync() => Api = await ServerDatabase.StartAsync("OCTAVIA_TEST_MYSQL");
}
