using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.Diagnosis;

/// <summary>
/// Issue 11: the one attribution step and the cause ranking. Each test builds the evidence one side would see (who
/// sent the last bytes, how the connection ended) and checks that the summary and FIRST cause follow from it, that
/// causes the evidence rules out are gone, and that undecidable cases say what remains and what tells them apart.
/// </summary>
public sealed class AttributionTests
{
    private static Verdict Table(Phase phase, Ending ending, Code? code)
    {
        var x = Symptoms.Explain(phase, ending, code);
        return new Verdict(false, phase, ending, code, x.Summary, x.Causes, x.Remedies);
    }

    [Fact]
    public void A_fatal_alert_the_client_sent_after_the_serverhello_is_the_client_refusing_not_the_server_aborting()
    {
        var code = Codes.TlsAlert(TlsAlertDescription.InternalError);
        var a = new Attribution(Party.Client, LastBytes.TlsAlert, EndedHow.Alert, Party.Client)
        {
            Alert = new TlsAlert(TlsAlertLevel.Fatal, TlsAlertDescription.InternalError),
            AfterServerHello = true,
        };
        var before = Table(Phase.Tls, Ending.TlsAlert, code);
        Assert.Contains("crypto provider", string.Join(" ", before.Causes) + before.Summary, StringComparison.Ordinal);

        var v = CauseRanking.Apply(before, a);
        Assert.StartsWith("The client ended the TLS handshake", v.Summary, StringComparison.Ordinal);
        Assert.Contains("the server did not abort", v.Summary, StringComparison.Ordinal);
        Assert.Contains("TLS version", v.Causes[0], StringComparison.Ordinal);
        Assert.DoesNotContain(v.Causes, c => c.Contains("crypto provider", StringComparison.Ordinal));
        Assert.Contains("from the client", v.Evidence, StringComparison.Ordinal);
    }

    [Fact]
    public void The_same_alert_from_the_server_keeps_the_servers_causes()
    {
        var code = Codes.TlsAlert(TlsAlertDescription.InternalError);
        var a = new Attribution(Party.Server, LastBytes.TlsAlert, EndedHow.Alert, Party.Server)
        {
            Alert = new TlsAlert(TlsAlertLevel.Fatal, TlsAlertDescription.InternalError),
            AfterServerHello = true,
        };
        var v = CauseRanking.Apply(Table(Phase.Tls, Ending.TlsAlert, code), a);
        Assert.DoesNotContain("The client ended", v.Summary, StringComparison.Ordinal);
        Assert.Contains(v.Causes, c => c.Contains("private key", StringComparison.Ordinal));
    }

    [Fact]
    public void A_bare_reset_after_authenticate_is_not_a_wrong_password_and_says_what_would_decide()
    {
        var a = new Attribution(Party.Client, LastBytes.Nothing, EndedHow.Reset, Party.Server) { WhatDetail = "NTLM AUTHENTICATE" };
        Assert.True(a.BareServerReset);
        var v = CauseRanking.Apply(Table(Phase.Credssp, Ending.Reset, Codes.ResetAfterAuthenticate), a);
        Assert.Equal(Codes.ResetAfterAuthenticate, v.Code);
        Assert.Contains("middlebox", v.Causes[0], StringComparison.Ordinal);
        Assert.DoesNotContain(v.Causes, c => c.Contains("wrong", StringComparison.OrdinalIgnoreCase) && c.Contains("password", StringComparison.Ordinal));
        Assert.Contains("middlebox", v.Summary, StringComparison.Ordinal);
        Assert.True(v.Inferred);
        var open = Assert.Single(v.Undecided);
        Assert.Contains("capture on the server", open, StringComparison.Ordinal);
        Assert.Contains("bare RST", v.Evidence, StringComparison.Ordinal);
    }

    [Fact]
    public void When_the_server_kept_sending_after_the_reset_the_middlebox_is_proven()
    {
        var a = new Attribution(Party.Client, LastBytes.Nothing, EndedHow.Reset, Party.MiddleboxInferred)
        {
            WhatDetail = "NTLM AUTHENTICATE",
            ServerSentAfterReset = true,
        };
        var v = CauseRanking.Apply(Table(Phase.Credssp, Ending.Reset, Codes.ResetAfterAuthenticate), a);
        Assert.Empty(v.Undecided);
        Assert.False(v.Inferred);
        Assert.Contains("kept sending", v.Summary, StringComparison.Ordinal);
        Assert.Contains("kept sending", v.Evidence, StringComparison.Ordinal);
    }

    [Fact]
    public void An_orderly_close_after_authenticate_stays_a_rejected_logon()
    {
        var a = new Attribution(Party.Server, LastBytes.TlsEncrypted, EndedHow.Fin, Party.Server) { ServerOrderlyEnd = true };
        var v = CauseRanking.Apply(Table(Phase.Credssp, Ending.AuthFailed, null), a);
        Assert.Contains("rejected the credentials", v.Summary, StringComparison.Ordinal);
        Assert.Contains("password", v.Causes[0], StringComparison.Ordinal);
        Assert.Empty(v.Undecided);
    }

