using System.Buffers.Binary;

namespace RdpProbe.Relay;

/// <summary>
/// Fills in the checksums of the IPv4/TCP/UDP packet inside a VXLAN datagram (RFC 7348: 8-byte VXLAN header, then an
/// Ethernet frame). Needed because a veth never completes checksum offload: a packet the kernel left CHECKSUM_PARTIAL
/// reaches a user-space relay with only the pseudo-header sum in its checksum field, and the far end would drop it.
/// Recomputing is always correct, so it is applied to every datagram of a --vxlan mapping.
/// </summary>
public static class InnerChecksums
{
    private const int VxlanHeader = 8;
    private const int EthernetHeader = 14;

    /// <summary>Returns true when an inner IPv4 TCP or UDP checksum was rewritten.</summary>
    public static bool FixVxlan(Span<byte> datagram)
    {
        if (datagram.Length < VxlanHeader + EthernetHeader + 20 || (datagram[0] & 0x08) == 0)
        {
            return false;
        }

        var frame = datagram[VxlanHeader..];
        int etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[12..]);
        int offset = EthernetHeader;
        if (etherType == 0x8100 && frame.Length >= EthernetHeader + 4)
        {
            etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[16..]);
            offset += 4;
        }

        return etherType == 0x0800 && FixIpv4(frame[offset..]);
    }

    public static bool FixIpv4(Span<byte> ip)
    {
        if (ip.Length < 20 || ip[0] >> 4 != 4)
        {
            return false;
        }

        int headerLength = (ip[0] & 0x0F) * 4;
        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
        // Fragments other than the first carry no transport header; a truncated packet is left alone.
        bool fragment = (BinaryPrimitives.ReadUInt16BigEndian(ip[6..]) & 0x1FFF) != 0 || (ip[6] & 0x20) != 0;
        if (headerLength < 20 || totalLength > ip.Length || totalLength < headerLength || fragment)
        {
            return false;
        }

        var segment = ip[headerLength..totalLength];
        int checksumOffset = ip[9] switch { 6 => 16, 17 => 6, _ => -1 };
        if (checksumOffset < 0 || segment.Length < checksumOffset + 2)
        {
            return false;
        }

        if (ip[9] == 17 && BinaryPrimitives.ReadUInt16BigEndian(segment[6..]) == 0)
        {
            // A zero UDP checksum means "none" (RFC 768): leave it.
            return false;
        }

        segment[checksumOffset] = 0;
        segment[checksumOffset + 1] = 0;
        ulong sum = 0;
        sum += BinaryPrimitives.ReadUInt16BigEndian(ip[12..]) + (uint)BinaryPrimitives.ReadUInt16BigEndian(ip[14..]);
        sum += BinaryPrimitives.ReadUInt16BigEndian(ip[16..]) + (uint)BinaryPrimitives.ReadUInt16BigEndian(ip[18..]);
        sum += ip[9];
        sum += (uint)segment.Length;
        int i = 0;
        for (; i + 1 < segment.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(segment[i..]);
        }

        if (i < segment.Length)
        {
            sum += (uint)(segment[i] << 8);
        }

        while (sum >> 16 != 0)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        ushort checksum = (ushort)~sum;
        if (ip[9] == 17 && checksum == 0)
        {
            checksum = 0xFFFF;
        }

        BinaryPrimitives.WriteUInt16BigEndian(segment[checksumOffset..], checksum);
        return true;
    }
}
