// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Octavia.Api.Auth.Tests;

/// <summary>Counts the requests the validator makes to Keystone.</summary>
internal sealed class KeystoneCalls
{
    private int _validations;
    private int _serviceLogins;

    public int Validations => Volatile.Read(ref _validations);
    public int ServiceLogins => Volatile.Read(ref _serviceLogins);

    public DelegatingHandler Handler() => new Counter(this);

    private sealed class Counter(KeystoneCalls calls) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Method == HttpMethod.Get)
            {
                Interlocked.Increment(ref calls._validations);
            }
            else if (request.Method == HttpMethod.Post)
            {
                Interlocked.Increment(ref calls._serviceLogins);
            }
            return base.SendAsync(request, cancellationToken);
        }
    }
}

public sealed class KeystoneAuthMiddlewareTests(KeystoneFixture keystone) : IClassFixture<KeystoneFixture>
{
    private const string Lbs = "/v2/lbaas/loadbalancers";

    private async Task<(AuthTestHost Host, KeystoneCalls Calls)> StartAsync(string? config = null, TimeProvider? time = null)
    {
        Assert.SkipWhen(keystone.SkipReason is not null, keystone.SkipReason ?? "");
        var calls = new KeystoneCalls();
        var host = await AuthTestHost.StartAsync(config ?? keystone.Config(), services =>
        {
            services.AddHttpClient(KeystoneTokenValidator.HttpClientName).AddHttpMessageHandler(calls.Handler);
            if (time is not null)
            {
                services.AddSingleton(time);
            }
        });
        return (host, calls);
    }

    private Task<string> DemoTokenAsync() => keystone.TokenAsync("demo", KeystoneFixture.UserPassword, "demo");

    [Fact]
    public async Task ValidToken_ContextComesFromToken()
    {
        var (host, _) = await StartAsync();
        await using var _ = host;
        var (status, body, _) = await host.GetAsync(Lbs, ("X-Auth-Token", await DemoTokenAsync()));
        status.ShouldBe(200);
        body["project_id"]!.GetValue<string>().ShouldBe(keystone.DemoProjectId);
        body["project_name"]!.GetValue<string>().ShouldBe("demo");
        body["user_name"]!.GetValue<string>().ShouldBe("demo");
        body["user_id"]!.GetValue<string>().ShouldNotBeNullOrEmpty();
        // Keystone expands implied roles: member implies reader.
        body["roles"]!.AsArray().Select(r => r!.GetValue<string>()).ShouldBe(["load-balancer_member", "member", "reader"], ignoreOrder: true);
        body["is_admin"]!.GetValue<bool>().ShouldBeFalse();
        body["system_scope_all"]!.GetValue<bool>().ShouldBeFalse();
    }

    [Fact]
    public async Task ProjectAdminToken_IsAdmin()
    {
        var (host, _) = await StartAsync();
        await using var _ = host;
        var (status, body, _) = await host.GetAsync(Lbs, ("X-Auth-Token", await keystone.TokenAsync("admin", KeystoneFixture.AdminPassword, "admin")));
        status.ShouldBe(200);
        body["is_admin"]!.GetValue<bool>().ShouldBeTrue();
        body["project_name"]!.GetValue<string>().ShouldBe("admin");
    }

    [Fact]
    public async Task SystemScopedAdminToken_HasSystemScopeAndNoProject()
    {
        var (host, _) = await StartAsync();
        await using var _ = host;
        var token = await keystone.TokenAsync("admin", KeystoneFixture.AdminPassword, project: null);
        var (status, body, _) = await host.GetAsync(Lbs, ("X-Auth-Token", token));
        status.ShouldBe(200);
        body["system_scope_all"]!.GetValue<bool>().ShouldBeTrue();
        body["project_id"].ShouldBeNull();
        body["is_admin"]!.GetValue<bool>().ShouldBeTrue();
        (await host.AllowedAsync("os_load-balancer_api:amphora:get_all", "any", ("X-Auth-Token", token))).ShouldBeTrue();
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("gAAAAABnot-a-real-fernet-token")]
    public async Task MissingOrBadToken_401WithWwwAuthenticateAndFault(string? token)
    {
        var (host, _) = await StartAsync();
        await using var _ = host;
        var (status, body, response) = token is null
            ? await host.GetAsync(Lbs)
            : await host.GetAsync(Lbs, ("X-Auth-Token", token));
        status.ShouldBe(401);
        response.Headers.WwwAuthenticate.ToString().ShouldBe($"Keystone uri=\"{keystone.AuthUrl}\"");
        body["faultcode"]!.GetValue<string>().ShouldBe("Client");
        body["faultstring"]!.GetValue<string>().ShouldBe("The request you have made requires authentication.");
        body.ContainsKey("debuginfo").ShouldBeTrue();
        body["debuginfo"].ShouldBeNull();
        body["error"]!["code"]!.GetValue<int>().ShouldBe(401);
    }

