using RdpProbe.Probe.Phases;
using System.Net;
using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Probe;

/// <summary>Security-layer matrix outcome for one requested protocol (docs/REPORTS.md, negotiation.support).</summary>
public enum SupportStatus
{
    Supported,
    Refused,
    Downgraded,
    Error,
}

/// <summary>One connection of the security-layer matrix: what was asked, what the server did.</summary>
public sealed record MatrixEntry(
    SecurityProtocols Protocol,
    SupportStatus Status,
    SecurityProtocols? Selected,
    NegotiationFailureCode? FailureCode,
    Ending Ending,
    Code? Code,
    string Detail,
    double Ms);

/// <summary>What the X.224 step and the matrix found out.</summary>
public sealed class NegotiationFacts
{
    public SecurityProtocols RequestedProtocols { get; set; }

    public SecurityProtocols? SelectedProtocol { get; set; }

    public NegotiationFailureCode? FailureCode { get; set; }

    public NegotiationResponseFlags ResponseFlags { get; set; }

    /// <summary>The Connection Confirm carried no negotiation data (legacy server: Standard RDP Security).</summary>
    public bool Legacy { get; set; }

    /// <summary>The server selected a protocol outside the request (PROTOCOL_RDP counts: a downgrade).</summary>
    public bool Downgraded { get; set; }

    /// <summary>The server's answer described (CC, DPUM, banner...).</summary>
    public string? Answer { get; set; }

    public IReadOnlyList<MatrixEntry>? Matrix { get; set; }

    public bool? NlaRequired { get; set; }

    /// <summary>The encryption_levels check: what a standard-security server accepts per method.</summary>
    public EncryptionMatrixResult? EncryptionLevels { get; internal set; }
}

public sealed record TlsAlertInfo(string From, string Level, string Description, double AtMs);

/// <summary>The server certificate, parsed from its DER (reported, never judged fatal).</summary>
public sealed record CertificateInfo(
    string Subject,
    string Issuer,
    DateTimeOffset NotBefore,
    DateTimeOffset NotAfter,
    int DaysLeft,
    bool SelfSigned,
    string KeyAlgorithm,
    int? KeySize,
    string SignatureAlgorithm,
    string Sha256,
    IReadOnlyList<string> San,
    string SerialNumber);

public sealed class TlsFacts
{
    public string? Version { get; set; }

    public string? CipherSuite { get; set; }

    /// <summary>tls1.0 .. tls1.3 → accepted; null when not checked.</summary>
    public IReadOnlyDictionary<string, bool?>? Versions { get; set; }

    public CertificateInfo? Certificate { get; set; }

    /// <summary>Certificates in the chain the server sent (leaf first).</summary>
    public int ChainLength { get; set; }

    public List<TlsAlertInfo> Alerts { get; } = [];

    /// <summary>The server's SubjectPublicKey (the BIT STRING contents), which CredSSP binds to (MS-CSSP 3.1.5).</summary>
    internal byte[]? ServerSubjectPublicKey { get; set; }
}

/// <summary>CredSSP facts (docs/REPORTS.md, "credssp").</summary>
public sealed class CredSspFacts
{
    public int? ServerVersion { get; set; }

    public string? ErrorCode { get; set; }

    /// <summary>The server accepted the credentials (pubKeyAuth verified, TSCredentials sent); false without credentials.</summary>
    public bool Authenticated { get; set; }

    public NtlmFacts? Ntlm { get; set; }

    /// <summary>The mechanism asked for: "negotiate", "kerberos" or "ntlm" (--auth or its default).</summary>
    public string Auth { get; set; } = "ntlm";

    /// <summary>The mechanism the exchange used, once the server answered with one: "kerberos" or "ntlm".</summary>
    public string? Mechanism { get; set; }

    /// <summary>The SPNEGO exchange (issue 12); null with raw NTLM.</summary>
    public SpnegoFacts? Spnego { get; set; }
}

/// <summary>What happened in SPNEGO (docs/REPORTS.md, "credssp.spnego").</summary>
public sealed class SpnegoFacts
{
    /// <summary>mechTypes of the NegTokenInit as sent ("ms_krb5", "krb5", "ntlm"); empty when nothing was sent.</summary>
    public IReadOnlyList<string> Offered { get; set; } = [];

