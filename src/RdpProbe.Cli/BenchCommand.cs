using System.CommandLine;
using RdpProbe.Probe;
using RdpProbe.Protocol;
using RdpProbe.Runs;

namespace RdpProbe.Cli;

/// <summary>
/// <c>rdpprobe bench HOST[:PORT] -n N</c>: the probe's connection sequence N times, per phase min / median / p90 / p99 /
/// max, round trips against the protocol's floor, and how the time splits into network, server and client.
/// </summary>
internal static class BenchCommand
{
    public static Command Create(CliIo io)
    {
        var target = new Argument<ProbeTarget?>("target") { Description = "HOST[:PORT] (default port 3389)", CustomParser = OptionParsers.Target };
        var runs = new Option<int>("--runs", "-n") { Description = $"Measured runs (1..{BenchOptions.MaxRuns})", DefaultValueFactory = _ => 10, CustomParser = OptionParsers.Count("-n", 10, 1, BenchOptions.MaxRuns, n => $"-n {n}: must be 1..{BenchOptions.MaxRuns}") };
        var warmup = new Option<int>("--warmup") { Description = $"Runs made first and left out of the statistics (0..{BenchOptions.MaxWarmup})", DefaultValueFactory = _ => 1, CustomParser = OptionParsers.Count("--warmup", 1, 0, BenchOptions.MaxWarmup, w => $"--warmup {w}: must be 0..{BenchOptions.MaxWarmup}") };
        var json = new Option<bool>("--json") { Description = "Print one JSON document (schema rdpprobe.bench/2)" };
        var timeout = new Option<TimeSpan>("--timeout") { Description = "Time limit per phase (e.g. 5s, 1500ms) [default: 5s]", HelpName = "duration", CustomParser = OptionParsers.PhaseTimeout };
        var pause = new Option<TimeSpan>("--pause") { Description = "Pause between runs (e.g. 100ms) [default: 100ms]", HelpName = "duration", CustomParser = OptionParsers.Duration("--pause", TimeSpan.FromMilliseconds(100), TimeSpan.Zero, TimeSpan.FromSeconds(60)) };
        var maxTime = new Option<TimeSpan>("--max-time") { Description = "Bound on the whole benchmark (e.g. 5m) [default: 5m]", HelpName = "duration", CustomParser = OptionParsers.Duration("--max-time", TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(1), TimeSpan.FromHours(1)) };
        var protocols = new Option<SecurityProtocols>("--protocols") { Description = "Security protocols to request (default ssl,hybrid,hybrid_ex)", HelpName = "list", CustomParser = OptionParsers.Protocols };
        var html = HtmlOutput.CreateOption("the charts (per-phase box plots, runs over time)");
        var user = Credentials.CreateOption($"DOMAIN\\user: go on through CredSSP with credentials (password from {PasswordSource.EnvironmentVariable} or a prompt)");

        var command = new Command("bench", "Time each handshake phase over N runs: percentiles, round trips against the protocol floor, network vs server time");
        command.Arguments.Add(target);
        foreach (var option in new Option[] { runs, warmup, json, timeout, pause, maxTime, protocols, user, html })
        {
            command.Options.Add(option);
        }

        command.SetAction(async (parse, ct) =>
        {
            if (parse.GetValue(target) is not { } probeTarget)
            {
                return ProbeCommand.Usage(io, "empty target: expected HOST[:PORT]");
            }

            var probeOptions = new ProbeOptions { PhaseTimeout = parse.ValueOr(timeout, ProbeOptions.DefaultTimeout), RequestedProtocols = parse.ValueOr(protocols, ProbeOptions.DefaultProtocols) };
            if (Credentials.Apply(new ProbeEngine(probeOptions), parse.GetValue(user), io) is not { } engine)
            {
                return ExitCodes.Usage;
            }

            var options = new BenchOptions { Runs = parse.GetValue(runs), Warmup = parse.GetValue(warmup), Pause = parse.ValueOr(pause, TimeSpan.FromMilliseconds(100)), MaxTime = parse.ValueOr(maxTime, TimeSpan.FromMinutes(5)) };
            return await RunAsync(engine, probeTarget, options, parse.GetValue(json), io, ct, parse.GetValue(html) is { } htmlPath ? (htmlPath, HtmlOutput.CommandLine(parse)) : null).ConfigureAwait(false);
        });
        return command;
    }

    private static async Task<int> RunAsync(ProbeEngine engine, ProbeTarget target, BenchOptions options, bool json, CliIo io, CancellationToken ct, (string Path, string CommandLine)? html = null)
    {
        var run = await BenchTarget.RunAsync(engine, target, options, ct).ConfigureAwait(false);
        if (run.Report is not { } report)
        {
            await io.Error.WriteLineAsync($"rdpprobe: {run.DnsFailure?.Detail ?? $"{target.Host} does not resolve"}").ConfigureAwait(false);
            return ExitCodes.Dns;
        }

        if (json)
        {
            await io.Out.WriteLineAsync(report.ToJson()).ConfigureAwait(false);
            await io.Out.FlushAsync(ct).ConfigureAwait(false);
        }
        else
        {
            BenchView.Render(io.Console, report);
        }

        if (html is { } page && !await HtmlOutput.WriteBenchAsync(report, page.Path, page.CommandLine, io.Error).ConfigureAwait(false))
        {
            return ExitCodes.Usage;
        }

        // Exit code: 0 when every measured run went through; else the class of the phase that failed most often.
        return report.MostFailedPhase is { } phase ? ExitCodes.ForPhase(phase) : ExitCodes.Ok;
    }
}
