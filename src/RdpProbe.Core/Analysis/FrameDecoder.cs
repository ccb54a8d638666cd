using System.Buffers.Binary;

namespace RdpProbe.Analysis;

/// <summary>pcap LINKTYPE_* values the analyzer reads (tcpdump.org/linktypes.html).</summary>
internal static class LinkTypes
{
    public const int Null = 0;          // BSD loopback, 4-byte address family in host byte order
    public const int Ethernet = 1;
    public const int RawBsd = 12;       // DLT_RAW on some BSDs
    public const int RawBsdAlt = 14;    // DLT_RAW on OpenBSD
    public const int Raw = 101;         // LINKTYPE_RAW: starts with the IP header
    public const int Loop = 108;        // OpenBSD loopback, address family in network byte order
    public const int LinuxSll = 113;
    public const int Ipv4 = 228;
    public const int Ipv6 = 229;
    public const int LinuxSll2 = 276;

    public static bool IsSupported(int linkType) =>
        linkType is Null or Ethernet or RawBsd or RawBsdAlt or Raw or Loop or LinuxSll or Ipv4 or Ipv6 or LinuxSll2;
}

internal static class IpProtocols
{
    public const byte Icmp = 1;
    public const byte Tcp = 6;
    public const byte Udp = 17;
    public const byte Icmpv6 = 58;
}

[Flags]
internal enum TcpFlags : byte
{
    None = 0,
    Fin = 0x01,
    Syn = 0x02,
    Rst = 0x04,
    Psh = 0x08,
    Ack = 0x10,
    Urg = 0x20,
}

/// <summary>What the hot path needs from one frame: L3 addresses, L4 ports and fields, spans into the frame.</summary>
internal ref struct DecodedPacket
{
    public int IpVersion;
    public IpAddr Source;
    public IpAddr Destination;
    public byte Protocol;

    /// <summary>Length of the IP packet as its header declares it (IPv4 total length, IPv6 40 + payload length).</summary>
    public int IpLength;

    // Fragment facts (IPv4 flags/offset or IPv6 fragment header); L4 fields are only decoded for unfragmented packets.
    public bool IsFragment;
    public uint FragmentId;
    public int FragmentOffset;
    public bool MoreFragments;

    /// <summary>The IP payload (after all IPv6 extension headers) as captured.</summary>
    public ReadOnlySpan<byte> IpPayload;

    public ushort SourcePort;
    public ushort DestinationPort;

    public uint Sequence;
    public uint Acknowledgment;
    public TcpFlags Flags;
    public ushort Window;
    public ushort Mss;

    /// <summary>TCP/UDP payload bytes present in the capture.</summary>
    public ReadOnlySpan<byte> Payload;

    /// <summary>TCP/UDP payload length on the wire (larger than <see cref="Payload"/> when the snap length cut it).</summary>
    public int PayloadWireLength;

    public byte IcmpType;
    public byte IcmpCode;

    /// <summary>ICMP message after type/code/checksum (4 bytes of rest-of-header, then the quoted packet).</summary>
    public ReadOnlySpan<byte> IcmpBody;
}

/// <summary>
/// Span-only decoder of link, IP and transport headers: no allocation, no copies. Anything it cannot read
/// returns false and the frame is counted but otherwise ignored.
/// </summary>
internal static class FrameDecoder
{
    private const ushort EtherTypeIpv4 = 0x0800;
    private const ushort EtherTypeIpv6 = 0x86DD;
    private const ushort EtherTypeVlan = 0x8100;
    private const ushort EtherTypeQinQ = 0x88A8;
    private const ushort EtherTypeQinQOld = 0x9100;
    private const ushort EtherTypePppoeSession = 0x8864;

    public static bool TryDecode(int linkType, ReadOnlySpan<byte> frame, out DecodedPacket packet)
    {
        packet = default;
        if (!TryGetNetworkLayer(linkType, frame, out var ip))
        {
            return false;
        }

        return TryDecodeIp(ip, ref packet);
    }

