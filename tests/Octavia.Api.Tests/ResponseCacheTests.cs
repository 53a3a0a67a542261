// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Octavia.Api.Persistence;
using Octavia.Core.Configuration;
using Octavia.Data;
using Octavia.Tests.Shared;

namespace Octavia.Api.Tests;

/// <summary>
/// The GET list response cache: a cached body is byte for byte the body a server without the cache builds, for
/// every caller and query; a commit by any other connection (another process) is seen at once.
/// </summary>
public sealed class ResponseCacheTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("oapi-cache-").FullName;
    private ApiServer _cached = null!;
    private ApiServer _fresh = null!;

    private string DbPath => Path.Combine(_dir, "octavia.db");

    public async ValueTask InitializeAsync()
    {
        // Both serve the API under a path prefix too (devstack's endpoint), which the links' paths carry.
        _cached = await ApiServer.StartAsync($"sqlite:///{DbPath}", "path_prefix = /load-balancer");
        // A second API process on the same file, with the cache off: every body it sends is built from the database.
        _fresh = await ApiServer.StartAsync($"sqlite:///{DbPath}", "path_prefix = /load-balancer\nresponse_cache = false");
    }

    public async ValueTask DisposeAsync()
    {
        await _cached.DisposeAsync();
        await _fresh.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private ResponseCache Cache => _cached.Services.GetRequiredService<ResponseCache>();

    // Both servers are asked under one host name, so their links (built from the Host header) are comparable.
    private static async Task<(int Status, string Body)> RawAsync(ApiServer server, string path, string project = "p1", string? roles = null, bool admin = true, string host = "octavia.test")
    {
        using var req = ApiServer.Request(HttpMethod.Get, path, null, project, roles, admin);
        req.Headers.Host = host;
        using var resp = await server.Client.SendAsync(req);
        return ((int)resp.StatusCode, await resp.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task CachedBodies_AreTheFreshBodies_ForEveryCallerAndQuery()
    {
        Cache.Enabled.ShouldBeTrue();
        _fresh.Services.GetRequiredService<ResponseCache>().Enabled.ShouldBeFalse();
        var ids = new List<string>
        {
            await _cached.CreateLoadBalancerAsync("a", "d1", ["x", "y"], "p1"),
            await _cached.CreateLoadBalancerAsync("b", "d2", ["x"], "p1", enabled: false),
            await _cached.CreateLoadBalancerAsync("a", "d3", [], "p2"),
            await _cached.CreateLoadBalancerAsync("c", "", ["y"], "p2"),
            await _cached.CreateLoadBalancerAsync("b", "d1", ["z"], "p1"),
        };
        var (ls, listener) = await _cached.PostAsync("/v2/lbaas/listeners", new JsonObject
        {
            ["listener"] = new JsonObject { ["loadbalancer_id"] = ids[0], ["protocol"] = "HTTP", ["protocol_port"] = 80 },
        });
        ls.ShouldBe(201, listener?.ToJsonString());
        await _cached.WaitActiveAsync($"/v2/lbaas/loadbalancers/{ids[0]}", "loadbalancer");

        string[] queries =
        [
            "", "?fields=id", "?fields=name&fields=tags", "?fields=id,listeners", "?name=a", "?name=b", "?tags=x", "?tags-any=x,z",
            "?not-tags=x", "?not-tags-any=y", "?sort=name:desc", "?sort=name:asc,description:desc", "?limit=2", "?limit=2&sort=name",
            $"?limit=2&marker={ids[0]}", $"?limit=2&marker={ids[4]}&page_reverse=True", $"?marker={ids[1]}", "?project_id=p2",
            "?project_id=p1&fields=name", "?admin_state_up=false", $"?listeners={(string)listener!["listener"]!["id"]!}",
            "?sort=additional_vips", "?limit=1&fields=id",
        ];
        (string Project, string? Roles, bool Admin)[] callers =
        [
            ("p1", null, true), ("p1", "load-balancer_member", false), ("p2", "load-balancer_member", false),
            ("p3", "load-balancer_global_observer", false), ("p2", null, true),
        ];
        // The first pass fills the cache; the second is answered from it. A key that two different requests shared
        // would show here as the first one's body given to the second.
        var cacheable = 0;
        var hitsBefore = Cache.Hits;
        for (var pass = 0; pass < 2; pass++)
        {
            foreach (var q in queries)
            {
                foreach (var (project, roles, admin) in callers)
                {
                    foreach (var (host, prefix) in new[] { ("octavia.test", ""), ("other.test:8080", ""), ("octavia.test", "/load-balancer") })
                    {
                        var path = prefix + "/v2/lbaas/loadbalancers" + q;
                        var cached = await RawAsync(_cached, path, project, roles, admin, host);
                        var fresh = await RawAsync(_fresh, path, project, roles, admin, host);
                        cached.ShouldBe(fresh, $"pass {pass} {path} as {project} {roles ?? "admin"} at {host}");
                        if (pass == 1 && cached.Status == 200 && q != "?sort=additional_vips")
                        {
                            cacheable++;
                        }
                    }
                }
            }
        }
        cacheable.ShouldBeGreaterThan(250);
        // Every cacheable request of the second pass was a hit (callers with the same scope also share bodies in the first).
        (Cache.Hits - hitsBefore).ShouldBeGreaterThanOrEqualTo(cacheable);
        (await RawAsync(_cached, "/load-balancer/v2/lbaas/loadbalancers?limit=1")).Body.ShouldContain("http://octavia.test/load-balancer/v2/lbaas/loadbalancers?limit=1");

        // Members see their own project only, each from its own body.
        var p1 = JsonNode.Parse((await RawAsync(_cached, "/v2/lbaas/loadbalancers", "p1", "load-balancer_member", false)).Body)!["loadbalancers"]!.AsArray();
        var p2 = JsonNode.Parse((await RawAsync(_cached, "/v2/lbaas/loadbalancers", "p2", "load-balancer_member", false)).Body)!["loadbalancers"]!.AsArray();
        p1.Select(l => (string)l!["project_id"]!).Distinct().ShouldBe(["p1"]);
        p2.Select(l => (string)l!["project_id"]!).Distinct().ShouldBe(["p2"]);
        (await RawAsync(_cached, "/v2/lbaas/loadbalancers?project_id=p2", "p1", "load-balancer_member", false)).Status.ShouldBe(403);
    }

    [Fact]
    public async Task CommitsOfOtherConnectionsAndProcesses_AreSeenAtOnce()
    {
        var id = await _cached.CreateLoadBalancerAsync("before", "", ["t1"], "p1");
        var first = await RawAsync(_cached, "/v2/lbaas/loadbalancers");
        var hits = Cache.Hits;
        (await RawAsync(_cached, "/v2/lbaas/loadbalancers")).ShouldBe(first);
        Cache.Hits.ShouldBe(hits + 1);

        // Another connection (as another process would) renames the load balancer and adds a tag.
        await using (var other = new SqliteConnection($"Data Source={DbPath};Pooling=False"))
        {
            await other.OpenAsync(TestContext.Current.CancellationToken);
            await using var cmd = other.CreateCommand();
            cmd.CommandText = "UPDATE load_balancer SET name = 'after' WHERE id = $id; INSERT INTO tags (resource_id, tag) VALUES ($id, 't2');";
            cmd.Parameters.AddWithValue("$id", id);
            (await cmd.ExecuteNonQueryAsync(TestContext.Current.CancellationToken)).ShouldBe(2);
        }
        var after = await RawAsync(_cached, "/v2/lbaas/loadbalancers");
        after.ShouldBe(await RawAsync(_fresh, "/v2/lbaas/loadbalancers"));
        var lb = JsonNode.Parse(after.Body)!["loadbalancers"]!.AsArray().Single()!;
        ((string)lb["name"]!).ShouldBe("after");
        lb["tags"]!.AsArray().Select(t => (string?)t).ShouldBe(["t1", "t2"]);

        // A commit by a separate process: the sqlite3 shell.
        Assert.SkipUnless(TestEnvironment.HasProgram("sqlite3"), "sqlite3 is not installed");
        (await RawAsync(_cached, "/v2/lbaas/loadbalancers")).ShouldBe(after);
        var psi = new ProcessStartInfo("sqlite3") { RedirectStandardError = true };
        psi.ArgumentList.Add("-cmd");
        psi.ArgumentList.Add(".timeout 10000");
        psi.ArgumentList.Add(DbPath);
        psi.ArgumentList.Add($"UPDATE load_balancer SET description = 'from sqlite3' WHERE id = '{id}';");
        using (var p = Process.Start(psi)!)
        {
            await p.WaitForExitAsync(TestContext.Current.CancellationToken);
            p.ExitCode.ShouldBe(0, await p.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken));
        }
        var third = await RawAsync(_cached, "/v2/lbaas/loadbalancers?fields=description");
        third.Body.ShouldContain("from sqlite3");
        third.ShouldBe(await RawAsync(_fresh, "/v2/lbaas/loadbalancers?fields=description"));
    }

    [Fact]
    public async Task Writes_ThroughTheApi_AreSeenByTheNextList()
    {
        var id = await _cached.CreateLoadBalancerAsync("one", "", [], "p1");
        (await RawAsync(_cached, "/v2/lbaas/loadbalancers")).Body.ShouldContain("\"one\"");
        (await RawAsync(_cached, "/v2/lbaas/loadbalancers")).Body.ShouldContain("\"one\"");
        var (status, _) = await _cached.PutAsync($"/v2/lbaas/loadbalancers/{id}", new JsonObject { ["loadbalancer"] = new JsonObject { ["name"] = "two" } });
        status.ShouldBe(200);
        var (_, list) = await _cached.GetAsync("/v2/lbaas/loadbalancers");
        ((string)list!["loadbalancers"]![0]!["name"]!).ShouldBe("two");
        // The write through the other API process is seen too.
        await _cached.WaitActiveAsync($"/v2/lbaas/loadbalancers/{id}", "loadbalancer");
        (await _fresh.PutAsync($"/v2/lbaas/loadbalancers/{id}", new JsonObject { ["loadbalancer"] = new JsonObject { ["name"] = "three" } })).Status.ShouldBe(200);
        (await RawAsync(_cached, "/v2/lbaas/loadbalancers")).Body.ShouldContain("\"three\"");
    }
}

/// <summary>The cache's own rules: where it is on, its size bound and its versions.</summary>
public sealed class ResponseCacheUnitTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("oapi-cache-unit-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private static ResponseCache Create(OctaviaDatabase db, bool on = true, int sizeMb = 1) =>
        new(db, new ApiSettingsOptions { ResponseCache = on, ResponseCacheSize = sizeMb }, NullLogger<ResponseCache>.Instance);

    [Fact]
    public void OffWithoutASoundVersion_OrWhenTurnedOff()
    {
        using var memory = new OctaviaDatabase(DatabaseUrl.Parse("sqlite://"));
        using (var c = Create(memory))
        {
            c.Enabled.ShouldBeFalse();
            c.Version().ShouldBeNull();
        }
        using var pg = new OctaviaDatabase(DatabaseUrl.Parse("postgresql+psycopg2://u:p@127.0.0.1/octavia"));
        using (var c = Create(pg))
        {
            c.Enabled.ShouldBeFalse();
        }
        using var file = new OctaviaDatabase(DatabaseUrl.Parse($"sqlite:///{_dir}/x.db"));
        using (var c = Create(file, on: false))
        {
            c.Enabled.ShouldBeFalse();
        }
        using (var c = Create(file, sizeMb: 0))
        {
            c.Enabled.ShouldBeFalse();
        }
        using (var c = Create(file))
        {
            c.Enabled.ShouldBeTrue();
        }
    }

    [Fact]
    public async Task Bounded_LeastRecentlyUsedFirst_NewestVersionOnly()
    {
        using var db = new OctaviaDatabase(DatabaseUrl.Parse($"sqlite:///{_dir}/x.db"));
        await ApiServer.CreateSchemaAsync(db);
        using var cache = Create(db, sizeMb: 1);
        var v = cache.Version();
        v.ShouldNotBeNull();
        cache.Version().ShouldBe(v);
        for (var i = 0; i < 10; i++)
        {
            cache.Add(v, $"k{i}", new byte[200_000]);
            if (i == 2)
            {
                cache.TryGet(v, "k0", out _).ShouldBeTrue();
            }
        }
        cache.Bytes.ShouldBeLessThanOrEqualTo(1024 * 1024);
        cache.Count.ShouldBe(5);
        cache.TryGet(v, "k0", out _).ShouldBeFalse();
        cache.TryGet(v, "k9", out var body).ShouldBeTrue();
        body.Length.ShouldBe(200_000);
        // A body larger than a quarter of the cache is not kept.
        cache.Add(v, "big", new byte[300_000]);
        cache.TryGet(v, "big", out _).ShouldBeFalse();

        // A commit elsewhere moves the version: old bodies are not served for it, and a body built for the old
        // version is not stored once the new one is known.
        await using (var other = new SqliteConnection($"Data Source={_dir}/x.db;Pooling=False"))
        {
            await other.OpenAsync(TestContext.Current.CancellationToken);
            await using var cmd = other.CreateCommand();
            cmd.CommandText = "INSERT INTO tags (resource_id, tag) VALUES ('r', 't')";
            await cmd.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
        }
        var v2 = cache.Version();
        v2.ShouldNotBe(v);
        cache.TryGet(v2, "k9", out _).ShouldBeFalse();
        cache.Add(v2, "k9", [1]);
        cache.Add(v, "k8", [2]);
        cache.TryGet(v, "k8", out _).ShouldBeFalse();
        cache.TryGet(v2, "k9", out var fresh).ShouldBeTrue();
        fresh.ShouldBe([(byte)1]);
        cache.Count.ShouldBe(1);
    }
}
