using RdpProbe.Analysis;
using RdpProbe.Diagnosis;
using RdpProbe.Protocol;
using RdpProbe.Reports;

namespace RdpProbe.Tests.Analysis;

/// <summary>
/// Issue 11, offline: xfreerdp 2.11 (`/u:probe /p:x /cert:ignore`) against the lab's foreign services at base 16389
/// (captures/lab/foreign-*.pcap, captures/README.md): python http.server on 16400, openssl s_server on 16401, sshd on
/// 16402. The analyzer names HTTP and SSH from the server's own bytes; the TLS server sends none before it closes, so
/// there the verdict says which possibilities remain and what tells them apart.
/// </summary>
public sealed class ForeignServiceCaptureTests
{
    private static readonly AnalyzerOptions ForeignPorts = new() { Ports = [16400, 16401, 16402] };

    private static IReadOnlyList<ConnectionReport> Lab(string name)
    {
        string path = Path.Combine(TestCaptures.Root, "captures", "lab", name);
        Assert.True(File.Exists(path), $"{path} missing");
        return TestCaptures.Analyze(ForeignPorts, path).Connections;
    }

    [Fact]
    public void Python_http_server_is_named_from_its_error_page()
    {
        var c = Assert.Single(Lab("foreign-http.pcap"));
        Assert.False(c.Verdict.Ok);
        Assert.Equal(("x224", "closed", "foreign_http"), (c.Verdict.Phase, c.Verdict.Ending, c.Verdict.Code));
        Assert.StartsWith("Port 16400 answers HTTP (python http.server, judged by its error page), not RDP", c.Verdict.Summary);
        Assert.Contains("in frame 6", c.Verdict.Summary);
        Assert.StartsWith("wrong port", c.Verdict.Causes[0]);
        Assert.DoesNotContain(c.Verdict.Causes, cause => cause.Contains("TermService", StringComparison.Ordinal));
    }

    [Fact]
    public void Sshd_is_named_from_its_identification_string()
    {
        var connections = Lab("foreign-ssh.pcap");
        Assert.Equal(2, connections.Count);
        Assert.All(connections, c =>
        {
            Assert.Equal(("x224", "reset", "foreign_ssh"), (c.Verdict.Phase, c.Verdict.Ending, c.Verdict.Code));
            Assert.StartsWith("Port 16402 answers SSH (OpenSSH_9.2p1 Debian-2+deb12u10), not RDP", c.Verdict.Summary);
        });
    }

    [Fact]
    public void A_tls_server_that_closes_without_a_byte_leaves_the_possibilities_open()
    {
        var connections = Lab("foreign-tls.pcap");
        Assert.Equal(2, connections.Count);
        Assert.All(connections, c =>
        {
            Assert.Equal(("x224", "closed", "server"), (c.Verdict.Phase, c.Verdict.Ending, c.EndedBy));
            Assert.Null(c.Verdict.Code);
            Assert.Contains("the capture cannot tell which service holds the port", c.Verdict.Summary);
            Assert.StartsWith("the capture cannot decide", c.Verdict.Causes[0]);
            Assert.Contains("TLS server", c.Verdict.Causes[0]);
            Assert.Contains("rdpprobe HOST:PORT", c.Verdict.Causes[0]);
        });
    }

    private static VerdictFacts Facts(ServiceFingerprint? server = null, ServiceFingerprint? client = null, bool serverSentBytes = true, Ending ending = Ending.Closed, string? notRdp = null, Phase phase = Phase.X224)
        => new(phase, ending, "server", true, false, null, false, false, false, null, null, null, false, false, null, false, notRdp, false, null,
            ServerService: server, ServerServiceFrame: 6, ServerPort: 3389, ClientService: client, ServerSentBytes: serverSentBytes);

    [Fact]
    public void A_tls_record_from_the_server_before_any_confirm_is_a_tls_service()
    {
        var tls = ServiceFingerprints.Identify(Convert.FromHexString("15030300020228"));
        var v = AnalysisVerdicts.Explain(Facts(server: tls));
        Assert.Equal(Codes.ForeignTls, v.Code);
        Assert.StartsWith("Port 3389 answers TLS, not RDP", v.Summary);
    }

    [Fact]
    public void A_client_speaking_http_to_the_rdp_port_is_named()
    {
        var http = ServiceFingerprints.Identify("GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8);
        var v = AnalysisVerdicts.Explain(Facts(client: http, notRdp: "unexpected byte 0x47", phase: Phase.Tcp));
        Assert.Equal(Codes.NotRdp, v.Code);
        Assert.Contains("an HTTP client connected to this port", v.Summary);
    }

    [Fact]
    public void Without_a_service_or_a_silent_close_the_verdict_is_unchanged()
    {
        var silentFacts = Facts(serverSentBytes: true);
        var (observed, _) = AnalysisVerdicts.Observe(silentFacts);
        var v = AnalysisVerdicts.Explain(silentFacts);
        Assert.Equal(observed.Summary, v.Summary);
        Assert.DoesNotContain("cannot tell", v.Summary);
    }
}