    /// <summary>TERMSRV/&lt;name&gt;; null for a literal IP address.</summary>
    public string? Spn { get; set; }

    /// <summary>Why no Kerberos token was offered ("no_spn", the library's status word such as "unknown_credentials"); null when one was.</summary>
    public string? KerberosUnavailable { get; set; }

    /// <summary>negState of the server's first NegTokenResp (accept-completed, accept-incomplete, reject, request-mic).</summary>
    public string? NegState { get; set; }

    /// <summary>supportedMech of the server's first NegTokenResp, as a mechanism word.</summary>
    public string? SupportedMech { get; set; }

    /// <summary>What the server did with the SPNEGO offer: kerberos_accepted, ntlm_chosen, rejected, not_understood (closed, or a wrapped Win32 errorCode as FreeRDP 2 sends); null when it answered none of these.</summary>
    public string? ServerChoice { get; set; }

    /// <summary>The server's AP-REP verified: it holds the key of the SPN (RFC 4120 §3.2.5).</summary>
    public bool MutualAuth { get; set; }
}

public sealed class NtlmFacts
{
    public string? TargetName { get; set; }

    public string? NetbiosComputerName { get; set; }

    public string? NetbiosDomainName { get; set; }

    public string? DnsComputerName { get; set; }

    public string? DnsDomainName { get; set; }

    public string? DnsTreeName { get; set; }

    public string? ProductVersion { get; set; }

    public DateTimeOffset? ServerTime { get; set; }

    public double? ClockSkewSeconds { get; set; }

    public string? NegotiateFlags { get; set; }
}

/// <summary>What the session phases learnt (MCS Connect Response, channels, licensing, Demand Active).</summary>
public sealed class SessionFacts
{
    public string? McsResult { get; set; }

    public string? ServerVersion { get; set; }

    public string? EncryptionMethod { get; set; }

    public string? EncryptionLevel { get; set; }

    public ushort? IoChannelId { get; set; }

    public ushort? MessageChannelId { get; set; }

    public IReadOnlyList<ushort> ChannelIds { get; set; } = [];

    public ushort? UserChannelId { get; set; }

    public IReadOnlyList<string> JoinedChannels { get; set; } = [];

    /// <summary>The standard-security server certificate (proprietary or X.509), described.</summary>
    public string? ServerCertificate { get; set; }

    public string? Licensing { get; set; }

    public string? DemandActive { get; set; }

    /// <summary>The last Set Error Info code the server sent, hex.</summary>
    public string? ErrorInfo { get; set; }
}

/// <summary>What the probe could not do on its own and the user can: a typed hint the front end renders in its own words.</summary>
public enum NextStep
{
    /// <summary>Nothing: the probe went as far as it could.</summary>
    None,

    /// <summary>
    /// The server uses NLA and the probe had no credentials, so it stopped after the NTLM challenge: with credentials it
    /// would test the logon and go on through the session phases to Demand Active.
    /// </summary>
    CredentialsNeeded,
}

/// <summary>
/// One connection of the connection sequence to one address: the first, or a retry on a new connection with the
/// client's next request after the server refused the previous one (RDP_NEG_FAILURE, MS-RDPBCGR 2.2.1.2.2).
/// </summary>
/// <param name="RequestedProtocols">What this attempt's Connection Request asked for.</param>
/// <param name="Phases">This attempt's phase records (tcp onwards; the dns record is the report's).</param>
/// <param name="SelectedProtocol">The server's selection, when it selected one.</param>
/// <param name="FailureCode">The server's RDP_NEG_FAILURE code, when it refused.</param>
/// <param name="Outcome">How the attempt ended: the verdict of its phase records alone.</param>
/// <param name="FallbackReason">Why the next attempt followed ("ssl_not_allowed_by_server"); null for the last attempt.</param>
public sealed record ProbeAttempt(
    SecurityProtocols RequestedProtocols,
    IReadOnlyList<PhaseRecord> Phases,
    SecurityProtocols? SelectedProtocol,
    NegotiationFailureCode? FailureCode,
    Verdict Outcome,
    string? FallbackReason)
{
    /// <summary>Whether the probe withheld the password on this attempt (a fallback to Standard RDP Security; see ProbeEngine).</summary>
    public bool PasswordWithheld { get; init; }
}

