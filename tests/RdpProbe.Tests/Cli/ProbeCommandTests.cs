using System.Text.Json;
using RdpProbe.Cli;
using RdpProbe.Protocol;
using RdpProbe.Tests.Probe;
using Spectre.Console.Testing;

namespace RdpProbe.Tests.Cli;

public sealed class ProbeCommandTests
{
    private static async Task<(int Exit, string Out, string Err, TestConsole Console)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var console = new TestConsole();
        console.Profile.Width = 250;
        int exit = await RdpProbeApp.RunAsync(args, new CliIo(output, error, console));
        return (exit, output.ToString(), error.ToString(), console);
    }

    [Theory]
    [InlineData("srv:99999")]
    [InlineData("srv:")]
    [InlineData("[::1")]
    [InlineData("a b")]
    [InlineData("1.2.3")]
    public async Task Malformed_target_is_a_one_line_usage_error(string target)
    {
        var (exit, output, error, _) = await RunAsync(target);
        Assert.Equal(ExitCodes.Usage, exit);
        Assert.Empty(output);
        Assert.StartsWith("rdpprobe: ", error);
        Assert.Single(error.TrimEnd().Split('\n'));
    }

    [Theory]
    [InlineData("--timeout", "soon")]
    [InlineData("--timeout", "0")]
    [InlineData("--timeout", "99m")]
    [InlineData("--protocols", "ssl,bogus")]
    [InlineData("--protocols", ",")]
    [InlineData("--cookie", "a\u0001b")]
    public async Task Bad_option_values_are_usage_errors(string option, string value)
    {
        var (exit, _, error, _) = await RunAsync("127.0.0.1:1", option, value);
        Assert.Equal(ExitCodes.Usage, exit);
        Assert.StartsWith("rdpprobe: ", error);
    }

    [Fact]
    public async Task Cookie_and_routing_token_together_are_a_usage_error()
    {
        var (exit, _, error, _) = await RunAsync("127.0.0.1:1", "--cookie", "a", "--routing-token", "Cookie: msts=1.2.0000");
        Assert.Equal(ExitCodes.Usage, exit);
        Assert.Contains("exclusive", error);
    }

    [Fact]
    public async Task Unknown_option_is_a_usage_error()
    {
        var (exit, _, error, _) = await RunAsync("127.0.0.1:1", "--frobnicate");
        Assert.Equal(ExitCodes.Usage, exit);
        Assert.Contains("--frobnicate", error);
    }

    [Fact]
    public async Task Missing_target_is_a_usage_error()
    {
        var (exit, _, error, _) = await RunAsync();
        Assert.Equal(ExitCodes.Usage, exit);
        Assert.Contains("missing target", error);
    }

    [Fact]
    public void Password_comes_from_the_environment_and_never_from_a_missing_terminal()
    {
        var prompt = new StringWriter();
        Assert.Equal("Passw0rd!", PasswordSource.Get("LAB\\probe", prompt, "Passw0rd!", terminal: false, out _));
        Assert.Empty(prompt.ToString());

        Assert.Null(PasswordSource.Get("LAB\\probe", prompt, null, terminal: false, out string? error));
        Assert.Contains(PasswordSource.EnvironmentVariable, error);
        Assert.Empty(prompt.ToString());
    }

    [Theory]
    [InlineData("5s", 5000)]
    [InlineData("1500ms", 1500)]
    [InlineData("2.5", 2500)]
    [InlineData("1m", 60000)]
    public void Timeouts_parse(string text, double ms)
    {
        Assert.True(Durations.TryParse(text, "--timeout", TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(10), out var timeout, out _));
        Assert.Equal(ms, timeout.TotalMilliseconds);
    }

    [Fact]
    public void Protocols_parse_into_a_mask()
    {
        Assert.True(OptionParsers.TryParseProtocols("ssl, hybrid_ex,rdp", out var mask, out _));
        Assert.Equal(SecurityProtocols.Ssl | SecurityProtocols.HybridEx, mask);
    }

    [Fact]
    public async Task Json_output_and_exit_code_follow_the_verdict()
    {
        await using var server = new FakeRdpServer(async (socket, ct) =>
        {
            await FakeRdpServer.ReadConnectionRequestAsync(socket, ct);
            await socket.SendAsync(FakeRdpServer.Failure(NegotiationFailureCode.HybridRequiredByServer), ct);
        });
        var (exit, output, _, _) = await RunAsync(server.Target, "--json", "--no-matrix", "--timeout", "2s");
        Assert.Equal(ExitCodes.X224, exit);
        var root = JsonDocument.Parse(output).RootElement;
        Assert.Equal("hybrid_required_by_server", root.GetProperty("negotiation").GetProperty("failureCode").GetString());
        Assert.Equal("x224", root.GetProperty("verdict").GetProperty("phase").GetString());
    }

    [Fact]
    public async Task Human_view_shows_phases_and_verdict_without_ansi_codes()
    {
        await using var server = new FakeRdpServer(async (socket, ct) =>
        {
            await FakeRdpServer.ReadConnectionRequestAsync(socket, ct);
            await socket.SendAsync(ByteSniffer.XrdpDisconnectProviderUltimatum.ToArray(), ct);
        });
        var (exit, output, _, console) = await RunAsync(server.Target, "--no-matrix", "--protocols", "rdsaad", "--timeout", "2s");
        Assert.Equal(ExitCodes.X224, exit);
        Assert.Empty(output);
        string text = console.Output;
        Assert.Contains("x224", text);
        Assert.Contains("closed (mcs_disconnect_provider_ultimatum)", text);
        Assert.Contains("Disconnect Provider Ultimatum", text);
        Assert.Contains("FAILED at x224", text);
        Assert.DoesNotContain("\u001b[", text);
    }
}
