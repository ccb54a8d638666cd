using RdpProbe.Analysis;
using RdpProbe.Diagnosis;
using RdpProbe.Protocol;
using RdpProbe.Reports;

namespace RdpProbe.Tests.Analysis;

/// <summary>The analyzer's verdicts are the shared <see cref="Verdict"/>, typed, with the symptom key each rule names.</summary>
public sealed class AnalysisVerdictsTests
{
    private static VerdictFacts Facts(Phase last, Ending ending = Ending.Closed, string? endedBy = "server") =>
        new(last, ending, endedBy, SynAnswered: true, RefusedAtSyn: false, FailureCode: null, ConfirmSeen: last >= Phase.X224,
            ServerUltimatum: false, ServerHelloSeen: last > Phase.Tls, FirstAlert: null, CredsspRound: null, ErrorSizedAnswer: null,
            ExpectsCredssp: false, Stalled: false, StallDetail: null, SessionReached: false, NotRdpReason: null,
            StartedBeforeCapture: false, McsResult: null);

    [Fact]
    public void A_reset_to_the_syn_is_the_probes_refused_symptom()
    {
        var f = Facts(Phase.Tcp, Ending.Reset) with { SynAnswered = false, RefusedAtSyn = true };
        var (observed, key) = AnalysisVerdicts.Observe(f);
        Assert.Equal(new SymptomKey(Phase.Tcp, Ending.Refused, null, Exact: true), key);
        Assert.Equal("refused", observed.Code?.Word);

        var v = AnalysisVerdicts.Explain(f);
        Assert.False(v.Ok);
        Assert.Equal(Phase.Tcp, v.Phase);
        Assert.False(v.Inferred);
        Assert.Equal(Symptoms.Explain(Phase.Tcp, Ending.Refused, null).Summary, v.Summary);
    }

    [Fact]
    public void An_unanswered_syn_is_a_tcp_timeout()
    {
        var v = AnalysisVerdicts.Explain(Facts(Phase.Tcp, Ending.Open, null) with { SynAnswered = false });
        Assert.Equal(Phase.Tcp, v.Phase);
        Assert.Equal(Ending.Timeout, v.Ending);
        Assert.Equal(Symptoms.Explain(Phase.Tcp, Ending.Timeout, null).Summary, v.Summary);
    }

    [Fact]
    public void A_negotiation_failure_keeps_its_code_and_the_tables_words()
    {
        var v = AnalysisVerdicts.Explain(Facts(Phase.X224) with { FailureCode = NegotiationFailureCode.HybridRequiredByServer });
        Assert.Equal(Phase.X224, v.Phase);
        Assert.Equal("hybrid_required_by_server", v.Code?.Word);
        var table = Symptoms.Explain(Phase.X224, Ending.NegotiationFailure, new Code("hybrid_required_by_server"));
        Assert.Equal(table.Summary, v.Summary);
        Assert.Equal(table.Remedies, v.Remedies);
    }

    [Fact]
    public void The_ultimatum_keeps_the_analyzer_code_and_looks_up_the_probe_code()
    {
        var (observed, key) = AnalysisVerdicts.Observe(Facts(Phase.X224) with { ConfirmSeen = false, ServerUltimatum = true });
        Assert.Equal("disconnect_provider_ultimatum", observed.Code?.Word);
        Assert.Equal(new SymptomKey(Phase.X224, Ending.Closed, new Code("mcs_disconnect_provider_ultimatum"), Exact: true), key);
        Assert.Contains("Disconnect Provider Ultimatum", AnalysisVerdicts.Explain(Facts(Phase.X224) with { ConfirmSeen = false, ServerUltimatum = true }).Summary);
    }

    [Fact]
    public void A_tls_alert_is_looked_up_by_its_name()
    {
        var alert = new TlsAlert(TlsAlertLevel.Fatal, TlsAlertDescription.ProtocolVersion);
        var (observed, key) = AnalysisVerdicts.Observe(Facts(Phase.Tls) with { ServerHelloSeen = false, FirstAlert = (false, alert) });
        Assert.Equal("protocol_version", observed.Code?.Word);
        Assert.Equal(new SymptomKey(Phase.Tls, Ending.TlsAlert, new Code("protocol_version"), Exact: true), key);
    }

