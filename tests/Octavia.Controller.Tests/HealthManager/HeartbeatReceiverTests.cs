// Licensed under the Apache License, Version 2.0.

using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Octavia.Controller.HealthManager;
using Octavia.Core.Configuration;
using Octavia.Core.Model;

namespace Octavia.Controller.Tests.HealthManager;

/// <summary>The receiver never crashes or stalls on hostile input, and counts every drop under one reason.</summary>
public sealed class HeartbeatReceiverTests
{
    private static readonly byte[] Key = Encoding.UTF8.GetBytes(Heartbeats.Key);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));

    private static byte[] Signed(byte[] payload) =>
        [.. payload, .. Encoding.ASCII.GetBytes(Convert.ToHexStringLower(HMACSHA256.HashData(Key, payload)))];

    private static byte[] Zlib(string text)
    {
        using var buffer = new MemoryStream();
        using (var z = new ZLibStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        {
            z.Write(Encoding.UTF8.GetBytes(text));
        }
        return buffer.ToArray();
    }

    public static TheoryData<string, byte[]> HostilePackets()
    {
        var valid = Heartbeats.Packet(Heartbeats.Message("a"));
        return new()
        {
            { "forged", Heartbeats.Packet(Heartbeats.Message("a"), "wrong-key") },
            { "truncated", valid[..^10] },
            { "truncated-to-nothing", valid[..5] },
            { "empty", [] },
            { "garbage", RandomNumberGenerator.GetBytes(200) },
            { "flipped-bit", [.. valid[..3], (byte)(valid[3] ^ 1), .. valid[4..]] },
            { "signed-not-zlib", Signed(Encoding.UTF8.GetBytes("{\"id\":\"a\"}")) },
            { "signed-zlib-not-json", Signed(Zlib("not json at all")) },
            { "signed-json-array", Signed(Zlib("[1,2,3]")) },
            { "signed-json-no-id", Signed(Zlib("{\"listeners\":{}}")) },
            { "signed-json-id-too-long", Signed(Zlib("{\"id\":\"" + new string('x', 100) + "\",\"listeners\":{}}")) },
            { "signed-json-deep", Signed(Zlib("{\"id\":\"a\",\"listeners\":{},\"x\":" + new string('[', 100) + new string(']', 100) + "}")) },
        };
    }

    [Theory]
    [MemberData(nameof(HostilePackets))]
    public void Accept_HostilePacket_IsDroppedAndCountedOnce(string kind, byte[] packet)
    {
        var counters = new HeartbeatCounters();
        var queue = Channel.CreateUnbounded<HeartbeatMessage>();
        var receiver = new HeartbeatReceiver(Key, counters, queue.Writer, _time, NullLogger.Instance);

        receiver.Accept(packet);

        var s = counters.Snapshot();
        queue.Reader.TryRead(out _).ShouldBeFalse(kind);
        (s.Received, s.Queued, s.Dropped).ShouldBe((1L, 0L, 1L), kind);
    }

    [Fact]
    public void Accept_ForgedKey_CountsBadSignature()
    {
        var counters = new HeartbeatCounters();
        var receiver = new HeartbeatReceiver(Key, counters, Channel.CreateUnbounded<HeartbeatMessage>().Writer, _time, NullLogger.Instance);
        receiver.Accept(Heartbeats.Packet(Heartbeats.Message("a"), "wrong-key"));
        receiver.Accept(Signed(Encoding.UTF8.GetBytes("plain")));
        receiver.Accept(Signed(Zlib("nope")));
        var s = counters.Snapshot();
        (s.BadSignature, s.BadCompression, s.BadMessage).ShouldBe((1L, 1L, 1L));
    }

    [Fact]
    public void Accept_ValidPacket_IsQueuedWithReceiveTime()
    {
        var counters = new HeartbeatCounters();
        var queue = Channel.CreateUnbounded<HeartbeatMessage>();
        var receiver = new HeartbeatReceiver(Key, counters, queue.Writer, _time, NullLogger.Instance);

        receiver.Accept(Heartbeats.Packet(Heartbeats.Message("amp-1").Listener("l1").Pool("p1:l1", "UP", ("m1", "UP"))));

        queue.Reader.TryRead(out var message).ShouldBeTrue();
        message!.AmphoraId.ShouldBe("amp-1");
        message.ReceivedAt.ShouldBe(_time.GetUtcNow());
        message.Pools.Keys.ShouldBe(["p1"]);
        counters.Snapshot().Queued.ShouldBe(1);
    }

    [Fact]
    public void Accept_QueueFull_DropsAndCounts()
    {
        var counters = new HeartbeatCounters();
        var queue = Channel.CreateBounded<HeartbeatMessage>(new BoundedChannelOptions(10) { FullMode = BoundedChannelFullMode.Wait });
        var receiver = new HeartbeatReceiver(Key, counters, queue.Writer, _time, NullLogger.Instance);
        var packet = Heartbeats.Packet(Heartbeats.Message("amp-1"));

        for (var i = 0; i < 25; i++)
        {
            receiver.Accept(packet);
        }

        var s = counters.Snapshot();
        (s.Received, s.Queued, s.QueueFull).ShouldBe((25L, 10L, 15L));
    }

    [Fact]
    public async Task Burst_100000HostilePacketsOverUdp_NoCrashNoStallNothingWritten()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = await HealthTestDatabase.CreateAsync();
        var lb = await Seed.LoadBalancerAsync(db);
        var counters = new HeartbeatCounters();
        var queue = Channel.CreateBounded<HeartbeatMessage>(1024);
        var receiver = new HeartbeatReceiver(Key, counters, queue.Writer, TimeProvider.System, NullLogger.Instance);
        await using var updater = new HealthUpdater(db.Database, new HealthManagerOptions { HeartbeatInterval = 10, HeartbeatTimeout = 60 }, counters, TimeProvider.System, NullLogger.Instance);
        using var socket = HeartbeatReceiver.Bind("127.0.0.1", 0, 4 * 1024 * 1024);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var receiving = Task.Run(() => receiver.RunAsync(socket, cts.Token), ct);
        var updating = Task.Run(() => updater.RunAsync(queue.Reader, cts.Token), ct);

        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        sender.Connect((IPEndPoint)socket.LocalEndPoint!);
        var forged = Heartbeats.Packet(Heartbeats.Message(lb.AmphoraId).Listener(lb.Listeners[0], "FULL").Pool(lb.Pools[0], "DOWN"), "forged-key");
        var kinds = new[]
        {
            forged,
            forged[..^7],
            RandomNumberGenerator.GetBytes(300),
            Signed(Zlib("{\"id\":")),
            Signed([0x78, 0x9c, 0xff, 0xff, 0x00]),
        };
        const int Total = 100_000;
        const int Window = 256;
        var sent = 0;
        while (sent < Total)
        {
            var end = Math.Min(sent + Window, Total);
            for (; sent < end; sent++)
            {
                sender.Send(kinds[sent % kinds.Length]);
            }
            // Flow control on the receiver's own counter: the kernel may not drop what we count.
            await WaitUntil(() => counters.ReceivedCount >= sent, TimeSpan.FromSeconds(10));
        }

        var s = counters.Snapshot();
        s.Received.ShouldBe(Total);
        s.Queued.ShouldBe(0);
        s.BadSignature.ShouldBe(Total * 3 / 5);
        (s.BadCompression + s.BadMessage).ShouldBe(Total * 2 / 5);
        s.BadMessage.ShouldBe(Total / 5);

        // Not stalled: a genuine heartbeat right after the burst is processed.
        sender.Send(Heartbeats.Packet(Heartbeats.Message(lb.AmphoraId).Listener(lb.Listeners[0]).Pool(lb.Pools[0], "UP", (lb.Members[0], "UP"))));
        await WaitUntil(() => counters.ProcessedCount >= 1, TimeSpan.FromSeconds(10));
        await cts.CancelAsync();
        await Task.WhenAll(receiving, updating);

        await using var check = db.Context();
        (await check.AmphoraHealth.SingleAsync(h => h.AmphoraId == lb.AmphoraId, ct)).Busy.ShouldBeFalse();
        (await check.LoadBalancers.SingleAsync(l => l.Id == lb.LoadBalancerId, ct)).OperatingStatus.ShouldBe(OperatingStatus.Online);
        (await check.Pools.SingleAsync(p => p.Id == lb.Pools[0], ct)).OperatingStatus.ShouldBe(OperatingStatus.Online);
        counters.Snapshot().StatusWrites.ShouldBe(0);
    }

    private static async Task WaitUntil(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("condition not reached");
            }
            await Task.Delay(1);
        }
    }
}
