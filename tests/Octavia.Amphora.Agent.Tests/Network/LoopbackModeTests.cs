// Licensed under the Apache License, Version 2.0.

using System.Net;
using System.Text.Json.Nodes;
using Octavia.Amphora.Agent.Tests.Infrastructure;
using Octavia.Tests.Shared;

namespace Octavia.Amphora.Agent.Tests.Network;

/// <summary>The agent in the host's namespace (no <c>ip netns exec</c>): what plugging and interface lookup do there.</summary>
public sealed class LoopbackModeTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static StringContent VipBody(string mac = "02:00:00:00:00:01") => new(new JsonObject
    {
        ["subnet_cidr"] = "127.0.0.0/8",
        ["gateway"] = null,
        ["mac_address"] = mac,
    }.ToJsonString());

    [Fact]
    public async Task PlugVip_OutsideLoopbackRange_Returns400Explaining()
    {
        await using var agent = await RunningAgent.StartAsync();
        var body = new JsonObject { ["subnet_cidr"] = "198.18.10.0/24", ["gateway"] = "198.18.10.1", ["mac_address"] = "02:00:00:00:00:01" };
        var response = await agent.Client.PostAsync("/1.0/plug/vip/198.18.10.50", new StringContent(body.ToJsonString()), Ct);
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var json = await response.BodyAsync();
        ((string?)json["message"]).ShouldBe("Cannot plug VIP");
        ((string?)json["details"])!.ShouldContain("loopback mode");
    }

    [Fact]
    public async Task PlugVip_WithInvalidAddress_Returns400InvalidVip()
    {
        await using var agent = await RunningAgent.StartAsync();
        var response = await agent.Client.PostAsync("/1.0/plug/vip/not-an-ip", VipBody(), Ct);
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        ((string?)(await response.BodyAsync())["message"])!.ShouldStartWith("Invalid VIP: ");
    }

    [Fact]
    public async Task PlugVip_InLoopbackRange_AddsSlash32OnLo()
    {
        if (!TestEnvironment.IsRoot)
        {
            Assert.Skip("needs root");
        }
        await using var agent = await RunningAgent.StartAsync();
        var vip = $"127.{Random.Shared.Next(100, 250)}.{Random.Shared.Next(1, 250)}.{Random.Shared.Next(1, 250)}";
        try
        {
            var response = await agent.Client.PostAsync($"/1.0/plug/vip/{vip}", VipBody(), Ct);
            response.StatusCode.ShouldBe(HttpStatusCode.Accepted);
            (await response.BodyAsync()).ToJsonString().ShouldBe($"{{\"message\":\"OK\",\"details\":\"VIPs plugged on interface lo: {vip}\"}}");
            TestEnvironment.Run("ip", "-4", "addr", "show", "dev", "lo").Output.ShouldContain($"inet {vip}/32");

            var iface = await agent.Client.GetAsync($"/1.0/interface/{vip}", Ct);
            (await iface.BodyAsync()).ToJsonString().ShouldBe("{\"message\":\"OK\",\"interface\":\"lo\"}");
        }
        finally
        {
            TestEnvironment.Run("ip", "addr", "del", $"{vip}/32", "dev", "lo");
        }
    }

    [Fact]
    public async Task PlugNetwork_InLoopbackMode_AcceptsAndSaysNothingWasPlugged()
    {
        await using var agent = await RunningAgent.StartAsync();
        var body = new JsonObject { ["mac_address"] = "02:00:00:00:00:02", ["fixed_ips"] = new JsonArray(), ["mtu"] = 1500 };
        var response = await agent.Client.PostAsync("/1.0/plug/network", new StringContent(body.ToJsonString()), Ct);
        response.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        ((string?)(await response.BodyAsync())["details"])!.ShouldContain("Loopback mode");
    }

    [Fact]
    public async Task PlugNetwork_WithoutMac_Returns400InvalidPortInformation()
    {
        await using var agent = await RunningAgent.StartAsync();
        var response = await agent.Client.PostAsync("/1.0/plug/network", new StringContent("[]"), Ct);
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.BodyAsync()).ToJsonString().ShouldBe("{\"error\":\"400 Bad Request: Invalid port information\",\"http_code\":400}");
    }

    [Fact]
    public async Task Interface_ForLoopback_InvalidAndUnknownAddresses_FollowsUpstream()
    {
        await using var agent = await RunningAgent.StartAsync();
        (await (await agent.Client.GetAsync("/1.0/interface/127.0.0.1", Ct)).BodyAsync()).ToJsonString().ShouldBe("{\"message\":\"OK\",\"interface\":\"lo\"}");

        var invalid = await agent.Client.GetAsync("/1.0/interface/999.1.1.1", Ct);
        invalid.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await invalid.BodyAsync()).ToJsonString().ShouldBe("{\"message\":\"Invalid IP address\"}");

        var unknown = await agent.Client.GetAsync("/1.0/interface/203.0.113.77", Ct);
        unknown.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await unknown.BodyAsync()).ToJsonString().ShouldBe("{\"message\":\"Error interface not found for IP address\"}");
    }
}
