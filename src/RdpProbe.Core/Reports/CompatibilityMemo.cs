using RdpProbe.Analysis;
using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Reports;

/// <summary>
/// The compatibility table (every client profile against a connection's facts) remembered by the facts that decide
/// it, for one analysis run: a capture of thousands of alike handshakes has a handful of distinct tables, and
/// evaluating every profile per connection was a seventh of the analysis time (bench/RESULTS-analyzer.md). The key
/// is <see cref="FactsKey"/>. Bounded: past
/// <see cref="MaxEntries"/> distinct keys tables are computed and not kept. Not thread-safe (one per run, used by the
/// thread that builds the reports).
/// </summary>
internal sealed class CompatibilityMemo
{
    public const int MaxEntries = 4096;

    private readonly Dictionary<FactsKey, IReadOnlyList<ClientVerdictReport>> _tables = [];

    public int Count => _tables.Count;

    /// <summary>The table of <paramref name="c"/> (a connection with a client verdict), computed once per distinct key.</summary>
    public IReadOnlyList<ClientVerdictReport> Get<TState>(AnalyzedConnection c, TState state, Func<AnalyzedConnection, TState, IReadOnlyList<ClientVerdictReport>> compute)
    {
        var key = FactsKey.Of(c);
        if (_tables.TryGetValue(key, out var table))
        {
            return table;
        }

        table = compute(c, state);
        if (_tables.Count < MaxEntries)
        {
            _tables[key] = table;
        }

        return table;
    }
}
