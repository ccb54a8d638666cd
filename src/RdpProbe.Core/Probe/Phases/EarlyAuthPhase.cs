using System.Buffers;
using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Probe.Phases;

/// <summary>What the Early User Authorization Result said (MS-RDPBCGR 2.2.10.2); null when it never arrived whole.</summary>
internal sealed record EarlyAuthResult(EarlyUserAuthorizationResult? Result)
{
    public bool Authorized => Result == EarlyUserAuthorizationResult.Success;
}

/// <summary>
/// The early_auth phase: only when the server selected HYBRID_EX, right after CredSSP's authInfo. The four bytes tell
/// apart "the password is right but this account may not log on over Remote Desktop" from every other refusal.
/// </summary>
internal static class EarlyAuthPhase
{
    internal static async Task<EarlyAuthResult> RunAsync(Stream tls, PhaseRecord record, CancellationToken ct)
    {
        var io = new PhaseIo(tls, record, ct) { Doing = "waiting for the Early User Authorization Result" };
        try
        {
            byte[] bytes = await io.ReadExactAsync(EarlyUserAuthorization.Size, "before the Early User Authorization Result (HYBRID_EX)").ConfigureAwait(false);
            if (EarlyUserAuthorization.TryRead(bytes, out var value, out _, out _) != OperationStatus.Done)
            {
                io.Received(bytes.Length, $"Early User Authorization Result with an unknown value 0x{PhaseIo.Hex(bytes)}");
                record.Fail(Ending.ProtocolViolation, null, $"the Early User Authorization Result is neither success (0) nor access denied (5): bytes {PhaseIo.Hex(bytes)}");
                return new EarlyAuthResult(null);
            }

            if (value == EarlyUserAuthorizationResult.AccessDenied)
            {
                io.Received(bytes.Length, "Early User Authorization Result: AUTHZ_ACCESS_DENIED (5)");
                record.Fail(Ending.AccessDenied, Codes.AuthzAccessDenied,
                    "the password is right but this account may not log on over Remote Desktop (not in Remote Desktop Users, or the \"Allow log on through Remote Desktop Services\" right is missing or denied)");
                return new EarlyAuthResult(value);
            }

            io.Received(bytes.Length, "Early User Authorization Result: AUTHZ_SUCCESS (0)");
            record.Detail = "the account may log on over Remote Desktop";
            return new EarlyAuthResult(value);
        }
        catch (Exception ex)
        {
            io.RecordFailure(ex);
            return new EarlyAuthResult(null);
        }
    }
}