    /// <summary>Strips the link-layer header (and VLAN/PPPoE tags); returns the IP packet.</summary>
    public static bool TryGetNetworkLayer(int linkType, ReadOnlySpan<byte> frame, out ReadOnlySpan<byte> ip)
    {
        ip = default;
        switch (linkType)
        {
            case LinkTypes.Ethernet:
                if (frame.Length < 14)
                {
                    return false;
                }

                return TryFollowEtherType(BinaryPrimitives.ReadUInt16BigEndian(frame[12..]), frame[14..], out ip);

            case LinkTypes.LinuxSll:
                // Linux "cooked" v1: packet type, ARPHRD, address length, 8 address bytes, protocol (BE) = 16 bytes.
                if (frame.Length < 16)
                {
                    return false;
                }

                return TryFollowEtherType(BinaryPrimitives.ReadUInt16BigEndian(frame[14..]), frame[16..], out ip);

            case LinkTypes.LinuxSll2:
                // Linux "cooked" v2: protocol type (BE) first, then reserved, ifindex, ARPHRD, type, addr len, 8 addr = 20.
                if (frame.Length < 20)
                {
                    return false;
                }

                return TryFollowEtherType(BinaryPrimitives.ReadUInt16BigEndian(frame), frame[20..], out ip);

            case LinkTypes.Null:
            case LinkTypes.Loop:
                {
                    // The address family is host order for NULL and network order for LOOP; captures move between
                    // machines, so accept either order. AF_INET = 2; AF_INET6 = 24, 28 or 30 depending on the BSD.
                    if (frame.Length < 4)
                    {
                        return false;
                    }

                    uint le = BinaryPrimitives.ReadUInt32LittleEndian(frame);
                    uint be = BinaryPrimitives.ReadUInt32BigEndian(frame);
                    uint family = le <= 0xFF ? le : be;
                    if (family is 2 or 24 or 28 or 30 or 10)
                    {
                        ip = frame[4..];
                        return true;
                    }

                    return false;
                }

            case LinkTypes.Raw:
            case LinkTypes.RawBsd:
            case LinkTypes.RawBsdAlt:
            case LinkTypes.Ipv4:
            case LinkTypes.Ipv6:
                ip = frame;
                return true;

            default:
                return false;
        }
    }

    private static bool TryFollowEtherType(ushort etherType, ReadOnlySpan<byte> rest, out ReadOnlySpan<byte> ip)
    {
        ip = default;

        // 802.1Q, 802.1ad (QinQ) and the pre-standard 0x9100: each tag is TCI(2) + inner EtherType(2). Bounded depth.
        for (int tags = 0; tags < 4 && etherType is EtherTypeVlan or EtherTypeQinQ or EtherTypeQinQOld; tags++)
        {
            if (rest.Length < 4)
            {
                return false;
            }

            etherType = BinaryPrimitives.ReadUInt16BigEndian(rest[2..]);
            rest = rest[4..];
        }

        if (etherType == EtherTypePppoeSession)
        {
            // RFC 2516: ver/type, code, session id, length (6 bytes), then the PPP protocol (0x0021 IPv4, 0x0057 IPv6).
            if (rest.Length < 8)
            {
                return false;
            }

            ushort ppp = BinaryPrimitives.ReadUInt16BigEndian(rest[6..]);
            etherType = ppp switch { 0x0021 => EtherTypeIpv4, 0x0057 => EtherTypeIpv6, _ => (ushort)0 };
            rest = rest[8..];
        }

        if (etherType is EtherTypeIpv4 or EtherTypeIpv6)
        {
            ip = rest;
            return true;
        }

        return false;
    }

    /// <summary>Decodes an IP packet (v4 or v6 by its version nibble) and, when it is not a fragment, its L4 header.</summary>
    public static bool TryDecodeIp(ReadOnlySpan<byte> ip, ref DecodedPacket packet)
    {
        if (ip.Length < 1)
        {
            return false;
        }

        int version = ip[0] >> 4;
        if (version == 4)
        {
            if (ip.Length < 20)
            {
                return false;
            }

            int ihl = (ip[0] & 0x0F) * 4;
            int total = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
            if (ihl < 20 || total < ihl || ip.Length < ihl)
            {
                return false;
            }

            packet.IpVersion = 4;
            packet.IpLength = total;
            packet.Protocol = ip[9];
            packet.Source = IpAddr.FromV4(ip[12..]);
            packet.Destination = IpAddr.FromV4(ip[16..]);

            // Ethernet pads short frames to 60 bytes: trust the IP total length, not the frame length.
            int end = Math.Min(total, ip.Length);
            packet.IpPayload = ip[ihl..end];
            ushort flagsOffset = BinaryPrimitives.ReadUInt16BigEndian(ip[6..]);
            packet.MoreFragments = (flagsOffset & 0x2000) != 0;
            packet.FragmentOffset = (flagsOffset & 0x1FFF) * 8;
            if (packet.MoreFragments || packet.FragmentOffset != 0)
            {
                packet.IsFragment = true;
                packet.FragmentId = BinaryPrimitives.ReadUInt16BigEndian(ip[4..]);
                return true;
            }

            return TryDecodeTransport(ref packet, total - ihl);
        }

        if (version == 6)
        {
            if (ip.Length < 40)
            {
                return false;
            }

            int payloadLength = BinaryPrimitives.ReadUInt16BigEndian(ip[4..]);
            packet.IpVersion = 6;
            packet.IpLength = 40 + payloadLength;
            packet.Source = IpAddr.FromV6(ip[8..]);
            packet.Destination = IpAddr.FromV6(ip[24..]);
            byte next = ip[6];
            int end = Math.Min(40 + payloadLength, ip.Length);
            var rest = ip[40..end];
            int wireRest = payloadLength;

            // Walk extension headers (RFC 8200 §4): hop-by-hop 0, routing 43, fragment 44, destination options 60,
            // AH 51. Bounded so a hostile chain cannot loop.
            for (int i = 0; i < 8; i++)
            {
                if (next is 0 or 43 or 60)
                {
                    if (rest.Length < 8)
                    {
                        return false;
                    }

                    int len = (rest[1] + 1) * 8;
                    if (rest.Length < len)
                    {
                        return false;
                    }

                    next = rest[0];
                    rest = rest[len..];
                    wireRest -= len;
                }
                else if (next == 51)
                {
                    if (rest.Length < 8)
                    {
                        return false;
                    }

                    int len = (rest[1] + 2) * 4;
                    if (rest.Length < len)
                    {
                        return false;
                    }

                    next = rest[0];
                    rest = rest[len..];
                    wireRest -= len;
                }
                else if (next == 44)
                {
                    // Fragment header: next header, reserved, offset(13 bits)<<3 | M, identification (32 bits).
                    if (rest.Length < 8)
                    {
                        return false;
                    }

                    ushort offsetFlags = BinaryPrimitives.ReadUInt16BigEndian(rest[2..]);
                    packet.Protocol = rest[0];
                    packet.IsFragment = true;
                    packet.FragmentOffset = offsetFlags & 0xFFF8;
                    packet.MoreFragments = (offsetFlags & 1) != 0;
                    packet.FragmentId = BinaryPrimitives.ReadUInt32BigEndian(rest[4..]);
                    packet.IpPayload = rest[8..];
                    return true;
                }
                else
                {
                    break;
                }
            }

            packet.Protocol = next;
            packet.IpPayload = rest;
            return TryDecodeTransport(ref packet, wireRest);
        }

        return false;
    }

