using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using RdpProbe.Analysis;
using RdpProbe.Diagnosis;
using Verdict = RdpProbe.Diagnosis.Verdict;
using RdpProbe.Probe;
using RdpProbe.Probe.NetPath;
using RdpProbe.Reports;
using Spectre.Console;

namespace RdpProbe.Cli;

/// <summary>
/// The path-diagnostics options of the probe verb (issue 5): --udp, --mtu, --capture/--capture-interface, --repeat,
/// --targets/--concurrency and --concurrency-test. ProbeCommand adds them and hands over to <see cref="RunAsync"/>.
/// </summary>
internal sealed class PathChecks
{
    public required Option<bool> Udp { get; init; }
    public required Option<bool> Mtu { get; init; }
    public required Option<string> Capture { get; init; }
    public required Option<string> CaptureInterface { get; init; }
    public required Option<int?> RepeatCount { get; init; }
    public required Option<string> TargetsFile { get; init; }
    public required Option<int> Concurrency { get; init; }
    public required Option<int?> ConcurrencyTestCount { get; init; }

    public static PathChecks Add(RootCommand root)
    {
        var checks = new PathChecks
        {
            Udp = new Option<bool>("--udp") { Description = "Also test RDP-UDP reachability: a padded MS-RDPEUDP SYN to the UDP port (SYN+ACK, ICMP unreachable or silence)" },
            Mtu = new Option<bool>("--mtu") { Description = "Also run the MTU black-hole test: ClientHellos padded to bisected sizes, and whether the server's flight arrives" },
            Capture = new Option<string>("--capture") { Description = "Record the probe's own packets into FILE (pcap) and analyse them afterwards (needs root or CAP_NET_RAW)" },
            CaptureInterface = new Option<string>("--capture-interface") { Description = "Interface for --capture (default: the one routing to the target; lo for loopback)" },
            RepeatCount = new Option<int?>("--repeat") { Description = "Run the whole probe N times (1..10000) and report per phase the success rate and latency percentiles" },
            TargetsFile = new Option<string>("--targets") { Description = "Probe every host[:port] listed in FILE ('#' comments), one report per target (JSON Lines with --json)" },
            Concurrency = new Option<int>("--concurrency") { Description = "Targets probed at once with --targets (1..256)", DefaultValueFactory = _ => 16 },
            ConcurrencyTestCount = new Option<int?>("--concurrency-test") { Description = "Open N (1..500) connections held after the X.224 request and report when the server starts refusing or stalling. Only against your own servers." },
        };
        foreach (var option in new Option[] { checks.Udp, checks.Mtu, checks.Capture, checks.CaptureInterface, checks.RepeatCount, checks.TargetsFile, checks.Concurrency, checks.ConcurrencyTestCount })
        {
            root.Options.Add(option);
        }

        return checks;
    }

    /// <summary>True when --targets replaces the positional target.</summary>
    public bool IsTargetsMode(ParseResult parse) => parse.GetValue(TargetsFile) is not null;

    /// <summary>Runs whatever path options were given; null when none was, so ProbeCommand runs the plain probe.</summary>
    public async Task<int?> RunAsync(ParseResult parse, ProbeTarget? target, ProbeEngine engine, bool json, CliIo io, CancellationToken ct)
    {
        string? targetsFile = parse.GetValue(TargetsFile);
        int? repeat = parse.GetValue(RepeatCount);
        int? concurrencyTest = parse.GetValue(ConcurrencyTestCount);
        bool udp = parse.GetValue(Udp), mtu = parse.GetValue(Mtu);
        string? capture = parse.GetValue(Capture);
        string? captureInterface = parse.GetValue(CaptureInterface);
        if (targetsFile is null && repeat is null && concurrencyTest is null && !udp && !mtu && capture is null)
        {
            return captureInterface is null ? null : Usage(io, "--capture-interface needs --capture FILE");
        }

        int modes = (targetsFile is null ? 0 : 1) + (repeat is null ? 0 : 1) + (concurrencyTest is null ? 0 : 1);
        if (modes > 1)
        {
            return Usage(io, "--targets, --repeat and --concurrency-test are separate runs: give one of them");
        }

        if (targetsFile is not null)
        {
            if (target is not null)
            {
                return Usage(io, "give either a target or --targets FILE");
            }

            if (capture is not null)
            {
                return Usage(io, "--capture records one target's probe; it cannot be combined with --targets");
            }

            return await RunTargetsAsync(targetsFile, parse.GetValue(Concurrency), engine, json, io, ct).ConfigureAwait(false);
        }

        if (target is null)
        {
            return Usage(io, "missing target: rdpprobe HOST[:PORT]");
        }

        if (concurrencyTest is { } n)
        {
            return await RunConcurrencyTestAsync(target, n, json, io, ct).ConfigureAwait(false);
        }

        if (repeat is { } count)
        {
            if (count is < 1 or > Repeat.MaxRuns)
            {
                return Usage(io, $"--repeat must be 1..{Repeat.MaxRuns}");
            }

            return await RunRepeatAsync(target, count, engine, json, io, ct).ConfigureAwait(false);
        }

        return await RunWithChecksAsync(target, engine, udp, mtu, capture, captureInterface, json, io, ct).ConfigureAwait(false);
    }

