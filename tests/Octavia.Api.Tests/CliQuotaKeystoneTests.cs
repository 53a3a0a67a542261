// Licensed under the Apache License, Version 2.0.

using System.Text.Json.Nodes;
using Octavia.Api.Auth.Tests;
using Octavia.Tests.Shared;

namespace Octavia.Api.Tests;

/// <summary>
/// The stock CLI's quota commands against <c>octavia api</c> with keystone auth and a real Keystone: the CLI
/// resolves the project by name through Keystone itself, an admin sets the quota and a member hits it.
/// </summary>
public sealed class CliQuotaKeystoneTests(KeystoneFixture keystone) : IClassFixture<KeystoneFixture>
{
    private const string Subnet = "3a1c2b47-8c3b-4f0b-9a07-0d7e4b2b8f11";

    private (int Code, string Output) Os(string user, params string[] args)
    {
        var env = new List<string>();
        foreach (var line in File.ReadAllLines(Path.Combine(keystone.StateDir, user + "-openrc")))
        {
            env.Add(line["export ".Length..]);
        }
        env.Add("OS_PASSWORD=" + (user == "admin" ? KeystoneFixture.AdminPassword : KeystoneFixture.UserPassword));
        // env(1) keeps the caller's environment and adds the openrc variables for this one command.
        return TestEnvironment.Run("env", [.. env, "openstack", .. args]);
    }

    private JsonNode Json(string user, params string[] args)
    {
        var (code, output) = Os(user, args);
        code.ShouldBe(0, $"openstack {string.Join(' ', args)}\n{output}");
        return JsonNode.Parse(output[output.IndexOfAny(['{', '['])..])!;
    }

    [Fact]
    public async Task QuotaCommands_Keystone_AdminSetsByProjectName_MemberIsRefusedAtTheLimit()
    {
        Assert.SkipWhen(keystone.SkipReason is not null, keystone.SkipReason ?? "");
        Assert.SkipUnless(TestEnvironment.HasProgram("openstack"), "python3-openstackclient is not installed");
        var authtoken = keystone.Config().Split("[keystone_authtoken]", 2)[1];
        await using var api = await ApiProcess.StartAsync("auth_strategy = keystone", "[keystone_authtoken]" + authtoken, port: keystone.OctaviaPort);

        var set = Json("admin", "loadbalancer", "quota", "set", "--loadbalancer", "1", "demo", "-f", "json");
        ((int?)set["load_balancer"]).ShouldBe(1);
        var shown = Json("admin", "loadbalancer", "quota", "show", "demo", "-f", "json");
        ((int?)shown["load_balancer"]).ShouldBe(1);
        var listed = Json("admin", "loadbalancer", "quota", "list", "--project", "demo", "-f", "json").AsArray();
        ((string?)listed.Single()!["project_id"]).ShouldBe(keystone.DemoProjectId);

        // A member may not change quotas (upstream policy: quota admins only).
        var (denied, deniedOutput) = Os("demo", "loadbalancer", "quota", "set", "--loadbalancer", "5", "demo");
        denied.ShouldNotBe(0, deniedOutput);
        deniedOutput.ShouldContain("HTTP 403");

        Json("demo", "loadbalancer", "create", "--name", "oaf-ks1", "--vip-subnet-id", Subnet, "-f", "json");
        var (code, output) = Os("demo", "loadbalancer", "create", "--name", "oaf-ks2", "--vip-subnet-id", Subnet, "-f", "json");
        code.ShouldNotBe(0, output);
        output.ShouldContain("Quota has been met for resources: Load Balancer (HTTP 403)");

        var reset = Os("admin", "loadbalancer", "quota", "reset", "demo");
        reset.Code.ShouldBe(0, reset.Output);
        ((int?)Json("admin", "loadbalancer", "quota", "show", "demo", "-f", "json")["load_balancer"]).ShouldBe(-1);
        Json("demo", "loadbalancer", "create", "--name", "oaf-ks2", "--vip-subnet-id", Subnet, "-f", "json");
    }
}
