using System.Text.Json;
using RdpProbe.Diagnosis;
using RdpProbe.Runs;

namespace RdpProbe.Tests.Bench;

/// <summary>The summary arithmetic and the JSON shape, from made-up runs (no network).</summary>
public sealed class BenchReportTests
{
    /// <summary>A run on a path with RTT <paramref name="rtt"/> where the server thinks <paramref name="x224Think"/> ms before the Confirm.</summary>
    private static BenchRun Run(double rtt, double x224Think, string tls = "tls1.2", bool credsspFails = false)
    {
        var tcp = new PhaseRecord(Phase.Tcp) { Ms = rtt, WallMs = rtt, ClientMs = 0 };
        var x224 = new PhaseRecord(Phase.X224) { WallMs = rtt + x224Think + 1 };
        x224.Messages.AddRange([new(Direction.Sent, 0.5, 19, "CR"), new(Direction.Received, 0.5 + rtt + x224Think, 19, "CC")]);
        var tlsRecord = new PhaseRecord(Phase.Tls) { WallMs = 50 };
        tlsRecord.Messages.AddRange([
            new(Direction.Sent, 1, 300, "ClientHello"), new(Direction.Received, 1 + rtt + 2, 1200, "ServerHello"),
            new(Direction.Sent, 20, 100, "Finished"), new(Direction.Received, 20 + rtt + 1, 50, "Finished")]);
        var credssp = new PhaseRecord(Phase.Credssp) { WallMs = 5 };
        credssp.Messages.AddRange([new(Direction.Sent, 0, 57, "NEGOTIATE"), new(Direction.Received, rtt, 160, "CHALLENGE")]);
        if (credsspFails)
        {
            credssp.Fail(Ending.Closed);
        }

        return new BenchRun([tcp, x224, tlsRecord, credssp], tls);
    }

    private static BenchReport Report(params BenchRun[] runs)
        => BenchRunner.Summarise("127.0.0.1:13390", [Run(1, 100)], runs, new BenchOptions { Runs = runs.Length });

    [Fact]
    public void Server_time_is_wire_time_minus_round_trips_times_rtt()
    {
        var report = Report(Run(2, 40), Run(2, 45), Run(2, 50));
        var x224 = report.Phases.Single(p => p.Phase == Phase.X224);
        Assert.Equal(new LatencyStats(3, 42, 47, 52, 52, 52, 47), x224.Wire);
        Assert.Equal(45, x224.Server!.Median);
        Assert.Equal(2, x224.Network!.Median);
        Assert.Equal("server", x224.Attribution);
        Assert.Equal(1, x224.Floor);
        Assert.Equal(0, x224.ExtraRoundTrips);

        var tls = report.Phases.Single(p => p.Phase == Phase.Tls);
        Assert.Equal(2, tls.RoundTrips!.Median);
        Assert.Equal(2, tls.Floor);
        Assert.Equal(4, tls.Network!.Median);
        Assert.Equal(3, tls.Server!.Median);
        Assert.Equal("client", tls.Attribution);

        var tcp = report.Phases.Single(p => p.Phase == Phase.Tcp);
        Assert.Equal("network", tcp.Attribution);
        Assert.Equal(2, report.Rtt!.Median);
        Assert.Equal(5, report.TotalFloor);
        Assert.Equal(5, report.TotalRoundTrips!.Median);
        Assert.True(report.AtFloor);
    }

    [Fact]
    public void Failed_runs_are_counted_but_not_timed()
    {
        var report = Report(Run(1, 10), Run(1, 10, credsspFails: true));
        var credssp = report.Phases.Single(p => p.Phase == Phase.Credssp);
        Assert.Equal(2, credssp.Attempted);
        Assert.Equal(1, credssp.Succeeded);
        Assert.Equal(1, credssp.FailureEndings[Ending.Closed]);
        Assert.Equal(1, credssp.Wire!.Count);
        Assert.Equal(1, report.RunsComplete);
        Assert.Equal(1, report.TotalWire!.Count);
    }

