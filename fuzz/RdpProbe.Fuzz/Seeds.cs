using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using RdpProbe.Protocol;

namespace RdpProbe.Fuzz;

/// <summary>
/// Small valid messages per target, made with the project's own encoders: the starting corpus (scripts/fuzz.sh seeds
/// the capture target from captures/ instead). Regenerate with `RdpProbe.Fuzz --seeds DIR`.
/// </summary>
internal static class Seeds
{
    // A PROPRIETARYSERVERCERTIFICATE (MS-RDPBCGR 2.2.1.4.3.1.1) with a 512-bit modulus.
    private const string ProprietaryCertificateHex =
        "01000000010000000100000006005C005253413148000000000200003F00000001000100CD6857970C196EDBEB1AECBAD21576FDC03BA9D9BD4A49C8A3E0567B185D13227DEE08CE8B2F590084FD30618831C95533D44FC7931C966B4EAA8B3FE44D2FF1A20000000000000000";

    public static void Write(string directory)
    {
        byte[] certificate = Convert.FromHexString(ProprietaryCertificateHex);
        byte[] serverData = Gcc.EncodeServerData(0x00080004, SecurityProtocols.Rdp, EncryptionMethods.Bit128, EncryptionLevel.ClientCompatible,
            1003, [1004, 1005], Enumerable.Range(0, 32).Select(i => (byte)i).ToArray(), certificate);
        byte[] plainServerData = Gcc.EncodeServerData(0x00080004, SecurityProtocols.Ssl, 0, 0, 1003, [1004]);
        byte[] confirmTls = X224.EncodeConnectionConfirm(new X224ConnectionConfirm(0x1234, new NegotiationMessage(NegotiationType.Response, 0, 1)));
        byte[] confirmRdp = X224.EncodeConnectionConfirm(new X224ConnectionConfirm(0x1234, new NegotiationMessage(NegotiationType.Response, 0, 0)));
        byte[] confirmFailure = X224.EncodeConnectionConfirm(new X224ConnectionConfirm(0x1234, new NegotiationMessage(NegotiationType.Failure, 0, 5)));
        byte[] demandActive = ShareControl.EncodeDemandActive(0x103EA, 0x03EA, "RDP", Capabilities.Minimal(1, 1920, 1080, 32), 1);
        byte[] sets = Capabilities.EncodeSets(Capabilities.Minimal(1, 1920, 1080, 32));

        var seeds = new Dictionary<string, byte[][]>
        {
            ["x224"] =
            [
                X224.EncodeConnectionRequest(new X224ConnectionRequest("probe", null, new NegotiationMessage(NegotiationType.Request, 0, 0x0B), null)),
                confirmTls, confirmFailure,
                [0x02, 0x01, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00],
                "HTTP/1.1 400 Bad Request\r\n\r\n"u8.ToArray(),
            ],
            ["tls"] =
            [
                [0x16, 0x03, 0x03, 0x00, 0x04, 0x0E, 0x00, 0x00, 0x00],
                [0x03, 0x03, .. new byte[32], 0x00, 0x13, 0x01, 0x00, 0x00, 0x06, 0x00, 0x2B, 0x00, 0x02, 0x03, 0x04],
                CertificateMessage(SelfSigned()),
            ],
            ["credssp"] =
            [
                new TsRequest(6, [NtlmNegotiate.Encode()], null, null, null, new byte[32]).Encode(),
                new TsRequest(6, [], null, null, 0xC000006D).Encode(),
                TsCredentials.EncodePassword("LAB", "probe", "secret"),
                NtlmChallenge.Encode(NtlmNegotiate.DefaultFlags, new byte[8], "LAB",
                    [new NtlmAvPair(NtlmAvId.NbComputerName, System.Text.Encoding.Unicode.GetBytes("VM"))], null),
                EarlyUserAuthorization.Encode(EarlyUserAuthorizationResult.AccessDenied),
                new SpnegoInit(SpnegoMechs.KerberosThenNtlm, NtlmNegotiate.Encode()).Encode(),
                new SpnegoResp(SpnegoNegState.AcceptIncomplete, SpnegoMechs.Ntlm, new byte[40], new byte[16]).Encode(),
            ],
            ["mcs"] =
            [
                Mcs.EncodeConnectResponse(0, Gcc.EncodeConferenceCreateResponse(serverData)),
                Mcs.EncodeConnectResponse(0, Gcc.EncodeConferenceCreateResponse(plainServerData)),
                Mcs.SendDataIndication(1002, 1003, new byte[16]),
                serverData,
            ],
            ["security"] =
            [
                certificate,
                SecurityHeader.Prepend(SecurityFlags.InfoPacket, new byte[8]),
                Licensing.EncodeErrorAlert(LicenseErrorAlert.StatusValidClient, 2),
            ],
            ["share"] =
            [
                demandActive,
                ShareControl.EncodeSetErrorInfo(0x103EA, 0x03EA, 0x7),
                [(byte)Capabilities.Minimal(1, 1920, 1080, 32).Count, .. sets],
            ],
            ["udp"] =
            [
                RdpeUdp.Encode(RdpeUdp.CreateClientSyn(0x1234)),
                RdpeUdp.Encode(RdpeUdp.CreateClientSyn(0x1234, RdpUdpVersion.V1, new byte[16])),
            ],
            ["explain"] =
            [
                X224.EncodeConnectionRequest(new X224ConnectionRequest("probe", null, new NegotiationMessage(NegotiationType.Request, 0, 0x0B), null)),
                [.. confirmTls, .. confirmFailure],
                HandshakeRecord(1, [0x03, 0x03, .. new byte[32], 0x00, 0x00, 0x02, 0xC0, 0x30, 0x01, 0x00, 0x00, 0x07, 0x00, 0x2B, 0x00, 0x03, 0x02, 0x03, 0x04]),
                [.. HandshakeRecord(2, [0x03, 0x03, .. new byte[32], 0x00, 0xC0, 0x30, 0x00]), .. HandshakeRecord(11, CertificateMessage(SelfSigned()))],
                [0x14, 0x03, 0x03, 0x00, 0x01, 0x01, 0x16, 0x03, 0x03, 0x00, 0x02, 0x14, 0x00, 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28],
                new TsRequest(6, [NtlmNegotiate.Encode()], null, null, null, new byte[32]).Encode(),
                new TsRequest(6, [NtlmChallenge.Encode(NtlmNegotiate.DefaultFlags, new byte[8], "LAB", [], null)]).Encode(),
            ],
            ["probe"] =
            [
                confirmTls, confirmRdp, confirmFailure,
                [0xDE, 0xAD, 0xBE, 0xEF],
                [0x03, 0x00, 0xFF, 0xFF, 0x02, 0xF0, 0x80],
            ],
        };

        foreach (var (target, inputs) in seeds)
        {
            string dir = Path.Combine(directory, target);
            Directory.CreateDirectory(dir);
            for (int i = 0; i < inputs.Length; i++)
            {
                File.WriteAllBytes(Path.Combine(dir, $"seed-{i:D2}"), inputs[i]);
            }
        }
    }

    private static byte[] SelfSigned()
    {
        using var key = RSA.Create(1024);
        var request = new CertificateRequest("CN=rdp-fuzz", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddYears(60));
        return certificate.RawData;
    }

    /// <summary>One TLS 1.2 handshake record holding one message of <paramref name="type"/> (RFC 5246 6.2.1, 7.4).</summary>
    private static byte[] HandshakeRecord(byte type, byte[] body)
    {
        int message = 4 + body.Length;
        return [0x16, 0x03, 0x03, (byte)(message >> 8), (byte)message, type, (byte)(body.Length >> 16), (byte)(body.Length >> 8), (byte)body.Length, .. body];
    }

    /// <summary>A TLS 1.2 Certificate message body (RFC 5246 7.4.2): 24-bit list length, then 24-bit length + DER.</summary>
    private static byte[] CertificateMessage(byte[] der)
    {
        int entry = 3 + der.Length;
        return [(byte)(entry >> 16), (byte)(entry >> 8), (byte)entry, (byte)(der.Length >> 16), (byte)(der.Length >> 8), (byte)der.Length, .. der];
    }
}
