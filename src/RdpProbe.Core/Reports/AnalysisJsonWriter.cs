using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace RdpProbe.Reports;

/// <summary>
/// The serializer settings of the streamed analysis documents. Chains, RDP-UDP flows and ICMP messages are written by
/// the source-generated metadata of the "rdpprobe.analysis/1" records; a connection is written as a
/// <see cref="StreamedConnection"/> (the keys of /1's connection, held to them by a test, with three changes: the verdict
/// carries the id of its prose instead of the prose; the client-compatibility table, the same words for every alike
/// connection, is written once per distinct table and referenced by <c>compatibilityId</c>
/// (<see cref="CompatibilityTables"/>); the attempt-chain keys (<c>chainId</c>, <c>attemptIndex</c>,
/// <c>supersededByFallback</c>), not known when a connection is written, are left out: <c>chains[]</c> at the end says
/// which connections each chain holds).
/// </summary>
internal sealed class StreamJson
{
    private readonly CompatibilityTables _compatibility;

    public StreamJson()
    {
        var options = new JsonSerializerOptions
        {
            TypeInfoResolver = JsonReportContext.Default,
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            DefaultIgnoreCondition = JsonIgnoreCondition.Never,
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };
        Encoder = options.Encoder;
        // The generated options as they are (no encoder: escaping is the writer's, CreateWriter), so that the fast path
        // applies; a converter, a modifier or other options would send serialization back to the metadata path.
        Connection = StreamedConnectionContext.Default.StreamedConnection;
        Chain = (JsonTypeInfo<ChainReport>)options.GetTypeInfo(typeof(ChainReport));
        Udp = (JsonTypeInfo<IReadOnlyList<UdpFlowReport>>)options.GetTypeInfo(typeof(IReadOnlyList<UdpFlowReport>));
        Icmp = (JsonTypeInfo<IReadOnlyList<IcmpReport>>)options.GetTypeInfo(typeof(IReadOnlyList<IcmpReport>));
        Fragments = (JsonTypeInfo<FragmentReport>)options.GetTypeInfo(typeof(FragmentReport));
        Tool = (JsonTypeInfo<ToolInfo>)options.GetTypeInfo(typeof(ToolInfo));
        Strings = (JsonTypeInfo<IReadOnlyList<string>>)options.GetTypeInfo(typeof(IReadOnlyList<string>));
        Profiles = (JsonTypeInfo<IReadOnlyList<ClientVerdictReport>>)options.GetTypeInfo(typeof(IReadOnlyList<ClientVerdictReport>));
        _compatibility = new CompatibilityTables(Profiles);
    }

    public JavaScriptEncoder? Encoder { get; }

    public JsonTypeInfo<StreamedConnection> Connection { get; }

    public JsonTypeInfo<ChainReport> Chain { get; }

    public JsonTypeInfo<IReadOnlyList<UdpFlowReport>> Udp { get; }

    public JsonTypeInfo<IReadOnlyList<IcmpReport>> Icmp { get; }

    public JsonTypeInfo<FragmentReport> Fragments { get; }

    public JsonTypeInfo<ToolInfo> Tool { get; }

    public JsonTypeInfo<IReadOnlyList<string>> Strings { get; }

    public JsonTypeInfo<IReadOnlyList<ClientVerdictReport>> Profiles { get; }


    /// <summary>Every distinct compatibility table given an id so far, in the order of the ids.</summary>
    public IReadOnlyList<CompatibilityTable> CompatibilityTables => _compatibility.All;

    /// <summary>A writer into <paramref name="output"/>'s buffer (its flushes cost no write(2); <see cref="JsonOutput"/>).</summary>
    public Utf8JsonWriter CreateWriter(JsonOutput output, bool indented) => new(output.Buffer, WriterOptions(indented));

    public JsonWriterOptions WriterOptions(bool indented) => new() { Indented = indented, Encoder = Encoder, SkipValidation = true };

