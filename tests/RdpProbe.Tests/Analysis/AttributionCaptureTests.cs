using RdpProbe.Analysis;
using RdpProbe.Reports;

namespace RdpProbe.Tests.Analysis;

/// <summary>
/// Issue 11, offline: the failure classes of the attribution step on captures of a real client (xfreerdp 2.11) against
/// the lab's real servers and iptables faults (scripts/make-captures.sh, captures/README.md). Each test checks the
/// verdict's summary, its FIRST cause, and the evidence line that ranks it (who sent the last bytes, how it ended);
/// where a capture cannot decide, the verdict names what remains and what would tell it apart.
/// </summary>
public sealed class AttributionCaptureTests
{
    // The attrib-* captures were taken on lab base 15389, the TLS 1.0 server's on base 13389; the NLA server of the
    // older captures sits on 3389 (always analysed), the shadow TLS server on 3390.
    private static readonly AnalyzerOptions Ports = new() { Ports = [3390, 13394, 15389, 15390, 15395, 15399] };

    private static ConnectionReport One(string name)
    {
        string path = Path.Combine(TestCaptures.Root, "captures", "lab", name);
        Assert.True(File.Exists(path), $"{path} missing");
        return Assert.Single(TestCaptures.Analyze(Ports, path).Connections);
    }

    [Fact]
    public void A_middlebox_reset_after_the_ntlm_authenticate_with_the_right_password_is_not_a_wrong_password()
    {
        // faults.sh reset-after-bytes 15390 1200: the client's segment after the AUTHENTICATE (frame 17) is answered
        // with a RST carrying the server's address (frame 18); the server itself never sent an alert or a FIN.
        var v = One("attrib-reset-after-authenticate.pcap").Verdict;
        Assert.Equal(("credssp", "reset", "reset_after_authenticate"), (v.Phase, v.Ending, v.Code));
        Assert.Contains("a middlebox most likely cut the connection; nothing shows the credentials were wrong", v.Summary);
        Assert.StartsWith("a middlebox", v.Causes[0]);
        Assert.DoesNotContain(v.Causes, c => c.Contains("password", StringComparison.OrdinalIgnoreCase));
        Assert.Contains("NTLM AUTHENTICATE", v.Evidence);
        Assert.Contains("ended by a bare RST with the server's address", v.Evidence);
        Assert.Contains("a capture on the server shows whether the AUTHENTICATE arrived", Assert.Single(v.Undecided!));
    }

    [Fact]
    public void A_real_wrong_password_ends_with_an_encrypted_alert_and_a_fin_and_stays_a_rejected_logon()
    {
        var v = One("nla-bad-password.pcap").Verdict;
        Assert.Equal(("credssp", "closed"), (v.Phase, v.Ending));
        Assert.StartsWith("Authentication failed: the server answered the client's AUTHENTICATE with an encrypted TLS alert", v.Summary);
        Assert.StartsWith("wrong user name or password", v.Causes[0]);
        Assert.Contains("from the server", v.Evidence);
        Assert.Contains("ended by a FIN from the server", v.Evidence);
        Assert.Null(v.Undecided);
    }

    [Fact]
    public void A_reset_on_the_mcs_connect_initial_after_which_the_server_kept_sending_is_a_middlebox_not_a_black_hole()
    {
        // faults.sh reset-after-bytes 15389 1000: the RST (frame 12) comes before the server's own records 13 and 15.
        var v = One("attrib-reset-at-mcs.pcap").Verdict;
        Assert.Equal(("mcs", "reset"), (v.Phase, v.Ending));
        Assert.StartsWith("The connection was reset right after the MCS Connect Initial", v.Summary);
        Assert.Contains("a reset is not an MTU black hole", v.Summary);
        Assert.Contains("The server kept sending after the reset: a middlebox sent it.", v.Summary);
        Assert.StartsWith("a middlebox", Assert.Single(v.Causes));
        Assert.Contains("after which the server kept sending", v.Evidence);
        Assert.Null(v.Undecided);
    }

    [Fact]
    public void Xrdp_with_a_key_that_does_not_match_its_certificate_sends_a_cleartext_ultimatum_named_as_an_unusable_key()
    {
        var v = One("attrib-xrdp-badkey.pcap").Verdict;
        Assert.Equal(("tls", "mcs_disconnect_provider_ultimatum"), (v.Phase, v.Code));
        Assert.StartsWith("The server selected TLS in its Connection Confirm, then sent a cleartext MCS Disconnect Provider Ultimatum instead of a ServerHello", v.Summary);
        Assert.StartsWith("the server's certificate or private key is unusable", v.Causes[0]);
        Assert.Contains("MachineKeys", v.Causes[0]);
        Assert.Contains("last bytes: an MCS PDU in clear (Disconnect Provider Ultimatum) from the server", v.Evidence);
    }

