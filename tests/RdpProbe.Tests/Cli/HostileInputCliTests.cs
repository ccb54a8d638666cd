using System.CommandLine;
using System.Text;
using RdpProbe.Cli;
using RdpProbe.Runs;
using RdpProbe.Tests.Analysis;
using Spectre.Console.Testing;

namespace RdpProbe.Tests.Cli;

/// <summary>Hostile or broken inputs and outputs at the command line (issue 17): one clear line, the documented exit code.</summary>
public sealed class HostileInputCliTests : IDisposable
{
    private readonly List<string> _temp = [];

    public void Dispose()
    {
        foreach (var path in _temp)
        {
            File.Delete(path);
        }
    }

    private string Temp(byte[] content)
    {
        string path = Path.Combine(Path.GetTempPath(), $"rdpprobe-cli-{Guid.NewGuid():N}");
        File.WriteAllBytes(path, content);
        _temp.Add(path);
        return path;
    }

    private static async Task<(int Exit, string Out, string Err)> ProbeAsync(TextWriter? output, params string[] args)
    {
        output ??= new StringWriter();
        var error = new StringWriter();
        var console = new TestConsole();
        int exit = await RdpProbeApp.RunAsync(args, new CliIo(output, error, console));
        return (exit, output.ToString() ?? string.Empty, error.ToString());
    }

    private static (int Exit, string Out, string Err) Analyze(params string[] args)
    {
        var output = new TestConsole();
        var errors = new TestConsole();
        var parseErrors = new StringWriter();
        var root = new RootCommand();
        root.Subcommands.Add(AnalyzeCommand.Create(output, errors));
        int exit = CommandLineHost.RunAsync(root, ["analyze", .. args], parseErrors).GetAwaiter().GetResult();
        return (exit, output.Output, parseErrors + errors.Output);
    }

    private static void AssertOneCleanLine(string error)
    {
        Assert.StartsWith("rdpprobe: ", error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd().Split('\n'));
        Assert.DoesNotContain("Exception", error, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", error, StringComparison.Ordinal);
        Assert.DoesNotContain(error.TrimEnd(), c => char.IsControl(c) && c != '\n' && c != '\r');
    }

    [Fact]
    public async Task Key_log_that_is_a_directory_is_a_usage_error_before_connecting()
    {
        // Port 1 on loopback refuses at once: had the probe run, the exit code would be tcp's (11).
        var (exit, output, error) = await ProbeAsync(null, "127.0.0.1:1", "--tls-keylog", Path.GetTempPath());
        Assert.Equal(ExitCodes.Usage, exit);
        Assert.Empty(output);
        AssertOneCleanLine(error);
        Assert.Contains("is a directory", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Key_log_in_a_missing_directory_is_a_usage_error()
    {
        var (exit, _, error) = await ProbeAsync(null, "127.0.0.1:1", "--tls-keylog", "/nonexistent-rdpprobe-dir/keys.log");
        Assert.Equal(ExitCodes.Usage, exit);
        AssertOneCleanLine(error);
    }

    [Fact]
    public async Task Targets_from_dev_zero_end_with_line_too_long()
    {
        var (exit, _, error) = await ProbeAsync(null, "--targets", "/dev/zero");
        Assert.Equal(ExitCodes.Usage, exit);
        AssertOneCleanLine(error);
        Assert.Contains("line too long", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_line_without_end_is_refused_holding_one_line_only()
    {
        // An endless reader (like /dev/zero or a 300 MB file without a newline): ReadLine would never return.
        var before = GC.GetAllocatedBytesForCurrentThread();
        var list = Targets.Parse(new EndlessReader('a'));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        var error = Assert.Single(list.Errors);
        Assert.Contains("line too long", error.Reason, StringComparison.Ordinal);
        Assert.Empty(list.Targets);
        Assert.True(allocated < 256 * 1024, $"allocated {allocated:N0} bytes");
    }

    [Fact]
    public void Lines_up_to_the_limit_are_still_read()
    {
        var list = Targets.Parse(new StringReader("srv1\r\n# comment\n\nsrv2:3390\nsrv3"));
        Assert.Equal(["srv1:3389", "srv2:3390", "srv3:3389"], list.Targets.Select(t => t.Target.ToString()));
        Assert.Empty(list.Errors);
    }

    [Fact]
    public async Task Binary_targets_file_does_not_echo_control_bytes()
    {
        string path = Temp([.. "host"u8, 0x1B, .. "[31m"u8, 0x07, 0x00, 0x9B, .. ":3389\n"u8]);
        var (exit, _, error) = await ProbeAsync(null, "--targets", path);
        Assert.Equal(ExitCodes.Usage, exit);
        AssertOneCleanLine(error);
        Assert.Contains("\\x1b", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Full_standard_output_is_one_line_and_its_own_exit_code()
    {
        var (exit, _, error) = await ProbeAsync(new GuardedWriter(new FullWriter()), "127.0.0.1:1", "--json", "--no-matrix");
        Assert.Equal(ExitCodes.OutputFailed, exit);
        AssertOneCleanLine(error);
        Assert.Contains("cannot write the output: No space left on device", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Analyze_with_an_unknown_option_is_a_usage_error()
    {
        var (exit, output, error) = Analyze(TestCaptures.Public("ndpi", "rdp.pcap"), "--bogus");
        Assert.Equal(ExitCodes.Usage, exit);
        Assert.Empty(output);
        Assert.Contains("unknown option --bogus", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Analyze_with_a_missing_second_file_exits_3()
    {
        var (exit, _, error) = Analyze(TestCaptures.Public("ndpi", "rdp.pcap"), "/nonexistent-rdpprobe.pcap");
        Assert.Equal(ExitCodes.InputUnreadable, exit);
        AssertOneCleanLine(error);
        Assert.Contains("no such file", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Analyze_of_a_directory_says_it_is_a_directory()
    {
        var (exit, _, error) = Analyze(Path.GetTempPath());
        Assert.Equal(ExitCodes.InputUnreadable, exit);
        AssertOneCleanLine(error);
        Assert.Contains("is a directory", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Printable_escapes_control_characters_and_bounds_the_length()
    {
        Assert.Equal("a\\x1bb\\x07", CliText.Printable("a\u001Bb\u0007"));
        Assert.Equal(11, CliText.Printable(new string('x', 100), 10).Length);
    }

    private sealed class EndlessReader(char c) : TextReader
    {
        public override int Read() => c;

        public override int Peek() => c;
    }

    /// <summary>Standard output on a full disk: every write fails as /dev/full does (ENOSPC).</summary>
    private sealed class FullWriter : TextWriter
    {
        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value) => throw new IOException("No space left on device");

        public override void Write(string? value) => throw new IOException("No space left on device");

        public override void Flush() => throw new IOException("No space left on device");
    }
}
