using RdpProbe.Analysis;
using static RdpProbe.Tests.Analysis.PacketBuilder;

namespace RdpProbe.Tests.Analysis;

public sealed class FrameDecoderTests
{
    private static readonly byte[] Payload = Hex("03 00 00 13 0E E0 00 00 00 00 00 01 00 08 00 03 00 00 00");

    private static byte[] ClientCr() => Ipv4Tcp("198.51.100.7", 50312, "192.0.2.10", 3389, 1000, 2000, Psh | Ack, Payload);

    private static void AssertClientCr(in DecodedPacket p)
    {
        Assert.Equal(4, p.IpVersion);
        Assert.Equal("198.51.100.7", p.Source.ToString());
        Assert.Equal("192.0.2.10", p.Destination.ToString());
        Assert.Equal(IpProtocols.Tcp, p.Protocol);
        Assert.Equal(50312, p.SourcePort);
        Assert.Equal(3389, p.DestinationPort);
        Assert.Equal(1000u, p.Sequence);
        Assert.Equal(2000u, p.Acknowledgment);
        Assert.Equal(TcpFlags.Psh | TcpFlags.Ack, p.Flags);
        Assert.Equal(Payload, p.Payload.ToArray());
        Assert.Equal(Payload.Length, p.PayloadWireLength);
    }

    [Fact]
    public void Ethernet_ipv4_tcp()
    {
        var frame = Concat(Ethernet(0x0800), ClientCr());
        Assert.True(FrameDecoder.TryDecode(LinkTypes.Ethernet, frame, out var p));
        AssertClientCr(p);
    }

    [Fact]
    public void Ethernet_padding_after_a_short_ip_packet_is_not_payload()
    {
        // A bare ACK is 40 bytes of IP; Ethernet pads the frame to 60 bytes (+FCS-less), i.e. 6 bytes of zeros.
        var ack = Ipv4Tcp("198.51.100.7", 50312, "192.0.2.10", 3389, 1000, 2000, Ack);
        var frame = Concat(Ethernet(0x0800), ack, new byte[6]);
        Assert.True(FrameDecoder.TryDecode(LinkTypes.Ethernet, frame, out var p));
        Assert.Equal(0, p.Payload.Length);
        Assert.Equal(0, p.PayloadWireLength);
    }

    [Fact]
    public void Vlan_8021q_and_qinq()
    {
        var single = Concat(Ethernet(0x8100), VlanTag(77, 0x0800), ClientCr());
        Assert.True(FrameDecoder.TryDecode(LinkTypes.Ethernet, single, out var p1));
        AssertClientCr(p1);

        var qinq = Concat(Ethernet(0x88A8), VlanTag(100, 0x8100), VlanTag(1308, 0x0800), ClientCr());
        Assert.True(FrameDecoder.TryDecode(LinkTypes.Ethernet, qinq, out var p2));
        AssertClientCr(p2);
    }

    [Fact]
    public void Linux_cooked_v1_and_v2()
    {
        // SLL: packet type(2) ARPHRD(2) address length(2) address(8) protocol(2).
        var sll = Concat(Hex("0000 0001 0006"), Hex("020000000001 0000"), Be16(0x0800), ClientCr());
        Assert.True(FrameDecoder.TryDecode(LinkTypes.LinuxSll, sll, out var p1));
        AssertClientCr(p1);

        // SLL2: protocol(2) reserved(2) ifindex(4) ARPHRD(2) packet type(1) address length(1) address(8).
        var sll2 = Concat(Be16(0x0800), Hex("0000"), Hex("00000002"), Hex("0001"), Hex("00"), Hex("06"), Hex("020000000001 0000"), ClientCr());
        Assert.True(FrameDecoder.TryDecode(LinkTypes.LinuxSll2, sll2, out var p2));
        AssertClientCr(p2);
    }

    [Theory]
    [InlineData(LinkTypes.Null, "02000000")]   // AF_INET, little-endian host order
    [InlineData(LinkTypes.Null, "00000002")]   // the same written on a big-endian host
    [InlineData(LinkTypes.Loop, "00000002")]
    public void Bsd_loopback(int linkType, string family)
    {
        var frame = Concat(Hex(family), ClientCr());
        Assert.True(FrameDecoder.TryDecode(linkType, frame, out var p));
        AssertClientCr(p);
    }

    [Theory]
    [InlineData(LinkTypes.Raw)]
    [InlineData(LinkTypes.Ipv4)]
    [InlineData(LinkTypes.RawBsd)]
    public void Raw_ip(int linkType)
    {
        Assert.True(FrameDecoder.TryDecode(linkType, ClientCr(), out var p));
        AssertClientCr(p);
    }

    [Fact]
    public void Ipv6_with_hop_by_hop_and_destination_options()
    {
        var tcp = Concat(Tcp(50312, 3389, 7, 9, Syn, mss: 1220));
        // Hop-by-hop (next = 60, len 0 → 8 bytes), destination options (next = 6, len 0 → 8 bytes), then TCP.
        var hbh = Hex("3C 00 01 04 00 00 00 00");
        var dst = Hex("06 00 01 04 00 00 00 00");
        var packet = Concat(Ipv6("2001:db8::7", "2001:db8::10", 0, hbh.Length + dst.Length + tcp.Length), hbh, dst, tcp);
        Assert.True(FrameDecoder.TryDecode(LinkTypes.Ipv6, packet, out var p));
        Assert.Equal(6, p.IpVersion);
        Assert.Equal("2001:db8::7", p.Source.ToString());
        Assert.Equal(IpProtocols.Tcp, p.Protocol);
        Assert.Equal(TcpFlags.Syn, p.Flags);
        Assert.Equal(1220, p.Mss);
        Assert.Equal(40 + 16 + 24, p.IpLength);
    }