    [Fact]
    public void An_extra_round_trip_shows_against_the_floor()
    {
        // TLS 1.3 with a HelloRetryRequest: ClientHello → HRR, ClientHello → ServerHello…Finished, Finished → tickets.
        var run = Run(1, 10, tls: "tls1.3");
        var tlsRecord = run.Phases.Single(p => p.Phase == Phase.Tls);
        tlsRecord.Messages.Clear();
        tlsRecord.Messages.AddRange([
            new(Direction.Sent, 0, 300, "ClientHello"), new(Direction.Received, 2, 90, "HelloRetryRequest"),
            new(Direction.Sent, 3, 300, "ClientHello"), new(Direction.Received, 5, 1200, "ServerHello"),
            new(Direction.Sent, 9, 60, "Finished"), new(Direction.Received, 11, 239, "NewSessionTicket")]);
        var report = Report(run);
        var tls = report.Phases.Single(p => p.Phase == Phase.Tls);
        Assert.Equal(1, tls.Floor);
        Assert.Equal(2, tls.RoundTrips!.Median);
        Assert.Equal(4, tls.Wire!.Median);
        Assert.Equal(1, tls.ExtraRoundTrips);
        Assert.False(report.AtFloor);
    }

    [Fact]
    public void Json_has_every_distribution_and_the_floor_per_phase()
    {
        var report = Report(Run(1, 40), Run(1, 41), Run(1, 42));
        using var doc = JsonDocument.Parse(report.ToJson());
        var root = doc.RootElement;
        Assert.Equal("rdpprobe.bench/2", root.GetProperty("schema").GetString());
        Assert.Equal(3, root.GetProperty("runsDone").GetInt32());
        Assert.Equal(1, root.GetProperty("warmup").GetInt32());
        Assert.Equal("tcp_connect", root.GetProperty("rttSource").GetString());
        AssertDistribution(root.GetProperty("rttMs"));
        var phases = root.GetProperty("phases").EnumerateArray().ToList();
        Assert.Equal(["tcp", "x224", "tls", "credssp"], phases.Select(p => p.GetProperty("phase").GetString()));
        foreach (var phase in phases)
        {
            foreach (string name in new[] { "wireMs", "wallMs", "clientMs", "roundTrips", "networkMs", "serverMs" })
            {
                AssertDistribution(phase.GetProperty(name));
            }

            Assert.True(phase.GetProperty("rttFloor").GetInt32() >= 1);
            Assert.Equal(JsonValueKind.Number, phase.GetProperty("extraRoundTrips").ValueKind);
            Assert.Contains(phase.GetProperty("attribution").GetString(), new[] { "network", "server", "client" });
        }

        var total = root.GetProperty("total");
        AssertDistribution(total.GetProperty("wireMs"));
        Assert.Equal(5, total.GetProperty("rttFloor").GetInt32());
        Assert.True(total.GetProperty("atFloor").GetBoolean());
    }

    internal static void AssertDistribution(JsonElement d)
    {
        Assert.Equal(JsonValueKind.Object, d.ValueKind);
        double[] values = [.. new[] { "min", "median", "p90", "p99", "max" }.Select(k => d.GetProperty(k).GetDouble())];
        Assert.True(d.GetProperty("count").GetInt32() >= 1);
        for (int i = 1; i < values.Length; i++)
        {
            Assert.True(values[i - 1] <= values[i], $"percentiles out of order: {string.Join(", ", values)}");
        }
    }

    [Fact]
    public async Task Runner_stops_at_the_run_count_and_leaves_warmup_out()
    {
        int calls = 0;
        var report = await BenchRunner.RunAsync("t", (i, _) => { calls++; return Task.FromResult(Run(1, i == 0 ? 500 : 10)); },
            new BenchOptions { Runs = 4, Warmup = 2, Pause = TimeSpan.Zero });
        Assert.Equal(6, calls);
        Assert.Equal(4, report.RunsDone);
        Assert.Equal(11, report.Phases.Single(p => p.Phase == Phase.X224).Wire!.Max);
        Assert.NotNull(report.ColdWall);
    }

    [Fact]
    public async Task Runner_rejects_unbounded_counts()
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => BenchRunner.RunAsync("t", (_, _) => Task.FromResult(Run(1, 1)), new BenchOptions { Runs = 0 }));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => BenchRunner.RunAsync("t", (_, _) => Task.FromResult(Run(1, 1)), new BenchOptions { Runs = BenchOptions.MaxRuns + 1 }));
    }
}
