// Licensed under the Apache License, Version 2.0.

using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Octavia.Core.Configuration;

namespace Octavia.Drivers.Network.Local;

/// <summary>How local amphorae are wired.</summary>
public enum LocalMode
{
    /// <summary>Each amphora in namespace <c>amphora-&lt;id&gt;</c>, veths to one bridge per network.</summary>
    Namespace,

    /// <summary>Amphorae in the host namespace on 127.x addresses; no bridges.</summary>
    Loopback,
}

/// <summary>A declared subnet, with the addresses in force for the current mode.</summary>
public sealed record LocalSubnet(
    string Id,
    string Name,
    string NetworkId,
    IPNetwork Cidr,
    IPAddress? Gateway,
    IPAddress? HostAddress,
    IPNetwork DeclaredCidr);

/// <summary>A declared network: one bridge, one or more subnets.</summary>
public sealed record LocalNetwork(string Id, string Name, string Bridge, int Mtu, IReadOnlyList<LocalSubnet> Subnets);

/// <summary>
/// The networks of <c>[local_networks] networks</c>, resolved for one mode. In loopback mode every
/// subnet is moved into 127.0.0.0/8 (see the option's help) so that amphorae, VIPs and members can
/// live in the host namespace without any interface being created.
/// </summary>
public sealed class LocalNetworkLayout
{
    private LocalNetworkLayout(LocalMode mode, IReadOnlyList<LocalNetwork> networks)
    {
        Mode = mode;
        Networks = networks;
    }

    public LocalMode Mode { get; }

    public IReadOnlyList<LocalNetwork> Networks { get; }

    public IEnumerable<LocalSubnet> Subnets => Networks.SelectMany(n => n.Subnets);

    /// <summary>Parses the option lines; throws <see cref="ConfigException"/> naming the bad line.</summary>
    public static LocalNetworkLayout Parse(IReadOnlyList<string> lines, LocalMode mode)
    {
        var byName = new Dictionary<string, (string Id, string? Bridge, int Mtu, List<LocalSubnet> Subnets)>(StringComparer.Ordinal);
        var order = new List<string>();
        var index = 0;
        foreach (var raw in lines)
        {
            if (string.IsNullOrWhiteSpace(raw))
            {
                continue;
            }
            var fields = ParseFields(raw);
            string Need(string key) => fields.TryGetValue(key, out var v) && v.Length > 0
                ? v
                : throw Error(raw, $"'{key}=' is required");

            var name = Need("name");
            var subnetName = Need("subnet");
            if (!IPNetwork.TryParse(Need("cidr"), out var declared) || declared.BaseAddress.AddressFamily != AddressFamily.InterNetwork)
            {
                throw Error(raw, $"cidr '{fields["cidr"]}' is not an IPv4 network (the local driver supports IPv4 only)");
            }
            var networkId = fields.GetValueOrDefault("id") ?? DerivedId("network:" + name);
            var subnetId = fields.GetValueOrDefault("subnet_id") ?? DerivedId("subnet:" + subnetName);
            var gateway = ParseAddress(raw, fields, "gateway", declared);
            var host = fields.ContainsKey("host") ? ParseAddress(raw, fields, "host", declared) : gateway;
            var mtu = 1500;
            if (fields.TryGetValue("mtu", out var mtuText) && (!int.TryParse(mtuText, NumberStyles.None, CultureInfo.InvariantCulture, out mtu) || mtu < 576))
            {
                throw Error(raw, $"mtu '{mtuText}' is not a number of at least 576");
            }

            var effective = declared;
            if (mode == LocalMode.Loopback)
            {
                effective = LoopbackCidr(raw, fields, declared, index);
                gateway = gateway is null ? null : Translate(gateway, declared, effective);
                host = host is null ? null : Translate(host, declared, effective);
            }
            var subnet = new LocalSubnet(subnetId, subnetName, networkId, effective, gateway, host, declared);

            if (!byName.TryGetValue(name, out var network))
            {
                network = (networkId, null, mtu, []);
                order.Add(name);
            }
            else if (!string.Equals(network.Id, networkId, StringComparison.Ordinal))
            {
                throw Error(raw, $"network '{name}' is declared with two ids");
            }
            var bridge = fields.GetValueOrDefault("bridge");
            if (bridge is not null && network.Bridge is not null && !string.Equals(bridge, network.Bridge, StringComparison.Ordinal))
            {
                throw Error(raw, $"network '{name}' is declared with two bridges");
            }
            if (bridge is { Length: > 15 })
            {
                throw Error(raw, $"bridge name '{bridge}' is longer than 15 characters");
            }
            network.Subnets.Add(subnet);
            byName[name] = (network.Id, bridge ?? network.Bridge, network.Mtu, network.Subnets);
            index++;
        }

        var networks = order.Select(name =>
        {
            var n = byName[name];
            return new LocalNetwork(n.Id, name, n.Bridge ?? "brl-" + n.Id[..8], n.Mtu, n.Subnets);
        }).ToList();
        CheckUnique(networks.Select(n => n.Id), "network id");
        CheckUnique(networks.Select(n => n.Name), "network name");
        CheckUnique(networks.Select(n => n.Bridge), "bridge");
        CheckUnique(networks.SelectMany(n => n.Subnets).Select(s => s.Id), "subnet id");
        CheckUnique(networks.SelectMany(n => n.Subnets).Select(s => s.Name), "subnet name");
        var all = networks.SelectMany(n => n.Subnets).ToList();
        for (var i = 0; i < all.Count; i++)
        {
            for (var j = i + 1; j < all.Count; j++)
            {
                if (all[i].Cidr.Contains(all[j].Cidr.BaseAddress) || all[j].Cidr.Contains(all[i].Cidr.BaseAddress))
                {
                    throw new ConfigException($"[local_networks] networks: subnets '{all[i].Name}' ({all[i].Cidr}) and '{all[j].Name}' ({all[j].Cidr}) overlap");
                }
            }
        }
        return new LocalNetworkLayout(mode, networks);
    }

