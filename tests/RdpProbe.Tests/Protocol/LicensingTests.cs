using System.Buffers;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.Protocol;

public sealed class LicensingTests
{
    // PROTOCOL.md §7: the 16-byte "valid client" message most servers send.
    private static readonly byte[] ValidClient = Convert.FromHexString("FF031000" + "07000000" + "02000000" + "04000000");

    [Fact]
    public void Valid_client_alert()
    {
        Assert.Equal(OperationStatus.Done, Licensing.TryRead(ValidClient, out var message, out _));
        Assert.Equal(LicenseMessageType.ErrorAlert, message!.Preamble.Type);
        Assert.Equal(3, message.Preamble.Version);
        Assert.True(Licensing.TryReadErrorAlert(message.Body, out var alert));
        Assert.True(alert!.IsValidClient);
        Assert.Equal("status_valid_client", alert.Name);
        Assert.Equal("st_no_transition", alert.StateTransitionName);
        Assert.Equal(ValidClient, Licensing.EncodeErrorAlert(7, 2));
    }

    [Theory]
    [InlineData(0x06u, "err_no_license_server")]
    [InlineData(0x08u, "err_invalid_client")]
    [InlineData(0x0Bu, "err_invalid_productid")]
    [InlineData(0x0Cu, "err_invalid_message_len")]
    [InlineData(0x42u, "license_error_0x42")]
    public void Error_codes_by_name(uint code, string name) => Assert.Equal(name, Licensing.ErrorName(code));

    [Theory]
    [InlineData("FF03", DecodeError.Truncated)]
    [InlineData("77031000", DecodeError.UnexpectedType)]
    [InlineData("FF032000070000000200000004000000", DecodeError.LengthMismatch)]
    [InlineData("FF030200", DecodeError.LengthMismatch)]
    public void Malformed_preambles(string hex, DecodeError expected)
    {
        Assert.Equal(OperationStatus.InvalidData, Licensing.TryRead(Convert.FromHexString(hex), out var value, out var error));
        Assert.Null(value);
        Assert.Equal(expected, error);
    }

    [Fact]
    public void License_request_facts_and_its_proprietary_certificate()
    {
        var pair = StandardSecurityTests.NewKey();
        byte[] cert = StandardSecurityTests.ProprietaryCertificate((Org.BouncyCastle.Crypto.Parameters.RsaKeyParameters)pair.Public);
        byte[] company = System.Text.Encoding.Unicode.GetBytes("Microsoft Corporation\0");
        byte[] product = System.Text.Encoding.Unicode.GetBytes("236\0");
        byte[] body = [
            .. new byte[32],
            .. BitConverter.GetBytes(0x00040000), .. BitConverter.GetBytes(company.Length), .. company, .. BitConverter.GetBytes(product.Length), .. product,
            0x0D, 0x00, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00,
            0x03, 0x00, .. BitConverter.GetBytes((ushort)cert.Length), .. cert,
            0x01, 0x00, 0x00, 0x00, 0x0E, 0x00, 0x0E, 0x00, .. "microsoft.com\0"u8,
        ];
        Assert.True(Licensing.TryReadLicenseRequest(body, out var request));
        Assert.Equal("Microsoft Corporation", request!.CompanyName);
        Assert.Equal("236", request.ProductId);
        Assert.Equal(["microsoft.com"], request.Scopes);
        Assert.Equal(cert, request.ServerCertificate);
        Assert.False(Licensing.TryReadLicenseRequest(body.AsSpan(0, body.Length - 3), out _));
    }

    [Fact]
    public void New_license_request_layout()
    {
        byte[] random = Enumerable.Repeat((byte)1, 32).ToArray();
        byte[] premaster = Enumerable.Repeat((byte)2, 64).ToArray();
        var message = Licensing.EncodeNewLicenseRequest(random, premaster, "probe", "RDPPROBE");
        Assert.Equal(OperationStatus.Done, Licensing.TryRead(message, out var read, out _));
        Assert.Equal(LicenseMessageType.NewLicenseRequest, read!.Preamble.Type);
        Assert.Equal(0x83, read.Preamble.Flags);
        Assert.Equal(Licensing.ClientPlatformId, BitConverter.ToUInt32(message, 8));
        Assert.Equal(random, message[12..44]);
        Assert.Equal(0x0002, BitConverter.ToUInt16(message, 44));
        Assert.Equal(72, BitConverter.ToUInt16(message, 46));
        Assert.EndsWith("RDPPROBE\0", System.Text.Encoding.ASCII.GetString(message), StringComparison.Ordinal);
    }
}
