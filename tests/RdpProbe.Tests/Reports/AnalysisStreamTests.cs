using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using RdpProbe.Analysis;
using RdpProbe.Reports;
using RdpProbe.Tests.Analysis;

namespace RdpProbe.Tests.JsonReports;

/// <summary>
/// The streamed analysis (issue 16 item 1): rdpprobe.analysis/2 and the JSON Lines, written connection by connection.
/// They must say exactly what the whole-report path (rdpprobe.analysis/1) says, follow their schemas, and keep each
/// verdict text once.
/// </summary>
public sealed class AnalysisStreamTests
{
    private static readonly AnalyzerOptions LabPorts = new() { Ports = [3388, 3389, 3390, 3391, 3397, 13392] };

    private static string[] Captures =>
    [
        .. Directory.GetFiles(Path.Combine(TestCaptures.Root, "captures", "lab"), "*.pcap").Order(),
        .. Directory.GetFiles(Path.Combine(TestCaptures.Root, "captures", "public"), "*.pcap*", SearchOption.AllDirectories).Order(),
    ];

    public static TheoryData<string> Lab()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(Path.Combine(TestCaptures.Root, "captures", "lab"), "*.pcap").Order())
        {
            data.Add(Path.GetFileName(f));
        }

        return data;
    }

    private static string LabFile(string name) => Path.Combine(TestCaptures.Root, "captures", "lab", name);

    private static (string Text, AnalysisStream.Result Result) Stream(string[] files, Func<Stream, IAnalysisSink> sink, AnalyzerOptions? options = null)
    {
        using var buffer = new MemoryStream();
        var writer = sink(buffer);
        var result = AnalysisStream.Run(files, options ?? LabPorts, [writer]);
        (writer as IDisposable)?.Dispose();
        return (Encoding.UTF8.GetString(buffer.ToArray()), result);
    }

    [Fact]
    public void Gathered_back_the_stream_is_the_whole_report_for_every_capture_in_the_repository()
    {
        // Chains included: the streamed grouping (AttemptChainStream) must find the chains the batch grouping finds.
        int chains = 0;
        foreach (var file in Captures)
        {
            var collector = new AnalysisReportCollector();
            var streamed = AnalysisStream.Run([file], LabPorts, [collector]);
            var whole = CaptureAnalysis.Run([file], LabPorts);
            Assert.Equal(whole.Status, streamed.Status);
            if (collector.Report is null)
            {
                Assert.Equal(CaptureReadStatus.Unreadable, streamed.Status);
                continue;
            }

            Assert.True(whole.Report.ToJson() == collector.Report.ToJson(), $"{file}: the streamed report differs from the whole report");
            chains += whole.Report.Chains.Count;
        }

        Assert.True(chains >= 1, "no capture with an attempt chain: the chain part of the comparison tested nothing");
    }

    [Theory]
    [MemberData(nameof(Lab))]
    public void The_document_follows_its_schema_and_every_verdict_id_names_the_verdict_of_the_whole_report(string name)
    {
        var (json, result) = Stream([LabFile(name)], s => new AnalysisJsonWriter(s));
        var whole = CaptureAnalysis.Run([LabFile(name)], LabPorts).Report;
        ReportSchemas.AssertValid(ReportSchemas.Analysis2, json);

        var root = JsonNode.Parse(json)!;
        Assert.Equal(AnalysisStream.SchemaName, root["schema"]!.GetValue<string>());
        var verdicts = root["verdicts"]!.AsArray().ToDictionary(v => v!["id"]!.GetValue<int>(), v => v!);
        var tables = root["compatibilityTables"]!.AsArray().ToDictionary(v => v!["id"]!.GetValue<int>(), v => v!);
        var connections = root["connections"]!.AsArray();
        Assert.Equal(whole.Connections.Count, connections.Count);
        Assert.Equal(whole.Connections.Count, root["connectionCount"]!.GetValue<int>());
        Assert.Equal(whole.FailedConnections, root["failedConnections"]!.GetValue<int>());
        Assert.Equal(whole.Chains.Count, root["chains"]!.AsArray().Count);

        // Each text once: no two table entries alike.
        Assert.Equal(verdicts.Count, verdicts.Values.Select(v => v.ToJsonString()[v.ToJsonString().IndexOf("\"summary\"", StringComparison.Ordinal)..]).Distinct().Count());
        foreach (var c in connections)
        {
            var expected = whole.Connections.Single(w => w.FirstFrame == c!["firstFrame"]!.GetValue<int>() && w.Client == c["client"]!.GetValue<string>());
            var prose = verdicts[c!["verdict"]!["id"]!.GetValue<int>()];
            Assert.Equal(expected.Verdict.Summary, prose["summary"]!.GetValue<string>());
            Assert.Equal(expected.Verdict.Causes, prose["causes"]!.AsArray().Select(x => x!.GetValue<string>()));
            Assert.Equal(expected.Verdict.Remedies, prose["remedies"]!.AsArray().Select(x => x!.GetValue<string>()));
            Assert.Null(c["verdict"]!["summary"]);
            Assert.Null(c["chainId"]);

            // The compatibility table by id: the table named is, word for word, the one the whole report gives.
            Assert.Null(c["compatibility"]);
            string expectedTable = JsonSerializer.Serialize(expected.Compatibility, JsonReportContext.Relaxed.IReadOnlyListClientVerdictReport);
            if (expected.Compatibility.Count == 0)
            {
                Assert.Null(c["compatibilityId"]);
            }
            else
            {
                var table = tables[c["compatibilityId"]!.GetValue<int>()];
                Assert.Equal(JsonNode.Parse(expectedTable)!.ToJsonString(), table["profiles"]!.ToJsonString());
            }
        }

        Assert.Equal(tables.Count, tables.Values.Select(t => t["profiles"]!.ToJsonString()).Distinct().Count());
        Assert.Equal(tables.Count, connections.Select(c => c!["compatibilityId"]?.GetValue<int>()).OfType<int>().Distinct().Count());

        Assert.Equal(whole.Connections.Count, result.Summary!.Connections);
    }

    [Theory]
    [MemberData(nameof(Lab))]
    public void Every_json_line_follows_its_schema_and_a_verdict_comes_before_the_first_connection_that_names_it(string name)
    {
        var (text, _) = Stream([LabFile(name)], s => new AnalysisJsonLinesWriter(s));
        var whole = CaptureAnalysis.Run([LabFile(name)], LabPorts).Report;
        var lines = text.Split('\n');
        Assert.Equal("", lines[^1]);
        lines = lines[..^1];
        Assert.True(lines.Length >= 2);
        var seen = new HashSet<int>();
        var tables = new HashSet<int>();
        int connections = 0;
        for (int i = 0; i < lines.Length; i++)
        {
            ReportSchemas.AssertValid(ReportSchemas.AnalysisLines, lines[i]);
            var line = JsonNode.Parse(lines[i])!;
            string type = line["type"]!.GetValue<string>();
            Assert.Equal(i == 0 ? "start" : i == lines.Length - 1 ? "summary" : type is "verdict" or "compatibility" or "connection" ? type : "?", type);
            if (type == "verdict")
            {
                Assert.True(seen.Add(line["id"]!.GetValue<int>()), "a verdict text was written twice");
            }
            else if (type == "compatibility")
            {
                Assert.True(tables.Add(line["id"]!.GetValue<int>()), "a compatibility table was written twice");
            }
            else if (type == "connection")
            {
                Assert.Equal(connections++, line["index"]!.GetValue<int>());
                Assert.Contains(line["connection"]!["verdict"]!["id"]!.GetValue<int>(), seen);
                if (line["connection"]!["clientVerdict"] is not null)
                {
                    Assert.Contains(line["connection"]!["compatibilityId"]!.GetValue<int>(), tables);
                }
            }
        }

        Assert.Equal(whole.Connections.Count, connections);
        Assert.Equal(whole.FailedConnections, JsonNode.Parse(lines[^1])!["failedConnections"]!.GetValue<int>());
    }

    [Fact]
    public void A_fallback_chain_is_reported_once_its_last_attempt_got_through()
    {
        var (json, _) = Stream([LabFile("xfreerdp-fallback-rdp-security.pcap")], s => new AnalysisJsonWriter(s));
        var root = JsonNode.Parse(json)!;
        var chain = Assert.Single(root["chains"]!.AsArray())!;
        Assert.True(chain["fellBack"]!.GetValue<bool>());
        var attempts = chain["attempts"]!.AsArray();
        Assert.Equal(3, attempts.Count);

        // attempts[].connection is the index into connections[] of this document, in the order written.
        var connections = root["connections"]!.AsArray();
        foreach (var a in attempts)
        {
            Assert.Equal(a!["firstFrame"]!.GetValue<int>(), connections[a["connection"]!.GetValue<int>()]!["firstFrame"]!.GetValue<int>());
        }

        Assert.True(attempts[0]!["supersededByFallback"]!.GetValue<bool>());
        Assert.Equal(0, root["failedConnections"]!.GetValue<int>());
    }

    [Fact]
    public void The_writer_thread_writes_byte_for_byte_what_one_thread_writes()
    {
        foreach (var file in Captures)
        {
            string Write(bool parallel)
            {
                using var buffer = new MemoryStream();
                using (var writer = new AnalysisJsonWriter(buffer))
                {
                    AnalysisStream.Run([file], LabPorts, [writer], parallel: parallel);
                }

                return Encoding.UTF8.GetString(buffer.ToArray());
            }

            Assert.True(Write(parallel: false) == Write(parallel: true), $"{file}: the two-thread output differs");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_output_that_fails_stops_the_analysis_with_its_own_error(bool parallel)
    {
        // A closed pipe or a full disk surfaces as the writer's IOException (the CLI turns it into exit 5), on the
        // reading thread too, and the run does not hang on a writer thread that stopped.
        var failing = new FailingSink(after: 1);
        var file = Path.Combine(TestCaptures.Root, "captures", "lab", "xfreerdp-fallback-rdp-security.pcap");
        var e = Assert.Throws<IOException>(() => AnalysisStream.Run([file], LabPorts, [failing], parallel: parallel));
        Assert.Equal("disk full", e.Message);
    }

    private sealed class FailingSink(int after) : IAnalysisSink
    {
        private int _count;

        public void Begin(IReadOnlyList<string> files)
        {
        }

        public void Connection(int index, ConnectionReport connection, int? verdictId, VerdictProse? newVerdict)
        {
            if (++_count > after)
            {
                throw new IOException("disk full");
            }
        }

        public void Chain(ChainReport chain)
        {
        }

        public void End(AnalysisSummary summary)
        {
        }
    }

    [Fact]
    public void Nothing_is_written_when_no_file_can_be_read()
    {
        string path = Path.Combine(Path.GetTempPath(), $"rdpprobe-stream-{Guid.NewGuid():N}.pcap");
        File.WriteAllText(path, "not a capture");
        try
        {
            var (text, result) = Stream([path], s => new AnalysisJsonWriter(s));
            Assert.Equal(CaptureReadStatus.Unreadable, result.Status);
            Assert.Equal("", text);
            Assert.Null(result.Summary);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Open_chains_stay_bounded_on_a_stream_of_failed_connections_and_a_late_joiner_still_links()
    {
        // 20,000 refused attempts of 2,000 clients, one every 10 ms of capture time: each can start a chain, none is
        // joined after its window; the stream must let them go instead of keeping one per connection.
        var chains = new List<StreamedChain>();
        var stream = new AttemptChainStream(chains.Add);
        var refused = CaptureFiles.Analyze([LabFile("xfreerdp-fallback-rdp-security.pcap")], LabPorts).Findings.Connections[0];
        Assert.NotNull(refused.FailureCode);
        int peak = 0;
        for (int i = 0; i < 20_000; i++)
        {
            long t = 1_000_000_000_000 + i * 10_000L;
            var c = refused with { Client = $"10.0.{i % 2000 / 250}.{i % 250}:{40000 + i % 20000}", StartMicros = t, EndMicros = t + 1000, FirstFrame = i + 1 };
            stream.Add(c, i, new AnalyzerClock(t + 1000, t));
            peak = Math.Max(peak, stream.OpenChains);
        }

        // Within the 5 s window at 100 connections/s: at most ~500 tails, whatever the number of connections.
        Assert.InRange(peak, 1, 600);

        // A tail is kept while a flow that started inside its window is still live (the clock's oldest live start),
        // so a fallback that ends long after the window still joins it.
        var late = new AttemptChainStream(chains.Add);
        long t0 = 2_000_000_000_000;
        late.Add(refused with { StartMicros = t0, EndMicros = t0 + 1000 }, 0, new AnalyzerClock(t0 + 1000, t0 + 500));
        var ok = CaptureFiles.Analyze([LabFile("xfreerdp-fallback-rdp-security.pcap")], LabPorts).Findings.Connections[2];
        Assert.True(ok.Verdict.Ok);
        chains.Clear();
        late.Add(ok with { Client = refused.Client, StartMicros = t0 + 100_000, EndMicros = t0 + 3_600_000_000 }, 1, new AnalyzerClock(t0 + 3_600_000_000, t0 + 100_000));
        var chain = Assert.Single(chains);
        Assert.True(chain.Chain.FellBack);
        Assert.Equal<int>([0, 1], chain.Attempts.Select(a => a.Connection).ToArray());
        Assert.Equal(1, late.Superseded);
    }
}
