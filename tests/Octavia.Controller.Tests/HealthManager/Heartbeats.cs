// Licensed under the Apache License, Version 2.0.

using System.Text;
using System.Text.Json.Nodes;
using Octavia.Controller.HealthManager;

namespace Octavia.Controller.Tests.HealthManager;

/// <summary>Builds heartbeat messages the way the amphora's health daemon does.</summary>
internal static class Heartbeats
{
    public const string Key = "insecure-test-key";

    public static JsonObject Message(string amphoraId, int version = 3, long seq = 1) => new()
    {
        ["id"] = amphoraId,
        ["seq"] = seq,
        ["ver"] = version,
        ["listeners"] = new JsonObject(),
        ["pools"] = new JsonObject(),
    };

    public static JsonObject Listener(this JsonObject message, string listenerId, string status = "OPEN", long rx = 0, long tx = 0, long conns = 0, long totconns = 0, long ereq = 0)
    {
        message["listeners"]!.AsObject()[listenerId] = new JsonObject
        {
            ["status"] = status,
            ["stats"] = new JsonObject { ["rx"] = rx, ["tx"] = tx, ["conns"] = conns, ["totconns"] = totconns, ["ereq"] = ereq },
        };
        return message;
    }

    public static JsonObject Pool(this JsonObject message, string poolKey, string status, params (string Id, string Status)[] members)
    {
        var m = new JsonObject();
        foreach (var (id, s) in members)
        {
            m[id] = s;
        }
        message["pools"]!.AsObject()[poolKey] = new JsonObject { ["status"] = status, ["members"] = m };
        return message;
    }

    public static byte[] Packet(JsonObject message, string key = Key) =>
        Octavia.Core.Heartbeat.HeartbeatCodec.Encode(Encoding.UTF8.GetBytes(message.ToJsonString()), key);

    public static HeartbeatMessage Parse(JsonObject message, DateTimeOffset receivedAt) =>
        HeartbeatMessage.TryParse(Encoding.UTF8.GetBytes(message.ToJsonString()), receivedAt, out var error)
        ?? throw new InvalidOperationException(error);
}