    [Fact]
    public async Task RevokedToken_401()
    {
        var (host, _) = await StartAsync();
        await using var _ = host;
        var token = await DemoTokenAsync();
        await keystone.RevokeAsync(token);
        var (status, _, _) = await host.GetAsync(Lbs, ("X-Auth-Token", token));
        status.ShouldBe(401);
    }

    [Fact]
    public async Task SpoofedIdentityHeaders_AreIgnored()
    {
        var (host, _) = await StartAsync();
        await using var _ = host;
        var (_, body, _) = await host.GetAsync(Lbs, ("X-Auth-Token", await DemoTokenAsync()),
            ("X-Roles", "admin"), ("X-Project-Id", "someone-else"), ("OpenStack-System-Scope", "all"));
        body["project_id"]!.GetValue<string>().ShouldBe(keystone.DemoProjectId);
        body["roles"]!.AsArray().Select(r => r!.GetValue<string>()).ShouldNotContain("admin");
        body["is_admin"]!.GetValue<bool>().ShouldBeFalse();
        body["system_scope_all"]!.GetValue<bool>().ShouldBeFalse();
    }

    [Fact]
    public async Task CacheHit_DoesNotCallKeystoneAgain()
    {
        var (host, calls) = await StartAsync();
        await using var _ = host;
        var token = await DemoTokenAsync();
        for (var i = 0; i < 5; i++)
        {
            (await host.GetAsync(Lbs, ("X-Auth-Token", token))).Status.ShouldBe(200);
        }
        calls.Validations.ShouldBe(1);
        calls.ServiceLogins.ShouldBe(1);

        // A second token reuses the service token and is validated once, even when its first requests race.
        var second = await keystone.TokenAsync("oks-load-balancer_observer", KeystoneFixture.UserPassword, "demo");
        var statuses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => host.GetAsync(Lbs, ("X-Auth-Token", second))));
        statuses.ShouldAllBe(s => s.Status == 200);
        calls.Validations.ShouldBe(2);
        calls.ServiceLogins.ShouldBe(1);
    }

    [Fact]
    public async Task InvalidToken_IsCachedToo()
    {
        var (host, calls) = await StartAsync();
        await using var _ = host;
        for (var i = 0; i < 3; i++)
        {
            (await host.GetAsync(Lbs, ("X-Auth-Token", "not-a-token"))).Status.ShouldBe(401);
        }
        calls.Validations.ShouldBe(1);
    }

    [Fact]
    public async Task CacheTimeZero_ValidatesEveryRequest()
    {
        var (host, calls) = await StartAsync(keystone.Config(cacheSeconds: 0));
        await using var _ = host;
        var token = await DemoTokenAsync();
        for (var i = 0; i < 3; i++)
        {
            (await host.GetAsync(Lbs, ("X-Auth-Token", token))).Status.ShouldBe(200);
        }
        calls.Validations.ShouldBe(3);
    }

    [Fact]
    public async Task CacheEntry_ExpiresAfterTokenCacheTime()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var (host, calls) = await StartAsync(keystone.Config(cacheSeconds: 60), time);
        await using var _ = host;
        var token = await DemoTokenAsync();
        (await host.GetAsync(Lbs, ("X-Auth-Token", token))).Status.ShouldBe(200);
        time.Advance(TimeSpan.FromSeconds(59));
        (await host.GetAsync(Lbs, ("X-Auth-Token", token))).Status.ShouldBe(200);
        calls.Validations.ShouldBe(1);
        time.Advance(TimeSpan.FromSeconds(2));
        (await host.GetAsync(Lbs, ("X-Auth-Token", token))).Status.ShouldBe(200);
        calls.Validations.ShouldBe(2);
    }

    [Fact]
    public async Task CachedToken_PastItsExpiry_Is401()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var (host, _) = await StartAsync(keystone.Config(cacheSeconds: 100_000), time);
        await using var _ = host;
        var token = await DemoTokenAsync();
        (await host.GetAsync(Lbs, ("X-Auth-Token", token))).Status.ShouldBe(200);
        // setup.sh issues one-hour tokens; our clock now says it has run out.
        time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromMinutes(1));
        (await host.GetAsync(Lbs, ("X-Auth-Token", token))).Status.ShouldBe(401);
    }

    [Fact]
    public async Task ServiceToken_NearItsExpiry_IsRenewed()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var (host, calls) = await StartAsync(keystone.Config(), time);
        await using var _ = host;
        (await host.GetAsync(Lbs, ("X-Auth-Token", await DemoTokenAsync()))).Status.ShouldBe(200);
        calls.ServiceLogins.ShouldBe(1);
        // Inside the 30 s stale window of the one-hour service token, while fresh user tokens still have time left.
        time.Advance(TimeSpan.FromHours(1) - TimeSpan.FromSeconds(20));
        (await host.GetAsync(Lbs, ("X-Auth-Token", await DemoTokenAsync()))).Status.ShouldBe(200);
        calls.ServiceLogins.ShouldBe(2);
        calls.Validations.ShouldBe(2);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/healthcheck")]
    [InlineData("/load-balancer/")]
    [InlineData("/load-balancer/healthcheck")]
    public async Task UnauthenticatedPaths_NeedNoToken(string path)
    {
        var (host, calls) = await StartAsync(keystone.Config() + "\n[api_settings]\npath_prefix = /load-balancer\n");
        await using var _ = host;
        (await host.GetAsync(path)).Status.ShouldBe(200);
        (await host.GetAsync("/load-balancer/v2")).Status.ShouldBe(401);
        (await host.GetAsync("/v2")).Status.ShouldBe(401);
        calls.Validations.ShouldBe(0);
    }

    [Theory]
    [InlineData("demo", "os_load-balancer_api:loadbalancer:post", true, false)]
    [InlineData("demo", "os_load-balancer_api:loadbalancer:get_all-global", false, false)]
    [InlineData("oks-load-balancer_observer", "os_load-balancer_api:pool:get_one", true, false)]
    [InlineData("oks-load-balancer_observer", "os_load-balancer_api:pool:put", false, false)]
    [InlineData("oks-load-balancer_global_observer", "os_load-balancer_api:pool:get_one", true, true)]
    [InlineData("oks-load-balancer_global_observer", "os_load-balancer_api:pool:delete", false, false)]
    [InlineData("oks-load-balancer_quota_admin", "os_load-balancer_api:quota:put", true, true)]
    [InlineData("oks-load-balancer_quota_admin", "os_load-balancer_api:loadbalancer:get_one", false, false)]
    [InlineData("oks-load-balancer_admin", "os_load-balancer_api:amphora:put_failover", true, true)]
    [InlineData("oks-load-balancer_admin", "os_load-balancer_api:listener:delete", true, true)]
    public async Task KeystoneRoles_MapToUpstreamPolicy(string user, string policy, bool ownProject, bool otherProject)
    {
        var (host, _) = await StartAsync();
        await using var _ = host;
        var token = await keystone.TokenAsync(user, KeystoneFixture.UserPassword, "demo");
        (await host.AllowedAsync(policy, keystone.DemoProjectId, ("X-Auth-Token", token))).ShouldBe(ownProject);
        (await host.AllowedAsync(policy, "0123456789abcdef0123456789abcdef", ("X-Auth-Token", token))).ShouldBe(otherProject);
    }

    [Fact]
    public async Task StockCli_AuthenticatesThroughKeystoneCatalog()
    {
        Assert.SkipWhen(keystone.SkipReason is not null, keystone.SkipReason ?? "");
        Assert.SkipUnless(File.Exists("/usr/bin/openstack"), "the openstack CLI (python3-openstackclient) is not installed");
        await using var host = await AuthTestHost.StartAsync(keystone.Config(), port: keystone.OctaviaPort);
        var psi = new System.Diagnostics.ProcessStartInfo("/usr/bin/openstack")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            ArgumentList = { "loadbalancer", "list", "-f", "json", "-c", "name", "-c", "project_id" },
        };
        foreach (var line in File.ReadAllLines(Path.Combine(keystone.StateDir, "demo-openrc")))
        {
            var kv = line["export ".Length..].Split('=', 2);
            psi.Environment[kv[0]] = kv[1];
        }
        psi.Environment["OS_PASSWORD"] = KeystoneFixture.UserPassword;
        using var cli = System.Diagnostics.Process.Start(psi)!;
        var cancel = TestContext.Current.CancellationToken;
        var stdout = cli.StandardOutput.ReadToEndAsync(cancel);
        var stderr = cli.StandardError.ReadToEndAsync(cancel);
        await cli.WaitForExitAsync(cancel);
        cli.ExitCode.ShouldBe(0, await stderr);
        var list = System.Text.Json.Nodes.JsonNode.Parse(await stdout)!.AsArray();
        list.Count.ShouldBe(1);
        list[0]!["name"]!.GetValue<string>().ShouldBe("lb-of-demo");
        list[0]!["project_id"]!.GetValue<string>().ShouldBe(keystone.DemoProjectId);
    }

    [Fact]
    public async Task WrongServicePassword_503()
    {
        var (host, calls) = await StartAsync(keystone.Config(servicePassword: "wrong"));
        await using var _ = host;
        var (status, body, _) = await host.GetAsync(Lbs, ("X-Auth-Token", await DemoTokenAsync()));
        status.ShouldBe(503);
        body["faultcode"]!.GetValue<string>().ShouldBe("Server");
        body["faultstring"]!.GetValue<string>().ShouldBe("The Keystone service is temporarily unavailable.");
        calls.ServiceLogins.ShouldBe(1);
    }
}
