// Licensed under the Apache License, Version 2.0.

using System.CommandLine;
using Octavia.Core.Configuration;

namespace Octavia.Commands;

/// <summary>Options every component takes, as oslo.config's command line does.</summary>
internal static class CommonOptions
{
    /// <summary>A fresh <c>--config-file</c> option (repeatable; later files override earlier ones).</summary>
    public static Option<string[]> ConfigFile() => new("--config-file")
    {
        Description = "Path to a config file to use. Repeatable: later files override earlier ones.",
        AllowMultipleArgumentsPerToken = false,
        Arity = ArgumentArity.ZeroOrMore,
    };

    /// <summary>Loads and validates the configuration; on error prints one line and returns null.</summary>
    public static OctaviaConfig? LoadConfig(ParseResult parse, Option<string[]> option)
    {
        var files = parse.GetValue(option) ?? [];
        if (files.Length == 0 && File.Exists("/etc/octavia/octavia.conf"))
        {
            files = ["/etc/octavia/octavia.conf"];
        }
        try
        {
            var config = OctaviaConfig.Load(files);
            OptionBinder.ValidateAll(config);
            return config;
        }
        catch (ConfigException ex)
        {
            Console.Error.WriteLine($"octavia: configuration error: {ex.Message}");
            return null;
        }
    }
}
