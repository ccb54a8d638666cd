using RdpProbe.Diagnosis;
using RdpProbe.Exporter;
using RdpProbe.Probe;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.Exporter;

public sealed class ProbeMetricsTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>A report as the probe writes it for an NLA server: tls and credssp ok, the matrix run, a finding.</summary>
    internal static ProbeReport NlaReport(string subject = "CN=rdsh01.example.com")
    {
        var report = new ProbeReport(ProbeTarget.Parse("rdsh01.example.com:3389")) { StartedAt = Now };
        foreach (var (phase, ms) in new[] { (Phase.Dns, 2.0), (Phase.Tcp, 1.0), (Phase.X224, 3.0), (Phase.Tls, 20.0), (Phase.Credssp, 12.0), (Phase.SecurityMatrix, 300.0) })
        {
            report.Phases.Add(new PhaseRecord(phase) { Ms = ms, WallMs = ms + 0.5 });
        }

        report.Negotiation.SelectedProtocol = SecurityProtocols.Hybrid;
        report.Negotiation.NlaRequired = true;
        report.Tls = new TlsFacts
        {
            Version = "tls1.2",
            CipherSuite = "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            Versions = new Dictionary<string, bool?> { ["tls1.0"] = false, ["tls1.1"] = null, ["tls1.2"] = true, ["tls1.3"] = false },
            Certificate = new CertificateInfo(subject, "CN=Example CA", Now.AddDays(-100), Now.AddDays(10), 10, false, "rsa", 2048, "sha256RSA", "ab", [], "01"),
        };
        report.CredSsp = new CredSspFacts { ServerVersion = 6, Ntlm = new NtlmFacts { ClockSkewSeconds = 421.25 } };
        report.Findings.Add(new Finding("certificate_expires_soon", Severity.Medium, "t", "e", "r"));
        report.Findings.Add(new Finding("x", Severity.Info, "t", "e", "r"));
        report.Verdict = Verdict.From(report.Phases);
        return report;
    }

    internal static ProbeReport FailedAt(Phase failing, Ending ending, Code? code = null)
    {
        var report = new ProbeReport(ProbeTarget.Parse("127.0.0.1:3389")) { StartedAt = Now };
        foreach (var phase in new[] { Phase.Tcp, Phase.X224, Phase.Tls }.Where(p => p <= failing))
        {
            var record = new PhaseRecord(phase) { Ms = 1 };
            if (phase == failing)
            {
                record.Fail(ending, code, "failed");
            }

            report.Phases.Add(record);
        }

        report.Verdict = Verdict.From(report.Phases);
        return report;
    }

    private static Dictionary<string, double> Series(ProbeOutcome outcome) => ProbeMetrics.From(outcome)
        .SelectMany(f => f.Samples.Select(s => (Key: f.Name + (s.Labels.Count == 0 ? "" : "{" + string.Join(",", s.Labels.Select(l => $"{l.Key}=\"{l.Value}\"")) + "}"), s.Value)))
        .ToDictionary(x => x.Key, x => x.Value);

    [Fact]
    public void A_good_probe_gives_success_durations_certificate_tls_credssp_and_findings()
    {
        var series = Series(new ProbeOutcome(NlaReport(), 0.4, false, null, false));

        Assert.Equal(1, series["rdp_probe_success"]);
        Assert.Equal(0.4, series["rdp_probe_duration_seconds"]);
        Assert.Equal(0.0205, series["rdp_probe_phase_duration_seconds{phase=\"tls\"}"]);
        Assert.Equal(0, series["rdp_probe_failed_phase{phase=\"tls\"}"]);
        Assert.DoesNotContain(series.Keys, k => k.StartsWith("rdp_probe_failed_phase_info", StringComparison.Ordinal));
        Assert.Equal(1, series["rdp_probe_selected_protocol_info{protocol=\"hybrid\"}"]);
        Assert.Equal(1, series["rdp_probe_nla_required"]);
        Assert.Equal(1, series["rdp_probe_tls_version_info{version=\"tls1.2\",cipher=\"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\"}"]);
        Assert.Equal(1, series["rdp_probe_tls_version_accepted{version=\"tls1.2\"}"]);
        Assert.DoesNotContain("rdp_probe_tls_version_accepted{version=\"tls1.1\"}", series.Keys);
        Assert.Equal(Now.AddDays(10).ToUnixTimeSeconds(), series["rdp_probe_tls_cert_not_after_timestamp_seconds"]);
        Assert.Equal(10 * 86400, series["rdp_probe_tls_cert_remaining_seconds"]);
        Assert.Equal(6, series["rdp_probe_credssp_version"]);
        Assert.Equal(421.25, series["rdp_probe_ntlm_clock_skew_seconds"]);
        Assert.Equal(1, series["rdp_probe_findings{severity=\"medium\"}"]);
        Assert.Equal(0, series["rdp_probe_findings{severity=\"critical\"}"]);
        Assert.DoesNotContain(series.Keys, k => k.StartsWith("rdp_probe_udp_reachable", StringComparison.Ordinal));
    }

    [Fact]
    public void A_failed_probe_names_the_phase_the_ending_and_the_code()
    {
        var series = Series(new ProbeOutcome(FailedAt(Phase.Tls, Ending.Reset), 0.1, false, null, false));

        Assert.Equal(0, series["rdp_probe_success"]);
        Assert.Equal(1, series["rdp_probe_failed_phase{phase=\"tls\"}"]);
        Assert.Equal(0, series["rdp_probe_failed_phase{phase=\"tcp\"}"]);
        Assert.Equal(1, series["rdp_probe_failed_phase_info{phase=\"tls\",ending=\"reset\",code=\"\"}"]);
    }

    [Fact]
    public void The_udp_check_is_reported_only_when_the_module_asks()
    {
        var report = NlaReport();
        var udp = new PhaseRecord(Phase.Udp) { Ms = 5 };
        udp.Fail(Ending.Timeout, null, "no answer");
        report.Phases.Add(udp);

        Assert.Equal(0, Series(new ProbeOutcome(report, 1, false, null, true))["rdp_probe_udp_reachable"]);
        Assert.DoesNotContain("rdp_probe_udp_reachable", Series(new ProbeOutcome(report, 1, false, null, false)).Keys);
    }

    [Fact]
    public void A_probe_stopped_by_the_deadline_is_a_failure_with_the_flag_set()
    {
        var series = Series(new ProbeOutcome(null, 4.5, true, null, false));

        Assert.Equal(0, series["rdp_probe_success"]);
        Assert.Equal(1, series["rdp_probe_deadline_exceeded"]);
        Assert.Equal(4.5, series["rdp_probe_duration_seconds"]);
    }

    [Fact]
    public void Label_values_and_help_are_escaped_as_the_text_format_says()
    {
        Assert.Equal("a\\\\b\\\"c\\nd", Exposition.EscapeLabelValue("a\\b\"c\nd"));
        Assert.Equal("a\\\\b\"c\\nd", Exposition.EscapeHelp("a\\b\"c\nd"));
        Assert.Equal("+Inf", Exposition.FormatValue(double.PositiveInfinity));
        Assert.Equal("NaN", Exposition.FormatValue(double.NaN));
        Assert.Equal("0.25", Exposition.FormatValue(0.25));
        Assert.Throws<ArgumentException>(() => Exposition.Write([new MetricFamily("bad-name", MetricType.Gauge, "h").Add(1)]));
        Assert.Throws<ArgumentException>(() => Exposition.Write([new MetricFamily("ok", MetricType.Gauge, "h").Add(1, ("__reserved", "x"))]));
    }

    public static TheoryData<string> Outcomes => ["ok", "failed", "deadline", "hostile_certificate"];

    [Theory]
    [MemberData(nameof(Outcomes))]
    public async Task Promtool_accepts_the_probe_output(string kind)
    {
        var outcome = kind switch
        {
            "ok" => new ProbeOutcome(NlaReport(), 0.4, false, null, true),
            "failed" => new ProbeOutcome(FailedAt(Phase.X224, Ending.NegotiationFailure, Codes.NegotiationFailure(NegotiationFailureCode.HybridRequiredByServer)), 0.1, false, null, false),
            "deadline" => new ProbeOutcome(null, 4.5, true, null, false),
            _ => new ProbeOutcome(NlaReport("CN=\"evil\\\nname}{ x=\"1\"\n# TYPE"), 0.4, false, null, false),
        };

        var (exitCode, output) = await Promtool.CheckMetricsAsync(Exposition.Write(ProbeMetrics.From(outcome)));

        Assert.True(exitCode == 0, $"promtool check metrics failed ({exitCode}):\n{output}");
    }

    [Fact]
    public async Task Promtool_accepts_the_exporters_own_metrics()
    {
        var stats = new ExporterStats(8, 2);
        stats.ProbeStarted();
        stats.ProbeFinished("rdp_default", new ProbeOutcome(NlaReport(), 0.4, false, null, false));
        stats.Rejected("concurrency");

        var text = Exposition.Write(stats.Families());
        var (exitCode, output) = await Promtool.CheckMetricsAsync(text);

        Assert.True(exitCode == 0, $"promtool check metrics failed ({exitCode}):\n{output}");
        Assert.Contains("rdp_exporter_probes_total{module=\"rdp_default\",result=\"success\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("rdp_exporter_requests_rejected_total{reason=\"concurrency\"} 1\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void The_debug_text_shows_the_phases_the_verdict_and_the_metrics()
    {
        var text = ProbeMetrics.DebugText("127.0.0.1:3389", new ProbeModule { Name = "m" }, new ProbeOutcome(FailedAt(Phase.Tls, Ending.Reset), 0.1, false, null, false), TimeSpan.FromSeconds(9.5));

        Assert.Contains("module m", text, StringComparison.Ordinal);
        Assert.Contains("deadline 9.5s", text, StringComparison.Ordinal);
        Assert.Matches(@"tls\s+failed\s+reset", text);
        Assert.Contains("Verdict: failed at tls (reset)", text, StringComparison.Ordinal);
        Assert.Contains("rdp_probe_success 0\n", text, StringComparison.Ordinal);
    }
}
