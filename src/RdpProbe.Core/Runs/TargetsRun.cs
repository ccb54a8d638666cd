using System.Text.Json;
using RdpProbe.Diagnosis;
using RdpProbe.Probe;
using RdpProbe.Reports;
using RdpProbe.Runs.Json;

namespace RdpProbe.Runs;

/// <summary>The result of --targets FILE: one outcome per target, in file order.</summary>
public sealed record TargetsRun(IReadOnlyList<TargetOutcome<ProbeReport>> Outcomes)
{
    /// <summary>The first target (in file order) whose probe failed or threw; null when all are ok.</summary>
    public TargetOutcome<ProbeReport>? FirstFailure => Outcomes.FirstOrDefault(o => o.Report is null || !o.Report.Verdict.Ok);

    public int OkCount => Outcomes.Count(o => o.Report?.Verdict.Ok == true);

    /// <summary>Every target's findings at or above <paramref name="threshold"/> (--fail-on), in file order.</summary>
    public IReadOnlyList<(TargetSpec Target, Finding Finding)> FindingsAtOrAbove(Severity threshold)
        => [.. Outcomes.Where(o => o.Report is not null).SelectMany(o => o.Report!.Findings.Where(f => f.Severity <= threshold).Select(f => (o.Target, f)))];
}

/// <summary>--targets FILE --concurrency N: each target probed once (connection sequence only), N at a time.</summary>
public static class TargetsRunner
{
    /// <param name="jsonLines">When set, one compact JSON document per target is written here as each one finishes.</param>
    public static async Task<TargetsRun> RunAsync(
        ProbeEngine engine,
        IReadOnlyList<TargetSpec> targets,
        int concurrency,
        TextWriter? jsonLines = null,
        IProgress<(int Done, int Total)>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engine);
        var perTarget = engine.SequenceAndChosenClient();
        var outcomes = await Targets.RunAsync(
            targets,
            async (spec, token) => (await perTarget.RunAsync(spec.Target, token).ConfigureAwait(false))[0],
            concurrency,
            jsonLines,
            jsonLines is null ? null : JsonLine,
            progress,
            cancellationToken).ConfigureAwait(false);
        return new TargetsRun(outcomes);
    }

    /// <summary>One target's line: its probe document on one line, or the error that replaced the report.</summary>
    public static string JsonLine(TargetOutcome<ProbeReport> outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        return outcome.Report is { } report
            ? ProbeJsonLines.Serialize(ProbeJson.ToDocument(report))
            : JsonSerializer.Serialize(new TargetErrorDocument(ProbeJson.Schema, outcome.Target.ToString(), outcome.Error), RunsJsonContext.Compact.TargetErrorDocument);
    }

}
