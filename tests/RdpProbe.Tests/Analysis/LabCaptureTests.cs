using RdpProbe.Analysis;
using RdpProbe.Reports;

namespace RdpProbe.Tests.Analysis;

/// <summary>
/// The lab's fault captures (captures/lab, made from the real xrdp and FreeRDP servers with xfreerdp): each test
/// asserts what captures/README.md says the analyzer must say about that capture.
/// </summary>
public sealed class LabCaptureTests
{
    private static readonly AnalyzerOptions LabPorts = new() { Ports = [3388, 3389, 3390, 3391, 3397] };

    private static AnalysisReport Lab(string name)
    {
        string path = Path.Combine(TestCaptures.Root, "captures", "lab", name);
        Assert.True(File.Exists(path), $"{path} missing");
        return TestCaptures.Analyze(LabPorts, path);
    }

    private static ConnectionReport One(string name) => Assert.Single(Lab(name).Connections);

    [Fact]
    public void Nla_success()
    {
        var c = One("nla-success.pcap");
        Assert.Equal(("capabilities", "closed", "client"), (c.LastPhase, c.Ending, c.EndedBy));
        Assert.True(c.Verdict.Ok);
        Assert.Equal("probe", c.Cookie);
        Assert.Equal(["ssl", "hybrid"], c.RequestedProtocols);
        Assert.Equal("hybrid", c.SelectedProtocol);
        Assert.Equal(("tls1.3", "TLS_AES_256_GCM_SHA384"), (c.Tls?.Version, c.Tls?.CipherSuite));
        Assert.Equal(8, c.Tls?.ClientHelloFrame);
        Assert.Equal(10, c.Tls?.ServerHelloFrame);
        var flights = c.Credssp!.Flights;
        Assert.Equal(["negotiate", "challenge", "authenticate", "pubKeyAuth", "authInfo"], flights.Take(5).Select(f => f.Label));
        Assert.Equal([14, 15, 16, 17, 19], flights.Take(5).Select(f => f.FirstFrame));
        Assert.False(c.Credssp.ErrorSizedAnswer);
        Assert.All(c.Phases, p => Assert.Equal("ok", p.Status));
        Assert.Contains(c.Anomalies, a => a.Kind == "retransmission" && a.From == "server" && a.Frames.SequenceEqual([69]));
    }

    [Theory]
    [InlineData("nla-bad-password.pcap", 19, 21)]
    [InlineData("nla-unknown-user.pcap", 20, 17)]
    public void Nla_credentials_rejected_after_authenticate(string capture, int alertFrame, int retransmissionFrame)
    {
        var c = One(capture);
        Assert.Equal(("credssp", "closed", "server"), (c.LastPhase, c.Ending, c.EndedBy));
        Assert.False(c.Verdict.Ok);
        Assert.Equal("auth_failed", c.Verdict.Code);
        Assert.Contains("AUTHENTICATE", c.Verdict.Summary, StringComparison.Ordinal);
        Assert.True(c.Verdict.Inferred);
        Assert.Equal("alert", c.Credssp?.LastRound);
        Assert.Contains(c.Tls!.Alerts, a => a.From == "server" && a.Frame == alertFrame && a.Encrypted);
        Assert.Contains(c.Anomalies, a => a.Kind == "retransmission" && a.From == "server" && a.Frames.Contains(retransmissionFrame));
        Assert.Equal(["negotiate", "challenge", "authenticate"], c.Credssp!.Flights.Select(f => f.Label));
    }

    [Fact]
    public void Nla_server_and_tls_only_client_is_a_negotiation_failure()
    {
        var c = One("nla-server-tls-client.pcap");
        Assert.Equal(("x224", "negotiation_failure", "client"), (c.LastPhase, c.Ending, c.EndedBy));
        Assert.Equal(["ssl"], c.RequestedProtocols);
        Assert.Equal("hybrid_required_by_server", c.FailureCode);
        Assert.Equal("hybrid_required_by_server", c.Verdict.Code);
        Assert.Contains(c.Verdict.Remedies, r => r.Contains("CredSSP", StringComparison.Ordinal) || r.Contains("NLA", StringComparison.Ordinal));
        Assert.DoesNotContain(c.Anomalies, a => a.Kind is "retransmission" or "reset" or "stall");
    }

    [Fact]
    public void Tls_server_and_rdp_security_client_without_negotiation_request()
    {
        var c = One("tls-server-rdp-client.pcap");
        Assert.Equal(("x224", "negotiation_failure", "client"), (c.LastPhase, c.Ending, c.EndedBy));
        Assert.Equal(["rdp"], c.RequestedProtocols);
        Assert.Equal("ssl_required_by_server", c.FailureCode);
        Assert.Empty(c.Anomalies);
    }

