// Licensed under the Apache License, Version 2.0.

using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Octavia.Core.Heartbeat;

namespace Octavia.Core.Tests.Heartbeat;

public sealed class HeartbeatCodecTests
{
    private static readonly byte[] Key = Encoding.UTF8.GetBytes("insecure");

    [Fact]
    public void Encode_ThenDecode_RoundTrips()
    {
        var json = Encoding.UTF8.GetBytes("{\"id\":\"a\",\"seq\":1,\"ver\":3}");
        var packet = HeartbeatCodec.Encode(json, "insecure");
        HeartbeatCodec.TryDecode(packet, Key, out var error).ShouldBe(json);
        error.ShouldBeNull();
    }

    [Fact]
    public void Encode_TrailerIsHexHmacOfCompressedPayload()
    {
        var packet = HeartbeatCodec.Encode("{}"u8, "insecure");
        var payload = packet[..^64];
        var expected = Convert.ToHexStringLower(HMACSHA256.HashData(Key, payload));
        Encoding.ASCII.GetString(packet[^64..]).ShouldBe(expected);
        using var z = new ZLibStream(new MemoryStream(payload), CompressionMode.Decompress);
        using var reader = new StreamReader(z);
        reader.ReadToEnd().ShouldBe("{}");
    }

    [Fact]
    public void Decode_LegacyRawDigest_IsAccepted()
    {
        var packet = HeartbeatCodec.Encode("{}"u8, "insecure");
        var payload = packet[..^64];
        var legacy = payload.Concat(HMACSHA256.HashData(Key, payload)).ToArray();
        HeartbeatCodec.TryDecode(legacy, Key, out _).ShouldBe("{}"u8.ToArray());
    }

    [Fact]
    public void Decode_OtherKey_IsRejected()
    {
        var packet = HeartbeatCodec.Encode("{}"u8, "other");
        HeartbeatCodec.TryDecode(packet, Key, out var error).ShouldBeNull();
        error.ShouldBe("bad signature");
    }

    [Fact]
    public void Decode_GarbageAndTruncated_NeverThrow()
    {
        var random = new Random(42);
        for (var i = 0; i < 2000; i++)
        {
            var buf = new byte[random.Next(0, 200)];
            random.NextBytes(buf);
            HeartbeatCodec.TryDecode(buf, Key, out _).ShouldBeNull();
        }
        var good = HeartbeatCodec.Encode("{\"x\":1}"u8, "insecure");
        for (var cut = 0; cut < good.Length; cut++)
        {
            HeartbeatCodec.TryDecode(good.AsSpan(0, cut), Key, out _).ShouldBeNull();
        }
    }

    [Fact]
    public void Decode_SignedGarbagePayload_ReportsBadCompression()
    {
        var payload = "not zlib"u8.ToArray();
        var mac = Encoding.ASCII.GetBytes(Convert.ToHexStringLower(HMACSHA256.HashData(Key, payload)));
        HeartbeatCodec.TryDecode(payload.Concat(mac).ToArray(), Key, out var error).ShouldBeNull();
        error.ShouldBe("bad compression");
    }
}
