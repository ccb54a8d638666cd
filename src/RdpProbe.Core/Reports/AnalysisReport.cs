using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace RdpProbe.Reports;

/// <summary>
/// The "rdpprobe.analysis/1" document: docs/REPORTS.md describes every key, docs/schemas/analysis.schema.json checks
/// them. Property names become the camelCase JSON keys; "schema" and "tool" come first.
/// </summary>
public sealed record AnalysisReport(
    [property: JsonPropertyOrder(-2)] string Schema,
    IReadOnlyList<string> Files,
    long Packets,
    long Bytes,
    double Seconds,
    IReadOnlyList<ConnectionReport> Connections,
    IReadOnlyList<UdpFlowReport> Udp,
    IReadOnlyList<IcmpReport> Icmp,
    FragmentReport Fragments,
    string? Damage,
    IReadOnlyList<string> Warnings)
{
    public const string SchemaName = "rdpprobe.analysis/1";

    /// <summary>The tool that wrote the document; not a constructor parameter so that the analyzer need not pass it.</summary>
    [JsonPropertyOrder(-1)]
    public ToolInfo Tool { get; init; } = ToolInfo.Current;

    /// <summary>Attempt chains of two or more connections (Analysis/AttemptChains.cs), in the order of their first frames.</summary>
    public IReadOnlyList<ChainReport> Chains { get; init; } = [];

    /// <summary>Connections that failed, not counting refused attempts a client replaced by a successful fallback: what exit code 20 counts.</summary>
    public int FailedConnections { get; init; }

    /// <summary>Source-generated (JsonReportContext.Relaxed: camelCase, nulls written, indented, relaxed escaping): the Native AOT build has
    /// no reflection-based serializer.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonReportContext.Relaxed.AnalysisReport);

    /// <summary>
    /// The same document as <see cref="ToJson"/>, written to <paramref name="stream"/> as it is serialized (UTF-8, no
    /// trailing newline): a report of hundreds of thousands of connections is never held whole as one string.
    /// </summary>
    public void WriteJson(Stream stream) => JsonSerializer.Serialize(stream, this, JsonReportContext.Relaxed.AnalysisReport);
}

public sealed record ConnectionReport(
    string Client,
    string Server,
    int FirstFrame,
    int LastFrame,
    string? Cookie,
    string? RoutingToken,
    IReadOnlyList<string>? RequestedProtocols,
    string? SelectedProtocol,
    string? FailureCode,
    TlsReport? Tls,
    CredsspReport? Credssp,
    StandardSecurityReport? StandardSecurity,
    IReadOnlyList<PhaseReportEntry> Phases,
    string LastPhase,
    string Ending,
    string? EndedBy,
    IReadOnlyList<AnomalyReport> Anomalies,
    VerdictReport Verdict,
    string Filter,
    bool StartedBeforeCapture,
    long ClientBytes,
    long ServerBytes,
    long Packets)
{
    /// <summary>The capture file the connection was read from, as given (one of files[]); every frame number of the connection counts in it.</summary>
    public string File { get; init; } = "";

    /// <summary>Findings from the facts the connection shows in clear, most severe first.</summary>
    public IReadOnlyList<FindingReport> Findings { get; init; } = [];

    /// <summary>What the default client profile (windows11) would do against the facts; null when the server never answered the X.224 request.</summary>
    public ClientVerdictReport? ClientVerdict { get; init; }

    /// <summary>Every client profile (ClientProfiles.All) against the same facts, as in the probe; empty when <see cref="ClientVerdict"/> is null.</summary>
    public IReadOnlyList<ClientVerdictReport> Compatibility { get; init; } = [];

    /// <summary>The attempt chain this connection belongs to (chains[].id); null when it is no part of one.</summary>
    public int? ChainId { get; init; }

    /// <summary>0-based position in its attempt chain; null when it is no part of one.</summary>
    public int? AttemptIndex { get; init; }

    /// <summary>A refused attempt (negotiation failure) the client replaced by a successful fallback: not counted as failed.</summary>
    public bool SupersededByFallback { get; init; }
}

/// <summary>A finding, as in the probe document, with the client profiles it affects.</summary>
public sealed record FindingReport(string Code, string Severity, string Title, string Evidence, string Remedy, IReadOnlyList<string> Affects);

/// <summary>One client profile's outcome against the facts of a connection or chain.</summary>
/// <param name="Result">connects, connects_after_warning, connects_insecurely, fails or unknown.</param>
/// <param name="Inferred">Some facts it rests on were concluded, not seen (see inferredFacts).</param>
public sealed record ClientVerdictReport(
    string Profile,
    string Result,
    string? Protocol,
    string? FailPhase,
    string? Reason,
    string Summary,
    IReadOnlyList<string> Steps,
    IReadOnlyList<string> Warnings,
    IReadOnlyList<string> NeedsConnection,
    IReadOnlyList<string> InferredFacts,
    bool Inferred);

/// <summary>Connections of one client to one server that are one attempt to connect (a refusal, then a fallback).</summary>
public sealed record ChainReport(
    int Id,
    string Client,
    string Server,
    IReadOnlyList<ChainAttemptReport> Attempts,
    int FirstFrame,
    int LastFrame,
    bool Ok,
    bool FellBack,
    string Summary,
    IReadOnlyList<FindingReport> Findings,
    ClientVerdictReport? ClientVerdict)
{
    /// <summary>The capture file of the chain's connections (a chain never spans files); its frame numbers count in it.</summary>
    public string File { get; init; } = "";
}

