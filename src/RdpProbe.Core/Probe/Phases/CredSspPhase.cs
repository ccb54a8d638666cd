using System.Buffers;
using System.Security.Cryptography;
using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Probe.Phases;

/// <summary>
/// The credssp phase (MS-CSSP 3.1.5, NTLM per MS-NLMP 3.1.5): TSRequest with NTLM NEGOTIATE, the server's CHALLENGE
/// and what it reveals; with credentials, AUTHENTICATE with the public-key binding and then the sealed credentials.
/// </summary>
internal static partial class CredSspPhase
{
    /// <summary>
    /// Runs the phase over <paramref name="tls"/>. <paramref name="serverSubjectPublicKey"/> is the BIT STRING content of
    /// the server certificate's SubjectPublicKeyInfo (MS-CSSP 3.1.5: what pubKeyAuth binds to). Never throws for peer
    /// behaviour: the outcome is in <paramref name="record"/> and the returned result.
    /// </summary>
    internal static Task<CredSspResult> RunAsync(Stream tls, byte[] serverSubjectPublicKey, CredSspCredentials? credentials, PhaseRecord record, CancellationToken ct)
        => RunAsync(tls, serverSubjectPublicKey, credentials, record, null, CredSspAuth.Ntlm, ct);

    /// <summary>Same, authenticating as <paramref name="auth"/> says (raw NTLM, or SPNEGO with Kerberos first).</summary>
    internal static Task<CredSspResult> RunAsync(Stream tls, byte[] serverSubjectPublicKey, CredSspCredentials? credentials, PhaseRecord record, CredSspAuth auth, CancellationToken ct)
        => RunAsync(tls, serverSubjectPublicKey, credentials, record, null, auth, ct);

    internal static Task<CredSspResult> RunAsync(Stream tls, byte[] serverSubjectPublicKey, CredSspCredentials? credentials, PhaseRecord record, CredSspRandomness? randomness, CancellationToken ct)
        => RunAsync(tls, serverSubjectPublicKey, credentials, record, randomness, CredSspAuth.Ntlm, ct);

    /// <summary>
    /// Same, with the client's random values fixed (transcript tests replay a recorded exchange byte for byte).
    /// Null draws them from the system's cryptographic generator.
    /// </summary>
    internal static async Task<CredSspResult> RunAsync(Stream tls, byte[] serverSubjectPublicKey, CredSspCredentials? credentials, PhaseRecord record, CredSspRandomness? randomness, CredSspAuth auth, CancellationToken ct)
    {
        var result = new CredSspResult { Auth = auth.Mechanism };
        var io = new PhaseIo(tls, record, ct);
        SpnegoNtlm? spnego = null;
        try
        {
            if (auth.Mechanism != AuthMechanism.Ntlm)
            {
                result.Spnego = true;
                spnego = new SpnegoNtlm();
                if (await KerberosAsync(io, result, auth, serverSubjectPublicKey, credentials, randomness ?? CredSspRandomness.Fresh(), spnego).ConfigureAwait(false))
                {
                    return result;
                }

                if (!spnego.InitSent)
                {
                    // No Kerberos token could be had, so NTLM is the only mechanism left: Negotiate then sends raw NTLM,
                    // without the SPNEGO wrapper (FreeRDP 3's winpr Negotiate: "if the only available mech is NTLM use it
                    // directly"; Windows' Negotiate sends a bare NTLMSSP token the same way). NTLM-only servers such as
                    // FreeRDP 2 take it; a SPNEGO token they refuse.
                    spnego = null;
                    result.Mechanism = "ntlm";
                    result.KerberosNote += "; NTLM goes without the SPNEGO wrapper, as Negotiate sends it when NTLM is the only mechanism left";
                }
            }

            var exchange = await NegotiateAsync(io, result, spnego).ConfigureAwait(false);
            if (exchange is null)
            {
                return result;
            }

            if (credentials is null)
            {
                record.Detail = Summary(result) + "; no credentials given, stopped after the NTLM challenge";
                return result;
            }

            await AuthenticateAsync(io, result, exchange.Value.Negotiate, exchange.Value.Challenge, serverSubjectPublicKey, credentials, randomness ?? CredSspRandomness.Fresh(), spnego).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            io.RecordFailure(ex);
        }
        finally
        {
            if (spnego is { InitSent: true })
            {
                result.SpnegoOffered = spnego.Offered.Select(SpnegoMechs.Name).ToList();
            }

            if (result.KerberosNote is { } note)
            {
                record.Detail = string.IsNullOrEmpty(record.Detail) ? note : $"{note}; {record.Detail}";
            }
        }

        return result;
    }