    [Fact]
    public void A_tls_only_request_answered_with_standard_rdp_security_is_a_silent_downgrade_with_its_usual_reason()
    {
        // xrdp without certificate files (security_layer=negotiate) answers xfreerdp /sec:tls with PROTOCOL_RDP.
        var c = One("attrib-downgrade.pcap");
        var v = c.Verdict;
        Assert.Equal(("x224", "downgraded_to_standard_security", "client"), (v.Phase, v.Code, c.EndedBy));
        Assert.StartsWith("The client asked for ssl but the server selected Standard RDP Security (a silent downgrade)", v.Summary);
        Assert.StartsWith("the server could not load its TLS certificate or key", v.Causes[0]);
        Assert.Contains(c.Findings, f => f.Code == "security_downgrade");
        Assert.Contains("ended by a FIN from the client", v.Evidence);
    }

    [Fact]
    public void A_stopped_server_that_never_sends_its_connection_confirm_is_hung_not_a_black_hole()
    {
        // faults.sh sigstop 15389: the kernel accepted and acknowledged, xrdp never answered; xfreerdp gave up after 7.4 s.
        var v = One("attrib-sigstop.pcap").Verdict;
        Assert.Equal(("x224", "timeout", "no_connection_confirm"), (v.Phase, v.Ending, v.Code));
        Assert.Contains("an MTU black hole cannot swallow a 19-byte answer", v.Summary);
        Assert.StartsWith("the RDP listener is hung or stopped", v.Causes[0]);
        Assert.DoesNotContain(v.Causes, c => c.Contains("black hole", StringComparison.OrdinalIgnoreCase));
        Assert.Contains("the server sent nothing after the client's X.224 Connection Request", v.Evidence);
        Assert.Contains("ended in silence", v.Evidence);
    }

    [Fact]
    public void Only_part_of_the_servers_flight_arriving_at_the_client_is_the_mtu_black_hole_not_a_tls_problem()
    {
        // scripts/netns.sh: a 1200-byte hop with ICMP blocked, seen on the client's interface.
        var v = One("pmtud-blackhole-client-side.pcap").Verdict;
        Assert.Equal(("tls", "timeout"), (v.Phase, v.Ending));
        Assert.Contains("an MTU black hole", v.Summary);
        Assert.Contains("not a TLS version or cipher problem", v.Summary);
        Assert.StartsWith("path MTU black hole", v.Causes[0]);
        Assert.DoesNotContain(v.Causes, c => c.Contains("version", StringComparison.Ordinal) || c.Contains("cipher", StringComparison.Ordinal));
        Assert.Contains("bytes of the server's flight never arrived", v.Evidence);
    }

    [Fact]
    public void A_fatal_alert_the_client_sent_after_the_serverhello_is_the_client_refusing_not_the_server_aborting()
    {
        // xfreerdp 2.11 (OpenSSL 3, TLS 1.2+) against xrdp accepting only TLS 1.0: frame 10 is the client's internal_error alert.
        var v = One("xfreerdp-tls10-only-xrdp.pcap").Verdict;
        Assert.Equal("tls", v.Phase);
        Assert.StartsWith("The client ended the TLS handshake with a fatal internal_error alert after the server's ServerHello", v.Summary);
        Assert.Contains("the server did not abort", v.Summary);
        Assert.Contains("TLS version", v.Causes[0]);
        Assert.DoesNotContain(v.Causes, c => c.Contains("crypto provider", StringComparison.Ordinal));
        Assert.Contains("a fatal TLS alert internal_error from the client", v.Evidence);
    }

    [Fact]
    public void A_bare_reset_after_the_clienthello_with_nothing_after_it_names_what_remains_and_what_tells_it_apart()
    {
        // faults.sh reset-at-clienthello: a RST with the server's address and no server byte after it. From the
        // client's side a middlebox and a server that resets on no common TLS version look the same.
        var v = One("reset-at-clienthello.pcap").Verdict;
        Assert.Equal(("tls", "reset"), (v.Phase, v.Ending));
        Assert.Contains("ended by a bare RST with the server's address", v.Evidence);
        string open = Assert.Single(v.Undecided!);
        Assert.StartsWith("the server or a middlebox sent the reset", open);
        Assert.Contains("the server keeps sending after the reset", open);
        Assert.Contains("server-side capture", open);
    }
}
