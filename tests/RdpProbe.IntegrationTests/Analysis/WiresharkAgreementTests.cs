using RdpProbe.Analysis;
using RdpProbe.Reports;
using RdpProbe.Tests.JsonReports;

namespace RdpProbe.IntegrationTests.Analysis;

/// <summary>
/// What the analyzer prints about frames, checked with the real tshark on the captures in captures/ (the lab's own,
/// made by scripts/make-captures.sh against xrdp and FreeRDP, and the public ones): every display filter it prints is
/// one tshark accepts and it returns exactly the frames reported; duplicate ACKs are the frames tshark's
/// tcp.analysis.duplicate_ack marks (keep-alives and window updates are not); with several files every frame number
/// is the one tshark shows for that file.
/// </summary>
public sealed class WiresharkAgreementTests
{
    private static string Captures => Path.Combine(ReportSchemas.RepositoryRoot, "captures");

    private static IEnumerable<string> AllCaptures() =>
        Directory.EnumerateFiles(Captures, "*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".pcap", StringComparison.Ordinal) || f.EndsWith(".pcapng", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);

    private static string Lab(string name) => Path.Combine(Captures, "lab", name);

    private static AnalysisReport Analyze(params string[] files)
    {
        var result = CaptureAnalysis.Run(files, new AnalyzerOptions());
        Assert.True(result.Status is CaptureReadStatus.Ok or CaptureReadStatus.Damaged, $"{string.Join(", ", files)}: {result.Status} {string.Join("; ", result.Errors)}");
        return result.Report;
    }

    [Fact]
    public void Every_printed_filter_returns_exactly_the_reported_frames_in_tshark()
    {
        var kinds = new HashSet<string>();
        int sets = 0;
        int checkedFilters = 0;
        foreach (var file in AllCaptures())
        {
            var report = Analyze(file);
            foreach (var c in report.Connections)
            {
                // The conversation filter: accepted, and it finds the connection's first and last frames.
                var conversation = Tshark.Frames(file, c.Filter);
                Assert.Contains(c.FirstFrame, conversation);
                Assert.Contains(c.LastFrame, conversation);
                checkedFilters++;
                foreach (var a in c.Anomalies)
                {
                    CheckAnomaly(file, a);
                    kinds.Add(a.Kind);
                    sets += a.Filter.Contains(" in {", StringComparison.Ordinal) ? 1 : 0;
                    checkedFilters++;
                }
            }

            foreach (var u in report.Udp)
            {
                Assert.Superset(u.SynFrames.ToHashSet(), Tshark.Frames(file, u.Filter).ToHashSet());
                foreach (var a in u.Anomalies)
                {
                    CheckAnomaly(file, a);
                    kinds.Add(a.Kind);
                    sets += a.Filter.Contains(" in {", StringComparison.Ordinal) ? 1 : 0;
                    checkedFilters++;
                }
            }

            foreach (var m in report.Icmp)
            {
                Assert.Equal([m.Frame], Tshark.Frames(file, m.Filter));
                kinds.Add("icmp:" + m.Kind);
                checkedFilters++;
            }
        }

        // Not vacuous: the captures hold these kinds, and filters over several frames (the form tshark used to reject).
        Assert.Superset(new HashSet<string> { "retransmission", "reset", "stall", "tls_alert", "duplicate_ack", "out_of_order", "frag_needed", "udp_no_reply", "icmp:port_unreachable" }, kinds);
        Assert.True(sets >= 5, $"only {sets} multi-frame filters were checked");
        Assert.True(checkedFilters > 50, $"only {checkedFilters} filters were checked");
    }

    private static void CheckAnomaly(string file, AnomalyReport a)
    {
        var frames = Tshark.Frames(file, a.Filter);
        var reported = a.Frames.Distinct().Order().ToList();
        if (a.Count <= a.Frames.Count)
        {
            Assert.True(reported.SequenceEqual(frames), $"{Path.GetFileName(file)} {a.Kind}: filter \"{a.Filter}\" returned [{string.Join(",", frames)}], reported [{string.Join(",", reported)}]");
        }
        else
        {
            // More than the listed frames: the filter names the whole kind in the connection (tcp.analysis.*).
            Assert.Superset(reported.ToHashSet(), frames.ToHashSet());
        }
    }

    [Fact]
    public void Duplicate_acks_are_the_frames_tshark_marks_and_keep_alives_and_window_updates_are_not()
    {
        int keepAlivesSeen = 0;
        int duplicateAcks = 0;
        foreach (var file in AllCaptures())
        {
            var report = Analyze(file);
            var ours = report.Connections.SelectMany(c => c.Anomalies).Where(a => a.Kind == "duplicate_ack").SelectMany(a => a.Frames).Order().ToList();
            if (report.Connections.Count == 0)
            {
                Assert.Empty(ours);
                continue;
            }

            // Within the RDP connections the analyzer follows (the transport captures also hold non-RDP flows).
            string rdp = string.Join(" || ", report.Connections.Select(c => $"({c.Filter})").Distinct());
            var tshark = Tshark.Frames(file, $"tcp.analysis.duplicate_ack && ({rdp})");
            Assert.True(tshark.SequenceEqual(ours), $"{Path.GetFileName(file)}: tshark marks [{string.Join(",", tshark)}] as duplicate ACKs, the analyzer [{string.Join(",", ours)}]");
            var notDuplicates = Tshark.Frames(file, $"(tcp.analysis.keep_alive || tcp.analysis.keep_alive_ack || tcp.analysis.window_update) && ({rdp})");
            Assert.Empty(notDuplicates.Intersect(ours));
            keepAlivesSeen += notDuplicates.Count;
            duplicateAcks += ours.Count;
        }

        // pmtud-blackhole-server-side.pcap frame 16 is the client's keep-alive the analyzer once took for a duplicate ACK.
        Assert.Contains(16, Tshark.Frames(Lab("pmtud-blackhole-server-side.pcap"), "tcp.analysis.keep_alive"));
        Assert.True(keepAlivesSeen > 0 && duplicateAcks > 0, $"keep-alives/window updates {keepAlivesSeen}, duplicate ACKs {duplicateAcks}");
    }

    [Fact]
    public void With_several_files_every_frame_is_numbered_in_its_own_file_as_tshark_numbers_it()
    {
        string[] files = [Lab("nla-bad-password.pcap"), Lab("pmtud-frag-needed-server-side.pcap"), Lab("rdpeudp-syn-port-unreachable.pcap")];
        var report = Analyze(files);
        Assert.Equal(files, report.Files);
        Assert.Equal(files.Sum(f => Tshark.Frames(f, "frame").Count), report.Packets);

        // Each file's first connection starts at its own frame 1 (before, the second file's started at frame 25).
        Assert.Equal([files[0], files[1]], report.Connections.Select(c => c.File));
        Assert.All(report.Connections, c => Assert.Equal(1, c.FirstFrame));
        int checkedFrames = 0;
        foreach (var c in report.Connections)
        {
            // The frame with that number in that file is a packet of this connection (tshark -Y 'frame.number==N').
            var numbers = new List<int> { c.FirstFrame, c.LastFrame };
            numbers.AddRange(c.Phases.Select(p => p.FirstFrame));
            numbers.AddRange(c.Anomalies.SelectMany(a => a.Frames));
            foreach (int n in numbers.Distinct())
            {
                Assert.Equal([n], Tshark.Frames(c.File, $"({c.Filter}) && frame.number=={n}"));
                checkedFrames++;
            }

            Assert.All(c.Anomalies, a => Assert.Equal(c.File, a.File));
            if (c.Tls?.ClientHelloFrame is { } hello)
            {
                // A TLS handshake record starting with a ClientHello (RFC 8446 §5.1, §4): tshark on 3389 dissects RDP, not TLS.
                Assert.Equal([hello], Tshark.Frames(c.File, $"tcp.payload[0] == 0x16 && tcp.payload[5] == 0x01 && frame.number=={hello}"));
            }
        }

        var udp = Assert.Single(report.Udp);
        Assert.Equal(files[2], udp.File);
        Assert.All(udp.SynFrames, n => Assert.Equal([n], Tshark.Frames(udp.File, $"udp && frame.number=={n}")));
        Assert.Equal(4, report.Icmp.Count);
        foreach (var m in report.Icmp)
        {
            Assert.Contains(m.File, files);
            Assert.Equal([m.Frame], Tshark.Frames(m.File, $"(icmp || icmpv6) && frame.number=={m.Frame}"));
        }

        Assert.Equal([files[1], files[2], files[2], files[2]], report.Icmp.Select(m => m.File));
        Assert.Equal(files, report.Fragments.PerFile.Select(p => p.File));
        Assert.True(checkedFrames > 20, $"only {checkedFrames} frames checked");
    }
}
