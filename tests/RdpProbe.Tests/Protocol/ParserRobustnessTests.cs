using System.Buffers;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.Protocol;

/// <summary>
/// The parser contract (issue 17): every Try… decoder returns Done / NeedMoreData / InvalidData and never throws, on
/// any input a hostile peer or a corrupt capture can produce. Each entry point gets random bytes, every prefix of a
/// valid message, and a valid message with bytes flipped, inserted and removed — a bounded, seeded run in the normal
/// test suite (the fuzz campaigns go further). A failure names the entry point and the input in hex, so it can be
/// turned into a fixed unit test.
/// </summary>
public sealed class ParserRobustnessTests
{
    private const int RandomInputs = 1500;
    private const int Mutations = 1500;

    private static readonly byte[] Certificate = StandardSecurityTests.ProprietaryCertificate(
        (Org.BouncyCastle.Crypto.Parameters.RsaKeyParameters)StandardSecurityTests.NewKey().Public);

    private static readonly byte[] ServerData = Gcc.EncodeServerData(0x00080004, SecurityProtocols.Rdp, EncryptionMethods.Bit128, EncryptionLevel.ClientCompatible,
        1003, [1004, 1005], Enumerable.Range(0, 32).Select(i => (byte)i).ToArray(), Certificate);

    /// <summary>Entry point name, a valid input to mutate, the parse.</summary>
    public static TheoryData<string> EntryPoints => new(Parsers.Keys);

