// Licensed under the Apache License, Version 2.0.

using System.Text.Json;

namespace Octavia.Controller.HealthManager;

/// <summary>Counters of one listener in a heartbeat (absolute for v1/v2, deltas except <c>conns</c> for v3).</summary>
internal readonly record struct ListenerStats(long Rx, long Tx, long Conns, long TotConns, long Ereq);

/// <summary>One listener as the amphora reports it.</summary>
internal sealed record HeartbeatListener(string? Status, ListenerStats? Stats, IReadOnlyDictionary<string, HeartbeatPool>? Pools);

/// <summary>One pool as the amphora reports it (keys already normalised to the bare pool id).</summary>
internal sealed record HeartbeatPool(string? Status, IReadOnlyDictionary<string, string> Members);

/// <summary>
/// A decoded heartbeat (upstream's amphora health message, versions 1–3). <see cref="Version"/> is 0
/// when the message carries no <c>ver</c> (pre-versioning amphorae).
/// </summary>
internal sealed record HeartbeatMessage(
    string AmphoraId,
    int Version,
    long Seq,
    IReadOnlyDictionary<string, HeartbeatListener> Listeners,
    IReadOnlyDictionary<string, HeartbeatPool> Pools,
    DateTimeOffset ReceivedAt)
{
    /// <summary>Upstream normalises pool keys <c>pool_id:listener_id</c> to the bare pool id.</summary>
    public static string NormalizePoolKey(string key)
    {
        var colon = key.LastIndexOf(':');
        return colon < 0 ? key : key[..colon];
    }

    /// <summary>Parses the JSON body; returns null with a reason when it is not a health message.</summary>
    public static HeartbeatMessage? TryParse(ReadOnlySpan<byte> json, DateTimeOffset receivedAt, out string? error)
    {
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 16 });
            using var doc = JsonDocument.ParseValue(ref reader);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                error = "not a JSON object";
                return null;
            }
            if (!root.TryGetProperty("id", out var idElement) || idElement.ValueKind != JsonValueKind.String
                || idElement.GetString() is not { Length: > 0 and <= 36 } id)
            {
                error = "missing or invalid id";
                return null;
            }
            if (!root.TryGetProperty("listeners", out var listenersElement) || listenersElement.ValueKind != JsonValueKind.Object)
            {
                error = "missing listeners";
                return null;
            }
            var version = root.TryGetProperty("ver", out var ver) && ver.ValueKind == JsonValueKind.Number && ver.TryGetInt32(out var v) ? v : 0;
            var seq = root.TryGetProperty("seq", out var s) && s.ValueKind == JsonValueKind.Number && s.TryGetInt64(out var sv) ? sv : 0;

            var listeners = new Dictionary<string, HeartbeatListener>(StringComparer.Ordinal);
            foreach (var listener in listenersElement.EnumerateObject())
            {
                if (listener.Value.ValueKind != JsonValueKind.Object)
                {
                    error = "listener is not an object";
                    return null;
                }
                var status = GetString(listener.Value, "status");
                ListenerStats? stats = listener.Value.TryGetProperty("stats", out var st) && st.ValueKind == JsonValueKind.Object
                    ? new ListenerStats(GetLong(st, "rx"), GetLong(st, "tx"), GetLong(st, "conns"), GetLong(st, "totconns"), GetLong(st, "ereq"))
                    : null;
                IReadOnlyDictionary<string, HeartbeatPool>? nested = null;
                if (listener.Value.TryGetProperty("pools", out var lp) && lp.ValueKind == JsonValueKind.Object)
                {
                    nested = ParsePools(lp);
                }
                listeners[listener.Name] = new HeartbeatListener(status, stats, nested);
            }
            var pools = root.TryGetProperty("pools", out var poolsElement) && poolsElement.ValueKind == JsonValueKind.Object
                ? ParsePools(poolsElement)
                : new Dictionary<string, HeartbeatPool>();
            error = null;
            return new HeartbeatMessage(id, version, seq, listeners, pools, receivedAt);
        }
        catch (JsonException)
        {
            error = "bad JSON";
            return null;
        }
        catch (InvalidOperationException)
        {
            error = "bad JSON";
            return null;
        }
    }

    private static Dictionary<string, HeartbeatPool> ParsePools(JsonElement element)
    {
        var pools = new Dictionary<string, HeartbeatPool>(StringComparer.Ordinal);
        foreach (var pool in element.EnumerateObject())
        {
            if (pool.Value.ValueKind != JsonValueKind.Object)
            {
                continue;
            }
            var members = new Dictionary<string, string>(StringComparer.Ordinal);
            if (pool.Value.TryGetProperty("members", out var m) && m.ValueKind == JsonValueKind.Object)
            {
                foreach (var member in m.EnumerateObject())
                {
                    if (member.Value.ValueKind == JsonValueKind.String)
                    {
                        members[member.Name] = member.Value.GetString()!;
                    }
                }
            }
            pools[NormalizePoolKey(pool.Name)] = new HeartbeatPool(GetString(pool.Value, "status"), members);
        }
        return pools;
    }

    private static string? GetString(JsonElement element, string name) =>
        element.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;

    private static long GetLong(JsonElement element, string name) =>
        element.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.Number && p.TryGetInt64(out var v) ? v : 0;
}
