// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Octavia.Amphora.Agent.Logging;

/// <summary>
/// Points an uploaded haproxy.cfg's logs at this agent. Controllers render upstream's
/// <c>log /run/rsyslog/octavia/log localN</c>: the socket of rsyslog inside an amphora VM. Here the agent
/// plays rsyslog, and HAProxy writes into in-memory rings that it forwards to the agent in batches over
/// stream sockets. A datagram per request costs HAProxy a system call on every connection; the rings never
/// block HAProxy and drop the oldest lines if the agent falls behind. Tenant traffic goes into its own ring
/// in <c>raw</c> format (no syslog header: formatting one per request costs HAProxy measurable CPU; the agent
/// adds it when it forwards), administrative messages into a ring with RFC 5424 headers.
/// </summary>
internal static partial class LogRouting
{
    /// <summary>The ring tenant traffic lines go to.</summary>
    public const string TrafficRing = "octavia-traffic";

    /// <summary>The ring every other facility goes to.</summary>
    public const string AdminRing = "octavia-admin";

    /// <summary>
    /// Replaces upstream's rsyslog socket in <c>log</c> lines with the rings (facility
    /// <c>local<paramref name="userLogFacility"/></c> is tenant traffic), and adds the ring sections.
    /// </summary>
    public static string RouteToAgent(string config, int userLogFacility, string trafficAddress, string adminAddress)
    {
        var used = new HashSet<string>();
        var routed = RsyslogLine().Replace(config, m =>
        {
            var ring = m.Groups[3].Value == userLogFacility.ToString(CultureInfo.InvariantCulture) ? TrafficRing : AdminRing;
            used.Add(ring);
            return $"{m.Groups[1].Value}log ring@{ring} {m.Groups[2].Value}";
        });
        if (used.Count == 0)
        {
            return config;
        }
        var sb = new StringBuilder(routed.TrimEnd('\n')).Append('\n');
        if (used.Contains(TrafficRing))
        {
            Ring(sb, TrafficRing, "raw", trafficAddress);
        }
        if (used.Contains(AdminRing))
        {
            Ring(sb, AdminRing, "rfc5424", adminAddress);
        }
        return sb.ToString();
    }

    private static void Ring(StringBuilder sb, string name, string format, string address) => sb.Append(CultureInfo.InvariantCulture, $"""

        ring {name}
            description "amphora logs for the amphora agent"
            format {format}
            maxlen 4096
            size 1048576
            timeout connect 5s
            timeout server 30s
            server agent {address}

        """);

    [GeneratedRegex(@"^([ \t]*)log[ \t]+/run/rsyslog/octavia/log[ \t]+(local(\d)\b.*?)[ \t]*$", RegexOptions.Multiline)]
    private static partial Regex RsyslogLine();
}
