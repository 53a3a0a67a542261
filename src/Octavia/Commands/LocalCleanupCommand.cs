// Licensed under the Apache License, Version 2.0.

using System.CommandLine;
using Microsoft.Extensions.Logging;
using Octavia.Core.Configuration;
using Octavia.Drivers.Compute.Local;
using Octavia.Drivers.Network.Local;

namespace Octavia.Commands;

/// <summary>
/// <c>octavia local-cleanup</c> (ours): removes every amphora the local compute driver knows, through the
/// driver's own delete (processes by PID, namespace, veths, run directory), then the declared bridges.
/// </summary>
internal static partial class LocalCleanupCommand
{
    public static Command Create()
    {
        var configFile = CommonOptions.ConfigFile();
        var command = new Command("local-cleanup", "Delete every local amphora and the bridges of [local_networks].") { configFile };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var config = CommonOptions.LoadConfig(parse, configFile);
            if (config is null)
            {
                return 1;
            }
            using var loggerFactory = ServiceHost.CreateLoggerFactory(config);
            var logger = loggerFactory.CreateLogger("Octavia.LocalCleanup");
            LocalDriverContext context;
            try
            {
                context = LocalDriverContext.FromConfig(config, TimeProvider.System);
            }
            catch (ConfigException ex)
            {
                Console.Error.WriteLine($"octavia: local-cleanup: {ex.Message}");
                return 1;
            }
            var compute = new LocalComputeDriver(context, TimeProvider.System, loggerFactory.CreateLogger<LocalComputeDriver>());
            var failures = 0;
            var amphorae = Path.Combine(context.StateDir, "amphorae");
            var ids = Directory.Exists(amphorae) ? Directory.GetDirectories(amphorae).Select(Path.GetFileName).OfType<string>().ToList() : [];
            foreach (var id in ids)
            {
                try
                {
                    await compute.DeleteAsync(id, cancellationToken).ConfigureAwait(false);
                    Log.Deleted(logger, id);
                }
                catch (Exception ex) when (ex is LocalCommandException or IOException or UnauthorizedAccessException)
                {
                    failures++;
                    Log.Failed(logger, $"amphora {id}", ex.Message);
                }
            }
            if (context.Mode == LocalMode.Namespace)
            {
                var links = new LinkTool(logger);
                foreach (var network in context.Layout.Networks)
                {
                    try
                    {
                        await links.DeleteLinkAsync(network.Bridge, cancellationToken).ConfigureAwait(false);
                        Log.BridgeDeleted(logger, network.Bridge);
                    }
                    catch (LocalCommandException ex)
                    {
                        failures++;
                        Log.Failed(logger, $"bridge {network.Bridge}", ex.Message);
                    }
                }
            }
            Log.Done(logger, ids.Count, failures);
            return failures == 0 ? 0 : 1;
        });
        return command;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 9101, Level = LogLevel.Information, Message = "Deleted local amphora {AmphoraId}")]
        public static partial void Deleted(ILogger logger, string amphoraId);

        [LoggerMessage(EventId = 9102, Level = LogLevel.Information, Message = "Deleted bridge {Bridge}")]
        public static partial void BridgeDeleted(ILogger logger, string bridge);

        [LoggerMessage(EventId = 9103, Level = LogLevel.Error, Message = "Could not delete {What}: {Reason}")]
        public static partial void Failed(ILogger logger, string what, string reason);

        [LoggerMessage(EventId = 9104, Level = LogLevel.Information, Message = "Local cleanup done: {Amphorae} amphorae, {Failures} failures")]
        public static partial void Done(ILogger logger, int amphorae, int failures);
    }
}
