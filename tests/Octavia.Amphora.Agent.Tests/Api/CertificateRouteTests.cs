// Licensed under the Apache License, Version 2.0.

using System.Net;
using System.Security.Cryptography;
using System.Text;
using Octavia.Amphora.Agent.Tests.Infrastructure;

namespace Octavia.Amphora.Agent.Tests.Api;

public sealed class CertificateRouteTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task PutGetDelete_ListenerCertificate_FollowsUpstream()
    {
        await using var agent = await RunningAgent.StartAsync();
        var lb = Guid.NewGuid().ToString();
        const string pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        var md5 = Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(pem)));
        var path = $"/1.0/loadbalancer/{lb}/certificates/{lb}.pem";

        var put = await agent.Client.PutAsync(path, new StringContent(pem), Ct);
        put.StatusCode.ShouldBe(HttpStatusCode.OK);
        string.Join("", put.Headers.NonValidated["ETag"]).ShouldBe(md5);
        var file = Path.Combine(agent.CertDir, lb, lb + ".pem");
        (await File.ReadAllTextAsync(file, Ct)).ShouldBe(pem);
        File.GetUnixFileMode(file).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite);

        var get = await agent.Client.GetAsync(path, Ct);
        get.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await get.BodyAsync()).ToJsonString().ShouldBe($"{{\"md5sum\":\"{md5}\"}}");

        (await agent.Client.DeleteAsync(path, Ct)).StatusCode.ShouldBe(HttpStatusCode.OK);
        var missing = await agent.Client.GetAsync(path, Ct);
        missing.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await missing.BodyAsync()).ToJsonString().ShouldBe($"{{\"message\":\"Certificate Not Found\",\"details\":\"No certificate with filename: {lb}.pem\"}}");
    }

    [Fact]
    public async Task PutCertificate_WithBadFilename_Returns400()
    {
        await using var agent = await RunningAgent.StartAsync();
        var response = await agent.Client.PutAsync($"/1.0/loadbalancer/{Guid.NewGuid()}/certificates/cert.txt", new StringContent("x"), Ct);
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.BodyAsync()).ToJsonString().ShouldBe("{\"message\":\"Filename has wrong format\"}");
    }
}
