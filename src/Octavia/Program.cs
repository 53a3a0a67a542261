// Licensed under the Apache License, Version 2.0.

using System.CommandLine;
using Octavia.Commands;

var root = new RootCommand("Octavia-compatible load balancing service: one executable, one subcommand per component.");
foreach (var command in CommandRegistry.All())
{
    root.Subcommands.Add(command);
}
return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
