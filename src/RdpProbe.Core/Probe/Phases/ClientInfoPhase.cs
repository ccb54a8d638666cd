using System.Security.Cryptography;
using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Probe.Phases;

internal sealed record ClientInfoResult(bool Sent, bool CredentialsIncluded, bool Encrypted);

/// <summary>
/// The client_info phase (Secure Settings Exchange, MS-RDPBCGR 1.3.1.1 phase 5): the Client Info PDU. The password is
/// inside only when NLA did not already deliver it (TLS or standard security with credentials); with standard
/// security the PDU is encrypted and MACed. Nothing answers it directly.
/// </summary>
internal static class ClientInfoPhase
{
    /// <param name="credentials">Whose logon to announce; null for an anonymous probe (empty user).</param>
    /// <param name="nlaUsed">True when CredSSP already sent the credentials: then only domain and user go here.</param>
    internal static async Task<ClientInfoResult> RunAsync(RdpSession session, CredSspCredentials? credentials, bool nlaUsed, PhaseRecord record, CancellationToken ct)
    {
        var io = new PhaseIo(session.Stream, record, ct);
        bool withPassword = credentials is not null && !nlaUsed && credentials.Password.Length > 0;
        if (withPassword && PasswordGuard.Check(session) is { } refusal)
        {
            // Nothing is sent: not the password, not even the user name. The connection is left for the engine to close.
            record.Fail(Ending.ClientRefused, refusal.Code, refusal.Detail);
            return new ClientInfoResult(false, false, session.Cipher is not null);
        }

        try
        {
            session.ClientUserName = credentials?.User ?? "";
            byte[] info = ClientInfo.Encode(credentials?.Domain ?? "", credentials?.User ?? "", withPassword ? credentials!.Password : null);
            string who = credentials is null ? "no user" : credentials.DisplayName;
            string password = withPassword ? "with password (autologon)" : nlaUsed ? "without password (NLA delivered it)" : "without password";
            bool encrypted = session.Cipher is not null;
            io.Doing = "sending the Client Info PDU";
            await session.SendIoAsync(io, SecurityFlags.InfoPacket, info, $"Client Info PDU for {who}, {password}{(encrypted ? ", encrypted" : "")}").ConfigureAwait(false);
            CryptographicOperations.ZeroMemory(info);
            record.Detail = $"Client Info sent for {who}, {password}";
            return new ClientInfoResult(true, withPassword, encrypted);
        }
        catch (Exception ex)
        {
            io.RecordFailure(ex);
            return new ClientInfoResult(false, withPassword, session.Cipher is not null);
        }
    }
}
