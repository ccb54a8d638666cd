using System.Buffers;
using System.Net.Security;
using System.Security.Cryptography;
using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Probe.Phases;

/// <summary>
/// CredSSP with SPNEGO (issue 12; MS-CSSP 3.1.5 with the SPNEGO package of MS-SPNG / RFC 4178): the client's
/// NegTokenInit offers MS KRB5, KRB5 and NTLM with a Kerberos AP-REQ as the optimistic token; the server's NegTokenResp
/// takes Kerberos (AP-REP, then pubKeyAuth under the Kerberos session key), chooses NTLM (the NTLM exchange continues
/// inside NegTokenResp tokens with a mechListMIC, as Windows does), or rejects.
/// </summary>
internal static partial class CredSspPhase
{
    /// <summary>
    /// The Kerberos attempt. True when the phase is finished (Kerberos went through, or failed in a way that ends it);
    /// false when NTLM follows: the server chose NTLM, or no Kerberos token could be had and negotiate may fall back.
    /// </summary>
    private static async Task<bool> KerberosAsync(PhaseIo io, CredSspResult result, CredSspAuth auth, byte[] serverKey, CredSspCredentials? credentials, CredSspRandomness randomness, SpnegoNtlm spnego)
    {
        bool mayFallBack = auth.Mechanism == AuthMechanism.Negotiate;
        result.Spn = auth.Spn;
        if (auth.Spn is null)
        {
            result.KerberosUnavailable = "no_spn";
            if (!mayFallBack)
            {
                io.Record.Fail(Ending.ClientRefused, Codes.KerberosNoSpn, "Kerberos was required but the target is a literal IP address: there is no TERMSRV/<name> principal to ask a ticket for (connect by the server's DNS name)");
                return true;
            }

            result.KerberosNote = "no Kerberos: a literal IP address has no TERMSRV service principal, so the client uses NTLM (what connecting by IP address implies)";
            return false;
        }

        if (mayFallBack && auth.KerberosUnavailable is { } failed)
        {
            result.KerberosUnavailable = failed;
            result.KerberosNote = $"no Kerberos ticket for {auth.Spn} (the kerberos phase: {failed}): the client falls back to NTLM";
            return false;
        }

        io.Doing = $"getting a Kerberos ticket for {auth.Spn}";
        KerberosContext kerberos;
        try
        {
            kerberos = await Task.Run(() => KerberosContext.Start(auth.Spn, credentials, auth.Realm, auth.Krb5Conf), io.Token).WaitAsync(io.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException or TypeInitializationException or PlatformNotSupportedException)
        {
            // No Kerberos library on this machine (libgssapi-krb5-2 missing): the same as no ticket, named as such.
            result.KerberosUnavailable = "no_kerberos_library";
            return KerberosUnavailable(io, result, mayFallBack, auth.Spn, "no Kerberos library is installed (libgssapi-krb5-2)");
        }

        using (kerberos)
        {
            if (kerberos.FirstToken is not { } apReq)
            {
                result.KerberosUnavailable = KerberosContext.StatusWord(kerberos.FirstStatus);
                return KerberosUnavailable(io, result, mayFallBack, auth.Spn, $"the Kerberos library could not get a ticket ({result.KerberosUnavailable})");
            }

            return await KerberosExchangeAsync(io, result, kerberos, apReq, serverKey, credentials, randomness, spnego, mayFallBack).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// NTSTATUS_FROM_WIN32 (ntstatus.h): severity error, customer bit clear, facility 7 (FACILITY_NTWIN32), a Win32 error
    /// in the low 16 bits. No logon failure has this form; FreeRDP 2 sends it when its acceptor fails.
    /// </summary>
    internal static bool IsWrappedWin32(uint code) => (code & 0xFFFF0000) == 0xC0070000;

    private static bool KerberosUnavailable(PhaseIo io, CredSspResult result, bool mayFallBack, string spn, string why)
    {
        if (!mayFallBack)
        {
            io.Record.Fail(Ending.ClientRefused, Codes.KerberosUnavailable, $"Kerberos was required and no ticket for {spn} could be had: {why}; nothing was sent");
            return true;
        }

        result.KerberosNote = $"no Kerberos ticket for {spn} ({why}): the client falls back to NTLM";
        return false;
    }

    private static async Task<bool> KerberosExchangeAsync(PhaseIo io, CredSspResult result, KerberosContext kerberos, byte[] apReq, byte[] serverKey, CredSspCredentials? credentials, CredSspRandomness randomness, SpnegoNtlm spnego, bool mayFallBack)
    {
        var offered = SpnegoMechs.KerberosThenNtlm;
        spnego.SentInit(offered);
        var init = new SpnegoInit(offered, apReq);
        io.Doing = "sending the SPNEGO NegTokenInit with the Kerberos AP-REQ";
        await io.SendAsync(new TsRequest(TsRequest.MaxVersion, [init.Encode()]).Encode(),
            $"TSRequest v{TsRequest.MaxVersion} with SPNEGO {init} (Kerberos AP-REQ for {kerberos.Spn})").ConfigureAwait(false);

        io.Doing = "waiting for the answer to the SPNEGO NegTokenInit";
        ReadAnswer answer;
        try
        {
            answer = await ReadTsRequestAsync(io, "after the SPNEGO NegTokenInit").ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is PhaseFailedException { Ending: Ending.Closed } || TransportErrors.IsReset(ex))
        {
            result.ServerChoice = SpnegoOutcome.NotUnderstood;
            string how = TransportErrors.IsReset(ex) ? "reset" : "closed";
            throw new PhaseFailedException(TransportErrors.IsReset(ex) ? Ending.Reset : Ending.Closed, Codes.SpnegoNotUnderstood,
                $"the server {how} the connection at the SPNEGO token (Kerberos offered, NTLM listed) without an answer: it does not take SPNEGO in CredSSP, as NTLM-only servers (FreeRDP 2) do not");
        }

        result.ServerVersion = answer.Version;
        result.NegotiatedVersion = Math.Min(answer.Version, TsRequest.MaxVersion);
        if (answer.ErrorCode is { } code)
        {
            result.ErrorCode = code;
            io.Received(answer.Length, $"TSRequest v{answer.Version} with errorCode {NtStatus.Name(code)} (0x{code:X8})");
            if (IsWrappedWin32(code))
            {
                // Seen from FreeRDP 2 (its NTLM-only acceptor refuses the SPNEGO token, SEC_E_INVALID_TOKEN in its log):
                // nla.c reports NTSTATUS_FROM_WIN32(GetLastError()), a stale Win32 error rather than a logon status. A
                // server that speaks SPNEGO answers with a NegTokenResp, or with a logon NTSTATUS (MS-CSSP 2.2.1).
                result.ServerChoice = SpnegoOutcome.NotUnderstood;
                io.Record.Fail(Ending.AuthFailed, Codes.SpnegoNotUnderstood,
                    $"the server answered the SPNEGO token (Kerberos ticket for {kerberos.Spn} offered, NTLM listed) with errorCode 0x{code:X8}, "
                    + $"NTSTATUS_FROM_WIN32({code & 0xFFFF}): a Win32 error wrapped as an NTSTATUS, not a logon status and no SPNEGO answer — its authentication package "
                    + "could not read the token, so it does not take Kerberos (nor SPNEGO) in CredSSP; FreeRDP 2's NTLM-only server answers this way");
                return true;
            }

            io.Record.Fail(Ending.AuthFailed, Codes.NtStatus(code), $"the server refused the Kerberos ticket for {kerberos.Spn}: {NtStatus.Meaning(code)}");
            return true;
        }

        if (answer.Request.FirstNegoToken is not { } token)
        {
            io.Received(answer.Length, $"TSRequest v{answer.Version} without a negoToken");
            throw new PhaseFailedException(Ending.ProtocolViolation, null, "the server's TSRequest after the SPNEGO NegTokenInit carries no negoToken");
        }

        var resp = ReadSpnegoResp(io, answer, token, "after the SPNEGO NegTokenInit");
        result.NegState = resp.NegState is { } state ? Spnego.StateName(state) : null;
        result.SupportedMech = resp.SupportedMech is { } mech ? SpnegoMechs.Name(mech) : null;
        io.Received(answer.Length, $"TSRequest v{answer.Version} with SPNEGO {resp}");

        if (resp.NegState == SpnegoNegState.Reject)
        {
            result.ServerChoice = SpnegoOutcome.Rejected;
            io.Record.Fail(Ending.AuthFailed, Codes.SpnegoReject, $"the server rejected the SPNEGO offer (Kerberos ticket for {kerberos.Spn}, NTLM listed): negState reject");
            return true;
        }

        if (!SpnegoMechs.IsKerberos(resp.SupportedMech))
        {
            if (resp.SupportedMech != SpnegoMechs.Ntlm)
            {
                throw new PhaseFailedException(Ending.ProtocolViolation, null,
                    $"the server's SPNEGO answer selects {SpnegoMechs.Name(resp.SupportedMech)}, which the client did not offer (RFC 4178 §4.2.2)");
            }

            result.ServerChoice = SpnegoOutcome.NtlmChosen;
            result.Mechanism = "ntlm";
            result.KerberosNote = $"the server chose NTLM over the Kerberos ticket for {kerberos.Spn}";
            if (!mayFallBack)
            {
                io.Record.Fail(Ending.ClientRefused, Codes.ServerChoseNtlm, $"the server chose NTLM over the Kerberos ticket for {kerberos.Spn}, and Kerberos was required (--auth kerberos): a client that may not use NTLM stops here");
                return true;
            }

            return false;
        }

        result.ServerChoice = SpnegoOutcome.KerberosAccepted;
        result.Mechanism = "kerberos";
        if (resp.ResponseToken is not { } apRep)
        {
            throw new PhaseFailedException(Ending.ProtocolViolation, Codes.KerberosMutualAuthFailed,
                "the server took Kerberos but sent no AP-REP: mutual authentication, which CredSSP needs for the session key, cannot complete");
        }

        var status = kerberos.Continue(apRep);
        if (status != NegotiateAuthenticationStatusCode.Completed)
        {
            throw new PhaseFailedException(Ending.ProtocolViolation, Codes.KerberosMutualAuthFailed,
                $"the server's Kerberos AP-REP does not verify ({KerberosContext.StatusWord(status)}): it does not hold the key of {kerberos.Spn}");
        }

        result.KerberosMutualAuth = true;
        byte[] mechList = Spnego.EncodeMechTypeList(spnego.Offered);
        if (resp.MechListMic is { } serverMic && !kerberos.VerifyMic(mechList, serverMic))
        {
            throw new PhaseFailedException(Ending.ProtocolViolation, Codes.KerberosMutualAuthFailed,
                "the server's SPNEGO mechListMIC does not verify with the Kerberos session key (the mechanism list was altered in transit)");
        }

        // RFC 4178 §5: the initiator answers with its own mechListMIC when the acceptor asks (request-mic) or sent one.
        bool sendMic = resp.NegState == SpnegoNegState.RequestMic || resp.MechListMic is not null;
        int version = result.NegotiatedVersion ?? TsRequest.MaxVersion;
        byte[]? nonce = CredSspBinding.UsesHash(version) ? randomness.ClientNonce : null;
        byte[] pubKeyAuth = kerberos.Wrap(CredSspBinding.ClientValue(version, serverKey, nonce));
        IReadOnlyList<byte[]> tokens = sendMic ? [new SpnegoResp(null, MechListMic: kerberos.Mic(mechList)).Encode()] : [];
        string binding = nonce is null ? "wrapped server public key (CredSSP v2-4)" : "SHA-256 key binding with client nonce (CredSSP v5+)";
        io.Doing = "sending pubKeyAuth under the Kerberos session key";
        await io.SendAsync(new TsRequest(TsRequest.MaxVersion, tokens, PubKeyAuth: pubKeyAuth, ClientNonce: nonce).Encode(),
            $"TSRequest v{TsRequest.MaxVersion} with {(sendMic ? "SPNEGO mechListMIC and " : "")}pubKeyAuth (Kerberos GSS_Wrap): {binding}").ConfigureAwait(false);

        io.Doing = "waiting for the server's pubKeyAuth";
        ReadAnswer proofAnswer;
        try
        {
            proofAnswer = await ReadTsRequestAsync(io, "after the Kerberos pubKeyAuth").ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is PhaseFailedException { Ending: Ending.Closed } || TransportErrors.IsReset(ex))
        {
            throw new PhaseFailedException(Ending.AuthFailed, null,
                $"the server {(TransportErrors.IsReset(ex) ? "reset" : "closed")} the connection after taking the Kerberos ticket, without an error code: the account may not log on there, or the key binding was refused");
        }

        if (proofAnswer.ErrorCode is { } refusal)
        {
            result.ErrorCode = refusal;
            io.Received(proofAnswer.Length, $"TSRequest v{proofAnswer.Version} with errorCode {NtStatus.Name(refusal)} (0x{refusal:X8})");
            io.Record.Fail(Ending.AuthFailed, Codes.NtStatus(refusal), $"the server refused the Kerberos logon: {NtStatus.Meaning(refusal)}");
            return true;
        }

        if (proofAnswer.Request.PubKeyAuth is not { } serverProof)
        {
            io.Received(proofAnswer.Length, $"TSRequest v{proofAnswer.Version} without pubKeyAuth or errorCode");
            throw new PhaseFailedException(Ending.ProtocolViolation, null, "the server answered the Kerberos pubKeyAuth with neither its own pubKeyAuth nor an errorCode");
        }

        if (!kerberos.TryUnwrap(serverProof, out var proof))
        {
            io.Received(proofAnswer.Length, $"TSRequest v{proofAnswer.Version} with a pubKeyAuth that does not unwrap");
            throw new PhaseFailedException(Ending.ProtocolViolation, null, "the server's pubKeyAuth does not verify under the Kerberos session key (tampered or a broken server)");
        }

        if (!CryptographicOperations.FixedTimeEquals(proof, CredSspBinding.ServerValue(version, serverKey, nonce)))
        {
            io.Received(proofAnswer.Length, $"TSRequest v{proofAnswer.Version} with a pubKeyAuth for a different TLS key");
            throw new PhaseFailedException(Ending.ProtocolViolation, null,
                "the server's pubKeyAuth binds a different TLS public key than the certificate this probe saw: something between the two re-terminates TLS");
        }

        result.ServerPubKeyAuthVerified = true;
        io.Received(proofAnswer.Length, $"TSRequest v{proofAnswer.Version} with pubKeyAuth (verified under the Kerberos session key: the server took the ticket and holds the TLS key)");
        string summary = $"CredSSP v{result.ServerVersion}, SPNEGO: the server took Kerberos ({result.SupportedMech}) for {kerberos.Spn}, AP-REP verified";
        if (credentials is null)
        {
            io.Record.Detail = $"{summary}; no password given (ticket from the credential cache), so no credentials were delegated";
            return true;
        }

        byte[] credentialsDer = TsCredentials.EncodePassword(credentials.Domain, credentials.User, credentials.Password);
        byte[] authInfo = kerberos.Wrap(credentialsDer);
        CryptographicOperations.ZeroMemory(credentialsDer);
        io.Doing = "sending authInfo";
        await io.SendAsync(new TsRequest(TsRequest.MaxVersion, [], AuthInfo: authInfo).Encode(), $"TSRequest v{TsRequest.MaxVersion} with authInfo (password credentials under the Kerberos session key)").ConfigureAwait(false);
        result.Authenticated = true;
        io.Record.Detail = $"{summary}; {credentials.DisplayName} authenticated (server pubKeyAuth verified), credentials delegated";
        return true;
    }

    /// <summary>A server token that must be an SPNEGO NegTokenResp; anything else is a protocol violation that says what it was.</summary>
    private static SpnegoResp ReadSpnegoResp(PhaseIo io, ReadAnswer answer, byte[] token, string when)
    {
        var status = Spnego.TryRead(token, out var value, out _, out var error);
        if (status == OperationStatus.Done && value?.Resp is { } resp)
        {
            return resp;
        }

        io.Received(answer.Length, $"TSRequest v{answer.Version} with a {token.Length}-byte negoToken that is not an SPNEGO NegTokenResp");
        string what = token.AsSpan().StartsWith(Ntlm.Signature) ? "a raw NTLM message: the server does not speak SPNEGO"
            : status == OperationStatus.NeedMoreData ? "a truncated SPNEGO token"
            : value?.Init is not null ? "a NegTokenInit where a NegTokenResp belongs"
            : $"not SPNEGO ({PhaseIo.Describe(error)})";
        throw new PhaseFailedException(Ending.ProtocolViolation, null, $"the server's negoToken {when} is {what}");
    }

    /// <summary>
    /// NTLM inside SPNEGO: the first NTLM message goes in a NegTokenInit (mechTypes [NTLM]) when nothing was sent yet,
    /// in a NegTokenResp after a Kerberos offer the server turned down; AUTHENTICATE carries the mechListMIC over the
    /// mechanism list as first sent (RFC 4178 §5, mandatory when the chosen mechanism is not the preferred one).
    /// </summary>
    private sealed class SpnegoNtlm
    {
        private string _last = "";

        public IReadOnlyList<string> Offered { get; private set; } = [SpnegoMechs.Ntlm];

        public bool InitSent { get; private set; }

        public void SentInit(IReadOnlyList<string> offered)
        {
            Offered = offered;
            InitSent = true;
        }

        public byte[] Outgoing(byte[] ntlm, byte[]? mic)
        {
            if (!InitSent)
            {
                InitSent = true;
                var init = new SpnegoInit(Offered, ntlm);
                _last = init.ToString();
                return init.Encode();
            }

            var resp = new SpnegoResp(null, null, ntlm, mic);
            _last = "NegTokenResp";
            return resp.Encode();
        }

        public string Describe(string what, bool withMic = false) => $"SPNEGO {_last} carrying {what}{(withMic ? " and mechListMIC" : "")}";
    }
}
