// Licensed under the Apache License, Version 2.0.
// Upstream lifecycle_tasks: first in every flow, they do nothing forward and, on revert, put the
// objects the flow was changing into ERROR and their parents back to ACTIVE, so that nothing is
// left in PENDING_*.

using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Octavia.Controller.Worker.Engine;
using Octavia.Core.Model;

namespace Octavia.Controller.Worker.Tasks;

/// <summary>Revert: the load balancer goes ERROR, and any child still PENDING_* too (failed create or delete).</summary>
public sealed class LoadBalancerToErrorOnRevert : FlowTask
{
    public override Task<JsonNode?> ExecuteAsync(FlowContext context, CancellationToken cancellationToken) => Task.FromResult<JsonNode?>(null);

    public override async Task RevertAsync(FlowContext context, JsonNode? result, CancellationToken cancellationToken)
    {
        var lbId = context.GetString(StoreKeys.LoadBalancerId);
        var now = WorkerDb.Now(context);
        await using var db = WorkerDb.Open(context);
        await WorkerDb.SettleTreeAsync(db, lbId, [ProvisioningStatus.PendingCreate, ProvisioningStatus.PendingUpdate, ProvisioningStatus.PendingDelete], ProvisioningStatus.Error, now, cancellationToken).ConfigureAwait(false);
        await WorkerDb.SetStatusAsync(db, ObjectKind.LoadBalancer, lbId, ProvisioningStatus.Error, now, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>
/// Revert: the objects of <see cref="StoreKeys.ObjectIds"/> go ERROR; the load balancer, its listeners
/// and pools that were PENDING_UPDATE for this operation go back to ACTIVE (upstream's
/// ListenerToErrorOnRevertTask, MemberToErrorOnRevertTask...).
/// </summary>
public sealed class ObjectsToErrorOnRevert(ObjectKind kind) : FlowTask
{
    public override string Name => $"{kind}ToErrorOnRevert";

    public override Task<JsonNode?> ExecuteAsync(FlowContext context, CancellationToken cancellationToken) => Task.FromResult<JsonNode?>(null);

    public override async Task RevertAsync(FlowContext context, JsonNode? result, CancellationToken cancellationToken)
    {
        var lbId = context.GetString(StoreKeys.LoadBalancerId);
        var now = WorkerDb.Now(context);
        await using var db = WorkerDb.Open(context);
        foreach (var id in WorkerDb.Ids(context.GetNode(StoreKeys.ObjectIds)))
        {
            await WorkerDb.SetStatusAsync(db, kind, id, ProvisioningStatus.Error, now, cancellationToken).ConfigureAwait(false);
        }
        await WorkerDb.SettleTreeAsync(db, lbId, [ProvisioningStatus.PendingUpdate], ProvisioningStatus.Active, now, cancellationToken).ConfigureAwait(false);
        await db.LoadBalancers.Where(l => l.Id == lbId && l.ProvisioningStatus == ProvisioningStatus.PendingUpdate)
            .ExecuteUpdateAsync(s => s.SetProperty(l => l.ProvisioningStatus, ProvisioningStatus.Active).SetProperty(l => l.UpdatedAt, now), cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>Revert: the amphora goes ERROR (amphora-only flows: spare create, delete, agent config, certificate rotation).</summary>
public sealed class AmphoraToErrorOnRevert : FlowTask
{
    public override Task<JsonNode?> ExecuteAsync(FlowContext context, CancellationToken cancellationToken) => Task.FromResult<JsonNode?>(null);

    public override async Task RevertAsync(FlowContext context, JsonNode? result, CancellationToken cancellationToken)
    {
        var id = context.GetString(StoreKeys.AmphoraId);
        var now = WorkerDb.Now(context);
        await using var db = WorkerDb.Open(context);
        await db.Amphorae.Where(a => a.Id == id && a.Status != ProvisioningStatus.Deleted)
            .ExecuteUpdateAsync(s => s.SetProperty(a => a.Status, ProvisioningStatus.Error).SetProperty(a => a.CertBusy, false).SetProperty(a => a.UpdatedAt, now), cancellationToken).ConfigureAwait(false);
    }
}
