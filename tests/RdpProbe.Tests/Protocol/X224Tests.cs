using System.Buffers;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.Protocol;

public sealed class X224Tests
{
    // MS-RDPBCGR 4.1.1 shape: TPKT(4) LI E0 dst(2) src(2) class, cookie + CR LF, RDP_NEG_REQ.
    private static readonly byte[] CookieRequest = Convert.FromHexString(
        "0300002A" + "25E00000000000" +
        "436F6F6B69653A206D737473686173683D75736572" + "0D0A" +
        "010008000B000000");

    // TPKT, LI=14, CC, dst 0, src 0x1234, class 0, RDP_NEG_FAILURE code 5.
    private static readonly byte[] FailureConfirm = Convert.FromHexString("03000013" + "0ED00000123400" + "0300080005000000");

    [Fact]
    public void Reads_cookie_and_requested_protocols()
    {
        Assert.Equal(OperationStatus.Done, X224.TryReadConnectionRequest(CookieRequest, out var cr, out int used, out _));
        Assert.Equal(CookieRequest.Length, used);
        Assert.Equal("user", cr!.Cookie);
        Assert.Equal(SecurityProtocols.Ssl | SecurityProtocols.Hybrid | SecurityProtocols.HybridEx, cr.RequestedProtocols);
    }

    [Fact]
    public void Writes_what_it_reads()
    {
        var request = new X224ConnectionRequest("user", null, new NegotiationMessage(NegotiationType.Request, 0, 0x0B), null);
        Assert.Equal(CookieRequest, X224.EncodeConnectionRequest(request));
    }

    [Fact]
    public void Every_prefix_needs_more_data()
    {
        for (int i = 0; i < CookieRequest.Length; i++)
        {
            Assert.Equal(OperationStatus.NeedMoreData, X224.TryReadConnectionRequest(CookieRequest.AsSpan(0, i), out _, out int used, out _));
            Assert.Equal(0, used);
        }
    }

    [Fact]
    public void Reads_failure_code()
    {
        Assert.Equal(OperationStatus.Done, X224.TryReadConnectionConfirm(FailureConfirm, out var cc, out _, out _));
        Assert.Equal(NegotiationFailureCode.HybridRequiredByServer, cc!.FailureCode);
        Assert.Equal((ushort)0x1234, cc.SourceReference);
    }
}
