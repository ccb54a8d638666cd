using System.Text.Json.Serialization;

namespace RdpProbe.Reports;

/// <summary>
/// A connection as the streamed forms write it (rdpprobe.analysis/2, rdpprobe.analysis-lines/1): the keys of
/// <see cref="ConnectionReport"/> in its order, with the verdict's prose by id (<see cref="VerdictRef"/>), the
/// compatibility table by id (<see cref="CompatibilityId"/>) and no chain keys (not known when a connection is
/// written). A type of its own so that the source generator writes it on its fast path (straight Utf8JsonWriter calls,
/// no converters or modifiers in between): the writer thread's largest cost on a handshake-heavy capture.
/// StreamedConnectionTests holds it key for key to <see cref="ConnectionReport"/>.
/// </summary>
internal sealed record StreamedConnection(
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
    VerdictRef Verdict,
    string Filter,
    bool StartedBeforeCapture,
    long ClientBytes,
    long ServerBytes,
    long Packets,
    string File,
    IReadOnlyList<FindingReport> Findings,
    ClientVerdictReport? ClientVerdict,
    int? CompatibilityId,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ClientVerdictReport>? Compatibility)
{
    /// <param name="verdictId">The id of the verdict's prose; null: the prose goes with the connection.</param>
    /// <param name="compatibilityId">The id of the compatibility table; null: none, or <paramref name="inlineCompatibility"/>.</param>
    /// <param name="inlineCompatibility">The connection carries its table itself (the table of tables is full).</param>
    public static StreamedConnection From(ConnectionReport c, int? verdictId, int? compatibilityId, bool inlineCompatibility) => new(
        c.Client, c.Server, c.FirstFrame, c.LastFrame, c.Cookie, c.RoutingToken, c.RequestedProtocols, c.SelectedProtocol,
        c.FailureCode, c.Tls, c.Credssp, c.StandardSecurity, c.Phases, c.LastPhase, c.Ending, c.EndedBy, c.Anomalies,
        VerdictRef.From(c.Verdict, verdictId), c.Filter, c.StartedBeforeCapture, c.ClientBytes, c.ServerBytes, c.Packets,
        c.File, c.Findings, c.ClientVerdict, compatibilityId, inlineCompatibility ? c.Compatibility : null);
}

/// <summary>A connection's verdict with the id of its prose (<c>verdicts[]</c>); the prose itself only when it has no id.</summary>
internal sealed record VerdictRef(
    bool Ok,
    string Phase,
    string Ending,
    string? Code,
    bool Inferred,
    int? Id,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Summary,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Causes,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Remedies,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Evidence,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Undecided)
{
    /// <summary>
    /// The prose goes by id; what belongs to this connection alone stays on it: the attribution <c>evidence</c> (its
    /// frames and peers) and the possibilities it could not decide between (<c>undecided</c>), each only when set.
    /// </summary>
    public static VerdictRef From(VerdictReport v, int? id) => id is null
        ? new(v.Ok, v.Phase, v.Ending, v.Code, v.Inferred, null, v.Summary, v.Causes, v.Remedies, v.Evidence, v.Undecided)
        : new(v.Ok, v.Phase, v.Ending, v.Code, v.Inferred, id, null, null, null, v.Evidence, v.Undecided);
}

/// <summary>Source-generated serialization (fast path only) of the streamed connection: camelCase keys, nulls written.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    GenerationMode = JsonSourceGenerationMode.Serialization)]
[JsonSerializable(typeof(StreamedConnection))]
internal sealed partial class StreamedConnectionContext : JsonSerializerContext;
