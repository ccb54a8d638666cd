using System.Buffers;
using System.Formats.Asn1;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.Protocol;

public sealed class McsTests
{
    private static byte[] H(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    [Fact]
    public void Domain_pdus_have_the_bytes_of_ms_rdpbcgr_4_1()
    {
        Assert.Equal(H("04 01 00 01 00"), Mcs.ErectDomainRequest());
        Assert.Equal(H("28"), Mcs.AttachUserRequest());

        // Channel Join Request: initiator 1008 → 0x0007, channel 1003 = 0x03EB (MS-RDPBCGR 4.1.8).
        Assert.Equal(H("38 00 07 03 EB"), Mcs.ChannelJoinRequest(1008, 1003));
        Assert.Equal(H("21 80"), Mcs.DisconnectProviderUltimatum(McsDisconnectReason.UserRequested));
    }

    [Fact]
    public void Send_data_request_uses_a_two_byte_per_length_from_128()
    {
        var small = Mcs.SendDataRequest(1008, 1003, new byte[5]);
        Assert.Equal(H("64 00 07 03 EB 70 05"), small[..7]);
        var large = Mcs.SendDataRequest(1008, 1003, new byte[300]);
        Assert.Equal(H("64 00 07 03 EB 70 81 2C"), large[..8]);
        Assert.Equal(308, large.Length);
    }

    [Theory]
    [InlineData("2E 00 00 07", 11, 0, 1008)]               // Attach User Confirm
    [InlineData("3E 00 00 07 03 EB 03 EB", 15, 0, 1008)]   // Channel Join Confirm
    [InlineData("2F 60 00 07", 11, 11, 1008)]              // rt-too-many-channels, bit-exact PER
    [InlineData("3E 0E 00 07 03 EB 03 EB", 15, 14, 1008)]  // FreeRDP writes the result as a byte
    public void Reads_confirms_with_their_result(string hex, int type, int result, int user)
    {
        Assert.Equal(OperationStatus.Done, Mcs.TryReadDomainPdu(H(hex), out var m, out _));
        Assert.Equal((McsDomainPduType)type, m!.Type);
        Assert.Equal(result, m.Result);
        Assert.Equal(user, m.Initiator);
    }

    [Fact]
    public void Confirm_writers_round_trip()
    {
        Assert.Equal(OperationStatus.Done, Mcs.TryReadDomainPdu(Mcs.AttachUserConfirm(11, 1007), out var attach, out _));
        Assert.Equal((11, 1007), (attach!.Result, attach.Initiator));
        Assert.Equal(OperationStatus.Done, Mcs.TryReadDomainPdu(Mcs.ChannelJoinConfirm(0, 1007, 1004), out var join, out _));
        Assert.Equal((0, 1004, 1004), (join!.Result, join.ChannelId, join.RequestedChannelId));
    }

    [Theory]
    [InlineData("21 80", 3, "rn-user-requested")]
    [InlineData("20 80", 1, "rn-provider-initiated")]
    [InlineData("22 00", 4, "rn-channel-purged")]
    public void Reads_the_disconnect_reason_across_two_bytes(string hex, int reason, string name)
    {
        Assert.Equal(OperationStatus.Done, Mcs.TryReadDomainPdu(H(hex), out var m, out _));
        Assert.Equal(McsDomainPduType.DisconnectProviderUltimatum, m!.Type);
        Assert.Equal((McsDisconnectReason)reason, m.Reason);
        Assert.Equal(name, Mcs.ReasonName(m.Reason));
    }

    [Fact]
    public void Send_data_indication_round_trip_and_every_prefix_is_truncated()
    {
        var pdu = Mcs.SendDataIndication(1002, 1003, new byte[] { 1, 2, 3 });
        Assert.Equal(OperationStatus.Done, Mcs.TryReadDomainPdu(pdu, out var m, out _));
        Assert.Equal((McsDomainPduType.SendDataIndication, 1002, 1003), (m!.Type, m.Initiator, m.ChannelId));
        Assert.Equal(new byte[] { 1, 2, 3 }, m.Data);
        for (int i = 0; i < pdu.Length; i++)
        {
            Assert.Equal(OperationStatus.InvalidData, Mcs.TryReadDomainPdu(pdu.AsSpan(0, i), out var value, out var error));
            Assert.Null(value);
            Assert.True(error is DecodeError.Truncated or DecodeError.LengthMismatch, $"prefix {i}: {error}");
        }
    }

    [Theory]
    [InlineData("FC", DecodeError.UnexpectedType)]                 // choice 63
    [InlineData("68 00 01 03 EB 70 10 00", DecodeError.LengthMismatch)] // 16 bytes announced, 1 present
    [InlineData("68 00 01 03 EB 70 C0 00", DecodeError.LengthTooLarge)] // fragmented PER length
    public void Malformed_domain_pdus_say_why(string hex, DecodeError expected)
    {
        Assert.Equal(OperationStatus.InvalidData, Mcs.TryReadDomainPdu(H(hex), out _, out var error));
        Assert.Equal(expected, error);
    }

    [Fact]
    public void Connect_initial_is_ber_with_the_t125_structure()
    {
        byte[] gcc = [1, 2, 3, 4];
        var bytes = Mcs.EncodeConnectInitial(gcc);
        Assert.Equal(H("7F 65"), bytes[..2]);
        var seq = new AsnReader(bytes, AsnEncodingRules.BER).ReadSequence(new Asn1Tag(TagClass.Application, 101, true));
        Assert.Equal(new byte[] { 1 }, seq.ReadOctetString());
        Assert.Equal(new byte[] { 1 }, seq.ReadOctetString());
        Assert.True(seq.ReadBoolean());
        var target = seq.ReadSequence();
        Assert.Equal(34, (int)target.ReadInteger());
        seq.ReadSequence();
        seq.ReadSequence();
        Assert.Equal(gcc, seq.ReadOctetString());
        Assert.False(seq.HasData);
    }

    [Fact]
    public void Connect_response_round_trip_and_result_names()
    {
        var bytes = Mcs.EncodeConnectResponse(8, [9, 9]);
        Assert.Equal(OperationStatus.Done, Mcs.TryReadConnectResponse(bytes, out var response, out _));
        Assert.Equal(8, response!.Result);
        Assert.Equal("rt-parameters-unacceptable", response.ResultName);
        Assert.Equal(new byte[] { 9, 9 }, response.UserData);
        Assert.Equal("rt-successful", Mcs.ResultName(0));
        Assert.Equal("rt-user-rejected", Mcs.ResultName(15));
    }

    [Theory]
    [InlineData("7F 65 00", DecodeError.UnexpectedType)]        // a Connect-Initial, not a response
    [InlineData("7F 66 05 0A 01 00 02", DecodeError.BadValue)]  // cut inside
    [InlineData("7F 66 84 FF FF FF FF", DecodeError.BadValue)]  // absurd BER length
    public void Malformed_connect_response_is_invalid(string hex, DecodeError expected)
    {
        Assert.Equal(OperationStatus.InvalidData, Mcs.TryReadConnectResponse(H(hex), out var value, out var error));
        Assert.Null(value);
        Assert.Equal(expected, error);
    }
}
