using System.Buffers.Binary;
using RdpProbe.Analysis;
using SharpPcap;
using SharpPcap.LibPcap;

namespace RdpProbe.Tests.Analysis;

/// <summary>
/// The reader takes libpcap's raw record header (GetNextPacketPointers) instead of SharpPcap's PcapHeader objects:
/// it must see exactly the frames, lengths and timestamps SharpPcap's own GetNextPacket reports.
/// </summary>
public sealed class CaptureFileReaderTests : IDisposable
{
    private readonly List<string> _temp = [];

    public void Dispose()
    {
        foreach (var path in _temp)
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("ndpi", "rdp_over_tls.pcap", false)]
    [InlineData("zeek", "rdp-to-ssl.pcap", false)]
    [InlineData("ndpi", "rdp3.pcap", false)]
    [InlineData("ndpi", "rdp_over_tls.pcap", true)]
    [InlineData("zeek", "rdp-to-ssl.pcap", true)]
    [InlineData("ndpi", "rdp3.pcap", true)]
    public void Pointer_reader_matches_SharpPcap_GetNextPacket(string set, string name, bool readAhead)
    {
        string path = TestCaptures.Public(set, name);
        var (frames, bytes, first, last) = ReferenceRead(path);

        var analyzer = new CaptureAnalyzer(new AnalyzerOptions());
        var result = CaptureFileReader.Read(path, analyzer, null, CancellationToken.None, readAhead);

        Assert.Equal(CaptureReadStatus.Ok, result.Status);
        Assert.Equal(frames, result.Frames);
        Assert.Equal(frames, analyzer.Frames);
        Assert.Equal(bytes, analyzer.Bytes);
        Assert.Equal(first, analyzer.FirstTimestamp);
        Assert.Equal(last, analyzer.LastTimestamp);
    }

