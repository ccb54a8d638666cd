using System.Net;
using RdpProbe.Diagnosis;
using RdpProbe.Probe.Phases;
using RdpProbe.Protocol;

namespace RdpProbe.Probe;

/// <summary>
/// The RDP connection sequence as the probe walks it (MS-RDPBCGR 1.3.1.1), drawn once here and run by
/// <see cref="RunAsync"/> and <see cref="RunSessionAsync"/>; the bodies of the handshake phases are in
/// ConnectionSequence.Handshake.cs, the session phases in Phases/.
/// <code>
///   dns ─▶ tcp ─▶ x224 ─┬─ RDP ───────────────────────────────────────────────────┐
///                       ├─ SSL ─────────▶ tls ────────────────────────────────────┤
///                       ├─ HYBRID ──────▶ tls ─▶ credssp ─────────────────────────┤ with credentials
///                       └─ HYBRID_EX ───▶ tls ─▶ credssp ─▶ early_auth ───────────┤ with credentials
///                                                                                 │ SessionPhases on
///   ┌─────────────────────────────────────────────────────────────────────────────┘
///   └▶ mcs ─▶ channels ─▶ [security_exchange] ─▶ client_info ─▶ licensing ─▶ capabilities
///                         standard security      the password   may stop:    Demand Active,
///                         with encryption only   guard decides  no CAL here  then hang up
/// </code>
/// dns runs once per name, before the sequence of each address. After an RDP_NEG_FAILURE at x224 the engine may run
/// the whole sequence again on a new connection with the client profile's next request (ProbeEngine, ProbeReport.Attempts). The sequence stops after the first phase that does not
/// end ok; with NLA and no credentials it ends, correctly, after the NTLM challenge. It never decides the verdict: the
/// phase records do.
/// </summary>
internal sealed partial class ConnectionSequence
{
    private readonly ProbeOptions options;
    private readonly CredSspCredentials? credentials;
    private readonly ProbeReport report;
    private readonly PhaseRunner runner;
    private ProbeConnection? connection;
    private TlsSession? tls;

    public ConnectionSequence(ProbeOptions options, CredSspCredentials? credentials, ProbeReport report, PhaseRunner runner)
    {
        this.options = options;
        this.credentials = credentials;
        this.report = report;
        this.runner = runner;
    }

