// Licensed under the Apache License, Version 2.0.
// ACTIVE_STANDBY tasks beyond upstream's VRRP subflow.

using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Octavia.Controller.Worker.Engine;
using Octavia.Core.Drivers;

namespace Octavia.Controller.Worker.Tasks;

/// <summary>
/// Stops keepalived on an amphora that is about to be unplugged and deleted, so it hands the VIP over with a
/// priority-0 advertisement (the peer takes over in well under a second) instead of vanishing with its port
/// (the peer then waits for VRRP's master-down timer, and clients for the next gratuitous ARP). Best effort:
/// a dead amphora does not answer within <see cref="Timeout"/> and is deleted all the same.
/// </summary>
public sealed class StopVrrpOnAmphora(string ampKey) : FlowTask
{
    internal static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public override async Task<JsonNode?> ExecuteAsync(FlowContext context, CancellationToken cancellationToken)
    {
        var id = context.GetString(ampKey);
        await using var db = WorkerDb.Open(context);
        var amp = await db.Amphorae.AsNoTracking().SingleOrDefaultAsync(a => a.Id == id, cancellationToken).ConfigureAwait(false);
        if (amp?.VrrpIp is null || amp.LbNetworkIp is null)
        {
            return null;
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        try
        {
            await context.Get<IAmphoraDriver>().VrrpActionAsync(amp, "stop", timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Unreachable or already gone: the VIP moves by VRRP's timer instead.
        }
        return null;
    }
}
