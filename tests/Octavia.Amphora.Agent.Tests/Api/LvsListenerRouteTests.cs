// Licensed under the Apache License, Version 2.0.

using System.Net;
using Octavia.Amphora.Agent.Tests.Infrastructure;

namespace Octavia.Amphora.Agent.Tests.Api;

/// <summary>UDP/SCTP listeners: configs are stored and listed as upstream does; running them needs IPVS, which this kernel lacks.</summary>
public sealed class LvsListenerRouteTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task UdpListener_UploadGetListStartDelete_StoresTheConfigAndRefusesToStartClearly()
    {
        await using var agent = await RunningAgent.StartAsync();
        var listener = Guid.NewGuid().ToString();
        const string config = "# keepalived LVS config\nnet_namespace amphora-haproxy\n";
        var put = await agent.Client.PutAsync($"/1.0/listeners/{agent.AmphoraId}/{listener}/udp_listener", new StringContent(config), Ct);
        put.StatusCode.ShouldBe(HttpStatusCode.OK);

        (await agent.Client.GetStringAsync($"/1.0/listeners/{listener}/udp_listener", Ct)).ShouldBe(config);
        (await (await agent.Client.GetAsync("/1.0/listeners", Ct)).BodyAsync()).ToJsonString()
            .ShouldBe($"[{{\"status\":\"OFFLINE\",\"uuid\":\"{listener}\",\"type\":\"UDP\"}}]");

        var start = await agent.Client.PutAsync($"/1.0/loadbalancer/{listener}/start", null, Ct);
        start.StatusCode.ShouldBe(HttpStatusCode.InternalServerError);
        ((string?)(await start.BodyAsync())["details"])!.ShouldContain("IPVS");

        (await agent.Client.DeleteAsync($"/1.0/listeners/{listener}", Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        var gone = await agent.Client.GetAsync($"/1.0/listeners/{listener}/udp_listener", Ct);
        gone.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        ((string?)(await gone.BodyAsync())["message"]).ShouldBe("UDP Listener Not Found");
    }

    [Fact]
    public async Task VrrpAction_Unknown_Returns400()
    {
        await using var agent = await RunningAgent.StartAsync();
        var response = await agent.Client.PutAsync("/1.0/vrrp/dance", null, Ct);
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.BodyAsync()).ToJsonString().ShouldBe("{\"message\":\"Invalid Request\",\"details\":\"Unknown action: dance\"}");
    }
}