    private static readonly Dictionary<string, (byte[] Seed, Action<byte[]> Parse)> Parsers = new()
    {
        ["Tpkt.TryReadFrame"] = (X224.EncodeConnectionConfirm(new X224ConnectionConfirm(0x1234, new NegotiationMessage(NegotiationType.Response, 1, 1))),
            b => TpktHeader.TryReadFrame(b, out _, out _)),
        ["X224.TryReadConnectionRequest"] = (X224.EncodeConnectionRequest(new X224ConnectionRequest("probe", null, new NegotiationMessage(NegotiationType.Request, 0, 0x0B), null)),
            b => X224.TryReadConnectionRequest(b, out _, out _, out _)),
        ["X224.TryReadConnectionConfirm"] = (X224.EncodeConnectionConfirm(new X224ConnectionConfirm(0x1234, new NegotiationMessage(NegotiationType.Failure, 0, 2))),
            b => X224.TryReadConnectionConfirm(b, out _, out _, out _)),
        ["NegotiationMessage.TryRead"] = ([0x02, 0x01, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00], b => NegotiationMessage.TryRead(b, out _, out _, out _)),
        ["ByteSniffer.Classify"] = ("HTTP/1.1 400 Bad Request\r\n\r\n"u8.ToArray(), b => ByteSniffer.Classify(b)),
        ["Gcc.TryReadServerData"] = (ServerData, b => Gcc.TryReadServerData(b, out _, out _)),
        ["Gcc.TryReadConferenceCreateResponse"] = (Gcc.EncodeConferenceCreateResponse(ServerData), b => Gcc.TryReadConferenceCreateResponse(b, out _, out _, out _)),
        ["Mcs.TryReadConnectResponse"] = (Mcs.EncodeConnectResponse(0, Gcc.EncodeConferenceCreateResponse(ServerData)), b => Mcs.TryReadConnectResponse(b, out _, out _)),
        ["Mcs.TryReadDomainPdu"] = (Mcs.SendDataIndication(1002, 1003, new byte[40]), b => Mcs.TryReadDomainPdu(b, out _, out _)),
        ["StandardSecurity.TryReadServerCertificate"] = (Certificate, b =>
        {
            // A certificate the parser accepts must also be usable by the RSA step that follows it in the probe.
            if (StandardSecurity.TryReadServerCertificate(b, out var key, out _) == OperationStatus.Done)
            {
                StandardSecurity.EncryptClientRandom(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32), key!);
                StandardSecurity.EncryptClientRandom(System.Security.Cryptography.RandomNumberGenerator.GetBytes(48), key!);
            }
        }),
        ["SecurityHeader.TryRead"] = (SecurityHeader.Prepend(SecurityFlags.InfoPacket, new byte[8]), b => SecurityHeader.TryRead(b, out _, out _)),
        ["Licensing.TryRead"] = (Licensing.EncodeErrorAlert(LicenseErrorAlert.StatusValidClient, 2), b => Licensing.TryRead(b, out _, out _)),
        ["ShareControl.TryRead"] = (ShareControl.EncodeDemandActive(0x103EA, 0x03EA, "RDP", Capabilities.Minimal(1, 1920, 1080, 32), 1),
            b => ShareControl.TryRead(b, out _, out _, out _)),
        ["ShareControl.TryReadDemandActive"] = (ShareControl.EncodeDemandActive(0x103EA, 0x03EA, "RDP", Capabilities.Minimal(1, 1920, 1080, 32), 1)[6..],
            b => ShareControl.TryReadDemandActive(b, out _, out _)),
        ["ShareControl.TryReadData"] = (ShareControl.EncodeSetErrorInfo(0x103EA, 0x03EA, 0x7)[6..], b => ShareControl.TryReadData(b, out _, out _)),
        ["Capabilities.TryReadSets"] = (Capabilities.EncodeSets(Capabilities.Minimal(1, 1920, 1080, 32)), b => Capabilities.TryReadSets(b, 3, out _, out _)),
        ["TlsRecord.TryReadRecord"] = ([0x16, 0x03, 0x03, 0x00, 0x04, 0x0E, 0x00, 0x00, 0x00], b => TlsRecordHeader.TryReadRecord(b, out _, out _, out _)),
        ["TlsHandshake.TryReadServerHello"] = (ServerHelloBody(), b => TlsHandshake.TryReadServerHello(b, out _)),
        ["TlsHandshake.TryReadClientHello"] = (ServerHelloBody(), b => TlsHandshake.TryReadClientHello(b, out _)),
        ["TlsHandshake.TryReadFirstCertificate"] = ([0x00, 0x00, 0x08, 0x00, 0x00, 0x05, 0x30, 0x03, 0x02, 0x01, 0x01], b => TlsHandshake.TryReadFirstCertificate(b, out _)),
        ["TsRequest.TryRead"] = (new TsRequest(6, [NtlmNegotiate.Encode()], null, null, null, new byte[32]).Encode(), b => TsRequest.TryRead(b, out _, out _, out _)),
        ["TsRequest.TryReadFrameLength"] = ([0x30, 0x82, 0x01, 0x00], b => TsRequest.TryReadFrameLength(b, out _, out _, out _)),
        ["TsCredentials.TryDecodePassword"] = (TsCredentials.EncodePassword("LAB", "probe", "secret"), b => TsCredentials.TryDecodePassword(b, out _, out _)),
        ["NtlmChallenge.TryRead"] = (NtlmChallenge.Encode(NtlmNegotiate.DefaultFlags, new byte[8], "LAB",
            [new NtlmAvPair(NtlmAvId.NbComputerName, System.Text.Encoding.Unicode.GetBytes("VM"))], null), b => NtlmChallenge.TryRead(b, out _, out _, out _)),
        ["Ntlm.TryReadAvPairs"] = (Ntlm.EncodeAvPairs([new NtlmAvPair(NtlmAvId.NbComputerName, new byte[4])]), b => Ntlm.TryReadAvPairs(b, out _, out _)),
        ["Spnego.TryRead(init)"] = (SpnegoTests.InitSample(), b => Spnego.TryRead(b, out _, out _, out _)),
        ["Spnego.TryRead(resp)"] = (SpnegoTests.RespSample(), b => Spnego.TryRead(b, out _, out _, out _)),
        ["EarlyUserAuthorization.TryRead"] = ([0x00, 0x00, 0x00, 0x00], b => EarlyUserAuthorization.TryRead(b, out _, out _, out _)),
        ["Kerberos.TryReadReply"] = (KerberosTests.PreauthRequired, b => Kerberos.TryReadReply(b, out _, out _, out _)),
        ["Kerberos.TryReadReply (AS-REP)"] = (KerberosTests.AsReply, b => Kerberos.TryReadReply(b, out _, out _, out _)),
        ["Kerberos.TryReadTicket"] = (KerberosTests.AsReply, b => Kerberos.TryReadTicket(b, out _, out _, out _)),
        ["Kerberos.TryReadTcpLength"] = ([0x00, 0x00, 0x00, 0xF1], b => Kerberos.TryReadTcpLength(b, out _, out _)),
        // Issue 11: the first-bytes sniff runs on whatever a foreign service (or a hostile one) sends first.
        ["ServiceFingerprints.TryRead(http)"] = ("HTTP/1.0 400 Bad request\r\nServer: SimpleHTTP/0.6 Python/3.11.2\r\nContent-Type: text/html\r\n\r\n<!DOCTYPE HTML>"u8.ToArray(), SniffService),
        ["ServiceFingerprints.TryRead(ssh)"] = ("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10\r\n"u8.ToArray(), SniffService),
        ["ServiceFingerprints.TryRead(tls)"] = ([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28], SniffService),
        ["ServiceFingerprints.TryRead(tpkt)"] = ([0x03, 0x00, 0x00, 0x13, 0x0E, 0xD0, 0x00, 0x00, 0x12, 0x34, 0x00, 0x02, 0x00, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00], SniffService),
        ["RdpeUdp.TryReadSyn"] = (RdpeUdp.Encode(RdpeUdp.CreateClientSyn(0x1234)), b => RdpeUdp.TryReadSyn(b, out _, out _, out _)),
    };

    /// <summary>Both entry points of the sniff; what they name must stay printable and bounded whatever the bytes.</summary>
    private static void SniffService(byte[] b)
    {
        var status = ServiceFingerprints.TryRead(b, out var value, out int consumed);
        if (status == OperationStatus.Done)
        {
            Assert.InRange(consumed, 1, Math.Min(b.Length, ServiceFingerprints.MaxExamined));
            Printable(value!);
        }
        else
        {
            Assert.Null(value);
            Assert.Equal(0, consumed);
        }

        if (ServiceFingerprints.Identify(b) is { } named)
        {
            Printable(named);
        }
    }

    private static void Printable(ServiceFingerprint value)
    {
        Assert.DoesNotContain(value.Evidence, char.IsControl);
        Assert.True(value.Product is null || (value.Product.Length <= 60 && !value.Product.Any(char.IsControl)), value.Product);
    }

    private static byte[] ServerHelloBody()
        => [0x03, 0x03, .. new byte[32], 0x00, 0x13, 0x01, 0x00, 0x00, 0x06, 0x00, 0x2B, 0x00, 0x02, 0x03, 0x04];

    [Theory]
    [MemberData(nameof(EntryPoints))]
    public void Never_throws_on_random_truncated_or_mutated_input(string entryPoint)
    {
        var (seed, parse) = Parsers[entryPoint];
        var random = new Random(entryPoint.GetHashCode(StringComparison.Ordinal) ^ 0x5EED);
        void Check(byte[] input)
        {
            try
            {
                parse(input);
            }
            catch (Exception ex)
            {
                Assert.Fail($"{entryPoint} threw {ex.GetType().Name} ({ex.Message}) on {Convert.ToHexString(input)}");
            }
        }

        Check([]);
        for (int n = 0; n <= seed.Length; n++)
        {
            Check(seed[..n]);
        }

        for (int i = 0; i < RandomInputs; i++)
        {
            var input = new byte[random.Next(0, 300)];
            random.NextBytes(input);
            Check(input);
        }

        for (int i = 0; i < Mutations; i++)
        {
            Check(Mutate(seed, random));
        }
    }

    // Root causes the hostile-input review found, each pinned as the input that used to throw.
    [Fact]
    public void Server_security_block_shorter_than_its_random_is_truncated_not_an_exception()
    {
        // SC_SECURITY: method 128-bit, level high, serverRandomLen 32, serverCertLen 0 — and the random cut off.
        byte[] block = [0x02, 0x0C, 0x14, 0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00];
        Assert.Equal(OperationStatus.InvalidData, Gcc.TryReadServerData(block, out _, out var error));
        Assert.Equal(DecodeError.Truncated, error);
    }

    [Fact]
    public void Proprietary_certificate_with_a_modulus_bouncycastle_rejects_is_invalid_data()
    {
        // A 512-bit "modulus" with a small prime factor: BouncyCastle refuses it when the key is built, which used to
        // happen inside the Security Exchange step.
        byte[] certificate = Convert.FromHexString(
            "01000000010000000100000006005C005253413148000000000200003F00000001000100CD6857970C196EDBEB1AECBAD21576FDC03BA9D9BD4A49C8A3E0567B185D13227DEE08CE8B2F590084FD30618831C95533D44FC7931C966B4EAA8B3FE44D2FF1A20000000000000000");
        Assert.Equal(OperationStatus.InvalidData, StandardSecurity.TryReadServerCertificate(certificate, out _, out var error));
        Assert.Equal(DecodeError.BadValue, error);
    }

    [Theory]
    [InlineData("3003A00102")] // a credType that ends inside its own encoding
    [InlineData("3011A00F020D7FFFFFFFFFFFFFFFFFFFFFFFFF")] // a credType too large for an int
    [InlineData("300AA003020101A103040100")] // credentials that are not a TSPasswordCreds
    public void Malformed_ts_credentials_are_invalid_data(string hex)
    {
        Assert.Equal(OperationStatus.InvalidData, TsCredentials.TryDecodePassword(Convert.FromHexString(hex), out _, out _));
        Assert.Throws<FormatException>(() => TsCredentials.DecodePassword(Convert.FromHexString(hex)));
    }

    /// <summary>AFL-style havoc, small: flip bits, set interesting values, insert, delete, overwrite lengths.</summary>
    private static byte[] Mutate(byte[] seed, Random random)
    {
        var data = new List<byte>(seed);
        int steps = random.Next(1, 6);
        for (int s = 0; s < steps && data.Count > 0; s++)
        {
            int at = random.Next(data.Count);
            switch (random.Next(6))
            {
                case 0:
                    data[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1:
                    data[at] = (byte)(random.Next(4) switch { 0 => 0x00, 1 => 0xFF, 2 => 0x7F, _ => 0x80 });
                    break;
                case 2:
                    data.Insert(at, (byte)random.Next(256));
                    break;
                case 3:
                    data.RemoveAt(at);
                    break;
                case 4:
                    data.RemoveRange(at, data.Count - at);
                    break;
                default:
                    data[at] = (byte)random.Next(256);
                    break;
            }
        }

        return [.. data];
    }
}
