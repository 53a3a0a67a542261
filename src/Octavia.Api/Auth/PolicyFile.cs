// Licensed under the Apache License, Version 2.0.

using System.Text;
using System.Text.Json;
using Octavia.Core.Configuration;

namespace Octavia.Api.Auth;

/// <summary>
/// Reads an oslo.policy override file: JSON, or YAML as oslo's sample generator writes it (a flat mapping of
/// policy name to check string, comments allowed). Nested YAML is rejected with the line number.
/// </summary>
public static class PolicyFile
{
    /// <summary>
    /// The enforcer for <paramref name="config"/>: upstream's defaults plus the overrides in
    /// <c>[oslo_policy] policy_file</c>, found as oslo.config does (absolute, or next to a configuration file).
    /// A missing file is fine when it is the default name; a missing explicitly configured one is an error.
    /// </summary>
    /// <exception cref="ConfigException">The file is configured but absent, or cannot be parsed.</exception>
    public static PolicyEnforcer CreateEnforcer(OctaviaConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var options = OptionBinder.Bind<OsloPolicyOptions>(config);
        var path = Locate(options.PolicyFile, config.Files);
        if (path is null)
        {
            if (config.Get("oslo_policy", "policy_file") is not null)
            {
                throw new ConfigException($"[oslo_policy] policy_file: {options.PolicyFile} not found");
            }
            return new PolicyEnforcer(null, options.EnforceNewDefaults);
        }
        try
        {
            return new PolicyEnforcer(Parse(File.ReadAllText(path)), options.EnforceNewDefaults);
        }
        catch (FormatException e)
        {
            throw new ConfigException($"[oslo_policy] policy_file {path}: {e.Message}");
        }
    }

    private static string? Locate(string file, IReadOnlyList<string> configFiles)
    {
        if (Path.IsPathRooted(file))
        {
            return File.Exists(file) ? file : null;
        }
        foreach (var configFile in configFiles.Reverse())
        {
            var candidate = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(configFile)) ?? ".", file);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    /// <summary>Parses the text of a policy file into policy name → check string.</summary>
    /// <exception cref="FormatException">Not a flat mapping of strings.</exception>
    public static IReadOnlyDictionary<string, string> Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.TrimStart().StartsWith('{') ? ParseJson(text) : ParseYaml(text);
    }

    private static Dictionary<string, string> ParseJson(string text)
    {
        try
        {
            return JsonSerializer.Deserialize<Dictionary<string, string>>(text)
                ?? throw new FormatException("the policy file is not a JSON object");
        }
        catch (JsonException e)
        {
            throw new FormatException($"invalid JSON policy file: {e.Message}", e);
        }
    }

    private static Dictionary<string, string> ParseYaml(string text)
    {
        var rules = new Dictionary<string, string>(StringComparer.Ordinal);
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r');
            var trimmed = line.TrimStart();
            if (trimmed.Length == 0 || trimmed[0] == '#' || trimmed == "---")
            {
                continue;
            }
            if (trimmed.Length != line.Length)
            {
                throw new FormatException($"line {i + 1}: only a flat mapping \"name\": \"check\" is supported");
            }
            var pos = 0;
            var key = ReadScalar(line, ref pos, isKey: true, i + 1);
            if (pos >= line.Length || line[pos] != ':')
            {
                throw new FormatException($"line {i + 1}: expected ':' after the policy name");
            }
            pos++;
            var value = ReadScalar(line, ref pos, isKey: false, i + 1);
            rules[key] = value;
        }
        return rules;
    }

    private static string ReadScalar(string line, ref int pos, bool isKey, int lineNumber)
    {
        while (pos < line.Length && line[pos] == ' ')
        {
            pos++;
        }
        if (pos < line.Length && (line[pos] == '"' || line[pos] == '\''))
        {
            var quote = line[pos++];
            var sb = new StringBuilder();
            while (true)
            {
                if (pos >= line.Length)
                {
                    throw new FormatException($"line {lineNumber}: unterminated quoted string");
                }
                var c = line[pos++];
                if (c == quote)
                {
                    // YAML escapes a single quote inside single quotes by doubling it.
                    if (quote == '\'' && pos < line.Length && line[pos] == '\'')
                    {
                        sb.Append('\'');
                        pos++;
                        continue;
                    }
                    break;
                }
                if (c == '\\' && quote == '"' && pos < line.Length)
                {
                    sb.Append(line[pos++]);
                    continue;
                }
                sb.Append(c);
            }
            if (!isKey)
            {
                var rest = line[pos..].Trim();
                if (rest.Length > 0 && rest[0] != '#')
                {
                    throw new FormatException($"line {lineNumber}: unexpected text after the check string");
                }
                pos = line.Length;
            }
            return sb.ToString();
        }
        if (isKey)
        {
            // Policy names contain ':' themselves; a plain key ends at the first ": " or a trailing ':'.
            var end = line.IndexOf(": ", pos, StringComparison.Ordinal);
            if (end < 0)
            {
                end = line.EndsWith(':') ? line.Length - 1 : -1;
            }
            if (end < 0)
            {
                throw new FormatException($"line {lineNumber}: expected \"name\": \"check\"");
            }
            var key = line[pos..end].Trim();
            pos = end;
            return key;
        }
        var plain = line[pos..];
        var comment = plain.IndexOf(" #", StringComparison.Ordinal);
        if (comment >= 0)
        {
            plain = plain[..comment];
        }
        pos = line.Length;
        plain = plain.Trim();
        if (plain.StartsWith('[') || plain.StartsWith('{') || plain.StartsWith('|') || plain.StartsWith('>'))
        {
            throw new FormatException($"line {lineNumber}: only plain or quoted check strings are supported");
        }
        return plain;
    }
}
