using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Probe.Phases;

/// <summary>
/// Decides whether the Client Info PDU may carry the password (the only place outside CredSSP where it leaves the
/// probe). A real client refuses a security protocol it did not request (MS-RDPBCGR 3.2.5.3.2: the selected protocol
/// must be one the client asked for) and never sends credentials unencrypted; the probe does the same, whatever the
/// server chose afterwards.
/// </summary>
internal static class PasswordGuard
{
    /// <returns>Null when the password may go; otherwise the code and the detail of the refusal.</returns>
    public static (Code Code, string Detail)? Check(RdpSession session)
    {
        if (session.EnhancedSecurity)
        {
            // TLS underneath (SSL, or HYBRID without having sent the password in CredSSP): encrypted, and the server
            // proved the TLS key the client saw; the X.224 step already refused a selected protocol that was not requested.
            return null;
        }

        if (session.RequestedProtocols != SecurityProtocols.Rdp)
        {
            return (Codes.DowngradedToStandardSecurity,
                $"the client requested {X224Exchange.FormatProtocols(session.RequestedProtocols)} but the server selected Standard RDP Security "
                + "(PROTOCOL_RDP); a client that asked for TLS stops here, so the probe did not send the password (nor the Client Info PDU)");
        }

        if (session.Cipher is null || session.Method == EncryptionMethods.None)
        {
            return (Codes.NoEncryption,
                "the server announced Standard RDP Security without encryption (encryption method none): the Client Info PDU would "
                + "carry the password in clear, so the probe did not send it");
        }

        return null;
    }
}