    /// <summary>An engine with changed options and the same credentials (they are kept out of the options on purpose).</summary>
    private static ProbeEngine Derive(ProbeEngine engine, Func<ProbeOptions, ProbeOptions> change)
        => new(change(engine.Options)) { Credentials = engine.Credentials };

    /// <summary>The plain probe, then --udp / --mtu as further phase entries, all inside an optional live capture.</summary>
    private static async Task<int> RunWithChecksAsync(ProbeTarget target, ProbeEngine engine, bool udp, bool mtu, string? capturePath, string? captureInterface, bool json, CliIo io, CancellationToken ct)
    {
        LiveCapture? capture = null;
        if (capturePath is not null)
        {
            var address = target.Address ?? await ResolveAsync(target.Host, ct).ConfigureAwait(false);
            if (address is null)
            {
                io.Error.WriteLine($"rdpprobe: cannot capture: {target.Host} does not resolve");
                return ExitCodes.Dns;
            }

            try
            {
                capture = await LiveCapture.StartAsync(capturePath, captureInterface, new IPEndPoint(address, target.Port), ct).ConfigureAwait(false);
            }
            catch (LiveCaptureException ex)
            {
                io.Error.WriteLine($"rdpprobe: {ex.Message}");
                return ExitCodes.Usage;
            }
        }

        IReadOnlyList<ProbeReport> reports;
        try
        {
            reports = await engine.RunAsync(target, ct).ConfigureAwait(false);
            foreach (var report in reports.Where(r => r.Address is not null))
            {
                var endpoint = new IPEndPoint(report.Address!, target.Port);
                if (udp)
                {
                    var result = await UdpCheck.RunAsync(endpoint, cancellationToken: ct).ConfigureAwait(false);
                    report.Phases.Add(result.Record);
                }

                if (mtu)
                {
                    var result = await MtuProbe.RunAsync(endpoint, new MtuProbeOptions { RequestedProtocols = engine.Options.RequestedProtocols }, ct).ConfigureAwait(false);
                    report.Phases.Add(result.Record);
                }

                if (udp || mtu)
                {
                    // The extra checks count in the verdict (exit code 18 when one of them is what failed); their own
                    // sentence is more precise than the generic one for the phase.
                    var verdict = Verdict.From(report.Phases);
                    var failed = report.Phases.FirstOrDefault(p => p.Phase == verdict.Phase && p.Status == PhaseStatus.Failed);
                    bool extraFailed = !verdict.Ok && verdict.Phase is Phase.Udp or Phase.Mtu;
                    report.Verdict = extraFailed && failed?.Detail is { } detail ? verdict with { Summary = detail } : verdict;
                }
            }
        }
        finally
        {
            if (capture is not null)
            {
                await capture.DisposeAsync().ConfigureAwait(false);
            }
        }

        if (capture is not null)
        {
            var analysis = CaptureAnalysis.Run([capture.FilePath], new AnalyzerOptions { Ports = [target.Port] });
            var facts = new CaptureFacts(capture.FilePath, capture.InterfaceName, capture.PacketCount, capture.DroppedPackets, analysis.Report);
            foreach (var report in reports)
            {
                report.Capture = facts;
            }
        }

        return await ProbeCommand.PrintAsync(reports, json, io, ct).ConfigureAwait(false);
    }

