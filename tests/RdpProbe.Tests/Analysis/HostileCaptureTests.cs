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
}