    /// <summary>A spool for the chains of one document (<see cref="ChainSpool"/>).</summary>
    public ChainSpool CreateChainSpool(string? directory = null) => new(Chain, WriterOptions(indented: false), directory);

    /// <summary>
    /// The connection as the streamed forms write it, its ids settled; with the compatibility table when this is the
    /// first connection with it (the JSON Lines write it on a line of its own before the connection).
    /// </summary>
    public (StreamedConnection Connection, CompatibilityTable? NewTable) Prepare(ConnectionReport connection, int? verdictId)
    {
        var (id, fresh) = _compatibility.Lookup(connection.Compatibility);
        bool inline = id is null && connection.Compatibility.Count > 0;
        return (StreamedConnection.From(connection, verdictId, id, inline), fresh);
    }

    /// <summary>The generated fast path itself: <c>JsonSerializer.Serialize(writer, ...)</c> would also flush the writer to
    /// the output after every connection (one write(2) per connection); the document's own policy flushes instead.</summary>
    public void WriteConnection(Utf8JsonWriter writer, StreamedConnection connection)
    {
        if (Connection.SerializeHandler is { } fastPath)
        {
            fastPath(writer, connection);
        }
        else
        {
            JsonSerializer.Serialize(writer, connection, Connection);
        }
    }

    /// <summary>The keys of one compatibility table: <c>id</c>, <c>profiles</c>.</summary>
    public void WriteCompatibilityTable(Utf8JsonWriter writer, CompatibilityTable table)
    {
        writer.WriteNumber("id", table.Id);
        writer.WritePropertyName("profiles");
        JsonSerializer.Serialize(writer, table.Profiles, Profiles);
    }

    public static void WriteProse(Utf8JsonWriter writer, VerdictProse prose)
    {
        writer.WriteNumber("id", prose.Id);
        writer.WriteString("summary", prose.Summary);
        WriteStrings(writer, "causes", prose.Causes);
        WriteStrings(writer, "remedies", prose.Remedies);
    }

    public static void WriteStrings(Utf8JsonWriter writer, string name, IReadOnlyList<string> values)
    {
        writer.WriteStartArray(name);
        foreach (var value in values)
        {
            writer.WriteStringValue(value);
        }

        writer.WriteEndArray();
    }

    /// <summary>The totals known at the end, as keys of the object being written (both forms share them).</summary>
    public void WriteTotals(Utf8JsonWriter writer, AnalysisSummary summary, ChainSpool chains, JsonOutput output)
    {
        writer.WriteNumber("packets", summary.Packets);
        writer.WriteNumber("bytes", summary.Bytes);
        writer.WriteNumber("seconds", summary.Seconds);
        writer.WriteNumber("connectionCount", summary.Connections);
        writer.WriteNumber("failedConnections", summary.FailedConnections);
        writer.WritePropertyName("udp");
        JsonSerializer.Serialize(writer, summary.Udp, Udp);
        writer.WritePropertyName("icmp");
        JsonSerializer.Serialize(writer, summary.Icmp, Icmp);
        writer.WritePropertyName("fragments");
        JsonSerializer.Serialize(writer, summary.Fragments, Fragments);
        if (summary.Damage is null)
        {
            writer.WriteNull("damage");
        }
        else
        {
            writer.WriteString("damage", summary.Damage);
        }

        writer.WritePropertyName("warnings");
        JsonSerializer.Serialize(writer, summary.Warnings, Strings);
        chains.WriteArray(writer, "chains", () => output.MaybeFlush(force: true));
    }

    public void WriteEnvelope(Utf8JsonWriter writer, string schema)
    {
        writer.WriteString("schema", schema);
        writer.WritePropertyName("tool");
        JsonSerializer.Serialize(writer, ToolInfo.Current, Tool);
    }
}

