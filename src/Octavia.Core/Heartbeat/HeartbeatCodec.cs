// Licensed under the Apache License, Version 2.0.

using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;

namespace Octavia.Core.Heartbeat;

/// <summary>
/// Upstream's heartbeat envelope: <c>zlib(json) || hex(HMAC-SHA256(heartbeat_key, zlib(json)))</c>.
/// Receivers also accept the legacy raw 32-byte digest.
/// </summary>
public static class HeartbeatCodec
{
    private const int HexDigestLength = 64;
    private const int RawDigestLength = 32;

    /// <summary>Largest datagram a receiver accepts (upstream reads 64 KiB).</summary>
    public const int MaxDatagram = 65535;

    /// <summary>Builds a signed packet from the UTF-8 JSON body.</summary>
    public static byte[] Encode(ReadOnlySpan<byte> json, string key)
    {
        using var buffer = new MemoryStream();
        using (var z = new ZLibStream(buffer, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            z.Write(json);
        }
        var payload = buffer.ToArray();
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), payload);
        var hex = Encoding.ASCII.GetBytes(Convert.ToHexStringLower(mac));
        var packet = new byte[payload.Length + hex.Length];
        payload.CopyTo(packet, 0);
        hex.CopyTo(packet, payload.Length);
        return packet;
    }

    /// <summary>
    /// Verifies and decompresses a packet. Returns the JSON bytes, or null with a reason when the
    /// signature, compression or size is wrong. Never throws on hostile input.
    /// </summary>
    public static byte[]? TryDecode(ReadOnlySpan<byte> packet, byte[] key, out string? error)
    {
        if (packet.Length > HexDigestLength && Verify(packet[..^HexDigestLength], packet[^HexDigestLength..], key, hex: true))
        {
            return Decompress(packet[..^HexDigestLength], out error);
        }
        if (packet.Length > RawDigestLength && Verify(packet[..^RawDigestLength], packet[^RawDigestLength..], key, hex: false))
        {
            return Decompress(packet[..^RawDigestLength], out error);
        }
        error = "bad signature";
        return null;
    }

    private static bool Verify(ReadOnlySpan<byte> payload, ReadOnlySpan<byte> digest, byte[] key, bool hex)
    {
        Span<byte> mac = stackalloc byte[RawDigestLength];
        HMACSHA256.HashData(key, payload, mac);
        if (!hex)
        {
            return CryptographicOperations.FixedTimeEquals(mac, digest);
        }
        Span<byte> expected = stackalloc byte[HexDigestLength];
        for (var i = 0; i < RawDigestLength; i++)
        {
            expected[2 * i] = HexChar(mac[i] >> 4);
            expected[(2 * i) + 1] = HexChar(mac[i] & 0xF);
        }
        return CryptographicOperations.FixedTimeEquals(expected, digest);
    }

    private static byte HexChar(int nibble) => (byte)(nibble < 10 ? '0' + nibble : 'a' + nibble - 10);

    private static byte[]? Decompress(ReadOnlySpan<byte> payload, out string? error)
    {
        try
        {
            using var input = new MemoryStream(payload.ToArray());
            using var z = new ZLibStream(input, CompressionMode.Decompress);
            using var output = new MemoryStream();
            var chunk = new byte[8192];
            int read;
            while ((read = z.Read(chunk, 0, chunk.Length)) > 0)
            {
                output.Write(chunk, 0, read);
                // A zip bomb must not exhaust memory: real heartbeats are a few KiB.
                if (output.Length > 16 * 1024 * 1024)
                {
                    error = "decompressed heartbeat too large";
                    return null;
                }
            }
            error = null;
            return output.ToArray();
        }
        catch (InvalidDataException)
        {
            error = "bad compression";
            return null;
        }
    }
}
