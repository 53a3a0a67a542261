// Licensed under the Apache License, Version 2.0.

using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Octavia.Api.Hosting;
using Octavia.Core.Configuration;
using Octavia.Core.Drivers;

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
            using var loggerFactory = ServiceHost.CreateLoggerFactory(config);
            INetworkDriver network;
            Core.Messaging.IWorkerBus? bus = null;
            try
            {
                network = ApiNetwork.Create(config, loggerFactory);
                if (!string.IsNullOrEmpty(OptionBinder.Bind<DefaultOptions>(config).TransportUrl))
                {
                    bus = Buses.RabbitMq(config, loggerFactory);
                }
            }
            catch (ConfigException ex)
            {
                Console.Error.WriteLine($"octavia api: {ex.Message}");
                return 1;
            }
            var app = ApiHost.Build(config, services =>
            {
                services.AddSingleton(network);
                ApiCertificates.Register(services, config);
                if (bus is not null)
                {
                    services.AddSingleton(bus);
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
