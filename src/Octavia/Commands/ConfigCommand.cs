// Licensed under the Apache License, Version 2.0.

using System.CommandLine;
using Octavia.Core.Configuration;

namespace Octavia.Commands;

/// <summary><c>octavia config sample|check</c>.</summary>
internal static class ConfigCommand
{
    public static Command Create()
    {
        var command = new Command("config", "Configuration tools.");

        var sample = new Command("sample", "Print a commented octavia.conf with every option at its default.");
        sample.SetAction(_ =>
        {
            Console.Out.Write(SampleConfig.Generate());
            return 0;
        });
        command.Subcommands.Add(sample);

        var reference = new Command("reference", "Print the configuration reference (Markdown) generated from the option definitions.");
        reference.SetAction(_ =>
        {
            Console.Out.Write(ConfigReference.Generate());
            return 0;
        });
        command.Subcommands.Add(reference);

        var configFile = CommonOptions.ConfigFile();
        var check = new Command("check", "Validate configuration files and report the first problem.") { configFile };
        check.SetAction(parse =>
        {
            var config = CommonOptions.LoadConfig(parse, configFile);
            if (config is null)
            {
                return 1;
            }
            Console.Out.WriteLine($"configuration OK ({config.Files.Count} file(s))");
            return 0;
        });
        command.Subcommands.Add(check);
        return command;
    }
}