    [Fact]
    public void A_reset_on_the_mcs_connect_initial_is_never_explained_as_an_mtu_black_hole()
    {
        var a = new Attribution(Party.Client, LastBytes.Nothing, EndedHow.Reset, Party.Server) { WhatDetail = "MCS Connect Initial" };
        var before = Table(Phase.Mcs, Ending.Reset, null);
        var v = CauseRanking.Apply(before with { Causes = [.. before.Causes, "an MTU black hole on this larger PDU"] }, a);
        Assert.All(v.Causes, c => Assert.DoesNotContain("black hole", c, StringComparison.OrdinalIgnoreCase));
        Assert.Contains("not an MTU black hole", v.Summary, StringComparison.Ordinal);
        Assert.NotEmpty(v.Undecided);
    }

    [Fact]
    public void Silence_after_the_connection_request_is_a_hung_listener_not_a_black_hole()
    {
        var a = new Attribution(Party.Client, LastBytes.Nothing, EndedHow.Silence, Party.Client) { WhatDetail = "X.224 Connection Request", EndAfterMs = 11_700 };
        var stalled = new Verdict(false, Phase.X224, Ending.Timeout, Codes.Stall,
            "The server acknowledged the client's X.224 Connection Request but sent no answer: this is the MTU black-hole signature seen from the client side.",
            ["path MTU black hole: full-size segments dropped", "TermService is hung"], []);
        var v = CauseRanking.Apply(stalled, a);
        Assert.Equal(Codes.NoConnectionConfirm, v.Code);
        Assert.Contains("cannot swallow a 19-byte answer", v.Summary, StringComparison.Ordinal);
        Assert.All(v.Causes, c => Assert.DoesNotContain("black hole", c, StringComparison.OrdinalIgnoreCase));
        Assert.Contains("11.7 s", v.Evidence, StringComparison.Ordinal);
    }

    [Fact]
    public void Only_the_tail_of_the_servers_flight_arriving_is_an_mtu_black_hole_not_a_version_problem()
    {
        var a = new Attribution(Party.Server, LastBytes.Foreign, EndedHow.Silence, Party.Client) { ServerBytesMissing = 1148, ServerTailOnly = true };
        var v = CauseRanking.Apply(Table(Phase.Tls, Ending.Timeout, Codes.BeforeServerHello) with
        {
            Causes = ["no TLS version or cipher suite in common", "path MTU smaller than the server's segments"],
        }, a);
        Assert.Contains("MTU black hole", v.Summary, StringComparison.Ordinal);
        Assert.Contains("black hole", v.Causes[0], StringComparison.Ordinal);
        Assert.DoesNotContain(v.Causes, c => c.Contains("version", StringComparison.Ordinal));
        Assert.Contains("1148 bytes", v.Evidence, StringComparison.Ordinal);
        Assert.Contains("only its tail", v.Evidence, StringComparison.Ordinal);
    }

    [Fact]
    public void Silence_after_the_clienthello_without_evidence_names_what_remains_and_what_tells_it_apart()
    {
        var a = new Attribution(Party.Client, LastBytes.Nothing, EndedHow.Silence, Party.Unknown) { WhatDetail = "ClientHello" };
        var v = CauseRanking.Apply(Table(Phase.Tls, Ending.Timeout, Codes.BeforeServerHello), a);
        var open = Assert.Single(v.Undecided);
        Assert.Contains("--mtu", open, StringComparison.Ordinal);
        Assert.Contains("hung", open, StringComparison.Ordinal);
    }

    [Fact]
    public void A_cleartext_disconnect_provider_ultimatum_where_tls_was_due_is_an_unusable_certificate_or_key()
    {
        var a = new Attribution(Party.Server, LastBytes.McsPdu, EndedHow.Open, Party.Client) { WhatDetail = "Disconnect Provider Ultimatum", TlsSelected = true };
        var v = CauseRanking.Apply(Table(Phase.Tls, Ending.ProtocolViolation, Codes.McsDisconnectProviderUltimatum), a);
        Assert.Contains("certificate or private key", v.Summary, StringComparison.Ordinal);
        Assert.Contains("MachineKeys", v.Causes[0], StringComparison.Ordinal);
        Assert.DoesNotContain(v.Causes, c => c.Contains("proxy", StringComparison.Ordinal));
    }

