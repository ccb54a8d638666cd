using RdpProbe.Analysis;
using RdpProbe.Diagnosis;
using RdpProbe.Protocol;
using RdpProbe.Reports;

namespace RdpProbe.Tests.Analysis;

/// <summary>The analyzer's typed findings, and the report written from them.</summary>
public sealed class CaptureFindingsTests
{
    private static readonly AnalyzerOptions LabPorts = new() { Ports = [3388, 3389, 3390, 3391, 3397] };

    private static string[] Lab => Directory.GetFiles(Path.Combine(TestCaptures.Root, "captures", "lab"), "*.pcap").Order().ToArray();

    [Fact]
    public void Handing_connections_over_as_they_end_gives_the_same_report()
    {
        foreach (var file in Lab)
        {
            var kept = CaptureFiles.Analyze([file], LabPorts);
            var handed = new List<AnalyzedConnection>();
            var streamed = CaptureFiles.Analyze([file], LabPorts, onConnection: handed.Add);

            Assert.Empty(streamed.Findings.Connections);
            Assert.Equal(kept.Findings.Connections.Count, handed.Count);

            // Reports.CaptureAnalysis.Run writes each connection as it ends; ToReport writes them from the findings.
            string fromFindings = CaptureAnalysis.ToReport(kept.Findings).ToJson();
            string fromRun = CaptureAnalysis.Run([file], LabPorts).Report.ToJson();
            Assert.Equal(fromFindings, fromRun);
        }
    }

    [Fact]
    public void A_refused_connection_is_typed_in_the_findings_and_worded_in_the_report()
    {
        var run = CaptureFiles.Analyze([Path.Combine(TestCaptures.Root, "captures", "lab", "closed-port.pcap")], LabPorts);
        var c = Assert.Single(run.Findings.Connections);
        Assert.Equal(Phase.Tcp, c.LastPhase);
        Assert.Equal(Ending.Refused, c.Ending);
        Assert.Equal(Phase.Tcp, c.Verdict.Phase);
        Assert.Equal(Ending.Refused, c.Verdict.Ending);
        Assert.Equal("refused", c.Verdict.Code?.Word);

        var report = Assert.Single(CaptureAnalysis.ToReport(run.Findings).Connections);
        Assert.Equal("tcp", report.LastPhase);
        Assert.Equal("refused", report.Ending);
        Assert.Equal("refused", report.Verdict.Ending);
    }

    [Fact]
    public void Protocols_and_tls_values_are_wire_values_until_the_report_names_them()
    {
        var run = CaptureFiles.Analyze([Path.Combine(TestCaptures.Root, "captures", "lab", "nla-success.pcap")], LabPorts);
        var c = run.Findings.Connections[0];
        Assert.NotNull(c.RequestedProtocols);
        Assert.True((c.SelectedProtocol & (SecurityProtocols.Hybrid | SecurityProtocols.HybridEx)) != 0);
        Assert.NotNull(c.Tls?.Version);

        var report = CaptureAnalysis.ToReport(run.Findings).Connections[0];
        Assert.Equal(c.SelectedProtocol!.Value.ToReportName(), report.SelectedProtocol);
        Assert.Equal(TlsNames.VersionName(c.Tls!.Version!.Value), report.Tls?.Version);
    }
}
