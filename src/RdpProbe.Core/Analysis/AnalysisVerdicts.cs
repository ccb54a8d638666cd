using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Analysis;

/// <summary>The facts a verdict is computed from (never from message text).</summary>
/// <param name="Ending">How TCP showed the connection end: <see cref="Ending.Closed"/>, <see cref="Ending.Reset"/>,
/// <see cref="Ending.Timeout"/> or <see cref="Ending.Open"/> (the capture ended first).</param>
/// <param name="EndedBy">"client" or "server" for the side whose FIN or RST came first; null when nobody ended it.</param>
internal sealed record VerdictFacts(
    Phase LastPhase,
    Ending Ending,
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
    SecurityProtocols? Selected = null,
    ServiceFingerprint? ServerService = null,
    int? ServerServiceFrame = null,
    int? ServerPort = null,
    ServiceFingerprint? ClientService = null,
    bool ServerSentBytes = true)
{
    /// <summary>The shared attribution step's result for this connection (issue 11); null in tests that build bare facts.</summary>
    public Attribution? Attribution { get; init; }
}


/// <summary>
/// Where the shared symptom table (<see cref="Symptoms"/>) is looked up for an observation, and whether the table's
/// summary describes the observation exactly (the same thing the live probe sees) or only the table's causes and
/// remedies apply (what only a capture shows: record-size inference, stalls).
/// </summary>
internal readonly record struct SymptomKey(Phase Phase, Ending Ending, Code? Code, bool Exact);

/// <summary>
/// Plain-word verdicts for analyzed connections. Each rule names its own verdict (phase, ending, code) and the symptom
/// table key it shares with the live probe, so probe and analyzer say the same thing for the same observation.
/// </summary>
internal static class AnalysisVerdicts
{
    /// <summary>
    /// The verdict for one connection. Where the observation is the same one the live probe makes (refused SYN,
    /// negotiation failure code, TLS alert, close before ServerHello, ...), the wording, causes and remedies come from
    /// the shared symptom table, so probe and analyzer say the same thing; what only a capture shows (record-size
    /// inference, stalls) keeps the analyzer's own words, with the table's causes and remedies added.
    /// </summary>
    public static Verdict Explain(VerdictFacts f)
    {
        if (ForeignAnswer(f) is { } foreign)
        {
            return foreign;
        }

        var (v, key) = Observe(f);
        if (v.Ok)
        {
            return v;
        }

        var x = Symptoms.Explain(key.Phase, key.Ending, key.Code);
        var explained = key.Exact
            ? v with { Summary = x.Summary, Causes = x.Causes.Count > 0 ? x.Causes : v.Causes, Remedies = x.Remedies }
            : v with { Causes = CauseRanking.Dedupe(v.Causes.Concat(x.Causes)), Remedies = x.Remedies };

        // Issue 11: the summary and the first cause follow from who ended the connection and how.
        return f.Attribution is { } a ? CauseRanking.Apply(explained, a) : explained;
    }

    /// <summary>
    /// Issue 11: the server answered the Connection Request in another protocol (HTTP, SSH, TLS, a greeting) — its
    /// own bytes name it, which rules out a hung listener or a middlebox; and a close or reset at x224 with no byte
    /// from the server, where the capture cannot decide, says which possibilities remain and what tells them apart.
    /// </summary>
    private static Verdict? ForeignAnswer(VerdictFacts f)
    {
        if (f.SessionReached || f.ConfirmSeen || f.RefusedAtSyn || f.FailureCode is not null || f.ServerUltimatum)
        {
            return null;
        }

        if (f.ServerService is { Kind: not ServiceKind.Rdp } service)
        {
            string at = f.ServerServiceFrame is int frame ? $"in frame {frame}, " : string.Empty;
            var evidence = new ServiceEvidence(service, $"{at}the client's connection", [$"{at}the server sent {service.Evidence}"], f.ServerPort) { SameConnection = true };
            var x = ForeignService.Explain(evidence, f.Ending, Symptoms.Explain(Phase.X224, Ending.NotRdp, null));
            return new Verdict(false, Phase.X224, f.Ending, ForeignService.CodeOf(service), x.Summary, x.Causes, x.Remedies);
        }

        if (f.NotRdpReason is not null && f.LastPhase <= Phase.Tcp && f.ClientService is { } client)
        {
            return new Verdict(false, Phase.X224, f.Ending, Codes.NotRdp,
                $"The client's first bytes are not RDP: they are {client.Describe()} ({client.Evidence}) — {Article(client.Name)} {client.Name} client connected to this port.",
                [$"{Article(client.Name)} {client.Name} client or scanner pointed at the RDP port", "RDP wrapped in a tunnel or proxy the analyzer does not decode"],
                ["check which program opened this connection; if the port should serve RDP, nothing is wrong on the server side"]);
        }

        if (f.LastPhase == Phase.X224 && !f.ServerSentBytes && f.Ending is Ending.Closed or Ending.Reset && f.EndedBy == "server")
        {
            var (v, key) = Observe(f);
            var x = Symptoms.Explain(key.Phase, key.Ending, key.Code);
            string how = f.Ending == Ending.Reset ? "reset" : "closed";
            var causes = new List<string>
            {
                $"the capture cannot decide: a service that does not speak RDP and {how} on the Connection Request without a word (a TLS server does this: the X.224 bytes are not a TLS record); a firewall, IPS or load balancer that drops requests without the cookie or routing token it expects; or an RDP listener refusing connections — a live probe of the port (rdpprobe HOST:PORT) identifies the service on extra connections, and the server's netstat -ano names the process on the port",
            };
            causes.AddRange(v.Causes.Concat(x.Causes));
            return v with
            {
                Summary = $"{v.Summary} The server sent no byte before it {how} the connection, so the capture cannot tell which service holds the port.",
                Causes = causes.Distinct().ToList(),
                Remedies = x.Remedies,
            };
        }

        return null;
    }

