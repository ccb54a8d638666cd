using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Analysis;

/// <summary>The facts a verdict is computed from (never from message text).</summary>
internal sealed record VerdictFacts(
    Phase LastPhase,
    string Ending,
    string? EndedBy,
    bool SynAnswered,
    bool RefusedAtSyn,
    NegotiationFailureCode? FailureCode,
    bool ConfirmSeen,
    bool ServerUltimatum,
    bool ServerHelloSeen,
    (bool FromClient, TlsAlert? Alert)? FirstAlert,
    string? CredsspRound,
    bool? ErrorSizedAnswer,
    bool ExpectsCredssp,
    bool Stalled,
    string? StallDetail,
    bool SessionReached,
    string? NotRdpReason,
    bool StartedBeforeCapture,
    int? McsResult,
    bool ServerEncryptedAlert = false,
    SecurityProtocols? Requested = null,
    SecurityProtocols? Selected = null);

internal sealed record Verdict(bool Ok, string Phase, string Ending, string? Code, string Summary, IReadOnlyList<string> Causes, bool Inferred)
{
    public IReadOnlyList<string> Remedies { get; init; } = [];
}

/// <summary>
/// Plain-word verdicts for analyzed connections, from the symptom table (Diagnosis/Symptoms.cs). Kept in one function so
/// it can be switched to the probe's shared symptom table when that lands.
/// </summary>
internal static class AnalysisVerdicts
{
    /// <summary>
    /// The verdict for one connection. Where the observation is the same one the live probe makes (refused SYN,
    /// negotiation failure code, TLS alert, close before ServerHello, ...), the wording, causes and remedies come from
    /// the shared symptom table (<see cref="Symptoms"/>), so probe and analyzer say the same thing; what only a capture
    /// shows (record-size inference, stalls) keeps the analyzer's own words, with the table's remedies added.
    /// </summary>
    public static Verdict Explain(VerdictFacts f)
    {
        var v = ExplainObserved(f);
        if (v.Ok)
        {
            return v;
        }

        var (phase, ending, code, shared) = SymptomKey(f, v);
        var x = Symptoms.Explain(phase, ending, code);
        return shared
            ? v with { Summary = x.Summary, Causes = x.Causes.Count > 0 ? x.Causes : v.Causes, Remedies = x.Remedies }
            : v with { Causes = v.Causes.Concat(x.Causes).Distinct().ToList(), Remedies = x.Remedies };
    }

    /// <summary>The (phase, ending, code) key of the shared table, and whether its summary fits this observation exactly.</summary>
    private static (Phase, Ending, string?, bool) SymptomKey(VerdictFacts f, Verdict v)
    {
        Ending ending = v.Ending switch
        {
            "reset" => Ending.Reset,
            "closed" => Ending.Closed,
            "timeout" or "open" => Ending.Timeout,
            _ => Ending.Closed,
        };

        if (v.Code == "refused")
        {
            return (Phase.Tcp, Ending.Refused, null, true);
        }

        if (v.Phase == "tcp" && !f.SynAnswered)
        {
            return (Phase.Tcp, Ending.Timeout, null, true);
        }

        if (f.FailureCode is not null)
        {
            return (Phase.X224, Ending.NegotiationFailure, v.Code, true);
        }

        if (v.Code == "disconnect_provider_ultimatum")
        {
            return (Phase.X224, Ending.Closed, "mcs_disconnect_provider_ultimatum", true);
        }

        if (v.Code == "not_rdp")
        {
            return (Phase.X224, Ending.NotRdp, null, false);
        }

        if (v.Code == "stall")
        {
            return (f.LastPhase, Ending.Timeout, f.LastPhase == Phase.Tls && !f.ServerHelloSeen ? Symptoms.BeforeServerHello : null, false);
        }

        switch (f.LastPhase)
        {
            case Phase.Tls when v.Code is not null:
                return (Phase.Tls, Ending.TlsAlert, v.Code, true);
            case Phase.Tls when !f.ServerHelloSeen:
                return (Phase.Tls, ending, Symptoms.BeforeServerHello, false);
            case Phase.Credssp when f.CredsspRound is null or "negotiate":
                return (Phase.Credssp, Ending.Closed, Symptoms.AfterNegotiate, false);
            case Phase.Credssp when v.Code is "auth_failed" or "credssp_error":
                return (Phase.Credssp, Ending.AuthFailed, null, false);
            case Phase.EarlyAuth:
                return (Phase.EarlyAuth, Ending.AccessDenied, null, false);
            default:
                return (f.LastPhase <= Phase.Tcp ? Phase.X224 : f.LastPhase, ending, null, false);
        }
    }

