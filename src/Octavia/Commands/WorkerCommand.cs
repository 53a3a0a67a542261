// Licensed under the Apache License, Version 2.0.

using System.CommandLine;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Octavia.Controller.Worker;
using Octavia.Core.Configuration;
using Octavia.Core.Drivers;
using Octavia.Drivers.Amphorae;
using Octavia.Drivers.Certificates;
using Octavia.Drivers.Compute.Local;
using Octavia.Drivers.Network.Local;
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
            catch (Exception ex) when (ex is DriverConfigException or ConfigException or ArgumentException or System.Data.Common.DbException)
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
        // The local compute and network drivers must share one context (address book, mode), so the pair
        // is built once per registry and handed out to whichever factory asks first.
        (LocalComputeDriver Compute, LocalNetworkDriver Network)? local = null;
        (LocalComputeDriver Compute, LocalNetworkDriver Network) Local(DriverContext c) =>
            local ??= LocalDrivers.Create(c.Config, c.LoggerFactory, c.Time);
        INetworkDriver? network = null;
        registry.Compute[LocalDrivers.ComputeDriverName] = c => Local(c).Compute;
        registry.Network[LocalDrivers.NetworkDriverName] = c => network = Local(c).Network;
        registry.Network["network_noop_driver"] = c => network = new NoopNetworkDriver();
        registry.Amphora["amphora_haproxy_rest_driver"] = c => new AmphoraRestDriver(
            AmphoraRestDriverOptions.FromConfig(c.Config),
            new LocalCertManager(c.Settings.Certificates),
            c.Time,
            c.LoggerFactory.CreateLogger<AmphoraRestDriver>(),
            network);
        registry.CertGenerator["local_cert_generator"] = c => new LocalCertGenerator(c.Settings.Certificates, c.Time);
        return registry;
    }
}
