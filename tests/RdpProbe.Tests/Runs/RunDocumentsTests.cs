using System.Net;
using System.Text.Json;
using RdpProbe.Diagnosis;
using RdpProbe.Probe;
using RdpProbe.Probe.NetPath;
using RdpProbe.Reports;
using RdpProbe.Runs;
using RdpProbe.Tests.JsonReports;

namespace RdpProbe.Tests.Runs;

/// <summary>The repeat, concurrency and bench documents: schema first, the tool, camelCase keys, one statistics shape.</summary>
public sealed class RunDocumentsTests
{
    private static readonly string[] StatsKeys = ["count", "min", "median", "p90", "p99", "max", "mean"];

    private static PhaseRecord Ok(Phase phase, double ms) => new(phase) { Ms = ms };

    private static PhaseRecord Failed(Phase phase, Ending ending)
    {
        var r = new PhaseRecord(phase);
        r.Fail(ending);
        return r;
    }

    /// <summary>Every key of every object, recursively, except the keys of the failures maps (ending names are data).</summary>
    private static IEnumerable<string> Keys(JsonElement e)
    {
        if (e.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in e.EnumerateObject())
            {
                yield return p.Name;
                if (p.Name != "failures")
                {
                    foreach (string k in Keys(p.Value))
                    {
                        yield return k;
                    }
                }
            }
        }
        else if (e.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in e.EnumerateArray())
            {
                foreach (string k in Keys(item))
                {
                    yield return k;
                }
            }
        }
    }

    private static void AssertEnvelope(JsonElement root, string schema)
    {
        var first = root.EnumerateObject().First();
        Assert.Equal("schema", first.Name);
        Assert.Equal(schema, first.Value.GetString());
        var tool = root.GetProperty("tool");
        Assert.Equal("rdpprobe", tool.GetProperty("name").GetString());
        Assert.Equal(ToolInfo.Current.Version, tool.GetProperty("version").GetString());
        Assert.False(string.IsNullOrEmpty(ToolInfo.Current.Version));
        Assert.All(Keys(root), k => Assert.Matches("^[a-z][A-Za-z0-9]*$", k));
    }

    private static void AssertStats(JsonElement stats) => Assert.Equal(StatsKeys, stats.EnumerateObject().Select(p => p.Name));

    [Fact]
    public void Repeat_document()
    {
        var runs = Enumerable.Range(0, 4).Select(i => (IReadOnlyList<PhaseRecord>)(i == 2
            ? [Ok(Phase.Tcp, 1), Failed(Phase.X224, Ending.Reset)]
            : [Ok(Phase.Tcp, 1 + i), Ok(Phase.X224, 10 + i)])).ToList();
        var failure = Verdict.From(runs[2]);
        var run = new RepeatRun(ProbeTarget.Parse("[::1]:13389"), Repeat.Summarise(runs, 4), failure);

        ReportSchemas.AssertValid(ReportSchemas.Repeat, run.ToJson());
        using var doc = JsonDocument.Parse(run.ToJson());
        var root = doc.RootElement;
        AssertEnvelope(root, "rdpprobe.repeat/2");
        Assert.Equal("[::1]:13389", root.GetProperty("target").GetString());
        Assert.Equal(3, root.GetProperty("runsFullySucceeded").GetInt32());
        var x224 = root.GetProperty("phases").EnumerateArray().Single(p => p.GetProperty("phase").GetString() == "x224");
        Assert.Equal(0.75, x224.GetProperty("successRate").GetDouble());
        Assert.Equal(1, x224.GetProperty("failures").GetProperty("reset").GetInt32());
        var wire = x224.GetProperty("wireMs");
        AssertStats(wire);
        Assert.Equal(3, wire.GetProperty("count").GetInt32());
        Assert.Equal(10, wire.GetProperty("min").GetDouble());
        Assert.Equal(11, wire.GetProperty("median").GetDouble());
        Assert.Equal(13, wire.GetProperty("max").GetDouble());
        Assert.Equal(11.333, wire.GetProperty("mean").GetDouble());

        // The exit code follows the last failing run, unless every run completed.
        Assert.Same(failure, run.Failure);
        Assert.Null(new RepeatRun(run.Target, Repeat.Summarise([runs[0]], 1), null).Failure);
    }

    [Fact]
    public void Concurrency_document()
    {
        var results = new List<ConnectionResult>
        {
            new(1, ConnectionState.Accepted, 1, "Connection Confirm", true),
            new(2, ConnectionState.Refused, 1, "RST to SYN", false),
        };
        var result = ConcurrencyTest.Summarise(2, results, ConcurrencyStage.X224Request);
        var run = new ConcurrencyRun(ProbeTarget.Parse("srv:3390"), IPAddress.Parse("192.0.2.7"), result, null);

        ReportSchemas.AssertValid(ReportSchemas.Concurrency, run.ToJson()!);
        using var doc = JsonDocument.Parse(run.ToJson()!);
        var root = doc.RootElement;
        AssertEnvelope(root, "rdpprobe.concurrency/2");
        Assert.Equal("srv:3390", root.GetProperty("target").GetString());
        Assert.Equal("192.0.2.7", root.GetProperty("address").GetString());
        Assert.Equal(1, root.GetProperty("accepted").GetInt32());
        Assert.Equal(1, root.GetProperty("openAtEnd").GetInt32());
        Assert.Equal(2, root.GetProperty("firstFailure").GetInt32());
        Assert.True(run.Failed);
    }

    [Fact]
    public void A_concurrency_run_whose_name_did_not_resolve_has_no_document_and_fails()
    {
        var dns = new PhaseRecord(Phase.Dns);
        dns.Fail(Ending.Unreachable, Codes.NameNotFound, "the name x does not resolve");
        var run = new ConcurrencyRun(ProbeTarget.Parse("x"), null, null, dns);
        Assert.Null(run.ToJson());
        Assert.True(run.Failed);
    }

    [Fact]
    public void Bench_document_uses_the_same_statistics_shape()
    {
        var tcp = new PhaseRecord(Phase.Tcp) { Ms = 1, WallMs = 1 };
        var x224 = new PhaseRecord(Phase.X224) { WallMs = 5 };
        x224.Messages.AddRange([new(Direction.Sent, 0, 19, "CR"), new(Direction.Received, 3, 19, "CC")]);
        var report = BenchRunner.Summarise("srv:3389", [], [new BenchRun([tcp, x224], null)], new BenchOptions { Runs = 1, Warmup = 0 });

        ReportSchemas.AssertValid(ReportSchemas.Bench, report.ToJson());
        using var doc = JsonDocument.Parse(report.ToJson());
        var root = doc.RootElement;
        AssertEnvelope(root, "rdpprobe.bench/2");
        AssertStats(root.GetProperty("rttMs"));
        foreach (var phase in root.GetProperty("phases").EnumerateArray())
        {
            foreach (string name in new[] { "wireMs", "wallMs", "clientMs", "roundTrips", "networkMs", "serverMs" })
            {
                AssertStats(phase.GetProperty(name));
            }
        }

        AssertStats(root.GetProperty("total").GetProperty("wireMs"));
        Assert.Null(report.MostFailedPhase);
    }

    [Fact]
    public void Bench_exit_phase_is_the_one_that_failed_most()
    {
        PhaseRecord[] Run(bool x224Fails)
        {
            var x224 = new PhaseRecord(Phase.X224);
            if (x224Fails)
            {
                x224.Fail(Ending.Reset);
            }

            return [new PhaseRecord(Phase.Tcp) { Ms = 1 }, x224];
        }

        var report = BenchRunner.Summarise("t", [], [new BenchRun(Run(true), null), new BenchRun(Run(false), null)], new BenchOptions { Runs = 2 });
        Assert.Equal(Phase.X224, report.MostFailedPhase);
    }

    [Fact]
    public void A_target_that_threw_is_one_error_line()
    {
        var outcome = new TargetOutcome<ProbeReport>(new TargetSpec(ProbeTarget.Parse("srv:1"), 3), null, "boom", 1);
        string line = TargetsRunner.JsonLine(outcome);
        Assert.Equal("""{"schema":"rdpprobe.probe/1","target":"srv:1","error":"boom"}""", line);
    }

    [Fact]
    public void A_target_report_is_its_probe_document_on_one_line()
    {
        var report = new ProbeReport(ProbeTarget.Parse("127.0.0.1:1")) { Address = IPAddress.Loopback };
        report.Phases.Add(Failed(Phase.Tcp, Ending.Refused));
        report.Verdict = Verdict.From(report.Phases);
        string line = TargetsRunner.JsonLine(new TargetOutcome<ProbeReport>(new TargetSpec(report.Target, 1), report, null, 1));
        Assert.DoesNotContain('\n', line);
        using var doc = JsonDocument.Parse(line);
        Assert.Equal(ProbeJson.Serialize(report).ReplaceLineEndings(string.Empty).Replace(" ", string.Empty, StringComparison.Ordinal), line.Replace(" ", string.Empty, StringComparison.Ordinal));
    }
}
