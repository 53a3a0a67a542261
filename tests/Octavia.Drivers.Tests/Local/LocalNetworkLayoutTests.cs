// Licensed under the Apache License, Version 2.0.

using System.Net;
using Octavia.Core.Configuration;
using Octavia.Drivers.Compute.Local;
using Octavia.Drivers.Network.Local;

namespace Octavia.Drivers.Tests.Local;

public sealed class LocalNetworkLayoutTests
{
    [Fact]
    public void Parse_Defaults_GiveTheAllInOneLayoutWithStableIds()
    {
        var options = OptionBinder.Bind<LocalNetworksOptions>(OctaviaConfig.FromText(""));

        var layout = LocalNetworkLayout.Parse(options.Networks, LocalMode.Namespace);

        var mgmt = layout.FindNetwork("lb-mgmt-net")!;
        mgmt.Subnets.Single().Cidr.ShouldBe(IPNetwork.Parse("198.18.0.0/24"));
        mgmt.Subnets.Single().HostAddress.ShouldBe(IPAddress.Parse("198.18.0.1"));
        mgmt.Subnets.Single().Gateway.ShouldBeNull();
        var priv = layout.FindSubnet("private-subnet")!;
        priv.Cidr.ShouldBe(IPNetwork.Parse("198.19.0.0/24"));
        priv.Gateway.ShouldBe(IPAddress.Parse("198.19.0.1"));
        priv.HostAddress.ShouldBe(IPAddress.Parse("198.19.0.1"));
        layout.NetworkOf(priv).Name.ShouldBe("private");
        layout.NetworkOf(priv).Bridge.ShouldBe("br-private");
        // Stable across processes and hosts, and a valid UUID.
        priv.Id.ShouldBe(LocalNetworkLayout.Parse(options.Networks, LocalMode.Namespace).FindSubnet("private-subnet")!.Id);
        Guid.TryParse(priv.Id, out _).ShouldBeTrue();
        layout.FindSubnet(priv.Id).ShouldBe(priv);
    }

    [Fact]
    public void Parse_Loopback_MapsEachSubnetInto127KeepingHostParts()
    {
        var layout = LocalNetworkLayout.Parse(LocalNetworksOptions.DefaultNetworks, LocalMode.Loopback);

        layout.FindSubnet("lb-mgmt-subnet")!.Cidr.ShouldBe(IPNetwork.Parse("127.64.0.0/24"));
        layout.FindSubnet("lb-mgmt-subnet")!.HostAddress.ShouldBe(IPAddress.Parse("127.64.0.1"));
        layout.FindSubnet("private-subnet")!.Cidr.ShouldBe(IPNetwork.Parse("127.65.0.0/24"));
        layout.FindSubnet("private-subnet")!.Gateway.ShouldBe(IPAddress.Parse("127.65.0.1"));
        layout.Effective(IPAddress.Parse("198.18.0.1")).ShouldBe(IPAddress.Parse("127.64.0.1"));
        layout.Effective(IPAddress.Parse("10.0.0.1")).ShouldBe(IPAddress.Parse("10.0.0.1"));
    }

    [Fact]
    public void Parse_SeveralLinesOneName_MakeOneNetworkWithSeveralSubnets()
    {
        var layout = LocalNetworkLayout.Parse(
        [
            "name=tenant,subnet=a,cidr=198.18.30.0/26,bridge=olcx",
            "name=tenant,subnet=b,cidr=198.18.30.64/26",
        ], LocalMode.Namespace);

        layout.Networks.Single().Subnets.Select(s => s.Name).ShouldBe(["a", "b"]);
        layout.Networks.Single().Bridge.ShouldBe("olcx");
    }

    [Theory]
    [InlineData("subnet=a,cidr=198.18.30.0/26", "'name=' is required")]
    [InlineData("name=n,subnet=a,cidr=fd00::/64", "IPv4 only")]
    [InlineData("name=n,subnet=a,cidr=198.18.30.0/26,gateway=10.0.0.1", "gateway '10.0.0.1' is not an address inside")]
    [InlineData("name=n,subnet=a,cidr=198.18.30.0/26,color=blue", "unknown key 'color'")]
    [InlineData("name=n,subnet=a,cidr=198.18.30.0/26,bridge=a-very-long-bridge-name", "longer than 15")]
    [InlineData("name=n,subnet=a,cidr=198.18.30.0/26,mtu=9", "mtu '9'")]
    public void Parse_BadLine_NamesTheProblem(string line, string expected)
    {
        var error = Should.Throw<ConfigException>(() => LocalNetworkLayout.Parse([line], LocalMode.Namespace));

        error.Message.ShouldStartWith("[local_networks] networks:");
        error.Message.ShouldContain(expected);
    }

