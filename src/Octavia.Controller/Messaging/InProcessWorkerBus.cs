// Licensed under the Apache License, Version 2.0.

using System.Threading.Channels;
using Octavia.Core.Messaging;
using Octavia.Data;

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

    /// <summary>Where casts are recorded before they are queued (the worker: <see cref="Worker.ControllerWorker"/>).</summary>
    public ICastJournal? Journal { get; set; }

    /// <summary>
    /// Queues a cast. Inside a write (<see cref="WriteScope.Current"/>, the API's transaction) the journal row
    /// joins that transaction and the cast is queued once it commits, so the worker never sees a cast whose
    /// objects are not committed yet, and a rolled-back change casts nothing.
    /// </summary>
    public async Task CastAsync(WorkerCast cast, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cast);
        if (Journal is null)
        {
            await _channel.Writer.WriteAsync(cast, cancellationToken).ConfigureAwait(false);
            return;
        }
        if (WriteScope.Current is { } scope)
        {
            scope.Context.Set<FlowJob>().Add(Journal.Entry(cast));
            scope.AfterCommit(() => _channel.Writer.WriteAsync(cast, CancellationToken.None).AsTask());
            return;
        }
        await Journal.RecordAsync(cast, cancellationToken).ConfigureAwait(false);
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

/// <summary>Records casts that wait in memory, so that they outlive the process (QUEUED flow jobs).</summary>
public interface ICastJournal
{
    /// <summary>The journal row for <paramref name="cast"/>, to be committed with the caller's transaction.</summary>
    FlowJob Entry(WorkerCast cast);

    /// <summary>Commits the journal row for <paramref name="cast"/> on its own.</summary>
    Task RecordAsync(WorkerCast cast, CancellationToken cancellationToken);
}
