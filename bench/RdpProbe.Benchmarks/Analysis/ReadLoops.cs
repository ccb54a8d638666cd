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
}
