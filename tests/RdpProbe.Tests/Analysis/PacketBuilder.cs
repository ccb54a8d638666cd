using System.Buffers.Binary;

namespace RdpProbe.Tests.Analysis;

/// <summary>Builds frames field by field for decoder and analyzer tests (checksums are not checked by the analyzer, so they stay 0).</summary>
internal static class PacketBuilder
{
    public static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    public static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", ""));

    /// <summary>Ethernet II: destination MAC, source MAC, EtherType.</summary>
    public static byte[] Ethernet(ushort etherType) => Concat(Hex("02 00 00 00 00 02"), Hex("02 00 00 00 00 01"), Be16(etherType));

    /// <summary>802.1Q / 802.1ad tag as it follows the outer EtherType: TCI (PCP/DEI/VID) then the inner EtherType.</summary>
    public static byte[] VlanTag(ushort vid, ushort innerEtherType) => Concat(Be16(vid), Be16(innerEtherType));

    public static byte[] Ipv4(string source, string destination, byte protocol, int payloadLength, ushort id = 1, bool moreFragments = false, int fragmentOffset = 0)
    {
        var h = new byte[20];
        h[0] = 0x45;                                           // version 4, IHL 5
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(2), (ushort)(20 + payloadLength));
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(4), id);
        ushort flags = (ushort)((moreFragments ? 0x2000 : 0) | (fragmentOffset / 8));
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(6), flags);
        h[8] = 64;                                             // TTL
        h[9] = protocol;
        System.Net.IPAddress.Parse(source).GetAddressBytes().CopyTo(h, 12);
        System.Net.IPAddress.Parse(destination).GetAddressBytes().CopyTo(h, 16);
        return h;
    }

    public static byte[] Ipv6(string source, string destination, byte nextHeader, int payloadLength)
    {
        var h = new byte[40];
        h[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(4), (ushort)payloadLength);
        h[6] = nextHeader;
        h[7] = 64;
        System.Net.IPAddress.Parse(source).GetAddressBytes().CopyTo(h, 8);
        System.Net.IPAddress.Parse(destination).GetAddressBytes().CopyTo(h, 24);
        return h;
    }

    /// <summary>TCP header, 20 bytes, or 24 with an MSS option when <paramref name="mss"/> is set.</summary>
    public static byte[] Tcp(ushort sourcePort, ushort destinationPort, uint seq, uint ack, byte flags, ushort window = 64000, ushort mss = 0)
    {
        int length = mss != 0 ? 24 : 20;
        var h = new byte[length];
        BinaryPrimitives.WriteUInt16BigEndian(h, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(2), destinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(4), seq);
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(8), ack);
        h[12] = (byte)((length / 4) << 4);
        h[13] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(14), window);
        if (mss != 0)
        {
            h[20] = 2;                                         // kind MSS
            h[21] = 4;
            BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(22), mss);
        }

        return h;
    }

    public static byte[] Udp(ushort sourcePort, ushort destinationPort, int payloadLength)
    {
        var h = new byte[8];
        BinaryPrimitives.WriteUInt16BigEndian(h, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(2), destinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(4), (ushort)(8 + payloadLength));
        return h;
    }

    /// <summary>A whole IPv4/TCP packet (no link layer).</summary>
    public static byte[] Ipv4Tcp(string src, ushort sport, string dst, ushort dport, uint seq, uint ack, byte flags, byte[]? payload = null, ushort window = 64000)
    {
        payload ??= [];
        var tcp = Tcp(sport, dport, seq, ack, flags, window);
        return Concat(Ipv4(src, dst, 6, tcp.Length + payload.Length), tcp, payload);
    }

    public static byte[] Be16(ushort v)
    {
        var b = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(b, v);
        return b;
    }

    public static byte[] Be32(uint v)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, v);
        return b;
    }

    public const byte Fin = 0x01, Syn = 0x02, Rst = 0x04, Psh = 0x08, Ack = 0x10;
}
