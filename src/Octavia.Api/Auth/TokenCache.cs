// Licensed under the Apache License, Version 2.0.

namespace Octavia.Api.Auth;

/// <summary>
/// A bounded, least-recently-used cache with per-entry expiry on an injected clock. Tokens are attacker-chosen
/// strings, so the bound matters: a flood of junk tokens evicts old entries instead of growing memory.
/// </summary>
internal sealed class TokenCache<T>(int capacity, TimeProvider time)
{
    private readonly Dictionary<string, LinkedListNode<Entry>> _map = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> _lru = new();
    private readonly Lock _lock = new();

    private sealed record Entry(string Key, T Value, DateTimeOffset ExpiresAt);

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _map.Count;
            }
        }
    }

    public bool TryGet(string key, out T value)
    {
        lock (_lock)
        {
            if (_map.TryGetValue(key, out var node))
            {
                if (node.Value.ExpiresAt > time.GetUtcNow())
                {
                    _lru.Remove(node);
                    _lru.AddFirst(node);
                    value = node.Value.Value;
                    return true;
                }
                _lru.Remove(node);
                _map.Remove(key);
            }
            value = default!;
            return false;
        }
    }

    public void Set(string key, T value, TimeSpan lifetime)
    {
        if (lifetime <= TimeSpan.Zero)
        {
            return;
        }
        lock (_lock)
        {
            if (_map.Remove(key, out var existing))
            {
                _lru.Remove(existing);
            }
            while (_map.Count >= capacity && _lru.Last is { } oldest)
            {
                _lru.RemoveLast();
                _map.Remove(oldest.Value.Key);
            }
            _map[key] = _lru.AddFirst(new Entry(key, value, time.GetUtcNow() + lifetime));
        }
    }
}
