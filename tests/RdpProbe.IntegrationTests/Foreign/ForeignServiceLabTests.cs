using System.Diagnostics;
using System.Globalization;
using System.Net;
using RdpProbe.Analysis;
using RdpProbe.Diagnosis;
using RdpProbe.IntegrationTests.Lab;
using RdpProbe.Probe;
using RdpProbe.Protocol;
using RdpProbe.Reports;
using Xunit.Abstractions;

namespace RdpProbe.IntegrationTests.Foreign;

/// <summary>
/// Issue 11: foreign services on the RDP port, with the lab's real ones (scripts/lab.sh base+11 python3 -m http.server,
/// base+12 openssl s_server, base+13 sshd). Live, the probe must name the service (a timeout at x224 for http.server,
/// which waits for a line end; a close for s_server; sshd's banner on the probe's own connection). Offline, the real
/// client (xfreerdp 2.11) connects while tcpdump records loopback, and the analyzer's verdict on that capture must name
/// HTTP and SSH from the server's bytes and, for the TLS server that closes without a byte, say that the capture cannot
/// decide. xfreerdp itself must fail to connect, as the verdicts say.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class ForeignServiceLabTests(LabFixture lab, ITestOutputHelper output)
{
    private static readonly ProbeOptions Options = new()
    {
        PhaseTimeout = TimeSpan.FromSeconds(3),
        SecurityMatrix = false,
        TlsVersions = false,
    };

    private async Task<ProbeReport> ProbeAsync(IPEndPoint endpoint)
    {
        var reports = await new ProbeEngine(Options).RunAsync(ProbeTarget.Parse($"{endpoint.Address}:{endpoint.Port}"), CancellationToken.None);
        var report = Assert.Single(reports);
        output.WriteLine($"probe {endpoint}: {report.Verdict.Phase.ToReportName()} {report.Verdict.Ending.ToReportName()} {report.Verdict.Code} — {report.Verdict.Summary}");
        foreach (var step in report.Phases.Single(p => p.Phase == Phase.X224).Service?.Steps ?? [])
        {
            output.WriteLine($"  step: {step}");
        }

        return report;
    }

    [Fact]
    public async Task Python_http_server_is_named_live_and_offline()
    {
        var endpoint = lab.Endpoints.ForeignHttp;
        var report = await ProbeAsync(endpoint);
        var x224 = report.Phases.Single(p => p.Phase == Phase.X224);
        Assert.Equal(Ending.Timeout, x224.Ending);
        Assert.Equal((Phase.X224, Codes.ForeignHttp), (report.Verdict.Phase, report.Verdict.Code));
        Assert.Equal(ServiceKind.Http, x224.Service!.Service!.Kind);
        Assert.StartsWith("SimpleHTTP/", x224.Service.Service.Product);
        Assert.StartsWith($"Port {endpoint.Port} answers HTTP (SimpleHTTP/", report.Verdict.Summary);
        Assert.DoesNotContain(report.Verdict.Causes, c => c.Contains("TermService", StringComparison.Ordinal));

        var (connections, log) = await CaptureXfreerdpAsync(endpoint);
        Assert.Contains("ERRCONNECT_", log);
        var c = Assert.Single(connections);
        Assert.Equal(("x224", "foreign_http"), (c.Verdict.Phase, c.Verdict.Code));
        Assert.StartsWith($"Port {endpoint.Port} answers HTTP (python http.server", c.Verdict.Summary);
    }

    [Fact]
    public async Task Openssl_s_server_is_named_live_and_left_open_offline()
    {
        var endpoint = lab.Endpoints.ForeignTls;
        var report = await ProbeAsync(endpoint);
        var x224 = report.Phases.Single(p => p.Phase == Phase.X224);
        Assert.Equal(Ending.Closed, x224.Ending);
        Assert.Equal((Phase.X224, Codes.ForeignTls), (report.Verdict.Phase, report.Verdict.Code));
        Assert.Equal(ServiceKind.Tls, x224.Service!.Service!.Kind);
        Assert.Contains("ServerHello", x224.Service.Service.Evidence);
        Assert.Contains("TLS ClientHello", x224.Service.Source);
        Assert.StartsWith($"Port {endpoint.Port} answers TLS (tls1.", report.Verdict.Summary);

        var (connections, log) = await CaptureXfreerdpAsync(endpoint);
        Assert.Contains("ERRCONNECT_", log);
        Assert.NotEmpty(connections);
        Assert.All(connections, c =>
        {
            Assert.Equal(("x224", "closed", "server"), (c.Verdict.Phase, c.Verdict.Ending, c.EndedBy));
            Assert.Contains("the capture cannot tell which service holds the port", c.Verdict.Summary);
            Assert.Contains("TLS server", c.Verdict.Causes[0]);
        });
    }

    [Fact]
    public async Task Sshd_is_named_live_and_offline()
    {
        var endpoint = lab.Endpoints.ForeignSsh;
        var report = await ProbeAsync(endpoint);
        var x224 = report.Phases.Single(p => p.Phase == Phase.X224);
        Assert.Equal(Ending.NotRdp, x224.Ending);
        Assert.Equal(ServiceKind.Ssh, x224.Service!.Service!.Kind);
        Assert.StartsWith("OpenSSH_", x224.Service.Service.Product);
        Assert.StartsWith($"Port {endpoint.Port} answers SSH (OpenSSH_", report.Verdict.Summary);

        var (connections, log) = await CaptureXfreerdpAsync(endpoint);
        Assert.Contains("ERRCONNECT_", log);
        Assert.NotEmpty(connections);
        Assert.All(connections, c =>
        {
            Assert.Equal(("x224", "foreign_ssh"), (c.Verdict.Phase, c.Verdict.Code));
            Assert.StartsWith($"Port {endpoint.Port} answers SSH (OpenSSH_", c.Verdict.Summary);
        });
    }

    [Fact]
    public async Task Nmap_service_detection_agrees_on_the_protocol()
    {
        // nmap -sV is an independent identification of the same ports (its own probes and match database).
        foreach (var (endpoint, nmapName, kind) in new[]
        {
            (lab.Endpoints.ForeignHttp, "http", ServiceKind.Http),
            (lab.Endpoints.ForeignSsh, "ssh", ServiceKind.Ssh),
        })
        {
            string nmap = await XfreerdpCapture.RunAsync("nmap", ["-sV", "-Pn", "-n", "--version-light", "-p", endpoint.Port.ToString(CultureInfo.InvariantCulture), "127.0.0.1"], TimeSpan.FromSeconds(120), display: null);
            output.WriteLine(nmap);
            Assert.Matches($@"{endpoint.Port}/tcp\s+open\s+{nmapName}\b", nmap);
            var report = await ProbeAsync(endpoint);
            Assert.Equal(kind, report.Phases.Single(p => p.Phase == Phase.X224).Service!.Service!.Kind);
        }
    }

    /// <summary>xfreerdp against the endpoint with tcpdump on lo filtering its port; the analyzer's connections and xfreerdp's log.</summary>
    private Task<(IReadOnlyList<ConnectionReport> Connections, string Log)> CaptureXfreerdpAsync(IPEndPoint endpoint)
        => XfreerdpCapture.RunAsync(lab, output, endpoint, $"/u:{LabFixture.User}", "/p:x");
}
