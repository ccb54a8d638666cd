using RdpProbe.Probe;
using RdpProbe.Probe.NetPath;
using RdpProbe.Runs;

namespace RdpProbe.Cli;

/// <summary>A single probe run (with --udp, --mtu, --capture): runs it in Core and prints each report.</summary>
internal static class ProbeRunView
{
    public static async Task<int> RunAsync(ProbeEngine engine, ProbeTarget target, ProbeRunOptions options, bool json, CliIo io, CancellationToken ct, (string Path, string CommandLine)? html = null)
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

        await PrintAsync(run, json, io, ct).ConfigureAwait(false);
        if (html is { } page && !await HtmlOutput.WriteProbeAsync(run, page.Path, page.CommandLine, io.Error).ConfigureAwait(false))
        {
            return ExitCodes.Usage;
        }

        return ExitCodes.ForReports(run.Reports.Select(r => (r.Verdict, (IReadOnlyList<Diagnosis.Finding>)r.Findings)), options.FailOn);
    }

    /// <summary>The human view per report, or JSON: one document, or one line per report with --all-addresses (JSON Lines).</summary>
    public static async Task PrintAsync(ProbeRun run, bool json, CliIo io, CancellationToken ct)
    {
        foreach (var report in run.Reports)
        {
            if (json)
            {
                await io.Out.WriteLineAsync(run.Reports.Count > 1 ? run.ToJsonLine(report) : run.ToJson(report)).ConfigureAwait(false);
            }
            else
            {
                ProbeView.Render(io.Console, report, run.Capture, io.Verbose);
                ClientView.Render(io.Console, report);
            }
        }

        await io.Out.FlushAsync(ct).ConfigureAwait(false);
    }
}
