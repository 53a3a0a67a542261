// Licensed under the Apache License, Version 2.0.

using System.CommandLine;
using Microsoft.Extensions.Logging;
using Octavia.Controller.Messaging;
using Octavia.Core.Configuration;

namespace Octavia.Commands;

/// <summary>The subcommands of <c>octavia</c>; each component adds its own here.</summary>
internal static class CommandRegistry
{
    public static IEnumerable<Command> All()
    {
        yield return ConfigCommand.Create();
        yield return DbManageCommand.Create();
        yield return AmphoraAgentCommand.Create();
        yield return WorkerCommand.Create();
        yield return AmphoraShellCommand.Create();
        yield return HealthManagerCommand.Create((config, loggers) =>
        {
            var transportUrl = OptionBinder.Bind<DefaultOptions>(config).TransportUrl;
            if (string.IsNullOrEmpty(transportUrl))
            {
                throw new ConfigException("[DEFAULT] transport_url must be set: failovers are cast to the workers over RabbitMQ");
            }
            var topic = OptionBinder.Bind<OsloMessagingOptions>(config).Topic;
            return new RabbitMqWorkerBus(
                new RabbitMqBusOptions { TransportUrl = transportUrl, Topic = string.IsNullOrEmpty(topic) ? "octavia_provisioning_v2" : topic },
                loggers.CreateLogger<RabbitMqWorkerBus>());
        });
        yield return HousekeepingCommand.Create();
        yield return ApiCommand.Create();
        yield return CertsCommand.Create();
    }
}
