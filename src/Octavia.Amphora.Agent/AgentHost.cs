// Licensed under the Apache License, Version 2.0.

using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Octavia.Amphora.Agent.Api;
using Octavia.Amphora.Agent.Haproxy;
using Octavia.Amphora.Agent.Heartbeat;
using Octavia.Amphora.Agent.Keepalived;
using Octavia.Amphora.Agent.Logging;
using Octavia.Amphora.Agent.Network;
using Octavia.Amphora.Agent.Tls;

namespace Octavia.Amphora.Agent;

/// <summary>Builds the amphora agent: the mTLS REST API, process supervision and the heartbeat sender.</summary>
public static class AgentHost
{
    /// <summary>
    /// Creates the agent host. <paramref name="configureLogging"/> lets the executable pick its log format;
    /// <paramref name="timeProvider"/> defaults to the system clock.
    /// </summary>
    public static WebApplication Build(AgentSettings settings, Action<ILoggingBuilder>? configureLogging = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (configureLogging is null)
        {
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        }
        else
        {
            configureLogging(builder.Logging);
        }
        // The admin log takes the agent's own records, as upstream's agent logs to the administrative facility.
        var adminLog = new AdminLogTap(settings.Logs.ForwardAllLogs);
        builder.Logging.AddProvider(adminLog);
        builder.Logging.AddFilter<AdminLogTap>(null, LogLevel.Trace);
        builder.Services.AddSingleton(adminLog);
        Directory.CreateDirectory(settings.BasePath);
        var paths = new AgentPaths(settings.BasePath, settings.BaseCertDir);
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton(paths);
        builder.Services.AddSingleton(timeProvider ?? TimeProvider.System);
        builder.Services.AddSingleton<AgentCertificates>();
        builder.Services.AddSingleton<HaproxyManager>();
        builder.Services.AddSingleton<KeepalivedManager>();
        builder.Services.AddSingleton<NetworkPlugger>();
        builder.Services.AddSingleton<AmphoraInfo>();
        builder.Services.AddSingleton<HeartbeatSender>();
        builder.Services.AddSingleton<AmphoraLogReceiver>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<AmphoraLogReceiver>());
        builder.Services.AddHostedService<ProcessSupervisor>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<HeartbeatSender>());
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));

        builder.WebHost.ConfigureKestrel((context, kestrel) =>
        {
            var certificates = kestrel.ApplicationServices.GetRequiredService<AgentCertificates>();
            certificates.Initialize();
            var address = settings.BindHost is "::" or "" ? IPAddress.IPv6Any : IPAddress.Parse(settings.BindHost);
            kestrel.Listen(address, settings.BindPort, listen => listen.UseHttps(new TlsHandshakeCallbackOptions
            {
                OnConnection = _ => ValueTask.FromResult(certificates.ServerOptions()),
                HandshakeTimeout = TimeSpan.FromSeconds(10),
            }));
            kestrel.Limits.KeepAliveTimeout = TimeSpan.FromSeconds(settings.RequestReadTimeout);
            kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(Math.Min(settings.RequestReadTimeout, 60));
        });

        var app = builder.Build();
        var haproxy = app.Services.GetRequiredService<HaproxyManager>();
        var keepalived = app.Services.GetRequiredService<KeepalivedManager>();
        // If the process is torn down before the graceful stop finished, children must still not outlive it.
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            haproxy.SignalAll();
            keepalived.SignalAll();
        };
        // Upstream's agent renders every error page as JSON; the controller treats a non-JSON 404 as "not ready yet".
        app.UseStatusCodePages(async context =>
        {
            var status = context.HttpContext.Response.StatusCode;
            var description = status switch
            {
                404 => "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.",
                405 => "The method is not allowed for the requested URL.",
                _ => "The server could not handle the request.",
            };
            await Reply.Error(status, description).ExecuteAsync(context.HttpContext);
        });
        AgentApi.Map(app);
        return app;
    }
}

/// <summary>Starts configured HAProxy and keepalived at agent start, and stops everything by PID at shutdown.</summary>
internal sealed class ProcessSupervisor(
    AgentSettings settings,
    HaproxyManager haproxy,
    KeepalivedManager keepalived,
    NetworkPlugger plugger,
    ILogger<ProcessSupervisor> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        Log.Listening(logger, $"{settings.BindHost}:{settings.BindPort}", settings.AmphoraId, plugger.NamespaceMode);
        await plugger.PlugLoAsync(cancellationToken).ConfigureAwait(false);
        await haproxy.StartConfiguredAsync(cancellationToken).ConfigureAwait(false);
        if (keepalived.IsConfigured && keepalived.Pid == 0)
        {
            await keepalived.Lock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await keepalived.ApplyAsync("start", cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                keepalived.Lock.Release();
            }
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // In parallel: the host may get only a couple of seconds between SIGTERM and process exit.
        await Task.WhenAll(keepalived.StopAllAsync(), haproxy.StopAllAsync()).ConfigureAwait(false);
    }
}
