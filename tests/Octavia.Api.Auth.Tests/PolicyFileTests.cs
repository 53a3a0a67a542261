// Licensed under the Apache License, Version 2.0.

using Octavia.Core.Configuration;

namespace Octavia.Api.Auth.Tests;

public sealed class PolicyFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("oks-policy-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static RequestContext Member(string project) => new()
    {
        ProjectId = project,
        Roles = new HashSet<string>(["load-balancer_member"], StringComparer.OrdinalIgnoreCase),
    };

    [Fact]
    public void Parse_SampleGeneratorYaml_ReadsFlatMapping()
    {
        var rules = PolicyFile.Parse("""
            # List Load Balancers
            # GET  /v2/lbaas/loadbalancers
            #"os_load-balancer_api:loadbalancer:get_all": "rule:load-balancer:read"

            "os_load-balancer_api:loadbalancer:post": "role:lb_creator"
            'load-balancer:owner': 'project_id:%(project_id)s'   # a comment
            os_load-balancer_api:pool:get_one: rule:load-balancer:admin # plain
            "context_is_admin": ""
            'quoted': 'it''s'
            """.Replace("            ", "", StringComparison.Ordinal));
        rules.Count.ShouldBe(5);
        rules["os_load-balancer_api:loadbalancer:post"].ShouldBe("role:lb_creator");
        rules["load-balancer:owner"].ShouldBe("project_id:%(project_id)s");
        rules["os_load-balancer_api:pool:get_one"].ShouldBe("rule:load-balancer:admin");
        rules["context_is_admin"].ShouldBe("");
        rules["quoted"].ShouldBe("it's");
    }

    [Fact]
    public void Parse_Json_ReadsObject()
    {
        var rules = PolicyFile.Parse("""{"os_load-balancer_api:pool:put": "!", "a": "@"}""");
        rules["os_load-balancer_api:pool:put"].ShouldBe("!");
        rules["a"].ShouldBe("@");
    }

    [Theory]
    [InlineData("a:\n  b: c\n", "line 2")]
    [InlineData("\"a\": [x]\n", "line 1")]
    [InlineData("\"a\" \"b\"\n", "line 1")]
    [InlineData("\"a\": \"b\n", "line 1")]
    [InlineData("{\"a\": 1}", "JSON")]
    public void Parse_Unsupported_SaysWhere(string text, string where)
    {
        var ex = Should.Throw<FormatException>(() => PolicyFile.Parse(text));
        ex.Message.ShouldContain(where);
    }

    [Fact]
    public void CreateEnforcer_RelativeFileNextToConfig_Applies()
    {
        File.WriteAllText(Path.Combine(_dir, "policy.yaml"), "\"os_load-balancer_api:loadbalancer:post\": \"!\"\n");
        var conf = Path.Combine(_dir, "octavia.conf");
        File.WriteAllText(conf, "[api_settings]\nauth_strategy = noauth\n");
        var enforcer = PolicyFile.CreateEnforcer(OctaviaConfig.Load([conf]));
        enforcer.Authorize("os_load-balancer_api:loadbalancer:post", Member("p"), "p").ShouldBeFalse();
        enforcer.Authorize("os_load-balancer_api:loadbalancer:put", Member("p"), "p").ShouldBeTrue();
    }

    [Fact]
    public void CreateEnforcer_DefaultFileAbsent_UsesDefaults()
    {
        var conf = Path.Combine(_dir, "octavia.conf");
        File.WriteAllText(conf, "");
        PolicyFile.CreateEnforcer(OctaviaConfig.Load([conf]))
            .Authorize("os_load-balancer_api:loadbalancer:post", Member("p"), "p").ShouldBeTrue();
    }

    [Fact]
    public void CreateEnforcer_ConfiguredFileAbsent_IsAConfigError()
    {
        var ex = Should.Throw<ConfigException>(() =>
            PolicyFile.CreateEnforcer(OctaviaConfig.FromText("[oslo_policy]\npolicy_file = /nonexistent/oks.yaml\n")));
        ex.Message.ShouldContain("[oslo_policy] policy_file");
    }

    [Fact]
    public void CreateEnforcer_BadCheckString_IsAConfigErrorNamingFileAndPolicy()
    {
        var file = Path.Combine(_dir, "bad.yaml");
        File.WriteAllText(file, "\"os_load-balancer_api:pool:put\": \"role:a and (\"\n");
        var ex = Should.Throw<ConfigException>(() =>
            PolicyFile.CreateEnforcer(OctaviaConfig.FromText($"[oslo_policy]\npolicy_file = {file}\n")));
        ex.Message.ShouldContain(file);
        ex.Message.ShouldContain("os_load-balancer_api:pool:put");
    }

    [Fact]
    public void CreateEnforcer_EnforceNewDefaults_IsRead()
    {
        var enforcer = PolicyFile.CreateEnforcer(OctaviaConfig.FromText("[oslo_policy]\nenforce_new_defaults = true\n"));
        enforcer.Authorize("os_load-balancer_api:pool:get_one", Member("p"), "p").ShouldBeFalse();
    }
}
