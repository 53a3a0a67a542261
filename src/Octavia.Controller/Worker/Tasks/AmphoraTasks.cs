// Licensed under the Apache License, Version 2.0.
// Building, allocating and deleting amphorae (upstream compute_tasks, cert_task and the amphora
// parts of database_tasks). The store key given to each task holds the amphora's id.

using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Octavia.Controller.Worker.Engine;
using Octavia.Core.Drivers;
using Octavia.Core.Model;

namespace Octavia.Controller.Worker.Tasks;

/// <summary>
/// Creates the amphora row (PENDING_CREATE) and provides its id under <c>ampKey</c>. With
/// <c>useSpare</c> it first claims a READY spare amphora (ours: the spares pool). The id is
/// derived from the job, so a repeat finds the same row.
/// </summary>
public sealed class CreateAmphoraInDb : FlowTask
{
    private readonly string _role;
    private readonly bool _useSpare;

    public CreateAmphoraInDb(string ampKey, string role, bool useSpare)
    {
        Provides = ampKey;
        _role = role;
        _useSpare = useSpare;
    }

    public override async Task<JsonNode?> ExecuteAsync(FlowContext context, CancellationToken cancellationToken)
    {
        var id = context.DeterministicId(Provides!);
        var lbId = context.TryGetString(StoreKeys.LoadBalancerId);
        var now = WorkerDb.Now(context);
        await using var db = WorkerDb.Open(context);
        if (await db.Amphorae.AnyAsync(a => a.Id == id, cancellationToken).ConfigureAwait(false))
        {
            return id;
        }
        if (_useSpare && lbId is not null)
        {
            var claimed = await db.Amphorae.AsNoTracking()
                .Where(a => a.LoadBalancerId == lbId && a.Role == _role && a.Status == ProvisioningStatus.Ready)
                .Select(a => a.Id).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
            if (claimed is not null)
            {
                return claimed;
            }
            var spares = await db.Amphorae.AsNoTracking()
                .Where(a => a.LoadBalancerId == null && a.Status == ProvisioningStatus.Ready && a.ComputeId != null)
                .OrderBy(a => a.CreatedAt).Select(a => a.Id).Take(5).ToListAsync(cancellationToken).ConfigureAwait(false);
            foreach (var spare in spares)
            {
                // Conditional update: two flows racing for the same spare, only one wins it.
                var won = await db.Amphorae
                    .Where(a => a.Id == spare && a.LoadBalancerId == null && a.Status == ProvisioningStatus.Ready)
                    .ExecuteUpdateAsync(s => s.SetProperty(a => a.LoadBalancerId, lbId).SetProperty(a => a.Role, _role).SetProperty(a => a.UpdatedAt, now), cancellationToken)
                    .ConfigureAwait(false);
                if (won == 1)
                {
                    return spare;
                }
            }
        }
        db.Amphorae.Add(new Amphora { Id = id, Status = ProvisioningStatus.PendingCreate, CreatedAt = now, UpdatedAt = now });
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        return id;
    }

