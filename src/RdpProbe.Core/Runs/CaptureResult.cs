using RdpProbe.Analysis;
using RdpProbe.Probe.NetPath;
using RdpProbe.Reports;

namespace RdpProbe.Runs;

/// <summary>
/// --capture: the pcap of the run's own packets and what the offline analyzer found in it. It belongs to the run, not
/// to a probe report: the probe never depends on the analyzer.
/// </summary>
public sealed record CaptureResult(string File, string Interface, int Packets, int Dropped, AnalysisReport Analysis)
{
    /// <summary>The probe's main connection: the first one in the capture (the extra checks open theirs afterwards).</summary>
    public ConnectionReport? Main => Analysis.Connections.OrderBy(c => c.FirstFrame).FirstOrDefault();

    /// <summary>The "capture" section of the probe document.</summary>
    public ProbeJsonCapture ToJson() => new(File, Interface, Packets, Dropped, Analysis);

    /// <summary>Reads back the stopped capture with the same analyzer as <c>rdpprobe analyze</c>, on the target's port.</summary>
    internal static CaptureResult Analyse(LiveCapture capture, int port)
    {
        var analysis = CaptureAnalysis.Run([capture.FilePath], new AnalyzerOptions { Ports = [port] });
        return new CaptureResult(capture.FilePath, capture.InterfaceName, capture.PacketCount, capture.DroppedPackets, analysis.Report);
    }
}