    private static Verdict ExplainObserved(VerdictFacts f)
    {
        string phase = f.LastPhase.ToReportName();
        string by = f.EndedBy ?? "nobody";
        bool ended = f.Ending is "closed" or "reset" or "timeout";

        if (f.SessionReached)
        {
            return new Verdict(true, phase, "ok", null,
                "The handshake completed and session data flowed" + (ended ? $"; the {by} later ended the connection ({f.Ending})." : "."),
                [], true);
        }

        if (f.NotRdpReason is not null && f.LastPhase <= Phase.Tcp)
        {
            return new Verdict(false, "x224", f.Ending, "not_rdp", $"The client's first bytes are not RDP ({f.NotRdpReason}).",
                ["another protocol on the RDP port", "RDP wrapped in a tunnel or proxy the analyzer does not decode"], false);
        }

        if (f.RefusedAtSyn)
        {
            return new Verdict(false, "tcp", "reset", "refused", "The server answered the SYN with a reset: nothing is listening on that port.",
                ["Remote Desktop disabled or the TermService stopped", "wrong port", "a firewall rejecting with a reset"], false);
        }

        if (f.LastPhase == Phase.Tcp && !f.SynAnswered)
        {
            return new Verdict(false, "tcp", ended ? f.Ending : "timeout", null,
                "The SYN was never answered: the port is filtered, the host is down or the address is wrong.",
                ["firewall or VPN dropping TCP 3389", "host down", "wrong address or port"], false);
        }

        if (f.FailureCode is { } code)
        {
            return new Verdict(false, "x224", f.Ending, code.ToReportName(), FailureSummary(code), FailureCauses(code), false);
        }

        if (f.ServerUltimatum && !f.ConfirmSeen)
        {
            return new Verdict(false, "x224", f.Ending, "disconnect_provider_ultimatum",
                "The server answered the X.224 Connection Request with an MCS Disconnect Provider Ultimatum instead of a Connection Confirm: it refuses the security protocols the client asked for.",
                ["requested protocol not supported by this server (e.g. RDSAAD on xrdp)"], false);
        }

        if (f.Stalled && f.StallDetail is not null)
        {
            return new Verdict(false, phase, f.Ending, "stall", f.StallDetail,
                ["path MTU black hole: full-size segments dropped and ICMP fragmentation-needed filtered (VPN, PPPoE, GRE, IPsec)",
                 "a firewall or IPS silently dropping the connection mid-handshake"], true);
        }

        if (f.FirstAlert is { } alert && f.LastPhase == Phase.Tls)
        {
            string from = alert.FromClient ? "client" : "server";
            if (alert.Alert is { } a)
            {
                string name = TlsNames.AlertName(a.Description);
                return new Verdict(false, "tls", f.Ending, name, $"TLS failed: the {from} sent a {(a.Level == TlsAlertLevel.Fatal ? "fatal" : "warning")} {name} alert.", AlertCauses(a.Description, alert.FromClient), false);
            }
        }

        switch (f.LastPhase)
        {
            case Phase.Tcp:
                return new Verdict(false, "x224", f.Ending, null,
                    ended
                        ? $"The TCP connection opened but the {by} ended it ({f.Ending}) before an X.224 Connection Request was seen."
                        : "The TCP connection opened; no RDP bytes were seen before the capture ended.",
                    ["client gave up or a middlebox cut the connection before RDP started"], false);

            case Phase.X224 when !f.ConfirmSeen:
                return new Verdict(false, "x224", f.Ending, null,
                    ended
                        ? $"The client sent the X.224 Connection Request but the {by} ended the connection ({f.Ending}) without a Connection Confirm."
                        : "The client sent the X.224 Connection Request; no Connection Confirm before the capture ended.",
                    ["malformed request or another service on the port", "IPS/load balancer rejecting the cookie or wanting a routing token", "listener overloaded or TermService wedged"], false);

            case Phase.X224 when ended && f.EndedBy == "client" && f.Requested is { } req && f.Selected is { } sel
                && (req & (SecurityProtocols.Hybrid | SecurityProtocols.HybridEx)) != 0 && (sel & (SecurityProtocols.Hybrid | SecurityProtocols.HybridEx)) == 0:
                return new Verdict(false, "x224", f.Ending, "nla_not_offered",
                    $"The client asked for NLA (CredSSP) but the server selected {sel.ToReportName()}; the client then closed the connection: it requires NLA, which this server does not offer.",
                    ["server without Network Level Authentication (e.g. xrdp, or NLA disabled on the server)", "client set to require NLA (/sec:nla)"], false)
                { Remedies = ["enable NLA on the server, or let the client accept TLS security (less secure)"] };

            case Phase.X224:
                return new Verdict(!ended, "x224", f.Ending, null,
                    ended ? $"Negotiation succeeded but the {by} ended the connection ({f.Ending}) before TLS or MCS started." : "Negotiation succeeded; the capture ends there.",
                    ended ? ["the client gave up after seeing the selected protocol (a scanner, or a client that refuses it)"] : [], false);

            case Phase.Tls when !f.ServerHelloSeen:
                return new Verdict(false, "tls", f.Ending, null,
                    ended
                        ? $"The {by} ended the connection ({f.Ending}) right after the ClientHello, without a ServerHello."
                        : "The ClientHello got no ServerHello before the capture ended.",
                    ["no TLS version or cipher suite in common (e.g. TLS 1.2-only client vs a TLS 1.0-only server)", "server certificate or private key unusable", "a middlebox resetting TLS on the RDP port"], false);

            case Phase.Tls:
                return new Verdict(!ended, "tls", f.Ending, null,
                    ended ? $"The TLS handshake started but the {by} ended the connection ({f.Ending}) before it finished." : "The TLS handshake was under way when the capture ended.",
                    ended ? ["certificate rejected by the client", "TLS parameters refused"] : [], false);

            case Phase.Credssp:
                return CredsspVerdict(f, ended, by);

            case Phase.EarlyAuth:
                return new Verdict(!ended, "early_auth", f.Ending, ended ? "access_denied" : null,
                    ended
                        ? $"Credentials were accepted, then the server sent its Early User Authorization Result and the {by} closed the connection: the user is most likely not allowed to log on through Remote Desktop (inferred from record sizes)."
                        : "The server sent its Early User Authorization Result (4 bytes); the capture ends there.",
                    ended ? ["user not in Remote Desktop Users", "\"Allow log on through Remote Desktop Services\" missing or a deny right"] : [], true);

            case Phase.Mcs when f.McsResult is int r and not 0:
                return new Verdict(false, "mcs", f.Ending, $"mcs_result_{r}", $"The server refused the MCS Connect-Initial (result {r}).", ["client settings not acceptable to the server"], false);

            case Phase.Mcs:
                return new Verdict(!ended, "mcs", f.Ending, null,
                    ended ? $"The {by} ended the connection ({f.Ending}) during the MCS basic settings exchange." : "The connection was in the MCS basic settings exchange when the capture ended.",
                    ended ? ["server rejected the client's core/security/channel settings (downgrade check, encryption level, channel list)", "MTU black hole on the larger Connect-Initial PDU"] : [], f.ExpectsCredssp || f.LastPhase > Phase.Tls);

            default:
                return new Verdict(!ended, phase, f.Ending, null,
                    ended ? $"The {by} ended the connection ({f.Ending}) during {phase.Replace('_', ' ')}." : $"The connection was in {phase.Replace('_', ' ')} when the capture ended.",
                    ended ? PhaseCauses(f.LastPhase) : [], true);
        }
    }

