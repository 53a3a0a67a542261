// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Octavia.Amphora.Agent.Network;

/// <summary>
/// Announces VIPs after HAProxy starts or reloads on a SINGLE amphora, as upstream's
/// <c>send_vip_advertisements</c> does: a gratuitous ARP request for IPv4, an unsolicited neighbour
/// advertisement for IPv6. A replacement amphora has another MAC address; without the announcement the
/// neighbours (routers, the host's tenant bridge) keep sending to the dead one until their cache expires.
/// keepalived does this itself for ACTIVE_STANDBY.
/// </summary>
internal static partial class IpAdvertisement
{
    private const int AF_PACKET = 17;
    private const int SOCK_RAW = 3;
    private const ushort EthPArp = 0x0806;
    private const ushort EthPIpv4 = 0x0800;

    /// <summary>Announces every address on the interface that holds it; addresses held by no interface are skipped.</summary>
    public static async Task<int> AnnounceAsync(IEnumerable<IPAddress> addresses, CancellationToken ct)
    {
        // One "ip -j addr show" names, for each link, its addresses, MAC, index and type.
        var links = await IpTool.AddressesAsync(ct).ConfigureAwait(false);
        var sent = 0;
        foreach (var address in addresses.Distinct())
        {
            if (IpTool.LinkWithAddress(links, address) is not { } link
                || (string?)link["address"] is not { } macText
                || (int?)link["ifindex"] is not { } ifindex
                || (string?)link["link_type"] != "ether")
            {
                continue;
            }
            var mac = Convert.FromHexString(macText.Replace(":", "", StringComparison.Ordinal));
            if (address.AddressFamily == AddressFamily.InterNetwork)
            {
                SendGratuitousArp(ifindex, mac, address);
            }
            else
            {
                await SendNeighborAdvertisementAsync(ifindex, mac, address, ct).ConfigureAwait(false);
            }
            sent++;
        }
        return sent;
    }

    /// <summary>Ethernet broadcast of an ARP request whose sender and target address are both the VIP.</summary>
    internal static byte[] GratuitousArpFrame(ReadOnlySpan<byte> mac, IPAddress address)
    {
        var frame = new byte[42];
        var span = frame.AsSpan();
        span[..6].Fill(0xff);
        mac.CopyTo(span[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(span[12..], EthPArp);
        var arp = span[14..];
        BinaryPrimitives.WriteUInt16BigEndian(arp, 1);          // hardware: Ethernet
        BinaryPrimitives.WriteUInt16BigEndian(arp[2..], EthPIpv4);
        arp[4] = 6;
        arp[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(arp[6..], 1);     // request, as upstream sends
        mac.CopyTo(arp[8..]);
        address.TryWriteBytes(arp[14..], out _);
        arp[18..24].Fill(0xff);
        address.TryWriteBytes(arp[24..], out _);
        return frame;
    }

    private static void SendGratuitousArp(int ifindex, byte[] mac, IPAddress address)
    {
        var protocol = BinaryPrimitives.ReverseEndianness(EthPArp);
        var fd = socket(AF_PACKET, SOCK_RAW, protocol);
        if (fd < 0)
        {
            throw new SocketException(Marshal.GetLastPInvokeError());
        }
        try
        {
            // struct sockaddr_ll: family, protocol (network order), ifindex, hatype, pkttype, halen, addr[8].
            Span<byte> sll = stackalloc byte[20];
            sll.Clear();
            BitConverter.TryWriteBytes(sll, (ushort)AF_PACKET);
            BitConverter.TryWriteBytes(sll[2..], protocol);
            BitConverter.TryWriteBytes(sll[4..], ifindex);
            sll[11] = 6;
            sll[12..18].Fill(0xff);
            var frame = GratuitousArpFrame(mac, address);
            if (sendto(fd, frame, frame.Length, 0, sll, sll.Length) < 0)
            {
                throw new SocketException(Marshal.GetLastPInvokeError());
            }
        }
        finally
        {
            _ = close(fd);
        }
    }

    /// <summary>ICMPv6 type 136 with the override flag and the target link-layer address option (the kernel fills the checksum).</summary>
    internal static byte[] NeighborAdvertisement(ReadOnlySpan<byte> mac, IPAddress address)
    {
        var packet = new byte[32];
        packet[0] = 136;
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(4), 0x2000_0000);
        address.TryWriteBytes(packet.AsSpan(8), out _);
        packet[24] = 2;
        packet[25] = 1;
        mac.CopyTo(packet.AsSpan(26));
        return packet;
    }

    private static async Task SendNeighborAdvertisementAsync(int ifindex, byte[] mac, IPAddress address, CancellationToken ct)
    {
        using var socket = new Socket(AddressFamily.InterNetworkV6, SocketType.Raw, ProtocolType.IcmpV6);
        // RFC 4861 §7.2.4: hop limit 255, to all nodes.
        socket.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.MulticastTimeToLive, 255);
        socket.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.MulticastInterface, ifindex);
        socket.Bind(new IPEndPoint(address, 0));
        var allNodes = new IPAddress(IPAddress.Parse("ff02::1").GetAddressBytes(), ifindex);
        await socket.SendToAsync(NeighborAdvertisement(mac, address), new IPEndPoint(allNodes, 0), ct).ConfigureAwait(false);
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint sendto(int fd, byte[] buffer, nint length, int flags, ReadOnlySpan<byte> address, int addressLength);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);
}
