// Licensed under the Apache License, Version 2.0.

using Microsoft.Extensions.Logging;
using Octavia.Core.Drivers;
using Octavia.Core.Model;

namespace Octavia.Drivers.Network.Local;

/// <summary>
/// Network driver over the networks declared in <c>[local_networks]</c>: addresses come from
/// <see cref="LocalIpam"/>; in namespace mode a plugged port is a veth from the network's bridge
/// into the amphora's namespace (the agent then configures its addresses by MAC, as on a VM).
/// Ports are named as upstream's allowed_address_pairs driver names them.
/// </summary>
public sealed partial class LocalNetworkDriver : INetworkDriver
{
    /// <summary>Upstream's <c>OCTAVIA_OWNER</c>.</summary>
    public const string OctaviaOwner = "Octavia";

    /// <summary>Device owner of ports attached to amphorae by the local compute driver.</summary>
    public const string ComputeOwner = "compute:local";

    private readonly LocalDriverContext _context;
    private readonly LinkTool _links;
    private readonly ILogger _logger;

    public LocalNetworkDriver(LocalDriverContext context, ILogger<LocalNetworkDriver> logger)
        : this(context, (ILogger)logger)
    {
    }

    internal LocalNetworkDriver(LocalDriverContext context, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(logger);
        _context = context;
        _logger = logger;
        _links = new LinkTool(logger);
    }

    private LocalNetworkLayout Layout => _context.Layout;

