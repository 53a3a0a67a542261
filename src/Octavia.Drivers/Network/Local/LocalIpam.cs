// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Octavia.Core.Drivers;

namespace Octavia.Drivers.Network.Local;

/// <summary>What a local port is for; also names the interface inside the amphora.</summary>
public static class LocalPortRole
{
    public const string Vip = "vip";
    public const string Vrrp = "vrrp";
    public const string Management = "mgmt";
    public const string Member = "member";
}

/// <summary>One allocated address: a Neutron-shaped port, plus the veth that carries it (namespace mode).</summary>
public sealed class LocalPort
{
    public string Id { get; set; } = "";
    public string Name { get; set; } = "";
    public string Role { get; set; } = "";
    public string NetworkId { get; set; } = "";
    public string SubnetId { get; set; } = "";
    public string IpAddress { get; set; } = "";
    public string MacAddress { get; set; } = "";
    public string? DeviceId { get; set; }
    public string? DeviceOwner { get; set; }
    public string? ProjectId { get; set; }

    /// <summary>The veth end on the host, enslaved to the network's bridge; null when not plugged.</summary>
    public string? HostInterface { get; set; }

    /// <summary>The veth end inside the amphora's namespace.</summary>
    public string? Interface { get; set; }

    public DateTime CreatedAt { get; set; }

    public PortInfo ToPortInfo() =>
        new(Id, Name, NetworkId, MacAddress, [new FixedIp(SubnetId, IpAddress)], DeviceId, DeviceOwner, ProjectId);
}

/// <summary>The address book as stored in <c>ipam.json</c>.</summary>
public sealed class IpamState
{
    public List<LocalPort> Ports { get; set; } = [];
}

/// <summary>
/// Address management for the local drivers, persisted in <c>&lt;state_dir&gt;/ipam.json</c>. Every
/// change runs under an exclusive lock on <c>ipam.lock</c>, so workers, the API and tests in other
/// processes never hand out the same address twice.
/// </summary>
public sealed class LocalIpam
{
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> s_processLocks = new(StringComparer.Ordinal);
    private static readonly JsonSerializerOptions s_json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly string _file;
    private readonly string _lockFile;
    private readonly TimeProvider _timeProvider;

    public LocalIpam(string stateDir, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(stateDir);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _file = Path.Combine(Path.GetFullPath(stateDir), "ipam.json");
        _lockFile = _file + ".lock";
        _timeProvider = timeProvider;
    }

    /// <summary>A snapshot of every port.</summary>
    public Task<IReadOnlyList<LocalPort>> ReadAsync(CancellationToken cancellationToken) =>
        UpdateAsync<IReadOnlyList<LocalPort>>(state => [.. state.Ports], cancellationToken, write: false);

    /// <summary>Runs <paramref name="change"/> on the stored state under the lock and saves the result.</summary>
    public async Task<T> UpdateAsync<T>(Func<IpamState, T> change, CancellationToken cancellationToken, bool write = true)
    {
        ArgumentNullException.ThrowIfNull(change);
        var processLock = s_processLocks.GetOrAdd(_file, _ => new SemaphoreSlim(1, 1));
        await processLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var fileLock = await AcquireFileLockAsync(cancellationToken).ConfigureAwait(false);
            var state = File.Exists(_file)
                ? JsonSerializer.Deserialize<IpamState>(await File.ReadAllTextAsync(_file, cancellationToken).ConfigureAwait(false), s_json) ?? new IpamState()
                : new IpamState();
            var result = change(state);
            if (write)
            {
                var temp = _file + ".tmp";
                await File.WriteAllTextAsync(temp, JsonSerializer.Serialize(state, s_json), cancellationToken).ConfigureAwait(false);
                File.Move(temp, _file, overwrite: true);
            }
            return result;
        }
        finally
        {
            processLock.Release();
        }
    }

    /// <summary>
    /// Adds a port on <paramref name="subnet"/>: the requested address if it is usable and free, else the
    /// lowest free one. Call inside <see cref="UpdateAsync{T}"/>.
    /// </summary>
    public LocalPort Allocate(IpamState state, LocalSubnet subnet, string role, string name, string? requestedAddress)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(subnet);
        var used = state.Ports.Where(p => p.SubnetId == subnet.Id).Select(p => p.IpAddress).ToHashSet(StringComparer.Ordinal);
        var reserved = new HashSet<string>(StringComparer.Ordinal);
        if (subnet.Gateway is { } gw)
        {
            reserved.Add(gw.ToString());
        }
        if (subnet.HostAddress is { } host)
        {
            reserved.Add(host.ToString());
        }
        var first = LocalNetworkLayout.ToUInt(subnet.Cidr.BaseAddress);
        var size = subnet.Cidr.PrefixLength >= 31 ? 1u << (32 - subnet.Cidr.PrefixLength) : (1u << (32 - subnet.Cidr.PrefixLength)) - 2;
        var start = subnet.Cidr.PrefixLength >= 31 ? first : first + 1;

        string address;
        if (requestedAddress is not null)
        {
            if (!IPAddress.TryParse(requestedAddress, out var requested) || requested.AddressFamily != subnet.Cidr.BaseAddress.AddressFamily)
            {
                throw new NetworkRequestException($"'{requestedAddress}' is not a valid IPv4 address");
            }
            var value = LocalNetworkLayout.ToUInt(requested);
            if (!subnet.Cidr.Contains(requested) || value < start || value >= start + size)
            {
                throw new NetworkRequestException($"IP address {requested} is not a usable address of subnet {subnet.Id} ({subnet.Cidr})");
            }
            address = requested.ToString();
            if (reserved.Contains(address))
            {
                throw new IpAddressInUseException($"IP address {address} is the gateway or host address of subnet {subnet.Id}");
            }
            if (used.Contains(address))
            {
                throw new IpAddressInUseException($"IP address {address} already allocated in subnet {subnet.Id}");
            }
        }
        else
        {
            address = "";
            for (var i = 0u; i < size; i++)
            {
                var candidate = LocalNetworkLayout.FromUInt(start + i).ToString();
                if (!used.Contains(candidate) && !reserved.Contains(candidate))
                {
                    address = candidate;
                    break;
                }
            }
            if (address.Length == 0)
            {
                throw new NetworkRequestException($"No more IP addresses available on subnet {subnet.Id} ({subnet.Cidr})");
            }
        }

        var port = new LocalPort
        {
            Id = Guid.NewGuid().ToString(),
            Name = name,
            Role = role,
            NetworkId = subnet.NetworkId,
            SubnetId = subnet.Id,
            IpAddress = address,
            MacAddress = NewMacAddress(),
            CreatedAt = _timeProvider.GetUtcNow().UtcDateTime,
        };
        state.Ports.Add(port);
        return port;
    }

    // Neutron's default base MAC prefix, so ports look familiar in the API view.
    private static string NewMacAddress()
    {
        Span<byte> b = stackalloc byte[3];
        RandomNumberGenerator.Fill(b);
        return $"fa:16:3e:{b[0]:x2}:{b[1]:x2}:{b[2]:x2}";
    }

    private async Task<FileStream> AcquireFileLockAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_lockFile)!);
        var deadline = _timeProvider.GetUtcNow() + TimeSpan.FromSeconds(60);
        while (true)
        {
            try
            {
                // FileShare.None takes an exclusive flock() on Unix: other processes wait here.
                return new FileStream(_lockFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (_timeProvider.GetUtcNow() < deadline)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(10), _timeProvider, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
