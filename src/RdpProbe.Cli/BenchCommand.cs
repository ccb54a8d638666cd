using System.CommandLine;
using System.Globalization;
using RdpProbe.Diagnosis;
using RdpProbe.Probe;
using RdpProbe.Probe.Bench;
using Spectre.Console;

namespace RdpProbe.Cli;

/// <summary>
/// <c>rdpprobe bench HOST[:PORT] -n N</c>: the probe's connection sequence N times, per phase min / median / p90 / p99 /
/// max, round trips against the protocol's floor, and how the time splits into network, server and client.
/// </summary>
internal static class BenchCommand
{
    public const string PasswordVariable = "RDPPROBE_PASSWORD";

    public static Command Create(CliIo io)
    {
        var target = new Argument<string>("target") { Description = "HOST[:PORT] (default port 3389)" };
        var runs = new Option<int>("--runs", "-n") { Description = $"Measured runs (1..{BenchOptions.MaxRuns})", DefaultValueFactory = _ => 10 };
        var warmup = new Option<int>("--warmup") { Description = $"Runs made first and left out of the statistics (0..{BenchOptions.MaxWarmup})", DefaultValueFactory = _ => 1 };
        var json = new Option<bool>("--json") { Description = "Print one JSON document (schema rdpprobe.bench/1)" };
        var timeout = new Option<string>("--timeout") { Description = "Time limit per phase (e.g. 5s, 1500ms)", DefaultValueFactory = _ => "5s" };
        var pause = new Option<string>("--pause") { Description = "Pause between runs (e.g. 100ms)", DefaultValueFactory = _ => "100ms" };
        var maxTime = new Option<string>("--max-time") { Description = "Bound on the whole benchmark (e.g. 5m)", DefaultValueFactory = _ => "5m" };
        var protocols = new Option<string>("--protocols") { Description = "Security protocols to request (default ssl,hybrid,hybrid_ex)" };
        var user = new Option<string>("--user") { Description = $"DOMAIN\\user: go on through CredSSP with credentials (password from {PasswordVariable} or a prompt)" };

        var command = new Command("bench", "Time each handshake phase over N runs: percentiles, round trips against the protocol floor, network vs server time");
        command.Arguments.Add(target);
        foreach (var option in new Option[] { runs, warmup, json, timeout, pause, maxTime, protocols, user })
        {
            command.Options.Add(option);
        }

        command.SetAction(async (parse, ct) =>
        {
            if (!ProbeTarget.TryParse(parse.GetValue(target) ?? string.Empty, out var probeTarget, out string? targetError))
            {
                return Usage(io, targetError!);
            }

            int n = parse.GetValue(runs);
            int w = parse.GetValue(warmup);
            if (n is < 1 or > BenchOptions.MaxRuns)
            {
                return Usage(io, $"-n {n}: must be 1..{BenchOptions.MaxRuns}");
            }

            if (w is < 0 or > BenchOptions.MaxWarmup)
            {
                return Usage(io, $"--warmup {w}: must be 0..{BenchOptions.MaxWarmup}");
            }

            if (!ProbeCommand.TryParseTimeout(parse.GetValue(timeout)!, out var phaseTimeout, out string? error)
                || !Durations.TryParse(parse.GetValue(pause)!, "--pause", TimeSpan.Zero, TimeSpan.FromSeconds(60), out var pauseSpan, out error)
                || !Durations.TryParse(parse.GetValue(maxTime)!, "--max-time", TimeSpan.FromSeconds(1), TimeSpan.FromHours(1), out var maxSpan, out error))
            {
                return Usage(io, error!);
            }

            var requested = ProbeOptions.DefaultProtocols;
            if (parse.GetValue(protocols) is { } protocolText && !ProbeCommand.TryParseProtocols(protocolText, out requested, out error))
            {
                return Usage(io, error!);
            }

            CredSspCredentialsHandle? credentials = null;
            if (parse.GetValue(user) is { } userSpec)
            {
                if (string.IsNullOrWhiteSpace(userSpec) || userSpec.Any(char.IsControl))
                {
                    return Usage(io, "--user: expected DOMAIN\\user, user@domain or user");
                }

                // The same rule as the probe: RDPPROBE_PASSWORD or a no-echo prompt, never an argument.
                string? password = PasswordSource.Get(userSpec, io.Error, out string? passwordError);
                if (password is null)
                {
                    return Usage(io, passwordError ?? "--user needs a password");
                }

                credentials = CredSspCredentialsHandle.From(userSpec, password);
            }

            var options = new BenchOptions { Runs = n, Warmup = w, Pause = pauseSpan, MaxTime = maxSpan, WithCredentials = credentials is not null };
            var probeOptions = new ProbeOptions { PhaseTimeout = phaseTimeout, RequestedProtocols = requested };
            return await RunAsync(probeTarget!, probeOptions, options, credentials, parse.GetValue(json), io, ct).ConfigureAwait(false);
        });
        return command;
    }

    private static async Task<int> RunAsync(ProbeTarget target, ProbeOptions probeOptions, BenchOptions options, CredSspCredentialsHandle? credentials, bool json, CliIo io, CancellationToken ct)
    {
        System.Net.IPAddress address;
        if (target.Address is { } literal)
        {
            address = literal;
        }
        else
        {
            // Resolve once: the benchmark times the handshake, not the resolver.
            try
            {
                var addresses = await System.Net.Dns.GetHostAddressesAsync(target.Host, ct).ConfigureAwait(false);
                if (addresses.Length == 0)
                {
                    await io.Error.WriteLineAsync($"rdpprobe: {target.Host} resolves to no address").ConfigureAwait(false);
                    return ExitCodes.Dns;
                }

                address = addresses[0];
            }
            catch (System.Net.Sockets.SocketException ex)
            {
                await io.Error.WriteLineAsync($"rdpprobe: {target.Host} does not resolve ({ex.SocketErrorCode})").ConfigureAwait(false);
                return ExitCodes.Dns;
            }
        }

        var probe = BenchRunner.ForEngine(target, address, probeOptions, credentials);
        var report = await BenchRunner.RunAsync($"{target.Host}:{target.Port}", probe, options, ct).ConfigureAwait(false);
        report.Address = address.ToString();
        if (json)
        {
            await io.Out.WriteLineAsync(report.ToJson()).ConfigureAwait(false);
            await io.Out.FlushAsync(ct).ConfigureAwait(false);
        }
        else
        {
            Render(io.Console, report);
        }

        // Exit code: 0 when every measured run went through; else the class of the phase that failed most often.
        var failing = report.Phases.Where(p => p.Succeeded < p.Attempted).OrderByDescending(p => p.Attempted - p.Succeeded).FirstOrDefault();
        return failing is null ? ExitCodes.Ok : ExitCodes.ForPhase(failing.Phase);
    }

    internal static void Render(IAnsiConsole console, BenchReport report)
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

    private static int Usage(CliIo io, string message)
    {
        io.Error.WriteLine($"rdpprobe: {message}");
        return ExitCodes.Usage;
    }
}