    [Fact]
    public void Ipv4_fragment_is_reported_not_decoded()
    {
        var first = Concat(Ipv4("10.0.0.1", "10.0.0.2", 17, 16, id: 0x4242, moreFragments: true), new byte[16]);
        Assert.True(FrameDecoder.TryDecode(LinkTypes.Raw, first, out var p1));
        Assert.True(p1.IsFragment);
        Assert.True(p1.MoreFragments);
        Assert.Equal(0, p1.FragmentOffset);
        Assert.Equal(0x4242u, p1.FragmentId);

        var last = Concat(Ipv4("10.0.0.1", "10.0.0.2", 17, 8, id: 0x4242, fragmentOffset: 16), new byte[8]);
        Assert.True(FrameDecoder.TryDecode(LinkTypes.Raw, last, out var p2));
        Assert.True(p2.IsFragment);
        Assert.False(p2.MoreFragments);
        Assert.Equal(16, p2.FragmentOffset);
    }

    [Fact]
    public void Ipv6_fragment_header()
    {
        // Fragment header: next header UDP, reserved, offset 0 with M=1, identification 0x01020304.
        var frag = Hex("11 00 00 01 01 02 03 04");
        var packet = Concat(Ipv6("2001:db8::7", "2001:db8::10", 44, frag.Length + 16), frag, new byte[16]);
        Assert.True(FrameDecoder.TryDecode(LinkTypes.Raw, packet, out var p));
        Assert.True(p.IsFragment);
        Assert.True(p.MoreFragments);
        Assert.Equal(IpProtocols.Udp, p.Protocol);
        Assert.Equal(0x01020304u, p.FragmentId);
        Assert.Equal(16, p.IpPayload.Length);
    }

    [Fact]
    public void Udp_and_icmp()
    {
        var udp = Concat(Ipv4("10.0.0.1", "10.0.0.2", 17, 8 + 4), Udp(55000, 3389, 4), Hex("FFFFFFFF"));
        Assert.True(FrameDecoder.TryDecode(LinkTypes.Raw, udp, out var u));
        Assert.Equal(3389, u.DestinationPort);
        Assert.Equal(4, u.Payload.Length);

        // ICMP type 3 code 4 with next-hop MTU 1400 in bytes 6-7.
        var icmp = Concat(Ipv4("10.0.0.254", "10.0.0.2", 1, 8), Hex("03 04 0000 0000 0578"));
        Assert.True(FrameDecoder.TryDecode(LinkTypes.Raw, icmp, out var i));
        Assert.Equal(3, i.IcmpType);
        Assert.Equal(4, i.IcmpCode);
        Assert.Equal(Hex("0000 0578"), i.IcmpBody.ToArray());
    }

    [Fact]
    public void Snap_length_cut_keeps_the_wire_length()
    {
        var whole = ClientCr();
        var cut = whole[..(whole.Length - 10)];
        Assert.True(FrameDecoder.TryDecode(LinkTypes.Raw, cut, out var p));
        Assert.Equal(Payload.Length - 10, p.Payload.Length);
        Assert.Equal(Payload.Length, p.PayloadWireLength);
    }

    [Theory]
    [InlineData(LinkTypes.Ethernet, "")]
    [InlineData(LinkTypes.Ethernet, "0200000000020200000000010800")]        // Ethernet header, nothing after it
    [InlineData(LinkTypes.Ethernet, "0200000000020200000000010806 0001")]   // ARP
    [InlineData(LinkTypes.Raw, "45")]
    [InlineData(LinkTypes.Raw, "4F000014")]                                  // IHL 15 but 4 bytes
    [InlineData(LinkTypes.Raw, "60")]
    [InlineData(LinkTypes.LinuxSll, "0000")]
    [InlineData(LinkTypes.Null, "07000000 45")]                              // unknown address family
    [InlineData(147, "45000014")]                                            // a link type the analyzer does not read
    public void Malformed_or_foreign_frames_are_rejected_without_throwing(int linkType, string hex)
    {
        Assert.False(FrameDecoder.TryDecode(linkType, Hex(hex), out _));
    }

    [Fact]
    public void Every_prefix_of_a_frame_decodes_or_fails_cleanly()
    {
        var frame = Concat(Ethernet(0x8100), VlanTag(5, 0x86DD), Ipv6("2001:db8::1", "2001:db8::2", 6, 20 + Payload.Length), Tcp(1, 3389, 1, 1, Ack), Payload);
        for (int n = 0; n <= frame.Length; n++)
        {
            FrameDecoder.TryDecode(LinkTypes.Ethernet, frame.AsSpan(0, n), out _);
        }

        Assert.True(FrameDecoder.TryDecode(LinkTypes.Ethernet, frame, out var p));
        Assert.Equal(Payload, p.Payload.ToArray());
    }
}
