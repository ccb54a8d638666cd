using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Analysis;

/// <summary>
/// What the analyzer found in one run over capture files: typed facts (phases, endings, the shared
/// <see cref="Verdict"/>, protocol values). The report module turns them into the analysis document's words; the
/// analyzer itself never depends on a report format.
/// </summary>
public sealed record CaptureFindings(
    IReadOnlyList<string> Files,
    long Packets,
    long Bytes,
    double Seconds,
    IReadOnlyList<AnalyzedConnection> Connections,
    IReadOnlyList<AnalyzedUdpFlow> Udp,
    IReadOnlyList<IcmpFinding> Icmp,
    FragmentCounts Fragments,
    string? Damage,
    IReadOnlyList<string> Warnings)
{
    /// <summary>The fragment counters per file, in the order of <see cref="Files"/>.</summary>
    public IReadOnlyList<FragmentCounts> FragmentsPerFile { get; init; } = [];
}

/// <summary>One RDP-over-TCP connection, from its first to its last frame.</summary>
/// <param name="RequestedProtocols">From the X.224 Connection Request; null when none was seen (MS-RDPBCGR 2.2.1.1.1: absent means PROTOCOL_RDP).</param>
/// <param name="SelectedProtocol">From a Connection Confirm that is not a failure.</param>
/// <param name="Ending">How the connection ended, named by what decided it (refused SYN, negotiation failure, ...).</param>
/// <param name="EndedBy">"client" or "server": whose FIN or RST came first; null when nobody ended it.</param>
public sealed record AnalyzedConnection(
    string Client,
    string Server,
    int FirstFrame,
    int LastFrame,
    string? Cookie,
    string? RoutingToken,
    SecurityProtocols? RequestedProtocols,
    SecurityProtocols? SelectedProtocol,
    NegotiationFailureCode? FailureCode,
    TlsFindings? Tls,
    CredsspFindings? Credssp,
    StandardSecurityFindings? StandardSecurity,
    IReadOnlyList<PhaseSpan> Phases,
    Phase LastPhase,
    Ending Ending,
    string? EndedBy,
    IReadOnlyList<AnomalyFinding> Anomalies,
    Verdict Verdict,
    string Filter,
    bool StartedBeforeCapture,
    long ClientBytes,
    long ServerBytes,
    long Packets)
{
    /// <summary>The file the connection was read from (index into <see cref="CaptureFindings.Files"/>); every frame number of the connection counts in that file, from 1, as Wireshark numbers it.</summary>
    public int FileIndex { get; init; }

    /// <summary>Capture time of the connection's first frame, microseconds since the Unix epoch.</summary>
    public long StartMicros { get; init; }

    /// <summary>Capture time of the connection's last frame, microseconds since the Unix epoch.</summary>
    public long EndMicros { get; init; }

    /// <summary>What <see cref="FindingRules"/> says about the facts this connection shows in clear (<see cref="CaptureSecurityFacts"/>).</summary>
    public IReadOnlyList<Finding> Findings { get; init; } = [];

    /// <summary>What the default client profile (<see cref="CaptureSecurityFacts.DefaultProfile"/>) would do against these facts.</summary>
    public ClientVerdict? ClientVerdict { get; init; }

    /// <summary>Facts of <see cref="CaptureSecurityFacts"/> that were concluded, not seen (e.g. "TlsVersionsAccepted").</summary>
    public IReadOnlyList<string> InferredFacts { get; init; } = [];
}

/// <summary>The clear part of the TLS handshake. Versions and the cipher suite are the wire values (RFC 8446 §4.1).</summary>
/// <param name="OfferedVersions">supported_versions of the ClientHello without GREASE values (RFC 8701).</param>
public sealed record TlsFindings(
    ushort? Version,
    ushort? ClientMaxVersion,
    IReadOnlyList<ushort>? OfferedVersions,
    ushort? CipherSuite,
    string? ServerName,
    string? CertificateSubject,
    string? CertificateIssuer,
    IReadOnlyList<TlsAlertSeen> Alerts,
    int? ClientHelloFrame,
    int? ServerHelloFrame)
{
    /// <summary>The server certificate's facts; null when it was not seen in clear (TLS 1.3 encrypts it).</summary>
    public CertificateFacts? Certificate { get; init; }
}

