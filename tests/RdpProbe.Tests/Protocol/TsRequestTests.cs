using System.Buffers;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.Protocol;

public sealed class TsRequestTests
{
    // NTLM NEGOTIATE (MS-NLMP 2.2.1.1): signature, type 1, flags 0xE20882B7, empty domain and workstation fields
    // pointing at offset 40, VERSION 10.0.20348 revision 15.
    internal static readonly byte[] Negotiate = Convert.FromHexString(
        "4E544C4D53535000" + "01000000" + "B78208E2" +
        "0000" + "0000" + "28000000" +
        "0000" + "0000" + "28000000" +
        "0A00" + "7C4F" + "000000" + "0F");

    // TSRequest (MS-CSSP 2.2.1): SEQUENCE { [0] INTEGER 6, [1] SEQUENCE OF SEQUENCE { [0] OCTET STRING (40) } }.
    internal static readonly byte[] NegotiateRequest = Convert.FromHexString(
        "3037" + "A003" + "020106" +
        "A130" + "302E" + "302C" + "A02A" + "0428") .Concat(Negotiate).ToArray();

    // errorCode STATUS_LOGON_FAILURE as Windows and FreeRDP write it: 4 content bytes (reads negative in pure DER).
    private static readonly byte[] ErrorFourBytes = Convert.FromHexString("300D" + "A003020106" + "A406" + "0204C000006D");

    // The same code as a strict DER writer would put it: 5 content bytes with a leading zero.
    private static readonly byte[] ErrorFiveBytes = Convert.FromHexString("300E" + "A003020106" + "A407" + "020500C000006D");

    [Fact]
    public void Encodes_the_client_negotiate_byte_for_byte()
    {
        Assert.Equal(Negotiate, NtlmNegotiate.Encode());
        Assert.Equal(NegotiateRequest, new TsRequest(6, [Negotiate]).Encode());
    }

    [Fact]
    public void Reads_what_it_writes()
    {
        var nonce = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        var original = new TsRequest(6, [Negotiate], AuthInfo: [1, 2, 3], PubKeyAuth: [4, 5], ErrorCode: 0xC0000072, ClientNonce: nonce);
        byte[] bytes = original.Encode();
        Assert.Equal(OperationStatus.Done, TsRequest.TryRead(bytes, out var read, out int used, out _));
        Assert.Equal(bytes.Length, used);
        Assert.Equal(6, read!.Version);
        Assert.Equal(Negotiate, read.FirstNegoToken);
        Assert.Equal(new byte[] { 1, 2, 3 }, read.AuthInfo);
        Assert.Equal(new byte[] { 4, 5 }, read.PubKeyAuth);
        Assert.Equal(0xC0000072u, read.ErrorCode);
        Assert.Equal(nonce, read.ClientNonce);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Reads_error_code_in_both_integer_forms(bool fourBytes)
    {
        var bytes = fourBytes ? ErrorFourBytes : ErrorFiveBytes;
        Assert.Equal(OperationStatus.Done, TsRequest.TryRead(bytes, out var read, out int used, out _));
        Assert.Equal(bytes.Length, used);
        Assert.Equal(NtStatus.LogonFailure, read!.ErrorCode);
        Assert.Empty(read.NegoTokens);
    }

    [Fact]
    public void Writes_error_code_as_windows_does()
        => Assert.Equal(ErrorFourBytes, new TsRequest(6, [], ErrorCode: NtStatus.LogonFailure).Encode());

    [Fact]
    public void Every_prefix_needs_more_data()
    {
        foreach (var fixture in new[] { NegotiateRequest, ErrorFourBytes })
        {
            for (int i = 0; i < fixture.Length; i++)
            {
                Assert.Equal(OperationStatus.NeedMoreData, TsRequest.TryRead(fixture.AsSpan(0, i), out var value, out int used, out _));
                Assert.Equal(0, used);
                Assert.Null(value);
            }
        }
    }

    [Theory]
    [InlineData("3103A00100", DecodeError.UnexpectedType)]                     // SET, not SEQUENCE
    [InlineData("0300000B", DecodeError.UnexpectedType)]                      // a TPKT header where DER was expected
    [InlineData("3080A003020106", DecodeError.BadValue)]                      // indefinite length (X.690 8.1.3.6)
    [InlineData("3084000000100000", DecodeError.LengthTooLarge)]              // four length octets
    [InlineData("308301000100", DecodeError.LengthTooLarge)]                  // 65537 bytes announced
    [InlineData("3005A103300100", DecodeError.Truncated)]                     // no version field
    [InlineData("3005A003020100", DecodeError.BadVersion)]                    // version 0
    [InlineData("3007A003020106A403020101", DecodeError.BadValue)]            // outer length cuts the errorCode field
    [InlineData("300EA003020106A4030201FFA0020400", DecodeError.UnexpectedType)] // [0] after [4]
    [InlineData("300CA003020106A505040300AABB", DecodeError.LengthMismatch)]  // clientNonce not 32 bytes
    [InlineData("3007A003020106A600", DecodeError.UnexpectedType)]            // unknown field [6]
    [InlineData("3005A003040106", DecodeError.BadValue)]                      // version is an OCTET STRING
    public void Malformed_input_is_invalid_with_a_reason(string hex, DecodeError expected)
    {
        var bytes = Convert.FromHexString(hex);
        Assert.Equal(OperationStatus.InvalidData, TsRequest.TryRead(bytes, out var value, out int used, out var error));
        Assert.Null(value);
        Assert.Equal(0, used);
        Assert.Equal(expected, error);
    }

    [Fact]
    public void Frame_length_comes_from_tag_and_length_alone()
    {
        Assert.Equal(OperationStatus.Done, TsRequest.TryReadFrameLength(Convert.FromHexString("30820123"), out int header, out int total, out _));
        Assert.Equal(4, header);
        Assert.Equal(4 + 0x123, total);
    }

    [Fact]
    public void Password_credentials_round_trip_as_utf16()
    {
        byte[] der = TsCredentials.EncodePassword("LAB", "probe", "Passw0rd!");

        // TSCredentials { [0] INTEGER 1, [1] OCTET STRING { TSPasswordCreds } }; domain "LAB" in UTF-16LE.
        Assert.Equal(0x30, der[0]);
        Assert.Contains("4C0041004200", Convert.ToHexString(der), StringComparison.Ordinal);
        var (type, domain, user, password) = TsCredentials.DecodePassword(der);
        Assert.Equal(TsCredentialType.Password, type);
        Assert.Equal(("LAB", "probe", "Passw0rd!"), (domain, user, password));
    }

    [Fact]
    public void ToString_shows_no_payload()
    {
        var text = new TsRequest(6, [Negotiate], AuthInfo: [0x41, 0x42]).ToString();
        Assert.Contains("authInfo: 2 B", text, StringComparison.Ordinal);
        Assert.DoesNotContain("4142", text, StringComparison.Ordinal);
    }
}
