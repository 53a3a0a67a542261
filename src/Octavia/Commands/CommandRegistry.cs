// Licensed under the Apache License, Version 2.0.

using System.CommandLine;

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
        yield return HealthManagerCommand.Create(Buses.Factory);
        yield return HousekeepingCommand.Create(Buses.Factory);
        yield return ApiCommand.Create();
        yield return CertsCommand.Create();
        yield return AllInOneCommand.Create();
        yield return LocalCleanupCommand.Create();
    }
}
