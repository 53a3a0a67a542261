// Licensed under the Apache License, Version 2.0.

using System.Text.Json.Nodes;

namespace Octavia.Core.Messaging;

/// <summary>
/// One cast to the controller worker (upstream's oslo.messaging topic <c>octavia_provisioning_v2</c>).
/// <paramref name="Method"/> is upstream's endpoint name (<c>create_load_balancer</c>, <c>create_member</c>,
/// <c>batch_update_members</c>, <c>failover_amphora</c>...) and <paramref name="Args"/> its keyword arguments.
/// </summary>
public sealed record WorkerCast(string Method, JsonObject Args)
{
    /// <summary>Unique id so a redelivered message can be recognised.</summary>
    public string MessageId { get; init; } = Guid.NewGuid().ToString();
}

/// <summary>The API's and health manager's side of the bus: fire-and-forget casts to the worker.</summary>
public interface IWorkerBus
{
    /// <summary>Queues the cast; returns when the bus has accepted it (durably, for RabbitMQ).</summary>
    Task CastAsync(WorkerCast cast, CancellationToken cancellationToken);
}

/// <summary>The worker's side of the bus.</summary>
public interface IWorkerBusConsumer
{
    /// <summary>
    /// Delivers casts to <paramref name="handler"/> until cancelled. A cast is acknowledged only when the
    /// handler returns; if the process dies first it is delivered again (at-least-once).
    /// </summary>
    Task ConsumeAsync(Func<WorkerCast, CancellationToken, Task> handler, CancellationToken cancellationToken);
}
