using System.Net;
using System.Text.RegularExpressions;
using RdpProbe.Diagnosis;
using RdpProbe.Probe;
using RdpProbe.Protocol;
using RdpProbe.Reports;
using RdpProbe.Reports.Html;
using RdpProbe.Tests.Analysis;

namespace RdpProbe.Tests.HtmlReports;

public sealed partial class HtmlReportTests
{
    private const string Hostile = "CN=\"><script>alert('x')</script><img src=x onerror=alert(1)>&amp;";

    private static readonly HtmlProvenance Provenance = new("rdpprobe srv:3389 --html out.html", new ToolInfo("rdpprobe", "9.9.9-test"), DateTimeOffset.Parse("2026-01-02T03:04:05Z", System.Globalization.CultureInfo.InvariantCulture));

    [GeneratedRegex("<g class=\"arrow ")]
    private static partial Regex ArrowRegex();

    [GeneratedRegex("<section class=\"conn ")]
    private static partial Regex ConnectionSectionRegex();

    private static int Arrows(string html) => ArrowRegex().Count(html);

    private static ProbeReport FailedAtTls()
    {
        var report = new ProbeReport(ProbeTarget.Parse("srv:3389")) { Address = IPAddress.Parse("192.0.2.10"), ResolvedAddresses = [IPAddress.Parse("192.0.2.10")] };
        report.Phases.Add(new PhaseRecord(Phase.Dns) { Ms = 1.5, Detail = "srv → 192.0.2.10" });
        report.Phases.Add(new PhaseRecord(Phase.Tcp) { Ms = 0.4, Detail = "connected" });
        var x224 = new PhaseRecord(Phase.X224) { Ms = 1.1, WallMs = 2, ClientMs = 0.9, RoundTrips = 1 };
        x224.Messages.Add(new WireMessage(Direction.Sent, 0.1, 19, "X.224 Connection Request"));
        x224.Messages.Add(new WireMessage(Direction.Received, 1.1, 19, "X.224 Connection Confirm selecting ssl"));
        report.Phases.Add(x224);
        var tls = new PhaseRecord(Phase.Tls) { Ms = 3.0 };
        tls.Messages.Add(new WireMessage(Direction.Sent, 0.2, 295, "ClientHello"));
        tls.Fail(Ending.Reset, Codes.BeforeServerHello, "reset after the ClientHello");
        report.Phases.Add(tls);
        report.Negotiation.RequestedProtocols = ProbeOptions.DefaultProtocols;
        report.Negotiation.SelectedProtocol = SecurityProtocols.Ssl;
        report.Negotiation.Answer = Hostile;
        report.Tls = new TlsFacts
        {
            Version = "tls1.2",
            Certificate = new CertificateInfo(Hostile, Hostile, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddYears(60), 100, true, "RSA", 2048, "sha256RSA", "AB", [Hostile], "01"),
        };
        report.CredSsp = new CredSspFacts { Ntlm = new NtlmFacts { TargetName = Hostile, DnsComputerName = "host'\"<b>" } };
        report.Verdict = Verdict.From(report.Phases);
        report.Findings.Add(new Finding("self_signed_certificate", Severity.Medium, "The certificate is self-signed", Hostile, "Install a certificate from a trusted CA"));
        report.Compatibility = [new ClientVerdict("windows11", Compatibility.Fails, null, Phase.Tls, "reset", ["the server reset"], [], [])];
        return report;
    }

