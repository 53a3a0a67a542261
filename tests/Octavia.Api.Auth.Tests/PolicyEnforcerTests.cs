// Licensed under the Apache License, Version 2.0.

namespace Octavia.Api.Auth.Tests;

public sealed class PolicyEnforcerTests
{
    private const string Own = "0a1b2c3d4e5f4a5b8c9d0e1f2a3b4c5d";
    private const string Other = "ffeeddccbbaa49988776655443322110";

    private static readonly PolicyEnforcer s_defaults = new();

    /// <summary>The families of upstream's API policies, by their default rule.</summary>
    public enum Family { Read, ReadGlobal, Write, ReadQuota, ReadQuotaGlobal, WriteQuota, Admin }

    private static Family FamilyOf(string check) => check switch
    {
        "rule:load-balancer:read" => Family.Read,
        "rule:load-balancer:read-global" => Family.ReadGlobal,
        "rule:load-balancer:write" => Family.Write,
        "rule:load-balancer:read-quota" => Family.ReadQuota,
        "rule:load-balancer:read-quota-global" => Family.ReadQuotaGlobal,
        "rule:load-balancer:write-quota" => Family.WriteQuota,
        "rule:load-balancer:admin" => Family.Admin,
        _ => throw new InvalidOperationException(check),
    };

    private static RequestContext Context(string? project, bool isAdmin = false, bool system = false, params string[] roles) => new()
    {
        ProjectId = project,
        UserId = "u1",
        Roles = new HashSet<string>(roles, StringComparer.OrdinalIgnoreCase),
        IsAdmin = isAdmin,
        SystemScopeAll = system,
    };

    public sealed record Persona(string Name, RequestContext Context, Family[] OwnProject, Family[] AnyProject)
    {
        public override string ToString() => Name;
    }

    private static readonly Family[] s_all = Enum.GetValues<Family>();

    public static TheoryData<Persona> Personas => new(
        new Persona("load-balancer_observer", Context(Own, roles: "load-balancer_observer"),
            [Family.Read, Family.ReadQuota], []),
        new Persona("load-balancer_observer with keystone reader", Context(Own, roles: ["load-balancer_observer", "reader"]),
            [Family.Read, Family.ReadQuota], []),
        new Persona("load-balancer_global_observer", Context(Own, roles: "load-balancer_global_observer"),
            [], [Family.Read, Family.ReadGlobal, Family.ReadQuota, Family.ReadQuotaGlobal]),
        new Persona("load-balancer_member", Context(Own, roles: "load-balancer_member"),
            [Family.Read, Family.Write, Family.ReadQuota], []),
        new Persona("load-balancer_member with keystone member and reader", Context(Own, roles: ["load-balancer_member", "member", "reader"]),
            [Family.Read, Family.Write, Family.ReadQuota], []),
        new Persona("load-balancer_quota_admin", Context(Own, roles: "load-balancer_quota_admin"),
            [], [Family.ReadQuota, Family.ReadQuotaGlobal, Family.WriteQuota]),
        new Persona("load-balancer_admin", Context(Own, roles: "load-balancer_admin"), [], s_all),
        new Persona("admin role, as the middleware marks it (is_admin)", Context(Own, isAdmin: true, roles: "admin"), [], s_all),
        new Persona("admin role without is_admin, project scoped", Context(Own, roles: "admin"), [], []),
        new Persona("system-scoped admin", Context(null, system: true, roles: "admin"), [], s_all),
        new Persona("system-scoped reader", Context(null, system: true, roles: "reader"),
            [], [Family.Read, Family.ReadGlobal, Family.ReadQuota, Family.ReadQuotaGlobal]),
        new Persona("keystone default member and reader only", Context(Own, roles: ["member", "reader"]), [], []),
        new Persona("keystone default reader only", Context(Own, roles: "reader"), [], []),
        new Persona("no roles", Context(Own), [], []),
        new Persona("noauth (is_admin, no roles, no project)", Context(null, isAdmin: true), [], s_all),
        new Persona("project-scoped reader role named like system scope", Context(Own, system: false, roles: ["reader", "admin"]), [], []));

