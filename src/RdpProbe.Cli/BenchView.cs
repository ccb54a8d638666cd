using System.Globalization;
using RdpProbe.Diagnosis;
using RdpProbe.Runs;
using Spectre.Console;

namespace RdpProbe.Cli;

/// <summary>The human view of a bench report: per phase the wire-time percentiles, round trips against the floor, and where the time went.</summary>
internal static class BenchView
{
    public static void Render(IAnsiConsole console, BenchReport report)
    {
        string F(double v) => v.ToString("0.00", CultureInfo.InvariantCulture);
        // Plain text (redirected to a file or a pipe) has no terminal width: give the table room instead of wrapping it.
        if (!console.Profile.Capabilities.Ansi && console.Profile.Width < 120)
        {
            console.Profile.Width = 120;
        }

        console.MarkupLine($"[bold]rdpprobe bench[/] {Markup.Escape(report.Target)} ({Markup.Escape(report.Address ?? "?")}): {report.RunsDone} runs (+{report.Warmup} warm-up), {report.RunsComplete} complete"
            + (report.TlsVersion is { } v ? $", {Markup.Escape(v)}" : string.Empty) + (report.WithCredentials ? ", with credentials" : string.Empty));
        if (report.Rtt is { } rtt)
        {
            console.MarkupLine($"RTT (TCP connect): min {F(rtt.Min)}  median {F(rtt.Median)}  p90 {F(rtt.P90)}  max {F(rtt.Max)} ms");
        }

        var table = new Table().Border(TableBorder.Simple);
        foreach (string column in new[] { "phase", "ok", "min", "median", "p90", "p99", "max", "RTTs", "floor", "network", "server", "client", "time goes to" })
        {
            table.AddColumn(new TableColumn(column) { Alignment = column is "phase" or "time goes to" ? Justify.Left : Justify.Right, NoWrap = true });
        }

        foreach (var p in report.Phases)
        {
            var wire = p.Wire;
            table.AddRow(
                p.Phase.ToReportName(),
                $"{p.Succeeded}/{p.Attempted}",
                wire is null ? "-" : F(wire.Min),
                wire is null ? "-" : F(wire.Median),
                wire is null ? "-" : F(wire.P90),
                wire is null ? "-" : F(wire.P99),
                wire is null ? "-" : F(wire.Max),
                p.RoundTrips is { } rt ? rt.Min == rt.Max ? $"{rt.Median:0}" : $"{rt.Min:0}-{rt.Max:0}" : "-",
                p.Floor is { } f ? (p.ExtraRoundTrips > 0 ? $"[red]{f}[/]" : f.ToString(CultureInfo.InvariantCulture)) : "-",
                p.Network is { } net ? F(net.Median) : "-",
                p.Server is { } srv ? F(srv.Median) : "-",
                p.Client is { } cl ? F(cl.Median) : "-",
                p.Attribution ?? "-");
        }

        console.Write(table);
        console.MarkupLine("Phase times are wire time in ms (sent → answer arrived); network = round trips × RTT, server = wire − network (medians), client = the client's own CPU time.");
        if (report.TotalWire is { } total)
        {
            console.MarkupLine($"Whole sequence: wire median {F(total.Median)} ms (p90 {F(total.P90)}), wall median {F(report.TotalWall!.Median)} ms; "
                + $"round trips {report.TotalRoundTrips?.Median:0} vs floor {report.TotalFloor?.ToString(CultureInfo.InvariantCulture) ?? "?"}"
                + (report.AtFloor ? " [green](no extra round trips)[/]" : " [red](extra round trips)[/]"));
        }

        if (report.ColdWall is { } cold)
        {
            console.MarkupLine($"First (cold) run, left out: {F(cold)} ms wall.");
        }

        foreach (var p in report.Phases.Where(p => p.FailureEndings.Count > 0))
        {
            console.MarkupLine($"[red]{p.Phase.ToReportName()} failed[/] in {p.Attempted - p.Succeeded} of {p.Attempted} runs: "
                + string.Join(", ", p.FailureEndings.Select(e => $"{e.Key.ToReportName()} ×{e.Value}")));
        }

        if (report.StoppedEarly is { } why)
        {
            console.MarkupLine($"[yellow]Stopped early:[/] {Markup.Escape(why)}");
        }
    }
}
