// Licensed under the Apache License, Version 2.0.
// Upstream network_tasks: VIP allocation, VIP plugging per amphora and member-network deltas.

using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Octavia.Controller.Worker.Engine;
using Octavia.Core.Drivers;
using Octavia.Core.Model;

namespace Octavia.Controller.Worker.Tasks;

/// <summary>Allocates (or validates the API's) VIP port and records it (upstream AllocateVIP + UpdateVIPAfterAllocation).</summary>
public sealed class AllocateVip : FlowTask
{
    public override async Task<JsonNode?> ExecuteAsync(FlowContext context, CancellationToken cancellationToken)
    {
        var lbId = context.GetString(StoreKeys.LoadBalancerId);
        await using var db = WorkerDb.Open(context);
        var lb = await WorkerDb.LoadGraphAsync(db, lbId, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"load balancer {lbId} not found");
        var vip = await context.Get<INetworkDriver>().AllocateVipAsync(lb, cancellationToken).ConfigureAwait(false);
        var row = await db.Vips.SingleOrDefaultAsync(v => v.LoadBalancerId == lbId, cancellationToken).ConfigureAwait(false);
        if (row is null)
        {
            row = new Vip { LoadBalancerId = lbId };
            db.Vips.Add(row);
        }
        row.IpAddress = vip.IpAddress ?? row.IpAddress;
        row.PortId = vip.PortId ?? row.PortId;
        row.SubnetId = vip.SubnetId ?? row.SubnetId;
        row.NetworkId = vip.NetworkId ?? row.NetworkId;
        row.QosPolicyId = vip.QosPolicyId ?? row.QosPolicyId;
        row.OctaviaOwned = vip.OctaviaOwned ?? row.OctaviaOwned;
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        return row.PortId;
    }

    public override async Task RevertAsync(FlowContext context, JsonNode? result, CancellationToken cancellationToken)
    {
        if (result is null)
        {
            return;
        }
        var lbId = context.GetString(StoreKeys.LoadBalancerId);
        await using var db = WorkerDb.Open(context);
        if (await WorkerDb.LoadGraphAsync(db, lbId, cancellationToken).ConfigureAwait(false) is { } lb)
        {
            await context.Get<INetworkDriver>().DeallocateVipAsync(lb, cancellationToken).ConfigureAwait(false);
        }
    }
}

/// <summary>Releases the VIP (LB delete).</summary>
public sealed class DeallocateVip : FlowTask
{
    public override async Task<JsonNode?> ExecuteAsync(FlowContext context, CancellationToken cancellationToken)
    {
        var lbId = context.GetString(StoreKeys.LoadBalancerId);
        await using var db = WorkerDb.Open(context);
        if (await WorkerDb.LoadGraphAsync(db, lbId, cancellationToken).ConfigureAwait(false) is { } lb)
        {
            await context.Get<INetworkDriver>().DeallocateVipAsync(lb, cancellationToken).ConfigureAwait(false);
        }
        return null;
    }
}

/// <summary>Attaches the amphora to the VIP network and records its VRRP port (upstream PlugVIPAmphora + UpdateAmphoraVIPData); provides the network config.</summary>
public sealed class PlugVip : FlowTask
{
    private readonly string _ampKey;

    public PlugVip(string ampKey)
    {
        _ampKey = ampKey;
        Provides = ampKey + "_netcfg";
    }

    public override async Task<JsonNode?> ExecuteAsync(FlowContext context, CancellationToken cancellationToken)
    {
        var id = context.GetString(_ampKey);
        var lbId = context.GetString(StoreKeys.LoadBalancerId);
        await using var db = WorkerDb.Open(context);
        var lb = await WorkerDb.LoadGraphAsync(db, lbId, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"load balancer {lbId} not found");
        var amp = await db.Amphorae.SingleAsync(a => a.Id == id, cancellationToken).ConfigureAwait(false);
        var config = await context.Get<INetworkDriver>().PlugVipAsync(lb, amp, cancellationToken).ConfigureAwait(false);
        amp.VrrpPortId = config.VrrpPort.Id;
        amp.VrrpIp = config.VrrpPort.FixedIps.Count > 0 ? config.VrrpPort.FixedIps[0].IpAddress : null;
        amp.HaPortId = config.HaPortId ?? lb.Vip?.PortId;
        amp.HaIp = config.HaIp ?? lb.Vip?.IpAddress;
        amp.UpdatedAt = WorkerDb.Now(context);
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        return JsonSerializer.SerializeToNode(config);
    }

