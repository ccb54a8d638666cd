using System.Text;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.Protocol;

public sealed class ByteSnifferTests
{
    public static TheoryData<string, byte[], SniffKind> Cases => new()
    {
        // TPKT(03 00 00 13) LI 0E, CC D0, DST-REF, SRC-REF 12 34, class 0, RDP_NEG_RSP selecting HYBRID_EX (MS-RDPBCGR 2.2.1.2)
        { "connection confirm", Convert.FromHexString("030000130ED00000123400021F080008000000"), SniffKind.X224ConnectionConfirm },
        // xrdp's answer to RDSAAD: TPKT len 9, X.224 DT (02 F0 80), MCS DPUM reason user-requested (21 80)
        { "xrdp DPUM", Convert.FromHexString("0300000902F0802180"), SniffKind.McsDisconnectProviderUltimatum },
        // X.224 DT carrying an MCS Connect-Response (7F 66): MCS where a CC was due
        { "x224 data", Convert.FromHexString("0300000C02F0807F66000000"), SniffKind.X224Data },
        { "x224 disconnect request", Convert.FromHexString("0300000B06800000123400"), SniffKind.X224DisconnectRequest },
        { "x224 error", Convert.FromHexString("0300000B06700000123400"), SniffKind.X224Error },
        { "tpkt too small", Convert.FromHexString("03000004"), SniffKind.TpktBadLength },
        { "tpkt oversized", Convert.FromHexString("0300FFFF02F080"), SniffKind.TpktBadLength },
        { "tpkt unknown code", Convert.FromHexString("0300000B06100000000000"), SniffKind.TpktOther },
        // TLS record: handshake (22), version 3.3, length 0x0050, ServerHello (2)
        { "tls server hello", Convert.FromHexString("1603030050020000"), SniffKind.TlsHandshake },
        { "tls alert", Convert.FromHexString("15030100020228"), SniffKind.TlsAlert },
        { "tls application data", Convert.FromHexString("1703030010"), SniffKind.TlsOther },
        { "http", Encoding.ASCII.GetBytes("HTTP/1.1 400 Bad Request\r\nServer: nginx\r\n\r\n"), SniffKind.HttpResponse },
        { "ssh", Encoding.ASCII.GetBytes("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"), SniffKind.SshBanner },
        { "smtp", Encoding.ASCII.GetBytes("220 mail.example.com ESMTP Postfix\r\n"), SniffKind.TextBanner },
        { "garbage", [0xDE, 0xAD, 0xBE, 0xEF, 0x00, 0x01], SniffKind.Garbage },
        { "tls-looking but wrong major", [0x16, 0x09, 0x01], SniffKind.Garbage },
        { "empty", [], SniffKind.Empty },
        { "one tpkt byte", [0x03], SniffKind.NeedMoreData },
        { "tpkt header only", [0x03, 0x00, 0x00, 0x13], SniffKind.NeedMoreData },
        { "tls start", [0x16, 0x03], SniffKind.NeedMoreData },
        { "start of HTTP", Encoding.ASCII.GetBytes("HT"), SniffKind.NeedMoreData },
        { "dt header without MCS byte", Convert.FromHexString("0300000902F080"), SniffKind.NeedMoreData },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Classifies(string what, byte[] data, SniffKind expected)
    {
        var result = ByteSniffer.Classify(data);
        Assert.True(expected == result.Kind, $"{what}: expected {expected}, got {result.Kind} ({result.Description})");
        Assert.False(string.IsNullOrWhiteSpace(result.Description));
    }

    [Fact]
    public void Xrdp_dpum_constant_is_classified_with_its_reason()
    {
        var result = ByteSniffer.Classify(ByteSniffer.XrdpDisconnectProviderUltimatum);
        Assert.Equal(SniffKind.McsDisconnectProviderUltimatum, result.Kind);
        Assert.Contains("user-requested", result.Description);
        Assert.Equal("mcs_disconnect_provider_ultimatum", result.Code);
    }

    [Fact]
    public void Banners_are_quoted_printable_and_short()
    {
        byte[] hostile = Encoding.ASCII.GetBytes("HTTP/1.1 200 " + new string('A', 500) + "\r\n");
        hostile[14] = 0x1B; // an escape character inside the line
        var result = ByteSniffer.Classify(hostile);
        Assert.Equal(SniffKind.HttpResponse, result.Kind);
        Assert.DoesNotContain('\u001b', result.Description);
        Assert.True(result.Description.Length < 120);
    }

    [Fact]
    public void Other_protocols_are_flagged()
    {
        Assert.True(ByteSniffer.Classify(Encoding.ASCII.GetBytes("SSH-2.0-x\r\n")).IsOtherProtocol);
        Assert.False(ByteSniffer.Classify(ByteSniffer.XrdpDisconnectProviderUltimatum).IsOtherProtocol);
    }

    [Fact]
    public void Every_prefix_of_a_confirm_needs_more_data_or_is_a_confirm()
    {
        byte[] cc = X224.EncodeConnectionConfirm(new X224ConnectionConfirm(0x1234, new NegotiationMessage(NegotiationType.Response, 0x1F, 8)));
        for (int i = 1; i <= cc.Length; i++)
        {
            var kind = ByteSniffer.Classify(cc.AsSpan(0, i)).Kind;
            Assert.True(kind is SniffKind.NeedMoreData or SniffKind.X224ConnectionConfirm, $"prefix {i}: {kind}");
        }
    }
}
