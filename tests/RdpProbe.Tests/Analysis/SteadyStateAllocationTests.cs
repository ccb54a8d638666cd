using RdpProbe.Analysis;
using static RdpProbe.Tests.Analysis.PacketBuilder;
using static RdpProbe.Tests.Analysis.RdpBytes;

namespace RdpProbe.Tests.Analysis;

/// <summary>
/// The common path of a large capture is data on established sessions: it must not allocate per packet
/// (the analyzer's own work; SharpPcap's per-packet header objects are outside this path). Counts bytes, not time.
/// </summary>
public sealed class SteadyStateAllocationTests
{
    [Fact]
    public void Established_session_data_and_acks_allocate_nothing_per_packet()
    {
        var analyzer = new CaptureAnalyzer(new AnalyzerOptions());
        var c = new Conversation("198.51.100.7", 50312, "192.0.2.10", 3389).Handshake()
            .Data(true, ConnectionRequest()).Data(false, ConnectionConfirm(1))
            .Data(true, ClientHello()).Data(false, ServerHello())
            .Data(true, Concat(TlsRecord(20, 1), TlsRecord(22, 40))).Data(false, Concat(TlsRecord(20, 1), TlsRecord(22, 40)));

        // Enough flights to reach the session, then the steady state.
        for (int i = 0; i < 20; i++)
        {
            c.Data(true, TlsRecord(23, 100)).Data(false, TlsRecord(23, 3000));
        }

        long time = 1_700_000_000_000_000;
        foreach (var (_, frame) in c.Frames)
        {
            analyzer.OnFrame(1, frame, frame.Length, time++);
        }

        // Pre-build the steady-state frames: server records split over segments, client ACKs.
        var record = TlsRecord(23, 2800);
        var steady = new List<byte[]>();
        for (int i = 0; i < 2000; i++)
        {
            c.Data(false, record[..1400]).Data(false, record[1400..]).Ack(true);
        }

        steady.AddRange(c.Frames.Skip(c.Frames.Count - 6000).Select(f => f.Frame));

        // Warm up (JIT), then measure a second pass over fresh frames.
        foreach (var frame in steady.Take(3000))
        {
            analyzer.OnFrame(1, frame, frame.Length, time++);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        foreach (var frame in steady.Skip(3000))
        {
            analyzer.OnFrame(1, frame, frame.Length, time++);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // The smallest object is 24 bytes, so any per-packet allocation would show as ≥ 24 × 3000 bytes. A few
        // bytes in total can come from the runtime itself (tiered-JIT transitions), not from the analyzer's path.
        Assert.True(allocated < 3000, $"{allocated} bytes allocated over 3000 steady-state packets");
        Assert.Equal(1, analyzer.LiveTcpFlows);
    }

    [Fact]
    public void Reading_an_established_session_from_a_file_allocates_nothing_per_packet()
    {
        // The same steady state, but through the file reader (SharpPcap GetNextPacketPointers): libpcap's record
        // header and frame are read in place, so the whole read path stays free of per-packet allocation.
        var c = new Conversation("198.51.100.7", 50312, "192.0.2.10", 3389).Handshake()
            .Data(true, ConnectionRequest()).Data(false, ConnectionConfirm(1))
            .Data(true, ClientHello()).Data(false, ServerHello())
            .Data(true, Concat(TlsRecord(20, 1), TlsRecord(22, 40))).Data(false, Concat(TlsRecord(20, 1), TlsRecord(22, 40)));
        for (int i = 0; i < 20; i++)
        {
            c.Data(true, TlsRecord(23, 100)).Data(false, TlsRecord(23, 3000));
        }

        var record = TlsRecord(23, 2800);
        for (int i = 0; i < 10_000; i++)
        {
            c.Data(false, record[..1400]).Data(false, record[1400..]).Ack(true);
        }

        string path = PcapFile.Write(1, c.Frames);
        try
        {
            // First pass: JIT and SharpPcap's one-time set-up; second pass with a fresh analyzer is measured.
            CaptureFileReader.Read(path, new CaptureAnalyzer(new AnalyzerOptions()), null, CancellationToken.None);
            var analyzer = new CaptureAnalyzer(new AnalyzerOptions());
            long before = GC.GetAllocatedBytesForCurrentThread();
            var result = CaptureFileReader.Read(path, analyzer, null, CancellationToken.None);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

            Assert.Equal(CaptureReadStatus.Ok, result.Status);
            Assert.Equal(c.Frames.Count, result.Frames);

            // Per-file and per-connection state (device, flow, handshake PDUs) is a fixed few KB; one object per
            // packet would be at least 24 B x 30,000 = 720 KB. The bound is 4 B per packet on average.
            Assert.True(allocated < 4L * c.Frames.Count, $"{allocated} bytes allocated reading {c.Frames.Count} packets");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
