using System.Buffers;
using System.Security.Cryptography;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.Probe.Phases;

/// <summary>
/// The server half of CredSSP with NTLM, written against the spec independently of the client code path: it checks
/// the client's NTProofStr with the password it knows, recovers the exported session key, verifies the client's
/// pubKeyAuth and answers as a server of the given version would.
/// </summary>
internal sealed class FakeCredSspServer(int version, string domain, string user, string password, byte[] serverKey)
{
    public enum AfterAuthenticate
    {
        Accept,
        ErrorCode,
        Close,
        WrongKeyProof,
        BadSignature,
    }

    public AfterAuthenticate Mode { get; init; } = AfterAuthenticate.Accept;

    public uint ErrorCode { get; init; } = NtStatus.LogonFailure;

    public byte[]? EarlyAuthorization { get; init; }

    /// <summary>What the client delegated in authInfo.</summary>
    public (TsCredentialType Type, string Domain, string User, string Password)? Delegated { get; private set; }

    public TsRequest? AuthenticateRequest { get; private set; }

    public bool ClientProofVerified { get; private set; }

    private static readonly byte[] ServerChallenge = Convert.FromHexString("1122334455667788");

    public async Task RunAsync(Stream s, CancellationToken ct)
    {
        var first = await ScriptedServer.ReadTsRequestAsync(s, ct);
        var challenge = NtlmChallenge.Encode((NtlmNegotiateFlags)0xE2898235, ServerChallenge, "LAB",
            [Ntlm.StringPair(NtlmAvId.NbDomainName, "LAB"), Ntlm.StringPair(NtlmAvId.NbComputerName, "FAKE"),
             new(NtlmAvId.Timestamp, BitConverter.GetBytes(DateTimeOffset.UtcNow.ToFileTime()))],
            new NtlmVersion(10, 0, 20348, 15));
        await s.WriteAsync(new TsRequest(version, [challenge]).Encode(), ct);

        var auth = await ScriptedServer.ReadTsRequestAsync(s, ct);
        AuthenticateRequest = auth;
        var message = auth.FirstNegoToken!;
        Assert.Equal(OperationStatus.Done, Ntlm.TryGetField(message, 20, out var nt, out _));
        Assert.Equal(OperationStatus.Done, Ntlm.TryGetField(message, 52, out var encryptedKey, out _));
        var flags = (NtlmNegotiateFlags)BitConverter.ToUInt32(message, 60);

        // MS-NLMP 3.2.5.1.2: recompute NTProofStr from what the server knows.
        byte[] responseKey = NtlmV2.Ntowfv2(password, user, domain);
        byte[] proof = NtlmV2.NtProofStr(responseKey, ServerChallenge, nt[16..]);
        bool passwordRight = proof.AsSpan().SequenceEqual(nt[..16]);

        if (Mode == AfterAuthenticate.Close || (!passwordRight && Mode == AfterAuthenticate.Accept))
        {
            return;
        }

        if (Mode == AfterAuthenticate.ErrorCode)
        {
            await s.WriteAsync(new TsRequest(version, [], ErrorCode: ErrorCode).Encode(), ct);
            return;
        }

        byte[] exportedKey = NtlmV2.Rc4(NtlmV2.SessionBaseKey(responseKey, proof), encryptedKey);
        var session = new NtlmSession(exportedKey, flags, asServer: true);
        Assert.True(session.TryUnseal(auth.PubKeyAuth!, out var clientValue));
        Assert.Equal(CredSspBinding.ClientValue(Math.Min(version, 6), serverKey, auth.ClientNonce ?? []), clientValue);
        ClientProofVerified = true;

        byte[] serverValue = CredSspBinding.ServerValue(Math.Min(version, 6), Mode == AfterAuthenticate.WrongKeyProof ? [.. serverKey, 0x00] : serverKey, auth.ClientNonce ?? []);
        byte[] sealedProof = session.Seal(serverValue);
        if (Mode == AfterAuthenticate.BadSignature)
        {
            sealedProof[5] ^= 0xFF;
        }

        await s.WriteAsync(new TsRequest(version, [], PubKeyAuth: sealedProof).Encode(), ct);
        if (Mode != AfterAuthenticate.Accept)
        {
            return;
        }

        var last = await ScriptedServer.ReadTsRequestAsync(s, ct);
        Assert.True(session.TryUnseal(last.AuthInfo!, out var credentials));
        Delegated = TsCredentials.DecodePassword(credentials);
        if (EarlyAuthorization is { } bytes)
        {
            await s.WriteAsync(bytes, ct);
        }
    }

    /// <summary>A stand-in for an RSAPublicKey DER: what matters is that both sides bind the same bytes.</summary>
    public static byte[] SomeKey() => RandomNumberGenerator.GetBytes(270);
}
