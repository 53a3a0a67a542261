// Licensed under the Apache License, Version 2.0.

using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Octavia.Api.Hosting;
using Octavia.Controller.Messaging;
using Octavia.Core.Configuration;
using Octavia.Core.Drivers;
using Octavia.Core.Messaging;
using Octavia.Drivers.Network.Noop;

namespace Octavia.Commands;

/// <summary><c>octavia api</c>: the v2 REST API (upstream's <c>octavia-api</c>).</summary>
internal static class ApiCommand
{
    public static Command Create()
    {
        var configFile = CommonOptions.ConfigFile();
        var command = new Command("api", "Run the Octavia v2 REST API.") { configFile };
        command.SetAction(async (parse, ct) =>
        {
            var config = CommonOptions.LoadConfig(parse, configFile);
            if (config is null)
            {
                return 1;
            }
            var worker = OptionBinder.Bind<ControllerWorkerOptions>(config);
            if (worker.NetworkDriver is not ("network_noop_driver" or "noop_driver"))
            {
                Console.Error.WriteLine($"octavia api: [controller_worker] network_driver '{worker.NetworkDriver}' is not available to the API yet; use network_noop_driver");
                return 1;
            }
            var transportUrl = OptionBinder.Bind<DefaultOptions>(config).TransportUrl;
            var topic = OptionBinder.Bind<OsloMessagingOptions>(config).Topic;
            var app = ApiHost.Build(config, services =>
            {
                services.AddSingleton<INetworkDriver, NoopNetworkDriver>();
                // The amphora provider casts to the workers over RabbitMQ; without transport_url it answers 500.
                if (!string.IsNullOrEmpty(transportUrl))
                {
                    services.AddSingleton<IWorkerBus>(sp => new RabbitMqWorkerBus(
                        new RabbitMqBusOptions { TransportUrl = transportUrl, Topic = string.IsNullOrEmpty(topic) ? "octavia_provisioning_v2" : topic },
                        sp.GetRequiredService<ILoggerFactory>().CreateLogger<RabbitMqWorkerBus>()));
                }
            });
            ApiHost.PrepareDatabase(app);
            await app.StartAsync(ct).ConfigureAwait(false);
            await app.WaitForShutdownAsync(ct).ConfigureAwait(false);
            return 0;
        });
        return command;
    }
}
