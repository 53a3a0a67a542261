// Licensed under the Apache License, Version 2.0.

using System.Net.Sockets;
using System.Text;

namespace Octavia.Amphora.Agent.Haproxy;

/// <summary>One command over an HAProxy stats or master CLI socket (upstream's <c>HAProxyQuery</c>).</summary>
internal static class HaproxySocket
{
    // sun_path holds 108 bytes; a deep base_path (a local amphora's run directory) exceeds it.
    private const int MaxSocketPath = 107;

    public static async Task<string> QueryAsync(string socketPath, string command, CancellationToken ct = default)
    {
        if (Encoding.UTF8.GetByteCount(socketPath) <= MaxSocketPath)
        {
            return await QueryShortAsync(socketPath, command, ct).ConfigureAwait(false);
        }
        // connect() follows symlinks, so a short link in /tmp reaches a socket whose own path is too long.
        var link = Path.Combine(Path.GetTempPath(), "hasock-" + Guid.NewGuid().ToString("N")[..16]);
        File.CreateSymbolicLink(link, socketPath);
        try
        {
            return await QueryShortAsync(link, command, ct).ConfigureAwait(false);
        }
        finally
        {
            File.Delete(link);
        }
    }

    private static async Task<string> QueryShortAsync(string socketPath, string command, CancellationToken ct)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(TimeSpan.FromSeconds(5));
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cts.Token).ConfigureAwait(false);
        await socket.SendAsync(Encoding.ASCII.GetBytes(command + "\n"), SocketFlags.None, cts.Token).ConfigureAwait(false);
        // The master CLI answers and closes only once it sees the end of input.
        socket.Shutdown(SocketShutdown.Send);
        var buffer = new byte[16384];
        var result = new StringBuilder();
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token).ConfigureAwait(false)) > 0)
        {
            result.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }
        return result.ToString();
    }

    /// <summary>Parses <c>show stat</c> CSV (first line <c># pxname,svname,...</c>) into rows keyed by column name.</summary>
    public static IReadOnlyList<Dictionary<string, string>> ParseStat(string csv)
    {
        var lines = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (lines.Length == 0 || !lines[0].StartsWith('#'))
        {
            return [];
        }
        var header = lines[0].TrimStart('#', ' ').Split(',');
        var rows = new List<Dictionary<string, string>>();
        foreach (var line in lines.Skip(1))
        {
            var cells = line.Split(',');
            var row = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i < header.Length && i < cells.Length; i++)
            {
                if (header[i].Length > 0)
                {
                    row[header[i]] = cells[i];
                }
            }
            // The internal prometheus proxy is not billed traffic; upstream never reports it.
            if (row.TryGetValue("pxname", out var px) && !px.Contains("prometheus", StringComparison.Ordinal))
            {
                rows.Add(row);
            }
        }
        return rows;
    }
}
