using RdpProbe.Runs;

namespace RdpProbe.Tests.Bench;

public sealed class BenchStatsTests
{
    private static readonly double[] OneToHundred = [.. Enumerable.Range(1, 100).Select(i => (double)i)];

    [Theory]
    [InlineData(0.0, 1)]
    [InlineData(0.01, 1)]
    [InlineData(0.5, 50)]
    [InlineData(0.9, 90)]
    [InlineData(0.99, 99)]
    [InlineData(0.991, 100)]
    [InlineData(1.0, 100)]
    public void Nearest_rank_over_one_to_hundred(double p, double expected)
        => Assert.Equal(expected, LatencyStats.Percentile(OneToHundred, p));

    [Fact]
    public void Small_samples_take_measured_values_not_interpolations()
    {
        double[] ten = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
        Assert.Equal(50, LatencyStats.Percentile(ten, 0.5));    // rank ceil(5) = 5: the lower middle, not 55
        Assert.Equal(90, LatencyStats.Percentile(ten, 0.9));    // rank 9
        Assert.Equal(100, LatencyStats.Percentile(ten, 0.99));  // rank ceil(9.9) = 10: the slowest run
        double[] three = [1, 2, 3];
        Assert.Equal(2, LatencyStats.Percentile(three, 0.5));
        Assert.Equal(3, LatencyStats.Percentile(three, 0.9));
    }

    [Fact]
    public void Single_value_is_every_percentile()
    {
        var d = LatencyStats.Of([7.5])!;
        Assert.Equal(new LatencyStats(1, 7.5, 7.5, 7.5, 7.5, 7.5, 7.5), d);
    }

    [Fact]
    public void Summarize_sorts_unsorted_input_and_ignores_nan()
    {
        var d = LatencyStats.Of([5, 1, double.NaN, 4, 2, 3])!;
        Assert.Equal(5, d.Count);
        Assert.Equal(1, d.Min);
        Assert.Equal(3, d.Median);
        Assert.Equal(5, d.P90);
        Assert.Equal(5, d.P99);
        Assert.Equal(5, d.Max);
        Assert.Equal(3, d.Mean);
    }

    [Fact]
    public void Empty_input_has_no_distribution_and_percentile_rejects_it()
    {
        Assert.Null(LatencyStats.Of([]));
        Assert.Throws<ArgumentException>(() => LatencyStats.Percentile([], 0.5));
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void Percentile_outside_zero_to_one_is_rejected(double p)
        => Assert.Throws<ArgumentOutOfRangeException>(() => LatencyStats.Percentile([1.0, 2.0], p));
}
