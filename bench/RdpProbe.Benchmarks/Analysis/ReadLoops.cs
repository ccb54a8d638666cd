using System.Runtime.InteropServices;
using RdpProbe.Analysis;
using RdpProbe.Reports;
using SharpPcap;
using SharpPcap.LibPcap;

namespace RdpProbe.Benchmarks.Analysis;

/// <summary>The two loops the analyzer is measured by: the bare SharpPcap read (the floor) and the whole pipeline.</summary>
public static class ReadLoops
{
    /// <summary>SharpPcap <c>GetNextPacket</c> loop touching only <c>Data.Length</c>: nothing can be faster through SharpPcap.</summary>
    public static (long Packets, long Bytes) Bare(string path)
    {
        using var device = new CaptureFileReaderDevice(path);
        device.Open();
        long packets = 0;
        long bytes = 0;
        while (device.GetNextPacket(out PacketCapture capture) == GetPacketStatus.PacketRead)
        {
            packets++;
            bytes += capture.Data.Length;
        }

        return (packets, bytes);
    }

    /// <summary>
    /// SharpPcap <c>GetNextPacketPointers</c> loop reading the caplen from libpcap's record header: the floor for the
    /// analyzer's reader, which uses the same call (no per-packet allocation).
    /// </summary>
    private static readonly int CaplenOffset = IntPtr.Size == 8 && !OperatingSystem.IsWindows() ? 16 : 8;

    public static (long Packets, long Bytes) BarePointers(string path)
    {
        using var device = new CaptureFileReaderDevice(path);
        device.Open();
        long packets = 0;
        long bytes = 0;
        IntPtr header = IntPtr.Zero;
        IntPtr data = IntPtr.Zero;
        while (device.GetNextPacketPointers(ref header, ref data) == 1)
        {
            packets++;
            // pcap_pkthdr.caplen follows the struct timeval: 16 bytes on 64-bit Unix, 8 on Windows/32-bit.
            bytes += (uint)Marshal.ReadInt32(header, CaplenOffset);
        }

        return (packets, bytes);
    }

    /// <summary>The whole analyzer: read, decode, track flows, decode RDP, build the report.</summary>
    public static (long Packets, int Connections) Analyzer(string path)
    {
        var result = CaptureAnalysis.Run([path], new AnalyzerOptions());
        return (result.Report.Packets, result.Report.Connections.Count);
    }

    /// <summary>The reader's stage alone: read, decode, track flows; finished flows are dropped unbuilt.</summary>
    public static long ReaderStage(string path)
    {
        long flows = 0;
        CaptureFiles.Analyze([path], new AnalyzerOptions(), null, default, (FinishedFlow _, AnalyzerClock _) => flows++);
        return flows;
    }

    /// <summary>The reader's stage and each flow's findings built on the same thread (no report, no JSON).</summary>
    public static long BuildStage(string path)
    {
        long flows = 0;
        var judgements = new JudgementMemo();
        CaptureFiles.Analyze([path], new AnalyzerOptions(), null, default, (FinishedFlow f, AnalyzerClock _) => { f.Build(judgements); flows++; });
        return flows;
    }

    /// <summary>What <c>rdpprobe analyze --json</c> does, written to a null stream; on one thread unless <paramref name="parallel"/>.</summary>
    public static long Stream(string path, bool parallel)
    {
        using var writer = new AnalysisJsonWriter(System.IO.Stream.Null, indented: false);
        var result = AnalysisStream.Run([path], new AnalyzerOptions(), [writer], parallel: parallel);
        return result.Summary?.Packets ?? 0;
    }
}

/// <summary>Prints the managed live set (after a full collection) every 10,000 connections of a streamed analysis.</summary>
public sealed class LiveSetSink : IAnalysisSink
{
    public void Begin(IReadOnlyList<string> files)
    {
    }

    public void Connection(int index, ConnectionReport connection, int? verdictId, VerdictProse? newVerdict)
    {
        if ((index + 1) % 10_000 == 0)
        {
            Console.Error.WriteLine($"{index + 1} connections: live {GC.GetTotalMemory(true) / 1048576.0:0.0} MiB, working set {Environment.WorkingSet / 1048576} MiB");
        }
    }
    public void Chain(ChainReport chain)
    {
    }

    public void End(AnalysisSummary summary) =>
        Console.Error.WriteLine($"end: heap {GC.GetTotalMemory(false) / 1048576.0:0.0} MiB, live {GC.GetTotalMemory(true) / 1048576.0:0.0} MiB, working set {Environment.WorkingSet / 1048576} MiB, peak {System.Diagnostics.Process.GetCurrentProcess().PeakWorkingSet64 / 1048576} MiB");

    /// <summary>The JSON document to a null stream, with this sink beside it.</summary>
    public static void Run(string path)
    {
        using var writer = new AnalysisJsonWriter(System.IO.Stream.Null, indented: true);
        AnalysisStream.Run([path], new AnalyzerOptions(), [writer, new LiveSetSink()], parallel: true);
    }
}
