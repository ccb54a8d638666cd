using System.CommandLine;
using RdpProbe.Analysis;
using RdpProbe.Reports;
using Spectre.Console;

namespace RdpProbe.Cli;

/// <summary>
/// rdpprobe analyze FILE... [--port N]... [--json] [--details N] [--no-progress]: finds every RDP connection in the
/// captures and says where and why it stopped. Exit codes: 0 all ok, 20 a connection failed (not counting refused attempts a client replaced by a successful fallback), 21 no RDP connection,
/// 3 unreadable input, 4 damaged capture (partial results printed), 2 usage.
/// </summary>
internal static class AnalyzeCommand
{
    /// <summary>Captures at least this large get a progress bar (when stderr is a terminal).</summary>
    private const long ProgressThresholdBytes = 32L * 1024 * 1024;

    public static Command Create(IAnsiConsole? console = null, IAnsiConsole? errorConsole = null)
    {
        var command = new Command("analyze", "Find every RDP connection in a capture and say where and why it stopped");
        var files = new Argument<string[]>("files") { Arity = ArgumentArity.OneOrMore, Description = ".pcap or .pcapng files, read in the order given; each is a capture of its own (frame numbers count per file, as Wireshark's)" };
        var ports = new Option<int[]>("--port") { Description = "Extra TCP/UDP port to treat as RDP (repeatable; 3389 is always included)", AllowMultipleArgumentsPerToken = false };
        var json = new Option<bool>("--json") { Description = "Print the rdpprobe.analysis/2 JSON document on stdout, each connection as soon as it ends" };
        var jsonl = new Option<bool>("--jsonl") { Description = "Print JSON Lines (rdpprobe.analysis-lines/1): one line per connection as soon as it ends, then a summary line" };
        var details = new Option<int>("--details") { Description = "How many connections to show in detail (failed ones first)", DefaultValueFactory = _ => 20 };
        var noProgress = new Option<bool>("--no-progress") { Description = "Never show a progress bar" };
        var html = HtmlOutput.CreateOption("the analysis (timeline, ladders of the connections, filters)");
        var explain = new Option<string?>("--explain-frame") { Description = "Print frame N (1-based, as Wireshark counts in each file) decoded layer by layer (link, IP, TCP, TPKT, X.224, TLS, CredSSP) with a hex dump, and stop; with several files FILE:N", HelpName = "[FILE:]N" };
        files.Validators.Add(result =>
        {
            // An unknown option lands here as a file name: say it is an option, not a missing file.
            foreach (var token in result.Tokens)
            {
                if (token.Value.StartsWith('-') && token.Value.Length > 1 && !File.Exists(token.Value))
                {
                    result.AddError($"unknown option {CliText.Printable(token.Value)}");
                }
            }
        });
        ports.Validators.Add(result =>
        {
            // Read the tokens, not the converted value: a non-number already has its own conversion error.
            foreach (var token in result.Tokens)
            {
                if (int.TryParse(token.Value, out int p) && p is < 1 or > 65535)
                {
                    result.AddError($"--port {p}: a port is 1-65535");
                }
            }
        });
        details.Validators.Add(result =>
        {
            if (result.Tokens.Count > 0 && int.TryParse(result.Tokens[^1].Value, out int n) && n < 0)
            {
                result.AddError("--details must be 0 or more");
            }
        });
        command.Arguments.Add(files);
        command.Options.Add(ports);
        command.Options.Add(json);
        command.Options.Add(jsonl);
        command.Options.Add(details);
        command.Options.Add(noProgress);
        command.Options.Add(explain);
        command.Options.Add(html);
        command.SetAction((parse, ct) =>
        {
            if (parse.GetValue(explain) is { } frame)
            {
                return Task.FromResult(ExplainFrame(parse.GetValue(files) ?? [], frame, console ?? CreateConsole(Console.Out), errorConsole ?? CreateConsole(Console.Error)));
            }

            if (parse.GetValue(json) && parse.GetValue(jsonl))
            {
                (errorConsole ?? CreateConsole(Console.Error)).Profile.Out.Writer.WriteLine("rdpprobe: --json and --jsonl: choose one");
                return Task.FromResult(ExitCodes.Usage);
            }

            var options = new AnalyzeInvocation(
                parse.GetValue(files) ?? [],
                [3389, .. parse.GetValue(ports) ?? []],
                parse.GetValue(json),
                parse.GetValue(details),
                !parse.GetValue(noProgress),
                parse.GetValue(html) is { } htmlPath ? (htmlPath, HtmlOutput.CommandLine(parse)) : null)
            {
                JsonLines = parse.GetValue(jsonl),
            };
            return Task.FromResult(Run(options, console ?? CreateConsole(Console.Out), errorConsole ?? CreateConsole(Console.Error), ct));
        });
        return command;
    }

