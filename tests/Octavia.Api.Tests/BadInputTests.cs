// Licensed under the Apache License, Version 2.0.

using System.Text.Json.Nodes;

namespace Octavia.Api.Tests;

/// <summary>Bad input always gets a 4xx fault naming the problem and leaves the database unchanged.</summary>
public sealed class BadInputTests : IAsyncLifetime
{
    private ApiServer _api = null!;
    private string _lb = "";
    private string _listener = "";
    private string _pool = "";

    public async ValueTask InitializeAsync()
    {
        _api = await ApiServer.StartAsync();
        _lb = await _api.CreateLoadBalancerAsync();
        var (_, l) = await _api.PostAsync("/v2/lbaas/listeners", new JsonObject { ["listener"] = new JsonObject { ["loadbalancer_id"] = _lb, ["protocol"] = "HTTP", ["protocol_port"] = 80 } });
        _listener = (string)l!["listener"]!["id"]!;
        await _api.WaitActiveAsync($"/v2/lbaas/loadbalancers/{_lb}", "loadbalancer");
        var (_, p) = await _api.PostAsync("/v2/lbaas/pools", new JsonObject { ["pool"] = new JsonObject { ["listener_id"] = _listener, ["protocol"] = "HTTP", ["lb_algorithm"] = "ROUND_ROBIN" } });
        _pool = (string)p!["pool"]!["id"]!;
        await _api.WaitActiveAsync($"/v2/lbaas/loadbalancers/{_lb}", "loadbalancer");
    }

    public async ValueTask DisposeAsync() => await _api.DisposeAsync();

