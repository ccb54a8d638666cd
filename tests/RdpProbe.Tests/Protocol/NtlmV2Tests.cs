using System.Text;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.Protocol;

/// <summary>
/// MS-NLMP 4.2.4 "NTLMv2 Authentication" published example: user "User", domain "Domain", password "Password",
/// workstation "COMPUTER", server challenge 0123456789abcdef, client challenge aa×8, random session key 55×16, time 0.
/// Every intermediate value the spec prints is pinned.
/// </summary>
public sealed class NtlmV2Tests
{
    private static byte[] H(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    private static readonly byte[] ServerChallenge = H("0123456789abcdef");
    private static readonly byte[] ClientChallenge = H("aaaaaaaaaaaaaaaa");
    private static readonly byte[] RandomSessionKey = H("55555555555555555555555555555555");

    // 4.2.4.3: CHALLENGE_MESSAGE with target name "Server", flags 0xe28a8233, AV pairs NbDomain "Domain", NbComputer "Server".
    private static readonly byte[] SpecChallenge = H(
        "4e544c4d53535000 02000000 0c000c00 38000000 33828ae2 0123456789abcdef 0000000000000000" +
        "24002400 44000000 0600 7017 000000 0f" +
        "530065007200760065007200" +
        "02000c00 44006f006d00610069006e00 01000c00 530065007200760065007200 00000000");

    // 4.2.4.3: AUTHENTICATE_MESSAGE: fields (domain at 0x48, user 0x54, workstation 0x5c, LM 0x6c, NT 0x84, key 0xd8),
    // flags 0xe2888235, VERSION 5.1.2600 rev 15, then the payload.
    private static readonly byte[] SpecAuthenticate = H(
        "4e544c4d53535000 03000000" +
        "18001800 6c000000" + "54005400 84000000" + "0c000c00 48000000" + "08000800 54000000" + "10001000 5c000000" + "10001000 d8000000" +
        "358288e2" + "0501 280a 000000 0f" +
        "44006f006d00610069006e00" + "5500730065007200" + "43004f004d0050005500540045005200" +
        "86c35097ac9cec102554764a57cccc19 aaaaaaaaaaaaaaaa" +
        "68cd0ab851e51c96aabc927bebef6a1c" +
        "0101 000000000000 0000000000000000 aaaaaaaaaaaaaaaa 00000000" +
        "02000c00 44006f006d00610069006e00 01000c00 530065007200760065007200 00000000 00000000" +
        "c5dad2544fc9799094ce1ce90bc9d03e");

    private static NtlmAuthenticateResult SpecRun()
    {
        Assert.Equal(System.Buffers.OperationStatus.Done, NtlmChallenge.TryRead(SpecChallenge, out var challenge, out _, out _));
        var input = new NtlmAuthenticateInput("Domain", "User", "Password", "COMPUTER", ClientChallenge, RandomSessionKey,
            Timestamp: 0, Flags: (NtlmNegotiateFlags)0xe2888235, Version: new NtlmVersion(5, 1, 2600, 15));
        return NtlmAuthenticate.Create(NtlmNegotiate.Encode(), challenge!, input);
    }

    [Fact]
    public void NTOWFv2_4_2_4_1_1()
        => Assert.Equal(H("0c868a403bfd7a93a3001ef22ef02e3f"), NtlmV2.Ntowfv2("Password", "User", "Domain"));

    [Fact]
    public void Nt_hash_is_md4_of_the_unicode_password()
        => Assert.Equal(H("fc525c9683e8fe067095ba2ddc971889"), NtlmV2.NtHash("Passw0rd!")); // LAB.md: the lab SAM entry

    [Fact]
    public void Responses_and_keys_4_2_4_1_and_4_2_4_2()
    {
        var run = SpecRun();
        Assert.Equal(H("0c868a403bfd7a93a3001ef22ef02e3f"), run.ResponseKeyNt);
        Assert.Equal(H("68cd0ab851e51c96aabc927bebef6a1c"), run.NtProofStr);
        Assert.Equal(H("8de40ccadbc14a82f15cb0ad0de95ca3"), run.SessionBaseKey);
        Assert.Equal(H("86c35097ac9cec102554764a57cccc19 aaaaaaaaaaaaaaaa"), run.LmChallengeResponse);
        Assert.Equal(H("c5dad2544fc9799094ce1ce90bc9d03e"), run.EncryptedRandomSessionKey);
        Assert.Null(run.Mic);
    }

    [Fact]
    public void Authenticate_message_4_2_4_3_byte_for_byte()
        => Assert.Equal(SpecAuthenticate, SpecRun().Message);

    [Fact]
    public void Keys_and_sealed_message_4_2_4_4()
    {
        var session = SpecRun().Session;
        Assert.Equal(H("59f600973cc4960a25480a7c196e4c58"), session.ClientSealKey);
        Assert.Equal(H("4788dc861b4782f35d43fd98fe1a2d39"), session.ClientSignKey);

        byte[] sealedBuffer = session.Seal(Encoding.Unicode.GetBytes("Plaintext"));

        // CredSSP layout: signature (Version 1, RC4(HMAC_MD5(SignKey, SeqNum ‖ Message)[0..7]), SeqNum 0) ‖ sealed data.
        Assert.Equal(H("01000000 7fb38ec5c55d4976 00000000"), sealedBuffer[..16]);
        Assert.Equal(H("54e50165bf1936dc996020c1811b0f06fb5f"), sealedBuffer[16..]);
        Assert.Equal(1u, session.SendSequence);
    }

    [Fact]
    public void The_server_side_unseals_what_the_client_seals_and_sequence_numbers_advance()
    {
        var client = new NtlmSession(RandomSessionKey, (NtlmNegotiateFlags)0xe2888235);
        var server = new NtlmSession(RandomSessionKey, (NtlmNegotiateFlags)0xe2888235, asServer: true);
        for (int i = 0; i < 3; i++)
        {
            byte[] message = Encoding.ASCII.GetBytes($"message {i}");
            Assert.True(server.TryUnseal(client.Seal(message), out var got));
            Assert.Equal(message, got);
            Assert.True(client.TryUnseal(server.Seal(message), out got));
            Assert.Equal(message, got);
        }

        Assert.Equal(3u, client.SendSequence);
        Assert.Equal(3u, client.ReceiveSequence);
    }

    [Fact]
    public void A_tampered_buffer_does_not_verify()
    {
        var client = new NtlmSession(RandomSessionKey, (NtlmNegotiateFlags)0xe2888235);
        var server = new NtlmSession(RandomSessionKey, (NtlmNegotiateFlags)0xe2888235, asServer: true);
        byte[] sealedBuffer = server.Seal(Encoding.ASCII.GetBytes("pubKeyAuth"));
        sealedBuffer[^1] ^= 1;
        Assert.False(client.TryUnseal(sealedBuffer, out _));
    }

    [Fact]
    public void Modern_challenge_gets_a_mic_flags_and_zero_lm_response()
    {
        var challengeBytes = NtlmChallenge.Encode((NtlmNegotiateFlags)0xE2898235, ServerChallenge, "LAB",
            [Ntlm.StringPair(NtlmAvId.NbDomainName, "LAB"), new(NtlmAvId.Timestamp, BitConverter.GetBytes(0x01DC000000000000L))],
            new NtlmVersion(10, 0, 17763, 15));
        NtlmChallenge.TryRead(challengeBytes, out var challenge, out _, out _);
        byte[] negotiate = NtlmNegotiate.Encode();
        var run = NtlmAuthenticate.Create(negotiate, challenge!, new NtlmAuthenticateInput("LAB", "probe", "Passw0rd!", "RDPPROBE", ClientChallenge, RandomSessionKey));

        Assert.Equal(new byte[24], run.LmChallengeResponse);
        Assert.NotNull(run.Mic);

        // The MIC sits at offset 72 and covers the three messages with the MIC field zeroed (MS-NLMP 3.1.5.1.2).
        var zeroed = (byte[])run.Message.Clone();
        Array.Clear(zeroed, 72, 16);
        byte[] exportedKey = RandomSessionKey;
        Assert.Equal(System.Security.Cryptography.HMACMD5.HashData(exportedKey, negotiate.Concat(challengeBytes).Concat(zeroed).ToArray()), run.Mic);
        Assert.Equal(run.Mic, run.Message[72..88]);

        // The blob uses the server's timestamp and carries MsvAvFlags = MIC present.
        Assert.Equal(BitConverter.GetBytes(0x01DC000000000000L), run.NtChallengeResponse[24..32]);
        Assert.True(Ntlm.TryReadAvPairs(run.NtChallengeResponse.AsSpan(16 + 28, run.NtChallengeResponse.Length - 16 - 28 - 4), out var pairs, out _));
        Assert.Equal(BitConverter.GetBytes(2u), pairs.Single(p => p.Id == NtlmAvId.Flags).Value);
        Assert.Equal(new byte[16], pairs.Single(p => p.Id == NtlmAvId.ChannelBindings).Value);
    }

    [Fact]
    public void Input_and_result_do_not_print_the_password()
        => Assert.DoesNotContain("Passw0rd!", new NtlmAuthenticateInput("LAB", "probe", "Passw0rd!", "W", ClientChallenge, RandomSessionKey).ToString(), StringComparison.Ordinal);
}
