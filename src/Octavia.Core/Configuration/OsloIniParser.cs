// Licensed under the Apache License, Version 2.0.

namespace Octavia.Core.Configuration;

/// <summary>
/// Reads an oslo.config INI file the way <c>oslo_config/iniparser.py</c> does: <c>key = value</c>
/// or <c>key: value</c>, <c>#</c>/<c>;</c> comment lines, indented continuation lines, one pair of
/// matching single or double quotes stripped, and repeated keys kept in order (for MultiStrOpt).
/// </summary>
public static class OsloIniParser
{
    /// <summary>Parses <paramref name="text"/>; section and key names are lower-cased.</summary>
    /// <exception cref="ConfigException">On a line oslo would reject; the message names the file and line.</exception>
    public static Dictionary<string, Dictionary<string, List<string>>> Parse(string text, string source)
    {
        var result = new Dictionary<string, Dictionary<string, List<string>>>(StringComparer.OrdinalIgnoreCase);
        Dictionary<string, List<string>>? section = null;
        List<string>? lastValues = null;
        var lineNo = 0;
        foreach (var rawLine in text.Split('\n'))
        {
            lineNo++;
            var line = rawLine.TrimEnd('\r');
            if (line.Trim().Length == 0)
            {
                lastValues = null;
                continue;
            }
            if (line[0] is ' ' or '\t')
            {
                // Continuation of the previous value, as oslo's parser allows.
                if (lastValues is null)
                {
                    throw new ConfigException($"{source}:{lineNo}: unexpected continuation line");
                }
                lastValues[^1] = (lastValues[^1] + "\n" + line.Trim()).Trim();
                continue;
            }
            var trimmed = line.Trim();
            if (trimmed[0] is '#' or ';')
            {
                continue;
            }
            if (trimmed[0] == '[')
            {
                if (!trimmed.EndsWith(']') || trimmed.Length < 3)
                {
                    throw new ConfigException($"{source}:{lineNo}: invalid section header '{trimmed}'");
                }
                var name = trimmed[1..^1].Trim();
                if (!result.TryGetValue(name, out section))
                {
                    section = new Dictionary<string, List<string>>(StringComparer.OrdinalIgnoreCase);
                    result[name] = section;
                }
                lastValues = null;
                continue;
            }
            var sep = IndexOfSeparator(trimmed);
            if (sep <= 0)
            {
                throw new ConfigException($"{source}:{lineNo}: expected 'key = value', got '{trimmed}'");
            }
            if (section is null)
            {
                throw new ConfigException($"{source}:{lineNo}: option outside of any [section]");
            }
            var key = trimmed[..sep].Trim();
            var value = StripQuotes(trimmed[(sep + 1)..].Trim());
            if (!section.TryGetValue(key, out var values))
            {
                values = [];
                section[key] = values;
            }
            values.Add(value);
            lastValues = values;
        }
        return result;
    }

    private static int IndexOfSeparator(string line)
    {
        var eq = line.IndexOf('=', StringComparison.Ordinal);
        var colon = line.IndexOf(':', StringComparison.Ordinal);
        if (eq < 0)
        {
            return colon;
        }
        return colon < 0 ? eq : Math.Min(eq, colon);
    }

    private static string StripQuotes(string value)
    {
        if (value.Length >= 2 && (value[0] == '"' || value[0] == '\'') && value[^1] == value[0])
        {
            return value[1..^1];
        }
        return value;
    }
}

/// <summary>A configuration problem; the message is one line naming the section and option.</summary>
public sealed class ConfigException : Exception
{
    public ConfigException(string message) : base(message)
    {
    }

    public ConfigException()
    {
    }

    public ConfigException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