    /// <summary>"an" before a name spelt out with a vowel sound (HTTP, SSH, FTP, SMTP, IMAP), else "a".</summary>
    private static string Article(string name) => name.Length > 0 && "AEFHILMNORSX".Contains(name[0], StringComparison.Ordinal) ? "an" : "a";

    /// <summary>The verdict in the analyzer's own words, and the symptom key of the observation.</summary>
    internal static (Verdict Verdict, SymptomKey Key) Observe(VerdictFacts f)
    {
        string by = f.EndedBy ?? "nobody";
        bool ended = f.Ending is Ending.Closed or Ending.Reset or Ending.Timeout;
        string how = f.Ending.ToReportName();

        if (f.SessionReached)
        {
            return (Ok(f.LastPhase, Ending.Ok,
                "The handshake completed and session data flowed" + (ended ? $"; the {by} later ended the connection ({how})." : "."),
                inferred: true), default);
        }

        if (f.NotRdpReason is not null && f.LastPhase <= Phase.Tcp)
        {
            return (Fail(Phase.X224, f.Ending, Codes.NotRdp, $"The client's first bytes are not RDP ({f.NotRdpReason}).",
                ["another protocol on the RDP port", "RDP wrapped in a tunnel or proxy the analyzer does not decode"], inferred: false),
                new SymptomKey(Phase.X224, Ending.NotRdp, null, Exact: false));
        }

        if (f.RefusedAtSyn)
        {
            return (Fail(Phase.Tcp, Ending.Reset, Codes.Refused, "The server answered the SYN with a reset: nothing is listening on that port.",
                ["Remote Desktop disabled or the TermService stopped", "wrong port", "a firewall rejecting with a reset"], inferred: false),
                new SymptomKey(Phase.Tcp, Ending.Refused, null, Exact: true));
        }

        if (f.LastPhase == Phase.Tcp && !f.SynAnswered)
        {
            return (Fail(Phase.Tcp, ended ? f.Ending : Ending.Timeout, null,
                "The SYN was never answered: the port is filtered, the host is down or the address is wrong.",
                ["firewall or VPN dropping TCP 3389", "host down", "wrong address or port"], inferred: false),
                new SymptomKey(Phase.Tcp, Ending.Timeout, null, Exact: true));
        }

        if (f.FailureCode is { } failure)
        {
            var code = Codes.NegotiationFailure(failure);
            return (Fail(Phase.X224, f.Ending, code, FailureSummary(failure), FailureCauses(failure), inferred: false),
                new SymptomKey(Phase.X224, Ending.NegotiationFailure, code, Exact: true));
        }

        if (f.ServerUltimatum && !f.ConfirmSeen)
        {
            // The report code stays "disconnect_provider_ultimatum"; the probe records the same answer with the
            // ByteSniffer word, which is the table's key.
            return (Fail(Phase.X224, f.Ending, Codes.DisconnectProviderUltimatum,
                "The server answered the X.224 Connection Request with an MCS Disconnect Provider Ultimatum instead of a Connection Confirm: it refuses the security protocols the client asked for.",
                ["requested protocol not supported by this server (e.g. RDSAAD on xrdp)"], inferred: false),
                new SymptomKey(Phase.X224, Ending.Closed, Codes.McsDisconnectProviderUltimatum, Exact: true));
        }

        if (f.ServerUltimatum && f.ConfirmSeen && f.LastPhase == Phase.Tls && !f.ServerHelloSeen)
        {
            // Issue 11: TLS selected, then a cleartext MCS Disconnect Provider Ultimatum where the ServerHello was due.
            return (Fail(Phase.Tls, f.Ending, Codes.McsDisconnectProviderUltimatum,
                "The server selected TLS, then answered the ClientHello with a cleartext MCS Disconnect Provider Ultimatum instead of a ServerHello.",
                [], inferred: false),
                new SymptomKey(Phase.Tls, Ending.ProtocolViolation, Codes.McsDisconnectProviderUltimatum, Exact: true));
        }

        if (f.LastPhase == Phase.X224 && f.ConfirmSeen && f.Requested is { } asked && f.Selected == SecurityProtocols.Rdp
            && (asked & (SecurityProtocols.Ssl | SecurityProtocols.Hybrid | SecurityProtocols.HybridEx)) != 0 && f.EndedBy == "client")
        {
            // Issue 11: a silent downgrade (MS-RDPBCGR 2.2.1.2.1: selectedProtocol PROTOCOL_RDP although TLS was asked for).
            return (Fail(Phase.X224, f.Ending, Codes.DowngradedToStandardSecurity,
                $"The client asked for {string.Join("|", asked.ToReportNames())} but the server selected Standard RDP Security (a silent downgrade); the client then closed the connection rather than continue without TLS.",
                [], inferred: false),
                new SymptomKey(Phase.X224, f.Ending, Codes.DowngradedToStandardSecurity, Exact: false));
        }

        if (f.Stalled && f.StallDetail is not null)
        {
            return (Fail(f.LastPhase, f.Ending, Codes.Stall, f.StallDetail,
                ["path MTU black hole: full-size segments dropped and ICMP fragmentation-needed filtered (VPN, PPPoE, GRE, IPsec)",
                 "a firewall or IPS silently dropping the connection mid-handshake"], inferred: true),
                new SymptomKey(f.LastPhase, Ending.Timeout, f.LastPhase == Phase.Tls && !f.ServerHelloSeen ? Codes.BeforeServerHello : null, Exact: false));
        }

        if (f.FirstAlert is { Alert: { } a } alert && f.LastPhase == Phase.Tls)
        {
            string from = alert.FromClient ? "client" : "server";
            string name = TlsNames.AlertName(a.Description);
            return (Fail(Phase.Tls, f.Ending, Codes.TlsAlert(a.Description),
                $"TLS failed: the {from} sent a {(a.Level == TlsAlertLevel.Fatal ? "fatal" : "warning")} {name} alert.",
                AlertCauses(a.Description, alert.FromClient), inferred: false),
                new SymptomKey(Phase.Tls, Ending.TlsAlert, Codes.TlsAlert(a.Description), Exact: true));
        }

        var v = ByPhase(f, ended, by, how);
        return (v, PhaseKey(f, v.Code));
    }

