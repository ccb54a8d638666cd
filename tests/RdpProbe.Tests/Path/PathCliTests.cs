using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using RdpProbe.Cli;
using Spectre.Console.Testing;

namespace RdpProbe.Tests.NetPath;

/// <summary>The path options of the probe verb, through the real command tree (loopback only).</summary>
public sealed class PathCliTests
{
    private static async Task<(int Exit, string Out, string Err)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = await RdpProbeApp.RunAsync(args, new CliIo(output, error, new TestConsole()));
        return (exit, output.ToString(), error.ToString());
    }

    private static int ClosedPort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    [Theory]
    [InlineData("--repeat", "0", "--repeat must be 1..10000")]
    [InlineData("--concurrency-test", "501", "--concurrency-test must be 1..500")]
    [InlineData("--capture-interface", "lo", "--capture-interface needs --capture FILE")]
    public async Task Bad_values_are_usage_errors(string option, string value, string message)
    {
        var (exit, _, err) = await RunAsync("127.0.0.1:1", option, value);
        Assert.Equal(ExitCodes.Usage, exit);
        Assert.Equal($"rdpprobe: {message}", err.Split('\n')[0].Trim());
    }

    [Fact]
    public async Task Modes_do_not_mix()
    {
        var (exit, _, err) = await RunAsync("127.0.0.1:1", "--repeat", "2", "--concurrency-test", "2");
        Assert.Equal(ExitCodes.Usage, exit);
        Assert.Contains("give one of them", err, StringComparison.Ordinal);

        string file = System.IO.Path.GetTempFileName();
        try
        {
            (exit, _, err) = await RunAsync("127.0.0.1:1", "--targets", file);
            Assert.Equal(ExitCodes.Usage, exit);
            Assert.Contains("either a target or --targets", err, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task A_bad_targets_line_is_named_with_its_number()
    {
        string file = System.IO.Path.GetTempFileName();
        await File.WriteAllTextAsync(file, "# list\n127.0.0.1:3389\nhost:99999\n");
        try
        {
            var (exit, _, err) = await RunAsync("--targets", file);
            Assert.Equal(ExitCodes.Usage, exit);
            Assert.Equal($"rdpprobe: {file}:3: '99999' is not a port number (1-65535)", err.Trim());
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Targets_with_json_give_one_compact_report_per_line()
    {
        int a = ClosedPort(), b = ClosedPort();
        string file = System.IO.Path.GetTempFileName();
        await File.WriteAllTextAsync(file, $"127.0.0.1:{a}\n127.0.0.1:{b}  # second\n");
        try
        {
            var (exit, output, _) = await RunAsync("--targets", file, "--json", "--timeout", "2s");
            Assert.Equal(ExitCodes.Tcp, exit);
            var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(2, lines.Length);
            var ports = lines.Select(l =>
            {
                using var doc = JsonDocument.Parse(l);
                Assert.Equal("rdpprobe.probe/1", doc.RootElement.GetProperty("schema").GetString());
                return doc.RootElement.GetProperty("target").GetProperty("port").GetInt32();
            }).Order().ToList();
            Assert.Equal(new[] { a, b }.Order(), ports);
            Assert.All(lines, l => Assert.DoesNotContain("  ", l, StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Concurrency_test_json_against_a_closed_port()
    {
        var (exit, output, _) = await RunAsync($"127.0.0.1:{ClosedPort()}", "--concurrency-test", "3", "--json");
        Assert.Equal(ExitCodes.PathCheck, exit);
        using var doc = JsonDocument.Parse(output);
        Assert.Equal("rdpprobe.concurrency/2", doc.RootElement.GetProperty("schema").GetString());
        Assert.Equal("rdpprobe", doc.RootElement.GetProperty("tool").GetProperty("name").GetString());
        Assert.Equal("127.0.0.1", doc.RootElement.GetProperty("address").GetString());
        Assert.Equal(3, doc.RootElement.GetProperty("refused").GetInt32());
        Assert.Equal(1, doc.RootElement.GetProperty("firstFailure").GetInt32());
    }

    [Fact]
    public async Task Repeat_json_reports_the_failing_phase_rate()
    {
        var (exit, output, _) = await RunAsync($"127.0.0.1:{ClosedPort()}", "--repeat", "3", "--json", "--timeout", "1s");
        Assert.Equal(ExitCodes.Tcp, exit);
        using var doc = JsonDocument.Parse(output);
        Assert.Equal("rdpprobe.repeat/2", doc.RootElement.GetProperty("schema").GetString());
        Assert.Equal(3, doc.RootElement.GetProperty("runsDone").GetInt32());
        var tcp = doc.RootElement.GetProperty("phases").EnumerateArray().Single(p => p.GetProperty("phase").GetString() == "tcp");
        Assert.Equal(0, tcp.GetProperty("succeeded").GetInt32());
        Assert.Equal(3, tcp.GetProperty("failures").GetProperty("refused").GetInt32());
        Assert.Equal(JsonValueKind.Null, tcp.GetProperty("wireMs").ValueKind);
        Assert.StartsWith("Consistent failure: tcp", doc.RootElement.GetProperty("verdict").GetString(), StringComparison.Ordinal);
    }
}