    private static async Task<int> RunRepeatAsync(ProbeTarget target, int count, ProbeEngine engine, bool json, CliIo io, CancellationToken ct)
    {
        // One connection sequence per run: the matrix and TLS-version side checks would multiply the connections.
        var runEngine = Derive(engine, o => o with { SecurityMatrix = false, TlsVersions = false, EncryptionLevels = false, AllAddresses = false });
        Verdict? lastFailure = null;
        var report = await Repeat.RunAsync(async (_, token) =>
        {
            var reports = await runEngine.RunAsync(target, token).ConfigureAwait(false);
            var first = reports[0];
            if (!first.Verdict.Ok)
            {
                lastFailure = first.Verdict;
            }

            return first.Phases.Where(p => p.Phase < Phase.SecurityMatrix).ToList();
        }, count, new RepeatOptions(), ct).ConfigureAwait(false);

        if (json)
        {
            await io.Out.WriteLineAsync(RepeatJson(target, report)).ConfigureAwait(false);
        }
        else
        {
            var table = new Table().Border(TableBorder.Rounded).Title($"{Markup.Escape(target.ToString())}: {report.RunsDone} runs");
            foreach (string column in new[] { "phase", "ok", "success", "min", "p50", "p90", "p99", "max", "failures" })
            {
                table.AddColumn(column is "phase" or "failures" ? new TableColumn(column) : new TableColumn(column).RightAligned());
            }

            foreach (var p in report.Phases)
            {
                table.AddRow(
                    p.Phase.ToReportName(),
                    $"{p.Succeeded}/{p.Attempted}",
                    (p.SuccessRate * 100).ToString("0.#", CultureInfo.InvariantCulture) + " %",
                    Ms(p.MinMs), Ms(p.P50Ms), Ms(p.P90Ms), Ms(p.P99Ms), Ms(p.MaxMs),
                    Markup.Escape(string.Join(", ", p.FailureEndings.Select(e => $"{e.Key.ToReportName()} ×{e.Value}"))));
            }

            io.Console.Write(table);
            io.Console.WriteLine(report.Verdict);
        }

        await io.Out.FlushAsync(ct).ConfigureAwait(false);
        return report.RunsFullySucceeded == report.RunsDone || lastFailure is null ? ExitCodes.Ok : ExitCodes.ForVerdict(lastFailure);
    }

