// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Octavia.Drivers.Tests.Amphorae.Support;

/// <summary>A real HTTP(S) member: answers with its name, records request headers, /health follows <see cref="Healthy"/>.</summary>
internal sealed class HttpBackend : IAsyncDisposable
{
    private readonly WebApplication _app;

    private HttpBackend(string name, string address, WebApplication app, int port)
    {
        Name = name;
        Address = address;
        _app = app;
        Port = port;
    }

    public string Name { get; }

    public string Address { get; }

    public int Port { get; }

    public volatile bool Healthy = true;

    public ConcurrentQueue<IHeaderDictionary> Requests { get; } = new();

    public static async Task<HttpBackend> StartAsync(string name, string address = "127.0.0.1", X509Certificate2? certificate = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Parse(address), 0, l =>
        {
            if (certificate is not null)
            {
                l.UseHttps(certificate);
            }
        }));
        var app = builder.Build();
        HttpBackend? self = null;
        app.Run(async ctx =>
        {
            var me = self!;
            if (ctx.Request.Path == "/health")
            {
                ctx.Response.StatusCode = me.Healthy ? 200 : 503;
                await ctx.Response.WriteAsync(me.Healthy ? "ok" : "sick");
                return;
            }
            var copy = new HeaderDictionary();
            foreach (var h in ctx.Request.Headers)
            {
                copy[h.Key] = h.Value;
            }
            me.Requests.Enqueue(copy);
            ctx.Response.Headers["X-Backend"] = me.Name;
            if (ctx.Request.Path.StartsWithSegments("/setapp"))
            {
                ctx.Response.Headers.SetCookie = "APPSESSION=" + me.Name;
            }
            await ctx.Response.WriteAsync(me.Name);
        });
        await app.StartAsync();
        var url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var port = new Uri(url.Replace("[::]", "localhost", StringComparison.Ordinal)).Port;
        self = new HttpBackend(name, address, app, port);
        return self;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>A raw TCP member that records what arrives before the HTTP request (the PROXY protocol header).</summary>
internal sealed class RawBackend : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _cts = new();
    private readonly Task _loop;

    public RawBackend(string address = "127.0.0.1")
    {
        _listener = new TcpListener(IPAddress.Parse(address), 0);
        _listener.Start();
        Address = address;
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _loop = Task.Run(AcceptLoopAsync);
    }

    public string Address { get; }

    public int Port { get; }

    /// <summary>Each connection's first bytes (up to the end of the HTTP request head).</summary>
    public ConcurrentQueue<byte[]> Received { get; } = new();

    private async Task AcceptLoopAsync()
    {
        while (!_cts.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_cts.Token);
            }
            catch (Exception) when (_cts.IsCancellationRequested)
            {
                return;
            }
            _ = Task.Run(async () =>
            {
                using (client)
                {
                    var stream = client.GetStream();
                    var buffer = new List<byte>();
                    var chunk = new byte[4096];
                    while (true)
                    {
                        var n = await stream.ReadAsync(chunk);
                        if (n <= 0)
                        {
                            break;
                        }
                        buffer.AddRange(chunk.AsSpan(0, n).ToArray());
                        if (Encoding.Latin1.GetString(buffer.ToArray()).Contains("\r\n\r\n", StringComparison.Ordinal))
                        {
                            break;
                        }
                    }
                    Received.Enqueue([.. buffer]);
                    var body = "raw"u8.ToArray();
                    await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n"));
                    await stream.WriteAsync(body);
                }
            });
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        _listener.Stop();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }
        _cts.Dispose();
    }
}
