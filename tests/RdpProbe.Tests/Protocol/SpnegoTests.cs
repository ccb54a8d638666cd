using System.Buffers;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.Protocol;

/// <summary>The SPNEGO codec (RFC 4178 §4.2, MS-SPNG 2.2): bytes built by hand from the ASN.1, every prefix, malformed input.</summary>
public sealed class SpnegoTests
{
    // [1] NegTokenResp { negState [0] accept-completed, supportedMech [1] 1.2.840.48018.1.2.2 } (RFC 4178 §4.2.2);
    // 48018 is 0x82 0xF7 0x12 in base 128 (X.690 8.19.2).
    private static readonly byte[] AcceptMsKrb5 = Convert.FromHexString("A1143012" + "A0030A0100" + "A10B06092A864882F712010202");

    // [1] NegTokenResp { negState [0] reject }.
    private static readonly byte[] Reject = Convert.FromHexString("A1073005" + "A0030A0102");

    private static readonly byte[] SomeToken = Enumerable.Range(0, 200).Select(i => (byte)i).ToArray();

    internal static byte[] InitSample() => new SpnegoInit(SpnegoMechs.KerberosThenNtlm, SomeToken).Encode();

    internal static byte[] RespSample() => new SpnegoResp(SpnegoNegState.AcceptIncomplete, SpnegoMechs.Ntlm, SomeToken, [9, 9, 9]).Encode();

    [Fact]
    public void Encodes_a_windows_style_accept_byte_for_byte()
    {
        Assert.Equal(AcceptMsKrb5, new SpnegoResp(SpnegoNegState.AcceptCompleted, SpnegoMechs.MsKrb5).Encode());
        Assert.Equal(Reject, new SpnegoResp(SpnegoNegState.Reject).Encode());
    }

    [Fact]
    public void Reads_the_hand_built_accept_and_reject()
    {
        Assert.Equal(OperationStatus.Done, Spnego.TryRead(AcceptMsKrb5, out var accept, out int used, out _));
        Assert.Equal(AcceptMsKrb5.Length, used);
        Assert.Equal(new SpnegoResp(SpnegoNegState.AcceptCompleted, SpnegoMechs.MsKrb5), accept!.Resp);
        Assert.Null(accept.Init);
        Assert.Equal(OperationStatus.Done, Spnego.TryRead(Reject, out var reject, out _, out _));
        Assert.Equal(SpnegoNegState.Reject, reject!.Resp!.NegState);
    }

    [Fact]
    public void The_initial_token_is_framed_and_lists_kerberos_first_then_ntlm()
    {
        var bytes = InitSample();

        // RFC 2743 §3.1: [APPLICATION 0] { OID 1.3.6.1.5.5.2 (06 06 2B 06 01 05 05 02), [0] NegTokenInit }.
        Assert.Equal(0x60, bytes[0]);
        Assert.Equal(Convert.FromHexString("06062B0601050502A0"), bytes.AsSpan(4, 9).ToArray());
        Assert.Equal(OperationStatus.Done, Spnego.TryRead(bytes, out var token, out int used, out _));
        Assert.Equal(bytes.Length, used);
        Assert.Equal([SpnegoMechs.MsKrb5, SpnegoMechs.Krb5, SpnegoMechs.Ntlm], token!.Init!.MechTypes);
        Assert.Equal(SomeToken, token.Init.MechToken);
        Assert.Null(token.Init.MechListMic);
    }

    [Fact]
    public void A_response_with_every_field_reads_back()
    {
        Assert.Equal(OperationStatus.Done, Spnego.TryRead(RespSample(), out var token, out _, out _));
        var resp = token!.Resp!;
        Assert.Equal(SpnegoNegState.AcceptIncomplete, resp.NegState);
        Assert.Equal(SpnegoMechs.Ntlm, resp.SupportedMech);
        Assert.Equal(SomeToken, resp.ResponseToken);
        Assert.Equal([9, 9, 9], resp.MechListMic);
    }

    [Fact]
    public void The_mic_input_is_the_der_mech_type_list()
    {
        // RFC 4178 §5: mechListMIC covers the DER of MechTypeList as sent: SEQUENCE OF OBJECT IDENTIFIER.
        Assert.Equal(Convert.FromHexString("3022" + "06092A864882F712010202" + "06092A864886F712010202" + "060A2B06010401823702020A"),
            Spnego.EncodeMechTypeList(SpnegoMechs.KerberosThenNtlm));
    }

