using RdpProbe.Analysis;

namespace RdpProbe.Tests.Analysis;

/// <summary>Frame numbers and files: each file is numbered from 1 as Wireshark numbers it, and its findings name it.</summary>
public sealed class FramesPerFileTests
{
    private static string Lab(string name) => Path.Combine(TestCaptures.Root, "captures", "lab", name);

    [Theory]
    [InlineData(new[] { 4 }, "frame.number == 4")]
    [InlineData(new[] { 11, 12, 13 }, "frame.number in {11..13}")]
    [InlineData(new[] { 12, 11 }, "frame.number in {11,12}")]
    [InlineData(new[] { 9, 1, 2, 5, 7, 8, 10, 2 }, "frame.number in {1,2,5,7..10}")]
    [InlineData(new[] { 81, 83, 85 }, "frame.number in {81,83,85}")]
    public void Frame_filters_are_sets_wireshark_accepts(int[] frames, string filter) => Assert.Equal(filter, Filters.Frames(frames));

    [Fact]
    public void Two_vantage_points_of_one_connection_stay_two_connections_each_in_its_file()
    {
        // The same packets in two files (a capture at each end): before, the second copy was fed into the first
        // connection as retransmissions, numbered from frame 8.
        var conversation = new Conversation("10.0.0.1", 50000, "10.0.0.2", 3389).Handshake()
            .Data(true, RdpBytes.ConnectionRequest()).Data(false, RdpBytes.ConnectionConfirm(1)).Fin(true).Fin(false);
        string a = conversation.Write();
        string b = conversation.Write();
        try
        {
            var report = TestCaptures.Analyze(a, b);
            Assert.Equal(2, report.Connections.Count);
            Assert.Equal([a, b], report.Connections.Select(c => c.File));
            Assert.All(report.Connections, c =>
            {
                Assert.Equal(1, c.FirstFrame);
                Assert.Equal(7, c.LastFrame);
                Assert.DoesNotContain(c.Anomalies, x => x.Kind == "retransmission");
                Assert.All(c.Anomalies, x => Assert.Equal(c.File, x.File));
            });
            Assert.Equal(14, report.Packets);
            Assert.Equal([a, b], report.Fragments.PerFile.Select(p => p.File));
        }
        finally
        {
            File.Delete(a);
            File.Delete(b);
        }
    }

    [Fact]
    public void A_tls13_alert_guessed_from_a_record_length_says_inferred_where_it_is_stated()
    {
        var guessed = Assert.Single(TestCaptures.Analyze(Lab("nla-bad-password.pcap")).Connections);
        var anomaly = guessed.Anomalies.First(a => a.Kind == "tls_alert");
        Assert.True(anomaly.Inferred);
        Assert.Contains("inferred", anomaly.Detail, StringComparison.Ordinal);
        Assert.All(guessed.Tls!.Alerts, a => Assert.True(a.Inferred));

        // A TLS 1.0 alert record is read, not guessed.
        var read = Assert.Single(TestCaptures.Analyze(Lab("xfreerdp-tls10-only-xrdp.pcap")).Connections);
        var plain = Assert.Single(read.Anomalies, a => a.Kind == "tls_alert");
        Assert.False(plain.Inferred);
        Assert.Equal("fatal internal_error", plain.Detail);
        Assert.False(Assert.Single(read.Tls!.Alerts).Inferred);
    }
}
