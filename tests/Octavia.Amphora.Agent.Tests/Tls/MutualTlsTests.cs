// Licensed under the Apache License, Version 2.0.

using System.Net;
using System.Text.Json.Nodes;
using Octavia.Amphora.Agent.Tests.Infrastructure;

namespace Octavia.Amphora.Agent.Tests.Tls;

public sealed class MutualTlsTests
{
    [Fact]
    public async Task Request_WithoutClientCertificate_IsRefusedAtHandshake()
    {
        await using var agent = await RunningAgent.StartAsync();
        var client = agent.NewClient(certificate: null);
        await Should.ThrowAsync<HttpRequestException>(() => client.GetAsync("/1.0/info", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Request_WithCertificateFromAnotherCa_IsRefused()
    {
        await using var agent = await RunningAgent.StartAsync();
        using var otherCa = new TestCa("not-the-client-ca");
        var (cert, _) = otherCa.Issue("controller", server: false);
        using var _ = cert;
        var client = agent.NewClient(cert);
        await Should.ThrowAsync<HttpRequestException>(() => client.GetAsync("/1.0/info", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Request_WithServerCaSignedClientCertificate_IsRefused()
    {
        // The server CA signs amphorae, not controllers: trusting it for clients would let one amphora drive another.
        await using var agent = await RunningAgent.StartAsync();
        var (cert, _) = agent.ServerCa.Issue("controller", server: false);
        using var _ = cert;
        var client = agent.NewClient(cert);
        await Should.ThrowAsync<HttpRequestException>(() => client.GetAsync("/1.0/info", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Info_WithClientCertificate_ReturnsHostnameHaproxyVersionAndApiVersion()
    {
        await using var agent = await RunningAgent.StartAsync();
        var response = await agent.Client.GetAsync("/1.0/info", TestContext.Current.CancellationToken);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken))!;
        ((string?)body["api_version"]).ShouldBe("1.0");
        ((string?)body["haproxy_version"]).ShouldStartWith("2.");
        ((string?)body["hostname"]).ShouldBe(Environment.MachineName);
        agent.LastServerCertificate!.GetNameInfo(System.Security.Cryptography.X509Certificates.X509NameType.SimpleName, false).ShouldBe(agent.AmphoraId);
    }

    [Fact]
    public async Task VersionDiscovery_AtRoot_ReturnsApiVersion()
    {
        await using var agent = await RunningAgent.StartAsync();
        (await agent.Client.GetStringAsync("/", TestContext.Current.CancellationToken)).ShouldBe("{\"api_version\":\"1.0\"}");
    }

    [Fact]
    public async Task PutCertificate_NewHandshakesPresentTheNewCertificate()
    {
        await using var agent = await RunningAgent.StartAsync();
        await agent.Client.GetAsync("/1.0/info", TestContext.Current.CancellationToken);
        var before = agent.LastServerCertificate!.Thumbprint;
        var (replacement, pem) = agent.ServerCa.Issue(agent.AmphoraId, server: true);
        using var _ = replacement;

        var put = await agent.Client.PutAsync("/1.0/certificate", new StringContent(pem), TestContext.Current.CancellationToken);
        put.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        (await put.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).ShouldBe("{\"message\":\"OK\"}");

        var fresh = agent.NewClient(agent.ClientCertificate);
        (await fresh.GetAsync("/1.0/info", TestContext.Current.CancellationToken)).StatusCode.ShouldBe(HttpStatusCode.OK);
        agent.LastServerCertificate!.Thumbprint.ShouldBe(replacement.Thumbprint);
        agent.LastServerCertificate!.Thumbprint.ShouldNotBe(before);
    }

    [Fact]
    public async Task PutCertificate_WithoutKey_Returns400AndKeepsTheOldFile()
    {
        await using var agent = await RunningAgent.StartAsync();
        var old = await File.ReadAllTextAsync(agent.ServerPemPath, TestContext.Current.CancellationToken);
        var put = await agent.Client.PutAsync("/1.0/certificate", new StringContent(agent.ServerCa.CertificatePem), TestContext.Current.CancellationToken);
        put.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await File.ReadAllTextAsync(agent.ServerPemPath, TestContext.Current.CancellationToken)).ShouldBe(old);
    }

    [Fact]
    public async Task UnknownRoute_Returns404AsJson()
    {
        await using var agent = await RunningAgent.StartAsync();
        var response = await agent.Client.GetAsync("/1.0/nothing-here", TestContext.Current.CancellationToken);
        response.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/json");
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken))!;
        ((int?)body["http_code"]).ShouldBe(404);
    }
}
