// Licensed under the Apache License, Version 2.0.

using System.Text;

namespace Octavia.Drivers.Compute.Local;

/// <summary>Edits single options of an INI text in place, keeping everything else as written.</summary>
public static class IniText
{
    /// <summary>Sets <c>key = value</c> in <paramref name="section"/>: replaces the existing line, or adds one (and the section if missing).</summary>
    public static string Set(string text, string section, string key, string value)
    {
        ArgumentNullException.ThrowIfNull(text);
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n').ToList();
        var current = "";
        var sectionEnd = -1;
        for (var i = 0; i < lines.Count; i++)
        {
            var trimmed = lines[i].Trim();
            if (trimmed.StartsWith('[') && trimmed.EndsWith(']'))
            {
                current = trimmed[1..^1].Trim();
                if (SameSection(current, section))
                {
                    sectionEnd = i + 1;
                }
                continue;
            }
            if (!SameSection(current, section))
            {
                continue;
            }
            if (trimmed.Length > 0 && !trimmed.StartsWith('#') && !trimmed.StartsWith(';'))
            {
                sectionEnd = i + 1;
                var sep = trimmed.IndexOfAny(['=', ':']);
                if (sep > 0 && trimmed[..sep].Trim().Equals(key, StringComparison.Ordinal))
                {
                    lines[i] = $"{key} = {value}";
                    return string.Join('\n', lines);
                }
            }
        }
        if (sectionEnd >= 0)
        {
            lines.Insert(sectionEnd, $"{key} = {value}");
            return string.Join('\n', lines);
        }
        var sb = new StringBuilder(text);
        if (text.Length > 0 && !text.EndsWith('\n'))
        {
            sb.Append('\n');
        }
        sb.Append('\n').Append('[').Append(section).Append("]\n").Append(key).Append(" = ").Append(value).Append('\n');
        return sb.ToString();
    }

    /// <summary>The last value of <c>key</c> in <paramref name="section"/>, or null.</summary>
    public static string? Get(string text, string section, string key)
    {
        ArgumentNullException.ThrowIfNull(text);
        var current = "";
        string? found = null;
        foreach (var line in text.Split('\n'))
        {
            var trimmed = line.Trim();
            if (trimmed.StartsWith('[') && trimmed.EndsWith(']'))
            {
                current = trimmed[1..^1].Trim();
                continue;
            }
            var sep = trimmed.IndexOfAny(['=', ':']);
            if (SameSection(current, section) && sep > 0 && !trimmed.StartsWith('#') && trimmed[..sep].Trim().Equals(key, StringComparison.Ordinal))
            {
                found = trimmed[(sep + 1)..].Trim();
            }
        }
        return found;
    }

    private static bool SameSection(string a, string b) =>
        a.Equals(b, a.Equals("DEFAULT", StringComparison.OrdinalIgnoreCase) ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);
}
