// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Octavia.Core.Drivers;
using Octavia.Core.Model;

namespace Octavia.Drivers.Network.Noop;

/// <summary>
/// <c>network_noop_driver</c>: every UUID-shaped id names an existing network, subnet, port or QoS
/// policy. Objects are derived deterministically from their ids and remembered, so a subnet's network
/// lists that subnet, a VIP lands inside its subnet's CIDR, and lists show what was looked up.
/// </summary>
public sealed class NoopNetworkDriver : INetworkDriver
{
    private readonly ConcurrentDictionary<string, NetworkInfo> _networks = new();
    private readonly ConcurrentDictionary<string, SubnetInfo> _subnets = new();
    private readonly ConcurrentDictionary<string, PortInfo> _ports = new();
    private readonly ConcurrentDictionary<string, QosPolicyInfo> _qos = new();
    private readonly object _gate = new();

    /// <summary>A UUID derived from <paramref name="seed"/> (stable across processes).</summary>
    public static string DerivedId(string seed)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(seed));
        return new Guid(hash.AsSpan(0, 16)).ToString();
    }

    private static byte[] Hash(string seed) => SHA256.HashData(Encoding.UTF8.GetBytes(seed));

    private SubnetInfo Subnet(string subnetId, string? networkId)
    {
        lock (_gate)
        {
            if (_subnets.TryGetValue(subnetId, out var existing))
            {
                return existing;
            }
            networkId ??= DerivedId("network-of:" + subnetId);
            var h = Hash("cidr:" + subnetId);
            var cidr = string.Create(CultureInfo.InvariantCulture, $"10.{h[0]}.{h[1]}.0/24");
            var gateway = string.Create(CultureInfo.InvariantCulture, $"10.{h[0]}.{h[1]}.1");
            var subnet = new SubnetInfo(subnetId, "subnet-" + subnetId[..8], networkId, cidr, gateway, 4, null);
            _subnets[subnetId] = subnet;
            if (_networks.TryGetValue(networkId, out var net))
            {
                if (!net.SubnetIds.Contains(subnetId))
                {
                    _networks[networkId] = net with { SubnetIds = [.. net.SubnetIds, subnetId] };
                }
            }
            else
            {
                _networks[networkId] = new NetworkInfo(networkId, "network-" + networkId[..8], null, [subnetId]);
            }
            return subnet;
        }
    }

    private NetworkInfo Network(string networkId)
    {
        if (_networks.TryGetValue(networkId, out var existing))
        {
            return existing;
        }
        Subnet(DerivedId("subnet-of:" + networkId), networkId);
        return _networks[networkId];
    }

    private static string HostAddress(SubnetInfo subnet, string seed)
    {
        var prefix = subnet.Cidr[..subnet.Cidr.LastIndexOf('.')];
        var host = 2 + (Hash(seed)[0] % 250);
        return string.Create(CultureInfo.InvariantCulture, $"{prefix}.{host}");
    }

    private static string Mac(string seed)
    {
        var h = Hash("mac:" + seed);
        return string.Create(CultureInfo.InvariantCulture, $"fa:16:3e:{h[0]:x2}:{h[1]:x2}:{h[2]:x2}");
    }

    private PortInfo Port(string portId)
    {
        return _ports.GetOrAdd(portId, id =>
        {
            var subnet = Subnet(DerivedId("subnet-of-port:" + id), null);
            return new PortInfo(id, "port-" + id[..8], subnet.NetworkId, Mac(id),
                [new FixedIp(subnet.Id, HostAddress(subnet, id))], null, null, null);
        });
    }

    public Task<Vip> AllocateVipAsync(LoadBalancer loadBalancer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(loadBalancer);
        var vip = loadBalancer.Vip ?? new Vip { LoadBalancerId = loadBalancer.Id };
        SubnetInfo subnet;
        if (vip.PortId is { } portId)
        {
            var port = Port(portId);
            subnet = Subnet(vip.SubnetId ?? port.FixedIps[0].SubnetId, port.NetworkId);
            vip.IpAddress ??= port.FixedIps[0].IpAddress;
            vip.OctaviaOwned = false;
        }
        else
        {
            subnet = vip.SubnetId is { } subnetId ? Subnet(subnetId, vip.NetworkId) : Subnet(Network(vip.NetworkId ?? DerivedId("default-network")).SubnetIds[0], vip.NetworkId);
            var newPortId = DerivedId("vip-port:" + loadBalancer.Id);
            vip.IpAddress ??= HostAddress(subnet, loadBalancer.Id);
            _ports[newPortId] = new PortInfo(newPortId, "octavia-lb-" + loadBalancer.Id, subnet.NetworkId, Mac(newPortId),
                [new FixedIp(subnet.Id, vip.IpAddress)], loadBalancer.Id, "Octavia", loadBalancer.ProjectId, vip.QosPolicyId);
            vip.PortId = newPortId;
            vip.OctaviaOwned = true;
        }
        vip.SubnetId = subnet.Id;
        vip.NetworkId = subnet.NetworkId;
        return Task.FromResult(vip);
    }

    public Task DeallocateVipAsync(LoadBalancer loadBalancer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(loadBalancer);
        if (loadBalancer.Vip is { PortId: { } portId, OctaviaOwned: true })
        {
            _ports.TryRemove(portId, out _);
        }
        return Task.CompletedTask;
    }

    public Task<AmphoraNetworkConfig> PlugVipAsync(LoadBalancer loadBalancer, Amphora amphora, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(loadBalancer);
        ArgumentNullException.ThrowIfNull(amphora);
        var subnet = Subnet(loadBalancer.Vip?.SubnetId ?? DerivedId("default-subnet"), loadBalancer.Vip?.NetworkId);
        var portId = DerivedId("vrrp-port:" + amphora.Id);
        var port = _ports.GetOrAdd(portId, id => new PortInfo(id, "octavia-lb-vrrp-" + amphora.Id, subnet.NetworkId, Mac(id),
            [new FixedIp(subnet.Id, HostAddress(subnet, amphora.Id))], amphora.ComputeId, "Octavia", null));
        return Task.FromResult(new AmphoraNetworkConfig
        {
            AmphoraId = amphora.Id,
            VrrpPort = port,
            VipSubnet = subnet,
            HaPortId = loadBalancer.Vip?.PortId,
            HaIp = loadBalancer.Vip?.IpAddress,
        });
    }

    public Task UnplugVipAsync(LoadBalancer loadBalancer, Amphora amphora, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(amphora);
        _ports.TryRemove(DerivedId("vrrp-port:" + amphora.Id), out _);
        return Task.CompletedTask;
    }

    public Task<PortInfo> PlugNetworkAsync(Amphora amphora, string networkId, string? subnetId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(amphora);
        var net = Network(networkId);
        var subnet = Subnet(subnetId ?? net.SubnetIds[0], networkId);
        var portId = DerivedId($"member-port:{amphora.Id}:{networkId}");
        return Task.FromResult(_ports.GetOrAdd(portId, id => new PortInfo(id, "octavia-member-" + amphora.Id, networkId, Mac(id),
            [new FixedIp(subnet.Id, HostAddress(subnet, id))], amphora.ComputeId, "Octavia", null)));
    }

    public Task UnplugNetworkAsync(Amphora amphora, string networkId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(amphora);
        _ports.TryRemove(DerivedId($"member-port:{amphora.Id}:{networkId}"), out _);
        return Task.CompletedTask;
    }

    public Task<NetworkInfo?> GetNetworkAsync(string id, CancellationToken cancellationToken) =>
        Task.FromResult(Ids.IsUuid(id) ? Network(Normal(id)) : null);

    public Task<SubnetInfo?> GetSubnetAsync(string id, CancellationToken cancellationToken) =>
        Task.FromResult(Ids.IsUuid(id) ? Subnet(Normal(id), null) : null);

    public Task<PortInfo?> GetPortAsync(string id, CancellationToken cancellationToken) =>
        Task.FromResult(Ids.IsUuid(id) ? Port(Normal(id)) : null);

    public Task<QosPolicyInfo?> GetQosPolicyAsync(string id, CancellationToken cancellationToken) =>
        Task.FromResult(Ids.IsUuid(id) ? _qos.GetOrAdd(Normal(id), i => new QosPolicyInfo(i, "qos-" + i[..8], null)) : null);

    public Task<IReadOnlyList<NetworkInfo>> ListNetworksAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<NetworkInfo>>([.. _networks.Values]);

    public Task<IReadOnlyList<SubnetInfo>> ListSubnetsAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<SubnetInfo>>([.. _subnets.Values]);

    public Task<IReadOnlyList<PortInfo>> ListPortsAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<PortInfo>>([.. _ports.Values]);

    public Task<IReadOnlyList<QosPolicyInfo>> ListQosPoliciesAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<QosPolicyInfo>>([.. _qos.Values]);

    private static string Normal(string id) => Guid.Parse(id).ToString();
}
