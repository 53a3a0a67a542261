// Licensed under the Apache License, Version 2.0.

using System.CommandLine;
using System.Diagnostics;
using Octavia.Core.Configuration;
using Octavia.Drivers.Compute.Local;
using Octavia.Drivers.Network.Local;

namespace Octavia.Commands;

/// <summary><c>octavia amphora shell &lt;id&gt; [-- command...]</c>: a shell inside a local amphora's namespace.</summary>
internal static class AmphoraShellCommand
{
    public static Command Create()
    {
        var command = new Command("amphora", "Local amphorae (local compute driver).");
        var configFile = CommonOptions.ConfigFile();
        var id = new Argument<string>("amphora-id") { Description = "The amphora's id (its namespace is amphora-<id>)." };
        var run = new Argument<string[]>("command")
        {
            Description = "A command to run instead of an interactive bash (put it after --).",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var shell = new Command("shell", "Open a shell inside the amphora's network namespace (in loopback mode: in its run directory).")
        {
            configFile, id, run,
        };
        shell.SetAction(async (parse, cancellationToken) =>
        {
            var config = CommonOptions.LoadConfig(parse, configFile);
            if (config is null)
            {
                return 1;
            }
            LocalDriverContext context;
            try
            {
                context = LocalDriverContext.FromConfig(config, TimeProvider.System);
            }
            catch (ConfigException ex)
            {
                await Console.Error.WriteLineAsync($"octavia: configuration error: {ex.Message}").ConfigureAwait(false);
                return 1;
            }
            var amphoraId = parse.GetValue(id)!;
            var dir = context.AmphoraDir(amphoraId);
            var instance = Directory.Exists(dir) ? LocalComputeDriver.ReadInstance(dir) : null;
            if (instance is null)
            {
                await Console.Error.WriteLineAsync($"octavia: no local amphora {amphoraId} under {Path.Combine(context.StateDir, "amphorae")}").ConfigureAwait(false);
                return 1;
            }
            var commandLine = parse.GetValue(run) is { Length: > 0 } given ? given : ["bash"];
            ProcessStartInfo psi;
            if (instance.Namespace is { } ns)
            {
                psi = new ProcessStartInfo("ip") { WorkingDirectory = dir };
                foreach (var a in new[] { "netns", "exec", ns }.Concat(commandLine))
                {
                    psi.ArgumentList.Add(a);
                }
            }
            else
            {
                await Console.Error.WriteLineAsync(
                    $"octavia: amphora {amphoraId} runs in loopback mode: it has no namespace of its own; starting in its run directory {dir} (host namespace, management address {instance.LbNetworkIp}).").ConfigureAwait(false);
                psi = new ProcessStartInfo(commandLine[0]) { WorkingDirectory = dir };
                foreach (var a in commandLine.Skip(1))
                {
                    psi.ArgumentList.Add(a);
                }
            }
            psi.UseShellExecute = false;
            using var process = Process.Start(psi);
            if (process is null)
            {
                await Console.Error.WriteLineAsync($"octavia: could not start {psi.FileName}").ConfigureAwait(false);
                return 1;
            }
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            return process.ExitCode;
        });
        command.Subcommands.Add(shell);
        return command;
    }
}
