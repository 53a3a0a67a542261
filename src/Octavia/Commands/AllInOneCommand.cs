// Licensed under the Apache License, Version 2.0.

using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Octavia.Api.Hosting;
using Octavia.Controller.HealthManager;
using Octavia.Controller.Housekeeping;
using Octavia.Controller.Messaging;
using Octavia.Controller.Worker;
using Octavia.Core.Configuration;
using Octavia.Core.Drivers;
using Octavia.Core.Messaging;
using Octavia.Data;
using Octavia.Drivers.Network.Local;

namespace Octavia.Commands;

/// <summary>
/// <c>octavia all-in-one</c> (ours): the API, the worker, the health manager and the housekeeper in one
/// process, sharing an in-process bus unless <c>[DEFAULT] transport_url</c> names RabbitMQ.
/// </summary>
internal static partial class AllInOneCommand
{
    public static Command Create()
    {
        var configFile = CommonOptions.ConfigFile();
        var command = new Command("all-in-one", "Run the API, worker, health manager and housekeeper in one process.") { configFile };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var config = CommonOptions.LoadConfig(parse, configFile);
            if (config is null)
            {
                return 1;
            }
            using var loggerFactory = ServiceHost.CreateLoggerFactory(config);
            var logger = loggerFactory.CreateLogger("Octavia.AllInOne");
            using var stop = ServiceHost.StopOnSignals(cancellationToken);
            var time = TimeProvider.System;
            var transportUrl = OptionBinder.Bind<DefaultOptions>(config).TransportUrl;
            var workers = Math.Max(1, OptionBinder.Bind<ControllerWorkerOptions>(config).Workers);

            IWorkerBus bus;
            IWorkerBusConsumer consumer;
            WorkerHost worker;
            HealthManagerService health;
            Housekeeper housekeeper;
            WebApplication api;
            try
            {
                if (string.IsNullOrEmpty(transportUrl))
                {
                    var inProcess = new InProcessWorkerBus(workers);
                    (bus, consumer) = (inProcess, inProcess);
                }
                else
                {
                    var rabbit = Buses.RabbitMq(config, loggerFactory, workers);
                    (bus, consumer) = (rabbit, rabbit);
                }
                worker = new WorkerHost(config, WorkerDrivers.Create(), loggerFactory, time, consumer);
                var network = worker.Services.GetRequiredService<INetworkDriver>();
                if (network is LocalNetworkDriver local)
                {
                    // The health manager binds the management bridge's host address: it must exist first.
                    await local.EnsureHostNetworksAsync(stop.Token).ConfigureAwait(false);
                }
                var database = new OctaviaDatabase(DatabaseUrl.Parse(OptionBinder.Bind<DatabaseOptions>(config).Connection));
                var hmOptions = OptionBinder.Bind<HealthManagerOptions>(config);
                health = new HealthManagerService(database, bus, hmOptions, time, loggerFactory,
                    worker.Services.GetService<IComputeDriver>(), socketReceiveBuffer: hmOptions.SockRlimit);
                housekeeper = new Housekeeper(database, bus, OptionBinder.Bind<HouseKeepingOptions>(config), time, loggerFactory.CreateLogger("Octavia.Housekeeping"));
                api = ApiHost.Build(config, services =>
                {
                    services.AddSingleton(network);
                    services.AddSingleton(bus);
                    ApiCertificates.Register(services, config);
                });
                ApiHost.PrepareDatabase(api);
                await api.StartAsync(stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is DriverConfigException or ConfigException or ArgumentException or InvalidOperationException
                or FileNotFoundException or IOException or System.Net.Sockets.SocketException or System.Data.Common.DbException or Drivers.Network.Local.LocalCommandException)
            {
                Console.Error.WriteLine($"octavia: all-in-one: {ex.Message}");
                return 1;
            }
            var apiPort = OptionBinder.Bind<ApiSettingsOptions>(config).BindPort;
            var busKind = string.IsNullOrEmpty(transportUrl) ? "in-process" : "RabbitMQ";
            var heartbeats = health.LocalEndPoint.ToString();
            Log.Started(logger, apiPort, heartbeats, busKind);

            var running = new List<Task>
            {
                worker.RunAsync(stop.Token),
                health.RunAsync(stop.Token),
                housekeeper.RunAsync(stop.Token),
                api.WaitForShutdownAsync(stop.Token),
            };
            var first = await Task.WhenAny(running).ConfigureAwait(false);
            var code = 0;
            if (!stop.IsCancellationRequested)
            {
                // A component ended on its own: that is a failure; bring the others down with it.
                code = 1;
                var reason = first.Exception?.GetBaseException().Message ?? "it returned";
                Log.ComponentEnded(logger, reason);
                await stop.CancelAsync().ConfigureAwait(false);
            }
            Log.Stopping(logger);
            try
            {
                await api.StopAsync(CancellationToken.None).ConfigureAwait(false);
                await Task.WhenAll(running).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
            catch (Exception ex)
            {
                Log.ComponentEnded(logger, ex.Message);
                code = 1;
            }
            finally
            {
                await api.DisposeAsync().ConfigureAwait(false);
                await health.DisposeAsync().ConfigureAwait(false);
                await worker.DisposeAsync().ConfigureAwait(false);
                await ServiceHost.DisposeBusAsync(bus).ConfigureAwait(false);
            }
            Log.Stopped(logger);
            return code;
        });
        return command;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 9001, Level = LogLevel.Information, Message = "All-in-one started: API on port {ApiPort}, heartbeats on {Heartbeat}, {Bus} bus")]
        public static partial void Started(ILogger logger, int apiPort, string heartbeat, string bus);

        [LoggerMessage(EventId = 9002, Level = LogLevel.Error, Message = "A component stopped unexpectedly: {Reason}")]
        public static partial void ComponentEnded(ILogger logger, string reason);

        [LoggerMessage(EventId = 9003, Level = LogLevel.Information, Message = "All-in-one stopping")]
        public static partial void Stopping(ILogger logger);

        [LoggerMessage(EventId = 9004, Level = LogLevel.Information, Message = "All-in-one stopped")]
        public static partial void Stopped(ILogger logger);
    }
}

