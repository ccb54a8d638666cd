namespace RdpProbe.Runs;

/// <summary>
/// Order statistics of one measured quantity over the runs of a repeat or bench run: the one statistics shape of the
/// JSON documents (<c>{"count", "min", "median", "p90", "p99", "max", "mean"}</c>). Times are in milliseconds; the
/// bench's round-trip counts use the same shape.
/// </summary>
public sealed record LatencyStats(int Count, double Min, double Median, double P90, double P99, double Max, double Mean)
{
    /// <summary>
    /// Nearest-rank percentile of <paramref name="sorted"/> (ascending): the value at rank ceil(p × n), 1-based,
    /// clamped to [1, n], no interpolation — every reported number was measured, so a p99 over 20 runs is honestly
    /// the slowest run. p = 0 gives the minimum, p = 1 the maximum, p = 0.5 over an even count the lower middle.
    /// </summary>
    public static double Percentile(IReadOnlyList<double> sorted, double p)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        if (sorted.Count == 0)
        {
            throw new ArgumentException("no values", nameof(sorted));
        }

        if (double.IsNaN(p) || p < 0 || p > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(p), "a percentile is a fraction in [0, 1]");
        }

        int rank = (int)Math.Ceiling(p * sorted.Count);
        return sorted[Math.Clamp(rank, 1, sorted.Count) - 1];
    }

    /// <summary>min / median / p90 / p99 / max / mean of the values (NaN left out); null when there are none.</summary>
    public static LatencyStats? Of(IEnumerable<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        double[] sorted = [.. values.Where(v => !double.IsNaN(v))];
        if (sorted.Length == 0)
        {
            return null;
        }

        Array.Sort(sorted);
        return new LatencyStats(
            sorted.Length,
            sorted[0],
            Percentile(sorted, 0.50),
            Percentile(sorted, 0.90),
            Percentile(sorted, 0.99),
            sorted[^1],
            Math.Round(sorted.Average(), 3));
    }
}