    internal sealed record AnalyzeInvocation(string[] Files, int[] Ports, bool Json, int Details, bool Progress, (string Path, string CommandLine)? Html = null)
    {
        /// <summary>--jsonl: JSON Lines instead of the document.</summary>
        public bool JsonLines { get; init; }
    }

    internal static int Run(AnalyzeInvocation invocation, IAnsiConsole console, IAnsiConsole errors, CancellationToken cancellationToken)
    {
        // Every input is checked before any is read: a missing or wrong one is exit 3 whatever its position.
        foreach (var file in invocation.Files)
        {
            string? problem = Directory.Exists(file) ? "is a directory, not a capture file" : !File.Exists(file) ? "no such file" : null;
            if (problem is not null)
            {
                errors.Profile.Out.Writer.WriteLine($"rdpprobe: {CliText.Printable(file)}: {problem}");
                return ExitCodes.InputUnreadable;
            }
        }

        var analyzerOptions = new AnalyzerOptions { Ports = invocation.Ports.Distinct().ToArray() };
        long totalBytes = invocation.Files.Sum(f => File.Exists(f) ? new FileInfo(f).Length : 0);
        bool machine = invocation.Json || invocation.JsonLines;

        // The view streams to stdout as connections end: a progress bar on the same terminal would tear it.
        bool showProgress = invocation.Progress && totalBytes >= ProgressThresholdBytes && !Console.IsErrorRedirected && errors.Profile.Capabilities.Interactive
            && (machine || Console.IsOutputRedirected);

        // Every report is written as its connection ends (AnalysisStream); only --html gathers the whole report.
        var writer = console.Profile.Out.Writer;
        bool toStdout = writer == Console.Out;
        Stream? output = null;
        var sinks = new List<IAnalysisSink>();
        IDisposable? jsonSink = null;
        if (machine)
        {
            writer.Flush();
            output = toStdout ? new BufferedStream(Console.OpenStandardOutput(), 1 << 16) : new MemoryStream();
            if (invocation.Json)
            {
                var doc = new AnalysisJsonWriter(output);
                sinks.Add(doc);
                jsonSink = doc;
            }
            else
            {
                var lines = new AnalysisJsonLinesWriter(output);
                sinks.Add(lines);
                jsonSink = lines;
            }
        }
        else
        {
            sinks.Add(new AnalyzeStreamView(console, invocation.Details));
        }

        var collector = invocation.Html is null ? null : new AnalysisReportCollector();
        if (collector is not null)
        {
            sinks.Add(collector);
        }

        AnalysisStream.Result result;
        try
        {
            if (showProgress)
            {
                AnalysisStream.Result? captured = null;
                errors.Progress()
                    .AutoClear(true)
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                    .Start(ctx =>
                    {
                        var task = ctx.AddTask("reading capture", maxValue: totalBytes);
                        captured = AnalysisStream.Run(invocation.Files, analyzerOptions, sinks, (read, _) => task.Value = Math.Min(read, totalBytes), cancellationToken);
                        task.Value = totalBytes;
                    });
                result = captured!;
            }
            else
            {
                result = AnalysisStream.Run(invocation.Files, analyzerOptions, sinks, null, cancellationToken);
            }

            if (output is MemoryStream buffered)
            {
                writer.Write(System.Text.Encoding.UTF8.GetString(buffered.GetBuffer(), 0, (int)buffered.Length));
            }

            output?.Flush();
        }
        catch (IOException ex) when (toStdout)
        {
            throw new OutputWriteException(ex);
        }
        finally
        {
            jsonSink?.Dispose();
            output?.Dispose();
        }

        foreach (var error in result.Errors)
        {
            errors.Profile.Out.Writer.WriteLine($"rdpprobe: {error}");
        }

        if (result.Status == CaptureReadStatus.Unreadable)
        {
            return ExitCodes.InputUnreadable;
        }

        if (result.Status == CaptureReadStatus.NoCaptureLibrary)
        {
            return ExitCodes.NoCaptureLibrary;
        }

        writer.Flush();
        var summary = result.Summary!;
        if (invocation.Html is { } page && collector?.Report is { } report
            && !HtmlOutput.WriteAnalysis(report, page.Path, page.CommandLine, invocation.Details, errors.Profile.Out.Writer))
        {
            return ExitCodes.Usage;
        }

        if (result.Status == CaptureReadStatus.Damaged)
        {
            return ExitCodes.CaptureDamaged;
        }

        return ExitCodeFor(summary);
    }