    private static async Task<int> RunTargetsAsync(string file, int concurrency, ProbeEngine engine, bool json, CliIo io, CancellationToken ct)
    {
        if (concurrency is < 1 or > Targets.MaxConcurrency)
        {
            return Usage(io, $"--concurrency must be 1..{Targets.MaxConcurrency}");
        }

        TargetList list;
        try
        {
            list = Targets.ParseFile(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            io.Error.WriteLine($"rdpprobe: cannot read {file}: {ex.Message}");
            return ExitCodes.InputUnreadable;
        }

        if (list.Errors.Count > 0)
        {
            var e = list.Errors[0];
            return Usage(io, $"{file}:{e.Line}: {e.Reason}: '{e.Text}'" + (list.Errors.Count > 1 ? $" (and {list.Errors.Count - 1} more bad lines)" : string.Empty));
        }

        if (list.Targets.Count == 0)
        {
            return Usage(io, $"{file}: no targets");
        }

        // Each target is one probe: no per-target matrix or TLS-version side connections unless asked for one target.
        var perTarget = Derive(engine, o => o with { SecurityMatrix = false, TlsVersions = false, EncryptionLevels = false, AllAddresses = false });
        var results = await Targets.RunAsync(
            list.Targets,
            async (spec, token) =>
            {
                var target = ProbeTarget.Parse(spec.ToString());
                var reports = await perTarget.RunAsync(target, token).ConfigureAwait(false);
                return reports[0];
            },
            concurrency,
            json ? io.Out : null,
            json ? o => o.Report is { } r ? Compact(ProbeJson.Serialize(r)) : ErrorLine(o) : null,
            json ? null : new Progress<(int Done, int Total)>(p => io.Error.Write($"\r{p.Done}/{p.Total} targets")),
            ct).ConfigureAwait(false);

        if (!json)
        {
            io.Error.WriteLine();
            var table = new Table().Border(TableBorder.Rounded).Title($"{results.Count} targets");
            table.AddColumn("target");
            table.AddColumn("result");
            table.AddColumn("phase");
            table.AddColumn("summary");
            foreach (var o in results)
            {
                var v = o.Report?.Verdict;
                table.AddRow(
                    Markup.Escape(o.Target.ToString()),
                    v is null ? "[red]error[/]" : v.Ok ? "[green]ok[/]" : $"[red]{Markup.Escape(v.Ending.ToReportName())}[/]",
                    v is null ? string.Empty : v.Phase.ToReportName(),
                    Markup.Escape(v?.Summary ?? o.Error ?? string.Empty));
            }

            io.Console.Write(table);
            int ok = results.Count(r => r.Report?.Verdict.Ok == true);
            io.Console.WriteLine($"{ok} of {results.Count} targets ok");
        }

        await io.Out.FlushAsync(ct).ConfigureAwait(false);
        var firstFailure = results.FirstOrDefault(r => r.Report is null || !r.Report.Verdict.Ok);
        return firstFailure is null ? ExitCodes.Ok : firstFailure.Report is { } fr ? ExitCodes.ForVerdict(fr.Verdict) : ExitCodes.InternalError;
    }

    private static async Task<int> RunConcurrencyTestAsync(ProbeTarget target, int count, bool json, CliIo io, CancellationToken ct)
    {
        if (count is < 1 or > ConcurrencyTestOptions.MaxConnections)
        {
            return Usage(io, $"--concurrency-test must be 1..{ConcurrencyTestOptions.MaxConnections}");
        }

        var address = target.Address ?? await ResolveAsync(target.Host, ct).ConfigureAwait(false);
        if (address is null)
        {
            io.Error.WriteLine($"rdpprobe: {target.Host} does not resolve");
            return ExitCodes.Dns;
        }

        var result = await ConcurrencyTest.RunAsync(new IPEndPoint(address, target.Port), count, cancellationToken: ct).ConfigureAwait(false);
        if (json)
        {
            await io.Out.WriteLineAsync(ConcurrencyJson(target, result)).ConfigureAwait(false);
        }
        else
        {
            io.Console.WriteLine($"{target}: {result.Accepted} accepted, {result.Refused} refused, {result.Dropped} dropped, {result.Stalled} stalled, {result.NotTried} not tried; {result.OpenAtEnd} still open at the end");
            io.Console.WriteLine(result.Verdict);
        }

        await io.Out.FlushAsync(ct).ConfigureAwait(false);
        return result.FirstFailure is null ? ExitCodes.Ok : ExitCodes.PathCheck;
    }

    private static async Task<IPAddress?> ResolveAsync(string host, CancellationToken ct)
    {
        try
        {
            var addresses = await Dns.GetHostAddressesAsync(host, ct).ConfigureAwait(false);
            return addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault();
        }
        catch (SocketException)
        {
            return null;
        }
    }

    private static string Ms(double? ms) => ms is { } v ? v.ToString("0.0", CultureInfo.InvariantCulture) : "";

    private static int Usage(CliIo io, string message)
    {
        io.Error.WriteLine($"rdpprobe: {message}");
        return ExitCodes.Usage;
    }

    private static string ErrorLine(TargetOutcome<ProbeReport> o) => Json(w =>
    {
        w.WriteString("schema", "rdpprobe.probe/1");
        w.WriteString("target", o.Target.ToString());
        w.WriteString("error", o.Error);
    });

    internal static string RepeatJson(ProbeTarget target, RepeatReport report) => Json(w =>
    {
        w.WriteString("schema", "rdpprobe.repeat/1");
        w.WriteString("target", target.ToString());
        w.WriteNumber("runsAsked", report.RunsAsked);
        w.WriteNumber("runsDone", report.RunsDone);
        w.WriteNumber("runsFullySucceeded", report.RunsFullySucceeded);
        w.WriteStartArray("phases");
        foreach (var p in report.Phases)
        {
            w.WriteStartObject();
            w.WriteString("phase", p.Phase.ToReportName());
            w.WriteNumber("attempted", p.Attempted);
            w.WriteNumber("succeeded", p.Succeeded);
            w.WriteNumber("successRate", Math.Round(p.SuccessRate, 4));
            foreach (var (name, value) in new[] { ("minMs", p.MinMs), ("p50Ms", p.P50Ms), ("p90Ms", p.P90Ms), ("p99Ms", p.P99Ms), ("maxMs", p.MaxMs) })
            {
                if (value is { } v)
                {
                    w.WriteNumber(name, Math.Round(v, 3));
                }
                else
                {
                    w.WriteNull(name);
                }
            }

            w.WriteStartObject("failures");
            foreach (var e in p.FailureEndings)
            {
                w.WriteNumber(e.Key.ToReportName(), e.Value);
            }

            w.WriteEndObject();
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteString("verdict", report.Verdict);
    });

    internal static string ConcurrencyJson(ProbeTarget target, ConcurrencyTestResult r) => Json(w =>
    {
        w.WriteString("schema", "rdpprobe.concurrency/1");
        w.WriteString("target", target.ToString());
        w.WriteNumber("requested", r.Requested);
        w.WriteNumber("accepted", r.Accepted);
        w.WriteNumber("refused", r.Refused);
        w.WriteNumber("dropped", r.Dropped);
        w.WriteNumber("stalled", r.Stalled);
        w.WriteNumber("notTried", r.NotTried);
        w.WriteNumber("openAtEnd", r.OpenAtEnd);
        if (r.FirstFailure is { } f)
        {
            w.WriteNumber("firstFailure", f);
        }
        else
        {
            w.WriteNull("firstFailure");
        }

        w.WriteString("verdict", r.Verdict);
    });

    /// <summary>One JSON document on one line (JSON Lines), without the indentation of the single-target output.</summary>
    private static string Compact(string json)
    {
        using var document = JsonDocument.Parse(json);
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            document.WriteTo(w);
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static string Json(Action<Utf8JsonWriter> body)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