    /// <summary>
    /// The symptom key for a verdict decided by the last phase alone: a capture-only observation, so the table's
    /// causes and remedies for that phase and TCP ending are added to the analyzer's words. An open connection is
    /// looked up as a timeout (nothing more came).
    /// </summary>
    private static SymptomKey PhaseKey(VerdictFacts f, Code? code)
    {
        Ending ending = f.Ending == Ending.Open ? Ending.Timeout : f.Ending;
        return f.LastPhase switch
        {
            Phase.Tls when !f.ServerHelloSeen => new(Phase.Tls, ending, Codes.BeforeServerHello, false),
            Phase.Credssp when f.CredsspRound is null or "negotiate" => new(Phase.Credssp, Ending.Closed, Codes.AfterNegotiate, false),
            Phase.Credssp when code == Codes.AuthFailed || code == Codes.CredSspError => new(Phase.Credssp, Ending.AuthFailed, null, false),
            Phase.EarlyAuth => new(Phase.EarlyAuth, Ending.AccessDenied, null, false),
            _ => new(f.LastPhase <= Phase.Tcp ? Phase.X224 : f.LastPhase, ending, null, false),
        };
    }

    private static Verdict Ok(Phase phase, Ending ending, string summary, bool inferred) =>
        new(true, phase, ending, null, summary, [], []) { Inferred = inferred };

