// Licensed under the Apache License, Version 2.0.

using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Octavia.Api.Hosting;
using Octavia.Core.Configuration;
using Octavia.Core.Drivers;
using Octavia.Data;
using Octavia.Drivers.Network.Noop;
using Octavia.Tests.Shared;

namespace Octavia.Api.Tests;

/// <summary>
/// A real API on a real Kestrel port over a real database (a SQLite file by default; PostgreSQL or
/// MariaDB when a test asks for them), with auth_strategy = testing and the noop provider.
/// </summary>
public sealed class ApiServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _dir;
    private readonly Func<Task>? _drop;

    private ApiServer(WebApplication app, string dir, string baseUrl, Func<Task>? drop)
    {
        _app = app;
        _dir = dir;
        _drop = drop;
        BaseUrl = baseUrl;
        Client = new HttpClient { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromSeconds(30) };
    }

    public string BaseUrl { get; }

    public HttpClient Client { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>Starts a server; <paramref name="extra"/> adds octavia.conf lines.</summary>
    public static async Task<ApiServer> StartAsync(string? connection = null, string extra = "", Action<IServiceCollection>? services = null, Func<Task>? drop = null)
    {
        var dir = Directory.CreateTempSubdirectory("oapi-").FullName;
        connection ??= $"sqlite:///{dir}/octavia.db";
        var port = TestEnvironment.FreeTcpPort();
        var config = OctaviaConfig.FromText($"""
            [api_settings]
            bind_host = 127.0.0.1
            bind_port = {port}
            auth_strategy = testing
            enabled_provider_drivers = noop_driver:The noop driver.,amphora:The Octavia Amphora driver.,octavia:Deprecated alias of the Octavia Amphora driver.
            default_provider_driver = noop_driver
            {extra}
            [database]
            connection = {connection}
            [controller_worker]
            network_driver = network_noop_driver
            """);
        var app = ApiHost.Build(config, s =>
        {
            s.AddSingleton<INetworkDriver, NoopNetworkDriver>();
            services?.Invoke(s);
        });
        await CreateSchemaAsync(app.Services.GetRequiredService<OctaviaDatabase>());
        ApiHost.PrepareDatabase(app);
        await app.StartAsync();
        return new ApiServer(app, dir, $"http://127.0.0.1:{port}", drop);
    }

    /// <summary>The one place tests create the schema: the same migrations <c>db-manage upgrade head</c> applies.</summary>
    public static Task CreateSchemaAsync(OctaviaDatabase database) => DatabaseSchema.UpgradeAsync(database);

    public static HttpRequestMessage Request(HttpMethod method, string path, object? body = null, string? project = "p1", string? roles = null, bool admin = true)
    {
        var req = new HttpRequestMessage(method, path);
        if (project is not null)
        {
            req.Headers.Add("X-Project-Id", project);
        }
        // auth_strategy = testing applies the policy to the roles sent; "admin" makes the caller Octavia admin.
        var allRoles = admin ? (roles is null ? "admin" : roles + ",admin") : roles;
        if (allRoles is not null)
        {
            req.Headers.Add("X-Roles", allRoles);
        }
        if (body is not null)
        {
            var text = body as string ?? (body as JsonNode)?.ToJsonString() ?? System.Text.Json.JsonSerializer.Serialize(body);
            req.Content = new StringContent(text, Encoding.UTF8);
            req.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }
        return req;
    }

    public async Task<(int Status, JsonNode? Body)> SendAsync(HttpMethod method, string path, object? body = null, string? project = "p1", string? roles = null, bool admin = true)
    {
        using var req = Request(method, path, body, project, roles, admin);
        using var resp = await Client.SendAsync(req);
        var text = await resp.Content.ReadAsStringAsync();
        return ((int)resp.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    public Task<(int Status, JsonNode? Body)> GetAsync(string path, string? project = "p1", string? roles = null, bool admin = true) =>
        SendAsync(HttpMethod.Get, path, null, project, roles, admin);

    public Task<(int Status, JsonNode? Body)> PostAsync(string path, object body, string? project = "p1", string? roles = null, bool admin = true) =>
        SendAsync(HttpMethod.Post, path, body, project, roles, admin);

    public Task<(int Status, JsonNode? Body)> PutAsync(string path, object body, string? project = "p1", string? roles = null, bool admin = true) =>
        SendAsync(HttpMethod.Put, path, body, project, roles, admin);

    public Task<(int Status, JsonNode? Body)> DeleteAsync(string path, string? project = "p1", string? roles = null, bool admin = true) =>
        SendAsync(HttpMethod.Delete, path, null, project, roles, admin);

    /// <summary>Creates a load balancer on the noop VIP subnet, waits until it is ACTIVE and returns its id.</summary>
    public async Task<string> CreateLoadBalancerAsync(string name, string description, string[] tags, string project = "p1", bool enabled = true)
    {
        var (status, body) = await PostAsync("/v2/lbaas/loadbalancers", new JsonObject
        {
            ["loadbalancer"] = new JsonObject
            {
                ["name"] = name,
                ["description"] = description,
                ["admin_state_up"] = enabled,
                ["vip_subnet_id"] = "3a1c2b47-8c3b-4f0b-9a07-0d7e4b2b8f11",
                ["tags"] = new JsonArray([.. tags.Select(t => (JsonNode)t)]),
            },
        }, project);
        status.ShouldBe(201, body?.ToJsonString());
        var id = (string)body!["loadbalancer"]!["id"]!;
        await WaitActiveAsync($"/v2/lbaas/loadbalancers/{id}", "loadbalancer");
        return id;
    }

    /// <summary>Polls until the object's provisioning_status is ACTIVE (or the object is gone when <paramref name="gone"/>).</summary>
    public async Task<JsonNode?> WaitActiveAsync(string path, string root, bool gone = false)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var (status, body) = await GetAsync(path);
            if (gone && status == 404)
            {
                return null;
            }
            if (!gone && status == 200 && (string?)body![root]!["provisioning_status"] == "ACTIVE")
            {
                return body[root];
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{path} did not settle: {status} {body?.ToJsonString()}");
            }
            await Task.Delay(10);
        }
    }

    /// <summary>Creates an ACTIVE load balancer and returns its id.</summary>
    public async Task<string> CreateLoadBalancerAsync(string project = "p1", string? name = null, JsonArray? tags = null)
    {
        var (status, body) = await PostAsync("/v2/lbaas/loadbalancers", new JsonObject
        {
            ["loadbalancer"] = new JsonObject
            {
                ["name"] = name ?? "lb",
                ["vip_subnet_id"] = "3a1c2b47-8c3b-4f0b-9a07-0d7e4b2b8f11",
                ["tags"] = tags ?? new JsonArray(),
            },
        }, project);
        Assert.Equal(201, status);
        var id = (string)body!["loadbalancer"]!["id"]!;
        await WaitActiveAsync($"/v2/lbaas/loadbalancers/{id}", "loadbalancer");
        return id;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (_drop is not null)
        {
            await _drop();
        }
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
