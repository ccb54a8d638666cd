using System.CommandLine;
using RdpProbe.Cli;
using RdpProbe.Tests.Analysis;
using Spectre.Console.Testing;

namespace RdpProbe.Tests.HtmlReports;

/// <summary>The --html option of the command line: where it applies, what it writes, and a path it cannot write.</summary>
public sealed class HtmlOptionTests
{
    private static readonly string Capture = Path.Combine(TestCaptures.Root, "captures", "lab", "reset-at-clienthello.pcap");

    private static async Task<(int Exit, string Err)> AnalyzeAsync(params string[] args)
    {
        var root = new RootCommand();
        var errors = new TestConsole();
        root.Subcommands.Add(AnalyzeCommand.Create(new TestConsole(), errors));
        int exit = await CommandLineHost.RunAsync(root, ["analyze", .. args]);
        return (exit, errors.Output);
    }

    [Fact]
    public async Task Analyze_writes_the_page_with_the_command_line_that_made_it()
    {
        string page = Path.Combine(Path.GetTempPath(), $"rdpprobe-html-{Guid.NewGuid():N}.html");
        try
        {
            var (exit, err) = await AnalyzeAsync(Capture, "--port", "3390", "--html", page);

            Assert.True(exit == ExitCodes.ConnectionFailed, err);
            string html = await File.ReadAllTextAsync(page);
            Assert.Contains("Capture analysis of reset-at-clienthello.pcap", html, StringComparison.Ordinal);
            Assert.Contains($"rdpprobe analyze {Capture} --port 3390 --html {page}", html, StringComparison.Ordinal);
            Assert.Contains("<section class=\"conn failed\">", html, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(page);
        }
    }

    [Fact]
    public async Task A_page_that_cannot_be_written_is_a_usage_error()
    {
        string page = Path.Combine(Path.GetTempPath(), $"rdpprobe-no-such-dir-{Guid.NewGuid():N}", "page.html");

        var (exit, err) = await AnalyzeAsync(Capture, "--html", page);

        Assert.Equal(ExitCodes.Usage, exit);
        Assert.Contains("cannot write the HTML report", err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--repeat", "3")]
    [InlineData("--concurrency-test", "5")]
    public async Task The_probe_page_is_for_a_single_probe(string option, string value)
    {
        var output = new StringWriter();
        var error = new StringWriter();

        int exit = await RdpProbeApp.RunAsync(["127.0.0.1:1", option, value, "--html", "page.html"], new CliIo(output, error, new TestConsole()));

        Assert.Equal(ExitCodes.Usage, exit);
        Assert.Contains("--html writes the report of a single probe", error.ToString(), StringComparison.Ordinal);
        Assert.False(File.Exists("page.html"));
    }
}