/// <summary>An alert; <paramref name="Alert"/> is null when it was encrypted (sent after ChangeCipherSpec, or TLS 1.3).</summary>
public readonly record struct TlsAlertSeen(int Frame, bool FromClient, TlsAlert? Alert)
{
    /// <summary>Not a record of type alert: a TLS 1.3 application-data record whose length fits a 2-byte alert (RFC 8446 §5.2).</summary>
    public bool Inferred { get; init; }
}

/// <summary>What the encrypted record sizes say about the CredSSP exchange (MS-CSSP 3.1.5); all of it is inferred.</summary>
public sealed record CredsspFindings(
    string LastRound,
    IReadOnlyList<FlightFinding> Flights,
    bool? ErrorSizedAnswer,
    int? EarlyAuthPlaintextBytes,
    bool Inferred);

/// <summary>One flight: consecutive TLS application-data records from one side.</summary>
public readonly record struct FlightFinding(bool FromClient, string Label, int Records, long Bytes, int FirstRecordLength, int? PlaintextEstimate, int FirstFrame, int LastFrame);

/// <summary>Standard RDP Security facts decoded in clear: encryptionMethod and encryptionLevel as on the wire (MS-RDPBCGR 2.2.1.3.3, 2.2.1.4.3).</summary>
public sealed record StandardSecurityFindings(
    uint? ClientEncryptionMethods,
    uint? EncryptionMethod,
    uint? EncryptionLevel,
    int? McsResult,
    string? LicensingResult,
    bool SecurityExchangeSeen,
    bool ClientInfoSeen);

/// <summary>The frames of one phase; <paramref name="Status"/> is "ok", "failed" or "incomplete" (the capture ended in it).</summary>
public readonly record struct PhaseSpan(Phase Phase, string Status, int FirstFrame, int LastFrame, bool Inferred);

/// <summary>An anomaly kind with the frames it was seen in (the first few) and how often; a Wireshark filter to find them.</summary>
public readonly record struct AnomalyFinding(string Kind, IReadOnlyList<int> Frames, int Count, Phase? Phase, string? From, string? Detail, string Filter)
{
    /// <summary>Concluded rather than read from the wire (a TLS 1.3 alert recognised by its record length); <see cref="Detail"/> says so too.</summary>
    public bool Inferred { get; init; }
}

/// <summary>An RDP-UDP flow (MS-RDPEUDP): whether the SYN was answered.</summary>
/// <param name="UdpVersion">uUdpVer of the SYN+ACK's SYNEX data (MS-RDPEUDP 2.2.2.9), when present.</param>
public sealed record AnalyzedUdpFlow(
    string Client,
    string Server,
    IReadOnlyList<int> SynFrames,
    bool SynAck,
    int? SynAckFrame,
    ushort? UdpVersion,
    long ClientDatagrams,
    long ServerDatagrams,
    IcmpFinding? Icmp,
    IReadOnlyList<AnomalyFinding> Anomalies,
    bool Ok,
    string Summary,
    string Filter)
{
    /// <summary>The file the flow was read from (index into <see cref="CaptureFindings.Files"/>); its frame numbers count in that file.</summary>
    public int FileIndex { get; init; }
}

/// <summary>An ICMP error about an RDP flow (or any flow, when listed on its own).</summary>
public sealed record IcmpFinding(int Frame, string Kind, int? Mtu, string About, string Quoted, string Filter)
{
    /// <summary>The file the message was read from (index into <see cref="CaptureFindings.Files"/>); <see cref="Frame"/> counts in that file.</summary>
    public int FileIndex { get; init; }
}

public readonly record struct FragmentCounts(long Ipv4, long Ipv6, long Reassembled, long Incomplete);