    [Fact]
    public void Reads_a_servers_neg_token_init2_with_hints()
    {
        // MS-SPNG 2.2.1 NegTokenInit2: mechTypes [0], negHints [3] { hintName [0] GeneralString "not_defined_in_RFC4178@please_ignore" }, no MIC.
        var hint = "not_defined_in_RFC4178@please_ignore"u8.ToArray();
        byte[] hints = [0xA3, (byte)(hint.Length + 6), 0x30, (byte)(hint.Length + 4), 0xA0, (byte)(hint.Length + 2), 0x1B, (byte)hint.Length, .. hint];
        byte[] mechs = [0xA0, 0x0D, 0x30, 0x0B, .. Convert.FromHexString("06092A864886F712010202")];
        byte[] seq = [0x30, (byte)(mechs.Length + hints.Length), .. mechs, .. hints];
        byte[] token = [0xA0, (byte)seq.Length, .. seq];
        Assert.Equal(OperationStatus.Done, Spnego.TryRead(token, out var value, out _, out _));
        Assert.Equal([SpnegoMechs.Krb5], value!.Init!.MechTypes);
    }

    public static TheoryData<string> Samples => new() { "init", "resp", "accept" };

    [Theory]
    [MemberData(nameof(Samples))]
    public void Every_prefix_needs_more_data(string which)
    {
        byte[] bytes = which switch { "init" => InitSample(), "resp" => RespSample(), _ => AcceptMsKrb5 };
        for (int n = 0; n < bytes.Length; n++)
        {
            Assert.True(Spnego.TryRead(bytes.AsSpan(0, n), out var value, out int used, out _) == OperationStatus.NeedMoreData, $"prefix {n}");
            Assert.Null(value);
            Assert.Equal(0, used);
        }

        Assert.Equal(OperationStatus.Done, Spnego.TryRead([.. bytes, 0xFF], out _, out int consumed, out _));
        Assert.Equal(bytes.Length, consumed);
    }

    [Theory]
    [InlineData("3005A0030A0100", DecodeError.UnexpectedType)] // a bare SEQUENCE: not a NegotiationToken
    [InlineData("4E544C4D53535000", DecodeError.UnexpectedType)] // raw NTLM where SPNEGO belongs
    [InlineData("A180", DecodeError.BadValue)] // indefinite length (X.690 8.1.3.6), not DER
    [InlineData("A184FFFFFFFF", DecodeError.LengthTooLarge)] // four length octets
    [InlineData("A1830FFFFF", DecodeError.LengthTooLarge)] // one MiB
    [InlineData("A1073005A0030A0107", DecodeError.BadValue)] // negState 7
    [InlineData("A10A3008A1030A0100A0010A", DecodeError.BadValue)] // fields out of order (and the OID is not an OID)
    [InlineData("A1093007A0030A0100A200", DecodeError.BadValue)] // responseToken [2] with no OCTET STRING
    [InlineData("A10B3009A0030A0100A4020400", DecodeError.UnexpectedType)] // field [4] does not exist in NegTokenResp
    [InlineData("600F06062B0601050503A1053003A00100", DecodeError.UnexpectedType)] // framed with another mechanism's OID
    [InlineData("601106062B0601050502A1073005A0030A0100", DecodeError.UnexpectedType)] // the framing around a NegTokenResp
    [InlineData("A0053003A20100", DecodeError.Truncated)] // NegTokenInit without mechTypes
    [InlineData("A1083005A0030A010000", DecodeError.LengthMismatch)] // a byte after the NegTokenResp inside its [1]
    public void Malformed_tokens_are_invalid_data_with_a_reason(string hex, DecodeError expected)
    {
        Assert.Equal(OperationStatus.InvalidData, Spnego.TryRead(Convert.FromHexString(hex), out var value, out int used, out var error));
        Assert.Null(value);
        Assert.Equal(0, used);
        Assert.Equal(expected, error);
    }

    [Fact]
    public void More_mechanisms_than_anyone_offers_are_refused()
    {
        var many = Enumerable.Repeat(SpnegoMechs.Krb5, Spnego.MaxMechTypes + 1).ToList();
        Assert.Equal(OperationStatus.InvalidData, Spnego.TryRead(new SpnegoInit(many).Encode(), out _, out _, out var error));
        Assert.Equal(DecodeError.LengthTooLarge, error);
        Assert.Equal(OperationStatus.Done, Spnego.TryRead(new SpnegoInit(many.Take(Spnego.MaxMechTypes).ToList()).Encode(), out _, out _, out _));
    }

    [Fact]
    public void Mechanism_words()
    {
        Assert.Equal(["ms_krb5", "krb5", "ntlm"], SpnegoMechs.KerberosThenNtlm.Select(SpnegoMechs.Name));
        Assert.Equal("1.2.3.4", SpnegoMechs.Name("1.2.3.4"));
        Assert.True(SpnegoMechs.IsKerberos(SpnegoMechs.MsKrb5));
        Assert.False(SpnegoMechs.IsKerberos(SpnegoMechs.Ntlm));
    }
}
