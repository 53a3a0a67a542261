// Licensed under the Apache License, Version 2.0.

using System.CommandLine;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Octavia.Controller.Worker;
using Octavia.Core.Configuration;
using Octavia.Drivers.Certificates;
using Octavia.Drivers.Network.Noop;

namespace Octavia.Commands;

/// <summary><c>octavia worker</c>: the controller worker (upstream <c>octavia-worker</c>).</summary>
internal static class WorkerCommand
{
    public static Command Create()
    {
        var configFile = CommonOptions.ConfigFile();
        var command = new Command("worker", "Run the controller worker: consume casts from the bus and run their flows.") { configFile };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var config = CommonOptions.LoadConfig(parse, configFile);
            if (config is null)
            {
                return 1;
            }
            var debug = OptionBinder.Bind<DefaultOptions>(config).Debug;
            using var loggerFactory = LoggerFactory.Create(b => b
                .AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "yyyy-MM-dd HH:mm:ss.fff "; })
                .SetMinimumLevel(debug ? LogLevel.Debug : LogLevel.Information));
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx =>
            {
                ctx.Cancel = true;
                stop.Cancel();
            });
            WorkerHost host;
            try
            {
                host = new WorkerHost(config, WorkerDrivers.Create(), loggerFactory, TimeProvider.System);
            }
            catch (Exception ex) when (ex is DriverConfigException or ConfigException or ArgumentException)
            {
                Console.Error.WriteLine($"octavia: configuration error: {ex.Message}");
                return 1;
            }
            await using (host.ConfigureAwait(false))
            {
                await host.RunAsync(stop.Token).ConfigureAwait(false);
            }
            return 0;
        });
        return command;
    }
}

/// <summary>Every driver the executable offers the worker, by upstream name.</summary>
internal static class WorkerDrivers
{
    public static DriverRegistry Create()
    {
        var registry = DriverRegistry.CreateDefault();
        // Drivers of the other components register here, one line each.
        registry.Network["network_noop_driver"] = _ => new NoopNetworkDriver();
        registry.CertGenerator["local_cert_generator"] = c => new LocalCertGenerator(OptionBinder.Bind<CertificatesOptions>(c.Config), c.Time);
        return registry;
    }
}