    [Fact]
    public void Causes_are_deduplicated_keeping_the_first_of_near_duplicates()
    {
        var kept = CauseRanking.Dedupe([
            "wrong user name or password",
            "wrong user name, domain or password, or an account problem",
            "wrong user name or password",
            "an MTU black hole on this larger PDU",
            "MTU black hole on the larger Connect-Initial PDU",
            "account locked, disabled or restricted",
            "",
        ]);
        Assert.Equal(["wrong user name or password", "an MTU black hole on this larger PDU", "account locked, disabled or restricted"], kept);
    }

    [Fact]
    public void Different_causes_are_all_kept()
    {
        string[] causes = ["check the port and what listens there", "check the port and the NAT/port-forward rule", "restart TermService"];
        Assert.Equal(causes, CauseRanking.Dedupe(causes));
    }

    [Fact]
    public void Verdict_from_uses_the_phases_own_attribution_and_derives_one_otherwise()
    {
        var tcp = new PhaseRecord(Phase.Tcp);
        var credssp = new PhaseRecord(Phase.Credssp);
        credssp.Messages.Add(new WireMessage(Direction.Sent, 1, 455, "TSRequest with NTLMv2 AUTHENTICATE"));
        credssp.Fail(Ending.Reset, Codes.ResetAfterAuthenticate, "detail text that must not matter");
        var v = Verdict.From([tcp, credssp]);
        Assert.NotNull(v.Attribution);
        Assert.Equal(EndedHow.Reset, v.Attribution!.End);
        Assert.Equal(LastBytes.Nothing, v.Attribution.What);
        Assert.Contains("middlebox", v.Causes[0], StringComparison.Ordinal);

        var tls = new PhaseRecord(Phase.Tls)
        {
            Attribution = new Attribution(Party.Client, LastBytes.TlsAlert, EndedHow.Alert, Party.Client)
            {
                Alert = new TlsAlert(TlsAlertLevel.Fatal, TlsAlertDescription.ProtocolVersion),
                AfterServerHello = true,
            },
        };
        tls.Fail(Ending.TlsAlert, Codes.TlsAlert(TlsAlertDescription.ProtocolVersion));
        var w = Verdict.From([tcp, tls]);
        Assert.Same(tls.Attribution, w.Attribution);
        Assert.StartsWith("The client ended", w.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void A_live_clients_own_refusal_reads_as_the_client_stopping_not_as_silence_from_the_server()
    {
        // The probe refusing to send the password after a downgrade: Client Info phase, ClientRefused, no message.
        var tcp = new PhaseRecord(Phase.Tcp);
        var info = new PhaseRecord(Phase.ClientInfo);
        info.Fail(Ending.ClientRefused, Codes.DowngradedToStandardSecurity);
        var v = Verdict.From([tcp, info]);
        Assert.Equal((EndedHow.Open, Party.Client), (v.Attribution!.End, v.Attribution.EndedBy));
        Assert.Equal("the client stopped on its own, refusing what the server had answered; the server neither reset nor closed the connection", v.Evidence);
        Assert.StartsWith("the server could not load its TLS certificate or key", v.Causes[0], StringComparison.Ordinal);
    }

    [Fact]
    public void A_stall_after_the_clienthello_with_the_mtu_check_finding_the_black_hole_is_decided()
    {
        var tcp = new PhaseRecord(Phase.Tcp);
        var tls = new PhaseRecord(Phase.Tls);
        tls.Messages.Add(new WireMessage(Direction.Sent, 1, 295, "ClientHello"));
        tls.Fail(Ending.Timeout, Codes.BeforeServerHello);
        var alone = Verdict.From([tcp, tls]);
        Assert.StartsWith("an MTU black hole or a hung server", Assert.Single(alone.Undecided), StringComparison.Ordinal);

        // --mtu on the same path: server segments of 536 bytes arrive, 1399 bytes do not.
        var mtu = new PhaseRecord(Phase.Mtu);
        mtu.Fail(Ending.Timeout, Codes.MtuBlackHole, "Segments above ~588 bytes (IP packet size) are silently dropped on this path");
        var v = Verdict.From([tcp, tls, mtu]);
        Assert.Equal((Phase.Tls, Codes.BeforeServerHello), (v.Phase, v.Code));
        Assert.Contains("the MTU check (--mtu) found the path drops the server's large segments", v.Summary, StringComparison.Ordinal);
        Assert.StartsWith("path MTU black hole", Assert.Single(v.Causes), StringComparison.Ordinal);
        Assert.Empty(v.Undecided);
        Assert.Contains("the MTU check (--mtu) found the server's large segments dropped", v.Evidence, StringComparison.Ordinal);
    }

    [Fact]
    public void An_ok_verdict_is_not_reworded()
    {
        var ok = Verdict.From([new PhaseRecord(Phase.Tcp), new PhaseRecord(Phase.X224)]);
        var v = CauseRanking.Apply(ok, new Attribution(Party.Server, LastBytes.X224, EndedHow.Open, Party.Unknown));
        Assert.Equal(ok.Summary, v.Summary);
        Assert.Null(v.Evidence);
    }
}
