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
    [InlineData("ndpi", "rdp_over_tls.pcap")]
    [InlineData("zeek", "rdp-to-ssl.pcap")]
    [InlineData("ndpi", "rdp3.pcap")]
    public void Pointer_reader_matches_SharpPcap_GetNextPacket(string set, string name)
    {
        string path = TestCaptures.Public(set, name);
        var (frames, bytes, first, last) = ReferenceRead(path);

        var analyzer = new CaptureAnalyzer(new AnalyzerOptions());
        var result = CaptureFileReader.Read(path, analyzer, null, CancellationToken.None);

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
