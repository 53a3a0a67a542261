// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using Microsoft.Extensions.Logging;

namespace Octavia.Drivers.Network.Local;

/// <summary>A host command failed; the message carries the command and what it printed.</summary>
public sealed class LocalCommandException : Exception
{
    public LocalCommandException(string message) : base(message)
    {
    }

    public LocalCommandException()
    {
    }

    public LocalCommandException(string message, Exception innerException) : base(message, innerException)
    {
    }
}

/// <summary>Bridges, veths and namespaces through iproute2; every operation may be repeated.</summary>
public sealed partial class LinkTool
{
    // Bridges this process has created or configured. Every amphora boot and plug ensures its bridge;
    // three `ip` runs each time are most of a plug's cost on a loaded host.
    private static readonly ConcurrentDictionary<string, bool> s_readyBridges = new(StringComparer.Ordinal);

    private readonly ILogger _logger;

    public LinkTool(ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(logger);
        _logger = logger;
    }

    /// <summary>The namespace of an amphora, named as the issue asks.</summary>
    public static string NamespaceName(string amphoraId) => "amphora-" + amphoraId;

    /// <summary>Runs a program; throws <see cref="LocalCommandException"/> unless it succeeds or prints one of <paramref name="tolerated"/>.</summary>
    public async Task<string> RunAsync(string program, IReadOnlyList<string> args, CancellationToken cancellationToken, params string[] tolerated)
    {
        var psi = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        var commandLine = program + " " + string.Join(' ', args);
        LogCommand(_logger, commandLine);
        using var process = Process.Start(psi) ?? throw new LocalCommandException($"{commandLine}: could not start");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        var output = await stdout.ConfigureAwait(false);
        var error = (await stderr.ConfigureAwait(false)).Trim();
        if (process.ExitCode != 0 && !tolerated.Any(t => error.Contains(t, StringComparison.OrdinalIgnoreCase)))
        {
            throw new LocalCommandException($"'{commandLine}' failed (exit {process.ExitCode}): {error}");
        }
        return output;
    }

    private Task<string> IpAsync(CancellationToken cancellationToken, params string[] args) =>
        RunAsync("ip", args, cancellationToken);

    private Task<string> IpTolerantAsync(string[] tolerated, CancellationToken cancellationToken, params string[] args) =>
        RunAsync("ip", args, cancellationToken, tolerated);

    /// <summary>True if the host link exists: sysfs first (no process), then <c>ip link show</c>.</summary>
    public async Task<bool> LinkExistsAsync(string name, CancellationToken cancellationToken) =>
        Directory.Exists("/sys/class/net/" + name)
        || (await IpTolerantAsync(["does not exist", "Cannot find device"], cancellationToken, "-o", "link", "show", "dev", name).ConfigureAwait(false)).Length > 0;

    /// <summary>Creates the bridge if missing, puts the host address on it and brings it up.</summary>
    public async Task EnsureBridgeAsync(LocalNetwork network, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(network);
        if (s_readyBridges.ContainsKey(network.Bridge) && Directory.Exists("/sys/class/net/" + network.Bridge))
        {
            return;
        }
        if (!await LinkExistsAsync(network.Bridge, cancellationToken).ConfigureAwait(false))
        {
            // Two builds may race to create the same bridge; the loser's "File exists" is fine.
            await IpTolerantAsync(["File exists"], cancellationToken, "link", "add", network.Bridge, "mtu", Str(network.Mtu), "type", "bridge").ConfigureAwait(false);
            LogBridgeCreated(_logger, network.Bridge, network.Name);
        }
        foreach (var subnet in network.Subnets)
        {
            if (subnet.HostAddress is { } host)
            {
                await IpAsync(cancellationToken, "addr", "replace", $"{host}/{subnet.Cidr.PrefixLength}", "dev", network.Bridge).ConfigureAwait(false);
            }
        }
        await IpAsync(cancellationToken, "link", "set", network.Bridge, "up").ConfigureAwait(false);
        s_readyBridges[network.Bridge] = true;
    }

    /// <summary>True if the named namespace exists: its file under /run/netns first (no process), then <c>ip netns list</c>.</summary>
    public async Task<bool> NamespaceExistsAsync(string ns, CancellationToken cancellationToken)
    {
        if (File.Exists("/run/netns/" + ns))
        {
            return true;
        }
        var list = await IpAsync(cancellationToken, "netns", "list").ConfigureAwait(false);
        return list.Split('\n').Any(line => line.Split(' ', 2)[0] == ns);
    }

