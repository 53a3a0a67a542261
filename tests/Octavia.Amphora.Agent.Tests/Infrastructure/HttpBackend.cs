// Licensed under the Apache License, Version 2.0.

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Octavia.Tests.Shared;

namespace Octavia.Amphora.Agent.Tests.Infrastructure;

/// <summary>A member: a plain HTTP server on a loopback port that answers <c>GET /</c> with its name.</summary>
internal sealed class HttpBackend : IAsyncDisposable
{
    private readonly WebApplication _app;

    private HttpBackend(WebApplication app, int port, string name)
    {
        _app = app;
        Port = port;
        Name = name;
    }

    public int Port { get; }

    public string Name { get; }

    public static async Task<HttpBackend> StartAsync(string name, string address = "127.0.0.1")
    {
        var port = TestEnvironment.FreeTcpPort(address);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://{address}:{port}");
        var app = builder.Build();
        app.MapGet("/", () => Results.Text(name));
        await app.StartAsync();
        return new HttpBackend(app, port, name);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>Hand-written minimal haproxy.cfg in the shape of upstream's template (one frontend, one pool).</summary>
internal static class TestConfigs
{
    public static string Haproxy(string basePath, string lbId, string listenerId, string poolId, string memberId, int listenPort, int memberPort,
        int maxconn = 1000, string bindAddress = "127.0.0.1", string extraGlobal = "") => $"""
        # Configuration for loadbalancer {lbId}
        global
            daemon
        {(TestEnvironment.IsRoot ? "    user nobody\n    group nogroup" : "")}
            maxconn {maxconn}
            stats socket {basePath}/{lbId}.sock mode 0666 level user
            hard-stop-after 30s
        {extraGlobal}

        defaults
            log global
            retries 3
            option redispatch
            timeout connect 5000
            timeout client 50000
            timeout server 50000

        frontend {listenerId}
            maxconn {maxconn}
            bind {bindAddress}:{listenPort}
            mode http
            default_backend {poolId}:{listenerId}

        backend {poolId}:{listenerId}
            mode http
            balance roundrobin
            server {memberId} 127.0.0.1:{memberPort} weight 1

        """;
}