    private static Verdict CredsspVerdict(VerdictFacts f, bool ended, string by)
    {
        string round = f.CredsspRound ?? "negotiate";
        if (round == "alert")
        {
            return new Verdict(false, "credssp", f.Ending, "auth_failed",
                $"Authentication failed: the server answered the client's AUTHENTICATE with an encrypted TLS alert (2 bytes of plaintext) instead of pubKeyAuth, and the {by} ended the connection ({f.Ending}). Inferred from record sizes; the server does not say why.",
                ["wrong user name or password", "unknown user", "account locked, disabled or restricted"], true);
        }

        if (f.ErrorSizedAnswer == true)
        {
            return new Verdict(false, "credssp", f.Ending, "credssp_error",
                "Authentication failed: the server's answer to the client's AUTHENTICATE is error-sized (a TSRequest with an errorCode such as STATUS_LOGON_FAILURE), inferred from the encrypted record size.",
                ["wrong user name or password", "account locked, disabled or expired", "logon restrictions or a missing logon right"], true);
        }

        if (!ended)
        {
            return new Verdict(true, "credssp", f.Ending, null, $"CredSSP was under way (last round: {round}) when the capture ended.", [], true);
        }

        return round switch
        {
            "negotiate" => new Verdict(false, "credssp", f.Ending, null,
                $"The {by} ended the connection ({f.Ending}) after the client's first CredSSP message (NEGOTIATE) without a CHALLENGE.",
                ["server does not accept the NTLM/SPNEGO token (NTLM restricted by policy)", "the selected protocol was not really CredSSP"], true),
            "challenge" => new Verdict(false, "credssp", f.Ending, null,
                $"The {by} ended the connection ({f.Ending}) after the server's CHALLENGE: the client did not go on (it may have rejected the server or had no credentials).",
                ["client has no credentials for NLA", "client refused the server's identity"], true),
            "authenticate" when f.ServerEncryptedAlert => new Verdict(false, "credssp", f.Ending, "auth_failed",
                $"Authentication failed: the server answered the client's AUTHENTICATE with an (encrypted) TLS alert instead of pubKeyAuth, then the {by} ended the connection ({f.Ending}) (inferred from record sizes).",
                ["wrong user name or password", "account locked, disabled or restricted", "CredSSP Encryption Oracle Remediation policy mismatch"], true),
            "authenticate" => new Verdict(false, "credssp", f.Ending, "auth_failed",
                $"Authentication failed: after the client's AUTHENTICATE the {by} ended the connection ({f.Ending}) without a pubKeyAuth answer (inferred from record sizes).",
                ["wrong user name or password", "CredSSP Encryption Oracle Remediation policy mismatch", "account restrictions"], true),
            "error" => new Verdict(false, "credssp", f.Ending, "credssp_error",
                "Authentication failed: the server answered AUTHENTICATE with an error-sized TSRequest (inferred).",
                ["wrong user name or password", "account locked, disabled or expired"], true),
            "pubKeyAuth" => new Verdict(false, "credssp", f.Ending, null,
                $"The server accepted the credentials (full-size pubKeyAuth answer) but the {by} ended the connection ({f.Ending}) before the client sent authInfo.",
                ["client rejected the server's public-key proof (TLS interception?)"], true),
            _ => new Verdict(false, "credssp", f.Ending, null,
                $"The {by} ended the connection ({f.Ending}) after the client sent its credentials (authInfo).",
                ["server refused the delegated credentials or the session"], true),
        };
    }