/// <summary>
/// Output is flushed when this much is pending or this long has passed since the last flush, so a reader of a pipe
/// sees each connection soon after it ended without one write per connection.
/// </summary>
internal static class FlushPolicy
{
    public const int PendingBytes = 64 * 1024;
    public const long Milliseconds = 200;
}

/// <summary>
/// "rdpprobe.analysis/2": one JSON document written as the analysis runs. <c>connections</c> is an array streamed
/// one object at a time; the totals, RDP-UDP flows, ICMP messages, attempt chains and the table of distinct verdict
/// texts (<c>verdicts</c>) follow it at the end. docs/REPORTS.md and docs/schemas/analysis2.schema.json describe it.
/// </summary>
public sealed class AnalysisJsonWriter : IAnalysisSink, IDisposable
{
    private readonly JsonOutput _output;
    private readonly StreamJson _json = new();
    private readonly Utf8JsonWriter _writer;
    private readonly ChainSpool _chains;

    public AnalysisJsonWriter(Stream stream, bool indented = true)
    {
        _output = new JsonOutput(stream);
        _writer = _json.CreateWriter(_output, indented);
        _chains = _json.CreateChainSpool();
    }

    public void Begin(IReadOnlyList<string> files)
    {
        _writer.WriteStartObject();
        _json.WriteEnvelope(_writer, AnalysisStream.SchemaName);
        StreamJson.WriteStrings(_writer, "files", files);
        _writer.WriteStartArray("connections");
    }

    public void Connection(int index, ConnectionReport connection, int? verdictId, VerdictProse? newVerdict)
    {
        _json.WriteConnection(_writer, _json.Prepare(connection, verdictId).Connection);
        MaybeFlush();
    }

    public void End(AnalysisSummary summary)
    {
        _writer.WriteEndArray();
        _json.WriteTotals(_writer, summary, _chains, _output);
        _writer.WriteStartArray("verdicts");
        foreach (var prose in summary.Verdicts)
        {
            _writer.WriteStartObject();
            StreamJson.WriteProse(_writer, prose);
            _writer.WriteEndObject();
        }

        _writer.WriteEndArray();
        _writer.WriteStartArray("compatibilityTables");
        foreach (var table in _json.CompatibilityTables)
        {
            _writer.WriteStartObject();
            _json.WriteCompatibilityTable(_writer, table);
            _writer.WriteEndObject();
        }

        _writer.WriteEndArray();
        _writer.WriteEndObject();
        _writer.Flush();
        _output.Append("\n"u8);
        _output.MaybeFlush(force: true);
    }

    /// <summary>Chains are written after the connections, at the end: until then they wait in the spool.</summary>
    public void Chain(ChainReport chain) => _chains.Add(chain);

    public void Dispose()
    {
        // What was written before an interruption still reaches the output, as a writer over the stream would leave it.
        _writer.Dispose();
        _chains.Dispose();
        _output.Drain();
    }

    private void MaybeFlush()
    {
        _writer.Flush();
        _output.MaybeFlush();
    }
}

/// <summary>
/// "rdpprobe.analysis-lines/1": JSON Lines, one compact object per line, each with a <c>type</c> first:
/// <c>start</c> (schema, tool, files), <c>verdict</c> (a distinct verdict text, before the first connection that refers
/// to it), <c>connection</c> (one per connection, as soon as it ended) and <c>summary</c> (the last line: the totals,
/// RDP-UDP, ICMP and the attempt chains). docs/schemas/analysis-lines.schema.json describes every line.
/// </summary>
public sealed class AnalysisJsonLinesWriter : IAnalysisSink, IDisposable
{
    private readonly JsonOutput _output;
    private readonly StreamJson _json = new();
    private readonly Utf8JsonWriter _writer;
    private readonly ChainSpool _chains;

    public AnalysisJsonLinesWriter(Stream stream)
    {
        _output = new JsonOutput(stream);
        _writer = _json.CreateWriter(_output, indented: false);
        _chains = _json.CreateChainSpool();
    }

