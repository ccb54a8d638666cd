using RdpProbe.Analysis;
using RdpProbe.Reports;

namespace RdpProbe.Tests.Analysis;

/// <summary>Corrupt and truncated captures give the results up to the damage and one clear message, never an exception.</summary>
public sealed class DamagedCaptureTests : IDisposable
{
    private readonly List<string> _temp = [];

    private string Temp(byte[] content)
    {
        string path = Path.Combine(Path.GetTempPath(), $"rdpprobe-damaged-{Guid.NewGuid():N}.pcap");
        File.WriteAllBytes(path, content);
        _temp.Add(path);
        return path;
    }

    public void Dispose()
    {
        foreach (var path in _temp)
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData(101)]
    [InlineData(777)]
    [InlineData(1503)]
    [InlineData(2345)]
    [InlineData(3001)]
    [InlineData(4195)]
    public void Truncated_capture_keeps_the_frames_before_the_cut(int length)
    {
        byte[] whole = File.ReadAllBytes(TestCaptures.Public("ndpi", "rdp_over_tls.pcap"));
        string path = Temp(whole[..length]);
        var result = CaptureAnalysis.Run([path], new AnalyzerOptions());
        Assert.Equal(CaptureReadStatus.Damaged, result.Status);
        string message = Assert.Single(result.Errors);
        Assert.DoesNotContain('\n', message);
        Assert.Contains("damaged after frame", message, StringComparison.Ordinal);
        Assert.True(result.Report.Packets < 19);
        Assert.Equal(message, result.Report.Damage);

        // Whatever was read is analyzed: from the first full TCP segment on, the connection is there.
        if (result.Report.Packets >= 1)
        {
            Assert.Single(result.Report.Connections);
        }
    }

    [Fact]
    public void Garbage_is_unreadable()
    {
        var random = new Random(4);
        var bytes = new byte[5000];
        random.NextBytes(bytes);
        var result = CaptureAnalysis.Run([Temp(bytes)], new AnalyzerOptions());
        Assert.Equal(CaptureReadStatus.Unreadable, result.Status);
        Assert.Contains("not a readable pcap/pcapng capture", Assert.Single(result.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_file_is_unreadable()
    {
        var result = CaptureAnalysis.Run(["/nonexistent/capture.pcap"], new AnalyzerOptions());
        Assert.Equal(CaptureReadStatus.Unreadable, result.Status);
        Assert.Contains("no such file", Assert.Single(result.Errors), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(7)]
    [InlineData(13)]
    [InlineData(31)]
    public void Valid_header_followed_by_garbage_records_is_damaged_not_a_crash(int seed)
    {
        byte[] whole = File.ReadAllBytes(TestCaptures.Public("ndpi", "rdp.pcap"));
        var random = new Random(seed);

        // Keep the global header and the first records, then overwrite the rest with noise.
        int keep = 24 + 200 + random.Next(0, 400);
        var noise = new byte[whole.Length - keep];
        random.NextBytes(noise);
        var content = whole[..keep].Concat(noise).ToArray();
        var result = CaptureAnalysis.Run([Temp(content)], new AnalyzerOptions());
        Assert.NotEqual(CaptureReadStatus.Unreadable, result.Status);
        Assert.True(result.Report.Packets >= 1);
    }

    [Fact]
    public void Damaged_second_file_still_reports_the_first()
    {
        string good = TestCaptures.Public("ndpi", "rdp.pcap");
        byte[] other = File.ReadAllBytes(TestCaptures.Public("ndpi", "rdp3.pcap"));
        string cut = Temp(other[..(other.Length / 2)]);
        var result = CaptureAnalysis.Run([good, cut], new AnalyzerOptions());
        Assert.Equal(CaptureReadStatus.Damaged, result.Status);
        Assert.Equal(2, result.Report.Connections.Count);
        Assert.Equal(2, result.Report.Files.Count);
    }
}