    public override async Task RevertAsync(FlowContext context, JsonNode? result, CancellationToken cancellationToken)
    {
        var id = result?.GetValue<string>() ?? context.DeterministicId(Provides!);
        await AmphoraRemoval.RemoveAsync(context, id, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>
/// Signs the amphora's server certificate (CN = amphora id) and boots it with its agent configuration
/// (upstream GenerateServerPEMTask + UpdateAmphoraDBCertExpiration + CertComputeCreate). An amphora that
/// already has a live instance (a repeat, or a claimed spare) is left alone.
/// </summary>
public sealed class CertComputeCreate(string ampKey) : FlowTask
{
    public override async Task<JsonNode?> ExecuteAsync(FlowContext context, CancellationToken cancellationToken)
    {
        var id = context.GetString(ampKey);
        var compute = context.Get<IComputeDriver>();
        var settings = context.Get<WorkerSettings>();
        await using var db = WorkerDb.Open(context);
        var amp = await db.Amphorae.SingleAsync(a => a.Id == id, cancellationToken).ConfigureAwait(false);
        if (amp.ComputeId is not null)
        {
            var existing = await compute.GetAsync(amp.ComputeId, cancellationToken).ConfigureAwait(false);
            if (existing.Status != ComputeStatus.Deleted)
            {
                return amp.ComputeId;
            }
        }
        var cert = context.Get<ICertGenerator>().Generate(id, TimeSpan.FromSeconds(settings.Certificates.CertValidityTime));
        var flavor = context.GetNode(StoreKeys.Flavor) as JsonObject;
        var computeFlavor = flavor?["compute_flavor"]?.GetValue<string>() ?? settings.ControllerWorker.AmpFlavorId;
        var request = new AmphoraBootRequest
        {
            AmphoraId = id,
            AgentConfig = AgentConfigRenderer.Render(settings, id, context.TryGetString(StoreKeys.Topology) ?? Topologies.Single),
            ServerPem = cert.CertificatePem.TrimEnd() + "\n" + cert.PrivateKeyPem.TrimEnd() + "\n",
            ClientCaPem = settings.ClientCaPem,
            ImageTag = flavor?["amp_image_tag"]?.GetValue<string>() ?? settings.ControllerWorker.AmpImageTag,
            FlavorId = computeFlavor,
            NetworkIds = settings.ControllerWorker.AmpBootNetworkList,
            KeyName = string.IsNullOrEmpty(settings.ControllerWorker.AmpSshKeyName) ? null : settings.ControllerWorker.AmpSshKeyName,
            AvailabilityZone = string.IsNullOrEmpty(settings.Nova.AvailabilityZone) ? null : settings.Nova.AvailabilityZone,
            ServerGroupId = context.TryGetString(StoreKeys.LoadBalancerId) is { } lbId
                ? await db.LoadBalancers.Where(l => l.Id == lbId).Select(l => l.ServerGroupId).SingleOrDefaultAsync(cancellationToken).ConfigureAwait(false)
                : null,
        };
        var computeId = await compute.BuildAsync(request, cancellationToken).ConfigureAwait(false);
        amp.ComputeId = computeId;
        amp.CertExpiration = cert.NotAfterUtc;
        amp.CertBusy = false;
        amp.ComputeFlavor = computeFlavor;
        if (amp.Status == ProvisioningStatus.PendingCreate)
        {
            amp.Status = ProvisioningStatus.Booting;
        }
        amp.UpdatedAt = WorkerDb.Now(context);
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        return computeId;
    }

    public override async Task RevertAsync(FlowContext context, JsonNode? result, CancellationToken cancellationToken)
    {
        if (result?.GetValue<string>() is { } computeId)
        {
            await context.Get<IComputeDriver>().DeleteAsync(computeId, cancellationToken).ConfigureAwait(false);
        }
    }
}

/// <summary>Waits until the instance is ACTIVE (amp_active_retries × amp_active_wait_sec) and records its management address (upstream ComputeWait + UpdateAmphoraInfo).</summary>
public sealed class ComputeWait(string ampKey) : FlowTask
{
    public override async Task<JsonNode?> ExecuteAsync(FlowContext context, CancellationToken cancellationToken)
    {
        var id = context.GetString(ampKey);
        var compute = context.Get<IComputeDriver>();
        var settings = context.Get<WorkerSettings>().ControllerWorker;
        var time = context.Get<TimeProvider>();
        await using var db = WorkerDb.Open(context);
        var amp = await db.Amphorae.SingleAsync(a => a.Id == id, cancellationToken).ConfigureAwait(false);
        var computeId = amp.ComputeId ?? throw new InvalidOperationException($"amphora {id} has no compute instance");
        for (var attempt = 0; ; attempt++)
        {
            var instance = await compute.GetAsync(computeId, cancellationToken).ConfigureAwait(false);
            if (instance.Status == ComputeStatus.Active)
            {
                amp.LbNetworkIp = instance.LbNetworkIp ?? amp.LbNetworkIp;
                amp.ImageId = instance.ImageId ?? amp.ImageId;
                amp.CachedZone = instance.Zone ?? amp.CachedZone;
                amp.UpdatedAt = WorkerDb.Now(context);
                await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
                return amp.LbNetworkIp;
            }
            if (instance.Status is ComputeStatus.Error or ComputeStatus.Deleted)
            {
                throw new InvalidOperationException($"compute instance {computeId} of amphora {id} is {instance.Status}"
                    + (instance.Fault is { Length: > 0 } fault ? $": {fault}" : ""));
            }
            if (attempt + 1 >= Math.Max(1, settings.AmpActiveRetries))
            {
                throw new TimeoutException($"compute instance {computeId} of amphora {id} not ACTIVE after {settings.AmpActiveRetries} checks");
            }
            await Task.Delay(TimeSpan.FromSeconds(settings.AmpActiveWaitSec), time, cancellationToken).ConfigureAwait(false);
        }
    }
}

/// <summary>
/// Waits until the amphora agent answers (upstream AmphoraComputeConnectivityWait). Ours: it also
/// watches the compute instance, so an instance that dies while its agent is awaited (an agent that
/// cannot start) fails the flow at once with the instance's fault, instead of after every retry.
/// </summary>
public sealed class AmphoraConnectivityWait(string ampKey) : FlowTask
{
    private static readonly TimeSpan s_computeCheck = TimeSpan.FromMilliseconds(500);

    public override async Task<JsonNode?> ExecuteAsync(FlowContext context, CancellationToken cancellationToken)
    {
        var id = context.GetString(ampKey);
        var ha = context.Get<WorkerSettings>().HaproxyAmphora;
        Amphora amp;
        await using (var db = WorkerDb.Open(context))
        {
            amp = await db.Amphorae.AsNoTracking().SingleAsync(a => a.Id == id, cancellationToken).ConfigureAwait(false);
        }
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var wait = context.Get<IAmphoraDriver>().WaitForConnectivityAsync(amp, ha.ConnectionMaxRetries, TimeSpan.FromSeconds(ha.ConnectionRetryInterval), stop.Token);
        var watch = amp.ComputeId is { } computeId
            ? WatchComputeAsync(context.Get<IComputeDriver>(), computeId, context.Get<TimeProvider>(), stop.Token)
            : Task.FromResult<string?>(null);
        var first = await Task.WhenAny(wait, watch).ConfigureAwait(false);
        if (first == watch && watch.IsCompletedSuccessfully && watch.Result is { } fault)
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await Task.WhenAny(wait).ConfigureAwait(false);
            throw new InvalidOperationException($"amphora {id} failed while waiting for its agent: {fault}");
        }
        try
        {
            await wait.ConfigureAwait(false);
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await Task.WhenAny(watch).ConfigureAwait(false);
        }
        return null;
    }

    // Null once cancelled or if the instance never fails; otherwise why it failed.
    private static async Task<string?> WatchComputeAsync(IComputeDriver compute, string computeId, TimeProvider time, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await Task.Delay(s_computeCheck, time, cancellationToken).ConfigureAwait(false);
                var instance = await compute.GetAsync(computeId, cancellationToken).ConfigureAwait(false);
                if (instance.Status is ComputeStatus.Error or ComputeStatus.Deleted)
                {
                    return $"compute instance {computeId} is {instance.Status}" + (instance.Fault is { Length: > 0 } f ? $": {f}" : "");
                }
            }
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }
}

/// <summary>The amphora now serves the load balancer: ALLOCATED, with its role and VRRP priority (upstream MarkAmphoraAllocatedInDB + MarkAmphora{Master,Backup,Standalone}InDB).</summary>
public sealed class MarkAmphoraAllocatedInDb(string ampKey, string role) : FlowTask
{
    public override string Name => $"MarkAmphora{role}AllocatedInDb";

