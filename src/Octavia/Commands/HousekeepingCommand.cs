// Licensed under the Apache License, Version 2.0.

using System.CommandLine;
using Microsoft.Extensions.Logging;
using Octavia.Controller.Housekeeping;
using Octavia.Core.Configuration;
using Octavia.Core.Messaging;
using Octavia.Data;

namespace Octavia.Commands;

/// <summary><c>octavia housekeeping</c>: upstream's <c>octavia-housekeeping</c> plus the spare pool.</summary>
internal static class HousekeepingCommand
{
    /// <summary>Creates the command; <paramref name="busFactory"/> as for <see cref="HealthManagerCommand"/>.</summary>
    public static Command Create(Func<OctaviaConfig, ILoggerFactory, IWorkerBus>? busFactory = null)
    {
        var configFile = CommonOptions.ConfigFile();
        var command = new Command("housekeeping", "Purge expired deleted rows, rotate amphora certificates and keep the spare amphora pool filled.") { configFile };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var config = CommonOptions.LoadConfig(parse, configFile);
            if (config is null)
            {
                return 1;
            }
            HouseKeepingOptions options;
            OctaviaDatabase database;
            try
            {
                options = OptionBinder.Bind<HouseKeepingOptions>(config);
                database = new OctaviaDatabase(DatabaseUrl.Parse(OptionBinder.Bind<DatabaseOptions>(config).Connection));
            }
            catch (ConfigException ex)
            {
                Console.Error.WriteLine($"octavia: housekeeping: configuration error: {ex.Message}");
                return 1;
            }
            using var loggerFactory = ServiceHost.CreateLoggerFactory(config);
            var bus = ServiceHost.CreateBus(config, loggerFactory, busFactory, "housekeeping");
            if (bus is null)
            {
                return 2;
            }
            try
            {
                var housekeeper = new Housekeeper(database, bus, options, TimeProvider.System, loggerFactory.CreateLogger("Octavia.Housekeeping"));
                using var stop = ServiceHost.StopOnSignals(cancellationToken);
                await housekeeper.RunAsync(stop.Token).ConfigureAwait(false);
                return 0;
            }
            catch (Exception ex) when (ex is ConfigException or FormatException or ArgumentException)
            {
                Console.Error.WriteLine($"octavia: housekeeping: {ex.Message}");
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
