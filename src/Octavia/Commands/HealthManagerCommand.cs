// Licensed under the Apache License, Version 2.0.

using System.CommandLine;
using Microsoft.Extensions.Logging;
using Octavia.Controller.HealthManager;
using Octavia.Core.Configuration;
using Octavia.Core.Messaging;
using Octavia.Data;

namespace Octavia.Commands;

/// <summary><c>octavia health-manager</c>: upstream's <c>octavia-health-manager</c>.</summary>
internal static class HealthManagerCommand
{
    /// <summary>
    /// Creates the command. <paramref name="busFactory"/> builds the worker bus from the configuration
    /// (the RabbitMQ bus for <c>transport_url</c>); failover casts go through it.
    /// </summary>
    public static Command Create(Func<OctaviaConfig, ILoggerFactory, IWorkerBus>? busFactory = null)
    {
        var configFile = CommonOptions.ConfigFile();
        var command = new Command("health-manager", "Receive amphora heartbeats, update health and statistics, and fail over silent amphorae.") { configFile };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var config = CommonOptions.LoadConfig(parse, configFile);
            if (config is null)
            {
                return 1;
            }
            HealthManagerOptions options;
            OctaviaDatabase database;
            try
            {
                options = OptionBinder.Bind<HealthManagerOptions>(config);
                if (string.IsNullOrEmpty(options.HeartbeatKey))
                {
                    throw new ConfigException("[health_manager] heartbeat_key must be set: amphora heartbeats are signed with it");
                }
                database = new OctaviaDatabase(DatabaseUrl.Parse(OptionBinder.Bind<DatabaseOptions>(config).Connection));
            }
            catch (ConfigException ex)
            {
                Console.Error.WriteLine($"octavia: health-manager: configuration error: {ex.Message}");
                return 1;
            }
            using var loggerFactory = ServiceHost.CreateLoggerFactory(config);
            var bus = ServiceHost.CreateBus(config, loggerFactory, busFactory, "health-manager");
            if (bus is null)
            {
                return 2;
            }
            try
            {
                await using var service = new HealthManagerService(database, bus, options, TimeProvider.System, loggerFactory, socketReceiveBuffer: options.SockRlimit);
                using var stop = ServiceHost.StopOnSignals(cancellationToken);
                await service.RunAsync(stop.Token).ConfigureAwait(false);
                return 0;
            }
            catch (Exception ex) when (ex is ConfigException or FormatException or System.Net.Sockets.SocketException or ArgumentException)
            {
                Console.Error.WriteLine($"octavia: health-manager: {ex.Message}");
                return 1;
            }
            finally
            {
                await ServiceHost.DisposeBusAsync(bus).ConfigureAwait(false);
            }
        });
        return command;
    }
}

/// <summary>Plumbing shared by the long-running controller commands.</summary>
internal static class ServiceHost
{
    /// <summary>Console logging at INFO, or DEBUG with <c>[DEFAULT] debug = true</c>.</summary>
    public static ILoggerFactory CreateLoggerFactory(OctaviaConfig config)
    {
        var debug = OptionBinder.Bind<DefaultOptions>(config).Debug;
        return LoggerFactory.Create(b => b
            .AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "yyyy-MM-dd HH:mm:ss.fff ";
                o.UseUtcTimestamp = true;
            })
            .SetMinimumLevel(debug ? LogLevel.Debug : LogLevel.Information));
    }

    /// <summary>Builds the worker bus or explains on stderr why there is none.</summary>
    public static IWorkerBus? CreateBus(OctaviaConfig config, ILoggerFactory loggerFactory, Func<OctaviaConfig, ILoggerFactory, IWorkerBus>? factory, string component)
    {
        if (factory is null)
        {
            Console.Error.WriteLine($"octavia: {component}: no worker bus is registered in this build; it needs one to cast to the worker ([DEFAULT] transport_url)");
            return null;
        }
        try
        {
            return factory(config, loggerFactory);
        }
        catch (ConfigException ex)
        {
            Console.Error.WriteLine($"octavia: {component}: {ex.Message}");
            return null;
        }
    }

    public static async Task DisposeBusAsync(IWorkerBus bus)
    {
        switch (bus)
        {
            case IAsyncDisposable asyncDisposable:
                await asyncDisposable.DisposeAsync().ConfigureAwait(false);
                break;
            case IDisposable disposable:
                disposable.Dispose();
                break;
            default:
                break;
        }
    }

    /// <summary>A token cancelled by SIGTERM, SIGINT or <paramref name="cancellationToken"/>.</summary>
    public static CancellationTokenSource StopOnSignals(CancellationToken cancellationToken)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var registrations = new[]
        {
            System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, Handle),
            System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, Handle),
        };
        cts.Token.Register(() =>
        {
            foreach (var r in registrations)
            {
                r.Dispose();
            }
        });
        return cts;

        void Handle(System.Runtime.InteropServices.PosixSignalContext context)
        {
            context.Cancel = true;
            cts.Cancel();
        }
    }
}
