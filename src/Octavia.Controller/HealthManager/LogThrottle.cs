// Licensed under the Apache License, Version 2.0.

namespace Octavia.Controller.HealthManager;

/// <summary>
/// Lets one log line per key through per interval and counts the ones held back, so a flood of bad
/// packets costs a counter increment rather than a log write each.
/// </summary>
internal sealed class LogThrottle(TimeProvider timeProvider, TimeSpan interval)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, (DateTimeOffset Last, long Suppressed)> _state = new(StringComparer.Ordinal);

    /// <summary>True if a line for <paramref name="key"/> may be written now; <paramref name="suppressed"/> says how many were held back since the last one.</summary>
    public bool ShouldLog(string key, out long suppressed)
    {
        var now = timeProvider.GetUtcNow();
        lock (_lock)
        {
            if (_state.TryGetValue(key, out var s) && now - s.Last < interval)
            {
                _state[key] = (s.Last, s.Suppressed + 1);
                suppressed = 0;
                return false;
            }
            suppressed = s.Suppressed;
            if (_state.Count > 10_000)
            {
                _state.Clear();
            }
            _state[key] = (now, 0);
            return true;
        }
    }
}
