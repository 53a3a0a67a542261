// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;

namespace Octavia.Drivers.Tests.Amphorae.Support;

/// <summary>
/// A small Kestrel server speaking the agent's API 1.0 over mutual TLS, so the REST driver's TLS rules,
/// retries and call sequence are exercised on a real socket. Certificates land under <see cref="CertRoot"/>
/// at the paths the rendered config names, so the uploaded haproxy.cfg can be checked by HAProxy itself.
/// </summary>
internal sealed class FakeAgent : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeAgent(WebApplication app, int port, string certRoot)
    {
        _app = app;
        Port = port;
        CertRoot = certRoot;
    }

    public int Port { get; }

    public string CertRoot { get; }

    public sealed record Call(string Method, string Path, string UserAgent, string? ClientCertSubject, string Body);

    public ConcurrentQueue<Call> Calls { get; } = new();

    public ConcurrentDictionary<string, string> Files { get; } = new();

    /// <summary>Requests to answer with a plain-text 404 before behaving (the agent "not up yet").</summary>
    public int NotReadyFor;

    /// <summary>When set, every request gets this status with a JSON error.</summary>
    public int? FailWith;

    /// <summary>What GET /1.0/info reports as <c>haproxy_version</c>.</summary>
    public string HaproxyVersion { get; set; } = "2.6.12-1";

    public static async Task<FakeAgent> StartAsync(X509Certificate2 serverCert, X509Certificate2 clientCa, string certRoot)
    {
        var port = Octavia.Tests.Shared.TestEnvironment.FreeTcpPort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, port, l => l.UseHttps(h =>
        {
            h.ServerCertificate = serverCert;
            h.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
            h.ClientCertificateValidation = (cert, _, _) =>
            {
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(clientCa);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(cert);
            };
        })));
        var app = builder.Build();
        FakeAgent? self = null;
        app.Run(async ctx => await self!.HandleAsync(ctx));
        await app.StartAsync();
        self = new FakeAgent(app, port, certRoot);
        return self;
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        using var reader = new StreamReader(ctx.Request.Body);
        var body = await reader.ReadToEndAsync();
        var path = ctx.Request.Path.Value ?? "";
        Calls.Enqueue(new Call(ctx.Request.Method, path, ctx.Request.Headers.UserAgent.ToString(),
            ctx.Connection.ClientCertificate?.GetNameInfo(X509NameType.SimpleName, false), body));
        if (Interlocked.Decrement(ref NotReadyFor) >= 0)
        {
            ctx.Response.StatusCode = 404;
            ctx.Response.ContentType = "text/html";
            await ctx.Response.WriteAsync("<html>starting</html>");
            return;
        }
        if (FailWith is { } code)
        {
            await JsonAsync(ctx, code, "{\"message\":\"boom\",\"details\":\"agent failure\"}");
            return;
        }
        var parts = path.Trim('/').Split('/');
        switch (ctx.Request.Method, parts)
        {
            case ("GET", ["1.0", "info"]):
                await JsonAsync(ctx, 200, "{\"hostname\":\"amp\",\"haproxy_version\":\"" + HaproxyVersion + "\",\"api_version\":\"1.0\"}");
                break;
            case ("GET", ["1.0", "loadbalancer", var lb, "certificates", var name]):
                if (Files.TryGetValue($"{lb}/{name}", out var pem))
                {
#pragma warning disable CA5351 // The agent API's md5sum field.
                    var md5 = Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(pem)));
#pragma warning restore CA5351
                    await JsonAsync(ctx, 200, $"{{\"md5sum\":\"{md5}\"}}");
                }
                else
                {
                    await JsonAsync(ctx, 404, "{\"message\":\"Certificate Not Found\",\"details\":\"No certificate with filename\"}");
                }
                break;
            case ("PUT", ["1.0", "loadbalancer", var lb, "certificates", var name]):
                Files[$"{lb}/{name}"] = body;
                Directory.CreateDirectory(Path.Combine(CertRoot, lb));
                await File.WriteAllTextAsync(Path.Combine(CertRoot, lb, name), body);
                await JsonAsync(ctx, 200, "{\"message\":\"OK\"}");
                break;
            case ("PUT", ["1.0", "loadbalancer", _, var lb, "haproxy"]):
                Files[$"{lb}/haproxy.cfg"] = body;
                await JsonAsync(ctx, 202, "{\"message\":\"OK\"}");
                break;
            case ("PUT", ["1.0", "loadbalancer", _, "reload" or "start" or "stop"]):
                await JsonAsync(ctx, 202, "{\"message\":\"OK\"}");
                break;
            case ("PUT", ["1.0", "vrrp", "upload"]):
                Files["keepalived.conf"] = body;
                await JsonAsync(ctx, 200, "{\"message\":\"OK\"}");
                break;
            case ("GET", ["1.0", "interface", var ip]):
                if (ip == "127.0.0.1")
                {
                    await JsonAsync(ctx, 200, "{\"interface\":\"lo\"}");
                }
                else
                {
                    await JsonAsync(ctx, 404, "{\"message\":\"Error interface not found for IP address\"}");
                }
                break;
            case ("DELETE", ["1.0", "listeners", _]):
                await JsonAsync(ctx, 404, "{\"message\":\"Listener Not Found\"}");
                break;
            case ("POST", ["1.0", "plug", "vip", _]):
                await JsonAsync(ctx, 202, "{\"message\":\"OK\"}");
                break;
            default:
                await JsonAsync(ctx, 405, "{\"message\":\"not here\"}");
                break;
        }
    }

    private static async Task JsonAsync(HttpContext ctx, int status, string json)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync(json);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
