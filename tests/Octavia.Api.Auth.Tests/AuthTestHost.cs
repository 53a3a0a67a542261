// Licensed under the Apache License, Version 2.0.

using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Octavia.Core.Configuration;

namespace Octavia.Api.Auth.Tests;

/// <summary>
/// A tiny API on a real Kestrel port: the auth middleware, an endpoint echoing the RequestContext, and one
/// answering a policy question (<c>/rbac/{policy}?target=</c>) for the request's context.
/// </summary>
internal sealed class AuthTestHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private AuthTestHost(WebApplication app, HttpClient client)
    {
        _app = app;
        Client = client;
    }

    public HttpClient Client { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<AuthTestHost> StartAsync(string configText, Action<IServiceCollection>? configure = null, int port = 0)
    {
        var config = OctaviaConfig.FromText(configText);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        builder.Services.AddOctaviaAuth(config);
        configure?.Invoke(builder.Services);
        var app = builder.Build();
        app.UseOctaviaAuth();
        app.MapGet("/rbac/{policy}", (HttpContext http, string policy, string? target, IPolicyEnforcer enforcer) =>
            Results.Json(new JsonObject { ["allowed"] = enforcer.Authorize(policy, RequestContext.Of(http), target) }));
        // Enough of a load balancer list for the stock CLI: one entry owned by the caller's project.
        // octaviaclient appends /v2.0 to the catalog endpoint.
        app.MapGet("/v2.0/lbaas/loadbalancers", (HttpContext http) => Results.Json(new JsonObject
        {
            ["loadbalancers"] = new JsonArray(new JsonObject
            {
                ["id"] = "5b1c2e57-9a4c-4a4e-8f5e-2d7c0a1b9e10",
                ["name"] = "lb-of-" + RequestContext.Of(http).UserName,
                ["project_id"] = RequestContext.Of(http).ProjectId,
                ["vip_address"] = "198.18.0.10",
                ["provisioning_status"] = "ACTIVE",
                ["operating_status"] = "ONLINE",
                ["provider"] = "amphora",
            }),
        }));
        app.MapFallback((HttpContext http) =>
        {
            var ctx = RequestContext.Of(http);
            return Results.Json(new JsonObject
            {
                ["project_id"] = ctx.ProjectId,
                ["project_name"] = ctx.ProjectName,
                ["user_id"] = ctx.UserId,
                ["user_name"] = ctx.UserName,
                ["roles"] = new JsonArray(ctx.Roles.Order(StringComparer.Ordinal).Select(r => (JsonNode?)r).ToArray()),
                ["is_admin"] = ctx.IsAdmin,
                ["system_scope_all"] = ctx.SystemScopeAll,
                ["path_base"] = http.Request.PathBase.Value,
                ["path"] = http.Request.Path.Value,
            });
        });
        await app.StartAsync();
        var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        return new AuthTestHost(app, client);
    }

    public async Task<(int Status, JsonObject Body, HttpResponseMessage Response)> GetAsync(string path, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
        var response = await Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var body = text.Length > 0 ? JsonNode.Parse(text) as JsonObject ?? [] : [];
        return ((int)response.StatusCode, body, response);
    }

    public async Task<bool> AllowedAsync(string policy, string? target, params (string Name, string Value)[] headers)
    {
        var (status, body, _) = await GetAsync($"/rbac/{policy}" + (target is null ? "" : $"?target={target}"), headers);
        status.ShouldBe(200);
        return body["allowed"]!.GetValue<bool>();
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
