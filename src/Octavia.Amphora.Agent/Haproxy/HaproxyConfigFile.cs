// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using System.Text.RegularExpressions;

namespace Octavia.Amphora.Agent.Haproxy;

/// <summary>A listener (HAProxy frontend) found in a configuration, as upstream's <c>parse_haproxy_file</c> reports it.</summary>
internal sealed record HaproxyListener(string Id, string Mode);

/// <summary>
/// The facts the agent reads from an uploaded haproxy.cfg; it rewrites only upstream's <c>group</c> lines and
/// the paths of its own files (stats socket, server-state file), which must be this amphora's.
/// </summary>
internal static partial class HaproxyConfigFile
{
    /// <summary>Upstream removes <c>group</c> lines because the agent supplies the group itself.</summary>
    public static string StripGroup(string config) => GroupLine().Replace(config, "");

    /// <summary>
    /// Ours: an unprivileged agent (loopback mode without root) drops <c>user</c> lines too, since HAProxy
    /// cannot switch to that user and would refuse to start; it keeps the agent's own user instead.
    /// </summary>
    public static string StripUserWhenUnprivileged(string config) =>
        Environment.IsPrivilegedProcess ? config : UserLine().Replace(config, "");

    /// <summary>Frontends with their mode (HTTP/TCP, or TERMINATED_HTTPS when bound with a crt-list).</summary>
    public static IReadOnlyList<HaproxyListener> Listeners(string config)
    {
        var result = new List<HaproxyListener>();
        foreach (var (kind, name, body) in Sections(config))
        {
            if (kind != "frontend")
            {
                continue;
            }
            var mode = ModeLine().Match(body) is { Success: true } m ? m.Groups[1].Value.Trim().ToUpperInvariant() : "TCP";
            if (TlsBind().IsMatch(body))
            {
                mode = "TERMINATED_HTTPS";
            }
            result.Add(new HaproxyListener(name, mode));
        }
        return result;
    }

    /// <summary>
    /// Points the stats socket and the server-state file at this amphora's own files. The controller renders
    /// them from its <c>base_path</c>; amphorae sharing a host (two of one ACTIVE_STANDBY load balancer) would
    /// otherwise bind one socket path and overwrite one state file.
    /// </summary>
    public static string LocalizePaths(string config, string statsSocket, string stateFile)
    {
        var text = StatsSocketLine().Replace(config, m => "stats socket " + statsSocket, 1);
        return StateFileLine().Replace(text, m => m.Groups[1].Value + stateFile);
    }

    /// <summary>The first <c>stats socket</c> path, or null.</summary>
    public static string? StatsSocket(string config) => StatsSocketLine().Match(config) is { Success: true } m ? m.Groups[1].Value : null;

    /// <summary>The <c>maxconn</c> of the <c>global</c> section, or null when HAProxy picks it.</summary>
    public static long? GlobalMaxconn(string config)
    {
        foreach (var (kind, _, body) in Sections(config))
        {
            if (kind == "global" && MaxconnLine().Match(body) is { Success: true } m)
            {
                return long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            }
        }
        return null;
    }

    /// <summary>The addresses of the <c>bind</c> lines (upstream's <c>get_haproxy_vip_addresses</c>); wildcards and names are skipped.</summary>
    public static IReadOnlyList<System.Net.IPAddress> BindAddresses(string config)
    {
        var result = new List<System.Net.IPAddress>();
        foreach (Match m in BindAddress().Matches(config))
        {
            var text = m.Groups[1].Value;
            var at = text.IndexOf('@', StringComparison.Ordinal);
            text = text[(at + 1)..];
            var colon = text.LastIndexOf(':');
            if (colon > 0 && System.Net.IPAddress.TryParse(text[..colon].Trim('[', ']'), out var address)
                && !address.Equals(System.Net.IPAddress.Any) && !address.Equals(System.Net.IPAddress.IPv6Any))
            {
                result.Add(address);
            }
        }
        return result;
    }

    /// <summary>Number of <c>bind</c> lines (each holds a descriptor).</summary>
    public static int BindCount(string config) => BindLine().Count(config);

    /// <summary>
    /// Descriptors HAProxy reserves for <paramref name="maxconn"/>: two per connection (client and server
    /// side) plus listeners and internal sockets. HAProxy 2.6 asked for 2·maxconn+40 with one listener.
    /// </summary>
    public static long RequiredDescriptors(long maxconn, int binds) => (2 * maxconn) + 64 + binds;

    private static IEnumerable<(string Kind, string Name, string Body)> Sections(string config)
    {
        string? kind = null;
        var name = "";
        var body = new System.Text.StringBuilder();
        foreach (var raw in config.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            var header = SectionHeader().Match(line);
            if (header.Success)
            {
                if (kind is not null)
                {
                    yield return (kind, name, body.ToString());
                }
                kind = header.Groups[1].Value;
                name = header.Groups[2].Value.Trim();
                body.Clear();
                continue;
            }
            body.Append(line).Append('\n');
        }
        if (kind is not null)
        {
            yield return (kind, name, body.ToString());
        }
    }

    [GeneratedRegex(@"\s+group\s.+")]
    private static partial Regex GroupLine();

    [GeneratedRegex(@"^[ \t]+user[ \t].*$", RegexOptions.Multiline)]
    private static partial Regex UserLine();

    [GeneratedRegex(@"^(global|defaults|frontend|backend|listen|peers|resolvers|userlist|program|cache|mailers|ring|http-errors)\b\s*(\S*)", RegexOptions.Multiline)]
    private static partial Regex SectionHeader();

    [GeneratedRegex(@"^\s+mode\s+(\S+)", RegexOptions.Multiline)]
    private static partial Regex ModeLine();

    [GeneratedRegex(@"^\s+bind\s+\S+\s+ssl crt-list\s+(\S*)", RegexOptions.Multiline)]
    private static partial Regex TlsBind();

    [GeneratedRegex(@"stats socket\s+(\S+)")]
    private static partial Regex StatsSocketLine();

    [GeneratedRegex(@"^(\s*server-state-file\s+)\S+", RegexOptions.Multiline)]
    private static partial Regex StateFileLine();

    [GeneratedRegex(@"^\s+maxconn\s+(\d{1,15})\s*$", RegexOptions.Multiline)]
    private static partial Regex MaxconnLine();

    [GeneratedRegex(@"^\s+bind\s+([^\s,]+)", RegexOptions.Multiline)]
    private static partial Regex BindAddress();

    [GeneratedRegex(@"^\s+bind\s", RegexOptions.Multiline)]
    private static partial Regex BindLine();
}
