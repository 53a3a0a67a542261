// Licensed under the Apache License, Version 2.0.

using System.Text.Json.Nodes;

namespace Octavia.Api.Tests;

public sealed class HostingTests : IAsyncLifetime
{
    private ApiServer _api = null!;

    public async ValueTask InitializeAsync() => _api = await ApiServer.StartAsync();

    public async ValueTask DisposeAsync() => await _api.DisposeAsync();

    [Fact]
    public async Task Root_ListsVersions_V227Current()
    {
        var (status, body) = await _api.GetAsync("/", project: null);
        status.ShouldBe(200);
        var versions = body!["versions"]!.AsArray();
        versions.Count.ShouldBe(28);
        ((string?)versions[^1]!["id"]).ShouldBe("v2.27");
        ((string?)versions[^1]!["status"]).ShouldBe("CURRENT");
        ((string?)versions[0]!["links"]![0]!["href"]).ShouldBe(_api.BaseUrl + "/v2");
    }

    [Theory]
    [InlineData("/v2/lbaas/nothing-here", 404)]
    [InlineData("/v3", 404)]
    public async Task UnknownRoute_Returns404Fault(string path, int code)
    {
        var (status, body) = await _api.GetAsync(path);
        status.ShouldBe(code);
        ((string?)body!["faultcode"]).ShouldBe("Client");
        body["faultstring"].ShouldNotBeNull();
        body.AsObject().ContainsKey("debuginfo").ShouldBeTrue();
    }

    [Fact]
    public async Task WrongMethod_Returns405Fault()
    {
        var (status, body) = await _api.SendAsync(HttpMethod.Patch, "/v2/lbaas/loadbalancers", new JsonObject());
        status.ShouldBe(405);
        ((string?)body!["faultcode"]).ShouldBe("Client");
    }

    [Fact]
    public async Task Healthcheck_DisabledByDefault_Returns404()
    {
        var (status, _) = await _api.GetAsync("/healthcheck");
        status.ShouldBe(404);
    }

    [Fact]
    public async Task V20AliasAndJsonSuffix_ServeSameCollection()
    {
        var (s1, b1) = await _api.GetAsync("/v2.0/lbaas/loadbalancers");
        var (s2, b2) = await _api.GetAsync("/v2/lbaas/loadbalancers.json");
        s1.ShouldBe(200);
        s2.ShouldBe(200);
        b1!["loadbalancers"].ShouldNotBeNull();
        b2!["loadbalancers"].ShouldNotBeNull();
    }

    [Fact]
    public async Task V2Root_ReturnsString()
    {
        var (status, body) = await _api.GetAsync("/v2");
        status.ShouldBe(200);
        ((string?)body).ShouldBe("v2");
    }
}