    public void Begin(IReadOnlyList<string> files)
    {
        _writer.WriteStartObject();
        _writer.WriteString("type", "start");
        _json.WriteEnvelope(_writer, AnalysisStream.LinesSchemaName);
        StreamJson.WriteStrings(_writer, "files", files);
        _writer.WriteEndObject();
        EndLine();
    }

    public void Connection(int index, ConnectionReport connection, int? verdictId, VerdictProse? newVerdict)
    {
        if (newVerdict is not null)
        {
            _writer.WriteStartObject();
            _writer.WriteString("type", "verdict");
            StreamJson.WriteProse(_writer, newVerdict);
            _writer.WriteEndObject();
            EndLine();
        }

        var (streamed, table) = _json.Prepare(connection, verdictId);
        if (table is not null)
        {
            _writer.WriteStartObject();
            _writer.WriteString("type", "compatibility");
            _json.WriteCompatibilityTable(_writer, table);
            _writer.WriteEndObject();
            EndLine();
        }

        // {"type":"connection","index":N,"connection":{...}}: the object is the one the document's connections[] holds.
        _writer.WriteStartObject();
        _writer.WriteString("type", "connection");
        _writer.WriteNumber("index", index);
        _writer.WritePropertyName("connection");
        _json.WriteConnection(_writer, streamed);
        _writer.WriteEndObject();
        EndLine();
        MaybeFlush();
    }

    public void End(AnalysisSummary summary)
    {
        _writer.WriteStartObject();
        _writer.WriteString("type", "summary");
        _json.WriteTotals(_writer, summary, _chains, _output);
        _writer.WriteEndObject();
        EndLine();
        _output.MaybeFlush(force: true);
    }

    /// <summary>Chains are written after the connections, at the end: until then they wait in the spool.</summary>
    public void Chain(ChainReport chain) => _chains.Add(chain);

    public void Dispose()
    {
        // What was written before an interruption still reaches the output, as a writer over the stream would leave it.
        _writer.Dispose();
        _chains.Dispose();
        _output.Drain();
    }

    private void EndLine()
    {
        _writer.Flush();
        _output.Append("\n"u8);
        _writer.Reset(_output.Buffer);
    }

    private void MaybeFlush() => _output.MaybeFlush();
}

/// <summary>
/// Where a streamed document's writer puts its bytes: a buffer in memory, handed to the output stream by
/// <see cref="FlushPolicy"/> (64 KiB pending or 200 ms since the last hand-over). A <c>Utf8JsonWriter</c> over the
/// stream itself would reach the operating system at every flush — and <c>JsonSerializer.Serialize</c> flushes after
/// every value it writes, the generated fast path after every nullable number — one write(2) per connection or more.
/// </summary>
internal sealed class JsonOutput(Stream stream)
{
    private readonly System.Buffers.ArrayBufferWriter<byte> _buffer = new(2 * FlushPolicy.PendingBytes);
    private long _lastFlush = Environment.TickCount64;

    public System.Buffers.IBufferWriter<byte> Buffer => _buffer;

    /// <summary>Hands over whatever is still buffered (at the end, or when the document is abandoned).</summary>
    public void Drain()
    {
        if (_buffer.WrittenCount > 0)
        {
            MaybeFlush(force: true);
        }
    }

    public void Append(ReadOnlySpan<byte> bytes) => System.Buffers.BuffersExtensions.Write(_buffer, bytes);

    /// <summary>After the writer's flush: hands what is buffered to the stream when the policy says so (or <paramref name="force"/>).</summary>
    public void MaybeFlush(bool force = false)
    {
        long now = Environment.TickCount64;
        if (force || _buffer.WrittenCount >= FlushPolicy.PendingBytes || now - _lastFlush >= FlushPolicy.Milliseconds)
        {
            stream.Write(_buffer.WrittenSpan);
            stream.Flush();
            _buffer.ResetWrittenCount();
            _lastFlush = now;
        }
    }
}
