using System.CommandLine;
using System.Text;
using RdpProbe.Reports.Html;
using RdpProbe.Runs;

namespace RdpProbe.Cli;

/// <summary>
/// <c>--html FILE</c> on the probe, on analyze and on bench: one self-contained page next to whatever the command prints.
/// The page records the command line that made it (the parsed tokens: a password never is one).
/// </summary>
internal static class HtmlOutput
{
    public static Option<string?> CreateOption(string what) => new("--html") { Description = $"Also write {what} as one self-contained HTML page to FILE", HelpName = "FILE" };

    /// <summary>The command line as typed, for the page's footer.</summary>
    public static string CommandLine(ParseResult parse) =>
        "rdpprobe " + string.Join(' ', parse.Tokens.Select(t => Quote(t.Value)));

    private static string Quote(string value) =>
        value.Length > 0 && value.All(ch => char.IsAsciiLetterOrDigit(ch) || "-_.:/=,@[]%+".Contains(ch)) ? value : "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>The probe page for a single run (every report of it: one per address with --all-addresses).</summary>
    public static Task<bool> WriteProbeAsync(ProbeRun run, string path, string commandLine, TextWriter errors) =>
        WriteAsync(path, () => ProbeHtml.Write(run.Reports, HtmlProvenance.Now(commandLine)), errors);

    public static bool WriteAnalysis(Reports.AnalysisReport report, string path, string commandLine, int details, TextWriter errors) =>
        Write(path, () => AnalysisHtml.Write(report, HtmlProvenance.Now(commandLine), Math.Max(details, AnalysisHtml.DefaultDetails)), errors);

    public static Task<bool> WriteBenchAsync(BenchReport report, string path, string commandLine, TextWriter errors)
    {
        var notes = new List<string> { $"Address {report.Address ?? "?"}; {report.RunsDone} measured run(s) after {report.Warmup} warm-up run(s); TLS {report.TlsVersion ?? "not reached"}." };
        if (report.StoppedEarly is { } stopped)
        {
            notes.Add($"Stopped early: {stopped}.");
        }

        var scenario = new BenchScenario(report.Target, report.Runs.Select(r => r.Phases).ToList(), notes);
        return WriteAsync(path, () => BenchHtml.Write([scenario], HtmlProvenance.Now(commandLine)), errors);
    }

    // The page is a few MB at most and written once at the end of a command: a synchronous write is enough.
    private static Task<bool> WriteAsync(string path, Func<string> page, TextWriter errors) => Task.FromResult(Write(path, page, errors));

    private static bool Write(string path, Func<string> page, TextWriter errors)
    {
        try
        {
            File.WriteAllText(path, page(), new UTF8Encoding(false));
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            errors.WriteLine($"rdpprobe: cannot write the HTML report {path}: {e.Message}");
            return false;
        }
    }
}
