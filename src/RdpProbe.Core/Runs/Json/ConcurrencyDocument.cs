using RdpProbe.Reports;

namespace RdpProbe.Runs.Json;

/// <summary>--concurrency-test N --json: how many pending connections the server took and where it stopped.</summary>
public sealed record ConcurrencyDocument(
    string Schema,
    ToolInfo Tool,
    string Target,
    string Address,
    int Requested,
    int Accepted,
    int Refused,
    int Dropped,
    int Stalled,
    int NotTried,
    int OpenAtEnd,
    int? FirstFailure,
    string Verdict)
{
    public const string SchemaName = "rdpprobe.concurrency/2";
}
