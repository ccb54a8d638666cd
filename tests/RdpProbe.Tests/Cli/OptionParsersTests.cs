using System.CommandLine;
using RdpProbe.Cli;
using RdpProbe.Probe;
using RdpProbe.Protocol;
using Spectre.Console.Testing;

namespace RdpProbe.Tests.Cli;

/// <summary>The typed option parsers on their own (a one-option command), then through the real command tree.</summary>
public sealed class OptionParsersTests
{
    private static (T? Value, IReadOnlyList<string> Errors) Parse<T>(Option<T> option, params string[] args)
    {
        var root = new RootCommand();
        root.Options.Add(option);
        var result = root.Parse(args);
        return (result.Errors.Count == 0 ? result.GetValue(option) : default, result.Errors.Select(e => e.Message).ToList());
    }

    private static Option<TimeSpan> Timeout() => new("--timeout") { CustomParser = OptionParsers.PhaseTimeout };

    [Theory]
    [InlineData("5s", 5000)]
    [InlineData("1500ms", 1500)]
    [InlineData("2.5", 2500)]
    [InlineData("1m", 60000)]
    [InlineData("100ms", 100)]
    [InlineData("10m", 600000)]
    public void Durations_parse(string text, double ms)
    {
        var (value, errors) = Parse(Timeout(), "--timeout", text);
        Assert.Empty(errors);
        Assert.Equal(ms, value.TotalMilliseconds);
    }

    [Fact]
    public void An_absent_typed_value_is_the_commands_default()
    {
        var option = Timeout();
        var root = new RootCommand();
        root.Options.Add(option);
        Assert.Equal(TimeSpan.FromSeconds(7), root.Parse([]).ValueOr(option, TimeSpan.FromSeconds(7)));
        Assert.Equal(TimeSpan.FromSeconds(2), root.Parse(["--timeout", "2s"]).ValueOr(option, TimeSpan.FromSeconds(7)));
    }

    [Theory]
    [InlineData("soon", "--timeout soon: not a duration (examples: 1500ms, 5s, 2.5, 1m)")]
    [InlineData("-1s", "--timeout -1s: not a duration (examples: 1500ms, 5s, 2.5, 1m)")]
    [InlineData("99ms", "--timeout 99ms: must be between 100ms and 10m")]
    [InlineData("11m", "--timeout 11m: must be between 100ms and 10m")]
    public void Bad_durations_are_named(string text, string message)
        => Assert.Equal([message], Parse(Timeout(), "--timeout", text).Errors);

    [Theory]
    [InlineData("1", 1)]
    [InlineData("10000", 10000)]
    public void Counts_in_range_parse(string text, int expected)
    {
        var option = new Option<int?>("--repeat") { CustomParser = OptionParsers.OptionalCount("--repeat", 1, 10000, _ => "--repeat must be 1..10000") };
        var (value, errors) = Parse(option, "--repeat", text);
        Assert.Empty(errors);
        Assert.Equal(expected, value);
        Assert.Null(Parse(option).Value);
    }

    [Theory]
    [InlineData("0", "--repeat must be 1..10000")]
    [InlineData("10001", "--repeat must be 1..10000")]
    [InlineData("-5", "--repeat must be 1..10000")]
    [InlineData("many", "--repeat many: not a whole number")]
    [InlineData("1.5", "--repeat 1.5: not a whole number")]
    public void Counts_out_of_range_are_named(string text, string message)
    {
        var option = new Option<int?>("--repeat") { CustomParser = OptionParsers.OptionalCount("--repeat", 1, 10000, _ => "--repeat must be 1..10000") };
        Assert.Equal([message], Parse(option, "--repeat", text).Errors);
    }

    [Fact]
    public void A_count_with_a_default_keeps_it_when_absent()
    {
        var option = new Option<int>("--concurrency") { DefaultValueFactory = _ => 16, CustomParser = OptionParsers.Count("--concurrency", 16, 1, 256, _ => "--concurrency must be 1..256") };
        Assert.Equal(16, Parse(option).Value);
        Assert.Equal(256, Parse(option, "--concurrency", "256").Value);
        Assert.Equal(["--concurrency must be 1..256"], Parse(option, "--concurrency", "257").Errors);
    }

    [Theory]
    [InlineData("ssl", SecurityProtocols.Ssl)]
    [InlineData("rdp", SecurityProtocols.Rdp)]
    [InlineData("ssl, hybrid_ex,rdp", SecurityProtocols.Ssl | SecurityProtocols.HybridEx)]
    [InlineData("hybrid,rdstls,rdsaad", SecurityProtocols.Hybrid | SecurityProtocols.RdsTls | SecurityProtocols.RdsAad)]
    public void Protocol_lists_parse_into_a_mask(string text, SecurityProtocols expected)
    {
        var option = new Option<SecurityProtocols>("--protocols") { CustomParser = OptionParsers.Protocols };
        Assert.Equal(expected, Parse(option, "--protocols", text).Value);
    }

