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
        foreach (var group in OptionCatalog.BySection())
        {
            sb.Append('[').Append(group.Key).Append("]\n\n");
            foreach (var def in group)
            {
                foreach (var line in Wrap(def.Help ?? "", 70))
                {
                    sb.Append("# ").Append(line).Append('\n');
                }
                sb.Append("# (").Append(ConfigReference.TypeName(def));
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