    [Theory]
    [MemberData(nameof(Personas))]
    public void Authorize_EveryApiPolicy_MatchesUpstreamDefaultsForPersona(Persona persona)
    {
        var mismatches = new List<string>();
        foreach (var (policy, check) in DefaultPolicies.ApiRules)
        {
            var family = FamilyOf(check);
            var expectOwn = persona.OwnProject.Contains(family) || persona.AnyProject.Contains(family);
            var expectOther = persona.AnyProject.Contains(family);
            var own = s_defaults.Authorize(policy, persona.Context, Own);
            var other = s_defaults.Authorize(policy, persona.Context, Other);
            if (own != expectOwn)
            {
                mismatches.Add($"{policy} on own project: {own}, expected {expectOwn}");
            }
            if (other != expectOther)
            {
                mismatches.Add($"{policy} on other project: {other}, expected {expectOther}");
            }
        }
        mismatches.ShouldBeEmpty();
    }

    [Fact]
    public void ApiRules_CoverUpstreamsPolicyNames()
    {
        DefaultPolicies.ApiRules.Count.ShouldBe(79);
        DefaultPolicies.ApiRules["os_load-balancer_api:loadbalancer:put_failover"].ShouldBe("rule:load-balancer:admin");
        DefaultPolicies.ApiRules["os_load-balancer_api:quota:get_defaults"].ShouldBe("rule:load-balancer:read-quota");
        DefaultPolicies.ApiRules["os_load-balancer_api:provider-availability-zone:get_all"].ShouldBe("rule:load-balancer:admin");
        DefaultPolicies.ApiRules["os_load-balancer_api:flavor:get_one"].ShouldBe("rule:load-balancer:read");
        DefaultPolicies.ApiRules.Keys.ShouldNotContain("os_load-balancer_api:member:get_all-global");
        DefaultPolicies.ApiRules.Keys.ShouldAllBe(k => k.StartsWith("os_load-balancer_api:", StringComparison.Ordinal));
    }

    [Fact]
    public void Authorize_NullTarget_MeansCallersOwnProject()
    {
        var member = Context(Own, roles: "load-balancer_member");
        s_defaults.Authorize("os_load-balancer_api:loadbalancer:get_all", member, null).ShouldBeTrue();
        s_defaults.Authorize("os_load-balancer_api:loadbalancer:get_all-global", member, null).ShouldBeFalse();
        var projectless = Context(null, roles: "load-balancer_member");
        s_defaults.Authorize("os_load-balancer_api:loadbalancer:get_all", projectless, null).ShouldBeFalse();
    }

    [Fact]
    public void Authorize_UnregisteredPolicy_Throws()
    {
        var ex = Should.Throw<PolicyNotRegisteredException>(() =>
            s_defaults.Authorize("os_load-balancer_api:loadbalancer:frobnicate", Context(Own, isAdmin: true), Own));
        ex.Rule.ShouldBe("os_load-balancer_api:loadbalancer:frobnicate");
    }

    [Theory]
    [InlineData("admin", true)]
    [InlineData("ADMIN", true)]
    [InlineData("load-balancer_admin", true)]
    [InlineData("load-balancer_member", false)]
    [InlineData("member", false)]
    public void IsContextAdmin_DeprecatedRuleOredIn_ProjectAdminIsOctaviaAdmin(string role, bool expected) =>
        s_defaults.IsContextAdmin(Context(Own, roles: role)).ShouldBe(expected);

    [Fact]
    public void EnforceNewDefaults_DeprecatedRulesDropped_LoadBalancerRolesNeedKeystoneRoles()
    {
        var strict = new PolicyEnforcer(null, enforceNewDefaults: true);
        const string get = "os_load-balancer_api:loadbalancer:get_one";
        strict.Authorize(get, Context(Own, roles: "load-balancer_member"), Own).ShouldBeFalse();
        strict.Authorize(get, Context(Own, roles: ["load-balancer_member", "member"]), Own).ShouldBeTrue();
        strict.Authorize(get, Context(Own, roles: "load-balancer_observer"), Own).ShouldBeFalse();
        strict.Authorize(get, Context(Own, roles: ["load-balancer_observer", "reader"]), Own).ShouldBeTrue();
        strict.IsContextAdmin(Context(Own, roles: "admin")).ShouldBeFalse();
        strict.IsContextAdmin(Context(null, system: true, roles: "admin")).ShouldBeTrue();
    }

