// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using System.Text.Json.Nodes;

namespace Octavia.Api.Tests;

/// <summary>16 concurrent clients on one SQLite file: no 5xx, no lost write.</summary>
public sealed class ConcurrencyTests : IAsyncLifetime
{
    private ApiServer _api = null!;

    public async ValueTask InitializeAsync() => _api = await ApiServer.StartAsync();

    public async ValueTask DisposeAsync() => await _api.DisposeAsync();

    [Fact]
    public async Task SixteenClients_CreateUpdateDelete_NoServerErrorNoLostWrite()
    {
        var errors = new ConcurrentBag<string>();
        var shared = await _api.CreateLoadBalancerAsync(name: "shared");

        async Task<(int, JsonNode?)> Send(HttpMethod method, string path, JsonObject? body)
        {
            var r = await _api.SendAsync(method, path, body);
            if (r.Item1 >= 500)
            {
                errors.Add($"{r.Item1} {method} {path} {r.Item2?.ToJsonString()}");
            }
            return r;
        }

        // Mutations of a busy load balancer get 409 until it is ACTIVE again; a client retries them.
        async Task<(int, JsonNode?)> Retry(HttpMethod method, string path, JsonObject? body)
        {
            for (var attempt = 0; ; attempt++)
            {
                var r = await Send(method, path, body);
                if (r.Item1 != 409 || attempt > 2000)
                {
                    return r;
                }
                await Task.Delay(5);
            }
        }

        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(async c =>
        {
            var (s, lb) = await Send(HttpMethod.Post, "/v2/lbaas/loadbalancers", new JsonObject
            {
                ["loadbalancer"] = new JsonObject { ["name"] = $"c{c}", ["vip_subnet_id"] = "3a1c2b47-8c3b-4f0b-9a07-0d7e4b2b8f11" },
            });
            s.ShouldBe(201);
            var id = (string)lb!["loadbalancer"]!["id"]!;
            for (var i = 0; i < 5; i++)
            {
                var (us, _) = await Retry(HttpMethod.Put, $"/v2/lbaas/loadbalancers/{id}", new JsonObject { ["loadbalancer"] = new JsonObject { ["description"] = $"v{i}" } });
                us.ShouldBe(200);
            }
            var (ls, _) = await Retry(HttpMethod.Post, "/v2/lbaas/listeners", new JsonObject
            {
                ["listener"] = new JsonObject { ["loadbalancer_id"] = shared, ["protocol"] = "TCP", ["protocol_port"] = 1000 + c },
            });
            ls.ShouldBe(201);
            await Send(HttpMethod.Get, "/v2/lbaas/loadbalancers", null);
            return id;
        }));

        errors.ShouldBeEmpty(string.Join("\n", errors.Take(5)));
        foreach (var id in results)
        {
            var lb = await _api.WaitActiveAsync($"/v2/lbaas/loadbalancers/{id}", "loadbalancer");
            ((string?)lb!["description"]).ShouldBe("v4");
        }
        await _api.WaitActiveAsync($"/v2/lbaas/loadbalancers/{shared}", "loadbalancer");
        var (_, listeners) = await _api.GetAsync($"/v2/lbaas/listeners?loadbalancer_id={shared}");
        listeners!["listeners"]!.AsArray().Select(l => (int)l!["protocol_port"]!).Order().ShouldBe(Enumerable.Range(1000, 16));

        await Task.WhenAll(results.Select(async id =>
        {
            var (ds, _) = await Retry(HttpMethod.Delete, $"/v2/lbaas/loadbalancers/{id}", null);
            ds.ShouldBe(204);
        }));
        errors.ShouldBeEmpty(string.Join("\n", errors.Take(5)));
        foreach (var id in results)
        {
            await _api.WaitActiveAsync($"/v2/lbaas/loadbalancers/{id}", "loadbalancer", gone: true);
        }
    }
}
