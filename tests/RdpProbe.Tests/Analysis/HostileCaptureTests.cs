using RdpProbe.Analysis;
using RdpProbe.Reports;
using static RdpProbe.Tests.Analysis.PacketBuilder;

namespace RdpProbe.Tests.Analysis;

/// <summary>Crafted captures (issue 17): inconsistent or hostile input ends in a report, never an exception.</summary>
public sealed class HostileCaptureTests : IDisposable
{
    private readonly List<string> _temp = [];

    public void Dispose()
    {
        foreach (var path in _temp)
        {
            File.Delete(path);
        }
    }

    private string Write(IEnumerable<(double Time, byte[] Frame)> frames)
    {
        string path = PcapFile.Write(1, frames);
        _temp.Add(path);
        return path;
    }

    private static byte[] Fragment(int offset, int length, bool more)
    {
        // A TCP SYN to 3389 in the first 20 octets so the reassembled datagram decodes; the rest is filler.
        var payload = new byte[length];
        if (offset == 0 && length >= 20)
        {
            Tcp(50000, 3389, 1000, 0, Syn).CopyTo(payload, 0);
        }

        return Concat(Ethernet(0x0800), Ipv4("10.0.0.1", "10.0.0.2", 6, length, id: 0x77, moreFragments: more, fragmentOffset: offset), payload);
    }

    [Fact]
    public void Fragment_offset_beyond_the_datagram_length_is_ignored_not_a_crash()
    {
        // First piece covers 0..200, a middle piece lies at 96, and the last fragment (MF=0) says the datagram is
        // 24 octets long: the piece at 96 starts beyond the total length.
        string path = Write(
        [
            (0.000, Fragment(0, 200, more: true)),
            (0.001, Fragment(96, 8, more: true)),
            (0.002, Fragment(16, 8, more: false)),
        ]);

        var result = CaptureAnalysis.Run([path], new AnalyzerOptions());

        Assert.Equal(CaptureReadStatus.Ok, result.Status);
        Assert.Equal(3, result.Report.Fragments.Ipv4);
        Assert.Equal(1, result.Report.Fragments.Reassembled);
    }

    [Fact]
    public void Last_fragment_announcing_a_length_shorter_than_earlier_pieces_is_not_a_crash()
    {
        string path = Write(
        [
            (0.000, Fragment(0, 64, more: true)),
            (0.001, Fragment(1000, 8, more: true)),
            (0.002, Fragment(8, 8, more: false)),
            (0.003, Fragment(0, 16, more: false)),
        ]);

        var result = CaptureAnalysis.Run([path], new AnalyzerOptions());

        Assert.Equal(CaptureReadStatus.Ok, result.Status);
    }

    /// <summary>SYN then an X.224 Connection Request (MS-RDPBCGR 2.2.1.1) from client <paramref name="i"/>, never answered.</summary>
    private static IEnumerable<byte[]> OpenConnection(int i)
    {
        string client = $"10.1.{i >> 8}.{i & 0xFF}";
        ushort port = (ushort)(20000 + i);
        byte[] cookie = "Cookie: mstshash=x\r\n"u8.ToArray();
        byte[] x224 = Concat([(byte)(6 + cookie.Length), 0xE0, 0, 0, 0, 0, 0], cookie);
        byte[] request = Concat([3, 0], Be16((ushort)(4 + x224.Length)), x224);
        yield return Concat(Ethernet(0x0800), Ipv4Tcp(client, port, "10.0.0.1", 3389, 1000, 0, Syn));
        yield return Concat(Ethernet(0x0800), Ipv4Tcp(client, port, "10.0.0.1", 3389, 1001, 0, Psh | Ack, request));
    }

    [Fact]
    public void Live_flows_never_pass_the_cap_and_evicted_connections_are_reported_as_evicted()
    {
        const int connections = 1000;
        const int cap = 64;
        var analyzer = new CaptureAnalyzer(new AnalyzerOptions { MaxLiveFlows = cap });
        long time = 1_700_000_000_000_000;
        int peak = 0;
        for (int i = 0; i < connections; i++)
        {
            foreach (var frame in OpenConnection(i))
            {
                analyzer.OnFrame(1, frame, frame.Length, time += 1000);
                peak = Math.Max(peak, analyzer.LiveTcpFlows);
            }
        }

        Assert.True(peak <= cap, $"peak {peak} live flows");
        Assert.Equal(peak, analyzer.PeakLiveTcpFlows);
        Assert.True(analyzer.EvictedFlows >= connections - cap, $"{analyzer.EvictedFlows} evicted");

        var findings = analyzer.BuildFindings(["crafted"], null, []);
        Assert.Equal(connections, findings.Connections.Count);
        var evicted = findings.Connections.Where(c => c.Verdict.Causes.Contains(CaptureAnalyzer.EvictedCause)).ToList();
        Assert.Equal(analyzer.EvictedFlows, evicted.Count);
        Assert.All(evicted, c => Assert.Contains("Evicted", c.Verdict.Summary, StringComparison.Ordinal));

        // Least recently active first: the first connections are the evicted ones, the last ones are still live.
        Assert.Contains(CaptureAnalyzer.EvictedCause, findings.Connections[0].Verdict.Causes);
        Assert.DoesNotContain(CaptureAnalyzer.EvictedCause, findings.Connections[^1].Verdict.Causes);
        Assert.All(findings.Connections, c => Assert.Equal(RdpProbe.Diagnosis.Phase.X224, c.Verdict.Phase));
    }

    [Fact]
    public void Evictions_are_a_warning_of_the_report()
    {
        string path = Write(Enumerable.Range(0, 300).SelectMany(OpenConnection).Select((f, n) => (n * 0.001, f)));

        var result = CaptureAnalysis.Run([path], new AnalyzerOptions { MaxLiveFlows = 100 });

        Assert.Equal(CaptureReadStatus.Ok, result.Status);
        Assert.Equal(300, result.Report.Connections.Count);
        string warning = Assert.Single(result.Report.Warnings, w => w.Contains("evicted", StringComparison.Ordinal));
        Assert.Matches("^[0-9]+ connections evicted", warning);
        Assert.Contains(result.Report.Connections, c => c.Verdict.Summary.Contains("Evicted", StringComparison.Ordinal));
    }

    [Fact]
    public void Under_the_cap_nothing_is_evicted()
    {
        string path = Write(Enumerable.Range(0, 50).SelectMany(OpenConnection).Select((f, n) => (n * 0.001, f)));

        var result = CaptureAnalysis.Run([path], new AnalyzerOptions { MaxLiveFlows = 100 });

        Assert.Equal(50, result.Report.Connections.Count);
        Assert.DoesNotContain(result.Report.Warnings, w => w.Contains("evicted", StringComparison.Ordinal));
        Assert.DoesNotContain(result.Report.Connections, c => c.Verdict.Summary.Contains("Evicted", StringComparison.Ordinal));
    }

    [Fact]
    public void Streamed_json_is_the_same_document_as_the_string()
    {
        string path = Write(Enumerable.Range(0, 30).SelectMany(OpenConnection).Select((f, n) => (n * 0.001, f)));
        var report = CaptureAnalysis.Run([path], new AnalyzerOptions { MaxLiveFlows = 10 }).Report;

        using var stream = new MemoryStream();
        report.WriteJson(stream);

        Assert.Equal(report.ToJson(), System.Text.Encoding.UTF8.GetString(stream.ToArray()));
    }
}
