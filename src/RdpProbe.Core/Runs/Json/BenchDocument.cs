using RdpProbe.Reports;

namespace RdpProbe.Runs.Json;

/// <summary><c>rdpprobe bench --json</c>: times in milliseconds, every distribution as a <see cref="LatencyStats"/>.</summary>
public sealed record BenchDocument(
    string Schema,
    ToolInfo Tool,
    string Target,
    string? Address,
    string StartedAt,
    double DurationMs,
    int RunsAsked,
    int Warmup,
    int RunsDone,
    int RunsComplete,
    bool WithCredentials,
    string? TlsVersion,
    string? StoppedEarly,
    string RttSource,
    LatencyStats? RttMs,
    double? ColdRunWallMs,
    IReadOnlyList<BenchPhaseDocument> Phases,
    BenchTotalDocument Total)
{
    public const string SchemaName = "rdpprobe.bench/2";
}

/// <summary>One phase over the measured runs; <see cref="RoundTrips"/> counts round trips in the same shape.</summary>
public sealed record BenchPhaseDocument(
    string Phase,
    int Attempted,
    int Succeeded,
    IReadOnlyDictionary<string, int> Failures,
    LatencyStats? WireMs,
    LatencyStats? WallMs,
    LatencyStats? ClientMs,
    LatencyStats? RoundTrips,
    int? RttFloor,
    double? ExtraRoundTrips,
    LatencyStats? NetworkMs,
    LatencyStats? ServerMs,
    string? Attribution);

/// <summary>The whole connection sequence per complete run.</summary>
public sealed record BenchTotalDocument(LatencyStats? WireMs, LatencyStats? WallMs, LatencyStats? RoundTrips, int? RttFloor, bool AtFloor);
