using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using RdpProbe.Cli;
using RdpProbe.Diagnosis;
using Spectre.Console.Testing;

namespace RdpProbe.Tests.Cli;

/// <summary>The conventions a command-line user expects: several targets, stdin, -o, -q, -V, typo suggestions, help.</summary>
public sealed class CliConventionsTests
{
    private static async Task<(int Exit, string Out, string Err)> RunAsync(TextReader? input, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var console = new TestConsole();
        console.Profile.Width = 250;
        int exit = await RdpProbeApp.RunAsync(args, new CliIo(output, error, console, input));
        return (exit, output.ToString() + console.Output, error.ToString());
    }

    /// <summary>A loopback port nothing listens on: the probe ends at tcp with "refused" at once.</summary>
    private static string ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return $"127.0.0.1:{port}";
    }

    [Theory]
    [InlineData("version", "rdpprobe --version")]
    [InlineData("analyse", "rdpprobe analyze")]
    [InlineData("anlyze", "rdpprobe analyze")]
    [InlineData("bnch", "rdpprobe bench")]
    [InlineData("hlp", "rdpprobe --help")]
    public async Task A_mistyped_command_is_a_usage_error_with_the_closest_command(string word, string suggestion)
    {
        var (exit, output, error) = await RunAsync(null, word);
        Assert.Equal(ExitCodes.Usage, exit);
        Assert.Empty(output);
        Assert.Contains($"did you mean '{suggestion}'?", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData("bench.example.com")]
    [InlineData("version:3389")]
    [InlineData("10.0.0.1")]
    [InlineData("server01")]
    [InlineData("--json")]
    public void Host_names_and_options_are_not_taken_for_commands(string word)
        => Assert.Null(CommandSuggestion.For(RdpProbeApp.BuildRoot(new CliIo(TextWriter.Null, TextWriter.Null, new TestConsole())), [word]));

    [Theory]
    [InlineData("analyze", "analyse", 1)]
    [InlineData("version", "version", 0)]
    [InlineData("bench", "", 5)]
    [InlineData("kitten", "sitting", 3)]
    public void Edit_distance(string a, string b, int distance)
        => Assert.Equal(distance, CommandSuggestion.Distance(a, b));

    [Theory]
    [InlineData("-V")]
    [InlineData("--version")]
    public async Task Version_with_either_spelling(string option)
    {
        var (exit, output, _) = await RunAsync(null, option);
        Assert.Equal(ExitCodes.Ok, exit);
        Assert.Matches(@"^\d+\.\d+\.\d+", output.Trim());
    }

    [Theory]
    [InlineData("analyze", " analyze <files>...")]
    [InlineData("bench", " bench <target>")]
    public async Task Subcommand_help_does_not_show_the_root_targets(string command, string usage)
    {
        var (exit, output, _) = await RunAsync(null, command, "--help");
        Assert.Equal(ExitCodes.Ok, exit);
        Assert.Contains(usage, output, StringComparison.Ordinal);
        Assert.DoesNotContain("[<target>...]", output, StringComparison.Ordinal);
        Assert.DoesNotContain("several are probed", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Root_help_still_shows_the_targets()
    {
        var (_, output, _) = await RunAsync(null, "--help");
        Assert.Contains("[<target>...]", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Several_targets_give_json_lines_in_the_order_given()
    {
        string first = ClosedPort(), second = ClosedPort();
        var (exit, output, error) = await RunAsync(null, second, first, "--json");
        Assert.True(exit == ExitCodes.Tcp, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Equal([second, first], lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("target").GetProperty("input").GetString()));
    }

    [Fact]
    public async Task Quiet_prints_one_verdict_line_per_target()
    {
        string first = ClosedPort(), second = ClosedPort();
        var (exit, output, _) = await RunAsync(null, "-q", first, second);
        Assert.Equal(ExitCodes.Tcp, exit);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith($"{first} refused tcp: ", lines[0], StringComparison.Ordinal);
        Assert.StartsWith($"{second} refused tcp: ", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public void Quiet_line_of_a_healthy_server()
    {
        var verdict = new Verdict(true, Phase.Capabilities, Ending.Ok, null, "Every phase\nsucceeded.", [], []);
        Assert.Equal("srv:3389 ok capabilities: Every phase succeeded.", TargetListView.QuietLine("srv:3389", verdict));
    }

    [Fact]
    public async Task The_default_view_is_brief_and_verbose_shows_every_detail()
    {
        string target = ClosedPort();
        var (exit, brief, _) = await RunAsync(null, target, "--no-matrix");
        var (_, full, _) = await RunAsync(null, target, "--no-matrix", "-v");
        Assert.Equal(ExitCodes.Tcp, exit);
        foreach (var text in new[] { brief, full })
        {
            Assert.Contains("FAILED at tcp", text, StringComparison.Ordinal);
            Assert.Contains("nothing is listening", text, StringComparison.Ordinal);
        }

        Assert.Contains("full certificate: -v", brief, StringComparison.Ordinal);
        Assert.DoesNotContain("full certificate: -v", full, StringComparison.Ordinal);
        Assert.True(brief.Split('\n').Length < full.Split('\n').Length + 2, "the brief view is never longer than the full one");
    }

    [Fact]
    public async Task Json_and_quiet_are_exclusive()
    {
        var (exit, _, error) = await RunAsync(null, "-q", "--json", ClosedPort());
        Assert.Equal(ExitCodes.Usage, exit);
        Assert.Contains("exclusive", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Targets_dash_reads_standard_input()
    {
        string first = ClosedPort();
        var (exit, output, error) = await RunAsync(new StringReader($"# from a pipe\n{first}\n"), "--targets", "-", "--json");
        Assert.True(exit == ExitCodes.Tcp, error);
        var line = Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(first, JsonDocument.Parse(line).RootElement.GetProperty("target").GetProperty("input").GetString());
    }

    [Fact]
    public async Task Output_writes_the_report_to_the_file()
    {
        string file = Path.Combine(Path.GetTempPath(), $"rdpprobe-out-{Guid.NewGuid():N}.json");
        try
        {
            string target = ClosedPort();
            var (exit, output, _) = await RunAsync(null, target, "--json", "-o", file);
            Assert.Equal(ExitCodes.Tcp, exit);
            Assert.Empty(output);
            var document = JsonDocument.Parse(await File.ReadAllTextAsync(file)).RootElement;
            Assert.Equal("tcp", document.GetProperty("verdict").GetProperty("phase").GetString());
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Output_to_a_file_that_cannot_be_created_is_said()
    {
        var (exit, _, error) = await RunAsync(null, ClosedPort(), "-o", "/nonexistent-dir/x.json");
        Assert.Equal(ExitCodes.InputUnreadable, exit);
        Assert.Contains("cannot write /nonexistent-dir/x.json", error, StringComparison.Ordinal);
    }
}
