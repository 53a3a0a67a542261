// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using System.Net;

namespace Octavia.Core.Configuration;

/// <summary>The value types oslo.config knows, as far as octavia.conf uses them.</summary>
public enum OptionKind
{
    Str,
    Int,
    Port,
    Bool,
    Float,
    IP,
    /// <summary>Comma-separated list (ListOpt).</summary>
    List,
    /// <summary>Comma-separated <c>key:value</c> pairs (DictOpt).</summary>
    Dict,
    /// <summary>Repeated key, one value per line (MultiStrOpt).</summary>
    MultiStr,
}

/// <summary>One option of octavia.conf: its section, name, type, default and help, defined once.</summary>
public sealed record OptionDefinition(string Section, string Name, OptionKind Kind, string? Default, string? Help)
{
    public IReadOnlyList<string>? Choices { get; init; }
    public double? Min { get; init; }
    public double? Max { get; init; }
    public bool Secret { get; init; }
    public bool Required { get; init; }
    public IReadOnlyList<string>? DeprecatedNames { get; init; }

    /// <summary>True for options this implementation adds; upstream does not have them.</summary>
    public bool Ours { get; init; }

    /// <summary>Checks one raw value; returns an error message (without the section/name prefix) or null.</summary>
    public string? Validate(string raw)
    {
        switch (Kind)
        {
            case OptionKind.Int:
            case OptionKind.Port:
                if (!long.TryParse(raw.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var i))
                {
                    return $"'{raw}' is not an integer";
                }
                return CheckRange(i);
            case OptionKind.Float:
                if (!double.TryParse(raw.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var f))
                {
                    return $"'{raw}' is not a number";
                }
                return CheckRange(f);
            case OptionKind.Bool:
                return OptionValues.TryParseBool(raw, out _) ? null : $"'{raw}' is not a boolean (true/false)";
            case OptionKind.IP:
                return IPAddress.TryParse(raw.Trim(), out _) ? null : $"'{raw}' is not an IP address";
            case OptionKind.Dict:
                foreach (var item in OptionValues.SplitList(raw))
                {
                    if (!item.Contains(':', StringComparison.Ordinal))
                    {
                        return $"'{item}' is not a key:value pair";
                    }
                }
                return null;
            default:
                if (Choices is { Count: > 0 } && !Choices.Contains(raw.Trim()))
                {
                    return $"'{raw}' is not one of {string.Join(", ", Choices)}";
                }
                return null;
        }
    }

    private string? CheckRange(double value)
    {
        if (Min is { } min && value < min)
        {
            return $"{value.ToString(CultureInfo.InvariantCulture)} is below the minimum {min.ToString(CultureInfo.InvariantCulture)}";
        }
        if (Max is { } max && value > max)
        {
            return $"{value.ToString(CultureInfo.InvariantCulture)} is above the maximum {max.ToString(CultureInfo.InvariantCulture)}";
        }
        return null;
    }
}

/// <summary>Parsing helpers for oslo's value syntax.</summary>
public static class OptionValues
{
    /// <summary>oslo's ListOpt split: commas, surrounding whitespace trimmed, empty items dropped.</summary>
    public static List<string> SplitList(string raw) =>
        [.. raw.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)];

    /// <summary>oslo's DictOpt: <c>k1:v1,k2:v2</c>.</summary>
    public static Dictionary<string, string> SplitDict(string raw)
    {
        var dict = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var item in SplitList(raw))
        {
            var colon = item.IndexOf(':', StringComparison.Ordinal);
            dict[item[..colon].Trim()] = item[(colon + 1)..].Trim();
        }
        return dict;
    }

    /// <summary>oslo's boolean strings.</summary>
    public static bool TryParseBool(string raw, out bool value)
    {
        switch (raw.Trim().ToLowerInvariant())
        {
            case "true" or "1" or "on" or "yes":
                value = true;
                return true;
            case "false" or "0" or "off" or "no":
                value = false;
                return true;
            default:
                value = false;
                return false;
        }
    }
}
