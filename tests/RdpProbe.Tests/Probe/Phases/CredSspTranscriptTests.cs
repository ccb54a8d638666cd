using System.Buffers;
using RdpProbe.Diagnosis;
using RdpProbe.Probe.Phases;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.Probe.Phases;

/// <summary>
/// A CredSSP exchange recorded from the real FreeRDP 2.11 shadow server of the lab (NLA, SAM user LAB\probe with
/// password Passw0rd!) on 2026-11-22 by CredSspTranscriptLabTests, with the client randoms fixed: NTLM client
/// challenge 0102030405060708, exported session key A0..AF, CredSSP nonce 40..5F. Replaying the server's two
/// TSRequests must reproduce the client's bytes exactly, and the server's pubKeyAuth must verify.
/// </summary>
public sealed class CredSspTranscriptTests
{
    private static readonly CredSspRandomness Fixed = new(
        Convert.FromHexString("0102030405060708"),
        Convert.FromHexString("A0A1A2A3A4A5A6A7A8A9AAABACADAEAF"),
        Enumerable.Range(0x40, 32).Select(i => (byte)i).ToArray());

    private static readonly CredSspCredentials Lab = new("LAB", "probe", "Passw0rd!");

    /// <summary>BIT STRING content of the shadow server's certificate key (RSAPublicKey, 2048 bits).</summary>
    private static readonly byte[] ServerKey = Convert.FromHexString(
        "3082010A0282010100C47C37F4772A37BA8F2CB3670697DD5D2B97FD24D8A5354370FF058E90B3B504934DB46C24272C" +
        "0C42A6B4E8DC0382F449BDC837F0428262516D3C6C3DA75C69959A1C99DEE08DD2BC1F024BDC5E1A466CBC0A8541DEB8" +
        "BD20509449ACEE7047F7A94423ADC789520E79367FC70236811887246BDCD12E9E5F516985DD0ED05A1A5097975A7DA3" +
        "D9DD5102DE0271C2F56E833E7BE891E5BC0FFE6D2AC2EA9BB2E7A939393CA61DCBF7989ACFFF23B6A2D5CC674694E1BD" +
        "5489517A18CBC582B88CCCFAE4B8CD9A7936044419DFFB78D1040128CF6C6EB7C260E8850117C077897EB48F9B143397" +
        "EA85977A31898C9869E997CC7A742A02F5754007E55281F1510203010001");

    private static readonly byte[] ClientNegotiate = Convert.FromHexString(
        "3037A003020106A130302E302CA02A04284E544C4D5353500001000000B78208E2000000002800000000000000280000" +
        "000A007C4F0000000F");

    private static readonly byte[] ServerChallenge = Convert.FromHexString(
        "30819FA003020106A17430723070A06E046C4E544C4D53535000020000000400040038000000B78288E24BFAB15CED50" +
        "A6C90000000000000000300030003C0000000601B11D0000000F56004D000200040056004D000100040056004D000400" +
        "040076006D000300040076006D00070008000008C310B17ADD0100000000A5220420E040DD6A98C3CC7EC5FE5DA6768F" +
        "88455EB18BB3633ED08D3ACA9BE794E49195");

    private static readonly byte[] ClientAuthenticate = Convert.FromHexString(
        "3082018DA003020106A182012C3082012830820124A08201200482011C4E544C4D535350000300000018001800780000" +
        "007C007C009000000006000600580000000A000A005E0000001000100068000000100010000C010000B58288E20A007C" +
        "4F0000000F1B1DC64EB6F1858E2A7F5843B83B28754C0041004200700072006F0062006500520044005000500052004F" +
        "004200450000000000000000000000000000000000000000000000000062AE8B68A11CD4B210DA7A0724F6AF0E010100" +
        "00000000000008C310B17ADD010102030405060708000000000200040056004D000100040056004D000400040076006D" +
        "000300040076006D00070008000008C310B17ADD0106000400020000000A001000000000000000000000000000000000" +
        "0000000000000000000C82B19748B16703D4125C5CF4D6A5F4A332043001000000BE96F4307402CD92000000001F1049" +
        "29A8F96244770BB5C218F301789C3560BBDD762E13A59184F2D543B4D7A5220420404142434445464748494A4B4C4D4E" +
        "4F505152535455565758595A5B5C5D5E5F");

