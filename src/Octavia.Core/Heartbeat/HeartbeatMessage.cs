// Licensed under the Apache License, Version 2.0.

using System.Text.Json;
using System.Text.Json.Serialization;

namespace Octavia.Core.Heartbeat;

/// <summary>
/// Upstream's heartbeat body, version 3 (<c>ver: 3</c>): listener counters are deltas since the last beat,
/// except <c>conns</c>, which is the current connection count. Pool keys are <c>pool_id:listener_id</c>
/// for HAProxy pools and the bare pool id for LVS pools.
/// </summary>
public sealed class HeartbeatMessage
{
    /// <summary>The current message format version.</summary>
    public const int CurrentVersion = 3;

    /// <summary>The amphora id (<c>[amphora_agent] amphora_id</c>).</summary>
    [JsonPropertyName("id")] public string? Id { get; set; }

    /// <summary>Increments with every beat the amphora sends.</summary>
    [JsonPropertyName("seq")] public long Seq { get; set; }

    /// <summary>Message format version.</summary>
    [JsonPropertyName("ver")] public int Ver { get; set; } = CurrentVersion;

    /// <summary>Listener id to status and counters.</summary>
    [JsonPropertyName("listeners")] public Dictionary<string, HeartbeatListener> Listeners { get; set; } = [];

    /// <summary>Pool key to status and members.</summary>
    [JsonPropertyName("pools")] public Dictionary<string, HeartbeatPool> Pools { get; set; } = [];

    /// <summary>Serialises to UTF-8 JSON as upstream sends it.</summary>
    public byte[] ToJsonUtf8() => JsonSerializer.SerializeToUtf8Bytes(this, HeartbeatJsonContext.Default.HeartbeatMessage);

    /// <summary>Parses a body; null if it is not a JSON object of this shape.</summary>
    public static HeartbeatMessage? Parse(ReadOnlySpan<byte> json)
    {
        try
        {
            return JsonSerializer.Deserialize(json, HeartbeatJsonContext.Default.HeartbeatMessage);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>One listener in a heartbeat.</summary>
public sealed class HeartbeatListener
{
    /// <summary>HAProxy frontend status: <c>OPEN</c> or <c>FULL</c>.</summary>
    [JsonPropertyName("status")] public string Status { get; set; } = "OPEN";

    /// <summary>Counters.</summary>
    [JsonPropertyName("stats")] public HeartbeatListenerStats Stats { get; set; } = new();
}

/// <summary>Listener counters; in v3 all but <see cref="Conns"/> are deltas since the previous beat.</summary>
public sealed class HeartbeatListenerStats
{
    /// <summary>Bytes sent to clients (HAProxy <c>bout</c>).</summary>
    [JsonPropertyName("tx")] public long Tx { get; set; }

    /// <summary>Bytes received from clients (HAProxy <c>bin</c>).</summary>
    [JsonPropertyName("rx")] public long Rx { get; set; }

    /// <summary>Current connections (HAProxy <c>scur</c>), absolute.</summary>
    [JsonPropertyName("conns")] public long Conns { get; set; }

    /// <summary>Connections accepted (HAProxy <c>stot</c>).</summary>
    [JsonPropertyName("totconns")] public long TotConns { get; set; }

    /// <summary>Request errors (HAProxy <c>ereq</c>).</summary>
    [JsonPropertyName("ereq")] public long Ereq { get; set; }
}

/// <summary>One pool in a heartbeat.</summary>
public sealed class HeartbeatPool
{
    /// <summary><c>UP</c> or <c>DOWN</c>.</summary>
    [JsonPropertyName("status")] public string Status { get; set; } = "UP";

    /// <summary>Member id to <c>UP</c>, <c>DOWN</c>, <c>DRAIN</c>, <c>MAINT</c>, <c>no check</c>…</summary>
    [JsonPropertyName("members")] public Dictionary<string, string> Members { get; set; } = [];
}

[JsonSerializable(typeof(HeartbeatMessage))]
internal sealed partial class HeartbeatJsonContext : JsonSerializerContext;