    /// <summary>Runs tcp → x224 → tls → credssp → early_auth → the session phases on one connection, then closes it.</summary>
    public async Task RunAsync(IPEndPoint endPoint, ProbeTarget target)
    {
        try
        {
            if (await TcpAsync(endPoint).ConfigureAwait(false) is not { } open)
            {
                return;
            }

            // The server's choice decides the path (MS-RDPBCGR 2.2.1.2.1); PROTOCOL_RDP means Standard RDP Security.
            if (await X224Async(open, endPoint, target).ConfigureAwait(false) is not { } selected)
            {
                return;
            }

            bool nla = selected is SecurityProtocols.Hybrid or SecurityProtocols.HybridEx;
            if (selected != SecurityProtocols.Rdp && !await TlsAsync(open, target).ConfigureAwait(false))
            {
                return;
            }

            if (nla)
            {
                // The client's Kerberos exchanges come before its first CredSSP message (issue 12; only when asked for).
                if (options.Kerberos is not null && !await KerberosAsync(target).ConfigureAwait(false))
                {
                    return;
                }

                // Without credentials CredSSP stops, correctly, after the NTLM challenge: nothing after it can run.
                if (!await CredSspAsync(open, target).ConfigureAwait(false) || report.CredSsp is not { Authenticated: true })
                {
                    return;
                }

                // MS-RDPBCGR 2.2.10.2: only HYBRID_EX sends the Early User Authorization Result, after the credentials.
                if (selected == SecurityProtocols.HybridEx && !await EarlyAuthAsync(open).ConfigureAwait(false))
                {
                    return;
                }
            }

            if (options.SessionPhases)
            {
                // Over TLS, or with standard RDP security the raw stream; the wire time is always the socket's.
                var session = new RdpSession((Stream?)tls ?? open.Stream, selected, options.RequestedProtocols);
                var outcome = await RunSessionAsync(session, new SessionOptions(credentials, NlaUsed: nla), runner, report.Phases, open.Stream).ConfigureAwait(false);
                report.Session = ReportFacts.Session(session, outcome);
            }
        }
        finally
        {
            if (tls is not null)
            {
                using var closing = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                await tls.CloseAsync(closing.Token).ConfigureAwait(false);
            }

            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// The session phases in connection order (MS-RDPBCGR 1.3.1.1 phases 2–9): mcs → channels → security_exchange
    /// (standard RDP security with encryption only) → client_info → licensing → capabilities, each run by
    /// <paramref name="runner"/> and recorded in <paramref name="phases"/>, stopping after the first phase that does not
    /// end ok (or a licensing exchange this probe cannot finish).
    /// </summary>
    /// <param name="wire">The socket's recording stream for the wire time (null: wall time only).</param>
    internal static async Task<SessionOutcome> RunSessionAsync(RdpSession session, SessionOptions options, PhaseRunner runner, List<PhaseRecord> phases, RecordingStream? wire)
    {
        var outcome = new SessionOutcome();
        async Task<bool> Step(Phase phase, Func<PhaseRecord, CancellationToken, Task> body)
        {
            var record = await runner.RunAsync(phase, phases, wire, context => body(context.Record, context.Token)).ConfigureAwait(false);
            return record.Status == PhaseStatus.Ok;
        }

        if (!await Step(Phase.Mcs, async (r, ct) => outcome.Mcs = await McsPhase.RunAsync(session, options.Mcs ?? new McsOptions(), r, ct).ConfigureAwait(false)).ConfigureAwait(false))
        {
            return outcome;
        }

        if (!await Step(Phase.Channels, async (r, ct) => outcome.Channels = await ChannelsPhase.RunAsync(session, r, ct).ConfigureAwait(false)).ConfigureAwait(false))
        {
            return outcome;
        }

        if (session.StandardEncryption
            && (!await Step(Phase.SecurityExchange, async (r, ct) => outcome.SecurityExchange = await SecurityExchangePhase.RunAsync(session, r, ct).ConfigureAwait(false)).ConfigureAwait(false)
                || outcome.SecurityExchange?.Established != true))
        {
            return outcome;
        }

        // The password guard (Phases/PasswordGuard.cs) decides inside: the Client Info PDU is the only place outside
        // CredSSP where a password leaves the probe.
        if (!await Step(Phase.ClientInfo, async (r, ct) => outcome.ClientInfo = await ClientInfoPhase.RunAsync(session, options.Credentials, options.NlaUsed, r, ct).ConfigureAwait(false)).ConfigureAwait(false))
        {
            return outcome;
        }

        if (!await Step(Phase.Licensing, async (r, ct) => outcome.Licensing = await LicensingPhase.RunAsync(session, r, ct).ConfigureAwait(false)).ConfigureAwait(false)
            || outcome.Licensing?.CanContinue != true)
        {
            return outcome;
        }

        await Step(Phase.Capabilities, async (r, ct) => outcome.Capabilities = await CapabilitiesPhase.RunAsync(session, r, ct).ConfigureAwait(false)).ConfigureAwait(false);
        return outcome;
    }
}

/// <summary>What the session phases need besides the connection.</summary>
/// <param name="Credentials">Who logs on; null for an anonymous probe.</param>
/// <param name="NlaUsed">CredSSP already delivered the credentials (then the Client Info PDU carries no password).</param>
internal sealed record SessionOptions(CredSspCredentials? Credentials, bool NlaUsed, McsOptions? Mcs = null);

/// <summary>Every session phase's typed result, as far as the sequence got.</summary>
internal sealed class SessionOutcome
{
    public McsResult? Mcs { get; internal set; }
    public ChannelsResult? Channels { get; internal set; }
    public SecurityExchangeResult? SecurityExchange { get; internal set; }
    public ClientInfoResult? ClientInfo { get; internal set; }
    public LicensingResult? Licensing { get; internal set; }
    public CapabilitiesResult? Capabilities { get; internal set; }

    public bool ReachedDemandActive => Capabilities?.ReachedDemandActive == true;
}
