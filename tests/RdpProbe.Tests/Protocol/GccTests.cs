using System.Buffers;
using System.Buffers.Binary;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.Protocol;

public sealed class GccTests
{
    private static readonly ClientGccSettings Settings = new(SecurityProtocols.HybridEx, EncryptionMethods.All, ClientChannel.Defaults);

    [Fact]
    public void Client_core_asks_for_error_info_and_echoes_the_selected_protocol()
    {
        var data = Gcc.EncodeClientData(Settings);
        Assert.Equal(0xC001, BinaryPrimitives.ReadUInt16LittleEndian(data));
        Assert.Equal(216, BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan(2)));
        Assert.Equal(Gcc.RdpVersion5Plus, BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(4)));
        Assert.Equal(1024, BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan(8)));
        Assert.Equal(Gcc.SupportErrInfoPdu, BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan(144)));
        Assert.Equal((uint)SecurityProtocols.HybridEx, BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(212)));
        Assert.Equal("RDPPROBE", System.Text.Encoding.Unicode.GetString(data, 24, 16));

        // CS_SECURITY, CS_NET with four channels, CS_CLUSTER.
        var sec = data.AsSpan(216);
        Assert.Equal(0xC002, BinaryPrimitives.ReadUInt16LittleEndian(sec));
        Assert.Equal((uint)EncryptionMethods.All, BinaryPrimitives.ReadUInt32LittleEndian(sec[4..]));
        var net = sec[12..];
        Assert.Equal(0xC003, BinaryPrimitives.ReadUInt16LittleEndian(net));
        Assert.Equal(4u, BinaryPrimitives.ReadUInt32LittleEndian(net[4..]));
        Assert.Equal("rdpdr\0\0\0"u8.ToArray(), net.Slice(8, 8).ToArray());
        var cluster = net[(8 + 48)..];
        Assert.Equal(0xC004, BinaryPrimitives.ReadUInt16LittleEndian(cluster));
        Assert.Equal(216 + 12 + 56 + 12, data.Length);
    }

    [Fact]
    public void Conference_create_request_wraps_the_blocks_with_t124_key_and_duca()
    {
        byte[] blocks = Gcc.EncodeClientData(Settings);
        var request = Gcc.EncodeConferenceCreateRequest(blocks);

        // MS-RDPBCGR 4.1.3: 00 05 00 14 7C 00 01, PER length, 00 08 00 10 00 01 C0 00 "Duca", PER length, blocks.
        Assert.Equal(Convert.FromHexString("000500147C0001"), request[..7]);
        int inner = ((request[7] & 0x3F) << 8) | request[8];
        Assert.Equal(request.Length - 9, inner);
        Assert.Equal(Convert.FromHexString("000800100001C0004475636181"), request[9..22]);
        Assert.Equal(blocks, request[^blocks.Length..]);
    }

    [Fact]
    public void Server_data_round_trip_through_the_conference_create_response()
    {
        var random = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        byte[] certificate = [1, 0, 0, 0, 9, 9];
        var blocks = Gcc.EncodeServerData(0x00080004, SecurityProtocols.Rdp, EncryptionMethods.Bit128, EncryptionLevel.ClientCompatible, 1003, [1004, 1005, 1006], random, certificate);
        var response = Gcc.EncodeConferenceCreateResponse(blocks);
        Assert.Equal(OperationStatus.Done, Gcc.TryReadConferenceCreateResponse(response, out var data, out int result, out _));
        Assert.Equal(0, result);
        Assert.Equal(OperationStatus.Done, Gcc.TryReadServerData(data, out var server, out _));
        Assert.Equal("RDP 5.0-8.1", server!.Core!.VersionName);
        Assert.Equal(0u, server.Core.ClientRequestedProtocols);
        Assert.Equal(EncryptionMethods.Bit128, server.Security!.Method);
        Assert.Equal(EncryptionLevel.ClientCompatible, server.Security.Level);
        Assert.Equal(random, server.Security.ServerRandom);
        Assert.Equal(certificate, server.Security.ServerCertificate);
        Assert.Equal(1003, server.Network!.IoChannelId);
        Assert.Equal(new ushort[] { 1004, 1005, 1006 }, server.Network.ChannelIds);
    }

    [Fact]
    public void Tls_security_block_has_no_random()
    {
        var blocks = Gcc.EncodeServerData(0x00080005, SecurityProtocols.Ssl, EncryptionMethods.None, EncryptionLevel.None, 1003, []);
        Assert.Equal(OperationStatus.Done, Gcc.TryReadServerData(blocks, out var server, out _));
        Assert.Null(server!.Security!.ServerRandom);
        Assert.Equal("RDP 10.0", server.Core!.VersionName);
        Assert.Empty(server.Network!.ChannelIds);
    }

    public static TheoryData<string, byte[], DecodeError> MalformedServerData() => new()
    {
        { "block shorter than its header", Convert.FromHexString("010C0200"), DecodeError.LengthTooSmall },
        { "block longer than the data", Convert.FromHexString("010C40000400"), DecodeError.LengthMismatch },
        { "dangling bytes", Convert.FromHexString("010C0800040008000102"), DecodeError.Truncated },
        { "SC_NET announcing more ids than it has", Convert.FromHexString("030C0A00EB030900EC03"), DecodeError.LengthMismatch },
        { "SC_SECURITY random length not 32", Convert.FromHexString("020C1400" + "02000000" + "02000000" + "10000000" + "00000000"), DecodeError.BadValue },
    };

    [Theory]
    [MemberData(nameof(MalformedServerData))]
    public void Malformed_server_data_is_invalid(string why, byte[] data, DecodeError expected)
    {
        Assert.Equal(OperationStatus.InvalidData, Gcc.TryReadServerData(data, out var value, out var error));
        Assert.Null(value);
        Assert.True(expected == error, $"{why}: {error}");
    }

    [Fact]
    public void Response_with_the_wrong_key_or_a_cut_is_invalid()
    {
        var good = Gcc.EncodeConferenceCreateResponse(Gcc.EncodeServerData(0x00080004, SecurityProtocols.Ssl, 0, 0, 1003, []));
        var wrongKey = (byte[])good.Clone();
        wrongKey[Array.IndexOf(wrongKey, (byte)'M')] = (byte)'X';
        Assert.Equal(OperationStatus.InvalidData, Gcc.TryReadConferenceCreateResponse(wrongKey, out _, out _, out var error));
        Assert.Equal(DecodeError.BadValue, error);
        for (int i = 0; i < good.Length; i++)
        {
            Assert.Equal(OperationStatus.InvalidData, Gcc.TryReadConferenceCreateResponse(good.AsSpan(0, i), out var data, out _, out _));
            Assert.Null(data);
        }
    }

    [Theory]
    [InlineData(0x01u, "40-bit")]
    [InlineData(0x10u, "fips")]
    [InlineData(0x00u, "none")]
    [InlineData(0x03u, "40-bit|128-bit")]
    public void Method_names(uint method, string name) => Assert.Equal(name, Gcc.MethodName((EncryptionMethods)method));
}