    public override async Task RevertAsync(FlowContext context, JsonNode? result, CancellationToken cancellationToken)
    {
        if (context.TryGetString(_ampKey) is not { } id)
        {
            return;
        }
        await UnplugVipFromAmphora.UnplugAsync(context, id, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>Tells the amphora agent about its VIP port (upstream AmphoraPostVIPPlug).</summary>
public sealed class AmphoraPostVipPlug(string ampKey) : FlowTask
{
    public override async Task<JsonNode?> ExecuteAsync(FlowContext context, CancellationToken cancellationToken)
    {
        var id = context.GetString(ampKey);
        var lbId = context.GetString(StoreKeys.LoadBalancerId);
        var config = context.GetNode(ampKey + "_netcfg").Deserialize<AmphoraNetworkConfig>()
            ?? throw new InvalidOperationException($"no network configuration for amphora {id}");
        await using var db = WorkerDb.Open(context);
        var lb = await WorkerDb.LoadGraphAsync(db, lbId, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"load balancer {lbId} not found");
        var amp = await db.Amphorae.AsNoTracking().SingleAsync(a => a.Id == id, cancellationToken).ConfigureAwait(false);
        await context.Get<IAmphoraDriver>().PostVipPlugAsync(lb, amp, config, cancellationToken).ConfigureAwait(false);
        return null;
    }
}

/// <summary>Detaches an amphora from the VIP network (failover of the old amphora; errors are logged by the driver and ignored here as upstream does).</summary>
public sealed class UnplugVipFromAmphora(string ampKey) : FlowTask
{
    public override async Task<JsonNode?> ExecuteAsync(FlowContext context, CancellationToken cancellationToken)
    {
        await UnplugAsync(context, context.GetString(ampKey), cancellationToken).ConfigureAwait(false);
        return null;
    }

    internal static async Task UnplugAsync(FlowContext context, string amphoraId, CancellationToken cancellationToken)
    {
        await using var db = WorkerDb.Open(context);
        var amp = await db.Amphorae.AsNoTracking().SingleOrDefaultAsync(a => a.Id == amphoraId, cancellationToken).ConfigureAwait(false);
        var lbId = amp?.LoadBalancerId ?? context.TryGetString(StoreKeys.LoadBalancerId);
        if (amp is null || lbId is null || await WorkerDb.LoadGraphAsync(db, lbId, cancellationToken).ConfigureAwait(false) is not { } lb)
        {
            return;
        }
        await context.Get<INetworkDriver>().UnplugVipAsync(lb, amp, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>Detaches every amphora of the load balancer from the VIP network (LB delete).</summary>
public sealed class UnplugVipAll : FlowTask
{
    public override async Task<JsonNode?> ExecuteAsync(FlowContext context, CancellationToken cancellationToken)
    {
        var lbId = context.GetString(StoreKeys.LoadBalancerId);
        await using var db = WorkerDb.Open(context);
        var lb = await WorkerDb.LoadGraphAsync(db, lbId, cancellationToken).ConfigureAwait(false);
        if (lb is null)
        {
            return null;
        }
        var network = context.Get<INetworkDriver>();
        foreach (var amp in lb.Amphorae.Where(a => a.Status != ProvisioningStatus.Deleted))
        {
            await network.UnplugVipAsync(lb, amp, cancellationToken).ConfigureAwait(false);
        }
        return null;
    }
}

/// <summary>
/// Plugs the member networks the amphorae lack and unplugs the ones no member uses any more, then
/// tells the agent about new ports (upstream CalculateDelta + HandleNetworkDeltas + AmphoraePostNetworkPlug).
/// </summary>
public sealed class HandleMemberNetworks : FlowTask
{
    public override async Task<JsonNode?> ExecuteAsync(FlowContext context, CancellationToken cancellationToken)
    {
        var lbId = context.GetString(StoreKeys.LoadBalancerId);
        var deleted = WorkerDb.Ids(context.GetNode(StoreKeys.DeletedIds)).ToHashSet();
        var network = context.Get<INetworkDriver>();
        var amphoraDriver = context.Get<IAmphoraDriver>();
        await using var db = WorkerDb.Open(context);
        var lb = await WorkerDb.LoadGraphAsync(db, lbId, cancellationToken).ConfigureAwait(false);
        if (lb is null)
        {
            return null;
        }
        var subnetIds = lb.Pools.Where(p => !deleted.Contains(p.Id))
            .SelectMany(p => p.Members).Where(m => !deleted.Contains(m.Id) && m.SubnetId is not null)
            .Select(m => m.SubnetId!).Distinct().ToList();
        var wanted = new Dictionary<string, string?>();
        foreach (var subnetId in subnetIds)
        {
            var subnet = await network.GetSubnetAsync(subnetId, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"member subnet {subnetId} not found");
            if (subnet.NetworkId != lb.Vip?.NetworkId)
            {
                wanted.TryAdd(subnet.NetworkId, subnet.Id);
            }
        }
        var ports = await network.ListPortsAsync(cancellationToken).ConfigureAwait(false);
        var bootNetworks = context.Get<WorkerSettings>().ControllerWorker.AmpBootNetworkList.ToHashSet();
        var changed = new JsonArray();
        foreach (var amp in await WorkerDb.ServingAmphoraeAsync(db, lbId, cancellationToken).ConfigureAwait(false))
        {
            var plugged = ports.Where(p => amp.ComputeId is not null && p.DeviceId == amp.ComputeId && p.Id != amp.VrrpPortId)
                .Select(p => p.NetworkId).Where(n => n != lb.Vip?.NetworkId && !bootNetworks.Contains(n)).ToHashSet();
            foreach (var (networkId, subnetId) in wanted.Where(w => !plugged.Contains(w.Key)))
            {
                var port = await network.PlugNetworkAsync(amp, networkId, subnetId, cancellationToken).ConfigureAwait(false);
                await amphoraDriver.PostNetworkPlugAsync(amp, port, cancellationToken).ConfigureAwait(false);
                changed.Add($"+{amp.Id}:{networkId}");
            }
            foreach (var networkId in plugged.Where(n => !wanted.ContainsKey(n)))
            {
                await network.UnplugNetworkAsync(amp, networkId, cancellationToken).ConfigureAwait(false);
                changed.Add($"-{amp.Id}:{networkId}");
            }
        }
        return changed;
    }
}
