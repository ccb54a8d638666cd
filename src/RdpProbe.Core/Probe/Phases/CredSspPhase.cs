using System.Buffers;
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
    internal static async Task<CredSspResult> RunAsync(Stream tls, byte[] serverSubjectPublicKey, CredSspCredentials? credentials, PhaseRecord record, CancellationToken ct)
    {
        var result = new CredSspResult();
        var io = new PhaseIo(tls, record, ct);
        try
        {
            var exchange = await NegotiateAsync(io, result).ConfigureAwait(false);
            if (exchange is null)
            {
                return result;
            }

            record.Detail = Summary(result) + (credentials is null
                ? "; no credentials given, stopped after the NTLM challenge"
                : "; stopped after the NTLM challenge (this build does not authenticate yet)");
        }
        catch (Exception ex)
        {
            io.RecordFailure(ex);
        }

        return result;
    }

    /// <summary>First round trip: TSRequest(v6, NEGOTIATE) → TSRequest(CHALLENGE) or TSRequest(errorCode).</summary>
    private static async Task<(byte[] Negotiate, NtlmChallenge Challenge)?> NegotiateAsync(PhaseIo io, CredSspResult result)
    {
        byte[] negotiate = NtlmNegotiate.Encode();
        var request = new TsRequest(TsRequest.MaxVersion, [negotiate]);
        io.Doing = "sending the NTLM NEGOTIATE";
        await io.SendAsync(request.Encode(), $"TSRequest v{TsRequest.MaxVersion} with NTLM NEGOTIATE (flags 0x{(uint)NtlmNegotiate.DefaultFlags:X8})").ConfigureAwait(false);

        io.Doing = "waiting for the answer to the NTLM NEGOTIATE";
        var answer = await ReadTsRequestAsync(io, "after the NTLM NEGOTIATE").ConfigureAwait(false);
        result.ServerVersion = answer.Version;
        result.NegotiatedVersion = Math.Min(answer.Version, TsRequest.MaxVersion);
        if (answer.ErrorCode is { } code)
        {
            result.ErrorCode = code;
            io.Received(answer.Length, $"TSRequest v{answer.Request.Version} with errorCode {NtStatus.Name(code)} (0x{code:X8})");
            io.Record.Fail(Ending.AuthFailed, NtStatus.Name(code), $"the server refused the NTLM NEGOTIATE: {NtStatus.Meaning(code)}");
            return null;
        }

        var token = answer.Request.FirstNegoToken;
        if (token is null)
        {
            io.Received(answer.Length, $"TSRequest v{answer.Version} without a negoToken");
            throw new PhaseFailedException(Ending.ProtocolViolation, "the server's TSRequest after NEGOTIATE carries no negoToken (expected the NTLM CHALLENGE)");
        }

        var status = NtlmChallenge.TryRead(token, out var challenge, out _, out var error);
        if (status != OperationStatus.Done)
        {
            io.Received(answer.Length, $"TSRequest v{answer.Version} with a {token.Length}-byte negoToken that is not an NTLM CHALLENGE");
            string what = token.Length > 0 && token[0] is 0x60 or 0xA0 or 0xA1
                ? "an SPNEGO token, not raw NTLM"
                : status == OperationStatus.NeedMoreData ? "a truncated NTLM CHALLENGE" : $"not an NTLM CHALLENGE ({PhaseIo.Describe(error)})";
            throw new PhaseFailedException(Ending.ProtocolViolation, $"the server's negoToken after NEGOTIATE is {what}");
        }

        var info = NtlmChallengeInfo.From(challenge!, DateTimeOffset.UtcNow);
        result.Ntlm = info;
        io.Received(answer.Length, $"TSRequest v{answer.Version} with NTLM CHALLENGE from {info.NetbiosComputerName ?? info.TargetName ?? "?"}" +
            (info.ProductVersion is null ? "" : $" (Windows version {info.ProductVersion})"));
        return (negotiate, challenge!);
    }

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
            throw new PhaseFailedException(Ending.ProtocolViolation, $"the server's answer {when} is not a valid TSRequest ({PhaseIo.Describe(error)})");
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
