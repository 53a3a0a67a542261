// Licensed under the Apache License, Version 2.0.

using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Octavia.Tests.Shared;

namespace Octavia.Api.Auth.Tests;

/// <summary>
/// A real Keystone for this test class, started by tools/keystone/setup.sh on a free loopback port with its
/// own state directory, and stopped (by PID) and removed by teardown.sh. Adds one user per load-balancer role
/// in the demo project.
/// </summary>
public sealed class KeystoneFixture : IAsyncLifetime
{
    // Fixed so that setup.sh's bootstrapped seed (keyed by this password) is reused across runs.
    public const string AdminPassword = "oks-admin-secret";
    public const string ServicePassword = "oks-service-secret";
    public const string UserPassword = "oks-user-secret";

    private readonly string _stateDir = Path.Combine(Path.GetTempPath(), "oks-ks-" + Guid.NewGuid().ToString("N")[..10]);
    private readonly HttpClient _http = new();

    public string? SkipReason { get; private set; }
    public string AuthUrl { get; private set; } = "";
    public string DemoProjectId { get; private set; } = "";
    public TimeSpan StartTime { get; private set; }

    /// <summary>The port the catalog's load-balancer endpoint names (for the stock CLI test).</summary>
    public int OctaviaPort { get; } = TestEnvironment.FreeTcpPort();

    public string StateDir => _stateDir;

    private static string Script(string name) => Path.Combine(TestEnvironment.RepoRoot, "tools", "keystone", name);

    public async ValueTask InitializeAsync()
    {
        const string manage = "/usr/bin/keystone-manage";
        if (!File.Exists(manage) && !TestEnvironment.IsRoot)
        {
            SkipReason = "Keystone (python3-keystone) is not installed, and installing it needs root: run .ci/services.sh or tools/keystone/setup.sh as root";
            return;
        }
        var port = TestEnvironment.FreeTcpPort();
        var started = System.Diagnostics.Stopwatch.StartNew();
        var (code, output) = await Task.Run(() => TestEnvironment.Run(Script("setup.sh"),
            "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--state-dir", _stateDir,
            "--octavia-url", $"http://127.0.0.1:{OctaviaPort}/", "--admin-password", AdminPassword, "--service-password", ServicePassword, "--demo-password", UserPassword));
        StartTime = started.Elapsed;
        if (code != 0)
        {
            if (!File.Exists(manage))
            {
                SkipReason = "python3-keystone could not be installed: " + Tail(output);
                return;
            }
            throw new InvalidOperationException("tools/keystone/setup.sh failed: " + Tail(output));
        }
        var exports = output.Split('\n')
            .Where(l => l.StartsWith("export ", StringComparison.Ordinal))
            .Select(l => l["export ".Length..].Split('=', 2))
            .ToDictionary(kv => kv[0], kv => kv[1].Trim());
        AuthUrl = exports["OCTAVIA_KEYSTONE_URL"];
        DemoProjectId = exports["OCTAVIA_KEYSTONE_DEMO_PROJECT_ID"];

        var admin = await TokenAsync("admin", AdminPassword, "admin");
        foreach (var role in new[] { "load-balancer_observer", "load-balancer_global_observer", "load-balancer_quota_admin", "load-balancer_admin" })
        {
            await CreateUserWithRoleAsync(admin, "oks-" + role, role);
        }
    }

    // Sized, not chunked: Keystone's wsgiref server does not read chunked request bodies.
    private static StringContent Json(JsonNode body) => new(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json");

    private static string Tail(string output) => output.Length > 2000 ? output[^2000..] : output;

    private async Task CreateUserWithRoleAsync(string adminToken, string name, string role)
    {
        using var create = new HttpRequestMessage(HttpMethod.Post, $"{AuthUrl}/users")
        {
            Content = Json(new JsonObject
            {
                ["user"] = new JsonObject { ["name"] = name, ["password"] = UserPassword, ["domain_id"] = "default" },
            }),
        };
        create.Headers.Add("X-Auth-Token", adminToken);
        using var created = await _http.SendAsync(create);
        created.EnsureSuccessStatusCode();
        var userId = (await created.Content.ReadFromJsonAsync<JsonObject>())!["user"]!["id"]!.GetValue<string>();

        using var find = new HttpRequestMessage(HttpMethod.Get, $"{AuthUrl}/roles?name={role}");
        find.Headers.Add("X-Auth-Token", adminToken);
        using var found = await _http.SendAsync(find);
        var roleId = (await found.Content.ReadFromJsonAsync<JsonObject>())!["roles"]![0]!["id"]!.GetValue<string>();

        using var grant = new HttpRequestMessage(HttpMethod.Put, $"{AuthUrl}/projects/{DemoProjectId}/users/{userId}/roles/{roleId}");
        grant.Headers.Add("X-Auth-Token", adminToken);
        using var granted = await _http.SendAsync(grant);
        granted.EnsureSuccessStatusCode();
    }

    /// <summary>A token for <paramref name="user"/>: project-scoped, or system-scoped when <paramref name="project"/> is null.</summary>
    public async Task<string> TokenAsync(string user, string password, string? project)
    {
        JsonObject scope = project is null
            ? new JsonObject { ["system"] = new JsonObject { ["all"] = true } }
            : new JsonObject { ["project"] = new JsonObject { ["name"] = project, ["domain"] = new JsonObject { ["id"] = "default" } } };
        var body = new JsonObject
        {
            ["auth"] = new JsonObject
            {
                ["identity"] = new JsonObject
                {
                    ["methods"] = new JsonArray("password"),
                    ["password"] = new JsonObject
                    {
                        ["user"] = new JsonObject { ["name"] = user, ["domain"] = new JsonObject { ["id"] = "default" }, ["password"] = password },
                    },
                },
                ["scope"] = scope,
            },
        };
        using var response = await _http.PostAsync($"{AuthUrl}/auth/tokens", Json(body));
        response.EnsureSuccessStatusCode();
        return response.Headers.GetValues("X-Subject-Token").Single();
    }

    /// <summary>Revokes <paramref name="token"/> in Keystone.</summary>
    public async Task RevokeAsync(string token)
    {
        var admin = await TokenAsync("admin", AdminPassword, "admin");
        using var request = new HttpRequestMessage(HttpMethod.Delete, $"{AuthUrl}/auth/tokens");
        request.Headers.Add("X-Auth-Token", admin);
        request.Headers.Add("X-Subject-Token", token);
        using var response = await _http.SendAsync(request);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>octavia.conf text for keystone auth against this Keystone.</summary>
    public string Config(int cacheSeconds = 300, string servicePassword = ServicePassword) => $"""
        [api_settings]
        auth_strategy = keystone
        [keystone_authtoken]
        www_authenticate_uri = {AuthUrl}
        auth_url = {AuthUrl}
        username = octavia
        password = {servicePassword}
        project_name = service
        user_domain_name = Default
        project_domain_name = Default
        token_cache_time = {cacheSeconds}
        """;

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        if (Directory.Exists(_stateDir))
        {
            await Task.Run(() => TestEnvironment.Run(Script("teardown.sh"), "--state-dir", _stateDir, "--purge"));
        }
    }
}