    [Fact]
    public void Overrides_ReplaceDefaultAndDeprecatedRule()
    {
        var enforcer = new PolicyEnforcer(new Dictionary<string, string>
        {
            ["load-balancer:member_and_owner"] = "role:lbaas and project_id:%(project_id)s",
            ["os_load-balancer_api:amphora:get_all"] = "@",
            ["os_load-balancer_api:loadbalancer:delete"] = "!",
        }, enforceNewDefaults: false);
        enforcer.Authorize("os_load-balancer_api:pool:post", Context(Own, roles: "lbaas"), Own).ShouldBeTrue();
        enforcer.Authorize("os_load-balancer_api:pool:post", Context(Own, roles: "lbaas"), Other).ShouldBeFalse();
        enforcer.Authorize("os_load-balancer_api:pool:post", Context(Own, roles: "load-balancer_member"), Own).ShouldBeFalse();
        enforcer.Authorize("os_load-balancer_api:amphora:get_all", Context(Own), null).ShouldBeTrue();
        enforcer.Authorize("os_load-balancer_api:loadbalancer:delete", Context(Own, isAdmin: true), Own).ShouldBeFalse();
    }

    [Theory]
    [InlineData("role:a or role:b and role:c", new[] { "a" }, true)]
    [InlineData("role:a or role:b and role:c", new[] { "b" }, false)]
    [InlineData("(role:a or role:b) and role:c", new[] { "a" }, false)]
    [InlineData("(role:a or role:b) and role:c", new[] { "b", "c" }, true)]
    [InlineData("not role:a", new[] { "b" }, true)]
    [InlineData("not (role:a or role:b)", new[] { "b" }, false)]
    [InlineData("role:a AND NOT role:b", new[] { "a" }, true)]
    [InlineData("", new string[0], true)]
    [InlineData("!", new[] { "a" }, false)]
    [InlineData("user_id:u1", new string[0], true)]
    [InlineData("user_id:u2", new string[0], false)]
    [InlineData("'x':x", new string[0], true)]
    [InlineData("True:%(project_id)s", new string[0], false)]
    [InlineData("is_admin:False", new string[0], true)]
    [InlineData("rule:missing or role:a", new[] { "a" }, true)]
    [InlineData("rule:missing", new[] { "a" }, false)]
    [InlineData("project_id:%(nothere)s", new string[0], false)]
    public void Overrides_CheckLanguage_FollowsOsloPolicy(string check, string[] roles, bool expected)
    {
        var enforcer = new PolicyEnforcer(new Dictionary<string, string> { ["os_load-balancer_api:pool:get_one"] = check }, false);
        enforcer.Authorize("os_load-balancer_api:pool:get_one", Context(Own, roles: roles), Own).ShouldBe(expected);
    }

    [Fact]
    public void Overrides_RuleCycle_FailsClosed()
    {
        var enforcer = new PolicyEnforcer(new Dictionary<string, string>
        {
            ["a"] = "rule:b",
            ["b"] = "rule:a",
            ["os_load-balancer_api:pool:get_one"] = "rule:a",
        }, false);
        enforcer.Authorize("os_load-balancer_api:pool:get_one", Context(Own, isAdmin: true), Own).ShouldBeFalse();
    }

    [Theory]
    [InlineData("role:a and")]
    [InlineData("(role:a")]
    [InlineData("role:a)")]
    [InlineData("justaword")]
    [InlineData("http://example.com/check")]
    public void Overrides_InvalidCheck_ErrorNamesThePolicy(string check)
    {
        var ex = Should.Throw<FormatException>(() =>
            new PolicyEnforcer(new Dictionary<string, string> { ["os_load-balancer_api:pool:put"] = check }, false));
        ex.Message.ShouldStartWith("policy \"os_load-balancer_api:pool:put\": ");
    }
}
