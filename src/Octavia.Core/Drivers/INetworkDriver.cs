// Licensed under the Apache License, Version 2.0.

using Octavia.Core.Model;

namespace Octavia.Core.Drivers;

/// <summary>A Neutron-shaped network.</summary>
public sealed record NetworkInfo(string Id, string Name, string? ProjectId, IReadOnlyList<string> SubnetIds, int Mtu = 1500, bool AdminStateUp = true, string Status = "ACTIVE");

/// <summary>A Neutron-shaped subnet.</summary>
public sealed record SubnetInfo(string Id, string Name, string NetworkId, string Cidr, string? GatewayIp, int IpVersion, string? ProjectId, IReadOnlyList<HostRoute>? HostRoutes = null);

/// <summary>A static route of a subnet.</summary>
public sealed record HostRoute(string Destination, string NextHop);

/// <summary>A fixed IP of a port.</summary>
public sealed record FixedIp(string SubnetId, string IpAddress);

/// <summary>A Neutron-shaped port.</summary>
public sealed record PortInfo(string Id, string Name, string NetworkId, string MacAddress, IReadOnlyList<FixedIp> FixedIps, string? DeviceId, string? DeviceOwner, string? ProjectId, string? QosPolicyId = null, string Status = "ACTIVE");

/// <summary>A QoS policy.</summary>
public sealed record QosPolicyInfo(string Id, string Name, string? ProjectId);

/// <summary>What the amphora must be told after its VIP port is plugged (agent <c>POST /plug/vip/{vip}</c>).</summary>
public sealed record AmphoraNetworkConfig
{
    public required string AmphoraId { get; init; }
    public required PortInfo VrrpPort { get; init; }
    public required SubnetInfo VipSubnet { get; init; }
    public string? HaPortId { get; init; }
    public string? HaIp { get; init; }
}

/// <summary>
/// Networking for VIPs and members (upstream <c>network/base.py</c>). Look-ups return null for a
/// missing object; the API's Neutron-shaped view is served from the List/Get methods.
/// </summary>
public interface INetworkDriver
{
    /// <summary>Allocates (or adopts the requested) VIP port; returns the completed VIP.</summary>
    Task<Vip> AllocateVipAsync(LoadBalancer loadBalancer, CancellationToken cancellationToken);

    /// <summary>Releases the VIP port if Octavia owns it; missing ports are fine.</summary>
    Task DeallocateVipAsync(LoadBalancer loadBalancer, CancellationToken cancellationToken);

    /// <summary>Attaches the amphora to the VIP network (its VRRP port); returns what the agent must be told.</summary>
    Task<AmphoraNetworkConfig> PlugVipAsync(LoadBalancer loadBalancer, Amphora amphora, CancellationToken cancellationToken);

    /// <summary>Detaches the amphora from the VIP network; idempotent.</summary>
    Task UnplugVipAsync(LoadBalancer loadBalancer, Amphora amphora, CancellationToken cancellationToken);

    /// <summary>Attaches the amphora to a member network; returns the new port (idempotent: an existing port is returned).</summary>
    Task<PortInfo> PlugNetworkAsync(Amphora amphora, string networkId, string? subnetId, CancellationToken cancellationToken);

    /// <summary>Detaches the amphora from a member network; idempotent.</summary>
    Task UnplugNetworkAsync(Amphora amphora, string networkId, CancellationToken cancellationToken);

    Task<NetworkInfo?> GetNetworkAsync(string id, CancellationToken cancellationToken);
    Task<SubnetInfo?> GetSubnetAsync(string id, CancellationToken cancellationToken);
    Task<PortInfo?> GetPortAsync(string id, CancellationToken cancellationToken);
    Task<QosPolicyInfo?> GetQosPolicyAsync(string id, CancellationToken cancellationToken);
    Task<IReadOnlyList<NetworkInfo>> ListNetworksAsync(CancellationToken cancellationToken);
    Task<IReadOnlyList<SubnetInfo>> ListSubnetsAsync(CancellationToken cancellationToken);
    Task<IReadOnlyList<PortInfo>> ListPortsAsync(CancellationToken cancellationToken);
    Task<IReadOnlyList<QosPolicyInfo>> ListQosPoliciesAsync(CancellationToken cancellationToken);
}