    private static readonly byte[] ServerPubKeyAuth = Convert.FromHexString(
        "305DA003020106A33204300100000019FC78E200C6DFCD000000007246B64959C579F11EDE746632E4B47C57B222DE5C" +
        "34EA1FC25C01C5A5F47632A5220420404142434445464748494A4B4C4D4E4F505152535455565758595A5B5C5D5E5F");

    private static readonly byte[] ClientAuthInfo = Convert.FromHexString(
        "3054A003020106A24D044B01000000078226EB897E4C67010000006F53B9823941747B7FC96AFD8827D5881371851A46" +
        "CCE221ABF0866318D52F9CB17CD1FAEB00726B03862E4DB96845E7EF7826CCEF78786F11AC13");

    private static async Task<(CredSspResult Result, PhaseRecord Record, byte[] Written)> Replay()
    {
        var stream = new ReplayStream([.. ServerChallenge, .. ServerPubKeyAuth]);
        var record = new PhaseRecord(Phase.Credssp);
        var result = await CredSspPhase.RunAsync(stream, ServerKey, Lab, record, Fixed, CancellationToken.None);
        return (result, record, stream.Written.ToArray());
    }

    [Fact]
    public async Task Replaying_the_server_reproduces_every_client_byte()
    {
        var (result, record, written) = await Replay();
        Assert.True(record.Status == PhaseStatus.Ok, record.Detail);
        Assert.Equal([.. ClientNegotiate, .. ClientAuthenticate, .. ClientAuthInfo], written);
        Assert.True(result.ServerPubKeyAuthVerified);
        Assert.True(result.Authenticated);
    }

    [Fact]
    public async Task What_the_freerdp_server_says_about_itself()
    {
        var (result, _, _) = await Replay();
        Assert.Equal(6, result.ServerVersion);
        Assert.Equal("VM", result.Ntlm!.NetbiosComputerName);
        Assert.Equal("vm", result.Ntlm.DnsComputerName);
        Assert.Equal("6.1.7601", result.Ntlm.ProductVersion);
        Assert.Equal("VM", result.Ntlm.TargetName);
    }

    [Fact]
    public void The_server_side_of_the_recording_checks_out_with_the_published_algorithms()
    {
        // Play the server: recover the exported key from AUTHENTICATE with the password, then unseal both client buffers.
        Assert.Equal(OperationStatus.Done, TsRequest.TryRead(ClientAuthenticate, out var auth, out _, out _));
        Assert.Equal(OperationStatus.Done, TsRequest.TryRead(ServerChallenge, out var challengeRequest, out _, out _));
        Assert.Equal(OperationStatus.Done, NtlmChallenge.TryRead(challengeRequest!.FirstNegoToken, out var challenge, out _, out _));
        var message = auth!.FirstNegoToken!;
        Assert.Equal(OperationStatus.Done, Ntlm.TryGetField(message, 20, out var nt, out _));
        Assert.Equal(OperationStatus.Done, Ntlm.TryGetField(message, 52, out var encryptedKey, out _));
        byte[] responseKey = NtlmV2.Ntowfv2("Passw0rd!", "probe", "LAB");
        Assert.Equal(nt[..16].ToArray(), NtlmV2.NtProofStr(responseKey, challenge!.ServerChallenge, nt[16..]));
        byte[] exported = NtlmV2.Rc4(NtlmV2.SessionBaseKey(responseKey, nt[..16]), encryptedKey);
        Assert.Equal(Fixed.ExportedSessionKey, exported);

        var server = new NtlmSession(exported, (NtlmNegotiateFlags)BitConverter.ToUInt32(message, 60), asServer: true);
        Assert.True(server.TryUnseal(auth.PubKeyAuth!, out var clientProof));
        Assert.Equal(CredSspBinding.ClientValue(6, ServerKey, Fixed.ClientNonce), clientProof);
        server.Seal([]); // the server's own pubKeyAuth used its sequence number 0
        Assert.Equal(OperationStatus.Done, TsRequest.TryRead(ClientAuthInfo, out var last, out _, out _));
        Assert.True(server.TryUnseal(last!.AuthInfo!, out var credentials));
        Assert.Equal((TsCredentialType.Password, "LAB", "probe", "Passw0rd!"), TsCredentials.DecodePassword(credentials));
    }

    private sealed class ReplayStream(byte[] toRead) : Stream
    {
        private readonly MemoryStream _read = new(toRead);

        public MemoryStream Written { get; } = new();

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => _read.Read(buffer, offset, count);

        public override void Write(byte[] buffer, int offset, int count) => Written.Write(buffer, offset, count);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