    public override async Task<JsonNode?> ExecuteAsync(FlowContext context, CancellationToken cancellationToken)
    {
        var id = context.GetString(ampKey);
        var lbId = context.GetString(StoreKeys.LoadBalancerId);
        var now = WorkerDb.Now(context);
        int? priority = role switch { AmphoraRoles.Master => 100, AmphoraRoles.Backup => 90, _ => null };
        int? vrrpId = role == AmphoraRoles.Standalone ? null : 1;
        await using var db = WorkerDb.Open(context);
        await db.Amphorae.Where(a => a.Id == id).ExecuteUpdateAsync(s => s
            .SetProperty(a => a.Status, ProvisioningStatus.Allocated)
            .SetProperty(a => a.LoadBalancerId, lbId)
            .SetProperty(a => a.Role, role)
            .SetProperty(a => a.VrrpPriority, priority)
            .SetProperty(a => a.VrrpId, vrrpId)
            .SetProperty(a => a.UpdatedAt, now), cancellationToken).ConfigureAwait(false);
        return null;
    }
}

/// <summary>A spare amphora is built and idle: READY, no load balancer.</summary>
public sealed class MarkAmphoraReadyInDb(string ampKey) : FlowTask
{
    public override async Task<JsonNode?> ExecuteAsync(FlowContext context, CancellationToken cancellationToken)
    {
        var id = context.GetString(ampKey);
        var now = WorkerDb.Now(context);
        await using var db = WorkerDb.Open(context);
        await db.Amphorae.Where(a => a.Id == id).ExecuteUpdateAsync(s => s
            .SetProperty(a => a.Status, ProvisioningStatus.Ready)
            .SetProperty(a => a.UpdatedAt, now), cancellationToken).ConfigureAwait(false);
        return null;
    }
}

/// <summary>The amphora is being replaced or removed: PENDING_DELETE, and the health manager leaves it alone (MarkAmphoraPendingDeleteInDB + MarkAmphoraHealthBusy).</summary>
public sealed class MarkAmphoraPendingDeleteInDb(string ampKey) : FlowTask
{
    public override async Task<JsonNode?> ExecuteAsync(FlowContext context, CancellationToken cancellationToken)
    {
        var id = context.GetString(ampKey);
        var now = WorkerDb.Now(context);
        await using var db = WorkerDb.Open(context);
        var previous = await db.Amphorae.Where(a => a.Id == id).Select(a => a.Status).SingleOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        await db.Amphorae.Where(a => a.Id == id && a.Status != ProvisioningStatus.Deleted).ExecuteUpdateAsync(s => s
            .SetProperty(a => a.Status, ProvisioningStatus.PendingDelete).SetProperty(a => a.UpdatedAt, now), cancellationToken).ConfigureAwait(false);
        await db.AmphoraHealth.Where(h => h.AmphoraId == id).ExecuteUpdateAsync(s => s.SetProperty(h => h.Busy, true), cancellationToken).ConfigureAwait(false);
        return previous == ProvisioningStatus.PendingDelete ? null : previous;
    }