    /// <summary>A network by id or name, or null.</summary>
    public LocalNetwork? FindNetwork(string idOrName) =>
        Networks.FirstOrDefault(n => n.Id == idOrName) ?? Networks.FirstOrDefault(n => n.Name == idOrName);

    /// <summary>A subnet by id or name, or null.</summary>
    public LocalSubnet? FindSubnet(string idOrName) =>
        Subnets.FirstOrDefault(s => s.Id == idOrName) ?? Subnets.FirstOrDefault(s => s.Name == idOrName);

    /// <summary>The network a subnet belongs to.</summary>
    public LocalNetwork NetworkOf(LocalSubnet subnet) => Networks.First(n => n.Id == subnet.NetworkId);

    /// <summary>
    /// The address in force for a declared one: in loopback mode an address inside a declared subnet is
    /// moved to that subnet's 127.x range (the controller's address in an agent config, for example).
    /// </summary>
    public IPAddress Effective(IPAddress declared)
    {
        if (Mode == LocalMode.Loopback)
        {
            foreach (var s in Subnets)
            {
                if (s.DeclaredCidr.Contains(declared))
                {
                    return Translate(declared, s.DeclaredCidr, s.Cidr);
                }
            }
        }
        return declared;
    }

    /// <summary>A stable UUID for a name, so the default networks keep their ids across restarts and hosts.</summary>
    public static string DerivedId(string name)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes("octavia-local:" + name));
        var bytes = hash.AsSpan(0, 16).ToArray();
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x50);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        return new Guid(bytes, bigEndian: true).ToString();
    }

    internal static uint ToUInt(IPAddress address)
    {
        var b = address.GetAddressBytes();
        return ((uint)b[0] << 24) | ((uint)b[1] << 16) | ((uint)b[2] << 8) | b[3];
    }

    internal static IPAddress FromUInt(uint value) =>
        new([(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value]);

    private static IPAddress Translate(IPAddress address, IPNetwork from, IPNetwork to)
    {
        var hostMask = from.PrefixLength == 32 ? 0u : uint.MaxValue >> from.PrefixLength;
        return FromUInt(ToUInt(to.BaseAddress) | (ToUInt(address) & hostMask));
    }

    private static IPNetwork LoopbackCidr(string raw, Dictionary<string, string> fields, IPNetwork declared, int index)
    {
        if (fields.TryGetValue("loopback_cidr", out var text))
        {
            if (!IPNetwork.TryParse(text, out var given) || !new IPNetwork(IPAddress.Parse("127.0.0.0"), 8).Contains(given.BaseAddress))
            {
                throw Error(raw, $"loopback_cidr '{text}' is not inside 127.0.0.0/8");
            }
            if (given.PrefixLength > declared.PrefixLength)
            {
                throw Error(raw, $"loopback_cidr '{text}' is smaller than cidr {declared}");
            }
            return new IPNetwork(given.BaseAddress, declared.PrefixLength);
        }
        if (declared.PrefixLength < 16 || index > 127)
        {
            throw Error(raw, "in loopback mode a subnet larger than /16 (or past the 128th) needs loopback_cidr=");
        }
        return new IPNetwork(IPAddress.Parse($"127.{64 + index}.0.0"), declared.PrefixLength);
    }

    private static IPAddress? ParseAddress(string raw, Dictionary<string, string> fields, string key, IPNetwork cidr)
    {
        if (!fields.TryGetValue(key, out var text) || text.Length == 0 || text.Equals("none", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        if (!IPAddress.TryParse(text, out var address) || !cidr.Contains(address))
        {
            throw Error(raw, $"{key} '{text}' is not an address inside {cidr}");
        }
        return address;
    }

    private static Dictionary<string, string> ParseFields(string raw)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var item in raw.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = item.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw Error(raw, $"'{item}' is not key=value");
            }
            var key = item[..eq].Trim();
            if (key is not ("name" or "id" or "subnet" or "subnet_id" or "cidr" or "gateway" or "host" or "bridge" or "mtu" or "loopback_cidr"))
            {
                throw Error(raw, $"unknown key '{key}'");
            }
            fields[key] = item[(eq + 1)..].Trim();
        }
        return fields;
    }

    private static void CheckUnique(IEnumerable<string> values, string what)
    {
        var duplicate = values.GroupBy(v => v, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ConfigException($"[local_networks] networks: {what} '{duplicate.Key}' is used twice");
        }
    }

    private static ConfigException Error(string line, string message) =>
        new($"[local_networks] networks: {message} in '{line}'");
}
