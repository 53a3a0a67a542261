// Licensed under the Apache License, Version 2.0.

using System.CommandLine;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Octavia.Amphora.Agent;
using Octavia.Core.Configuration;

namespace Octavia.Commands;

/// <summary><c>octavia amphora-agent --config-file amphora-agent.conf</c>: the agent that runs inside an amphora.</summary>
internal static class AmphoraAgentCommand
{
    public static Command Create()
    {
        var configFile = CommonOptions.ConfigFile();
        var command = new Command("amphora-agent", "Run the amphora agent: mTLS REST API on [haproxy_amphora] bind_host:bind_port, HAProxy and keepalived supervision, heartbeats.")
        {
            configFile,
        };
        command.SetAction(async (parse, ct) =>
        {
            var config = CommonOptions.LoadConfig(parse, configFile);
            if (config is null)
            {
                return 1;
            }
            AgentSettings settings;
            try
            {
                settings = AgentSettings.FromConfig(config);
            }
            catch (ConfigException ex)
            {
                await Console.Error.WriteLineAsync($"octavia: configuration error: {ex.Message}").ConfigureAwait(false);
                return 1;
            }
            try
            {
                // Timestamps in agent.log show where an amphora's boot spends its time.
                await using var app = AgentHost.Build(settings, logging => logging.AddSimpleConsole(o =>
                {
                    o.SingleLine = true;
                    o.TimestampFormat = "yyyy-MM-dd HH:mm:ss.fff ";
                    o.UseUtcTimestamp = true;
                }));
                await app.StartAsync(CancellationToken.None).ConfigureAwait(false);
                try
                {
                    // System.CommandLine owns SIGTERM: it cancels ct and gives the action a short grace period.
                    await app.WaitForShutdownAsync(ct).ConfigureAwait(false);
                }
                finally
                {
                    await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
                }
                return 0;
            }
            catch (InvalidOperationException ex)
            {
                await Console.Error.WriteLineAsync($"octavia amphora-agent: {ex.Message}").ConfigureAwait(false);
                return 1;
            }
        });
        return command;
    }
}
