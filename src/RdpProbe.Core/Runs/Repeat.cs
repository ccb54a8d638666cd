using System.Diagnostics;
using System.Globalization;
using RdpProbe.Diagnosis;

namespace RdpProbe.Runs;

/// <summary>One run of the whole probe: the phase records it produced, in order.</summary>
public delegate Task<IReadOnlyList<PhaseRecord>> RepeatProbe(int iteration, CancellationToken cancellationToken);

public sealed record RepeatOptions
{
    /// <summary>Pause between runs, so N runs do not look like a connection flood.</summary>
    public TimeSpan Pause { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Total time bound; runs that would start later are not started.</summary>
    public TimeSpan TotalTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Called after every run with (runs done, runs asked) — a progress bar hook.</summary>
    public IProgress<(int Done, int Total)>? Progress { get; init; }
}

/// <summary>Success rate and wire time of one phase over all runs; the statistics are over the runs where it succeeded
/// (null when it never did).</summary>
public sealed record PhaseStats(
    Phase Phase,
    int Attempted,
    int Succeeded,
    int Failed,
    double SuccessRate,
    LatencyStats? WireMs,
    IReadOnlyDictionary<Ending, int> FailureEndings);

public sealed record RepeatReport(
    int RunsAsked,
    int RunsDone,
    int RunsFullySucceeded,
    IReadOnlyList<PhaseStats> Phases,
    string Verdict);

/// <summary>
/// --repeat N: runs a probe N times and summarises each phase (issue 5 "stability"): intermittent failures, such as one
/// TLS handshake in ten reset by a middlebox, show up as a success rate below 100 % with the failing phase named.
/// </summary>
public static class Repeat
{
    /// <summary>Upper bound on runs.</summary>
    public const int MaxRuns = 10_000;

    public static async Task<RepeatReport> RunAsync(RepeatProbe probe, int count, RepeatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(probe);
        if (count is < 1 or > MaxRuns)
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"repeat count must be 1..{MaxRuns}");
        }

        options ??= new RepeatOptions();
        var clock = Stopwatch.StartNew();
        var runs = new List<IReadOnlyList<PhaseRecord>>(count);
        for (int i = 0; i < count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (clock.Elapsed > options.TotalTimeout)
            {
                break;
            }

            runs.Add(await probe(i, cancellationToken).ConfigureAwait(false));
            options.Progress?.Report((i + 1, count));
            if (i + 1 < count && options.Pause > TimeSpan.Zero)
            {
                await Task.Delay(options.Pause, cancellationToken).ConfigureAwait(false);
            }
        }

        return Summarise(runs, count);
    }

    /// <summary>Builds the report from finished runs (also used when runs were made elsewhere).</summary>
    public static RepeatReport Summarise(IReadOnlyList<IReadOnlyList<PhaseRecord>> runs, int asked)
    {
        var phases = runs.SelectMany(r => r).Select(r => r.Phase).Distinct().Order().ToList();
        var stats = new List<PhaseStats>();
        foreach (var phase in phases)
        {
            var records = runs.SelectMany(r => r).Where(r => r.Phase == phase && r.Status != PhaseStatus.Skipped).ToList();
            if (records.Count == 0)
            {
                continue;
            }

            var ok = records.Where(r => r.Status == PhaseStatus.Ok).Select(r => r.Ms).ToArray();
            var failures = records.Where(r => r.Status == PhaseStatus.Failed)
                .GroupBy(r => r.Ending).ToDictionary(g => g.Key, g => g.Count());
            stats.Add(new PhaseStats(
                phase,
                records.Count,
                ok.Length,
                records.Count - ok.Length,
                (double)ok.Length / records.Count,
                LatencyStats.Of(ok),
                failures));
        }

        int full = runs.Count(r => r.Count > 0 && r.All(p => p.Status != PhaseStatus.Failed));
        return new RepeatReport(asked, runs.Count, full, stats, Verdict(runs.Count, full, stats));
    }

    private static string Verdict(int runs, int full, IReadOnlyList<PhaseStats> stats)
    {
        if (runs == 0)
        {
            return "No run finished within the time limit.";
        }

        var failing = stats.Where(s => s.Failed > 0).ToList();
        if (failing.Count == 0)
        {
            return string.Create(CultureInfo.InvariantCulture, $"Stable: all {runs} runs succeeded in every phase.");
        }

        var first = failing[0];
        string endings = string.Join(", ", first.FailureEndings.OrderByDescending(e => e.Value).Select(e => $"{e.Key.ToReportName()} ×{e.Value}"));
        string name = first.Phase.ToReportName();
        if (first.Succeeded == 0)
        {
            return string.Create(CultureInfo.InvariantCulture, $"Consistent failure: {name} failed in all {first.Attempted} runs ({endings}); this is not an unstable network but a fixed cause.");
        }

        return string.Create(CultureInfo.InvariantCulture,
            $"Intermittent: {name} failed in {first.Failed} of {first.Attempted} runs ({first.SuccessRate * 100:0.#} % succeeded; {endings}); {full} of {runs} runs completed. ")
            + "Intermittent failures on one phase point at an unstable path or a middlebox acting on some connections (load balancer member, IPS, flapping VPN), not at server configuration.";
    }
}