/// <summary>
/// One address of a name the probe tried, in the order clients try them (getaddrinfo's order), and how it ended: the
/// first one that got past tcp is the one probed; a dead one before it is a finding, not the verdict.
/// </summary>
/// <param name="Address">The address.</param>
/// <param name="Answered">It did not end at tcp refused, timeout or unreachable: the probe went on with it.</param>
/// <param name="Phase">Where it ended (tcp for a dead address; otherwise the verdict's phase).</param>
/// <param name="Ending">How it ended there.</param>
/// <param name="Code">The ending's code, if any.</param>
/// <param name="Detail">The tcp record's detail line (how it connected, or why not).</param>
/// <param name="Ms">The tcp phase's wall time: for a dead address, how long a client waits for it.</param>
public sealed record AddressAttempt(IPAddress Address, bool Answered, Phase Phase, Ending Ending, string? Code, string? Detail, double? Ms);

/// <summary>Everything one probe of one address found: the phase records, the decoded facts and the verdict.</summary>
public sealed class ProbeReport
{
    public ProbeReport(ProbeTarget target) => Target = target;

    public ProbeTarget Target { get; }

    /// <summary>The address the probe connected to.</summary>
    public IPAddress? Address { get; set; }

    /// <summary>Every address the name resolved to (just the literal for an address target).</summary>
    public IReadOnlyList<IPAddress> ResolvedAddresses { get; set; } = [];

    public List<PhaseRecord> Phases { get; } = [];

    public NegotiationFacts Negotiation { get; } = new();

    public TlsFacts? Tls { get; set; }

    public CredSspFacts? CredSsp { get; set; }

    /// <summary>The kerberos phase's evidence (issue 12), when it ran.</summary>
    public KerberosFacts? Kerberos { get; set; }

    public SessionFacts? Session { get; set; }

    /// <summary>
    /// The outcome as <see cref="ProbeOptions.Client"/> sees it: the phase records' verdict, turned into a failure when
    /// that client would refuse what the probe reached (Ending.ClientRefused at the phase the client stops in), and with
    /// the insecure or warned way in said in the summary.
    /// </summary>
    public Verdict Verdict { get; set; } = Verdict.From([]);

    /// <summary>What the chosen client profile (<see cref="ProbeOptions.Client"/>) gets from this server; null before the probe judged it.</summary>
    public ClientVerdict? ClientVerdict { get; set; }

    /// <summary>Every client profile (<see cref="ClientProfiles.All"/>, default settings) against the same facts: the compatibility table.</summary>
    public IReadOnlyList<ClientVerdict> Compatibility { get; set; } = [];

    /// <summary>
    /// Every connection of the sequence to this address, in order: one, or more when the client's fallback retried with
    /// another request. <see cref="Phases"/> (and the facts) are the last attempt's.
    /// </summary>
    public IReadOnlyList<ProbeAttempt> Attempts { get; set; } = [];

    /// <summary>
    /// For a name: every address tried before and including this one, in order (without --all-addresses the probe goes
    /// on to the next address when one does not answer at tcp, as clients do). Empty for an address target.
    /// </summary>
    public IReadOnlyList<AddressAttempt> AddressAttempts { get; set; } = [];

    /// <summary>The client simulation's connections (<see cref="ClientSimulationCheck"/>), in the order they were made; empty when it did not run.</summary>
    public IReadOnlyList<SimulatedConnection> ClientSimulation { get; set; } = [];

    /// <summary>The client simulation per profile name: the last connection of that profile's walk; null when it did not run.</summary>
    public IReadOnlyDictionary<string, SimulatedHandshake>? ClientHandshakes { get; set; }

    /// <summary>What the user can do to let the probe go further (the CLI says how: which option, which variable).</summary>
    public NextStep NextStep { get; set; }

    /// <summary>What the probe observed that a person should act on, most severe first once the probe is done.</summary>
    public List<Finding> Findings { get; } = [];

    /// <summary>When the probe started (UTC).</summary>
    public DateTimeOffset StartedAt { get; set; } = DateTimeOffset.UtcNow;
}
