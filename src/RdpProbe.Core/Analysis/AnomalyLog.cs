using RdpProbe.Diagnosis;

namespace RdpProbe.Analysis;

/// <summary>Anomaly kinds of the analysis report (Wireshark's tcp.analysis names where one exists) plus a few the analyzer adds.</summary>
internal static class AnomalyKinds
{
    public const string Retransmission = "retransmission";
    public const string Reset = "reset";
    public const string ZeroWindow = "zero_window";
    public const string LostSegment = "lost_segment";
    public const string FragNeeded = "frag_needed";
    public const string PacketTooBig = "packet_too_big";
    public const string IpFragment = "ip_fragment";
    public const string UdpNoReply = "udp_no_reply";
    public const string TlsAlert = "tls_alert";
    public const string Stall = "stall";
    public const string DuplicateAck = "duplicate_ack";
    public const string OutOfOrder = "out_of_order";
    public const string ExceedsPathMtu = "exceeds_path_mtu";
    public const string IcmpUnreachable = "icmp_unreachable";
    public const string LostSync = "lost_sync";
}

/// <summary>
/// Findings of one connection, merged by (kind, phase, side) so a long retransmission storm is one entry with a
/// count and its first frames, not thousands of entries: memory stays bounded per connection.
/// </summary>
internal sealed class AnomalyLog
{
    public const int MaxFramesPerEntry = 32;

    private readonly List<Entry> _entries = [];

    public int Count => _entries.Count;

    /// <param name="inferred">The anomaly was concluded from what the capture shows around it (a record's length,
    /// a pattern), not read from the wire: the finding says so where it is stated.</param>
    public void Add(string kind, Phase? phase, string? from, int frame, string? detail = null, bool inferred = false)
    {
        foreach (var e in _entries)
        {
            if (e.Kind == kind && e.Phase == phase && e.From == from && e.Inferred == inferred && (detail is null || e.Detail == detail))
            {
                e.Count++;
                if (e.Frames.Count < MaxFramesPerEntry && (e.Frames.Count == 0 || e.Frames[^1] != frame))
                {
                    e.Frames.Add(frame);
                }

                return;
            }
        }

        var entry = new Entry(kind, phase, from, detail) { Count = 1, Inferred = inferred };
        entry.Frames.Add(frame);
        _entries.Add(entry);
    }

    public bool Has(string kind) => _entries.Exists(e => e.Kind == kind);

    public bool Has(string kind, string from) => _entries.Exists(e => e.Kind == kind && e.From == from);

    public IEnumerable<(string Kind, Phase? Phase, string? From, string? Detail, IReadOnlyList<int> Frames, int Count)> Entries =>
        _entries.Select(e => (e.Kind, e.Phase, e.From, e.Detail, (IReadOnlyList<int>)e.Frames, e.Count));

    public List<AnomalyFinding> ToFindings(string connectionFilter)
    {
        var list = new List<AnomalyFinding>(_entries.Count);
        foreach (var e in _entries)
        {
            string filter = e.Count > e.Frames.Count && e.Kind == AnomalyKinds.Retransmission
                ? $"{connectionFilter} && tcp.analysis.retransmission"
                : e.Count > e.Frames.Count && e.Kind == AnomalyKinds.DuplicateAck
                    ? $"{connectionFilter} && tcp.analysis.duplicate_ack"
                    : Filters.Frames(e.Frames);
            list.Add(new AnomalyFinding(e.Kind, e.Frames.ToArray(), e.Count, e.Phase, e.From, e.Detail, filter) { Inferred = e.Inferred });
        }

        return list;
    }

    private sealed class Entry(string kind, Phase? phase, string? from, string? detail)
    {
        public string Kind { get; } = kind;
        public Phase? Phase { get; } = phase;
        public string? From { get; } = from;
        public string? Detail { get; } = detail;
        public List<int> Frames { get; } = [];
        public int Count { get; set; }
        public bool Inferred { get; init; }
    }
}

/// <summary>Wireshark display filters for findings.</summary>
internal static class Filters
{
    public static string Frames(IEnumerable<int> frames)
    {
        // Sorted, each frame once (one pass over a copy: this runs for every anomaly of every connection).
        int[] list = [.. frames];
        Array.Sort(list);
        int count = 0;
        for (int i = 0; i < list.Length; i++)
        {
            if (count == 0 || list[i] != list[count - 1])
            {
                list[count++] = list[i];
            }
        }

        if (count == 1)
        {
            return $"frame.number == {list[0]}";
        }

        // Wireshark 3.6+ and tshark 4.x read set members separated by commas, runs as "a..b" (a space-separated set
        // is rejected: '"12" was unexpected in this context').
        var text = new System.Text.StringBuilder("frame.number in {", 17 + count * 8);
        for (int i = 0; i < count;)
        {
            int j = i;
            while (j + 1 < count && list[j + 1] == list[j] + 1)
            {
                j++;
            }

            if (i > 0)
            {
                text.Append(',');
            }

            text.Append(list[i]);
            if (j > i)
            {
                text.Append(j - i >= 2 ? ".." : ",").Append(list[j]);
            }

            i = j + 1;
        }

        return text.Append('}').ToString();
    }

    public static string Conversation(IpEndpoint a, IpEndpoint b, string transport)
    {
        string ip = a.Address.IsV4 ? "ip" : "ipv6";
        return $"{ip}.addr=={a.Address} && {ip}.addr=={b.Address} && {transport}.port=={a.Port} && {transport}.port=={b.Port}";
    }
}