    private static Verdict Fail(Phase phase, Ending ending, Code? code, string summary, IReadOnlyList<string> causes, bool inferred) =>
        new(false, phase, ending, code, summary, causes, []) { Inferred = inferred };

    /// <summary>A connection that is ok when it was still open at the end of the capture, failed when it ended here.</summary>
    private static Verdict OkUnlessEnded(bool ended, Phase phase, Ending ending, Code? code, string summary, IReadOnlyList<string> causes, bool inferred) =>
        new(!ended, phase, ending, code, summary, causes, []) { Inferred = inferred };

    private static Verdict ByPhase(VerdictFacts f, bool ended, string by, string how)
    {
        switch (f.LastPhase)
        {
            case Phase.Tcp:
                return Fail(Phase.X224, f.Ending, null,
                    ended
                        ? $"The TCP connection opened but the {by} ended it ({how}) before an X.224 Connection Request was seen."
                        : "The TCP connection opened; no RDP bytes were seen before the capture ended.",
                    ["client gave up or a middlebox cut the connection before RDP started"], inferred: false);

            case Phase.X224 when !f.ConfirmSeen:
                return Fail(Phase.X224, f.Ending, null,
                    ended
                        ? $"The client sent the X.224 Connection Request but the {by} ended the connection ({how}) without a Connection Confirm."
                        : "The client sent the X.224 Connection Request; no Connection Confirm before the capture ended.",
                    ["malformed request or another service on the port", "IPS/load balancer rejecting the cookie or wanting a routing token", "listener overloaded or TermService wedged"], inferred: false);

            case Phase.X224 when ended && f.EndedBy == "client" && f.Requested is { } req && f.Selected is { } sel
                && (req & (SecurityProtocols.Hybrid | SecurityProtocols.HybridEx)) != 0 && (sel & (SecurityProtocols.Hybrid | SecurityProtocols.HybridEx)) == 0:
                // Remedies come from the symptom table, as for every capture-only observation.
                return Fail(Phase.X224, f.Ending, Codes.NlaNotOffered,
                    $"The client asked for NLA (CredSSP) but the server selected {sel.ToReportName()}; the client then closed the connection: it requires NLA, which this server does not offer.",
                    ["server without Network Level Authentication (e.g. xrdp, or NLA disabled on the server)", "client set to require NLA (/sec:nla)"], inferred: false);

            case Phase.X224:
                return OkUnlessEnded(ended, Phase.X224, f.Ending, null,
                    ended ? $"Negotiation succeeded but the {by} ended the connection ({how}) before TLS or MCS started." : "Negotiation succeeded; the capture ends there.",
                    ended ? ["the client gave up after seeing the selected protocol (a scanner, or a client that refuses it)"] : [], inferred: false);

            case Phase.Tls when !f.ServerHelloSeen:
                return Fail(Phase.Tls, f.Ending, null,
                    ended
                        ? $"The {by} ended the connection ({how}) right after the ClientHello, without a ServerHello."
                        : "The ClientHello got no ServerHello before the capture ended.",
                    ["no TLS version or cipher suite in common (e.g. TLS 1.2-only client vs a TLS 1.0-only server)", "server certificate or private key unusable", "a middlebox resetting TLS on the RDP port"], inferred: false);

            case Phase.Tls:
                return OkUnlessEnded(ended, Phase.Tls, f.Ending, null,
                    ended ? $"The TLS handshake started but the {by} ended the connection ({how}) before it finished." : "The TLS handshake was under way when the capture ended.",
                    ended ? ["certificate rejected by the client", "TLS parameters refused"] : [], inferred: false);

            case Phase.Credssp:
                return CredsspVerdict(f, ended, by, how);

            case Phase.EarlyAuth:
                return OkUnlessEnded(ended, Phase.EarlyAuth, f.Ending, ended ? Codes.AccessDenied : null,
                    ended
                        ? $"Credentials were accepted, then the server sent its Early User Authorization Result and the {by} closed the connection: the user is most likely not allowed to log on through Remote Desktop (inferred from record sizes)."
                        : "The server sent its Early User Authorization Result (4 bytes); the capture ends there.",
                    ended ? ["user not in Remote Desktop Users", "\"Allow log on through Remote Desktop Services\" missing or a deny right"] : [], inferred: true);

            case Phase.Mcs when f.McsResult is int r and not 0:
                return Fail(Phase.Mcs, f.Ending, Codes.McsResultNumber(r), $"The server refused the MCS Connect-Initial (result {r}).", ["client settings not acceptable to the server"], inferred: false);

            case Phase.Mcs:
                return OkUnlessEnded(ended, Phase.Mcs, f.Ending, null,
                    ended ? $"The {by} ended the connection ({how}) during the MCS basic settings exchange." : "The connection was in the MCS basic settings exchange when the capture ended.",
                    ended ? ["server rejected the client's core/security/channel settings (downgrade check, encryption level, channel list)", "MTU black hole on the larger Connect-Initial PDU"] : [],
                    inferred: f.ExpectsCredssp || f.LastPhase > Phase.Tls);

            default:
                string phase = f.LastPhase.ToReportName().Replace('_', ' ');
                return OkUnlessEnded(ended, f.LastPhase, f.Ending, null,
                    ended ? $"The {by} ended the connection ({how}) during {phase}." : $"The connection was in {phase} when the capture ended.",
                    ended ? PhaseCauses(f.LastPhase) : [], inferred: true);
        }
    }

