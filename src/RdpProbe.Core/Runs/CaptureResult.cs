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
    /// <summary>
    /// Connections to the probed address before the one the report describes: a client fallback after RDP_NEG_FAILURE
    /// (MS-RDPBCGR 2.2.1.2.2) opens a new connection, and the report's phases are the last attempt's.
    /// </summary>
    public int EarlierAttempts { get; init; }

    /// <summary>The address the report's connection went to (a walk over a name may have tried others first); null = any.</summary>
    public string? MainAddress { get; init; }

    /// <summary>
    /// The probe's main connection: the report's final attempt, i.e. the first connection to the probed address after
    /// the earlier attempts (the extra checks open theirs afterwards).
    /// </summary>
    public ConnectionReport? Main => Analysis.Connections
        .Where(c => MainAddress is null || c.Server.StartsWith(MainAddress + ":", StringComparison.Ordinal) || c.Server.StartsWith("[" + MainAddress + "]:", StringComparison.Ordinal))
        .OrderBy(c => c.FirstFrame)
        .Skip(EarlierAttempts)
        .FirstOrDefault();

    /// <summary>The "capture" section of the probe document.</summary>
    public ProbeJsonCapture ToJson() => new(File, Interface, Packets, Dropped, Analysis);

    /// <summary>Reads back the stopped capture with the same analyzer as <c>rdpprobe analyze</c>, on the target's port.</summary>
    internal static CaptureResult Analyse(LiveCapture capture, int port)
    {
        var analysis = CaptureAnalysis.Run([capture.FilePath], new AnalyzerOptions { Ports = [port] });
        return new CaptureResult(capture.FilePath, capture.InterfaceName, capture.PacketCount, capture.DroppedPackets, analysis.Report);
    }
}
