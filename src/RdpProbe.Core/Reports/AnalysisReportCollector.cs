namespace RdpProbe.Reports;

/// <summary>
/// Gathers a streamed analysis back into the whole "rdpprobe.analysis/1" report, for the outputs that need every
/// connection at once (the HTML page). Holds every connection: use it only where that is the point.
/// Connections are put back in the order of their first frames, as the /1 document lists them, with their chain keys.
/// </summary>
public sealed class AnalysisReportCollector : IAnalysisSink
{
    private readonly List<ConnectionReport> _connections = [];
    private readonly List<ChainReport> _chains = [];

    /// <summary>The report, once <see cref="End"/> was called.</summary>
    public AnalysisReport? Report { get; private set; }

    public void Begin(IReadOnlyList<string> files)
    {
    }

    public void Connection(int index, ConnectionReport connection, int? verdictId, VerdictProse? newVerdict) => _connections.Add(connection);

    public void Chain(ChainReport chain) => _chains.Add(chain);

    public void End(AnalysisSummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        var order = Enumerable.Range(0, _connections.Count).OrderBy(i => _connections[i].FirstFrame).ToArray();
        var position = new int[order.Length];
        for (int p = 0; p < order.Length; p++)
        {
            position[order[p]] = p;
        }

        var marks = new Dictionary<int, (int ChainId, int AttemptIndex, bool Superseded)>();
        var chains = new List<ChainReport>(_chains.Count);
        foreach (var ch in _chains.OrderBy(c => c.FirstFrame))
        {
            int id = chains.Count + 1;
            for (int k = 0; k < ch.Attempts.Count; k++)
            {
                marks[ch.Attempts[k].Connection] = (id, k, ch.Attempts[k].SupersededByFallback);
            }

            chains.Add(ch with { Id = id, Attempts = ch.Attempts.Select(a => a with { Connection = position[a.Connection] }).ToArray() });
        }

        var connections = order.Select(i => marks.TryGetValue(i, out var m)
            ? _connections[i] with { ChainId = m.ChainId, AttemptIndex = m.AttemptIndex, SupersededByFallback = m.Superseded }
            : _connections[i]).ToArray();
        Report = new AnalysisReport(AnalysisReport.SchemaName, summary.Files, summary.Packets, summary.Bytes, summary.Seconds, connections,
            summary.Udp, summary.Icmp, summary.Fragments, summary.Damage, summary.Warnings)
        {
            Chains = chains,
            FailedConnections = summary.FailedConnections,
        };
    }
}
