using System.Globalization;
using System.Text.Json;
using RdpProbe.Diagnosis;
using RdpProbe.Reports;
using RdpProbe.Runs.Json;

namespace RdpProbe.Runs;

/// <summary>One phase over all measured runs. Times in milliseconds; distributions over the runs where it succeeded.</summary>
public sealed class PhaseBench(Phase phase)
{
    public Phase Phase { get; } = phase;

    public int Attempted { get; init; }

    public int Succeeded { get; init; }

    public IReadOnlyDictionary<Ending, int> FailureEndings { get; init; } = new Dictionary<Ending, int>();

    /// <summary>Time on the wire: from each flight sent to the first bytes of the answer (network + server).</summary>
    public LatencyStats? Wire { get; init; }

    public LatencyStats? Wall { get; init; }

    /// <summary>The client's own time (wall − wire): crypto, JIT, scheduling.</summary>
    public LatencyStats? Client { get; init; }

    /// <summary>Round trips measured per run from the message flow.</summary>
    public LatencyStats? RoundTrips { get; init; }

    /// <summary>The least round trips the protocol allows for this phase.</summary>
    public int? Floor { get; init; }

    /// <summary>Round trips × the run's RTT.</summary>
    public LatencyStats? Network { get; set; }

    /// <summary>Wire time − round trips × RTT: the server thinking.</summary>
    public LatencyStats? Server { get; set; }

    /// <summary>"network", "server" or "client": the largest share at the median.</summary>
    public string? Attribution { get; set; }

    /// <summary>Median measured round trips above the floor (0 = no extra round trip).</summary>
    public double? ExtraRoundTrips => RoundTrips is { } rt && Floor is { } f ? rt.Median - f : null;
}

/// <summary>What <c>rdpprobe bench</c> measured (JSON schema rdpprobe.bench/2, <see cref="BenchDocument"/>).</summary>
public sealed class BenchReport(string target)
{
    public string Target { get; } = target;

    public string? Address { get; set; }

    public int RunsAsked { get; init; }

    public int Warmup { get; init; }

    public int RunsDone { get; init; }

    /// <summary>Measured runs in which no phase failed.</summary>
    public int RunsComplete { get; set; }

    public bool WithCredentials { get; init; }

    public string? TlsVersion { get; set; }

    public DateTimeOffset StartedAt { get; set; } = DateTimeOffset.UtcNow;

    public double DurationMs { get; set; }

    public string? StoppedEarly { get; set; }

    /// <summary>The path's round-trip time: the TCP connect of each run (SYN → SYN/ACK, answered by the server's kernel).</summary>
    public LatencyStats? Rtt { get; set; }

    public const string RttSource = "tcp_connect";

    public List<PhaseBench> Phases { get; } = [];

    public LatencyStats? TotalWire { get; set; }

    public LatencyStats? TotalWall { get; set; }

    public LatencyStats? TotalRoundTrips { get; set; }

    public int? TotalFloor { get; set; }

    /// <summary>Wall time of the first warm-up run (JIT and library set-up included).</summary>
    public double? ColdWall { get; set; }

    /// <summary>The measured runs themselves, in order (the HTML report draws their distributions and the runs over time).</summary>
    public IReadOnlyList<BenchRun> Runs { get; init; } = [];

    /// <summary>True when no phase's median round trips exceed its floor.</summary>
    public bool AtFloor => Phases.All(p => p.ExtraRoundTrips is null or <= 0);

    /// <summary>The phase the exit code names: the one that failed in most measured runs; null when every run went through.</summary>
    public Phase? MostFailedPhase => Phases.Where(p => p.Succeeded < p.Attempted).OrderByDescending(p => p.Attempted - p.Succeeded).FirstOrDefault()?.Phase;

    public BenchDocument ToDocument() => new(
        BenchDocument.SchemaName,
        ToolInfo.Current,
        Target,
        Address,
        StartedAt.ToString("O", CultureInfo.InvariantCulture),
        DurationMs,
        RunsAsked,
        Warmup,
        RunsDone,
        RunsComplete,
        WithCredentials,
        TlsVersion,
        StoppedEarly,
        RttSource,
        Rtt,
        ColdWall,
        Phases.Select(p => new BenchPhaseDocument(
            p.Phase.ToReportName(),
            p.Attempted,
            p.Succeeded,
            p.FailureEndings.OrderBy(e => e.Key).ToDictionary(e => e.Key.ToReportName(), e => e.Value),
            p.Wire,
            p.Wall,
            p.Client,
            p.RoundTrips,
            p.Floor,
            p.ExtraRoundTrips,
            p.Network,
            p.Server,
            p.Attribution)).ToList(),
        new BenchTotalDocument(TotalWire, TotalWall, TotalRoundTrips, TotalFloor, AtFloor));

    public string ToJson(bool indented = true)
        => JsonSerializer.Serialize(ToDocument(), (indented ? RunsJsonContext.Indented : RunsJsonContext.Compact).BenchDocument);
}