    /// <summary>First round trip: TSRequest(v6, NEGOTIATE) → TSRequest(CHALLENGE) or TSRequest(errorCode).</summary>
    private static async Task<(byte[] Negotiate, NtlmChallenge Challenge)?> NegotiateAsync(PhaseIo io, CredSspResult result, SpnegoNtlm? spnego)
    {
        byte[] negotiate = NtlmNegotiate.Encode();
        var request = new TsRequest(TsRequest.MaxVersion, [spnego is null ? negotiate : spnego.Outgoing(negotiate, mic: null)]);
        io.Doing = "sending the NTLM NEGOTIATE";
        await io.SendAsync(request.Encode(), $"TSRequest v{TsRequest.MaxVersion} with {spnego?.Describe("NTLM NEGOTIATE") ?? "NTLM NEGOTIATE"} (flags 0x{(uint)NtlmNegotiate.DefaultFlags:X8})").ConfigureAwait(false);

        io.Doing = "waiting for the answer to the NTLM NEGOTIATE";
        var answer = await ReadTsRequestAsync(io, "after the NTLM NEGOTIATE").ConfigureAwait(false);
        result.ServerVersion ??= answer.Version;
        result.NegotiatedVersion ??= Math.Min(answer.Version, TsRequest.MaxVersion);
        if (answer.ErrorCode is { } code)
        {
            result.ErrorCode = code;
            io.Received(answer.Length, $"TSRequest v{answer.Request.Version} with errorCode {NtStatus.Name(code)} (0x{code:X8})");
            io.Record.Fail(Ending.AuthFailed, Codes.NtStatus(code), $"the server refused the NTLM NEGOTIATE: {NtStatus.Meaning(code)}");
            return null;
        }

        var token = answer.Request.FirstNegoToken;
        if (spnego is not null && token is not null)
        {
            var resp = ReadSpnegoResp(io, answer, token, "after the NTLM NEGOTIATE");
            if (resp.NegState == SpnegoNegState.Reject)
            {
                io.Received(answer.Length, $"TSRequest v{answer.Version} with SPNEGO {resp}");
                io.Record.Fail(Ending.AuthFailed, Codes.SpnegoReject, "the server rejected NTLM in SPNEGO (negState reject)");
                return null;
            }

            result.Mechanism = "ntlm";
            result.NegState ??= resp.NegState is { } state ? Spnego.StateName(state) : null;
            result.SupportedMech ??= resp.SupportedMech is { } mech ? SpnegoMechs.Name(mech) : null;
            token = resp.ResponseToken;
        }

        if (token is null)
        {
            io.Received(answer.Length, $"TSRequest v{answer.Version} without a negoToken");
            throw new PhaseFailedException(Ending.ProtocolViolation, null, "the server's TSRequest after NEGOTIATE carries no negoToken (expected the NTLM CHALLENGE)");
        }

        var status = NtlmChallenge.TryRead(token, out var challenge, out _, out var error);
        if (status != OperationStatus.Done)
        {
            io.Received(answer.Length, $"TSRequest v{answer.Version} with a {token.Length}-byte negoToken that is not an NTLM CHALLENGE");
            string what = token.Length > 0 && token[0] is 0x60 or 0xA0 or 0xA1
                ? "an SPNEGO token, not raw NTLM"
                : status == OperationStatus.NeedMoreData ? "a truncated NTLM CHALLENGE" : $"not an NTLM CHALLENGE ({PhaseIo.Describe(error)})";
            throw new PhaseFailedException(Ending.ProtocolViolation, null, $"the server's negoToken after NEGOTIATE is {what}");
        }

        var info = NtlmChallengeInfo.From(challenge!, DateTimeOffset.UtcNow);
        result.Ntlm = info;
        io.Received(answer.Length, $"TSRequest v{answer.Version} with NTLM CHALLENGE from {info.NetbiosComputerName ?? info.TargetName ?? "?"}" +
            (info.ProductVersion is null ? "" : $" (Windows version {info.ProductVersion})"));
        return (negotiate, challenge!);
    }