    [Fact]
    public void An_error_sized_credssp_answer_is_an_inferred_authentication_failure()
    {
        var f = Facts(Phase.Credssp) with { ExpectsCredssp = true, CredsspRound = "error", ErrorSizedAnswer = true };
        var (_, key) = AnalysisVerdicts.Observe(f);
        Assert.Equal(new SymptomKey(Phase.Credssp, Ending.AuthFailed, null, Exact: false), key);

        var v = AnalysisVerdicts.Explain(f);
        Assert.False(v.Ok);
        Assert.True(v.Inferred);
        Assert.Equal(Phase.Credssp, v.Phase);
        Assert.Equal(Ending.Closed, v.Ending);
        Assert.Equal("credssp_error", v.Code?.Word);

        // Capture-only observation: the analyzer's words, the table's causes added and its remedies.
        Assert.StartsWith("Authentication failed: the server's answer", v.Summary, StringComparison.Ordinal);
        Assert.Equal(Symptoms.Explain(Phase.Credssp, Ending.AuthFailed, null).Remedies, v.Remedies);
        Assert.Contains("wrong user name or password", v.Causes);
    }

    [Fact]
    public void A_stall_before_the_server_hello_is_looked_up_as_a_tls_timeout()
    {
        var f = Facts(Phase.Tls, Ending.Open, null) with { ServerHelloSeen = false, Stalled = true, StallDetail = "stalled" };
        var (observed, key) = AnalysisVerdicts.Observe(f);
        Assert.Equal("stall", observed.Code?.Word);
        Assert.Equal(Ending.Open, observed.Ending);
        Assert.Equal(new SymptomKey(Phase.Tls, Ending.Timeout, Codes.BeforeServerHello, Exact: false), key);
    }

    [Fact]
    public void A_connection_still_open_at_the_end_of_the_capture_is_ok_and_open()
    {
        var v = AnalysisVerdicts.Explain(Facts(Phase.X224, Ending.Open, null));
        Assert.True(v.Ok);
        Assert.Equal(Phase.X224, v.Phase);
        Assert.Equal(Ending.Open, v.Ending);
        Assert.Equal("Negotiation succeeded; the capture ends there.", v.Summary);
        Assert.Empty(v.Remedies);
    }

    [Fact]
    public void The_summary_names_the_tcp_ending_in_report_words()
    {
        var v = AnalysisVerdicts.Explain(Facts(Phase.Channels, Ending.Reset));
        Assert.False(v.Ok);
        Assert.True(v.Inferred);
        Assert.Equal("The server ended the connection (reset) during channels.", v.Summary);
    }

    [Fact]
    public void A_reached_session_is_ok_whatever_ended_it()
    {
        var v = AnalysisVerdicts.Explain(Facts(Phase.Capabilities, Ending.Closed, "client") with { SessionReached = true });
        Assert.True(v.Ok);
        Assert.Equal(Ending.Ok, v.Ending);
        Assert.Equal("The handshake completed and session data flowed; the client later ended the connection (closed).", v.Summary);
    }

    [Theory]
    [InlineData(Phase.EarlyAuth, Ending.Open, "early_auth", "open")]
    [InlineData(Phase.X224, Ending.NegotiationFailure, "x224", "negotiation_failure")]
    [InlineData(Phase.Tcp, Ending.Refused, "tcp", "refused")]
    [InlineData(Phase.SecurityExchange, Ending.Timeout, "security_exchange", "timeout")]
    public void The_report_carries_the_snake_case_words(Phase phase, Ending ending, string phaseWord, string endingWord)
    {
        var r = CaptureAnalysis.Verdict(new Verdict(false, phase, ending, new Code("c"), "s", ["cause"], ["remedy"]) { Inferred = true });
        Assert.Equal(phaseWord, r.Phase);
        Assert.Equal(endingWord, r.Ending);
        Assert.Equal("c", r.Code);
        Assert.True(r.Inferred);
        Assert.Equal(["remedy"], r.Remedies);
    }

    [Fact]
    public void The_probes_verdicts_are_never_inferred()
        => Assert.False(Verdict.From([new PhaseRecord(Phase.Tcp)]).Inferred);
}
