using BenchmarkDotNet.Attributes;
using RdpProbe.Analysis;
using SharpPcap;
using SharpPcap.LibPcap;

namespace RdpProbe.Benchmarks.Analysis;

/// <summary>
/// Analyzer throughput against its floor. The capture is RDPPROBE_BENCH_CAPTURE when set, otherwise a 200,000-packet
/// mix generated from the lab's real handshakes (captures/lab) with distinct 4-tuples. Divide the per-operation time
/// and allocation by the packet count printed at setup to get per-packet figures; the bare loop is the baseline
/// (its allocation is SharpPcap's own: a PcapHeader and a PosixTimeval per packet); the pointer loop is the floor of
/// the analyzer's own reader, which allocates nothing per packet.
/// </summary>
[MemoryDiagnoser]
public class AnalyzerBenchmarks
{
    private string _file = "";
    private int _linkType;

    public long Packets { get; private set; }

    [GlobalSetup]
    public void Setup()
    {
        _file = Environment.GetEnvironmentVariable("RDPPROBE_BENCH_CAPTURE") ?? "";
        if (!File.Exists(_file))
        {
            string root = FindRoot();
            string[] templates = ["nla-success.pcap", "xrdp-tls-login.pcap", "rdp-server-rdp-security.pcap", "nla-bad-password.pcap", "mtu-blackhole.pcap", "reset-at-clienthello.pcap", "nla-server-tls-client.pcap"];
            _file = Path.Combine(Path.GetTempPath(), "rdpprobe-bench-200k.pcap");
            if (!File.Exists(_file))
            {
                CaptureGenerator.Generate(templates.Select(t => Path.Combine(root, "captures", "lab", t)).ToList(), _file, 200_000);
            }
        }

        var (packets, _) = ReadLoops.Bare(_file);
        Packets = packets;
        using var device = new CaptureFileReaderDevice(_file);
        device.Open();
        _linkType = (int)device.LinkType;
        Console.WriteLine($"// capture {_file}: {Packets} packets");
    }

    [Benchmark(Baseline = true, Description = "bare SharpPcap read loop (GetNextPacket)")]
    public long BareReadLoop() => ReadLoops.Bare(_file).Packets;

    [Benchmark(Description = "bare SharpPcap read loop (GetNextPacketPointers)")]
    public long BarePointerLoop() => ReadLoops.BarePointers(_file).Packets;

    [Benchmark(Description = "read + L2-L4 span decode")]
    public long ReadAndDecode()
    {
        using var device = new CaptureFileReaderDevice(_file);
        device.Open();
        long decoded = 0;
        while (device.GetNextPacket(out PacketCapture capture) == GetPacketStatus.PacketRead)
        {
            if (FrameDecoder.TryDecode(_linkType, capture.Data, out _))
            {
                decoded++;
            }
        }

        return decoded;
    }

    [Benchmark(Description = "whole analyzer (report included)")]
    public long Analyzer() => ReadLoops.Analyzer(_file).Packets;

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "RdpProbe.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("run from inside the repository (captures/lab is needed) or set RDPPROBE_BENCH_CAPTURE");
    }
}
