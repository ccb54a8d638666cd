using System.Buffers;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.Protocol;

public sealed class ShareControlTests
{
    [Fact]
    public void Set_error_info_round_trip()
    {
        // Share Control (totalLength 0x16, pduType 0x17, source 0x03EA), Share Data header, errorInfo 7.
        var pdu = ShareControl.EncodeSetErrorInfo(0x000103EA, 0x03EA, 7);
        Assert.Equal(Convert.FromHexString("16001700EA03" + "EA030100" + "00" + "01" + "0800" + "2F" + "00" + "0000" + "07000000"), pdu);
        Assert.Equal(OperationStatus.Done, ShareControl.TryRead(pdu, out var control, out int used, out _));
        Assert.Equal(pdu.Length, used);
        Assert.Equal(ShareControlPduType.Data, control!.Type);
        Assert.Equal(OperationStatus.Done, ShareControl.TryReadData(control.Body, out var data, out _));
        Assert.Equal(ShareDataPduType.SetErrorInfo, data!.Type);
        Assert.True(ShareControl.TryReadErrorInfo(data.Payload, out uint code));
        Assert.Equal(7u, code);
    }

    [Fact]
    public void Demand_active_round_trip_and_summary()
    {
        var pdu = ShareControl.EncodeDemandActive(0x103EA, 0x03EA, "RDP", Capabilities.Minimal(1, 1280, 800, 32), 5);
        Assert.Equal(OperationStatus.Done, ShareControl.TryRead(pdu, out var control, out _, out _));
        Assert.Equal(ShareControlPduType.DemandActive, control!.Type);
        Assert.Equal(OperationStatus.Done, ShareControl.TryReadDemandActive(control.Body, out var demand, out _));
        Assert.Equal("RDP", demand!.SourceDescriptor);
        Assert.Equal(5u, demand.SessionId);
        var summary = Capabilities.Summarize(demand.Capabilities);
        Assert.Equal((1280, 800, 32, "windows"), (summary.DesktopWidth, summary.DesktopHeight, summary.PreferredBitsPerPixel, summary.OsType));
        Assert.Equal(["general", "bitmap"], summary.Sets);
        Assert.Contains("desktop 1280x800 at 32 bpp", summary.Describe(), StringComparison.Ordinal);
    }

    [Fact]
    public void Every_prefix_needs_more_data()
    {
        var pdu = ShareControl.EncodeSetErrorInfo(1, 1, 7);
        for (int i = 0; i < pdu.Length; i++)
        {
            Assert.Equal(OperationStatus.NeedMoreData, ShareControl.TryRead(pdu.AsSpan(0, i), out _, out int used, out _));
            Assert.Equal(0, used);
        }
    }

    [Fact]
    public void Flow_pdu_is_recognised()
    {
        Assert.Equal(OperationStatus.Done, ShareControl.TryRead(Convert.FromHexString("0080410000000000"), out var pdu, out int used, out _));
        Assert.True(pdu!.IsFlow);
        Assert.Equal(8, used);
    }

    [Fact]
    public void Malformed_share_pdus()
    {
        Assert.Equal(OperationStatus.InvalidData, ShareControl.TryRead(Convert.FromHexString("0200"), out _, out _, out var error));
        Assert.Equal(DecodeError.LengthTooSmall, error);
        Assert.Equal(OperationStatus.InvalidData, ShareControl.TryReadData(new byte[5], out _, out error));
        Assert.Equal(DecodeError.Truncated, error);

        // Demand Active whose capability length runs past the PDU, and one whose set claims more than it has.
        Assert.Equal(OperationStatus.InvalidData, ShareControl.TryReadDemandActive(Convert.FromHexString("01000000" + "0400" + "FF00" + "52445000"), out _, out error));
        Assert.Equal(DecodeError.LengthMismatch, error);
        Assert.Equal(OperationStatus.InvalidData, ShareControl.TryReadDemandActive(Convert.FromHexString("01000000" + "0000" + "0800" + "01000000" + "01004000"), out _, out error));
        Assert.Equal(DecodeError.LengthMismatch, error);
    }

    [Fact]
    public void Capability_names_are_snake_case() => Assert.Equal("multifragment_update", Capabilities.Name(CapabilitySetType.MultifragmentUpdate));
}
