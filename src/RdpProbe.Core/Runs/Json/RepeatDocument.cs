using RdpProbe.Reports;

namespace RdpProbe.Runs.Json;

/// <summary>--repeat N --json: per phase the success rate and the wire-time statistics over the successful runs.</summary>
public sealed record RepeatDocument(
    string Schema,
    ToolInfo Tool,
    string Target,
    int RunsAsked,
    int RunsDone,
    int RunsFullySucceeded,
    IReadOnlyList<RepeatPhaseDocument> Phases,
    string Verdict)
{
    public const string SchemaName = "rdpprobe.repeat/2";
}

/// <summary>One phase over all runs; <see cref="Failures"/> maps the ending name to how many runs ended so.</summary>
public sealed record RepeatPhaseDocument(
    string Phase,
    int Attempted,
    int Succeeded,
    double SuccessRate,
    LatencyStats? WireMs,
    IReadOnlyDictionary<string, int> Failures);
