// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Octavia.Amphora.Agent.Logging;

/// <summary>
/// Points an uploaded haproxy.cfg's logs at this agent. Controllers render upstream's
/// <c>log /run/rsyslog/octavia/log localN</c>: the socket of rsyslog inside an amphora VM. Here the agent plays
/// rsyslog, and HAProxy writes its lines into two FIFOs the agent reads in batches: tenant traffic (facility
/// <c>local&lt;user_log_facility&gt;</c>) on its standard output in the <c>short</c> format (the level and the
/// message: no header to format per request), everything else on descriptor 3 with RFC 5424 headers.
/// A line costs HAProxy one write into a kernel buffer. The alternatives cost more: a datagram per line to a
/// socket (upstream's rsyslog), or HAProxy's ring forwarded to the agent over a socket (about 20% of HAProxy's
/// throughput on the forwarding, docs/benchmarks.md).
/// </summary>
internal static partial class LogRouting
{
    /// <summary>The descriptor HAProxy writes administrative lines to; tenant traffic goes to its standard output.</summary>
    public const int AdminFd = 3;

    /// <summary>
    /// Replaces upstream's rsyslog socket in <c>log</c> lines: facility <c>local<paramref name="userLogFacility"/></c>
    /// (tenant traffic) to standard output, the others to <see cref="AdminFd"/>.
    /// </summary>
    public static string RouteToAgent(string config, int userLogFacility) => RsyslogLine().Replace(config, m =>
        m.Groups[3].Value == userLogFacility.ToString(System.Globalization.CultureInfo.InvariantCulture)
            ? $"{m.Groups[1].Value}log stdout format short {m.Groups[2].Value}"
            : $"{m.Groups[1].Value}log fd@{AdminFd} format rfc5424 {m.Groups[2].Value}");

    /// <summary>
    /// Starts <paramref name="haproxyCmd"/> with its standard output on <paramref name="trafficFifo"/> and
    /// <see cref="AdminFd"/> on <paramref name="adminFifo"/>. A shell opens both read-write, which never blocks
    /// and never gives HAProxy EPIPE while the agent restarts, then execs HAProxy in its place (same PID).
    /// Paths that do not exist (no receiver) are replaced by /dev/null.
    /// </summary>
    public static ProcessStartInfo HaproxyStartInfo(string haproxyCmd, IEnumerable<string> args, string trafficFifo, string adminFifo)
    {
        var psi = new ProcessStartInfo("/bin/sh") { RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-c", $"t=$1 a=$2; shift 2; exec \"$@\" 1<>\"$t\" {AdminFd}<>\"$a\"", "haproxy", Existing(trafficFifo), Existing(adminFifo), haproxyCmd })
        {
            psi.ArgumentList.Add(a);
        }
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        return psi;
    }

    private static string Existing(string path) => File.Exists(path) ? path : "/dev/null";

    [GeneratedRegex(@"^([ \t]*)log[ \t]+/run/rsyslog/octavia/log[ \t]+(local(\d)\b.*?)[ \t]*$", RegexOptions.Multiline)]
    private static partial Regex RsyslogLine();
}
