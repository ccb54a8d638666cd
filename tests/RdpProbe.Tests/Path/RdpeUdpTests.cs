using System.Buffers;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.NetPath;

public sealed class RdpeUdpTests
{
    // MS-RDPEUDP 4.1.2 SYN+ACK example, first 16 bytes: snSourceAck 0x42, window 0x0400, SYN|ACK, ISN 0x42, MTUs 1232/1232.
    private static readonly byte[] SpecSynAck = Convert.FromHexString(
        "00000042" + "0400" + "0005" +
        "00000042" + "04D0" + "04D0");

    // Client SYN with every optional part a probe can send: CORRELATION_ID and SYNEX (V2).
    private static readonly byte[] FullSyn = Convert.FromHexString(
        "FFFFFFFF" + "0040" + "1801" +                          // snSourceAck -1, window 64, SYN|CORRELATION_ID|SYNEX
        "12345678" + "04D0" + "046C" +                          // ISN, up 1232, down 1132
        "000102030405060708090A0B0C0D0E0F" + new string('0', 32) + // uCorrelationId + 16 reserved
        "0001" + "0002");                                       // VERSION_INFO_VALID, V2

    [Fact]
    public void Reads_the_spec_syn_ack_field_by_field()
    {
        Assert.Equal(OperationStatus.Done, RdpeUdp.TryReadSyn(SpecSynAck, out var d, out int used, out _));
        Assert.Equal(16, used);
        Assert.Equal(0x42u, d!.Header.SnSourceAck);
        Assert.Equal((ushort)0x0400, d.Header.UReceiveWindowSize);
        Assert.Equal(RdpUdpFlags.Syn | RdpUdpFlags.Ack, d.Header.UFlags);
        Assert.Equal(0x42u, d.SynData.SnInitialSequenceNumber);
        Assert.Equal((ushort)1232, d.SynData.UUpStreamMtu);
        Assert.Equal((ushort)1232, d.SynData.UDownStreamMtu);
        Assert.True(d.IsSynAck);
        Assert.True(d.Acknowledges(0x42));
        Assert.False(d.Acknowledges(0x43));
        Assert.Null(d.Version);
        Assert.Equal(RdpUdpVersion.V1, d.EffectiveVersion);
    }

    [Fact]
    public void Reads_a_real_world_syn_ack()
    {
        // A SYN+ACK published by a scanner (docs.binaryedge.io rdpeudp module): ack 0, window 64, ISN 0x98aeca6a.
        var bytes = Convert.FromHexString("000000000040000598aeca6a04d004d0");
        Assert.Equal(OperationStatus.Done, RdpeUdp.TryReadSyn(bytes, out var d, out _, out _));
        Assert.True(d!.Acknowledges(0));
        Assert.Equal(0x98aeca6au, d.SynData.SnInitialSequenceNumber);
    }

    [Fact]
    public void Reads_correlation_id_and_version()
    {
        Assert.Equal(OperationStatus.Done, RdpeUdp.TryReadSyn(FullSyn, out var d, out int used, out _));
        Assert.Equal(FullSyn.Length, used);
        Assert.Equal(RdpUdpFecHeader.SynSourceAck, d!.Header.SnSourceAck);
        Assert.False(d.IsSynAck);
        Assert.Equal(0x12345678u, d.SynData.SnInitialSequenceNumber);
        Assert.Equal((ushort)1132, d.SynData.UDownStreamMtu);
        Assert.Equal(Convert.FromHexString("000102030405060708090A0B0C0D0E0F"), d.CorrelationId);
        Assert.Equal(RdpUdpSynExFlags.VersionInfoValid, d.SynExFlags);
        Assert.Equal(RdpUdpVersion.V2, d.Version);
        Assert.Null(d.CookieHash);
    }

    [Fact]
    public void Writer_pads_to_1232_and_round_trips()
    {
        var syn = RdpeUdp.CreateClientSyn(0x12345678, RdpUdpVersion.V2, Convert.FromHexString("000102030405060708090A0B0C0D0E0F"), mtu: 1232);
        byte[] bytes = RdpeUdp.Encode(syn);
        Assert.Equal(RdpeUdp.PaddedSize, bytes.Length);
        Assert.All(bytes[RdpeUdp.GetStructuredLength(syn)..], b => Assert.Equal(0, b));
        Assert.Equal(FullSyn[..12], bytes[..12]);
        Assert.Equal(OperationStatus.Done, RdpeUdp.TryReadSyn(bytes, out var back, out int used, out _));
        Assert.Equal(52, used);
        Assert.Equal(syn.Header, back!.Header);
        Assert.Equal(syn.SynData, back.SynData);
        Assert.Equal(syn.CorrelationId, back.CorrelationId);
        Assert.Equal(syn.Version, back.Version);
    }