    /// <summary>
    /// Second and third flights (MS-CSSP 3.1.5 steps 3–5): AUTHENTICATE with pubKeyAuth (and clientNonce from v5), the
    /// server's pubKeyAuth or errorCode, then authInfo with the sealed password credentials.
    /// </summary>
    private static async Task AuthenticateAsync(PhaseIo io, CredSspResult result, byte[] negotiate, NtlmChallenge challenge, byte[] serverKey, CredSspCredentials credentials, CredSspRandomness randomness, SpnegoNtlm? spnego)
    {
        int version = result.NegotiatedVersion ?? TsRequest.MaxVersion;
        if ((challenge.Flags & NtlmNegotiateFlags.ExtendedSessionSecurity) == 0)
        {
            throw new PhaseFailedException(Ending.ProtocolViolation, null, "the server's NTLM CHALLENGE refuses extended session security, which NTLMv2 sealing for CredSSP needs");
        }

        var input = new NtlmAuthenticateInput(credentials.Domain, credentials.User, credentials.Password, Workstation,
            randomness.ClientChallenge, randomness.ExportedSessionKey);
        var auth = NtlmAuthenticate.Create(negotiate, challenge, input);
        var session = auth.Session;
        result.Session = session;

        byte[]? nonce = CredSspBinding.UsesHash(version) ? randomness.ClientNonce : null;

        // In SPNEGO the mechListMIC comes first (it takes sequence number 0, MS-SPNG 3.3.5.1), then pubKeyAuth.
        byte[] authToken = spnego is null ? auth.Message : spnego.Outgoing(auth.Message, session.Sign(Spnego.EncodeMechTypeList(spnego.Offered)));
        byte[] pubKeyAuth = session.Seal(CredSspBinding.ClientValue(version, serverKey, nonce));
        var request = new TsRequest(TsRequest.MaxVersion, [authToken], PubKeyAuth: pubKeyAuth, ClientNonce: nonce);
        string binding = nonce is null ? "sealed server public key (CredSSP v2-4)" : "SHA-256 key binding with client nonce (CredSSP v5+)";
        string what = $"NTLMv2 AUTHENTICATE for {credentials.DisplayName}{(auth.Mic is null ? "" : " (MIC)")}";
        io.Doing = "sending the NTLM AUTHENTICATE";
        await io.SendAsync(request.Encode(), $"TSRequest v{TsRequest.MaxVersion} with {spnego?.Describe(what, withMic: true) ?? what} and pubKeyAuth: {binding}").ConfigureAwait(false);

        io.Doing = "waiting for the answer to the NTLM AUTHENTICATE";
        ReadAnswer answer;
        try
        {
            answer = await ReadTsRequestAsync(io, "after the NTLM AUTHENTICATE").ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is PhaseFailedException { Ending: Ending.Closed } || TransportErrors.IsReset(ex))
        {
            // No errorCode, just the end of the connection: CredSSP v2 servers and FreeRDP (towards every version)
            // report a failed logon this way (MS-CSSP 3.1.5 leaves errorCode optional).
            string how = TransportErrors.IsReset(ex) ? "reset" : "closed";
            if (TransportErrors.IsReset(ex))
            {
                // Issue 11: a rejected logon ends with an encrypted TLS alert and a FIN (FreeRDP) or an errorCode
                // (MS-CSSP 2.2.1); a bare reset is not the server saying no. CauseRanking words the verdict.
                io.Record.Attribution = new Attribution(Party.Client, LastBytes.Nothing, EndedHow.Reset, Party.Server)
                {
                    WhatDetail = "NTLM AUTHENTICATE",
                    TlsSelected = true,
                    AfterServerHello = true,
                };
                throw new PhaseFailedException(Ending.Reset, Codes.ResetAfterAuthenticate,
                    "the connection was reset right after the NTLM AUTHENTICATE, with no TLS alert, FIN or error code from the server");
            }

            io.Record.Attribution = new Attribution(Party.Server, LastBytes.TlsEncrypted, EndedHow.Fin, Party.Server)
            {
                WhatDetail = "alert or close after the NTLM AUTHENTICATE",
                ServerOrderlyEnd = true,
                TlsSelected = true,
                AfterServerHello = true,
            };
            throw new PhaseFailedException(Ending.AuthFailed, null,
                $"the server {how} the connection right after the NTLM AUTHENTICATE without an error code: wrong password, unknown user or account not allowed (CredSSP v2 servers and FreeRDP send no error code)");
        }

        if (answer.ErrorCode is { } code)
        {
            result.ErrorCode = code;
            io.Received(answer.Length, $"TSRequest v{answer.Version} with errorCode {NtStatus.Name(code)} (0x{code:X8})");
            io.Record.Fail(Ending.AuthFailed, Codes.NtStatus(code), $"the server refused the credentials of {credentials.DisplayName}: {NtStatus.Meaning(code)}");
            return;
        }

        if (spnego is not null && answer.Request.FirstNegoToken is { } finalToken)
        {
            var resp = ReadSpnegoResp(io, answer, finalToken, "after the NTLM AUTHENTICATE");
            if (resp.NegState == SpnegoNegState.Reject)
            {
                io.Received(answer.Length, $"TSRequest v{answer.Version} with SPNEGO {resp}");
                io.Record.Fail(Ending.AuthFailed, Codes.SpnegoReject, $"the server refused the NTLM logon of {credentials.DisplayName} (SPNEGO negState reject)");
                return;
            }

            if (resp.MechListMic is { } serverMic && !session.Verify(Spnego.EncodeMechTypeList(spnego.Offered), serverMic))
            {
                io.Received(answer.Length, $"TSRequest v{answer.Version} with a mechListMIC that does not verify");
                throw new PhaseFailedException(Ending.ProtocolViolation, null, "the server's SPNEGO mechListMIC does not verify with the NTLM session keys (the mechanism list was altered, or a broken server)");
            }
        }

        if (answer.Request.PubKeyAuth is not { } serverProof)
        {
            io.Received(answer.Length, $"TSRequest v{answer.Version} without pubKeyAuth or errorCode");
            throw new PhaseFailedException(Ending.ProtocolViolation, null, "the server answered the NTLM AUTHENTICATE with neither pubKeyAuth nor an errorCode");
        }

        if (!session.TryUnseal(serverProof, out var proof))
        {
            io.Received(answer.Length, $"TSRequest v{answer.Version} with a pubKeyAuth whose NTLM signature does not verify");
            throw new PhaseFailedException(Ending.ProtocolViolation, null, "the server's pubKeyAuth does not verify with the NTLM session keys (tampered or a broken server)");
        }

        if (!CryptographicOperations.FixedTimeEquals(proof, CredSspBinding.ServerValue(version, serverKey, nonce)))
        {
            io.Received(answer.Length, $"TSRequest v{answer.Version} with a pubKeyAuth for a different TLS key");
            throw new PhaseFailedException(Ending.ProtocolViolation, null,
                "the server's pubKeyAuth binds a different TLS public key than the certificate this probe saw: something between the two re-terminates TLS");
        }

        result.ServerPubKeyAuthVerified = true;
        io.Received(answer.Length, $"TSRequest v{answer.Version} with pubKeyAuth (verified: the server accepted the credentials and holds the TLS key)");

        byte[] credentialsDer = TsCredentials.EncodePassword(credentials.Domain, credentials.User, credentials.Password);
        byte[] authInfo = session.Seal(credentialsDer);
        CryptographicOperations.ZeroMemory(credentialsDer);
        io.Doing = "sending authInfo";
        await io.SendAsync(new TsRequest(TsRequest.MaxVersion, [], AuthInfo: authInfo).Encode(), $"TSRequest v{TsRequest.MaxVersion} with authInfo (sealed password credentials)").ConfigureAwait(false);
        result.Authenticated = true;
        io.Record.Detail = $"{Summary(result)}; {credentials.DisplayName} authenticated (server pubKeyAuth verified), credentials delegated";
    }

