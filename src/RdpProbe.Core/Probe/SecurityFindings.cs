using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Probe;

/// <summary>Findings about the security of the main connection itself, from the negotiation and session facts.</summary>
internal static class SecurityFindings
{
    /// <summary>What the main connection showed about the security of the connection itself (issue 17: a downgrade and a
    /// clear-text session are critical, whatever the verdict says about reachability).</summary>
    public static void Add(ProbeReport report)
    {
        var n = report.Negotiation;
        if (n.SelectedProtocol == SecurityProtocols.Rdp && n.RequestedProtocols != SecurityProtocols.Rdp)
        {
            report.Findings.Add(new Finding(
                "security_downgrade",
                Severity.Critical,
                "The server downgraded the connection to Standard RDP Security, which the client did not request.",
                n.Legacy
                    ? $"the Connection Confirm carried no negotiation data (a legacy answer) to a request for {X224Exchange.FormatProtocols(n.RequestedProtocols)}"
                    : $"the Connection Confirm selected PROTOCOL_RDP (0) in answer to a request for {X224Exchange.FormatProtocols(n.RequestedProtocols)}",
                "Standard RDP Security has no server authentication and uses RC4: give the server a usable TLS certificate and key "
                + "(a server that cannot load its certificate falls back like this) and set its security layer to TLS/Negotiate "
                + "with NLA; the probe never sends a password over such a connection."));
        }

        if (report.Session is { EncryptionMethod: "none" } && n.SelectedProtocol == SecurityProtocols.Rdp)
        {
            report.Findings.Add(new Finding(
                "encryption_none",
                Severity.Critical,
                "The session is not encrypted at all: Standard RDP Security with encryption level none.",
                $"the MCS Connect Response's security data announced encryption method none, level {report.Session.EncryptionLevel ?? "none"}",
                "Everything, the Client Info PDU with user name and password included, would cross the network in clear: require TLS "
                + "or NLA on the server, or at least encryption level High."));
        }
    }
}
