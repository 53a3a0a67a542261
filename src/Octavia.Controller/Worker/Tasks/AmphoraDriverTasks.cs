// Licensed under the Apache License, Version 2.0.
// Upstream amphora_driver_tasks: configuration pushed to the amphorae.

using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Octavia.Controller.Worker.Engine;
using Octavia.Core.Drivers;
using Octavia.Core.Model;

namespace Octavia.Controller.Worker.Tasks;

/// <summary>
/// Pushes the whole load balancer configuration to every serving amphora (upstream ListenersUpdate /
/// AmphoraIndexListenerUpdate). Objects this flow deletes (<see cref="StoreKeys.DeletedIds"/>) are left
/// out, and an amphora left with no listener has its HAProxy removed.
/// </summary>
public sealed class AmphoraeUpdate : FlowTask
{
    public override async Task<JsonNode?> ExecuteAsync(FlowContext context, CancellationToken cancellationToken)
    {
        var lbId = context.GetString(StoreKeys.LoadBalancerId);
        var deleted = WorkerDb.Ids(context.GetNode(StoreKeys.DeletedIds)).ToHashSet();
        await using var db = WorkerDb.Open(context);
        var lb = await WorkerDb.LoadGraphAsync(db, lbId, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"load balancer {lbId} not found");
        Prune(lb, deleted);
        var driver = context.Get<IAmphoraDriver>();
        foreach (var amp in lb.Amphorae.Where(a => a.Status == ProvisioningStatus.Allocated).OrderBy(a => a.Id))
        {
            if (lb.Listeners.Count == 0)
            {
                await driver.DeleteAsync(lb, amp, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await driver.UpdateAsync(lb, amp, cancellationToken).ConfigureAwait(false);
            }
        }
        return null;
    }

    /// <summary>Removes the objects being deleted from an untracked graph.</summary>
    internal static void Prune(LoadBalancer lb, HashSet<string> deleted)
    {
        if (deleted.Count == 0)
        {
            return;
        }
        lb.Listeners.RemoveAll(l => deleted.Contains(l.Id));
        lb.Pools.RemoveAll(p => deleted.Contains(p.Id));
        foreach (var l in lb.Listeners)
        {
            if (l.DefaultPoolId is { } dp && deleted.Contains(dp))
            {
                l.DefaultPoolId = null;
                l.DefaultPool = null;
            }
            l.L7Policies.RemoveAll(p => deleted.Contains(p.Id));
            foreach (var p in l.L7Policies)
            {
                p.L7Rules.RemoveAll(r => deleted.Contains(r.Id));
            }
        }
        foreach (var p in lb.Pools)
        {
            p.Members.RemoveAll(m => deleted.Contains(m.Id));
            if (p.HealthMonitor is { } hm && deleted.Contains(hm.Id))
            {
                p.HealthMonitor = null;
            }
        }
    }
}

/// <summary>
/// ACTIVE_STANDBY: finds each amphora's VRRP interface, uploads keepalived.conf and starts keepalived
/// (upstream AmphoraIndexUpdateVRRPInterface + AmphoraIndexVRRPUpdate + AmphoraIndexVRRPStart).
/// </summary>
public sealed class AmphoraeVrrpUpdate : FlowTask
{
    public override async Task<JsonNode?> ExecuteAsync(FlowContext context, CancellationToken cancellationToken)
    {
        var lbId = context.GetString(StoreKeys.LoadBalancerId);
        var driver = context.Get<IAmphoraDriver>();
        await using var db = WorkerDb.Open(context);
        var amps = await WorkerDb.ServingAmphoraeAsync(db, lbId, cancellationToken).ConfigureAwait(false);
        foreach (var amp in amps.Where(a => a.VrrpIp is not null))
        {
            var iface = await driver.GetInterfaceAsync(amp, amp.VrrpIp!, cancellationToken).ConfigureAwait(false);
            amp.VrrpInterface = iface;
            await db.Amphorae.Where(a => a.Id == amp.Id).ExecuteUpdateAsync(s => s.SetProperty(a => a.VrrpInterface, iface), cancellationToken).ConfigureAwait(false);
        }
        var lb = await WorkerDb.LoadGraphAsync(db, lbId, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"load balancer {lbId} not found");
        foreach (var amp in amps)
        {
            var peers = amps.Where(a => a.Id != amp.Id).ToList();
            await driver.UpdateVrrpConfigAsync(lb, amp, peers, cancellationToken).ConfigureAwait(false);
            await driver.VrrpActionAsync(amp, "start", cancellationToken).ConfigureAwait(false);
        }
        return null;
    }
}

/// <summary>Pushes a freshly rendered amphora-agent.conf (upstream AmphoraConfigUpdate).</summary>
public sealed class AmphoraAgentConfigUpdate : FlowTask
{
    public override async Task<JsonNode?> ExecuteAsync(FlowContext context, CancellationToken cancellationToken)
    {
        var id = context.GetString(StoreKeys.AmphoraId);
        var settings = context.Get<WorkerSettings>();
        await using var db = WorkerDb.Open(context);
        var amp = await db.Amphorae.AsNoTracking().SingleAsync(a => a.Id == id, cancellationToken).ConfigureAwait(false);
        var topology = amp.LoadBalancerId is null ? null
            : await db.LoadBalancers.Where(l => l.Id == amp.LoadBalancerId).Select(l => l.Topology).SingleOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        var config = AgentConfigRenderer.Render(settings, id, topology ?? settings.ControllerWorker.LoadbalancerTopology);
        await context.Get<IAmphoraDriver>().UpdateAgentConfigAsync(amp, config, cancellationToken).ConfigureAwait(false);
        return null;
    }
}

/// <summary>
/// Signs a new server certificate and uploads it to the agent, then records the new expiry and clears
/// cert_busy (upstream cert_rotate_amphora_flow: GenerateServerPEMTask, AmphoraCertUpload,
/// UpdateAmphoraDBCertExpiration, UpdateAmphoraCertBusyToFalse).
/// </summary>
public sealed class RotateAmphoraCertificate : FlowTask
{
    public override async Task<JsonNode?> ExecuteAsync(FlowContext context, CancellationToken cancellationToken)
    {
        var id = context.GetString(StoreKeys.AmphoraId);
        var settings = context.Get<WorkerSettings>();
        await using var db = WorkerDb.Open(context);
        var amp = await db.Amphorae.SingleAsync(a => a.Id == id, cancellationToken).ConfigureAwait(false);
        var cert = context.Get<ICertGenerator>().Generate(id, TimeSpan.FromSeconds(settings.Certificates.CertValidityTime));
        var pem = cert.CertificatePem.TrimEnd() + "\n" + cert.PrivateKeyPem.TrimEnd() + "\n";
        await context.Get<IAmphoraDriver>().UploadServerCertificateAsync(amp, pem, cancellationToken).ConfigureAwait(false);
        amp.CertExpiration = cert.NotAfterUtc;
        amp.CertBusy = false;
        amp.UpdatedAt = WorkerDb.Now(context);
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        return null;
    }
}

/// <summary>Revert: clears cert_busy so the housekeeper tries the rotation again later.</summary>
public sealed class ClearCertBusyOnRevert : FlowTask
{
    public override Task<JsonNode?> ExecuteAsync(FlowContext context, CancellationToken cancellationToken) => Task.FromResult<JsonNode?>(null);

    public override async Task RevertAsync(FlowContext context, JsonNode? result, CancellationToken cancellationToken)
    {
        var id = context.GetString(StoreKeys.AmphoraId);
        await using var db = WorkerDb.Open(context);
        await db.Amphorae.Where(a => a.Id == id).ExecuteUpdateAsync(s => s.SetProperty(a => a.CertBusy, false), cancellationToken).ConfigureAwait(false);
    }
}
