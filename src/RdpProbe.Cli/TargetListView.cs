using RdpProbe.Diagnosis;
using RdpProbe.Probe;
using RdpProbe.Probe.NetPath;
using RdpProbe.Reports;
using RdpProbe.Runs;

namespace RdpProbe.Cli;

/// <summary>How <see cref="TargetListView"/> prints each target.</summary>
internal enum TargetListStyle
{
    /// <summary>The full human view per target, one after the other.</summary>
    Human,

    /// <summary>One compact JSON document per report (JSON Lines), in the order the targets were given.</summary>
    JsonLines,

    /// <summary>-q: one verdict line per report.</summary>
    Quiet,
}

/// <summary>
/// Several targets on the command line (<c>rdpprobe a:3389 b c</c>), or -q with one: each target gets the same full
/// probe run as a single target, one after the other, so the output follows the order the user typed.
/// </summary>
internal static class TargetListView
{
    public static async Task<int> RunAsync(ProbeEngine engine, IReadOnlyList<ProbeTarget> targets, ProbeRunOptions options, TargetListStyle style, CliIo io, CancellationToken ct)
    {
        int exit = ExitCodes.Ok;
        var findings = new List<(string Target, Finding Finding)>();
        foreach (var target in targets)
        {
            ProbeRun run;
            try
            {
                run = await ProbeRunner.RunAsync(engine, target, options, ct).ConfigureAwait(false);
            }
            catch (LiveCaptureException ex)
            {
                return ProbeCommand.CaptureFailed(io, ex);
            }

            foreach (var report in run.Reports)
            {
                switch (style)
                {
                    case TargetListStyle.JsonLines:
                        await io.Out.WriteLineAsync(run.ToJsonLine(report)).ConfigureAwait(false);
                        break;
                    case TargetListStyle.Quiet:
                        await io.Out.WriteLineAsync(QuietLine(target.ToString(), report.Verdict)).ConfigureAwait(false);
                        break;
                    default:
                        ProbeView.Render(io.Console, report, run.Capture, io.Verbose);
                        break;
                }
            }

            await io.Out.FlushAsync(ct).ConfigureAwait(false);

            // The first target that failed decides the exit code, as with --targets FILE.
            if (exit == ExitCodes.Ok && run.FirstFailure is { } failure)
            {
                exit = ExitCodes.ForVerdict(failure);
            }

            if (options.FailOn is { } threshold)
            {
                findings.AddRange(run.Reports.SelectMany(r => r.Findings.Where(f => f.Severity <= threshold).Select(f => (target.ToString(), f))));
            }
        }

        // --fail-on: every target ok, but one has a finding at or above the threshold.
        return exit == ExitCodes.Ok && options.FailOn is { } failOn && findings.Count > 0 ? FailOnView.Report(io, failOn, findings) : exit;
    }

    /// <summary>"TARGET ok PHASE: SUMMARY" or "TARGET ENDING PHASE: SUMMARY", one line (for grep and scripts).</summary>
    internal static string QuietLine(string target, Verdict verdict)
    {
        string result = verdict.Ok ? "ok" : verdict.Ending.ToReportName();
        string summary = verdict.Summary.ReplaceLineEndings(" ");
        return $"{target} {result} {verdict.Phase.ToReportName()}: {summary}";
    }
}