    /// <summary>Decodes TCP, UDP or ICMP from <see cref="DecodedPacket.IpPayload"/>; <paramref name="wireLength"/> is the L4 length on the wire.</summary>
    public static bool TryDecodeTransport(ref DecodedPacket packet, int wireLength)
    {
        var l4 = packet.IpPayload;
        switch (packet.Protocol)
        {
            case IpProtocols.Tcp:
                {
                    if (l4.Length < 20)
                    {
                        return false;
                    }

                    int dataOffset = (l4[12] >> 4) * 4;
                    if (dataOffset < 20 || l4.Length < dataOffset)
                    {
                        return false;
                    }

                    packet.SourcePort = BinaryPrimitives.ReadUInt16BigEndian(l4);
                    packet.DestinationPort = BinaryPrimitives.ReadUInt16BigEndian(l4[2..]);
                    packet.Sequence = BinaryPrimitives.ReadUInt32BigEndian(l4[4..]);
                    packet.Acknowledgment = BinaryPrimitives.ReadUInt32BigEndian(l4[8..]);
                    packet.Flags = (TcpFlags)(l4[13] & 0x3F);
                    packet.Window = BinaryPrimitives.ReadUInt16BigEndian(l4[14..]);
                    if ((packet.Flags & TcpFlags.Syn) != 0 && dataOffset > 20)
                    {
                        packet.Mss = ReadMss(l4[20..dataOffset]);
                    }

                    packet.Payload = l4[dataOffset..];
                    packet.PayloadWireLength = Math.Max(wireLength - dataOffset, packet.Payload.Length);
                    return true;
                }

            case IpProtocols.Udp:
                {
                    if (l4.Length < 8)
                    {
                        return false;
                    }

                    packet.SourcePort = BinaryPrimitives.ReadUInt16BigEndian(l4);
                    packet.DestinationPort = BinaryPrimitives.ReadUInt16BigEndian(l4[2..]);
                    int udpLength = BinaryPrimitives.ReadUInt16BigEndian(l4[4..]);
                    int payloadWire = udpLength >= 8 ? udpLength - 8 : wireLength - 8;
                    packet.Payload = l4[8..Math.Min(l4.Length, 8 + Math.Max(payloadWire, 0))];
                    packet.PayloadWireLength = Math.Max(payloadWire, packet.Payload.Length);
                    return true;
                }

            case IpProtocols.Icmp:
            case IpProtocols.Icmpv6:
                if (l4.Length < 8)
                {
                    return false;
                }

                packet.IcmpType = l4[0];
                packet.IcmpCode = l4[1];
                packet.IcmpBody = l4[4..];
                return true;

            default:
                return false;
        }
    }

    /// <summary>MSS option (kind 2, length 4) from a SYN's options (RFC 9293 §3.2).</summary>
    private static ushort ReadMss(ReadOnlySpan<byte> options)
    {
        int i = 0;
        while (i < options.Length)
        {
            byte kind = options[i];
            if (kind == 0)
            {
                break;
            }

            if (kind == 1)
            {
                i++;
                continue;
            }

            if (i + 1 >= options.Length)
            {
                break;
            }

            int len = options[i + 1];
            if (len < 2 || i + len > options.Length)
            {
                break;
            }

            if (kind == 2 && len == 4)
            {
                return BinaryPrimitives.ReadUInt16BigEndian(options[(i + 2)..]);
            }

            i += len;
        }

        return 0;
    }
}