    [Theory]
    [InlineData("/v2/lbaas/loadbalancers", "{", "Malformed JSON")]
    [InlineData("/v2/lbaas/loadbalancers", "[]", "JSON object")]
    [InlineData("/v2/lbaas/loadbalancers", "{\"lb\": {}}", "lb")]
    [InlineData("/v2/lbaas/loadbalancers", "{\"loadbalancer\": {\"vip_subnet_id\": \"3a1c2b47-8c3b-4f0b-9a07-0d7e4b2b8f11\", \"colour\": \"red\"}}", "colour")]
    [InlineData("/v2/lbaas/loadbalancers", "{\"loadbalancer\": {\"vip_subnet_id\": \"not-a-uuid\"}}", "vip_subnet_id")]
    [InlineData("/v2/lbaas/loadbalancers", "{\"loadbalancer\": {\"name\": \"x\"}}", "vip_port_id")]
    [InlineData("/v2/lbaas/loadbalancers", "{\"loadbalancer\": {\"vip_subnet_id\": \"3a1c2b47-8c3b-4f0b-9a07-0d7e4b2b8f11\", \"vip_address\": \"300.1.1.1\"}}", "vip_address")]
    [InlineData("/v2/lbaas/loadbalancers", "{\"loadbalancer\": {\"vip_subnet_id\": \"3a1c2b47-8c3b-4f0b-9a07-0d7e4b2b8f11\", \"admin_state_up\": \"maybe\"}}", "admin_state_up")]
    [InlineData("/v2/lbaas/loadbalancers", "{\"loadbalancer\": {\"vip_subnet_id\": \"3a1c2b47-8c3b-4f0b-9a07-0d7e4b2b8f11\", \"provider\": \"nope\"}}", "nope")]
    [InlineData("/v2/lbaas/listeners", "{\"listener\": {\"protocol\": \"HTTP\", \"protocol_port\": 70000, \"loadbalancer_id\": \"LB\"}}", "protocol_port")]
    [InlineData("/v2/lbaas/listeners", "{\"listener\": {\"protocol\": \"GOPHER\", \"protocol_port\": 70, \"loadbalancer_id\": \"LB\"}}", "protocol")]
    [InlineData("/v2/lbaas/listeners", "{\"listener\": {\"protocol\": \"HTTP\", \"protocol_port\": \"eighty\", \"loadbalancer_id\": \"LB\"}}", "protocol_port")]
    [InlineData("/v2/lbaas/listeners", "{\"listener\": {\"protocol\": \"TCP\", \"protocol_port\": 81, \"loadbalancer_id\": \"LB\", \"insert_headers\": {\"X-Forwarded-For\": \"true\"}}}", "insert_headers")]
    [InlineData("/v2/lbaas/listeners", "{\"listener\": {\"protocol\": \"TERMINATED_HTTPS\", \"protocol_port\": 443, \"loadbalancer_id\": \"LB\"}}", "certificate")]
    [InlineData("/v2/lbaas/listeners", "{\"listener\": {\"protocol\": \"HTTP\", \"protocol_port\": 82, \"loadbalancer_id\": \"LB\", \"timeout_client_data\": -5}}", "timeout_client_data")]
    [InlineData("/v2/lbaas/listeners", "{\"listener\": {\"protocol\": \"HTTP\", \"protocol_port\": 83, \"loadbalancer_id\": \"LB\", \"hsts_max_age\": 100}}", "TERMINATED_HTTPS")]
    [InlineData("/v2/lbaas/listeners", "{\"listener\": {\"protocol\": \"TERMINATED_HTTPS\", \"protocol_port\": 443, \"loadbalancer_id\": \"LB\", \"default_tls_container_ref\": \"c\", \"hsts_preload\": true}}", "hsts_max_age")]
    [InlineData("/v2/lbaas/listeners", "{\"listener\": {\"protocol\": \"TERMINATED_HTTPS\", \"protocol_port\": 443, \"loadbalancer_id\": \"LB\", \"default_tls_container_ref\": \"c\", \"hsts_max_age\": -1}}", "hsts_max_age")]
    [InlineData("/v2/lbaas/listeners", "{\"listener\": {\"protocol\": \"HTTP\", \"protocol_port\": 84, \"loadbalancer_id\": \"LB\", \"allowed_cidrs\": [\"2001:db8::/32\"]}}", "IP version")]
    [InlineData("/v2/lbaas/loadbalancers", "{\"loadbalancer\": {\"vip_subnet_id\": \"3a1c2b47-8c3b-4f0b-9a07-0d7e4b2b8f11\", \"listeners\": [{\"protocol\": \"TCP\", \"protocol_port\": 22, \"allowed_cidrs\": [\"2001:db8::/32\"]}]}}", "IP version")]
    [InlineData("/v2/lbaas/loadbalancers", "{\"loadbalancer\": {\"vip_subnet_id\": \"3a1c2b47-8c3b-4f0b-9a07-0d7e4b2b8f11\", \"additional_vips\": [{\"subnet_id\": \"4b1c2b47-8c3b-4f0b-9a07-0d7e4b2b8f11\"}]}}", "same network")]
    [InlineData("/v2/lbaas/pools", "{\"pool\": {\"protocol\": \"HTTP\", \"lb_algorithm\": \"ROUND_ROBIN\"}}", "listener or load balancer")]
    [InlineData("/v2/lbaas/pools", "{\"pool\": {\"protocol\": \"HTTP\", \"lb_algorithm\": \"RANDOM\", \"loadbalancer_id\": \"LB\"}}", "lb_algorithm")]
    [InlineData("/v2/lbaas/pools", "{\"pool\": {\"protocol\": \"HTTP\", \"lb_algorithm\": \"ROUND_ROBIN\", \"loadbalancer_id\": \"LB\", \"session_persistence\": {\"type\": \"APP_COOKIE\"}}}", "cookie_name")]
    [InlineData("/v2/lbaas/pools/POOL/members", "{\"member\": {\"address\": \"192.0.2.1\", \"protocol_port\": 80, \"weight\": 257}}", "weight")]
    [InlineData("/v2/lbaas/pools/POOL/members", "{\"member\": {\"address\": \"169.254.169.254\", \"protocol_port\": 80}}", "reserved")]
    [InlineData("/v2/lbaas/pools/POOL/members", "{\"member\": {\"address\": \"192.0.2.1\", \"protocol_port\": 0}}", "protocol_port")]
    [InlineData("/v2/lbaas/healthmonitors", "{\"healthmonitor\": {\"pool_id\": \"POOL\", \"type\": \"HTTP\", \"delay\": 1, \"timeout\": 1, \"max_retries\": 11}}", "max_retries")]
    [InlineData("/v2/lbaas/healthmonitors", "{\"healthmonitor\": {\"pool_id\": \"POOL\", \"type\": \"TCP\", \"delay\": 1, \"timeout\": 1, \"max_retries\": 1, \"url_path\": \"/x\"}}", "url_path")]
    [InlineData("/v2/lbaas/healthmonitors", "{\"healthmonitor\": {\"pool_id\": \"POOL\", \"type\": \"HTTP\", \"delay\": 1, \"timeout\": 1, \"max_retries\": 1, \"expected_codes\": \"2xx\"}}", "expected_codes")]
    [InlineData("/v2/lbaas/healthmonitors", "{\"healthmonitor\": {\"pool_id\": \"POOL\", \"type\": \"HTTP\", \"delay\": 1, \"timeout\": 1, \"max_retries\": 1, \"domain_name\": \"a.example\"}}", "http_version")]
    [InlineData("/v2/lbaas/l7policies", "{\"l7policy\": {\"listener_id\": \"LISTENER\", \"action\": \"REDIRECT_TO_URL\"}}", "L7 Policy")]
    [InlineData("/v2/lbaas/l7policies", "{\"l7policy\": {\"listener_id\": \"LISTENER\", \"action\": \"REDIRECT_TO_URL\", \"redirect_url\": \"ftp://x\"}}", "redirect_url")]
    [InlineData("/v2/lbaas/quotas/p9", "{\"quota\": {\"pool\": -2}}", "pool")]
    public async Task BadBody_Returns400FaultNamingTheProblem(string path, string body, string mention)
    {
        path = path.Replace("POOL", _pool, StringComparison.Ordinal);
        body = body.Replace("\"LB\"", $"\"{_lb}\"", StringComparison.Ordinal).Replace("POOL", _pool, StringComparison.Ordinal).Replace("LISTENER", _listener, StringComparison.Ordinal);
        var before = await SnapshotAsync();
        var method = path.StartsWith("/v2/lbaas/quotas", StringComparison.Ordinal) ? HttpMethod.Put : HttpMethod.Post;
        var (status, fault) = await _api.SendAsync(method, path, body);
        status.ShouldBe(400, fault?.ToJsonString());
        ((string?)fault!["faultcode"]).ShouldBe("Client");
        ((string)fault["faultstring"]!).ShouldContain(mention, Case.Insensitive);
        (await SnapshotAsync()).ShouldBe(before);
    }

