// Licensed under the Apache License, Version 2.0.

using Octavia.Core.Configuration;

namespace Octavia.Core.Tests.Configuration;

public sealed class OptionBinderTests
{
    [Fact]
    public void Bind_UnsetOptions_TakeUpstreamDefaults()
    {
        var api = OptionBinder.Bind<ApiSettingsOptions>(OctaviaConfig.FromText(""));
        api.BindHost.ShouldBe("127.0.0.1");
        api.BindPort.ShouldBe(9876);
        api.AuthStrategy.ShouldBe("keystone");
        api.EnabledProviderDrivers.Keys.ShouldBe(["amphora", "octavia"], ignoreOrder: true);
        var hm = OptionBinder.Bind<HealthManagerOptions>(OctaviaConfig.FromText(""));
        hm.HeartbeatTimeout.ShouldBe(60);
        hm.FailoverThreshold.ShouldBeNull();
    }

    [Fact]
    public void Bind_BadInteger_NamesSectionAndOption()
    {
        var config = OctaviaConfig.FromText("[api_settings]\nbind_port = abc\n");
        var ex = Should.Throw<ConfigException>(() => OptionBinder.Bind<ApiSettingsOptions>(config));
        ex.Message.ShouldBe("[api_settings] bind_port: 'abc' is not an integer");
    }

    [Fact]
    public void Bind_PortOutOfRange_IsRejected()
    {
        var config = OctaviaConfig.FromText("[health_manager]\nbind_port = 70000\n");
        Should.Throw<ConfigException>(() => OptionBinder.Bind<HealthManagerOptions>(config))
            .Message.ShouldStartWith("[health_manager] bind_port:");
    }

    [Fact]
    public void Bind_ChoiceNotAllowed_ListsTheChoices()
    {
        var config = OctaviaConfig.FromText("[controller_worker]\nloadbalancer_topology = TRIPLE\n");
        var ex = Should.Throw<ConfigException>(() => OptionBinder.Bind<ControllerWorkerOptions>(config));
        ex.Message.ShouldContain("[controller_worker] loadbalancer_topology: 'TRIPLE' is not one of");
    }

    [Fact]
    public void Load_LaterFileOverridesEarlier()
    {
        var dir = Directory.CreateTempSubdirectory();
        try
        {
            var a = Path.Combine(dir.FullName, "a.conf");
            var b = Path.Combine(dir.FullName, "b.conf");
            File.WriteAllText(a, "[api_settings]\nbind_port = 1000\nbind_host = 127.0.0.2\n");
            File.WriteAllText(b, "[api_settings]\nbind_port = 2000\n");
            var api = OptionBinder.Bind<ApiSettingsOptions>(OctaviaConfig.Load([a, b]));
            api.BindPort.ShouldBe(2000);
            api.BindHost.ShouldBe("127.0.0.2");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Bind_ListAndDict_SplitAsOsloDoes()
    {
        var config = OctaviaConfig.FromText("[api_settings]\nenabled_provider_drivers = amphora: The amphora, noop_driver:Noop\n[health_manager]\ncontroller_ip_port_list = 127.0.0.1:5555, 127.0.0.2:5555\n");
        OptionBinder.Bind<ApiSettingsOptions>(config).EnabledProviderDrivers.ShouldBe(
            new Dictionary<string, string> { ["amphora"] = "The amphora", ["noop_driver"] = "Noop" });
        OptionBinder.Bind<HealthManagerOptions>(config).ControllerIpPortList.ShouldBe(["127.0.0.1:5555", "127.0.0.2:5555"]);
    }

    [Fact]
    public void EverySectionProperty_HasACatalogDefinition()
    {
        var types = typeof(OptionCatalog).Assembly.GetTypes()
            .Where(t => t.GetCustomAttributes(typeof(OsloSectionAttribute), false).Length > 0);
        foreach (var type in types)
        {
            var method = typeof(OptionBinder).GetMethod(nameof(OptionBinder.Bind))!.MakeGenericMethod(type);
            Should.NotThrow(() => method.Invoke(null, [OctaviaConfig.FromText("")]));
        }
    }

    [Fact]
    public void Sample_ContainsEveryOptionCommentedOut()
    {
        var sample = SampleConfig.Generate();
        sample.ShouldContain("[api_settings]");
        sample.ShouldContain("#bind_port = 9876");
        sample.ShouldContain("#heartbeat_timeout = 60");
        // The sample must itself parse.
        OsloIniParser.Parse(sample, "sample").ShouldContainKey("health_manager");
    }
}
