// Licensed under the Apache License, Version 2.0.

using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Octavia.Data;

namespace Octavia.Api.Resources;

/// <summary>Listener and load balancer statistics: sums of <c>listener_statistics</c> rows.</summary>
internal static class Stats
{
    public static async Task<JsonObject> ForListenersAsync(OctaviaDbContext db, IReadOnlyCollection<string> listenerIds, CancellationToken ct)
    {
        var rows = await db.ListenerStatistics.Where(s => listenerIds.Contains(s.ListenerId)).ToListAsync(ct).ConfigureAwait(false);
        return new JsonObject
        {
            ["bytes_in"] = rows.Sum(r => r.BytesIn),
            ["bytes_out"] = rows.Sum(r => r.BytesOut),
            ["active_connections"] = rows.Sum(r => (long)r.ActiveConnections),
            ["total_connections"] = rows.Sum(r => r.TotalConnections),
            ["request_errors"] = rows.Sum(r => r.RequestErrors),
        };
    }
}
