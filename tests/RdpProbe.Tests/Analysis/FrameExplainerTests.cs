using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using RdpProbe.Analysis;
using RdpProbe.Protocol;
using static RdpProbe.Tests.Analysis.PacketBuilder;
using static RdpProbe.Tests.Analysis.RdpBytes;

namespace RdpProbe.Tests.Analysis;

/// <summary>--explain-frame past TCP: which frame a spec names, and what the payload decoding says (and never throws on).</summary>
public sealed class FrameExplainerTests
{
    private static string Explain(byte[] payload) => FrameExplainer.ExplainPayload(payload, "TCP 50000 -> 3389");

    private static byte[] FailureConfirm(byte code) => Hex($"03 00 00 13 0E D0 00 00 12 34 00 03 00 08 00 {code:X2} 00 00 00");

    private static byte[] CertificateRecord()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=rdp-lab", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero));
        byte[] der = certificate.RawData;
        int entry = 3 + der.Length;
        byte[] body = [(byte)(entry >> 16), (byte)(entry >> 8), (byte)entry, (byte)(der.Length >> 16), (byte)(der.Length >> 8), (byte)der.Length, .. der];
        return TlsHandshakeRecord(11, body);
    }

    [Fact]
    public void A_connection_request_shows_tpkt_x224_the_cookie_and_the_requested_protocols()
    {
        string text = Explain(ConnectionRequest(0x0B));
        Assert.Contains("TPKT (RFC 1006): version 3, length 43", text, StringComparison.Ordinal);
        Assert.Contains("X.224 Connection Request (MS-RDPBCGR 2.2.1.1)", text, StringComparison.Ordinal);
        Assert.Contains("cookie: Cookie: mstshash=probe", text, StringComparison.Ordinal);
        Assert.Contains("requestedProtocols 0x0000000B (ssl, hybrid, hybrid_ex)", text, StringComparison.Ordinal);
        Assert.Contains("  0000  03 00 00 2b ", text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_confirm_shows_the_selected_protocol_or_the_failure_code()
    {
        Assert.Contains("RDP_NEG_RSP: flags 0x1F, selectedProtocol 0x00000002 (hybrid)", Explain(ConnectionConfirm(2)), StringComparison.Ordinal);
        string both = Explain([.. ConnectionConfirm(1), .. FailureConfirm(5)]);
        Assert.Contains("selectedProtocol 0x00000001 (ssl)", both, StringComparison.Ordinal);
        Assert.Contains("RDP_NEG_FAILURE: failureCode 5 (hybrid_required_by_server)", both, StringComparison.Ordinal);
    }

    [Fact]
    public void Tls_records_and_the_handshake_messages_in_clear_are_decoded()
    {
        string hello = Explain(ClientHello());
        Assert.Contains("TLS record (RFC 8446 §5.1): handshake, version tls1.2 (0x0303)", hello, StringComparison.Ordinal);
        Assert.Contains("handshake: ClientHello", hello, StringComparison.Ordinal);
        Assert.Contains("2 cipher suites", hello, StringComparison.Ordinal);

        string flight = Explain([.. ServerHello(), .. CertificateRecord(), .. TlsHandshakeRecord(14, [])]);
        Assert.Contains("cipher suite TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 (0xC030)", flight, StringComparison.Ordinal);
        Assert.Contains("handshake: Certificate", flight, StringComparison.Ordinal);
        Assert.Contains("subject CN=rdp-lab; issuer CN=rdp-lab (self-signed)", flight, StringComparison.Ordinal);
        Assert.Contains("valid 2026-01-01 to 2027-01-01; key rsa 2048 bits", flight, StringComparison.Ordinal);
        Assert.Contains("handshake: ServerHelloDone", flight, StringComparison.Ordinal);

        string alert = Explain(Alert(2, 40));
        Assert.Contains("alert: fatal handshake_failure", alert, StringComparison.Ordinal);

        // After ChangeCipherSpec the handshake record is the encrypted Finished, not a message to decode.
        string finished = Explain([.. TlsRecord(20, 1, 1), .. TlsRecord(22, 40)]);
        Assert.Contains("encrypted handshake message (after ChangeCipherSpec: Finished)", finished, StringComparison.Ordinal);
        Assert.Contains("encrypted application data", Explain(TlsRecord(23, 100)), StringComparison.Ordinal);
    }

    [Fact]
    public void A_tsrequest_in_clear_shows_its_ntlm_message_and_error_code()
    {
        string negotiate = Explain(new TsRequest(6, [NtlmNegotiate.Encode()], null, null, null, new byte[32]).Encode());
        Assert.Contains("TSRequest (MS-CSSP 2.2.1): version 6, 1 negoToken(s), clientNonce", negotiate, StringComparison.Ordinal);
        Assert.Contains("NTLM NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1)", negotiate, StringComparison.Ordinal);

        string challenge = Explain(new TsRequest(6, [NtlmChallenge.Encode(NtlmNegotiate.DefaultFlags, new byte[8], "LAB", [], null)]).Encode());
        Assert.Contains("NTLM CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2)", challenge, StringComparison.Ordinal);
        Assert.Contains("target LAB", challenge, StringComparison.Ordinal);

        string error = Explain(new TsRequest(6, [], null, null, 0xC000006D).Encode());
        Assert.Contains("errorCode 0xC000006D (status_logon_failure)", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_pdu_cut_by_the_segment_end_says_it_continues()
    {
        Assert.Contains("10 of its 43 bytes are in this frame: the PDU continues in later segments", Explain(ConnectionRequest()[..10]), StringComparison.Ordinal);
        Assert.Contains("the record continues in later segments", Explain(ClientHello()[..20]), StringComparison.Ordinal);
        Assert.Contains("not the start of a TPKT, TLS record or TSRequest", Explain([0x42, 0x43]), StringComparison.Ordinal);
    }

    public static TheoryData<string> Samples => new() { "cr", "cc", "failure", "clienthello", "serverflight", "alert", "tsrequest", "challenge" };

    private static byte[] Sample(string name) => name switch
    {
        "cr" => ConnectionRequest(),
        "cc" => ConnectionConfirm(2),
        "failure" => FailureConfirm(1),
        "clienthello" => ClientHello(),
        "serverflight" => [.. ServerHello(), .. CertificateRecord(), .. TlsHandshakeRecord(14, [])],
        "alert" => Alert(2, 40),
        "tsrequest" => new TsRequest(6, [NtlmNegotiate.Encode()], null, null, 0xC000006D, new byte[32]).Encode(),
        _ => new TsRequest(6, [NtlmChallenge.Encode(NtlmNegotiate.DefaultFlags, new byte[8], "LAB", [new NtlmAvPair(NtlmAvId.NbComputerName, "VM"u8.ToArray())], null)]).Encode(),
    };

    [Theory]
    [MemberData(nameof(Samples))]
    public void Every_prefix_of_a_payload_is_explained_without_an_exception(string sample)
    {
        byte[] payload = Sample(sample);
        for (int n = 0; n <= payload.Length; n++)
        {
            string text = Explain(payload[..n]);
            Assert.StartsWith(n == 0 ? "TCP 50000 -> 3389: no payload" : $"TCP 50000 -> 3389 payload: {n} bytes", text, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public void Corrupted_payloads_are_explained_without_an_exception(string sample)
    {
        byte[] payload = Sample(sample);
        var random = new Random(16);

        // A server flight carries a certificate whose every mutation goes through X.509 decoding (~20 ms); fewer rounds
        // there keep the test short, the explain fuzz target (docs/FUZZING.md) goes further.
        int rounds = payload.Length > 1024 ? 300 : 2000;
        for (int i = 0; i < rounds; i++)
        {
            byte[] bad = (byte[])payload.Clone();
            for (int k = random.Next(1, 4); k > 0; k--)
            {
                bad[random.Next(bad.Length)] = (byte)random.Next(256);
            }

            Assert.NotEmpty(Explain(bad));
        }
    }

    [Fact]
    public void Hostile_lengths_and_record_floods_stay_bounded()
    {
        Assert.Contains("5 of its 65535 bytes", Explain(Hex("03 00 FF FF 02")), StringComparison.Ordinal);
        Assert.Contains("TLS record", Explain(Hex("16 03 03 FF FF 01 FF FF FF")), StringComparison.Ordinal);

        // 20,000 empty alert records: at most 64 are described, and the dump stops at 4 KiB.
        byte[] flood = Enumerable.Range(0, 20_000).SelectMany(_ => Hex("15 03 03 00 00")).ToArray();
        string text = Explain(flood);
        Assert.True(text.Split('\n').Length < 64 * 2 + 4096 / 16 + 10, $"{text.Split('\n').Length} lines");
        Assert.Contains($"... {flood.Length - FrameExplainer.MaxDumpBytes} more bytes", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("7", new[] { "a.pcap" }, ExplainStatus.Ok, "a.pcap", 7)]
    [InlineData("7", new[] { "a.pcap", "b.pcap" }, ExplainStatus.Ambiguous, "", 7)]
    [InlineData("b.pcap:12", new[] { "a.pcap", "b.pcap" }, ExplainStatus.Ok, "b.pcap", 12)]
    [InlineData("b.pcap:12", new[] { "caps/a.pcap", "caps/b.pcap" }, ExplainStatus.Ok, "caps/b.pcap", 12)]
    [InlineData(@"C:\caps\a.pcap:3", new[] { @"C:\caps\a.pcap", "b.pcap" }, ExplainStatus.Ok, @"C:\caps\a.pcap", 3)]
    [InlineData("c.pcap:1", new[] { "a.pcap", "b.pcap" }, ExplainStatus.NoSuchFile, "", 1)]
    [InlineData("0", new[] { "a.pcap" }, ExplainStatus.BadSpec, "", 0)]
    [InlineData("a.pcap:", new[] { "a.pcap" }, ExplainStatus.BadSpec, "", 0)]
    [InlineData("-3", new[] { "a.pcap" }, ExplainStatus.BadSpec, "", 0)]
    [InlineData("x", new[] { "a.pcap" }, ExplainStatus.BadSpec, "", 0)]
    public void A_frame_spec_names_one_file_and_a_frame_in_it(string spec, string[] files, ExplainStatus status, string file, int number)
    {
        Assert.Equal(status, FrameExplainer.Resolve(files, spec, out string resolved, out int n));
        if (status == ExplainStatus.Ok)
        {
            Assert.Equal(file, resolved);
            Assert.Equal(number, n);
        }
    }
}