    /// <summary>Workstation name in AUTHENTICATE: the probe names itself rather than leaking the host name.</summary>
    internal const string Workstation = "RDPPROBE";

    private readonly record struct ReadAnswer(TsRequest Request, int Length)
    {
        public int Version => Request.Version;
        public uint? ErrorCode => Request.ErrorCode;
    }

    private static async Task<ReadAnswer> ReadTsRequestAsync(PhaseIo io, string when)
    {
        byte[] frame = await io.ReadDerSequenceAsync(when).ConfigureAwait(false);
        var status = TsRequest.TryRead(frame, out var request, out _, out var error);
        if (status != OperationStatus.Done)
        {
            io.Received(frame.Length, "not a valid TSRequest");
            throw new PhaseFailedException(Ending.ProtocolViolation, null, $"the server's answer {when} is not a valid TSRequest ({PhaseIo.Describe(error)})");
        }

        return new ReadAnswer(request!, frame.Length);
    }

    private static string Summary(CredSspResult result)
    {
        var ntlm = result.Ntlm;
        string who = ntlm?.DnsComputerName ?? ntlm?.NetbiosComputerName ?? ntlm?.TargetName ?? "the server";
        string version = ntlm?.ProductVersion is { } v ? $", Windows version {v}" : "";
        return $"CredSSP v{result.ServerVersion}, NTLM challenge from {who}{version}";
    }
}
