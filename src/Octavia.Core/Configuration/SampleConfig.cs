// Licensed under the Apache License, Version 2.0.

using System.Text;

namespace Octavia.Core.Configuration;

/// <summary>Writes a commented octavia.conf from <see cref="OptionCatalog"/>, like oslo-config-generator.</summary>
public static class SampleConfig
{
    /// <summary>The sample text: every section, every option commented out at its default.</summary>
    public static string Generate()
    {
        var sb = new StringBuilder();
        foreach (var group in OptionCatalog.All.GroupBy(d => d.Section).OrderBy(g => g.Key == "DEFAULT" ? "" : g.Key, StringComparer.Ordinal))
        {
            sb.Append('[').Append(group.Key).Append("]\n\n");
            foreach (var def in group)
            {
                foreach (var line in Wrap(def.Help ?? "", 70))
                {
                    sb.Append("# ").Append(line).Append('\n');
                }
                var type = def.Kind switch
                {
                    OptionKind.Str => "string",
                    OptionKind.Int => "integer",
                    OptionKind.Port => "port number",
                    OptionKind.Bool => "boolean",
                    OptionKind.Float => "floating point",
                    OptionKind.IP => "IP address",
                    OptionKind.List => "list",
                    OptionKind.Dict => "dict",
                    _ => "multi valued",
                };
                sb.Append("# (").Append(type);
                if (def.Min is { } min)
                {
                    sb.Append(", minimum ").Append(min);
                }
                if (def.Max is { } max)
                {
                    sb.Append(", maximum ").Append(max);
                }
                if (def.Choices is { Count: > 0 } choices)
                {
                    sb.Append(", one of: ").Append(string.Join(", ", choices));
                }
                if (def.Ours)
                {
                    sb.Append("; not in upstream Octavia");
                }
                sb.Append(")\n#").Append(def.Name).Append(" = ").Append(def.Default ?? "<None>").Append("\n\n");
            }
        }
        return sb.ToString();
    }

    private static IEnumerable<string> Wrap(string text, int width)
    {
        var line = new StringBuilder();
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.Length > 0 && line.Length + word.Length + 1 > width)
            {
                yield return line.ToString();
                line.Clear();
            }
            if (line.Length > 0)
            {
                line.Append(' ');
            }
            line.Append(word);
        }
        if (line.Length > 0)
        {
            yield return line.ToString();
        }
    }
}
