// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using System.Reflection;

namespace Octavia.Core.Configuration;

/// <summary>Marks a class as the typed view of one octavia.conf section.</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class OsloSectionAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}

/// <summary>Binds a property to an option of the class's section; the definition (type, default, help) lives in <see cref="OptionCatalog"/>.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class OsloOptionAttribute(string name) : Attribute
{
    public string Name { get; } = name;

    /// <summary>The process using this class cannot start without the option.</summary>
    public bool Required { get; init; }
}

/// <summary>Turns raw configuration into typed section objects, with one-line errors naming section and option.</summary>
public static class OptionBinder
{
    /// <summary>Binds <typeparamref name="T"/> from <paramref name="config"/>.</summary>
    /// <exception cref="ConfigException">A value is invalid or a required option is missing.</exception>
    public static T Bind<T>(OctaviaConfig config) where T : new()
    {
        var section = typeof(T).GetCustomAttribute<OsloSectionAttribute>()?.Name
            ?? throw new InvalidOperationException($"{typeof(T).Name} has no [OsloSection]");
        var target = new T();
        foreach (var prop in typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var attr = prop.GetCustomAttribute<OsloOptionAttribute>();
            if (attr is null)
            {
                continue;
            }
            var def = OptionCatalog.Get(section, attr.Name);
            var raw = RawValues(config, def);
            if (raw is null && (attr.Required || def.Required) && def.Default is null)
            {
                throw new ConfigException($"[{section}] {attr.Name}: required option is missing");
            }
            var values = raw ?? (def.Default is null ? null : [def.Default]);
            if (values is null)
            {
                continue;
            }
            foreach (var v in values)
            {
                if (def.Validate(v) is { } error)
                {
                    throw new ConfigException($"[{section}] {attr.Name}: {error}");
                }
            }
            prop.SetValue(target, Convert(values, prop.PropertyType, section, attr.Name));
        }
        return target;
    }

    /// <summary>Checks every option present in the files that has a definition; unknown options are ignored, as oslo does.</summary>
    public static void ValidateAll(OctaviaConfig config)
    {
        foreach (var section in config.Sections)
        {
            foreach (var key in config.Keys(section))
            {
                var def = OptionCatalog.Find(section, key);
                if (def is null)
                {
                    continue;
                }
                foreach (var v in config.GetAll(section, key) ?? [])
                {
                    if (def.Validate(v) is { } error)
                    {
                        throw new ConfigException($"[{section}] {key}: {error}");
                    }
                }
            }
        }
    }

    private static IReadOnlyList<string>? RawValues(OctaviaConfig config, OptionDefinition def)
    {
        var values = config.GetAll(def.Section, def.Name);
        if (values is null && def.DeprecatedNames is { } old)
        {
            foreach (var name in old)
            {
                values ??= config.GetAll(def.Section, name);
            }
        }
        // oslo treats "key =" as the empty string for strings and as "unset" for typed options.
        if (values is { Count: 1 } && values[0].Length == 0 && def.Kind is not OptionKind.Str)
        {
            return null;
        }
        return values;
    }

    private static object? Convert(IReadOnlyList<string> values, Type type, string section, string name)
    {
        var last = values[^1].Trim();
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        if (underlying == typeof(string))
        {
            return values[^1];
        }
        if (underlying == typeof(int))
        {
            return int.Parse(last, CultureInfo.InvariantCulture);
        }
        if (underlying == typeof(long))
        {
            return long.Parse(last, CultureInfo.InvariantCulture);
        }
        if (underlying == typeof(double))
        {
            return double.Parse(last, CultureInfo.InvariantCulture);
        }
        if (underlying == typeof(bool))
        {
            return OptionValues.TryParseBool(last, out var b) && b;
        }
        if (underlying == typeof(TimeSpan))
        {
            return TimeSpan.FromSeconds(double.Parse(last, CultureInfo.InvariantCulture));
        }
        if (underlying == typeof(List<string>))
        {
            // A MultiStrOpt keeps one entry per repeated key; a ListOpt splits the last value.
            var def = OptionCatalog.Get(section, name);
            return def.Kind == OptionKind.MultiStr ? values.ToList() : OptionValues.SplitList(values[^1]);
        }
        if (underlying == typeof(Dictionary<string, string>))
        {
            return OptionValues.SplitDict(values[^1]);
        }
        throw new InvalidOperationException($"[{section}] {name}: unsupported property type {type.Name}");
    }
}
