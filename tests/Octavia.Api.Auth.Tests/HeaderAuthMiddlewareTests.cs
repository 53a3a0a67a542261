// Licensed under the Apache License, Version 2.0.

using Octavia.Core.Configuration;

namespace Octavia.Api.Auth.Tests;

public sealed class HeaderAuthMiddlewareTests
{
    private const string NoAuth = "[api_settings]\nauth_strategy = noauth\n";
    private const string Testing = "[api_settings]\nauth_strategy = testing\n";

    [Fact]
    public async Task NoAuth_Headers_BecomeAdminContext()
    {
        await using var host = await AuthTestHost.StartAsync(NoAuth);
        var (status, body, _) = await host.GetAsync("/v2/lbaas/loadbalancers",
            ("X-Project-Id", "p1"), ("X-User-Id", "u1"), ("X-Roles", " load-balancer_member , reader,,"));
        status.ShouldBe(200);
        body["project_id"]!.GetValue<string>().ShouldBe("p1");
        body["user_id"]!.GetValue<string>().ShouldBe("u1");
        body["roles"]!.AsArray().Select(r => r!.GetValue<string>()).ShouldBe(["load-balancer_member", "reader"]);
        body["is_admin"]!.GetValue<bool>().ShouldBeTrue();
    }

    [Fact]
    public async Task NoAuth_TenantHeader_GivesProject()
    {
        await using var host = await AuthTestHost.StartAsync(NoAuth);
        var (_, body, _) = await host.GetAsync("/v2/lbaas/pools", ("X-Tenant-Id", "t9"));
        body["project_id"]!.GetValue<string>().ShouldBe("t9");
    }

    [Fact]
    public async Task NoAuth_NoProjectHeader_UsesConfiguredDefaultProject()
    {
        await using var host = await AuthTestHost.StartAsync(NoAuth + "noauth_default_project_id = dflt\n");
        var (_, body, _) = await host.GetAsync("/v2/lbaas/loadbalancers");
        body["project_id"]!.GetValue<string>().ShouldBe("dflt");
        var (_, explicitBody, _) = await host.GetAsync("/v2/lbaas/loadbalancers", ("X-Project-Id", "mine"));
        explicitBody["project_id"]!.GetValue<string>().ShouldBe("mine");
    }

    [Fact]
    public async Task NoAuth_NoProjectAndNoDefault_LeavesProjectUnset()
    {
        await using var host = await AuthTestHost.StartAsync(NoAuth);
        var (status, body, _) = await host.GetAsync("/v2/lbaas/loadbalancers");
        status.ShouldBe(200);
        body["project_id"].ShouldBeNull();
        body["is_admin"]!.GetValue<bool>().ShouldBeTrue();
    }

    [Fact]
    public async Task NoAuth_EveryPolicy_Allowed()
    {
        await using var host = await AuthTestHost.StartAsync(NoAuth);
        (await host.AllowedAsync("os_load-balancer_api:amphora:put_failover", "other", ("X-Project-Id", "p1"))).ShouldBeTrue();
        (await host.AllowedAsync("os_load-balancer_api:quota:put", "other")).ShouldBeTrue();
    }

    [Fact]
    public async Task Testing_PolicyAppliesToHeaderRoles()
    {
        await using var host = await AuthTestHost.StartAsync(Testing);
        (string, string)[] member = [("X-Project-Id", "p1"), ("X-Roles", "load-balancer_member")];
        (await host.AllowedAsync("os_load-balancer_api:loadbalancer:post", "p1", member)).ShouldBeTrue();
        (await host.AllowedAsync("os_load-balancer_api:loadbalancer:post", "p2", member)).ShouldBeFalse();
        (await host.AllowedAsync("os_load-balancer_api:loadbalancer:put_failover", "p1", member)).ShouldBeFalse();
        (string, string)[] observer = [("X-Project-Id", "p1"), ("X-Roles", "load-balancer_observer")];
        (await host.AllowedAsync("os_load-balancer_api:listener:get_one", "p1", observer)).ShouldBeTrue();
        (await host.AllowedAsync("os_load-balancer_api:listener:put", "p1", observer)).ShouldBeFalse();
        (await host.AllowedAsync("os_load-balancer_api:listener:get_one", "p1", ("X-Project-Id", "p1"))).ShouldBeFalse();
    }

    [Fact]
    public async Task Testing_AdminRole_IsAdminLikeUpstreamCheckIsAdmin()
    {
        await using var host = await AuthTestHost.StartAsync(Testing);
        var (_, admin, _) = await host.GetAsync("/x", ("X-Project-Id", "p1"), ("X-Roles", "admin"));
        admin["is_admin"]!.GetValue<bool>().ShouldBeTrue();
        var (_, member, _) = await host.GetAsync("/x", ("X-Project-Id", "p1"), ("X-Roles", "member"));
        member["is_admin"]!.GetValue<bool>().ShouldBeFalse();
        var (_, system, _) = await host.GetAsync("/x", ("X-Roles", "reader"), ("OpenStack-System-Scope", "all"));
        system["system_scope_all"]!.GetValue<bool>().ShouldBeTrue();
        (await host.AllowedAsync("os_load-balancer_api:pool:get_all-global", null, ("X-Roles", "reader"), ("OpenStack-System-Scope", "all"))).ShouldBeTrue();
    }

    [Theory]
    [InlineData("/load-balancer/v2/lbaas/pools", "/load-balancer", "/v2/lbaas/pools")]
    [InlineData("/v2/lbaas/pools", "", "/v2/lbaas/pools")]
    public async Task PathPrefix_ServedWithAndWithoutPrefix(string url, string pathBase, string path)
    {
        await using var host = await AuthTestHost.StartAsync(NoAuth + "path_prefix = /load-balancer/\n");
        var (status, body, _) = await host.GetAsync(url);
        status.ShouldBe(200);
        (body["path_base"]?.GetValue<string>() ?? "").ShouldBe(pathBase);
        body["path"]!.GetValue<string>().ShouldBe(path);
        (await host.AllowedAsync("os_load-balancer_api:pool:get_one", "p")).ShouldBeTrue();
    }

    [Fact]
    public async Task PathPrefix_WithoutLeadingSlash_IsAConfigError()
    {
        var ex = await Should.ThrowAsync<ConfigException>(() => AuthTestHost.StartAsync(NoAuth + "path_prefix = load-balancer\n"));
        ex.Message.ShouldContain("[api_settings] path_prefix");
    }

    [Fact]
    public async Task UnknownStrategy_IsAConfigError()
    {
        var ex = await Should.ThrowAsync<ConfigException>(() => AuthTestHost.StartAsync("[api_settings]\nauth_strategy = magic\n"));
        ex.Message.ShouldContain("auth_strategy");
    }
}
