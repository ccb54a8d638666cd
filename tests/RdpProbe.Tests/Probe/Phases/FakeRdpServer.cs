using System.Buffers;
using RdpProbe.Protocol;
using RdpProbe.Tests.Protocol;

namespace RdpProbe.Tests.Probe.Phases;

/// <summary>
/// The server half of the session phases, scripted: MCS Connect Response, Attach User / Channel Join confirms, then
/// whatever <see cref="AfterChannels"/> says. With <see cref="StandardSecurity"/> it really decrypts the client random
/// with its RSA key, derives the keys, checks the encrypted Client Info and encrypts what it sends.
/// </summary>
internal sealed class FakeRdpServer
{
    public enum Ending
    {
        DemandActive,
        SetErrorInfoThenDisconnect,
        LicenseErrorThenDisconnect,
        Garbage,
        LicenseRequestThenPlatformChallenge,
        DemandActiveWithoutLicensing,
        Redirection,
    }

    public const ushort User = 1007;
    public const ushort ServerSource = 0x03EA;

    public bool StandardSecurity { get; init; }

    /// <summary>Standard RDP Security with encryption method and level none (only meaningful with <see cref="StandardSecurity"/>).</summary>
    public bool NoEncryption { get; init; }

    public Ending AfterChannels { get; init; } = Ending.DemandActive;

    public uint ErrorInfoCode { get; init; } = ErrorInfo.ServerDeniedConnection;

    /// <summary>What the client sent in its Client Info (decrypted when needed).</summary>
    public (ClientInfoFlags Flags, string Domain, string User, int PasswordBytes)? ClientInfoSeen { get; private set; }

    public bool SawDisconnect { get; private set; }

    public bool NewLicenseRequestSeen { get; private set; }

    public int JoinsSeen { get; private set; }

    private readonly Org.BouncyCastle.Crypto.AsymmetricCipherKeyPair _key = StandardSecurityTests.NewKey();
    private readonly byte[] _serverRandom = Enumerable.Range(200, 32).Select(i => (byte)i).ToArray();
    private RdpCipherState? _cipher;

    private static async Task<byte[]> ReadMcsAsync(Stream s, CancellationToken ct)
    {
        var frame = await ScriptedServer.ReadTpktAsync(s, ct);
        Assert.True(X224.TryGetDataPayload(frame, out var mcs));
        return mcs.ToArray();
    }

    private static Task SendMcsAsync(Stream s, byte[] mcs, CancellationToken ct) => s.WriteAsync(Mcs.WrapInDataTpdu(mcs), ct).AsTask();

    private async Task SendIoAsync(Stream s, SecurityFlags flags, byte[] payload, CancellationToken ct, bool encrypt = true)
    {
        byte[] data = _cipher is not null && encrypt ? _cipher.Protect(flags, payload)
            : StandardSecurity || flags != SecurityFlags.None ? SecurityHeader.Prepend(flags, payload) : payload;
        await SendMcsAsync(s, Mcs.SendDataIndication(1002, Mcs.IoChannelId, data), ct);
    }

    private async Task<(SecurityFlags Flags, byte[] Payload)> ReadIoAsync(Stream s, CancellationToken ct)
    {
        var mcs = await ReadMcsAsync(s, ct);
        Assert.Equal(OperationStatus.Done, Mcs.TryReadDomainPdu(mcs, out var m, out _));
        Assert.Equal(McsDomainPduType.SendDataRequest, m!.Type);
        var data = m.Data!;
        var flags = (SecurityFlags)BitConverter.ToUInt16(data, 0);
        if ((flags & SecurityFlags.Encrypt) != 0)
        {
            Assert.True(_cipher!.TryUnprotect(flags, data.AsSpan(4), out var plain), "the client's MAC must verify");
            return (flags, plain);
        }

        return (flags, data[4..]);
    }