    public override async Task RevertAsync(FlowContext context, JsonNode? result, CancellationToken cancellationToken)
    {
        var id = context.GetString(ampKey);
        var now = WorkerDb.Now(context);
        await using var db = WorkerDb.Open(context);
        await db.Amphorae.Where(a => a.Id == id && a.Status == ProvisioningStatus.PendingDelete).ExecuteUpdateAsync(s => s
            .SetProperty(a => a.Status, ProvisioningStatus.Error).SetProperty(a => a.UpdatedAt, now), cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>Deletes the amphora's instance, marks it DELETED and stops health monitoring it (upstream ComputeDelete + MarkAmphoraDeletedInDB + DisableAmphoraHealthMonitoring).</summary>
public sealed class DeleteAmphora(string ampKey) : FlowTask
{
    public override async Task<JsonNode?> ExecuteAsync(FlowContext context, CancellationToken cancellationToken)
    {
        await AmphoraRemoval.RemoveAsync(context, context.GetString(ampKey), cancellationToken).ConfigureAwait(false);
        return null;
    }
}

/// <summary>Deletes every amphora of the load balancer (LB delete).</summary>
public sealed class DeleteLoadBalancerAmphorae : FlowTask
{
    public override async Task<JsonNode?> ExecuteAsync(FlowContext context, CancellationToken cancellationToken)
    {
        var lbId = context.GetString(StoreKeys.LoadBalancerId);
        List<string> ids;
        await using (var db = WorkerDb.Open(context))
        {
            ids = await db.Amphorae.Where(a => a.LoadBalancerId == lbId && a.Status != ProvisioningStatus.Deleted).Select(a => a.Id).ToListAsync(cancellationToken).ConfigureAwait(false);
        }
        foreach (var id in ids)
        {
            await AmphoraRemoval.RemoveAsync(context, id, cancellationToken).ConfigureAwait(false);
        }
        return null;
    }
}

internal static class AmphoraRemoval
{
    /// <summary>Deletes the instance (retrying amphora_delete_retries times), then the amphora is DELETED and its health row removed.</summary>
    public static async Task RemoveAsync(FlowContext context, string amphoraId, CancellationToken cancellationToken)
    {
        var settings = context.Get<WorkerSettings>().ControllerWorker;
        var time = context.Get<TimeProvider>();
        var now = WorkerDb.Now(context);
        await using var db = WorkerDb.Open(context);
        var amp = await db.Amphorae.SingleOrDefaultAsync(a => a.Id == amphoraId, cancellationToken).ConfigureAwait(false);
        if (amp is null)
        {
            return;
        }
        if (amp.ComputeId is not null)
        {
            var compute = context.Get<IComputeDriver>();
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    await compute.DeleteAsync(amp.ComputeId, cancellationToken).ConfigureAwait(false);
                    break;
                }
                catch (Exception) when (attempt < settings.AmphoraDeleteRetries)
                {
                    await Task.Delay(TimeSpan.FromSeconds(settings.AmphoraDeleteRetryInterval), time, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        amp.Status = ProvisioningStatus.Deleted;
        amp.UpdatedAt = now;
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        await db.AmphoraHealth.Where(h => h.AmphoraId == amphoraId).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>
/// ACTIVE_STANDBY with <c>[nova] enable_anti_affinity</c>: creates the server group the two amphorae
/// boot into and records it on the load balancer (upstream NovaServerGroupCreate + UpdateLBServerGroupInDB).
/// </summary>
public sealed class ServerGroupCreate : FlowTask
{
    public override async Task<JsonNode?> ExecuteAsync(FlowContext context, CancellationToken cancellationToken)
    {
        var lbId = context.GetString(StoreKeys.LoadBalancerId);
        var settings = context.Get<WorkerSettings>();
        await using var db = WorkerDb.Open(context);
        var existing = await db.LoadBalancers.Where(l => l.Id == lbId).Select(l => l.ServerGroupId).SingleOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        if (existing is not null)
        {
            return existing;
        }
        var id = await context.Get<IComputeDriver>().CreateServerGroupAsync("octavia-lb-" + lbId, settings.Nova.AntiAffinityPolicy, cancellationToken).ConfigureAwait(false);
        await db.LoadBalancers.Where(l => l.Id == lbId).ExecuteUpdateAsync(s => s.SetProperty(l => l.ServerGroupId, id), cancellationToken).ConfigureAwait(false);
        return id;
    }

    public override async Task RevertAsync(FlowContext context, JsonNode? result, CancellationToken cancellationToken)
    {
        if (result?.GetValue<string>() is { } id)
        {
            await context.Get<IComputeDriver>().DeleteServerGroupAsync(id, cancellationToken).ConfigureAwait(false);
        }
    }
}

/// <summary>Deletes the load balancer's server group, if any (upstream NovaServerGroupDelete).</summary>
public sealed class ServerGroupDelete : FlowTask
{
    public override async Task<JsonNode?> ExecuteAsync(FlowContext context, CancellationToken cancellationToken)
    {
        var lbId = context.GetString(StoreKeys.LoadBalancerId);
        await using var db = WorkerDb.Open(context);
        var id = await db.LoadBalancers.Where(l => l.Id == lbId).Select(l => l.ServerGroupId).SingleOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        if (id is not null)
        {
            await context.Get<IComputeDriver>().DeleteServerGroupAsync(id, cancellationToken).ConfigureAwait(false);
        }
        return null;
    }
}