    [Theory]
    [InlineData("/v2/lbaas/loadbalancers/not-a-uuid")]
    [InlineData("/v2/lbaas/listeners/00000000-0000-0000-0000-000000000000")]
    [InlineData("/v2/lbaas/pools/xyz/members")]
    [InlineData("/v2/lbaas/l7policies/1/rules/2")]
    public async Task UnknownIds_Return404Fault(string path)
    {
        var (status, fault) = await _api.GetAsync(path);
        status.ShouldBe(404);
        ((string)fault!["faultstring"]!).ShouldContain("not found");
    }

    [Fact]
    public async Task RandomizedBodies_NeverServerError_DatabaseUnchanged()
    {
        var before = await SnapshotAsync();
        var rng = new Random(20261125);
        string[] targets = ["/v2/lbaas/loadbalancers", "/v2/lbaas/listeners", "/v2/lbaas/pools", $"/v2/lbaas/pools/{_pool}/members", "/v2/lbaas/healthmonitors", "/v2/lbaas/l7policies"];
        string[] roots = ["loadbalancer", "listener", "pool", "member", "healthmonitor", "l7policy"];
        string[] keys = ["name", "protocol", "protocol_port", "loadbalancer_id", "listener_id", "pool_id", "lb_algorithm", "address", "weight", "type", "delay", "timeout", "max_retries", "action", "vip_subnet_id", "admin_state_up", "tags", "session_persistence", "insert_headers", "bogus", "connection_limit", "redirect_url", "position"];
        JsonNode? Value(int depth)
        {
            return rng.Next(12) switch
            {
                0 => null,
                1 => JsonValue.Create(rng.Next(-100000, 100000)),
                2 => JsonValue.Create(rng.NextDouble() * 1e12),
                3 => JsonValue.Create(rng.Next(2) == 0),
                4 => JsonValue.Create(new string((char)rng.Next(32, 0x2FF), rng.Next(0, 300))),
                5 => JsonValue.Create("3a1c2b47-8c3b-4f0b-9a07-0d7e4b2b8f11"),
                6 => JsonValue.Create(_lb),
                7 => JsonValue.Create(new[] { "HTTP", "TCP", "UDP", "PING", "ROUND_ROBIN", "REJECT", "SOURCE_IP" }[rng.Next(7)]),
                8 when depth < 3 => new JsonArray(Enumerable.Range(0, rng.Next(4)).Select(_ => Value(depth + 1)).ToArray()),
                9 when depth < 3 => Obj(depth + 1),
                10 => JsonValue.Create("192.0.2." + rng.Next(300)),
                _ => JsonValue.Create(rng.Next(0, 70000)),
            };
        }
        JsonObject Obj(int depth)
        {
            var o = new JsonObject();
            for (var i = rng.Next(6); i > 0; i--)
            {
                o[keys[rng.Next(keys.Length)]] = Value(depth);
            }
            return o;
        }
        var serverErrors = new List<string>();
        var accepted = 0;
        var tasks = Enumerable.Range(0, 8).Select(async worker =>
        {
            for (var i = 0; i < 1250; i++)
            {
                int t;
                string body;
                lock (rng)
                {
                    t = rng.Next(targets.Length);
                    var inner = Obj(0);
                    // Always drop the one key set that could make a body valid, so nothing may be created.
                    inner.Remove(t switch { 0 => "vip_subnet_id", 1 => "protocol", 2 => "lb_algorithm", 3 => "address", 4 => "type", _ => "action" });
                    body = rng.Next(20) == 0 ? "{\"" + roots[t] + "\": " + new string('[', rng.Next(1, 40)) : new JsonObject { [roots[t]] = inner }.ToJsonString();
                }
                var (status, fault) = await _api.SendAsync(HttpMethod.Post, targets[t], body);
                if (status >= 500 || fault?["faultstring"] is null)
                {
                    lock (serverErrors)
                    {
                        serverErrors.Add($"{status} {targets[t]} {body} -> {fault?.ToJsonString()}");
                    }
                }
                if (status < 400)
                {
                    Interlocked.Increment(ref accepted);
                }
            }
        });
        await Task.WhenAll(tasks);
        serverErrors.ShouldBeEmpty(string.Join("\n", serverErrors.Take(5)));
        accepted.ShouldBe(0);
        (await SnapshotAsync()).ShouldBe(before);
    }

    private async Task<string> SnapshotAsync()
    {
        var parts = new List<string>();
        foreach (var path in new[] { "/v2/lbaas/loadbalancers", "/v2/lbaas/listeners", "/v2/lbaas/pools", $"/v2/lbaas/pools/{_pool}/members", "/v2/lbaas/healthmonitors", "/v2/lbaas/l7policies", "/v2/lbaas/quotas" })
        {
            var (_, body) = await _api.GetAsync(path + "?fields=id");
            parts.Add(body!.ToJsonString());
        }
        return string.Join("|", parts);
    }
}