    [Fact]
    public void Parse_OverlappingSubnets_AreRejected()
    {
        var error = Should.Throw<ConfigException>(() => LocalNetworkLayout.Parse(
            ["name=a,subnet=a1,cidr=198.18.30.0/24", "name=b,subnet=b1,cidr=198.18.30.64/26"], LocalMode.Namespace));

        error.Message.ShouldContain("overlap");
    }

    [Fact]
    public void Context_UnknownManagementNetwork_FailsAtStart()
    {
        var config = OctaviaConfig.FromText("[local_compute]\nmode = loopback\nmanagement_network = nope\nagent_executable = /bin/true\n");

        var error = Should.Throw<ConfigException>(() => LocalDriverContext.FromConfig(config, TimeProvider.System));

        error.Message.ShouldContain("[local_compute] management_network: network 'nope'");
    }

    [Fact]
    public void Context_BootNetworkList_PicksTheManagementNetwork()
    {
        var config = OctaviaConfig.FromText("[local_compute]\nmode = loopback\nagent_executable = /bin/true\n[controller_worker]\namp_boot_network_list = private\n");

        var context = LocalDriverContext.FromConfig(config, TimeProvider.System);

        context.ManagementNetwork.Name.ShouldBe("private");
        context.StateDir.ShouldBe("/var/lib/octavia/local");
    }

    [Fact]
    public async Task Create_DefaultLoopbackConfig_ServesTheAllInOneNetworks()
    {
        var config = OctaviaConfig.FromText("[local_compute]\nmode = loopback\nagent_executable = /bin/true\n");

        var (compute, network) = LocalDrivers.Create(config, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, TimeProvider.System);

        compute.ShouldNotBeNull();
        (await network.ListNetworksAsync(TestContext.Current.CancellationToken)).Select(n => n.Name).ShouldBe(["lb-mgmt-net", "private"]);
        (await network.GetSubnetAsync("private-subnet", TestContext.Current.CancellationToken))!.Cidr.ShouldBe("127.65.0.0/24");
    }

    [Fact]
    public void Config_SampleDocumentsTheOptionsAsOurs()
    {
        var sample = SampleConfig.Generate();

        sample.ShouldContain("[local_compute]");
        sample.ShouldContain("[local_networks]");
        OptionCatalog.Get("local_compute", "mode").Ours.ShouldBeTrue();
        Should.Throw<ConfigException>(() => OptionBinder.ValidateAll(OctaviaConfig.FromText("[local_compute]\nmode = vm\n")));
    }
}

public sealed class IniTextTests
{
    [Fact]
    public void Set_ExistingKey_ReplacesOnlyThatLine()
    {
        var text = "[DEFAULT]\ndebug = true\n\n[haproxy_amphora]\n# comment\nbind_host = ::\nbind_port = 9443\n";

        var result = IniText.Set(text, "haproxy_amphora", "bind_host", "127.64.0.2");

        result.ShouldBe("[DEFAULT]\ndebug = true\n\n[haproxy_amphora]\n# comment\nbind_host = 127.64.0.2\nbind_port = 9443\n");
    }

    [Fact]
    public void Set_MissingKey_AddsItAfterTheSectionsLastOption()
    {
        var text = "[amphora_agent]\nagent_server_ca = /x\n\n[health_manager]\nheartbeat_interval = 10\n";

        var result = IniText.Set(text, "amphora_agent", "amphora_id", "abc");

        IniText.Get(result, "amphora_agent", "amphora_id").ShouldBe("abc");
        result.IndexOf("amphora_id", StringComparison.Ordinal).ShouldBeLessThan(result.IndexOf("[health_manager]", StringComparison.Ordinal));
    }

    [Fact]
    public void Set_MissingSection_AppendsIt()
    {
        var result = IniText.Set("[DEFAULT]\ndebug = true", "amphora_agent", "amphora_id", "abc");

        result.ShouldBe("[DEFAULT]\ndebug = true\n\n[amphora_agent]\namphora_id = abc\n");
        OctaviaConfig.FromText(result).Get("amphora_agent", "amphora_id").ShouldBe("abc");
    }
}
