namespace RdpProbe.Analysis;

/// <summary>
/// IPv4/IPv6 fragment reassembly (RFC 791 §3.2, RFC 8200 §4.5), bounded: at most
/// <see cref="AnalyzerOptions.MaxFragmentDatagrams"/> datagrams in progress, <see cref="AnalyzerLimits.MaxFragmentsPerDatagram"/>
/// pieces and 64 KiB each; datagrams that never complete are counted as incomplete when they expire.
/// </summary>
internal sealed partial class CaptureAnalyzer
{
    private const int MaxFragmentsPerDatagram = AnalyzerLimits.MaxFragmentsPerDatagram;
    private static readonly long FragmentTimeoutMicros = 60_000_000;

    private readonly Dictionary<FragmentKey, FragmentBuffer> _fragments = [];
    private readonly List<FragmentKey> _fragmentSweepKeys = [];

    public long Ipv4Fragments { get; private set; }
    public long Ipv6Fragments { get; private set; }
    public long Reassembled { get; private set; }
    public long Incomplete { get; private set; }

    private void OnFragment(ref DecodedPacket p, int frame, long ts)
    {
        if (p.IpVersion == 4)
        {
            Ipv4Fragments++;
        }
        else
        {
            Ipv6Fragments++;
        }

        var key = new FragmentKey(p.Source, p.Destination, p.FragmentId, p.Protocol, (byte)p.IpVersion);
        if (!_fragments.TryGetValue(key, out var buffer))
        {
            if (_fragments.Count >= _maxFragmentDatagrams)
            {
                Incomplete++;
                return;
            }

            buffer = new FragmentBuffer(ts);
            _fragments[key] = buffer;
        }

        buffer.LastTimestamp = ts;
        if (buffer.Pieces.Count >= MaxFragmentsPerDatagram || p.FragmentOffset + p.IpPayload.Length > 65535)
        {
            return;
        }

        buffer.Pieces.Add((p.FragmentOffset, p.IpPayload.ToArray(), frame));
        if (!p.MoreFragments)
        {
            buffer.TotalLength = p.FragmentOffset + p.IpPayload.Length;
        }

        if (buffer.TotalLength is not { } total || !buffer.IsComplete(total))
        {
            return;
        }

        _fragments.Remove(key);
        Reassembled++;
        var datagram = new byte[total];
        var frames = new int[buffer.Pieces.Count];
        for (int i = 0; i < buffer.Pieces.Count; i++)
        {
            var (offset, data, f) = buffer.Pieces[i];
            frames[i] = f;

            // A piece may start at or beyond the length the last fragment announced (a crafted or inconsistent
            // capture): RFC 791 reassembly only fills octets below the total length, so the rest is ignored.
            if (offset >= total)
            {
                continue;
            }

            data.AsSpan(0, Math.Min(data.Length, total - offset)).CopyTo(datagram.AsSpan(offset));
        }

        var whole = p;
        whole.IsFragment = false;
        whole.IpPayload = datagram;
        whole.IpLength = total + (p.IpVersion == 4 ? 20 : 40);
        if (!FrameDecoder.TryDecodeTransport(ref whole, total))
        {
            return;
        }

        switch (whole.Protocol)
        {
            case IpProtocols.Tcp:
                OnTcp(ref whole, frame, ts);
                if (_tcp.TryGetValue(FlowKey.Create(new IpEndpoint(whole.Source, whole.SourcePort), new IpEndpoint(whole.Destination, whole.DestinationPort), IpProtocols.Tcp, out _), out var c))
                {
                    foreach (int f in frames)
                    {
                        c.Anomalies.Add(AnomalyKinds.IpFragment, c.Current, c.Client.Address == whole.Source ? "client" : "server", f, "IP-fragmented segment");
                    }
                }

                break;
            case IpProtocols.Udp:
                if (_rdpPort[whole.DestinationPort] || _rdpPort[whole.SourcePort])
                {
                    OnUdp(ref whole, frame, ts, frames);
                }

                break;
            case IpProtocols.Icmp:
            case IpProtocols.Icmpv6:
                OnIcmp(ref whole, frame);
                break;
        }
    }

    private void SweepFragments(long now)
    {
        _fragmentSweepKeys.Clear();
        foreach (var (key, buffer) in _fragments)
        {
            if (now - buffer.LastTimestamp > FragmentTimeoutMicros)
            {
                _fragmentSweepKeys.Add(key);
            }
        }

        foreach (var key in _fragmentSweepKeys)
        {
            _fragments.Remove(key);
            Incomplete++;
        }
    }

    private readonly record struct FragmentKey(IpAddr Source, IpAddr Destination, uint Id, byte Protocol, byte Version);

    private sealed class FragmentBuffer(long timestamp)
    {
        public long LastTimestamp { get; set; } = timestamp;
        public int? TotalLength { get; set; }
        public List<(int Offset, byte[] Data, int Frame)> Pieces { get; } = [];

        public bool IsComplete(int total)
        {
            // Covered from 0 to total without holes (overlaps allowed).
            var ordered = Pieces.OrderBy(x => x.Offset);
            int covered = 0;
            foreach (var (offset, data, _) in ordered)
            {
                if (offset > covered)
                {
                    return false;
                }

                covered = Math.Max(covered, offset + data.Length);
            }

            return covered >= total;
        }
    }
}
