// Licensed under the Apache License, Version 2.0.

using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Octavia.Api.Paging;
using Octavia.Api.Persistence;
using Octavia.Api.Resources;
using Octavia.Core.Model;

namespace Octavia.Api.Tests;

/// <summary>
/// The load balancer list's ADO.NET row reader gives the same list body, byte for byte, as the EF Core entities
/// (with their VIP included and children attached) it replaced, on every engine.
/// </summary>
public class LoadBalancerRowsTests : IAsyncLifetime
{
    protected ApiServer Api { get; set; } = null!;

    public virtual async ValueTask InitializeAsync() => Api = await ApiServer.StartAsync();

    public virtual async ValueTask DisposeAsync()
    {
        await Api.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    private async Task<string> CreateAsync(JsonObject lb, string project)
    {
        lb["vip_subnet_id"] = "3a1c2b47-8c3b-4f0b-9a07-0d7e4b2b8f11";
        var (status, body) = await Api.PostAsync("/v2/lbaas/loadbalancers", new JsonObject { ["loadbalancer"] = lb }, project);
        status.ShouldBe(201, body?.ToJsonString());
        var id = (string)body!["loadbalancer"]!["id"]!;
        await Api.WaitActiveAsync($"/v2/lbaas/loadbalancers/{id}", "loadbalancer");
        return id;
    }

    private static string Render(List<LoadBalancer> items, HashSet<string>? fields) =>
        System.Text.Encoding.UTF8.GetString(SqlList.Render(new Page<LoadBalancer>(items, []), "loadbalancers", "loadbalancers_links", fields, ViewWriters.LoadBalancer));

    [Fact]
    public async Task RowsRead_ByOrdinal_WriteTheSameBodyAsEfEntities()
    {
        var ids = new List<string>
        {
            await CreateAsync(new JsonObject
            {
                ["name"] = "full", ["description"] = "d", ["tags"] = new JsonArray("b", "a", "c"),
                ["vip_qos_policy_id"] = "8d6a7d2c-1f44-4c4e-9a0b-3b5d2f6c7e81",
                ["listeners"] = new JsonArray(
                    new JsonObject { ["protocol"] = "HTTP", ["protocol_port"] = 80, ["default_pool"] = new JsonObject { ["protocol"] = "HTTP", ["lb_algorithm"] = "ROUND_ROBIN" } },
                    new JsonObject { ["protocol"] = "TCP", ["protocol_port"] = 81 },
                    new JsonObject { ["protocol"] = "HTTP", ["protocol_port"] = 82 }),
                ["pools"] = new JsonArray(new JsonObject { ["protocol"] = "TCP", ["lb_algorithm"] = "ROUND_ROBIN", ["name"] = "extra" }),
            }, "p1"),
            await CreateAsync(new JsonObject { ["name"] = "bare", ["admin_state_up"] = false }, "p2"),
            await CreateAsync(new JsonObject { ["tags"] = new JsonArray("x") }, "p1"),
            await CreateAsync(new JsonObject { ["name"] = "two pools", ["pools"] = new JsonArray(
                new JsonObject { ["protocol"] = "HTTP", ["lb_algorithm"] = "ROUND_ROBIN" }, new JsonObject { ["protocol"] = "TCP", ["lb_algorithm"] = "LEAST_CONNECTIONS" }) }, "p3"),
        };
        var store = Api.Services.GetRequiredService<Store>();
        var ct = TestContext.Current.CancellationToken;
        // The noop network puts every subnet on its own network, so additional VIPs are written directly.
        await store.WriteAsync(null, db =>
        {
            db.AdditionalVips.Add(new AdditionalVip { LoadBalancerId = ids[0], SubnetId = "6c1f8d2b-3a4e-4f60-9bac-1d2e3f4a5b6c", IpAddress = "10.9.8.7", NetworkId = "n" });
            db.AdditionalVips.Add(new AdditionalVip { LoadBalancerId = ids[0], SubnetId = "5b0e7c1a-2f3d-4e5f-8a9b-0c1d2e3f4a5b", NetworkId = "n" });
            db.AdditionalVips.Add(new AdditionalVip { LoadBalancerId = ids[3], SubnetId = "7d2a9e3c-4b5f-4a71-8cbd-2e3f4a5b6c7d", IpAddress = "10.9.8.9", NetworkId = "n" });
            return Task.CompletedTask;
        }, ct);
        List<List<string>> orders = [ids, [.. ((IEnumerable<string>)ids).Reverse()], [ids[2], ids[0]], [ids[1], Guid.NewGuid().ToString(), ids[3]], [ids[3], "it's not an id", ids[0]], []];
        // An id that is not a plain UUID makes the reader bind parameters instead of writing literals.
        foreach (var order in orders)
        {
            await using var db = store.Read();
            var entities = await db.LoadBalancers.AsNoTracking().Include(l => l.Vip).Where(l => order.Contains(l.Id)).ToListAsync(ct);
            await LoadBalancers.AttachChildrenAsync(db, entities, ct);
            var expected = order.Select(id => entities.FirstOrDefault(e => e.Id == id)).OfType<LoadBalancer>().ToList();
            var rows = await LoadBalancerRows.LoadAsync(db, order, ct);
            rows.Select(r => r.Id).ShouldBe(expected.Select(e => e.Id));
            Render(rows, null).ShouldBe(Render(expected, null));
            Render(rows, ["id", "tags", "listeners"]).ShouldBe(Render(expected, ["id", "tags", "listeners"]));
        }
        // The data set exercises every child kind.
        await using (var db = store.Read())
        {
            var full = (await LoadBalancerRows.LoadAsync(db, [ids[0]], ct)).Single();
            full.Listeners.Count.ShouldBe(3);
            full.Pools.Count.ShouldBe(2);
            full.Tags.Count.ShouldBe(3);
            full.AdditionalVips.Count.ShouldBe(2);
            full.Vip!.QosPolicyId.ShouldNotBeNull();
        }
        // And the list endpoint, which now reads through it, agrees with show (which still reads EF entities).
        foreach (var id in ids)
        {
            var (_, list) = await Api.GetAsync($"/v2/lbaas/loadbalancers?id={id}");
            var (_, shown) = await Api.GetAsync($"/v2/lbaas/loadbalancers/{id}");
            list!["loadbalancers"]!.AsArray().Single()!.ToJsonString().ShouldBe(shown!["loadbalancer"]!.ToJsonString());
        }
    }
}

/// <summary>The row reader again on PostgreSQL.</summary>
public sealed class PostgresLoadBalancerRowsTests : LoadBalancerRowsTests
{
    public override async ValueTask InitializeAsync() => Api = await ServerDatabase.StartAsync("OCTAVIA_TEST_POSTGRES");
}

/// <summary>The row reader again on MariaDB.</summary>
public sealed class MariaDbLoadBalancerRowsTests : LoadBalancerRowsTests
{
    public override async ValueTask InitializeAsync() => Api = await ServerDatabase.StartAsync("OCTAVIA_TEST_MYSQL");
}
