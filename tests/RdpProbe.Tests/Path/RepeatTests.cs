using RdpProbe.Diagnosis;
using RdpProbe.Runs;

namespace RdpProbe.Tests.NetPath;

public sealed class RepeatTests
{
    private static PhaseRecord Ok(Phase phase, double ms) => new(phase) { Ms = ms };

    private static PhaseRecord Failed(Phase phase, Ending ending)
    {
        var r = new PhaseRecord(phase);
        r.Fail(ending);
        return r;
    }

    [Fact]
    public void Percentiles_are_nearest_rank_of_measured_values()
    {
        double[] sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        Assert.Equal(5, LatencyStats.Percentile(sorted, 0.50));
        Assert.Equal(9, LatencyStats.Percentile(sorted, 0.90));
        Assert.Equal(10, LatencyStats.Percentile(sorted, 0.99));
        Assert.Null(LatencyStats.Of([]));
        Assert.Equal(7, LatencyStats.Percentile([7], 0.99));
    }

    [Fact]
    public async Task One_reset_in_ten_is_reported_as_intermittent_tls()
    {
        int calls = 0;
        Task<IReadOnlyList<PhaseRecord>> Probe(int i, CancellationToken ct)
        {
            calls++;
            IReadOnlyList<PhaseRecord> run = i % 10 == 3
                ? [Ok(Phase.Tcp, 1 + i), Ok(Phase.X224, 2), Failed(Phase.Tls, Ending.Reset)]
                : [Ok(Phase.Tcp, 1 + i), Ok(Phase.X224, 2), Ok(Phase.Tls, 10 + i)];
            return Task.FromResult(run);
        }

        var report = await Repeat.RunAsync(Probe, 20, new RepeatOptions { Pause = TimeSpan.Zero });

        Assert.Equal(20, calls);
        Assert.Equal(18, report.RunsFullySucceeded);
        var tls = Assert.Single(report.Phases, p => p.Phase == Phase.Tls);
        Assert.Equal(20, tls.Attempted);
        Assert.Equal(18, tls.Succeeded);
        Assert.Equal(0.9, tls.SuccessRate, 3);
        Assert.Equal(2, tls.FailureEndings[Ending.Reset]);
        Assert.Equal(10, tls.WireMs!.Min);
        Assert.Equal(29, tls.WireMs!.Max);
        var tcp = Assert.Single(report.Phases, p => p.Phase == Phase.Tcp);
        Assert.Equal(1.0, tcp.SuccessRate);
        Assert.Equal(10, tcp.WireMs!.Median);
        Assert.StartsWith("Intermittent: tls failed in 2 of 20 runs (90 % succeeded; reset ×2)", report.Verdict, StringComparison.Ordinal);
    }

    [Fact]
    public void All_failing_is_a_fixed_cause_and_skipped_phases_are_not_counted()
    {
        var skipped = new PhaseRecord(Phase.Credssp);
        skipped.Skip("no credentials");
        var runs = Enumerable.Range(0, 3).Select(_ => (IReadOnlyList<PhaseRecord>)[Ok(Phase.Tcp, 1), Failed(Phase.X224, Ending.NegotiationFailure), skipped]).ToList();

        var report = Repeat.Summarise(runs, 3);

        Assert.DoesNotContain(report.Phases, p => p.Phase == Phase.Credssp);
        Assert.Null(report.Phases.Single(p => p.Phase == Phase.X224).WireMs);
        Assert.StartsWith("Consistent failure: x224 failed in all 3 runs (negotiation_failure ×3)", report.Verdict, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bounds_are_enforced()
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Repeat.RunAsync((_, _) => Task.FromResult<IReadOnlyList<PhaseRecord>>([]), 0));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Repeat.RunAsync((_, _) => Task.FromResult<IReadOnlyList<PhaseRecord>>([]), Repeat.MaxRuns + 1));

        // The total time bound stops starting new runs.
        var report = await Repeat.RunAsync(async (_, ct) => { await Task.Delay(30, ct); return [Ok(Phase.Tcp, 1)]; }, 1000, new RepeatOptions { TotalTimeout = TimeSpan.FromMilliseconds(100), Pause = TimeSpan.Zero });
        Assert.InRange(report.RunsDone, 1, 999);
        Assert.Equal(1000, report.RunsAsked);
    }
}
