// Licensed under the Apache License, Version 2.0.

using System.Collections.Concurrent;
using Octavia.Core.Messaging;

namespace Octavia.Controller.Tests.HealthManager;

/// <summary>Records casts instead of sending them; can be told to fail, as a broker outage would.</summary>
internal sealed class RecordingWorkerBus : IWorkerBus
{
    public ConcurrentQueue<WorkerCast> Casts { get; } = new();

    public bool Fail { get; set; }

    public Task CastAsync(WorkerCast cast, CancellationToken cancellationToken)
    {
        if (Fail)
        {
            throw new InvalidOperationException("broker unreachable");
        }
        Casts.Enqueue(cast);
        return Task.CompletedTask;
    }

    public IReadOnlyList<string> AmphoraIds(string method) =>
        Casts.Where(c => c.Method == method).Select(c => (string)c.Args["amphora_id"]!).ToList();
}
