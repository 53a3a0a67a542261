// Licensed under the Apache License, Version 2.0.

namespace Octavia.Core.Configuration;

/// <summary>
/// The merged raw values of one or more <c>--config-file</c>s: later files override earlier ones
/// per option, as oslo.config does. Typed access goes through <see cref="OptionBinder"/>.
/// </summary>
public sealed class OctaviaConfig
{
    private readonly Dictionary<string, Dictionary<string, List<string>>> _values =
        new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The files this configuration was read from, in order.</summary>
    public IReadOnlyList<string> Files { get; private set; } = [];

    /// <summary>Reads the given files in order.</summary>
    public static OctaviaConfig Load(IEnumerable<string> files)
    {
        var config = new OctaviaConfig();
        var list = new List<string>();
        foreach (var file in files)
        {
            if (!File.Exists(file))
            {
                throw new ConfigException($"config file {file} not found");
            }
            config.Merge(OsloIniParser.Parse(File.ReadAllText(file), file));
            list.Add(Path.GetFullPath(file));
        }
        config.Files = list;
        return config;
    }

    /// <summary>Builds a configuration from INI text (tests and generated files).</summary>
    public static OctaviaConfig FromText(string text, string source = "<text>")
    {
        var config = new OctaviaConfig();
        config.Merge(OsloIniParser.Parse(text, source));
        return config;
    }

    /// <summary>Overrides one option in memory (used by the all-in-one launcher and tests).</summary>
    public OctaviaConfig Set(string section, string key, string value)
    {
        Section(section)[key] = [value];
        return this;
    }

    /// <summary>All values given for an option (several for a repeated key), or null if unset.</summary>
    public IReadOnlyList<string>? GetAll(string section, string key) =>
        _values.TryGetValue(section, out var s) && s.TryGetValue(key, out var v) ? v : null;

    /// <summary>The last value given for an option, or null if unset.</summary>
    public string? Get(string section, string key) => GetAll(section, key) is { Count: > 0 } v ? v[^1] : null;

    /// <summary>Section names present in the files.</summary>
    public IEnumerable<string> Sections => _values.Keys;

    /// <summary>Option names present in a section.</summary>
    public IEnumerable<string> Keys(string section) =>
        _values.TryGetValue(section, out var s) ? s.Keys : [];

    private void Merge(Dictionary<string, Dictionary<string, List<string>>> parsed)
    {
        foreach (var (sectionName, options) in parsed)
        {
            var section = Section(sectionName);
            foreach (var (key, values) in options)
            {
                section[key] = values;
            }
        }
    }

    private Dictionary<string, List<string>> Section(string name)
    {
        if (!_values.TryGetValue(name, out var section))
        {
            section = new Dictionary<string, List<string>>(StringComparer.OrdinalIgnoreCase);
            _values[name] = section;
        }
        return section;
    }
}
