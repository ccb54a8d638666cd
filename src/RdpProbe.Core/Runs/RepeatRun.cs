using System.Text.Json;
using RdpProbe.Diagnosis;
using RdpProbe.Probe;
using RdpProbe.Reports;
using RdpProbe.Runs.Json;

namespace RdpProbe.Runs;

/// <summary>The result of --repeat N: the per-phase statistics and the verdict of the last run that failed.</summary>
public sealed record RepeatRun(ProbeTarget Target, RepeatReport Report, Verdict? LastFailure)
{
    /// <summary>The findings any run made, once per code (the most severe instance), most severe first: what --fail-on judges.</summary>
    public IReadOnlyList<Finding> Findings { get; init; } = [];

    /// <summary>The verdict the exit code follows: the last failing run's, unless every run completed; null when ok.</summary>
    public Verdict? Failure => Report.RunsFullySucceeded == Report.RunsDone ? null : LastFailure;

    public RepeatDocument ToDocument() => new(
        RepeatDocument.SchemaName,
        ToolInfo.Current,
        Target.ToString(),
        Report.RunsAsked,
        Report.RunsDone,
        Report.RunsFullySucceeded,
        Report.Phases.Select(p => new RepeatPhaseDocument(
            p.Phase.ToReportName(),
            p.Attempted,
            p.Succeeded,
            Math.Round(p.SuccessRate, 4),
            p.WireMs,
            p.FailureEndings.OrderBy(e => e.Key).ToDictionary(e => e.Key.ToReportName(), e => e.Value))).ToList(),
        Report.Verdict);

    public string ToJson() => JsonSerializer.Serialize(ToDocument(), RunsJsonContext.Indented.RepeatDocument);
}

/// <summary>--repeat N: the whole connection sequence N times (each run resolves the name like a client would).</summary>
public static class RepeatRunner
{
    public static async Task<RepeatRun> RunAsync(ProbeEngine engine, ProbeTarget target, int count, RepeatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(target);
        var runEngine = engine.SequenceOnly();
        Verdict? lastFailure = null;
        var findings = new Dictionary<string, Finding>();
        var report = await Repeat.RunAsync(async (_, token) =>
        {
            var reports = await runEngine.RunAsync(target, token).ConfigureAwait(false);
            var first = reports[0];
            lock (findings)
            {
                foreach (var f in first.Findings)
                {
                    if (!findings.TryGetValue(f.Code, out var seen) || f.Severity < seen.Severity)
                    {
                        findings[f.Code] = f;
                    }
                }
            }

            if (!first.Verdict.Ok)
            {
                lastFailure = first.Verdict;
            }

            // The connection sequence only: the side checks are off, and their entries would not be comparable.
            return first.Phases.Where(p => p.Phase < Phase.SecurityMatrix).ToList();
        }, count, options, cancellationToken).ConfigureAwait(false);
        return new RepeatRun(target, report, lastFailure) { Findings = [.. findings.Values.OrderBy(f => f.Severity).ThenBy(f => f.Code, StringComparer.Ordinal)] };
    }
}