    /// <summary>Creates the namespace (if missing) with <c>lo</c> up and non-local binds allowed (a BACKUP amphora binds the VIP it does not hold yet).</summary>
    public async Task EnsureNamespaceAsync(string ns, CancellationToken cancellationToken)
    {
        if (!await NamespaceExistsAsync(ns, cancellationToken).ConfigureAwait(false))
        {
            await IpTolerantAsync(["File exists"], cancellationToken, "netns", "add", ns).ConfigureAwait(false);
        }
        await IpAsync(cancellationToken, "-n", ns, "link", "set", "lo", "up").ConfigureAwait(false);
        await IpAsync(cancellationToken, "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.ip_nonlocal_bind=1").ConfigureAwait(false);
    }

    /// <summary>
    /// A veth pair: <paramref name="hostName"/> on the host, enslaved to the network's bridge, and
    /// <paramref name="insideName"/> (with the port's MAC) inside <paramref name="ns"/>; both up.
    /// </summary>
    public async Task PlugAsync(LocalNetwork network, string ns, string hostName, string insideName, string mac, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(network);
        await EnsureBridgeAsync(network, cancellationToken).ConfigureAwait(false);
        if (!await LinkExistsAsync(hostName, cancellationToken).ConfigureAwait(false))
        {
            await IpAsync(cancellationToken, "link", "add", hostName, "mtu", Str(network.Mtu), "type", "veth",
                "peer", "name", insideName, "address", mac, "mtu", Str(network.Mtu), "netns", ns).ConfigureAwait(false);
            LogPlugged(_logger, hostName, ns, insideName, network.Bridge);
        }
        await IpAsync(cancellationToken, "link", "set", hostName, "master", network.Bridge, "up").ConfigureAwait(false);
        await IpAsync(cancellationToken, "-n", ns, "link", "set", insideName, "up").ConfigureAwait(false);
    }

    /// <summary>Puts an address on an interface inside a namespace.</summary>
    public Task AddAddressAsync(string ns, string device, IPAddress address, int prefixLength, CancellationToken cancellationToken) =>
        IpAsync(cancellationToken, "-n", ns, "addr", "replace", $"{address}/{prefixLength}", "dev", device);

    /// <summary>Deletes a host link (the veth's peer goes with it); a missing link is fine.</summary>
    public Task DeleteLinkAsync(string name, CancellationToken cancellationToken) =>
        IpTolerantAsync(["Cannot find device", "does not exist"], cancellationToken, "link", "del", name);

    /// <summary>
    /// Forgets the host's neighbour (ARP) entries for an address: addresses are reused at once, and a
    /// stale entry would send the next owner's traffic to the old MAC for seconds.
    /// </summary>
    public Task FlushNeighbourAsync(string address, CancellationToken cancellationToken) =>
        IpTolerantAsync(["Cannot find device", "does not exist"], cancellationToken, "neigh", "flush", "to", address);

    /// <summary>The PIDs of every process inside the namespace (none if it does not exist).</summary>
    public async Task<IReadOnlyList<int>> NamespacePidsAsync(string ns, CancellationToken cancellationToken)
    {
        var output = await IpTolerantAsync(["No such file", "Invalid netns", "not found"], cancellationToken, "netns", "pids", ns).ConfigureAwait(false);
        return [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : 0)
            .Where(pid => pid > 0)];
    }

    public Task DeleteNamespaceAsync(string ns, CancellationToken cancellationToken) =>
        IpTolerantAsync(["No such file", "Cannot remove namespace file"], cancellationToken, "netns", "del", ns);

    private static string Str(int value) => value.ToString(CultureInfo.InvariantCulture);

    [LoggerMessage(EventId = 3200, Level = LogLevel.Debug, Message = "Running {CommandLine}")]
    private static partial void LogCommand(ILogger logger, string commandLine);

    [LoggerMessage(EventId = 3201, Level = LogLevel.Information, Message = "Created bridge {Bridge} for network {Network}")]
    private static partial void LogBridgeCreated(ILogger logger, string bridge, string network);

    [LoggerMessage(EventId = 3202, Level = LogLevel.Information, Message = "Plugged {HostInterface} into namespace {Namespace} as {Interface} on bridge {Bridge}")]
    private static partial void LogPlugged(ILogger logger, string hostInterface, string @namespace, string @interface, string bridge);
}