    [Fact]
    public void Standard_rdp_security_success_decoded_in_clear()
    {
        var c = One("rdp-server-rdp-security.pcap");
        Assert.Equal(("capabilities", "closed", "client"), (c.LastPhase, c.Ending, c.EndedBy));
        Assert.True(c.Verdict.Ok);
        Assert.Equal("rdp", c.SelectedProtocol);
        Assert.Equal(("none", "none"), (c.StandardSecurity?.EncryptionMethod, c.StandardSecurity?.EncryptionLevel));
        Assert.False(c.StandardSecurity?.SecurityExchangeSeen);
        Assert.True(c.StandardSecurity?.ClientInfoSeen);
        Assert.Equal("status_valid_client", c.StandardSecurity?.LicensingResult);
        var phases = c.Phases.ToDictionary(p => p.Name);
        Assert.Equal(8, phases["mcs"].FirstFrame);
        Assert.Equal(38, phases["client_info"].FirstFrame);
        Assert.Equal(39, phases["licensing"].FirstFrame);
        Assert.False(phases.ContainsKey("security_exchange"));
    }

    [Fact]
    public void Nla_client_against_xrdp_without_nla()
    {
        var c = One("xrdp-nla-client.pcap");
        Assert.Equal(("x224", "closed", "client"), (c.LastPhase, c.Ending, c.EndedBy));
        Assert.Equal(["ssl", "hybrid"], c.RequestedProtocols);
        Assert.Equal("ssl", c.SelectedProtocol);
        Assert.Equal("nla_not_offered", c.Verdict.Code);
        var alert = Assert.Single(c.Tls!.Alerts);
        Assert.Equal((9, "server", "fatal", "decode_error"), (alert.Frame, alert.From, alert.Level, alert.Description));
    }

    [Fact]
    public void Xrdp_tls_login_reaches_the_session()
    {
        var c = One("xrdp-tls-login.pcap");
        Assert.Equal(("capabilities", "closed", "client"), (c.LastPhase, c.Ending, c.EndedBy));
        Assert.True(c.Verdict.Ok);
        Assert.Equal("root", c.Cookie);
        Assert.Equal("ssl", c.SelectedProtocol);
        Assert.Null(c.Credssp);
        var retrans = c.Anomalies.Where(a => a.Kind == "retransmission").SelectMany(a => a.Frames).ToList();
        Assert.Equal([16, 56], retrans);
    }

    [Fact]
    public void Reset_at_client_hello()
    {
        var c = One("reset-at-clienthello.pcap");
        Assert.Equal(("tls", "reset", "server"), (c.LastPhase, c.Ending, c.EndedBy));
        Assert.Equal(8, c.Tls?.ClientHelloFrame);
        Assert.Null(c.Tls?.ServerHelloFrame);
        Assert.Contains(c.Anomalies, a => a.Kind == "reset" && a.Frames.SequenceEqual([9]));
        Assert.False(c.Verdict.Ok);
        Assert.Equal("tls", c.Verdict.Phase);
    }

    [Fact]
    public void Mtu_black_hole_is_a_stall_the_client_gave_up_on()
    {
        var c = One("mtu-blackhole.pcap");
        Assert.Equal(("tls", "timeout", "client"), (c.LastPhase, c.Ending, c.EndedBy));
        Assert.Equal("stall", c.Verdict.Code);
        Assert.Contains("black-hole", c.Verdict.Summary, StringComparison.Ordinal);
        var stall = Assert.Single(c.Anomalies, a => a.Kind == "stall");
        Assert.Equal("client", stall.From);
        Assert.Equal(8, stall.Frames[0]);
        var fin = Assert.Single(c.Anomalies, a => a.Kind == "retransmission");
        Assert.Equal([13, 14, 15], fin.Frames);
    }

    [Fact]
    public void Closed_port_is_refused()
    {
        var c = One("closed-port.pcap");
        Assert.Equal(("tcp", "refused", "server"), (c.LastPhase, c.Ending, c.EndedBy));
        Assert.Equal("refused", c.Verdict.Code);
        Assert.Contains(c.Anomalies, a => a.Kind == "reset" && a.Frames.SequenceEqual([2]));
    }

    [Fact]
    public void Rdp_udp_syn_dropped()
    {
        var report = Lab("rdpeudp-syn-dropped.pcap");
        Assert.Empty(report.Connections);
        var u = Assert.Single(report.Udp);
        Assert.False(u.SynAck);
        Assert.Null(u.Icmp);
        Assert.Equal([1, 2, 3], u.SynFrames);
        Assert.Equal("v2", u.UdpVersion);
        var noReply = Assert.Single(u.Anomalies);
        Assert.Equal("udp_no_reply", noReply.Kind);
        Assert.Equal([1, 2, 3], noReply.Frames);
    }

    [Fact]
    public void Rdp_udp_syn_port_unreachable()
    {
        var report = Lab("rdpeudp-syn-port-unreachable.pcap");
        var u = Assert.Single(report.Udp);
        Assert.False(u.SynAck);
        Assert.Equal([1, 3, 5], u.SynFrames);
        Assert.Equal("port_unreachable", u.Icmp?.Kind);
        Assert.Empty(u.Anomalies);
        Assert.Equal([2, 4, 6], report.Icmp.Select(i => i.Frame));
        Assert.All(report.Icmp, i => Assert.Equal("port_unreachable", i.Kind));
    }
}