    private static int ExplainFrame(string[] files, string spec, IAnsiConsole console, IAnsiConsole errors)
    {
        var err = errors.Profile.Out.Writer;
        foreach (var file in files)
        {
            if (Directory.Exists(file) || !File.Exists(file))
            {
                err.WriteLine($"rdpprobe: {CliText.Printable(file)}: {(Directory.Exists(file) ? "is a directory, not a capture file" : "no such file")}");
                return ExitCodes.InputUnreadable;
            }
        }

        try
        {
            var result = FrameExplainer.Explain(files, spec);
            switch (result.Status)
            {
                case ExplainStatus.Ok:
                    console.Profile.Out.Writer.WriteLine(result.Text);
                    return ExitCodes.Ok;
                case ExplainStatus.BadSpec:
                    err.WriteLine($"rdpprobe: --explain-frame {CliText.Printable(spec)}: give a frame number N >= 1, or FILE:N");
                    return ExitCodes.Usage;
                case ExplainStatus.Ambiguous:
                    err.WriteLine($"rdpprobe: --explain-frame {CliText.Printable(spec)}: frames count per file; say which file with FILE:N (one of {string.Join(", ", files.Select(CliText.Printable))})");
                    return ExitCodes.Usage;
                case ExplainStatus.NoSuchFile:
                    err.WriteLine($"rdpprobe: --explain-frame {CliText.Printable(spec)}: that file is not among the files given ({string.Join(", ", files.Select(CliText.Printable))})");
                    return ExitCodes.Usage;
                default:
                    FrameExplainer.Resolve(files, spec, out _, out int number);
                    err.WriteLine($"rdpprobe: no frame {number} in {CliText.Printable(result.File ?? "the capture")}");
                    return ExitCodes.Usage;
            }
        }
        catch (Exception e) when (Net.Platform.Current.PcapLibraryProblem(e) is { } missing)
        {
            // The same message and exit code as analyze: the library is missing, not the file unreadable.
            err.WriteLine($"rdpprobe: {missing}");
            return ExitCodes.NoCaptureLibrary;
        }
        catch (Exception e) when (e is SharpPcap.PcapException or IOException or InvalidOperationException or ArgumentException)
        {
            err.WriteLine($"rdpprobe: cannot read the capture ({e.Message.ReplaceLineEndings(" ")})");
            return ExitCodes.InputUnreadable;
        }
    }

    internal static int ExitCodeFor(AnalysisSummary summary) =>
        summary.Connections == 0 && summary.Udp.Count == 0 ? ExitCodes.NoRdpConnections
        : summary.FailedConnections > 0 ? ExitCodes.ConnectionFailed
        : ExitCodes.Ok;

    internal static int ExitCodeFor(AnalysisReport report)
    {
        if (report.Connections.Count == 0 && report.Udp.Count == 0)
        {
            return ExitCodes.NoRdpConnections;
        }

        // A refused attempt the client replaced by a successful fallback (an attempt chain) is not a failure.
        return report.Connections.Any(c => !c.Verdict.Ok && !c.SupersededByFallback) ? ExitCodes.ConnectionFailed : ExitCodes.Ok;
    }

    internal static IAnsiConsole CreateConsole(TextWriter writer)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(writer) });
        bool redirected = writer == Console.Out ? Console.IsOutputRedirected : Console.IsErrorRedirected;
        if (redirected)
        {
            // Plain text for files and pipes: no wrapping at an imaginary 80 columns (filters must stay on one line).
            console.Profile.Width = 100_000;
        }

        return console;
    }
}
