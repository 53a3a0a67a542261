// Licensed under the Apache License, Version 2.0.

using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Octavia.EndToEnd.Tests;

/// <summary>
/// Host-side checks of a stacked all-in-one deployment: HTTP to a VIP, backend servers on the tenant
/// gateway, and what an amphora leaves on the host (namespace, veths, addresses, processes).
/// </summary>
internal static class Deployment
{
    /// <summary>The tenant network's host address in namespace mode (docs/local-drivers.md).</summary>
    public const string TenantGateway = "198.19.0.1";

    public static JsonObject Json(string cliOutput)
    {
        // The CLI may print warnings before the JSON document.
        var start = cliOutput.IndexOfAny(['{', '[']);
        start.ShouldBeGreaterThanOrEqualTo(0, $"no JSON in: {cliOutput}");
        var node = JsonNode.Parse(cliOutput[start..])!;
        return node as JsonObject ?? new JsonObject { ["items"] = node };
    }

    /// <summary>GET with a short timeout (HTTPS trusts only a server certificate with <paramref name="expectedSubject"/>); returns (status, body) or (0, error) when nothing answered.</summary>
    public static async Task<(int Status, string Body)> GetAsync(string url, string? expectedSubject = null)
    {
        using var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero, ConnectTimeout = TimeSpan.FromSeconds(3) };
        if (expectedSubject is not null)
        {
            // The listener's certificate is self-signed: trust exactly the one the test made.
            handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, _) => cert?.Subject == expectedSubject;
        }
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(5) };
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.ConnectionClose = true;
        try
        {
            using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);
            return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return (0, ex.Message);
        }
    }

    /// <summary>Polls until <paramref name="accept"/> holds (haproxy reloads are asynchronous to the API's ACTIVE).</summary>
    public static async Task<(int Status, string Body)> GetUntilAsync(string url, Func<int, string, bool> accept, string? expectedSubject = null, int seconds = 20)
    {
        var deadline = Stopwatch.StartNew();
        (int Status, string Body) last;
        do
        {
            last = await GetAsync(url, expectedSubject);
            if (accept(last.Status, last.Body))
            {
                return last;
            }
            await Task.Delay(250, TestContext.Current.CancellationToken);
        }
        while (deadline.Elapsed < TimeSpan.FromSeconds(seconds));
        return last;
    }

    /// <summary>Host link names (veths, bridges) right now.</summary>
    public static HashSet<string> Links() =>
        [.. Run("ip", "-o", "link", "show").Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(':')[1].Trim().Split('@')[0])];

    /// <summary>Network namespaces right now.</summary>
    public static string Namespaces() => Run("ip", "netns", "list").Output;

    /// <summary>Host addresses right now.</summary>
    public static string Addresses() => Run("ip", "-o", "addr", "show").Output;

    /// <summary>PIDs whose command line mentions <paramref name="text"/>.</summary>
    public static List<int> ProcessesMentioning(string text)
    {
        var pids = new List<int>();
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }
            try
            {
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (cmdline.Contains(text, StringComparison.Ordinal))
                {
                    pids.Add(pid);
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
        return pids;
    }

    public static string TempDir(string prefix) => Directory.CreateTempSubdirectory(prefix).FullName;
}