    [Fact]
    public void Plain_v1_syn_is_16_bytes_before_padding()
    {
        var syn = RdpeUdp.CreateClientSyn(7, version: null);
        Assert.Equal(RdpUdpFlags.Syn, syn.Header.UFlags);
        Assert.Equal(16, RdpeUdp.GetStructuredLength(syn));
        Assert.Equal(16, RdpeUdp.Encode(syn, padTo: 0).Length);
        Assert.Equal(Convert.FromHexString("FFFFFFFF00400001" + "0000000704D004D0"), RdpeUdp.Encode(syn, padTo: 0));
    }

    [Fact]
    public void V3_client_syn_carries_the_cookie_hash()
    {
        byte[] hash = Enumerable.Range(0, 32).Select(i => (byte)(0xA0 + i)).ToArray();
        var syn = new RdpUdpSynDatagram(
            new RdpUdpFecHeader(RdpUdpFecHeader.SynSourceAck, 64, RdpUdpFlags.Syn | RdpUdpFlags.SynEx),
            new RdpUdpSynData(1, 1232, 1232), null, RdpUdpSynExFlags.VersionInfoValid, RdpUdpVersion.V3, hash);
        byte[] bytes = RdpeUdp.Encode(syn);
        Assert.Equal(OperationStatus.Done, RdpeUdp.TryReadSyn(bytes, out var back, out int used, out _));
        Assert.Equal(8 + 8 + 4 + 32, used);
        Assert.Equal(hash, back!.CookieHash);

        // The same version in a SYN+ACK has no cookie hash (MS-RDPEUDP 2.2.2.9).
        var ack = syn with { Header = syn.Header with { SnSourceAck = 1, UFlags = RdpUdpFlags.Syn | RdpUdpFlags.Ack | RdpUdpFlags.SynEx }, CookieHash = null };
        Assert.Equal(OperationStatus.Done, RdpeUdp.TryReadSyn(RdpeUdp.Encode(ack), out var backAck, out used, out _));
        Assert.Equal(20, used);
        Assert.Null(backAck!.CookieHash);
    }

    [Fact]
    public void Every_prefix_needs_more_data()
    {
        foreach (var whole in new[] { SpecSynAck, FullSyn })
        {
            for (int i = 0; i < whole.Length; i++)
            {
                Assert.Equal(OperationStatus.NeedMoreData, RdpeUdp.TryReadSyn(whole.AsSpan(0, i), out var v, out int used, out _));
                Assert.Equal(0, used);
                Assert.Null(v);
            }
        }
    }

    [Theory]
    [InlineData("FFFFFFFF00400004" + "0000000104D004D0", DecodeError.UnexpectedType)] // ACK without SYN
    [InlineData("0000000100400001" + "0000000104D004D0", DecodeError.BadValue)]       // client SYN with snSourceAck != -1
    [InlineData("FFFFFFFF00400001" + "0000000104D1 04D0", DecodeError.BadValue)]      // up MTU 1233
    [InlineData("FFFFFFFF00400001" + "00000001046B04D0", DecodeError.BadValue)]       // up MTU 1131
    [InlineData("0000000100400005" + "0000000104D00000", DecodeError.BadValue)]       // down MTU 0
    public void Malformed_datagrams_are_invalid(string hex, DecodeError expected)
    {
        var bytes = Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));
        Assert.Equal(OperationStatus.InvalidData, RdpeUdp.TryReadSyn(bytes, out var v, out int used, out var error));
        Assert.Equal(expected, error);
        Assert.Equal(0, used);
        Assert.Null(v);
    }

    [Fact]
    public void Synex_without_version_valid_flag_means_v1()
    {
        var bytes = Convert.FromHexString("0000000100401005" + "0000000204D004D0" + "0000" + "0002");
        Assert.Equal(OperationStatus.Done, RdpeUdp.TryReadSyn(bytes, out var d, out int used, out _));
        Assert.Equal(20, used);
        Assert.Null(d!.Version);
        Assert.Equal(RdpUdpVersion.V1, d.EffectiveVersion);
    }

    [Fact]
    public void Writer_rejects_inconsistent_datagrams()
    {
        Assert.Throws<ArgumentException>(() => RdpeUdp.CreateClientSyn(1, RdpUdpVersion.V2, new byte[15]));
        Assert.Throws<ArgumentException>(() => RdpeUdp.CreateClientSyn(1, RdpUdpVersion.V3));
        var noId = new RdpUdpSynDatagram(new RdpUdpFecHeader(RdpUdpFecHeader.SynSourceAck, 64, RdpUdpFlags.Syn | RdpUdpFlags.CorrelationId), new RdpUdpSynData(1, 1232, 1232));
        Assert.Throws<ArgumentException>(() => RdpeUdp.Encode(noId));
    }
}
