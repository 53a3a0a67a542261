// Licensed under the Apache License, Version 2.0.

using System.Threading.Channels;
using Octavia.Core.Messaging;

namespace Octavia.Controller.Messaging;

/// <summary>
/// The bus inside one process (all-in-one without <c>[DEFAULT] transport_url</c>). The queue itself is
/// memory; with a <see cref="Journal"/> (the worker host sets one) every cast is first recorded in the
/// database, so casts still queued when the process dies are run by the next worker.
/// </summary>
public sealed class InProcessWorkerBus : IWorkerBus, IWorkerBusConsumer
{
    private readonly Channel<WorkerCast> _channel = Channel.CreateUnbounded<WorkerCast>(new UnboundedChannelOptions { SingleReader = false });
    private readonly int _concurrency;

    /// <param name="concurrency">How many casts are handled at once (<c>[controller_worker] workers</c>).</param>
    public InProcessWorkerBus(int concurrency = 1)
    {
        _concurrency = Math.Max(1, concurrency);
    }

    /// <summary>Persists a cast before it is queued (<see cref="Worker.ControllerWorker.JournalAsync"/>).</summary>
    public Func<WorkerCast, CancellationToken, Task>? Journal { get; set; }

    public async Task CastAsync(WorkerCast cast, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cast);
        if (Journal is { } journal)
        {
            await journal(cast, cancellationToken).ConfigureAwait(false);
        }
        await _channel.Writer.WriteAsync(cast, cancellationToken).ConfigureAwait(false);
    }

    public async Task ConsumeAsync(Func<WorkerCast, CancellationToken, Task> handler, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var readers = Enumerable.Range(0, _concurrency).Select(_ => Task.Run(async () =>
        {
            try
            {
                await foreach (var cast in _channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                {
                    await handler(cast, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
            }
        }, CancellationToken.None));
        await Task.WhenAll(readers).ConfigureAwait(false);
    }
}