    [Fact]
    public void Nanosecond_pcap_timestamps_arrive_in_microseconds()
    {
        // A nanosecond-resolution pcap (magic 0xA1B23C4D) with one 60-byte Ethernet frame at 1700000000.123456789.
        var file = new byte[24 + 16 + 60];
        BinaryPrimitives.WriteUInt32LittleEndian(file, 0xA1B23C4D);
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(4), 2);
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(6), 4);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(16), 65535);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(20), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(24), 1_700_000_000);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(28), 123_456_789);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(32), 60);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(36), 1514);
        string path = Path.Combine(Path.GetTempPath(), $"rdpprobe-ns-{Guid.NewGuid():N}.pcap");
        File.WriteAllBytes(path, file);
        _temp.Add(path);

        var analyzer = new CaptureAnalyzer(new AnalyzerOptions());
        var result = CaptureFileReader.Read(path, analyzer, null, CancellationToken.None);

        Assert.Equal(CaptureReadStatus.Ok, result.Status);
        Assert.Equal(1, analyzer.Frames);
        Assert.Equal(1514, analyzer.Bytes);
        Assert.Equal(1_700_000_000_123_456L, analyzer.FirstTimestamp);
    }

    [Fact]
    public void Read_ahead_gives_the_analyzer_the_same_frames_across_many_batches()
    {
        // More bytes than all the batches hold at once (so the reader waits for the analysis and batches are reused),
        // frames of every size up to libpcap's largest (262,144: a batch holds one with room to spare), timestamps and
        // wire lengths kept.
        var frames = new List<(long Micros, byte[] Frame, int Wire)>();
        var random = new Random(11);
        long total = 0;
        for (int i = 0; total < 3L * CaptureReadAhead.Batches * CaptureReadAhead.BatchBytes; i++)
        {
            int length = i % 500 == 499 ? 262_144 - random.Next(0, 3) : random.Next(1, 1600);
            var frame = new byte[length];
            random.NextBytes(frame);
            frames.Add((1_700_000_000_000_000L + (i * 1000L), frame, length + random.Next(0, 100)));
            total += length;
        }

        string path = Path.Combine(Path.GetTempPath(), $"rdpprobe-ahead-{Guid.NewGuid():N}.pcap");
        _temp.Add(path);
        WritePcap(path, frames);

        var direct = new CaptureAnalyzer(new AnalyzerOptions());
        var directResult = CaptureFileReader.Read(path, direct, null, CancellationToken.None);
        var ahead = new CaptureAnalyzer(new AnalyzerOptions());
        long lastProgress = 0;
        var aheadResult = CaptureFileReader.Read(path, ahead, p => lastProgress = p, CancellationToken.None, readAhead: true);

        Assert.Equal(CaptureReadStatus.Ok, aheadResult.Status);
        Assert.Equal(frames.Count, aheadResult.Frames);
        Assert.Equal(directResult, aheadResult);
        Assert.Equal(direct.Frames, ahead.Frames);
        Assert.Equal(frames.Sum(f => (long)f.Wire), ahead.Bytes);
        Assert.Equal(direct.FirstTimestamp, ahead.FirstTimestamp);
        Assert.Equal(frames[^1].Micros, ahead.LastTimestamp);
        Assert.Equal(new FileInfo(path).Length, lastProgress);
    }

    [Fact]
    public void On_linux_with_glibc_libpcap_reads_through_the_larger_buffer_and_the_frames_are_the_same()
    {
        // The read buffer is a speed measure only where the platform allows it; where it does (this CI: Linux, glibc)
        // it must take, and the files must read the same frames as SharpPcap's own reader (default buffer). A file
        // larger than the buffer makes libpcap refill it.
        if (!OperatingSystem.IsLinux() || !File.Exists("/usr/bin/ldd") || !System.Runtime.InteropServices.NativeLibrary.TryLoad("libc.so.6", out _))
        {
            return;
        }

        Assert.True(PcapReadBuffer.Supported);

        // And pcap_next_ex is called directly (the frames compared below, and in every test above, come through it).
        Assert.NotEqual(IntPtr.Zero, LibpcapExports.PcapNextEx);
        var frames = new List<(long Micros, byte[] Frame, int Wire)>();
        var random = new Random(5);
        for (int i = 0; i < 2000; i++)
        {
            var frame = new byte[random.Next(60, 1514)];
            random.NextBytes(frame);
            frames.Add((1_700_000_000_000_000L + i, frame, frame.Length));
        }

        string pcap = Path.Combine(Path.GetTempPath(), $"rdpprobe-buffer-{Guid.NewGuid():N}.pcap");
        _temp.Add(pcap);
        WritePcap(pcap, frames);
        Assert.True(new FileInfo(pcap).Length > PcapReadBuffer.Size);
        using (var device = new CaptureFileReaderDevice(pcap))
        {
            device.Open();
            using var buffer = PcapReadBuffer.TryEnlarge(device);
            Assert.NotNull(buffer);
        }

        foreach (var path in new[] { pcap, TestCaptures.Public("zeek", "rdp-to-ssl.pcap") })
        {
            var (count, bytes, first, last) = ReferenceRead(path);
            var analyzer = new CaptureAnalyzer(new AnalyzerOptions());
            var result = CaptureFileReader.Read(path, analyzer, null, CancellationToken.None);
            Assert.Equal((count, bytes, first, last), (result.Frames, analyzer.Bytes, analyzer.FirstTimestamp, analyzer.LastTimestamp));
        }
    }

    [Theory]
    [InlineData(777)]
    [InlineData(3001)]
    public void Read_ahead_reports_damage_after_the_same_frame(int length)
    {
        byte[] whole = File.ReadAllBytes(TestCaptures.Public("ndpi", "rdp_over_tls.pcap"));
        string path = Path.Combine(Path.GetTempPath(), $"rdpprobe-ahead-{Guid.NewGuid():N}.pcap");
        _temp.Add(path);
        File.WriteAllBytes(path, whole[..length]);

        var direct = CaptureFileReader.Read(path, new CaptureAnalyzer(new AnalyzerOptions()), null, CancellationToken.None);
        var ahead = new CaptureAnalyzer(new AnalyzerOptions());
        var result = CaptureFileReader.Read(path, ahead, null, CancellationToken.None, readAhead: true);

        Assert.Equal(CaptureReadStatus.Damaged, result.Status);
        Assert.Equal(direct, result);
        Assert.Equal(result.Frames, ahead.Frames);
    }

    [Fact]
    public void Read_ahead_stops_its_reader_when_the_analysis_fails_or_is_cancelled()
    {
        // A consumer of finished flows that throws (a closed pipe, a full disk) ends the read with its exception, and
        // cancellation with OperationCanceledException: the reader thread is stopped in both cases, nothing hangs.
        // Three connections; with room for one live flow the second evicts the first, whose report goes to the consumer.
        string path = Path.Combine(TestCaptures.Root, "captures", "lab", "xfreerdp-fallback-rdp-security.pcap");
        var failing = new CaptureAnalyzer(new AnalyzerOptions { Ports = [3388, 3389, 3390, 3391, 3397, 13392], MaxLiveFlows = 1 }, (FinishedFlow _) => throw new IOException("disk full"));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var thrown = Assert.Throws<IOException>(() => CaptureFileReader.Read(path, failing, null, CancellationToken.None, readAhead: true));
        Assert.Equal("disk full", thrown.Message);

        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() =>
            CaptureFileReader.Read(path, new CaptureAnalyzer(new AnalyzerOptions()), null, cancelled.Token, readAhead: true));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30));
    }

    private static void WritePcap(string path, List<(long Micros, byte[] Frame, int Wire)> frames)
    {
        using var stream = new BufferedStream(File.Create(path));
        var header = new byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(header, 0xA1B2C3D4);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(4), 2);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(6), 4);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(16), 262144);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(20), 1);
        stream.Write(header);
        var record = new byte[16];
        foreach (var (micros, frame, wire) in frames)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(record, (uint)(micros / 1_000_000));
            BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(4), (uint)(micros % 1_000_000));
            BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(8), (uint)frame.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(12), (uint)wire);
            stream.Write(record);
            stream.Write(frame);
        }
    }

    [Theory]
    [InlineData(1_700_000_000L, 999_999L, false, 1_700_000_000_999_999L)]
    [InlineData(1_700_000_000L, 999_999_999L, true, 1_700_000_000_999_999L)]
    [InlineData(0L, 0L, false, 0L)]
    public void Record_header_time_is_microseconds_since_the_epoch(long seconds, long fraction, bool nanoseconds, long expected)
    {
        var header = PcapRecordHeader.Parse(seconds, fraction, 60, 1514, nanoseconds);
        Assert.Equal(expected, header.TimestampMicros);
        Assert.Equal(60u, header.CaptureLength);
        Assert.Equal(1514u, header.WireLength);
    }

    private static (long Frames, long Bytes, long First, long Last) ReferenceRead(string path)
    {
        using var device = new CaptureFileReaderDevice(path);
        device.Open();
        long frames = 0, bytes = 0, first = -1, last = 0;
        while (device.GetNextPacket(out PacketCapture capture) == GetPacketStatus.PacketRead)
        {
            var header = (PcapHeader)capture.Header;
            long ts = (long)(header.Timeval.Value * 1_000_000m);
            frames++;
            bytes += header.PacketLength;
            first = first < 0 ? ts : first;
            last = Math.Max(last, ts);
        }

        return (frames, bytes, first, last);
    }
}