    public async Task RunAsync(Stream s, CancellationToken ct)
    {
        // MCS Connect Initial → Connect Response.
        var initial = await ReadMcsAsync(s, ct);
        Assert.Equal(0x7F, initial[0]);
        byte[] blocks = StandardSecurity && NoEncryption
            ? Gcc.EncodeServerData(0x00080004, SecurityProtocols.Rdp, EncryptionMethods.None, EncryptionLevel.None, 1003, [1004, 1005])
            : StandardSecurity
            ? Gcc.EncodeServerData(0x00080004, SecurityProtocols.Rdp, EncryptionMethods.Bit128, EncryptionLevel.ClientCompatible, 1003, [1004, 1005],
                _serverRandom, StandardSecurityTests.ProprietaryCertificate((Org.BouncyCastle.Crypto.Parameters.RsaKeyParameters)_key.Public))
            : Gcc.EncodeServerData(0x0008000C, SecurityProtocols.Ssl, EncryptionMethods.None, EncryptionLevel.None, 1003, [1004, 1005]);
        await SendMcsAsync(s, Mcs.EncodeConnectResponse(0, Gcc.EncodeConferenceCreateResponse(blocks)), ct);

        // Erect Domain, Attach User, then a join per channel.
        Assert.Equal(McsDomainPduType.ErectDomainRequest, (McsDomainPduType)((await ReadMcsAsync(s, ct))[0] >> 2));
        Assert.Equal(McsDomainPduType.AttachUserRequest, (McsDomainPduType)((await ReadMcsAsync(s, ct))[0] >> 2));
        await SendMcsAsync(s, Mcs.AttachUserConfirm(0, User), ct);
        for (int i = 0; i < 4; i++)
        {
            var join = await ReadMcsAsync(s, ct);
            Assert.Equal(McsDomainPduType.ChannelJoinRequest, (McsDomainPduType)(join[0] >> 2));
            ushort channel = (ushort)((join[3] << 8) | join[4]);
            JoinsSeen++;
            await SendMcsAsync(s, Mcs.ChannelJoinConfirm(0, User, channel), ct);
        }

        if (AfterChannels == Ending.SetErrorInfoThenDisconnect)
        {
            // What a Windows server does when policy refuses the session: Set Error Info, then DPUM (and close).
            await SendIoAsync(s, SecurityFlags.None, ShareControl.EncodeSetErrorInfo(0x103EA, ServerSource, ErrorInfoCode), ct);
            await SendMcsAsync(s, Mcs.DisconnectProviderUltimatum(McsDisconnectReason.ProviderInitiated), ct);
            return;
        }

        if (StandardSecurity && !NoEncryption)
        {
            var (flags, exchange) = await ReadIoAsync(s, ct);
            Assert.Equal(SecurityFlags.Exchange | SecurityFlags.LicenseEncrypt, flags);
            byte[] clientRandom = StandardSecurityTests.DecryptClientRandom(_key.Private, exchange.AsSpan(4, BitConverter.ToInt32(exchange, 0) - 8));
            _cipher = new RdpCipherState(RdpProbe.Protocol.StandardSecurity.DeriveKeys(clientRandom, _serverRandom, EncryptionMethods.Bit128), asServer: true);
        }

        var (infoFlags, info) = await ReadIoAsync(s, ct);
        Assert.True(infoFlags.HasFlag(SecurityFlags.InfoPacket));
        Assert.Equal(StandardSecurity && !NoEncryption, infoFlags.HasFlag(SecurityFlags.Encrypt));
        ClientInfoSeen = ClientInfo.Describe(info);

        if (AfterChannels == Ending.LicenseErrorThenDisconnect)
        {
            await SendIoAsync(s, SecurityFlags.LicensePacket, Licensing.EncodeErrorAlert(0x06, 1), ct, encrypt: false);
            await SendMcsAsync(s, Mcs.DisconnectProviderUltimatum(McsDisconnectReason.ProviderInitiated), ct);
            return;
        }

        if (AfterChannels == Ending.LicenseRequestThenPlatformChallenge)
        {
            // A Windows RD Session Host with licensing: License Request, the client's New License Request, Platform Challenge.
            var key = StandardSecurityTests.ProprietaryCertificate((Org.BouncyCastle.Crypto.Parameters.RsaKeyParameters)_key.Public);
            byte[] company = System.Text.Encoding.Unicode.GetBytes("Microsoft Corporation\0");
            byte[] product = System.Text.Encoding.Unicode.GetBytes("A02\0");
            byte[] body = [.. new byte[32], .. BitConverter.GetBytes(0x00060000), .. BitConverter.GetBytes(company.Length), .. company,
                .. BitConverter.GetBytes(product.Length), .. product, 0x0D, 0x00, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00,
                0x03, 0x00, .. BitConverter.GetBytes((ushort)key.Length), .. key, 0x01, 0x00, 0x00, 0x00, 0x0E, 0x00, 0x0E, 0x00, .. "microsoft.com\0"u8];
            byte[] request = [(byte)LicenseMessageType.LicenseRequest, 0x03, .. BitConverter.GetBytes((ushort)(body.Length + 4)), .. body];
            await SendIoAsync(s, SecurityFlags.LicensePacket, request, ct, encrypt: false);
            var (flags, answer) = await ReadIoAsync(s, ct);
            Assert.True(flags.HasFlag(SecurityFlags.LicensePacket));
            Assert.Equal((byte)LicenseMessageType.NewLicenseRequest, answer[0]);
            NewLicenseRequestSeen = true;
            byte[] challenge = [(byte)LicenseMessageType.PlatformChallenge, 0x03, 0x20, 0x00, .. new byte[28]];
            await SendIoAsync(s, SecurityFlags.LicensePacket, challenge, ct, encrypt: false);
            return;
        }

        if (AfterChannels == Ending.Redirection)
        {
            await SendIoAsync(s, SecurityFlags.None, ShareControl.Encode(ShareControlPduType.ServerRedirect, ServerSource, new byte[16]), ct);
            return;
        }

        if (AfterChannels == Ending.Garbage)
        {
            await s.WriteAsync(Convert.FromHexString("0300000802F08000"), ct); // a DT TPDU with no MCS PDU in it
            await s.WriteAsync(new byte[] { 0x03, 0x00, 0xFF, 0xFF, 0x02, 0xF0 }, ct);
            return;
        }

        if (AfterChannels != Ending.DemandActiveWithoutLicensing)
        {
            await SendIoAsync(s, SecurityFlags.LicensePacket, Licensing.EncodeErrorAlert(LicenseErrorAlert.StatusValidClient, 2), ct, encrypt: false);
        }

        await SendIoAsync(s, SecurityFlags.None, ShareControl.EncodeDemandActive(0x103EA, ServerSource, "RDP", Capabilities.Minimal(1, 1920, 1080, 32), 1), ct);
        var goodbye = await ReadMcsAsync(s, ct);
        SawDisconnect = Mcs.TryReadDomainPdu(goodbye, out var m, out _) == OperationStatus.Done && m!.Type == McsDomainPduType.DisconnectProviderUltimatum;
    }
}