    public static string FailureSummary(NegotiationFailureCode code) => code switch
    {
        NegotiationFailureCode.SslRequiredByServer => "The server requires TLS or CredSSP, but the client offered only Standard RDP Security (SSL_REQUIRED_BY_SERVER).",
        NegotiationFailureCode.SslNotAllowedByServer => "The server is set to Standard RDP Security only and refused TLS/CredSSP (SSL_NOT_ALLOWED_BY_SERVER).",
        NegotiationFailureCode.SslCertNotOnServer => "The server has no usable TLS certificate (SSL_CERT_NOT_ON_SERVER).",
        NegotiationFailureCode.InconsistentFlags => "The server found the requested protocols inconsistent (INCONSISTENT_FLAGS).",
        NegotiationFailureCode.HybridRequiredByServer => "The server requires Network Level Authentication (CredSSP), but the client did not offer it (HYBRID_REQUIRED_BY_SERVER).",
        NegotiationFailureCode.SslWithUserAuthRequiredByServer => "The server requires TLS with client-certificate authentication (SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER).",
        _ => $"The server refused the negotiation with failure code {(uint)code}.",
    };

    private static string[] FailureCauses(NegotiationFailureCode code) => code switch
    {
        NegotiationFailureCode.SslRequiredByServer => ["client set to RDP security only", "old client"],
        NegotiationFailureCode.SslNotAllowedByServer => ["server Security Layer set to \"RDP\"", "client forced to TLS/NLA"],
        NegotiationFailureCode.SslCertNotOnServer => ["RDP certificate deleted or its private key unreadable", "expired self-signed certificate not regenerated"],
        NegotiationFailureCode.HybridRequiredByServer => ["client run with NLA off (e.g. /sec:tls)", "CredSSP disabled on the client"],
        NegotiationFailureCode.SslWithUserAuthRequiredByServer => ["server demands client certificates"],
        _ => ["server policy"],
    };

    private static string[] AlertCauses(TlsAlertDescription d, bool fromClient) => d switch
    {
        TlsAlertDescription.ProtocolVersion => ["no TLS version in common (minimum version policy on one side)"],
        TlsAlertDescription.HandshakeFailure => ["no cipher suite, signature algorithm or group in common"],
        TlsAlertDescription.BadCertificate or TlsAlertDescription.CertificateUnknown or TlsAlertDescription.UnknownCa when fromClient => ["client does not trust the server certificate (self-signed, wrong name)"],
        TlsAlertDescription.CertificateExpired => ["server certificate expired"],
        TlsAlertDescription.InternalError => ["server-side TLS failure (certificate or key access)"],
        _ => ["TLS parameters refused by the peer"],
    };

    private static string[] PhaseCauses(Phase phase) => phase switch
    {
        Phase.Channels => ["channel join refused", "server dropped the session setup"],
        Phase.SecurityExchange or Phase.ClientInfo => ["encryption method mismatch or decrypt failure (Standard RDP Security)", "logon refused"],
        Phase.Licensing => ["RDS licensing: no license server or no CAL", "grace period expired"],
        _ => ["see the anomalies around the last frames"],
    };
}
