using System.Globalization;
using RdpProbe.Diagnosis;
using RdpProbe.Probe;
using RdpProbe.Runs;
using Spectre.Console;

namespace RdpProbe.Cli;

/// <summary>--repeat N: the per-phase table (success rate, wire-time percentiles, failures) or the rdpprobe.repeat/2 document.</summary>
internal static class RepeatView
{
    /// <param name="failOn">--fail-on: when every run is ok, a finding of any run at or above it gives exit 19.</param>
    public static async Task<int> RunAsync(ProbeEngine engine, ProbeTarget target, int count, bool json, CliIo io, CancellationToken ct, Severity? failOn = null)
    {
        var run = await RepeatRunner.RunAsync(engine, target, count, new RepeatOptions(), ct).ConfigureAwait(false);
        if (json)
        {
            await io.Out.WriteLineAsync(run.ToJson()).ConfigureAwait(false);
        }
        else
        {
            Render(io.Console, run);
        }

        await io.Out.FlushAsync(ct).ConfigureAwait(false);
        if (run.Failure is { } failure)
        {
            return ExitCodes.ForVerdict(failure);
        }

        return failOn is { } threshold && run.Findings.Where(f => f.Severity <= threshold).ToList() is { Count: > 0 } found
            ? FailOnView.Report(io, threshold, found.Select(f => (target.ToString(), f)))
            : ExitCodes.Ok;
    }

    public static void Render(IAnsiConsole console, RepeatRun run)
    {
        var report = run.Report;
        var table = new Table().Border(TableBorder.Rounded).Title($"{Markup.Escape(run.Target.ToString())}: {report.RunsDone} runs");
        foreach (string column in new[] { "phase", "ok", "success", "min", "p50", "p90", "p99", "max", "failures" })
        {
            table.AddColumn(column is "phase" or "failures" ? new TableColumn(column) : new TableColumn(column).RightAligned());
        }

        foreach (var p in report.Phases)
        {
            var ms = p.WireMs;
            table.AddRow(
                p.Phase.ToReportName(),
                $"{p.Succeeded}/{p.Attempted}",
                (p.SuccessRate * 100).ToString("0.#", CultureInfo.InvariantCulture) + " %",
                Ms(ms?.Min), Ms(ms?.Median), Ms(ms?.P90), Ms(ms?.P99), Ms(ms?.Max),
                Markup.Escape(string.Join(", ", p.FailureEndings.Select(e => $"{e.Key.ToReportName()} ×{e.Value}"))));
        }

        console.Write(table);
        console.WriteLine(report.Verdict);
    }

    private static string Ms(double? ms) => ms is { } v ? v.ToString("0.0", CultureInfo.InvariantCulture) : "";
}