    private static Verdict CredsspVerdict(VerdictFacts f, bool ended, string by, string how)
    {
        string round = f.CredsspRound ?? "negotiate";
        if (round == "alert")
        {
            return Fail(Phase.Credssp, f.Ending, Codes.AuthFailed,
                $"Authentication failed: the server answered the client's AUTHENTICATE with an encrypted TLS alert (2 bytes of plaintext) instead of pubKeyAuth, and the {by} ended the connection ({how}). Inferred from record sizes; the server does not say why.",
                ["wrong user name or password", "unknown user", "account locked, disabled or restricted"], inferred: true);
        }

        if (f.ErrorSizedAnswer == true)
        {
            return Fail(Phase.Credssp, f.Ending, Codes.CredSspError,
                "Authentication failed: the server's answer to the client's AUTHENTICATE is error-sized (a TSRequest with an errorCode such as STATUS_LOGON_FAILURE), inferred from the encrypted record size.",
                ["wrong user name or password", "account locked, disabled or expired", "logon restrictions or a missing logon right"], inferred: true);
        }

        if (!ended)
        {
            return Ok(Phase.Credssp, f.Ending, $"CredSSP was under way (last round: {round}) when the capture ended.", inferred: true);
        }

        return round switch
        {
            "negotiate" => Fail(Phase.Credssp, f.Ending, null,
                $"The {by} ended the connection ({how}) after the client's first CredSSP message (NEGOTIATE) without a CHALLENGE.",
                ["server does not accept the NTLM/SPNEGO token (NTLM restricted by policy)", "the selected protocol was not really CredSSP"], inferred: true),
            "challenge" => Fail(Phase.Credssp, f.Ending, null,
                $"The {by} ended the connection ({how}) after the server's CHALLENGE: the client did not go on (it may have rejected the server or had no credentials).",
                ["client has no credentials for NLA", "client refused the server's identity"], inferred: true),
            "authenticate" when f.ServerEncryptedAlert => Fail(Phase.Credssp, f.Ending, Codes.AuthFailed,
                $"Authentication failed: the server answered the client's AUTHENTICATE with an (encrypted) TLS alert instead of pubKeyAuth, then the {by} ended the connection ({how}) (inferred from record sizes).",
                ["wrong user name or password", "account locked, disabled or restricted", "CredSSP Encryption Oracle Remediation policy mismatch"], inferred: true),
            "authenticate" => Fail(Phase.Credssp, f.Ending, Codes.AuthFailed,
                $"Authentication failed: after the client's AUTHENTICATE the {by} ended the connection ({how}) without a pubKeyAuth answer (inferred from record sizes).",
                ["wrong user name or password", "CredSSP Encryption Oracle Remediation policy mismatch", "account restrictions"], inferred: true),
            "error" => Fail(Phase.Credssp, f.Ending, Codes.CredSspError,
                "Authentication failed: the server answered AUTHENTICATE with an error-sized TSRequest (inferred).",
                ["wrong user name or password", "account locked, disabled or expired"], inferred: true),
            "pubKeyAuth" => Fail(Phase.Credssp, f.Ending, null,
                $"The server accepted the credentials (full-size pubKeyAuth answer) but the {by} ended the connection ({how}) before the client sent authInfo.",
                ["client rejected the server's public-key proof (TLS interception?)"], inferred: true),
            _ => Fail(Phase.Credssp, f.Ending, null,
                $"The {by} ended the connection ({how}) after the client sent its credentials (authInfo).",
                ["server refused the delegated credentials or the session"], inferred: true),
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