    [Theory]
    [InlineData("ssl,bogus", "--protocols: unknown protocol 'bogus' (use rdp, ssl, hybrid, hybrid_ex, rdstls, rdsaad)")]
    [InlineData(",", "--protocols: give at least one of rdp, ssl, hybrid, hybrid_ex, rdstls, rdsaad")]
    public void Bad_protocol_lists_are_named(string text, string message)
    {
        var option = new Option<SecurityProtocols>("--protocols") { CustomParser = OptionParsers.Protocols };
        Assert.Equal([message], Parse(option, "--protocols", text).Errors);
    }

    [Theory]
    [InlineData("alice", null)]
    [InlineData("a\u0001b", "cookie / routing token: printable ASCII only, no line breaks")]
    [InlineData("é", "cookie / routing token: printable ASCII only, no line breaks")]
    public void Cookies_are_printable_ascii(string value, string? message)
    {
        var option = new Option<string?>("--cookie") { CustomParser = r => OptionParsers.Token(r, "Cookie: mstshash=".Length) };
        var (parsed, errors) = Parse(option, "--cookie", value);
        Assert.Equal(message is null ? [] : [message], errors);
        Assert.Equal(message is null ? value : null, parsed);
    }

    [Fact]
    public void A_cookie_must_fit_the_connection_request()
    {
        var option = new Option<string?>("--cookie") { CustomParser = r => OptionParsers.Token(r, "Cookie: mstshash=".Length) };
        Assert.Empty(Parse(option, "--cookie", new string('a', 200 - "Cookie: mstshash=".Length)).Errors);
        Assert.Equal(["cookie / routing token too long (the Connection Request is at most 259 bytes)"], Parse(option, "--cookie", new string('a', 201 - "Cookie: mstshash=".Length)).Errors);
    }

    [Theory]
    [InlineData("LAB\\probe", true)]
    [InlineData("probe@lab.example", true)]
    [InlineData("probe", true)]
    [InlineData(" ", false)]
    [InlineData("a\tb", false)]
    public void User_names_have_no_control_characters(string value, bool ok)
    {
        var option = Credentials.CreateOption("test");
        var errors = Parse(option, "--user", value).Errors;
        Assert.Equal(ok ? [] : ["--user: expected DOMAIN\\user, user@domain or user"], errors);
    }

    [Fact]
    public void The_target_argument_uses_the_one_parser()
    {
        var target = new Argument<ProbeTarget?>("target") { Arity = ArgumentArity.ZeroOrOne, CustomParser = OptionParsers.Target };
        var root = new RootCommand();
        root.Arguments.Add(target);
        Assert.Equal(new ProbeTarget("[::1]:13389", "::1", 13389, System.Net.IPAddress.IPv6Loopback), root.Parse(["[::1]:13389"]).GetValue(target));
        Assert.Null(root.Parse([]).GetValue(target));
        Assert.Equal(["'::1:3389' is ambiguous: write [::1]:3389 for port 3389, or [::1:3389] for that address"], root.Parse(["::1:3389"]).Errors.Select(e => e.Message));
    }

    [Theory]
    [InlineData("--timeout", "99ms", "--timeout 99ms: must be between 100ms and 10m")]
    [InlineData("--concurrency", "0", "--concurrency must be 1..256")]
    [InlineData("--repeat", "x", "--repeat x: not a whole number")]
    public async Task Through_the_command_tree_a_bad_value_is_one_line_and_exit_2(string option, string value, string message)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = await RdpProbeApp.RunAsync(["127.0.0.1:1", option, value], new CliIo(output, error, new TestConsole()));
        Assert.Equal(ExitCodes.Usage, exit);
        Assert.Empty(output.ToString());
        Assert.Equal($"rdpprobe: {message}", error.ToString().TrimEnd());
    }

    [Theory]
    [InlineData(new[] { "bench", "127.0.0.1:1", "-n", "0" }, "-n 0: must be 1..1000")]
    [InlineData(new[] { "bench", "127.0.0.1:1", "--warmup", "21" }, "--warmup 21: must be 0..20")]
    [InlineData(new[] { "bench", "127.0.0.1:1", "--pause", "2m" }, "--pause 2m: must be between 0ms and 1m")]
    [InlineData(new[] { "bench", "::1:3389" }, "'::1:3389' is ambiguous: write [::1]:3389 for port 3389, or [::1:3389] for that address")]
    public async Task Bench_values_use_the_same_parsers(string[] args, string message)
    {
        var error = new StringWriter();
        int exit = await RdpProbeApp.RunAsync(args, new CliIo(new StringWriter(), error, new TestConsole()));
        Assert.Equal(ExitCodes.Usage, exit);
        Assert.Equal($"rdpprobe: {message}", error.ToString().TrimEnd());
    }
}