    [Fact]
    public void Probe_page_draws_one_arrow_per_recorded_message_and_names_the_failed_step()
    {
        var report = FailedAtTls();
        string html = ProbeHtml.Write([report], Provenance);

        int messages = report.Phases.Sum(p => p.Messages.Count);
        Assert.Equal(3, messages);
        Assert.Equal(messages, Arrows(html));
        Assert.Equal(messages, ProbeHtml.LadderRecords(report).Sum(r => r.Record.Messages.Count));
        Assert.Contains("✘ FAILED at the tls step (reset", html, StringComparison.Ordinal);
        Assert.Contains(WebUtility.HtmlEncode(report.Verdict.Summary), html, StringComparison.Ordinal);
        Assert.Contains("<g class=\"band failed\" data-phase=\"tls\">", html, StringComparison.Ordinal);
        Assert.Single(Regex.Matches(html, "<g class=\"band failed\""));
        // Every phase record is a named band, not only a colour.
        foreach (var name in new[] { "dns", "tcp", "x224", "tls" })
        {
            Assert.Contains($"data-phase=\"{name}\"", html, StringComparison.Ordinal);
            Assert.Contains($">{name}</text>", html, StringComparison.Ordinal);
        }

        // Findings carry the severity word, the table the compatibility words, the footer the command and the version.
        Assert.Contains("MEDIUM", html, StringComparison.Ordinal);
        Assert.Contains("windows11", html, StringComparison.Ordinal);
        Assert.Contains("rdpprobe srv:3389 --html out.html", html, StringComparison.Ordinal);
        Assert.Contains("9.9.9-test", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Probe_page_escapes_every_server_supplied_string()
    {
        string html = ProbeHtml.Write([FailedAtTls()], Provenance);

        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<img", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("host'\"<b>", html, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;", html, StringComparison.Ordinal);
        Assert.Contains("CN=&quot;&gt;", html, StringComparison.Ordinal);
        Assert.Contains("&amp;amp;", html, StringComparison.Ordinal);
        Assert.Contains("host&#39;&quot;&lt;b&gt;", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Pages_are_self_contained()
    {
        var pages = new[]
        {
            ProbeHtml.Write([FailedAtTls()], Provenance),
            AnalysisHtml.Write(Synthetic(30, 10), Provenance),
            BenchHtml.Write([Scenario("a", 5, 0)], Provenance),
        };
        foreach (var html in pages)
        {
            Assert.StartsWith("<!DOCTYPE html>", html, StringComparison.Ordinal);
            Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("<link", html, StringComparison.OrdinalIgnoreCase);
            // No element loads anything (escaped text may say "src=", an attribute may not).
            Assert.DoesNotMatch("<[a-zA-Z][^<>]*\\s(src|href)=", html);
            Assert.DoesNotContain("@import", html, StringComparison.OrdinalIgnoreCase);
            // The only URL is the SVG namespace, which is a name, not a fetch.
            Assert.DoesNotContain(Regex.Matches(html, "https?://"), m => !html.AsSpan(m.Index).StartsWith("http://www.w3.org/2000/svg"));
            Assert.Contains("@media print", html, StringComparison.Ordinal);
            Assert.Contains("default-src 'none'", html, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Probe_page_draws_every_attempt_of_a_fallback()
    {
        var report = new ProbeReport(ProbeTarget.Parse("127.0.0.1:3389")) { Address = IPAddress.Loopback };
        var first = new PhaseRecord(Phase.X224);
        first.Messages.Add(new WireMessage(Direction.Sent, 0, 19, "X.224 Connection Request ssl"));
        first.Messages.Add(new WireMessage(Direction.Received, 1, 19, "RDP_NEG_FAILURE ssl_not_allowed_by_server"));
        first.Fail(Ending.NegotiationFailure, Codes.NegotiationFailure(NegotiationFailureCode.SslNotAllowedByServer));
        var secondX224 = new PhaseRecord(Phase.X224);
        secondX224.Messages.Add(new WireMessage(Direction.Sent, 0, 19, "X.224 Connection Request rdp"));
        secondX224.Messages.Add(new WireMessage(Direction.Received, 1, 19, "X.224 Connection Confirm selecting rdp"));
        var tcp1 = new PhaseRecord(Phase.Tcp);
        var tcp2 = new PhaseRecord(Phase.Tcp);
        report.Phases.AddRange([tcp2, secondX224]);
        report.Attempts =
        [
            new ProbeAttempt(SecurityProtocols.Ssl, [tcp1, first], null, NegotiationFailureCode.SslNotAllowedByServer, Verdict.From([tcp1, first]), "ssl_not_allowed_by_server"),
            new ProbeAttempt(SecurityProtocols.Rdp, [tcp2, secondX224], SecurityProtocols.Rdp, null, Verdict.From([tcp2, secondX224]), null),
        ];
        report.Verdict = Verdict.From(report.Phases);

        string html = ProbeHtml.Write([report], Provenance);

        Assert.Equal(4, Arrows(html));
        Assert.Equal(4, ProbeHtml.LadderRecords(report).Sum(r => r.Record.Messages.Count));
        Assert.Contains("Attempt 1 of 2", html, StringComparison.Ordinal);
        Assert.Contains("Attempt 2 of 2", html, StringComparison.Ordinal);
        Assert.Contains("Attempts (the client fell back)", html, StringComparison.Ordinal);
        Assert.Contains("refused: ssl_not_allowed_by_server", html, StringComparison.Ordinal);
    }

    private static ConnectionReport Connection(int i, bool ok) => new(
        $"10.0.{i / 250}.{i % 250}:{40000 + (i % 20000)}", "10.9.9.9:3389", (i * 10) + 1, (i * 10) + 9, null, null, ["ssl"], ok ? "ssl" : null, null,
        null, null, null,
        [new PhaseReportEntry("tcp", "ok", (i * 10) + 1, (i * 10) + 3, false), new PhaseReportEntry("x224", ok ? "ok" : "failed", (i * 10) + 4, (i * 10) + 9, false)],
        "x224", ok ? "ok" : "reset", ok ? null : "server",
        ok ? [] : [new AnomalyReport("reset", [(i * 10) + 9], 1, "x224", "server", "<RST>", $"frame.number == {(i * 10) + 9}")],
        new VerdictReport(ok, "x224", ok ? "ok" : "reset", null, ok ? "fine" : "The server reset the connection", [], [], false),
        $"ip.addr==10.9.9.9 && tcp.port=={40000 + (i % 20000)}", false, 100, 100, 9);

    private static AnalysisReport Synthetic(int connections, int failedEvery) => new(
        AnalysisReport.SchemaName, ["synthetic.pcap"], connections * 10L, connections * 1000L, 12.5,
        Enumerable.Range(0, connections).Select(i => Connection(i, i % failedEvery != 0)).ToList(),
        [], [], new FragmentReport(0, 0, 0, 0), null, []);

    [Fact]
    public void Analysis_page_shows_failed_connections_first_and_a_bounded_number_in_detail()
    {
        var report = Synthetic(12_000, 7);
        int failed = report.Connections.Count(c => !c.Verdict.Ok);

        string html = AnalysisHtml.Write(report, Provenance, details: 25);

        Assert.Equal(25, ConnectionSectionRegex().Count(html));
        Assert.Equal(25, Regex.Matches(html, "<section class=\"conn failed\">").Count);
        // One timeline bar per connection, with the outcome as a class (the hatch/solid pattern goes with it).
        Assert.Equal(12_000, Regex.Matches(html, "class=\"conn-bar ").Count);
        Assert.Equal(failed, Regex.Matches(html, "class=\"conn-bar failed\"").Count);
        Assert.Contains($"{12_000 - 25} more connection(s) not drawn ({failed - 25} of them failed)", html, StringComparison.Ordinal);
        Assert.Contains($"{12_000 - AnalysisHtml.MaxListed} more connection(s) not listed", html, StringComparison.Ordinal);
        Assert.True(html.Length < 5_000_000, $"page of {html.Length} characters for 12,000 connections");
        // The anomaly detail is server-derived text: escaped.
        Assert.DoesNotContain("<RST>", html, StringComparison.Ordinal);
        Assert.Contains("&lt;RST&gt;", html, StringComparison.Ordinal);
        Assert.Equal(AnalysisHtml.Ordered(report).Take(failed), report.Connections.Where(c => !c.Verdict.Ok));
    }

    [Fact]
    public void Analysis_page_of_a_lab_capture_names_the_failure_and_the_filter()
    {
        var report = TestCaptures.Analyze(new RdpProbe.Analysis.AnalyzerOptions { Ports = [3388, 3389, 3390, 3391] }, Path.Combine(TestCaptures.Root, "captures", "lab", "reset-at-clienthello.pcap"));
        var failedConnection = Assert.Single(report.Connections, c => !c.Verdict.Ok);

        string html = AnalysisHtml.Write(report, Provenance);

        Assert.Contains("data-phase=\"" + failedConnection.Verdict.Phase, html, StringComparison.Ordinal);
        Assert.Contains("<g class=\"band failed\"", html, StringComparison.Ordinal);
        Assert.Contains(WebUtility.HtmlEncode(failedConnection.Filter), html, StringComparison.Ordinal);
        Assert.Contains(WebUtility.HtmlEncode(failedConnection.Verdict.Summary), html, StringComparison.Ordinal);
        Assert.Contains("Failures by phase", html, StringComparison.Ordinal);
    }

    private static BenchScenario Scenario(string name, int runs, int failEvery)
    {
        var list = new List<IReadOnlyList<PhaseRecord>>();
        for (int i = 0; i < runs; i++)
        {
            var tcp = new PhaseRecord(Phase.Tcp) { Ms = 1 + i };
            var x224 = new PhaseRecord(Phase.X224) { Ms = 10 + i };
            if (failEvery > 0 && i % failEvery == 0)
            {
                x224.Fail(Ending.Timeout);
            }

            list.Add([tcp, x224]);
        }

        return new BenchScenario(name, list, [$"notes for {name}"]);
    }

    [Fact]
    public void Bench_page_draws_a_box_per_phase_per_scenario_and_the_side_by_side_view()
    {
        string html = BenchHtml.Write([Scenario("direct <loopback>", 5, 0), Scenario("delay 25 ms", 4, 2)], Provenance);

        Assert.Equal(4, Regex.Matches(html, "<g class=\"box\"").Count);
        Assert.Equal(2, Regex.Matches(html, "<svg class=\"runs\"").Count);
        Assert.Single(Regex.Matches(html, "<svg class=\"side-by-side\""));
        Assert.Contains("direct &lt;loopback&gt;", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<loopback>", html, StringComparison.Ordinal);
        Assert.Contains("✘ 2 of 4 run(s) failed", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Bench_boxes_are_the_quartiles_of_the_successful_runs()
    {
        var boxes = BenchHtml.Boxes(Scenario("s", 5, 0));

        var tcp = boxes[0];
        Assert.Equal(("tcp", 5, 0), (tcp.Phase, tcp.Count, tcp.Failed));
        Assert.Equal((1.0, 2.0, 3.0, 4.0, 5.0), (tcp.Min, tcp.Q1, tcp.Median, tcp.Q3, tcp.Max));

        var failing = BenchHtml.Boxes(Scenario("s", 4, 2))[1];
        Assert.Equal(("x224", 2, 2), (failing.Phase, failing.Count, failing.Failed));
        Assert.Equal((11.0, 13.0), (failing.Min, failing.Max));
    }
}