    /// <summary>
    /// Creates every declared bridge with its host address (namespace mode; nothing to do in loopback
    /// mode). Call at start-up before binding a service, such as the health manager, to a host address.
    /// </summary>
    public async Task EnsureHostNetworksAsync(CancellationToken cancellationToken)
    {
        if (_context.Mode != LocalMode.Namespace)
        {
            return;
        }
        foreach (var network in Layout.Networks)
        {
            await _links.EnsureBridgeAsync(network, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<Vip> AllocateVipAsync(LoadBalancer loadBalancer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(loadBalancer);
        var requested = loadBalancer.Vip ?? throw new NetworkRequestException($"load balancer {loadBalancer.Id} has no VIP request");
        var ports = await _context.Ipam.ReadAsync(cancellationToken).ConfigureAwait(false);

        if (requested.PortId is { Length: > 0 } portId)
        {
            var given = ports.FirstOrDefault(p => p.Id == portId || p.Name == portId)
                ?? throw new NetworkRequestException($"Port {portId} not found");
            return ToVip(loadBalancer, given, requested.QosPolicyId, octaviaOwned: false);
        }

        var subnet = ResolveVipSubnet(requested);
        var name = "octavia-lb-" + loadBalancer.Id;
        var port = await _context.Ipam.UpdateAsync(state =>
        {
            // A repeated task finds the port it made the first time.
            var existing = state.Ports.FirstOrDefault(p => p.Name == name && p.Role == LocalPortRole.Vip);
            if (existing is not null)
            {
                return existing;
            }
            var created = _context.Ipam.Allocate(state, subnet, LocalPortRole.Vip, name, requested.IpAddress is { Length: > 0 } ip ? ip : null);
            created.DeviceId = "lb-" + loadBalancer.Id;
            created.DeviceOwner = OctaviaOwner;
            created.ProjectId = loadBalancer.ProjectId;
            return created;
        }, cancellationToken).ConfigureAwait(false);
        LogVipAllocated(_logger, port.IpAddress, subnet.Name, loadBalancer.Id);
        return ToVip(loadBalancer, port, requested.QosPolicyId, octaviaOwned: true);
    }

    public async Task DeallocateVipAsync(LoadBalancer loadBalancer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(loadBalancer);
        var name = "octavia-lb-" + loadBalancer.Id;
        var portId = loadBalancer.Vip?.OctaviaOwned == false ? null : loadBalancer.Vip?.PortId;
        var removed = await _context.Ipam.UpdateAsync(state =>
        {
            var gone = state.Ports.Where(p => p.Role == LocalPortRole.Vip && p.DeviceOwner == OctaviaOwner && (p.Name == name || p.Id == portId)).ToList();
            state.Ports.RemoveAll(gone.Contains);
            return gone;
        }, cancellationToken).ConfigureAwait(false);
        foreach (var port in removed)
        {
            if (_context.Mode == LocalMode.Namespace)
            {
                await _links.FlushNeighbourAsync(port.IpAddress, cancellationToken).ConfigureAwait(false);
            }
            LogVipDeallocated(_logger, loadBalancer.Id);
        }
    }

    public async Task<AmphoraNetworkConfig> PlugVipAsync(LoadBalancer loadBalancer, Amphora amphora, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(loadBalancer);
        ArgumentNullException.ThrowIfNull(amphora);
        var vip = loadBalancer.Vip ?? throw new NetworkRequestException($"load balancer {loadBalancer.Id} has no VIP");
        var subnet = (vip.SubnetId is { } sid ? Layout.FindSubnet(sid) : null)
            ?? throw new NetworkRequestException($"Subnet {vip.SubnetId} of load balancer {loadBalancer.Id} not found");
        var port = await PlugAsync(amphora, subnet, LocalPortRole.Vrrp, "octavia-lb-vrrp-" + amphora.Id, OctaviaOwner, loadBalancer.ProjectId, "eth-vip", cancellationToken).ConfigureAwait(false);
        return new AmphoraNetworkConfig
        {
            AmphoraId = amphora.Id,
            VrrpPort = port.ToPortInfo(),
            VipSubnet = ToSubnetInfo(subnet),
            HaPortId = vip.PortId,
            HaIp = vip.IpAddress,
        };
    }

    public Task UnplugVipAsync(LoadBalancer loadBalancer, Amphora amphora, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(amphora);
        return UnplugAsync(p => p.DeviceId == amphora.Id && p.Role == LocalPortRole.Vrrp, cancellationToken);
    }

    public async Task<PortInfo> PlugNetworkAsync(Amphora amphora, string networkId, string? subnetId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(amphora);
        var network = Layout.FindNetwork(networkId) ?? throw new NetworkRequestException($"Network {networkId} not found");
        var subnet = subnetId is null
            ? network.Subnets[0]
            : network.Subnets.FirstOrDefault(s => s.Id == subnetId || s.Name == subnetId)
                ?? throw new NetworkRequestException($"Subnet {subnetId} not found on network {network.Id}");
        var port = await PlugAsync(amphora, subnet, LocalPortRole.Member, $"octavia-amphora-{amphora.Id}-{network.Name}", ComputeOwner, null, "eth-m" + network.Id[..8], cancellationToken).ConfigureAwait(false);
        return port.ToPortInfo();
    }

    public Task UnplugNetworkAsync(Amphora amphora, string networkId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(amphora);
        var network = Layout.FindNetwork(networkId);
        var id = network?.Id ?? networkId;
        return UnplugAsync(p => p.DeviceId == amphora.Id && p.Role == LocalPortRole.Member && p.NetworkId == id, cancellationToken);
    }

    public Task<NetworkInfo?> GetNetworkAsync(string id, CancellationToken cancellationToken) =>
        Task.FromResult(Layout.FindNetwork(id) is { } n ? ToNetworkInfo(n) : null);

    public Task<SubnetInfo?> GetSubnetAsync(string id, CancellationToken cancellationToken) =>
        Task.FromResult(Layout.FindSubnet(id) is { } s ? ToSubnetInfo(s) : null);

    public async Task<PortInfo?> GetPortAsync(string id, CancellationToken cancellationToken)
    {
        var ports = await _context.Ipam.ReadAsync(cancellationToken).ConfigureAwait(false);
        return (ports.FirstOrDefault(p => p.Id == id) ?? ports.FirstOrDefault(p => p.Name == id))?.ToPortInfo();
    }

    public Task<QosPolicyInfo?> GetQosPolicyAsync(string id, CancellationToken cancellationToken) =>
        Task.FromResult<QosPolicyInfo?>(null);

    public Task<IReadOnlyList<NetworkInfo>> ListNetworksAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<NetworkInfo>>([.. Layout.Networks.Select(ToNetworkInfo)]);

    public Task<IReadOnlyList<SubnetInfo>> ListSubnetsAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<SubnetInfo>>([.. Layout.Subnets.Select(ToSubnetInfo)]);

    public async Task<IReadOnlyList<PortInfo>> ListPortsAsync(CancellationToken cancellationToken) =>
        [.. (await _context.Ipam.ReadAsync(cancellationToken).ConfigureAwait(false)).Select(p => p.ToPortInfo())];

    public Task<IReadOnlyList<QosPolicyInfo>> ListQosPoliciesAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<QosPolicyInfo>>([]);

    /// <summary>
    /// Gives the amphora a port on <paramref name="subnet"/> (reusing the one it already has there)
    /// and, in namespace mode, the veth that carries it. Used for VRRP, member and management ports.
    /// </summary>
    internal async Task<LocalPort> PlugAsync(Amphora amphora, LocalSubnet subnet, string role, string name, string owner, string? projectId, string insideName, CancellationToken cancellationToken)
    {
        var port = await _context.Ipam.UpdateAsync(state =>
        {
            var existing = state.Ports.FirstOrDefault(p => p.DeviceId == amphora.Id && p.Role == role && p.NetworkId == subnet.NetworkId);
            if (existing is not null)
            {
                return existing;
            }
            var created = _context.Ipam.Allocate(state, subnet, role, name, null);
            created.DeviceId = amphora.Id;
            created.DeviceOwner = owner;
            created.ProjectId = projectId;
            if (_context.Mode == LocalMode.Namespace)
            {
                // Neutron's tap naming: unique on the host and within the 15-character limit.
                created.HostInterface = "tap" + created.Id[..11];
                created.Interface = insideName;
            }
            return created;
        }, cancellationToken).ConfigureAwait(false);

        if (_context.Mode == LocalMode.Namespace)
        {
            var ns = LinkTool.NamespaceName(amphora.Id);
            if (!await _links.NamespaceExistsAsync(ns, cancellationToken).ConfigureAwait(false))
            {
                throw new InvalidOperationException($"amphora {amphora.Id} has no namespace {ns}: it is not built or was deleted");
            }
            await _links.PlugAsync(Layout.NetworkOf(subnet), ns, port.HostInterface!, port.Interface!, port.MacAddress, cancellationToken).ConfigureAwait(false);
        }
        LogPortPlugged(_logger, role, port.IpAddress, port.MacAddress, amphora.Id);
        return port;
    }

    /// <summary>Removes the matching ports and their veths.</summary>
    internal async Task UnplugAsync(Func<LocalPort, bool> match, CancellationToken cancellationToken)
    {
        var ports = (await _context.Ipam.ReadAsync(cancellationToken).ConfigureAwait(false)).Where(match).ToList();
        foreach (var port in ports)
        {
            if (port.HostInterface is { } link)
            {
                await _links.DeleteLinkAsync(link, cancellationToken).ConfigureAwait(false);
                await _links.FlushNeighbourAsync(port.IpAddress, cancellationToken).ConfigureAwait(false);
            }
            LogPortUnplugged(_logger, port.Role, port.IpAddress, port.DeviceId ?? "");
        }
        var ids = ports.Select(p => p.Id).ToHashSet(StringComparer.Ordinal);
        await _context.Ipam.UpdateAsync(state => state.Ports.RemoveAll(p => ids.Contains(p.Id)), cancellationToken).ConfigureAwait(false);
    }

    private LocalSubnet ResolveVipSubnet(Vip requested)
    {
        if (requested.SubnetId is { Length: > 0 } subnetId)
        {
            var subnet = Layout.FindSubnet(subnetId) ?? throw new NetworkRequestException($"Subnet {subnetId} not found");
            if (requested.NetworkId is { Length: > 0 } nid && Layout.FindNetwork(nid)?.Id != subnet.NetworkId)
            {
                throw new NetworkRequestException($"Subnet {subnetId} is not on network {nid}");
            }
            return subnet;
        }
        if (requested.NetworkId is { Length: > 0 } networkId)
        {
            var network = Layout.FindNetwork(networkId) ?? throw new NetworkRequestException($"Network {networkId} not found");
            if (requested.IpAddress is { Length: > 0 } ip && System.Net.IPAddress.TryParse(ip, out var address))
            {
                return network.Subnets.FirstOrDefault(s => s.Cidr.Contains(address))
                    ?? throw new NetworkRequestException($"IP address {ip} is not on any subnet of network {networkId}");
            }
            return network.Subnets[0];
        }
        throw new NetworkRequestException("a VIP needs a subnet, a network or a port");
    }

    private static Vip ToVip(LoadBalancer loadBalancer, LocalPort port, string? qosPolicyId, bool octaviaOwned) => new()
    {
        LoadBalancerId = loadBalancer.Id,
        IpAddress = port.IpAddress,
        PortId = port.Id,
        SubnetId = port.SubnetId,
        NetworkId = port.NetworkId,
        QosPolicyId = qosPolicyId,
        OctaviaOwned = octaviaOwned,
    };

    internal static NetworkInfo ToNetworkInfo(LocalNetwork network) =>
        new(network.Id, network.Name, null, [.. network.Subnets.Select(s => s.Id)], network.Mtu);

    internal static SubnetInfo ToSubnetInfo(LocalSubnet subnet) =>
        new(subnet.Id, subnet.Name, subnet.NetworkId, subnet.Cidr.ToString(), subnet.Gateway?.ToString(), 4, null, []);

    [LoggerMessage(EventId = 3210, Level = LogLevel.Information, Message = "Allocated VIP {Address} on subnet {Subnet} for load balancer {LoadBalancerId}")]
    private static partial void LogVipAllocated(ILogger logger, string address, string subnet, string loadBalancerId);

    [LoggerMessage(EventId = 3211, Level = LogLevel.Information, Message = "Released the VIP of load balancer {LoadBalancerId}")]
    private static partial void LogVipDeallocated(ILogger logger, string loadBalancerId);

    [LoggerMessage(EventId = 3212, Level = LogLevel.Information, Message = "Plugged {Role} port {Address} ({Mac}) into amphora {AmphoraId}")]
    private static partial void LogPortPlugged(ILogger logger, string role, string address, string mac, string amphoraId);

    [LoggerMessage(EventId = 3213, Level = LogLevel.Information, Message = "Unplugged {Role} port {Address} from amphora {AmphoraId}")]
    private static partial void LogPortUnplugged(ILogger logger, string role, string address, string amphoraId);
}