/// <param name="Connection">0-based index into connections[].</param>
public sealed record ChainAttemptReport(
    int Connection,
    int FirstFrame,
    int LastFrame,
    IReadOnlyList<string>? RequestedProtocols,
    string? SelectedProtocol,
    string? FailureCode,
    bool Ok,
    bool SupersededByFallback);

public sealed record TlsReport(
    string? Version,
    string? ClientMaxVersion,
    IReadOnlyList<string>? OfferedVersions,
    string? CipherSuite,
    string? ServerName,
    string? CertificateSubject,
    string? CertificateIssuer,
    IReadOnlyList<TlsAlertReport> Alerts,
    int? ClientHelloFrame,
    int? ServerHelloFrame)
{
    /// <summary>The server certificate's facts, when it was sent in clear (TLS 1.2 and older); null otherwise.</summary>
    public CertificateReport? Certificate { get; init; }
}

/// <summary>The facts of the server certificate the finding rules judge (RFC 5280 4.1).</summary>
public sealed record CertificateReport(
    DateTimeOffset NotBefore,
    DateTimeOffset NotAfter,
    bool SelfSigned,
    string KeyAlgorithm,
    int? KeySize,
    string SignatureAlgorithm,
    string? SubjectCommonName,
    IReadOnlyList<string> SubjectAltNames,
    IReadOnlyList<string> IpAddresses);

/// <summary>An alert; level and description are null when the alert was encrypted (sent after ChangeCipherSpec).</summary>
public sealed record TlsAlertReport(int Frame, string From, string? Level, string? Description, bool Encrypted)
{
    /// <summary>No alert record was seen: a TLS 1.3 application-data record whose length fits an alert was taken for one.</summary>
    public bool Inferred { get; init; }
}

/// <summary>What the encrypted record sizes say about the CredSSP exchange; all of it is inferred.</summary>
public sealed record CredsspReport(
    string LastRound,
    IReadOnlyList<FlightReport> Flights,
    bool? ErrorSizedAnswer,
    int? EarlyAuthPlaintextBytes,
    bool Inferred);

/// <summary>One flight: consecutive TLS application-data records from one side.</summary>
public sealed record FlightReport(string From, string Label, int Records, long Bytes, int FirstRecordLength, int? PlaintextEstimate, int FirstFrame, int LastFrame);

/// <summary>Standard RDP Security facts decoded in clear (MS-RDPBCGR 2.2.1.3/2.2.1.4).</summary>
public sealed record StandardSecurityReport(
    string? ClientEncryptionMethods,
    string? EncryptionMethod,
    string? EncryptionLevel,
    int? McsResult,
    string? LicensingResult,
    bool SecurityExchangeSeen,
    bool ClientInfoSeen);

public sealed record PhaseReportEntry(string Name, string Status, int FirstFrame, int LastFrame, bool Inferred);

public sealed record AnomalyReport(string Kind, IReadOnlyList<int> Frames, int Count, string? Phase, string? From, string? Detail, string Filter)
{
    /// <summary>The capture file the frames are in (that of the connection or flow).</summary>
    public string File { get; init; } = "";

    /// <summary>Concluded from what surrounds it, not read from the wire (the detail says how).</summary>
    public bool Inferred { get; init; }
}

public sealed record VerdictReport(bool Ok, string Phase, string Ending, string? Code, string Summary, IReadOnlyList<string> Causes, IReadOnlyList<string> Remedies, bool Inferred)
{
    /// <summary>The attribution evidence that ranks the first cause (issue 11); null when not attributed.</summary>
    public string? Evidence { get; init; }

    /// <summary>Possibilities the evidence cannot decide between, and what would tell them apart.</summary>
    public IReadOnlyList<string>? Undecided { get; init; }
}

public sealed record UdpFlowReport(
    string Client,
    string Server,
    IReadOnlyList<int> SynFrames,
    bool SynAck,
    int? SynAckFrame,
    string? UdpVersion,
    long ClientDatagrams,
    long ServerDatagrams,
    IcmpReport? Icmp,
    IReadOnlyList<AnomalyReport> Anomalies,
    UdpVerdictReport Verdict,
    string Filter)
{
    /// <summary>The capture file the flow was read from; its frame numbers count in it.</summary>
    public string File { get; init; } = "";
}

public sealed record UdpVerdictReport(bool Ok, string Summary);

public sealed record IcmpReport(int Frame, string Kind, int? Mtu, string About, string Quoted, string Filter)
{
    /// <summary>The capture file the message was read from; <see cref="Frame"/> counts in it.</summary>
    public string File { get; init; } = "";
}

public sealed record FragmentReport(long Ipv4, long Ipv6, long Reassembled, long Incomplete)
{
    /// <summary>The same counters per capture file, in the order of files[] (the frames of fragmented datagrams are in the ip_fragment anomalies of their connection or flow).</summary>
    public IReadOnlyList<FileFragmentReport> PerFile { get; init; } = [];
}

/// <summary>The fragment counters of one capture file.</summary>
public sealed record FileFragmentReport(string File, long Ipv4, long Ipv6, long Reassembled, long Incomplete);
