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
    long Packets);

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
    int? ServerHelloFrame);

/// <summary>An alert; level and description are null when the alert was encrypted (sent after ChangeCipherSpec).</summary>
public sealed record TlsAlertReport(int Frame, string From, string? Level, string? Description, bool Encrypted);

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

public sealed record AnomalyReport(string Kind, IReadOnlyList<int> Frames, int Count, string? Phase, string? From, string? Detail, string Filter);

public sealed record VerdictReport(bool Ok, string Phase, string Ending, string? Code, string Summary, IReadOnlyList<string> Causes, IReadOnlyList<string> Remedies, bool Inferred);

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
    string Filter);

public sealed record UdpVerdictReport(bool Ok, string Summary);

public sealed record IcmpReport(int Frame, string Kind, int? Mtu, string About, string Quoted, string Filter);

public sealed record FragmentReport(long Ipv4, long Ipv6, long Reassembled, long Incomplete);
