// Licensed under the Apache License, Version 2.0.

using System.Text.RegularExpressions;

namespace Octavia.Amphora.Agent.Logging;

/// <summary>
/// Points an uploaded haproxy.cfg's logs at this agent. Controllers render upstream's
/// <c>log /run/rsyslog/octavia/log localN</c>: the socket of rsyslog inside an amphora VM. Here the agent
/// plays rsyslog, and HAProxy writes into an in-memory ring that it forwards to the agent in batches over
/// a stream socket. A datagram per request costs HAProxy a system call on every connection (about a third
/// more CPU per request, measured in bench/HaproxyBench); the ring never blocks HAProxy and drops the
/// oldest lines if the agent falls behind.
/// </summary>
internal static partial class LogRouting
{
    /// <summary>The ring's name in the rewritten configuration.</summary>
    public const string RingName = "octavia-log";

    /// <summary>Replaces upstream's rsyslog socket in <c>log</c> lines with the ring, and adds the ring section.</summary>
    public static string RouteToAgent(string config, string agentAddress)
    {
        var replaced = false;
        var routed = RsyslogLine().Replace(config, m =>
        {
            replaced = true;
            return $"{m.Groups[1].Value}log ring@{RingName} {m.Groups[2].Value}";
        });
        if (!replaced)
        {
            return config;
        }
        return routed.TrimEnd('\n') + $"""


            ring {RingName}
                description "amphora logs for the amphora agent"
                format rfc5424
                maxlen 4096
                size 1048576
                timeout connect 5s
                timeout server 30s
                server agent {agentAddress}

            """;
    }

    [GeneratedRegex(@"^([ \t]*)log[ \t]+/run/rsyslog/octavia/log[ \t]+(\S.*?)[ \t]*$", RegexOptions.Multiline)]
    private static partial Regex RsyslogLine();
}
