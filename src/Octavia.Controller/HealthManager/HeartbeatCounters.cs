// Licensed under the Apache License, Version 2.0.

namespace Octavia.Controller.HealthManager;

/// <summary>A point-in-time copy of <see cref="HeartbeatCounters"/>.</summary>
public sealed record HeartbeatCounterSnapshot(
    long Received,
    long Queued,
    long BadSignature,
    long BadCompression,
    long BadMessage,
    long QueueFull,
    long Processed,
    long UnknownAmphora,
    long ZombieAmphora,
    long ListenerCountMismatch,
    long TooSlow,
    long HealthWrites,
    long StatusWrites,
    long StatsWrites,
    long Batches,
    long FailedBatches)
{
    /// <summary>Packets dropped before reaching the database updater.</summary>
    public long Dropped => BadSignature + BadCompression + BadMessage + QueueFull;
}

/// <summary>
/// What the heartbeat receiver and updater did since start. Every dropped packet is counted under
/// exactly one reason, so <c>Received == Queued + Dropped</c>.
/// </summary>
public sealed class HeartbeatCounters
{
    private long _received;
    private long _queued;
    private long _badSignature;
    private long _badCompression;
    private long _badMessage;
    private long _queueFull;
    private long _processed;
    private long _unknownAmphora;
    private long _zombieAmphora;
    private long _listenerCountMismatch;
    private long _tooSlow;
    private long _healthWrites;
    private long _statusWrites;
    private long _statsWrites;
    private long _batches;
    private long _failedBatches;

    internal void Received() => Interlocked.Increment(ref _received);
    internal void Queued() => Interlocked.Increment(ref _queued);
    internal void BadSignature() => Interlocked.Increment(ref _badSignature);
    internal void BadCompression() => Interlocked.Increment(ref _badCompression);
    internal void BadMessage() => Interlocked.Increment(ref _badMessage);
    internal void QueueFull() => Interlocked.Increment(ref _queueFull);
    internal void Processed(long n) => Interlocked.Add(ref _processed, n);
    internal void UnknownAmphora(long n) => Interlocked.Add(ref _unknownAmphora, n);
    internal void ZombieAmphora() => Interlocked.Increment(ref _zombieAmphora);
    internal void ListenerCountMismatch() => Interlocked.Increment(ref _listenerCountMismatch);
    internal void TooSlow() => Interlocked.Increment(ref _tooSlow);
    internal void Written(long health, long status, long stats)
    {
        Interlocked.Add(ref _healthWrites, health);
        Interlocked.Add(ref _statusWrites, status);
        Interlocked.Add(ref _statsWrites, stats);
        Interlocked.Increment(ref _batches);
    }
    internal void FailedBatch() => Interlocked.Increment(ref _failedBatches);

    /// <summary>Packets read from the socket (or handed to the receiver).</summary>
    public long ReceivedCount => Interlocked.Read(ref _received);

    /// <summary>Heartbeats the updater has finished with (written, skipped or failed).</summary>
    public long ProcessedCount => Interlocked.Read(ref _processed);

    /// <summary>Copies every counter.</summary>
    public HeartbeatCounterSnapshot Snapshot() => new(
        Interlocked.Read(ref _received),
        Interlocked.Read(ref _queued),
        Interlocked.Read(ref _badSignature),
        Interlocked.Read(ref _badCompression),
        Interlocked.Read(ref _badMessage),
        Interlocked.Read(ref _queueFull),
        Interlocked.Read(ref _processed),
        Interlocked.Read(ref _unknownAmphora),
        Interlocked.Read(ref _zombieAmphora),
        Interlocked.Read(ref _listenerCountMismatch),
        Interlocked.Read(ref _tooSlow),
        Interlocked.Read(ref _healthWrites),
        Interlocked.Read(ref _statusWrites),
        Interlocked.Read(ref _statsWrites),
        Interlocked.Read(ref _batches),
        Interlocked.Read(ref _failedBatches));
}
