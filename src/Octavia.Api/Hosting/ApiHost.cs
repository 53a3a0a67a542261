// Licensed under the Apache License, Version 2.0.

using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Octavia.Api.Auth;
using Octavia.Api.Errors;
using Octavia.Api.NetworkView;
using Octavia.Api.Persistence;
using Octavia.Api.Providers;
using Octavia.Api.Resources;
using Octavia.Core.Configuration;
using Octavia.Data;

namespace Octavia.Api.Hosting;

/// <summary>Builds the v2 API web application from <c>octavia.conf</c>.</summary>
public static class ApiHost
{
    private static readonly (string Version, string Updated)[] s_versions =
    [
        ("v2.0", "2016-12-11T00:00:00Z"), ("v2.1", "2018-04-20T00:00:00Z"), ("v2.2", "2018-07-31T00:00:00Z"),
        ("v2.3", "2018-12-18T00:00:00Z"), ("v2.4", "2018-12-19T00:00:00Z"), ("v2.5", "2019-01-21T00:00:00Z"),
        ("v2.6", "2019-01-25T00:00:00Z"), ("v2.7", "2018-01-25T12:00:00Z"), ("v2.8", "2019-02-12T00:00:00Z"),
        ("v2.9", "2019-03-04T00:00:00Z"), ("v2.10", "2019-03-05T00:00:00Z"), ("v2.11", "2019-06-24T00:00:00Z"),
        ("v2.12", "2019-09-11T00:00:00Z"), ("v2.13", "2019-09-13T00:00:00Z"), ("v2.14", "2019-11-10T00:00:00Z"),
        ("v2.15", "2020-03-10T00:00:00Z"), ("v2.16", "2020-03-15T00:00:00Z"), ("v2.17", "2020-04-29T00:00:00Z"),
        ("v2.18", "2020-04-29T01:00:00Z"), ("v2.19", "2020-05-12T00:00:00Z"), ("v2.20", "2020-08-02T00:00:00Z"),
        ("v2.21", "2020-09-03T00:00:00Z"), ("v2.22", "2020-09-04T00:00:00Z"), ("v2.23", "2020-09-07T00:00:00Z"),
        ("v2.24", "2020-10-15T00:00:00Z"), ("v2.25", "2021-10-02T00:00:00Z"), ("v2.26", "2022-08-29T00:00:00Z"),
        ("v2.27", "2023-05-17T00:00:00Z"),
    ];

    /// <summary>
    /// The application, listening on <c>[api_settings] bind_host:bind_port</c>. <paramref name="configure"/>
    /// adds or replaces services (the network driver, the worker bus, the auth middleware's enforcer).
    /// The database schema is not created here (<c>octavia db-manage upgrade head</c> does that).
    /// </summary>
    public static WebApplication Build(OctaviaConfig config, Action<IServiceCollection>? configure = null, string[]? args = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var settings = OptionBinder.Bind<ApiSettingsOptions>(config);
        var database = OptionBinder.Bind<DatabaseOptions>(config);
        var builder = WebApplication.CreateSlimBuilder(args ?? []);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls($"http://{FormatHost(settings.BindHost)}:{settings.BindPort}");
        builder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false);

        var services = builder.Services;
        services.AddSingleton(config);
        services.AddSingleton(settings);
        services.AddSingleton(OptionBinder.Bind<NetworkingOptions>(config));
        services.AddSingleton(OptionBinder.Bind<QuotasOptions>(config));
        services.AddSingleton(OptionBinder.Bind<HaproxyAmphoraOptions>(config));
        services.AddSingleton(OptionBinder.Bind<ControllerWorkerOptions>(config));
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(new OctaviaDatabase(Tune(DatabaseUrl.Parse(database.Connection))));
        services.AddSingleton<Store>();
        services.AddSingleton<ResponseCache>();
        services.AddSingleton<NoopProviderDriver>();
        services.AddSingleton<IProviderDriver>(sp => sp.GetRequiredService<NoopProviderDriver>());
        services.AddSingleton<IProviderDriver>(sp => new AmphoraProviderDriver(sp.GetService<Core.Messaging.IWorkerBus>()));
        services.AddSingleton<ProviderRegistry>();
        services.AddSingleton<ApiServices>();
        services.AddOctaviaAuth(config);
        configure?.Invoke(services);

        var app = builder.Build();
        Map(app, settings);
        return app;
    }

    /// <summary>Prepares a SQLite file for concurrent readers (WAL); harmless elsewhere.</summary>
    public static void PrepareDatabase(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var db = app.Services.GetRequiredService<OctaviaDatabase>();
        if (db.Url.Engine == DatabaseEngine.Sqlite && !db.Url.ConnectionString.Contains(":memory:", StringComparison.Ordinal))
        {
            using var connection = new SqliteConnection(db.Url.ConnectionString);
            connection.Open();
            using var cmd = connection.CreateCommand();
            cmd.CommandText = "PRAGMA journal_mode=WAL;";
            cmd.ExecuteNonQuery();
        }
    }

    private static DatabaseUrl Tune(DatabaseUrl url) =>
        url.Engine == DatabaseEngine.Sqlite && !url.ConnectionString.Contains("Default Timeout", StringComparison.OrdinalIgnoreCase)
            ? url with { ConnectionString = url.ConnectionString + ";Default Timeout=30" }
            : url;

    private static string FormatHost(string host) =>
        host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[') ? $"[{host}]" : host;

    private static void Map(WebApplication app, ApiSettingsOptions settings)
    {
        // Upstream serves the same tree under /v2 and /v2.0, and accepts a ".json" suffix.
        app.Use((http, next) =>
        {
            var path = http.Request.Path.Value ?? "/";
            if (path.EndsWith(".json", StringComparison.Ordinal))
            {
                path = path[..^5];
            }
            if (path.StartsWith("/v2.0/", StringComparison.Ordinal) || path == "/v2.0")
            {
                path = "/v2" + path[5..];
            }
            if (path.Length > 1 && path.EndsWith('/'))
            {
                path = path.TrimEnd('/');
            }
            http.Request.Path = path.Length == 0 ? "/" : path;
            return next(http);
        });
        app.UseFaults();
        app.UseOctaviaAuth();
        app.UseRouting();

        app.MapGet("/", (HttpContext http) =>
        {
            var host = $"{http.Request.Scheme}://{http.Request.Host}/v2";
            var versions = new JsonArray(s_versions.Select((v, i) => (JsonNode)new JsonObject
            {
                ["id"] = v.Version,
                ["status"] = i == s_versions.Length - 1 ? "CURRENT" : "SUPPORTED",
                ["updated"] = v.Updated,
                ["links"] = new JsonArray(new JsonObject { ["href"] = host, ["rel"] = "self" }),
            }).ToArray());
            return Common.Json(new JsonObject { ["versions"] = versions });
        });
        app.MapGet("/v2", () => Results.Content("\"v2\"", "application/json"));
        app.MapMethods("/healthcheck", ["GET", "HEAD"], () =>
            settings.HealthcheckEnabled ? Results.Text("OK", "text/plain") : throw ApiException.NotFound("Resource", "healthcheck"));

        var v2 = app.MapGroup("/v2");
        LoadBalancers.Map(v2);
        Listeners.Map(v2);
        Pools.Map(v2);
        Members.Map(v2);
        HealthMonitors.Map(v2);
        L7Policies.Map(v2);
        L7Rules.Map(v2);
        QuotaEndpoints.Map(v2);
        Catalog.Map(v2);
        Amphorae.Map(v2);
        NeutronView.Map(v2);
        ProjectView.Map(app);
    }
}