/// <summary>The worker bus the separate controller commands use.</summary>
internal static class Buses
{
    /// <summary>The RabbitMQ bus for <c>[DEFAULT] transport_url</c>; throws <see cref="ConfigException"/> when it is unset.</summary>
    public static RabbitMqWorkerBus RabbitMq(OctaviaConfig config, ILoggerFactory loggerFactory, int prefetch = 1)
    {
        var transportUrl = OptionBinder.Bind<DefaultOptions>(config).TransportUrl;
        if (string.IsNullOrEmpty(transportUrl))
        {
            throw new ConfigException("[DEFAULT] transport_url is not set: separate services talk to the worker through RabbitMQ (or run octavia all-in-one)");
        }
        var topic = OptionBinder.Bind<OsloMessagingOptions>(config).Topic;
        return new RabbitMqWorkerBus(
            new RabbitMqBusOptions { TransportUrl = transportUrl, Topic = string.IsNullOrEmpty(topic) ? "octavia_provisioning_v2" : topic, Prefetch = prefetch },
            loggerFactory.CreateLogger<RabbitMqWorkerBus>());
    }

    /// <summary>The factory <see cref="HealthManagerCommand"/> and <see cref="HousekeepingCommand"/> take.</summary>
    public static IWorkerBus Factory(OctaviaConfig config, ILoggerFactory loggerFactory) => RabbitMq(config, loggerFactory);
}

/// <summary>The network driver the API's Neutron view and VIP validation use: the worker's, by name.</summary>
internal static class ApiNetwork
{
    /// <summary>Builds the configured driver; unknown names throw <see cref="ConfigException"/> naming the option.</summary>
    public static INetworkDriver Create(OctaviaConfig config, ILoggerFactory loggerFactory)
    {
        var name = OptionBinder.Bind<ControllerWorkerOptions>(config).NetworkDriver;
        return name switch
        {
            "network_noop_driver" or "noop_driver" => new Drivers.Network.Noop.NoopNetworkDriver(),
            LocalDrivers.NetworkDriverName => LocalDrivers.Create(config, loggerFactory, TimeProvider.System).Network,
            _ => throw new ConfigException($"[controller_worker] network_driver: unknown driver '{name}' (known: {LocalDrivers.NetworkDriverName}, network_noop_driver)"),
        };
    }
}
