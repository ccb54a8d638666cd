using RdpProbe.Diagnosis;
using RdpProbe.Probe;
using RdpProbe.Runs;
using Spectre.Console;

namespace RdpProbe.Cli;

/// <summary>--targets FILE: reads the list, runs it in Core (JSON Lines as each target finishes) and prints the summary table.</summary>
internal static class TargetsView
{
    /// <param name="failOn">--fail-on: when every target is ok, a finding of any target at or above it gives exit 19.</param>
    public static async Task<int> RunAsync(ProbeEngine engine, string file, int concurrency, bool json, CliIo io, CancellationToken ct, Severity? failOn = null)
    {
        TargetList list;
        try
        {
            // "-" is standard input, as for most Unix tools (`dig ... | rdpprobe --targets -`).
            list = file == "-" ? Targets.Parse(io.Input ?? TextReader.Null) : Targets.ParseFile(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            io.Error.WriteLine(Directory.Exists(file) ? $"rdpprobe: {CliText.Printable(file)}: is a directory, not a targets file" : $"rdpprobe: cannot read {CliText.Printable(file)}: {ex.Message}");
            return ExitCodes.InputUnreadable;
        }

        if (list.Errors.Count > 0)
        {
            // Printable: a binary file's bytes must not reach the terminal as control sequences.
            var e = list.Errors[0];
            return ProbeCommand.Usage(io, CliText.Printable($"{file}:{e.Line}: {e.Reason}", 300) + (list.Errors.Count > 1 ? $" (and {list.Errors.Count - 1} more bad lines)" : string.Empty));
        }

        if (list.Targets.Count == 0)
        {
            return ProbeCommand.Usage(io, $"{file}: no targets");
        }

        var run = await TargetsRunner.RunAsync(
            engine,
            list.Targets,
            concurrency,
            json ? io.Out : null,
            json ? null : new Progress<(int Done, int Total)>(p => io.Error.Write($"\r{p.Done}/{p.Total} targets")),
            ct).ConfigureAwait(false);

        if (!json)
        {
            io.Error.WriteLine();
            Render(io.Console, run);
        }

        // A line the list accepted can still fail in the probe (its own checks, name resolution): say why, per target.
        foreach (var o in run.Outcomes.Where(o => o.Error is not null))
        {
            io.Error.WriteLine(CliText.Printable($"rdpprobe: {file}:{o.Target.Line}: {o.Target}: {o.Error}", 400));
        }

        await io.Out.FlushAsync(ct).ConfigureAwait(false);
        return run.FirstFailure switch
        {
            null when failOn is { } threshold && run.FindingsAtOrAbove(threshold) is { Count: > 0 } found
                => FailOnView.Report(io, threshold, found.Select(x => (x.Target.ToString(), x.Finding))),
            null => ExitCodes.Ok,
            { Report: { } report } => ExitCodes.ForVerdict(report.Verdict),
            _ => ExitCodes.InternalError,
        };
    }

    public static void Render(IAnsiConsole console, TargetsRun run)
    {
        var table = new Table().Border(TableBorder.Rounded).Title($"{run.Outcomes.Count} targets");
        table.AddColumn("target");
        table.AddColumn("result");
        table.AddColumn("phase");
        table.AddColumn("summary");
        foreach (var o in run.Outcomes)
        {
            var v = o.Report?.Verdict;
            table.AddRow(
                Markup.Escape(o.Target.ToString()),
                v is null ? "[red]error[/]" : v.Ok ? "[green]ok[/]" : $"[red]{Markup.Escape(v.Ending.ToReportName())}[/]",
                v is null ? string.Empty : v.Phase.ToReportName(),
                Markup.Escape(v?.Summary ?? o.Error ?? string.Empty));
        }

        console.Write(table);
        console.WriteLine($"{run.OkCount} of {run.Outcomes.Count} targets ok");
    }
}
