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
        var files = new Argument<string[]>("files") { Arity = ArgumentArity.OneOrMore, Description = ".pcap or .pcapng files, read in the order given (frame numbers continue across files)" };
        var ports = new Option<int[]>("--port") { Description = "Extra TCP/UDP port to treat as RDP (repeatable; 3389 is always included)", AllowMultipleArgumentsPerToken = false };
        var json = new Option<bool>("--json") { Description = "Print the rdpprobe.analysis/1 JSON document on stdout" };
        var details = new Option<int>("--details") { Description = "How many connections to show in detail (failed ones first)", DefaultValueFactory = _ => 20 };
        var noProgress = new Option<bool>("--no-progress") { Description = "Never show a progress bar" };
        var html = HtmlOutput.CreateOption("the analysis (timeline, ladders of the connections, filters)");
        var explain = new Option<int?>("--explain-frame") { Description = "Print frame N (1-based, as Wireshark counts) decoded layer by layer, and stop" };
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
        command.Options.Add(details);
        command.Options.Add(noProgress);
        command.Options.Add(explain);
        command.Options.Add(html);
        command.SetAction((parse, ct) =>
        {
            if (parse.GetValue(explain) is int frame)
            {
                return Task.FromResult(ExplainFrame(parse.GetValue(files) ?? [], frame, console ?? CreateConsole(Console.Out), errorConsole ?? CreateConsole(Console.Error)));
            }

            var options = new AnalyzeInvocation(
                parse.GetValue(files) ?? [],
                [3389, .. parse.GetValue(ports) ?? []],
                parse.GetValue(json),
                parse.GetValue(details),
                !parse.GetValue(noProgress),
                parse.GetValue(html) is { } htmlPath ? (htmlPath, HtmlOutput.CommandLine(parse)) : null);
            return Task.FromResult(Run(options, console ?? CreateConsole(Console.Out), errorConsole ?? CreateConsole(Console.Error), ct));
        });
        return command;
    }

    internal sealed record AnalyzeInvocation(string[] Files, int[] Ports, bool Json, int Details, bool Progress, (string Path, string CommandLine)? Html = null);

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
        bool showProgress = invocation.Progress && totalBytes >= ProgressThresholdBytes && !Console.IsErrorRedirected && errors.Profile.Capabilities.Interactive;

        CaptureAnalysis.Result result;
        if (showProgress)
        {
            CaptureAnalysis.Result? captured = null;
            errors.Progress()
                .AutoClear(true)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("reading capture", maxValue: totalBytes);
                    captured = CaptureAnalysis.Run(invocation.Files, analyzerOptions, (read, _) => task.Value = Math.Min(read, totalBytes), cancellationToken);
                    task.Value = totalBytes;
                });
            result = captured!;
        }
        else
        {
            result = CaptureAnalysis.Run(invocation.Files, analyzerOptions, null, cancellationToken);
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

        var report = result.Report;
        if (invocation.Json)
        {
            // Streamed: the document of a capture with many connections is hundreds of megabytes as one string.
            var writer = console.Profile.Out.Writer;
            writer.Flush();
            if (writer == Console.Out)
            {
                using var stdout = Console.OpenStandardOutput();
                try
                {
                    report.WriteJson(stdout);
                    stdout.Flush();
                }
                catch (IOException ex)
                {
                    throw new OutputWriteException(ex);
                }

                writer.WriteLine();
            }
            else
            {
                writer.WriteLine(report.ToJson());
            }
        }
        else
        {
            AnalyzeOutput.Render(console, report, invocation.Details);
        }

        console.Profile.Out.Writer.Flush();
        if (invocation.Html is { } page && !HtmlOutput.WriteAnalysis(report, page.Path, page.CommandLine, invocation.Details, errors.Profile.Out.Writer))
        {
            return ExitCodes.Usage;
        }

        if (result.Status == CaptureReadStatus.Damaged)
        {
            return ExitCodes.CaptureDamaged;
        }

        return ExitCodeFor(report);
    }

    private static int ExplainFrame(string[] files, int frame, IAnsiConsole console, IAnsiConsole errors)
    {
        try
        {
            string? text = frame >= 1 ? FrameExplainer.Explain(files, frame) : null;
            if (text is null)
            {
                errors.Profile.Out.Writer.WriteLine($"rdpprobe: no frame {frame} in the capture");
                return ExitCodes.Usage;
            }

            console.Profile.Out.Writer.WriteLine(text);
            return ExitCodes.Ok;
        }
        catch (Exception e) when (e is SharpPcap.PcapException or IOException or InvalidOperationException)
        {
            errors.Profile.Out.Writer.WriteLine($"rdpprobe: cannot read the capture ({e.Message.ReplaceLineEndings(" ")})");
            return ExitCodes.InputUnreadable;
        }
    }

    internal static int ExitCodeFor(AnalysisReport report)
    {
        if (report.Connections.Count == 0 && report.Udp.Count == 0)
        {
            return ExitCodes.NoRdpConnections;
        }

        // A refused attempt the client replaced by a successful fallback (an attempt chain) is not a failure.
        return report.Connections.Any(c => !c.Verdict.Ok && !c.SupersededByFallback) ? ExitCodes.ConnectionFailed : ExitCodes.Ok;
    }

    private static IAnsiConsole CreateConsole(TextWriter writer)
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
