using System.Net;
using RdpProbe.Cli;
using RdpProbe.Diagnosis;
using RdpProbe.Probe;
using RdpProbe.Protocol;
using Spectre.Console.Testing;

namespace RdpProbe.Tests.Cli;

/// <summary>--client, --fail-on, the exit code they lead to, and the client view.</summary>
public sealed class ClientCliTests
{
    private static async Task<(int Exit, string Out, string Err)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var console = new TestConsole();
        int exit = await RdpProbeApp.RunAsync(args, new CliIo(output, error, console));
        return (exit, output.ToString(), error.ToString());
    }

    private static Verdict Ok() => Verdict.From([new PhaseRecord(Phase.Tcp), new PhaseRecord(Phase.X224)]);

    private static Verdict FailedAtTls()
    {
        var tls = new PhaseRecord(Phase.Tls);
        tls.Fail(Ending.Reset);
        return Verdict.From([new PhaseRecord(Phase.Tcp), new PhaseRecord(Phase.X224), tls]);
    }

    private static Finding Finding(Severity severity) => new("certificate_expired", severity, "t", "e", "r") { Affects = ["macos"] };

    [Fact]
    public async Task Unknown_client_is_a_usage_error_that_lists_the_profiles()
    {
        var (exit, _, error) = await RunAsync("127.0.0.1:1", "--client", "windows95");
        Assert.Equal(ExitCodes.Usage, exit);
        Assert.StartsWith("rdpprobe: ", error);
        foreach (string name in ClientProfiles.Names)
        {
            Assert.Contains(name, error);
        }
    }

    [Fact]
    public async Task Unknown_severity_is_a_usage_error_that_lists_the_words()
    {
        var (exit, _, error) = await RunAsync("127.0.0.1:1", "--fail-on", "severe");
        Assert.Equal(ExitCodes.Usage, exit);
        Assert.Contains("critical, high, medium, low, info", error);
    }

    [Fact]
    public void The_descriptions_name_every_profile_and_severity()
    {
        string client = ClientOptions.CreateClient().Description!;
        Assert.All(ClientProfiles.Names, name => Assert.Contains(name, client));
        Assert.Contains("critical|high|medium|low|info", ClientOptions.CreateFailOn().Description);
        Assert.Contains("19", ClientOptions.CreateFailOn().Description);
    }

    [Theory]
    [InlineData("windows11")]
    [InlineData("MacOS")]
    [InlineData("permissive")]
    public void Client_parser_accepts_every_profile_name(string name)
    {
        var option = ClientOptions.CreateClient();
        var root = new System.CommandLine.RootCommand { option };
        var parse = root.Parse(["--client", name]);
        Assert.Empty(parse.Errors);
        Assert.Equal(name.ToLowerInvariant(), parse.GetValue(option)!.Name);
    }

    [Fact]
    public void Fail_on_parser_reads_each_severity()
    {
        var option = ClientOptions.CreateFailOn();
        var root = new System.CommandLine.RootCommand { option };
        foreach (var severity in Enum.GetValues<Severity>())
        {
            var parse = root.Parse(["--fail-on", severity.ToString().ToUpperInvariant()]);
            Assert.Empty(parse.Errors);
            Assert.Equal(severity, parse.GetValue(option));
        }

        Assert.Null(root.Parse([]).GetValue(option));
    }

    [Fact]
    public void Findings_do_not_change_the_exit_code_without_fail_on()
    {
        Assert.Equal(ExitCodes.Ok, ExitCodes.ForReports([(Ok(), [Finding(Severity.Critical)])], null));
    }

    [Theory]
    [InlineData(Severity.High, Severity.High, ExitCodes.Findings)]
    [InlineData(Severity.Critical, Severity.High, ExitCodes.Findings)]
    [InlineData(Severity.Medium, Severity.High, ExitCodes.Ok)]
    [InlineData(Severity.Info, Severity.Info, ExitCodes.Findings)]
    [InlineData(Severity.Info, Severity.Low, ExitCodes.Ok)]
    public void Fail_on_counts_findings_at_or_above_the_threshold(Severity finding, Severity threshold, int expected)
    {
        Assert.Equal(expected, ExitCodes.ForReports([(Ok(), [Finding(finding)])], threshold));
    }

    [Fact]
    public void A_failed_verdict_keeps_its_phase_exit_code_over_fail_on()
    {
        Assert.Equal(ExitCodes.Tls, ExitCodes.ForReports([(FailedAtTls(), [Finding(Severity.Critical)])], Severity.Info));
        Assert.Equal(ExitCodes.Tls, ExitCodes.ForReports([(Ok(), [Finding(Severity.Critical)]), (FailedAtTls(), [])], Severity.Info));
        Assert.Equal(19, ExitCodes.Findings);
    }

    private static ProbeReport FallbackReport()
    {
        var report = new ProbeReport(ProbeTarget.Parse("rdp.example:3389")) { Address = IPAddress.Parse("192.0.2.2") };
        var refused = new PhaseRecord(Phase.X224);
        refused.Fail(Ending.NegotiationFailure, Codes.NegotiationFailure(NegotiationFailureCode.SslNotAllowedByServer));
        report.Attempts =
        [
            new ProbeAttempt(ProbeOptions.DefaultProtocols, [new PhaseRecord(Phase.Tcp), refused], null, NegotiationFailureCode.SslNotAllowedByServer,
                Verdict.From([new PhaseRecord(Phase.Tcp), refused]), "ssl_not_allowed_by_server"),
            new ProbeAttempt(SecurityProtocols.Rdp, [new PhaseRecord(Phase.Tcp), new PhaseRecord(Phase.X224)], SecurityProtocols.Rdp, null, Ok(), null) { PasswordWithheld = true },
        ];
        report.AddressAttempts =
        [
            new AddressAttempt(IPAddress.Parse("192.0.2.1"), false, Phase.Tcp, Ending.Timeout, null, "no answer to SYN", 5000),
            new AddressAttempt(IPAddress.Parse("192.0.2.2"), true, Phase.X224, Ending.Ok, null, "connected", 1),
        ];
        report.ClientVerdict = new ClientVerdict("windows11", Compatibility.ConnectsInsecurely, SecurityProtocols.Rdp, null, null, ["x"], ["the server cannot be authenticated"], []);
        report.Compatibility =
        [
            report.ClientVerdict,
            new ClientVerdict("freerdp3", Compatibility.Fails, null, Phase.X224, "ssl_not_allowed_by_server", ["refused"], [], []),
        ];
        report.Findings.Add(new Finding("standard_rdp_security_accepted", Severity.High, "t", "e", "r") { Affects = ["windows11", "freerdp3"] });
        report.NextStep = NextStep.CredentialsNeeded;
        return report;
    }

    [Fact]
    public void The_client_view_shows_verdict_table_attempts_addresses_and_the_next_step_in_80_columns()
    {
        var console = new TestConsole();
        console.Profile.Width = 80;
        ClientView.Render(console, FallbackReport());
        string text = console.Output;
        Assert.Contains("Windows 11: connects insecurely", text);
        Assert.Contains("compatibility", text);
        Assert.Contains("freerdp3", text);
        Assert.Contains("ssl_not_allowed_by_server", text);
        Assert.Contains("FAILS", text);
        Assert.Contains("password withheld", text);
        Assert.Contains("fell back", text);
        Assert.Contains("192.0.2.1", text);
        Assert.Contains("timeout", text);
        Assert.Contains("affects windows11, freerdp3", text);
        Assert.Contains("RDPPROBE_PASSWORD", text);
        Assert.All(text.Split('\n'), line => Assert.True(line.TrimEnd().Length <= 80, line));
    }

    [Fact]
    public void A_single_attempt_and_an_address_target_print_no_extra_tables()
    {
        var report = new ProbeReport(ProbeTarget.Parse("192.0.2.2"))
        {
            ClientVerdict = new ClientVerdict("windows10", Compatibility.ConnectsAfterWarning, SecurityProtocols.Hybrid, null, null, [], ["certificate expired"], []),
        };
        report.Attempts = [new ProbeAttempt(ProbeOptions.DefaultProtocols, [], SecurityProtocols.Hybrid, null, Ok(), null)];
        var console = new TestConsole();
        ClientView.Render(console, report);
        Assert.Contains("Windows 10: connects after a certificate warning — certificate expired", console.Output);
        Assert.DoesNotContain("connections", console.Output);
        Assert.DoesNotContain("addresses tried", console.Output);
        Assert.DoesNotContain("RDPPROBE_PASSWORD", console.Output);
    }
}

public sealed class RemedyFlagsTests
{
    [Theory]
    [InlineData("send the user name as the load-balancer cookie (mstshash) or the load balancer's routing token in the Connection Request", "(--cookie USER / --routing-token TOKEN)")]
    [InlineData("or let the client offer PROTOCOL_RDP (less secure)", "(--protocols rdp)")]
    public void Protocol_terms_get_their_option(string remedy, string suffix)
    {
        Assert.Equal($"{remedy} {suffix}", RemedyFlags.With(remedy));
    }

    [Fact]
    public void Other_remedies_stay_as_they_are()
    {
        Assert.Equal("restart TermService", RemedyFlags.With("restart TermService"));
    }
}
