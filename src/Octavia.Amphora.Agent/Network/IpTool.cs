// Licensed under the Apache License, Version 2.0.

using System.Net;
using System.Text.Json.Nodes;
using Octavia.Amphora.Agent.Os;

namespace Octavia.Amphora.Agent.Network;

/// <summary>Reads links and addresses of the agent's own network namespace through <c>ip -j</c>.</summary>
internal static class IpTool
{
    /// <summary>
    /// True when this process runs in a network namespace other than the host's: either PID 1's namespace
    /// differs, or (where PID 1 cannot be inspected, as in containers) <c>ip netns identify</c> names one.
    /// </summary>
    public static bool InOwnNamespace()
    {
        try
        {
            var self = new FileInfo("/proc/self/ns/net").LinkTarget;
            var init = new FileInfo("/proc/1/ns/net").LinkTarget;
            if (self is not null && init is not null)
            {
                return self != init;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Fall through to the named-namespace check.
        }
        var identify = CommandRunner.RunAsync("ip", ["netns", "identify"], CancellationToken.None).GetAwaiter().GetResult();
        return identify.Ok && identify.Output.Trim().Length > 0;
    }

    public static async Task<JsonArray> LinksAsync(bool stats = false, CancellationToken ct = default)
    {
        var result = await CommandRunner.RunAsync("ip", stats ? ["-j", "-s", "link", "show"] : ["-j", "link", "show"], ct).ConfigureAwait(false);
        return result.Ok && JsonNode.Parse(result.Output) is JsonArray links ? links : [];
    }

    /// <summary>The interface with this MAC address (case-insensitive), or null.</summary>
    public static async Task<string?> InterfaceByMacAsync(string mac, CancellationToken ct = default)
    {
        foreach (var link in await LinksAsync(ct: ct).ConfigureAwait(false))
        {
            if (string.Equals((string?)link?["address"], mac, StringComparison.OrdinalIgnoreCase))
            {
                return (string?)link?["ifname"];
            }
        }
        return null;
    }

    /// <summary>Every link with its addresses (<c>ip -j addr show</c>), or an empty array.</summary>
    public static async Task<JsonArray> AddressesAsync(CancellationToken ct = default)
    {
        var result = await CommandRunner.RunAsync("ip", ["-j", "addr", "show"], ct).ConfigureAwait(false);
        return result.Ok && JsonNode.Parse(result.Output) is JsonArray links ? links : [];
    }

    /// <summary>The link (from <see cref="AddressesAsync"/>) holding this address, or null.</summary>
    public static JsonNode? LinkWithAddress(JsonArray links, IPAddress address)
    {
        foreach (var link in links)
        {
            foreach (var info in link?["addr_info"]?.AsArray() ?? [])
            {
                if (IPAddress.TryParse((string?)info?["local"], out var local) && local.Equals(address))
                {
                    return link;
                }
            }
        }
        return null;
    }

    /// <summary>The interface holding this address, or null.</summary>
    public static async Task<string?> InterfaceByAddressAsync(IPAddress address, CancellationToken ct = default) =>
        (string?)LinkWithAddress(await AddressesAsync(ct).ConfigureAwait(false), address)?["ifname"];

    /// <summary>Runs one <c>ip</c> command.</summary>
    public static Task<CommandResult> RunAsync(IReadOnlyList<string> args, CancellationToken ct = default) => CommandRunner.RunAsync("ip", args, ct);
}
