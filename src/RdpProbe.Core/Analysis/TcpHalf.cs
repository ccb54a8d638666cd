namespace RdpProbe.Analysis;

/// <summary>Receives one direction of a TCP stream in sequence order.</summary>
internal interface IStreamConsumer
{
    void Feed(ReadOnlySpan<byte> data, int frame);

    /// <summary><paramref name="length"/> bytes the capture never saw (loss in the capture, or the snap length).</summary>
    void Gap(int length, int frame);

    /// <summary>The stream ended (the flow finished): nothing more comes; release what is held.</summary>
    void End(int frame);
}

/// <summary>What a data segment was, relative to what this direction already delivered.</summary>
internal enum SegmentKind : byte
{
    Empty,
    InOrder,

    /// <summary>All of its bytes were already seen (RFC 9293 retransmission; Wireshark tcp.analysis.retransmission).</summary>
    Retransmission,

    /// <summary>Part old, part new (a repacketized retransmission or overlapping segment); the new part is delivered.</summary>
    Overlap,

    /// <summary>Ahead of the next expected byte: an earlier segment is missing (lost or still to come).</summary>
    OutOfOrder,

    /// <summary>One byte below the next expected sequence number with nothing new: a TCP keep-alive.</summary>
    KeepAlive,
}

/// <summary>
/// One direction of a TCP connection: sequence tracking and reassembly into an <see cref="IStreamConsumer"/>.
/// In-order data is handed over straight from the capture buffer (no copy); only segments that arrive ahead
/// of a hole are copied, and their number and size are bounded. A hole the peer acknowledged (the data reached
/// the peer but not the capture) is skipped as a gap.
/// </summary>
internal sealed class TcpHalf
{
    public const int MaxBufferedSegments = 64;
    public const int MaxBufferedBytes = 256 * 1024;

    private readonly IStreamConsumer _consumer;
    private List<Buffered>? _ahead;
    private int _aheadBytes;

    public TcpHalf(IStreamConsumer consumer) => _consumer = consumer;

    public bool HasBase { get; private set; }

    /// <summary>Next sequence number expected from this side.</summary>
    public uint NextSeq { get; private set; }

    /// <summary>Highest sequence number + length sent by this side (the right edge of what it sent).</summary>
    public uint HighestEnd { get; private set; }

    public bool SynSeen { get; set; }
    public int SynFrame { get; set; }
    public bool FinSeen { get; set; }
    public int FinFrame { get; set; }

    /// <summary>Highest acknowledgment this side sent for the peer's data, when it sent one.</summary>
    public uint HighestAck { get; set; }
    public bool HasAck { get; set; }
    public uint LastAck { get; set; }
    public ushort LastWindow { get; set; }
    public int LastAckFrame { get; set; }

    /// <summary>
    /// Wireshark's per-direction analysis state (its tcp_analyze_seq_info): the highest sequence number + length this
    /// side sent, SYN and FIN counted (<see cref="AckRuleNextSeq"/>), the ACK and window of its previous segment, and
    /// whether that segment was a keep-alive. Kept apart from reassembly's <see cref="NextSeq"/>, which counts only
    /// in-order data, so the ACK classification agrees with tcp.analysis.* frame for frame.
    /// </summary>
    public uint AckRuleNextSeq { get; set; }

    public bool AckRuleHasNextSeq { get; set; }

    public uint AckRuleLastAck { get; set; }

    public ushort AckRuleWindow { get; set; }

    public bool AckRuleSeen { get; set; }

    public bool LastWasKeepAlive { get; set; }

    public long PayloadBytes { get; private set; }
    public long Segments { get; set; }
    public long DeliveredBytes { get; private set; }
    public long GapBytes { get; private set; }
    public int BufferedCount => _ahead?.Count ?? 0;

    /// <summary>Sets the initial sequence (SYN: ISN + 1; a flow first seen mid-stream: its first segment).</summary>
    public void SetBase(uint nextSeq)
    {
        HasBase = true;
        NextSeq = nextSeq;
        HighestEnd = nextSeq;
    }

    /// <summary>Accounts for a segment carrying <paramref name="wireLength"/> payload bytes starting at <paramref name="seq"/>.</summary>
    public SegmentKind OnData(uint seq, ReadOnlySpan<byte> captured, int wireLength, int frame)
    {
        if (wireLength <= 0)
        {
            return SegmentKind.Empty;
        }

        if (!HasBase)
        {
            SetBase(seq);
        }

        PayloadBytes += wireLength;
        uint end = seq + (uint)wireLength;
        if ((int)(end - HighestEnd) > 0)
        {
            HighestEnd = end;
        }

        int rel = (int)(seq - NextSeq);
        if (rel + wireLength <= 0)
        {
            return wireLength == 1 && rel == -1 ? SegmentKind.KeepAlive : SegmentKind.Retransmission;
        }

        if (rel > 0)
        {
            return BufferAhead(seq, captured, wireLength, frame);
        }

        var kind = rel < 0 ? SegmentKind.Overlap : SegmentKind.InOrder;
        Deliver(captured, wireLength, -rel, frame);
        DrainAhead(frame);
        return kind;
    }

    /// <summary>
    /// The peer acknowledged up to <paramref name="ack"/>: bytes below it that the capture never held are skipped
    /// (they reached the peer, so they will not come again). Returns how many bytes were skipped.
    /// </summary>
    public int SkipAcknowledgedHole(uint ack, int frame)
    {
        if (!HasBase || (int)(ack - NextSeq) <= 0)
        {
            return 0;
        }

        // Only skip up to the first buffered segment or the ack, whichever comes first; then drain.
        uint target = ack;
        if (_ahead is { Count: > 0 })
        {
            uint first = _ahead[0].Seq;
            if ((int)(first - target) < 0)
            {
                target = first;
            }
        }

        int hole = (int)(target - NextSeq);
        if (hole <= 0)
        {
            return 0;
        }

        GapBytes += hole;
        _consumer.Gap(hole, frame);
        NextSeq = target;
        DrainAhead(frame);
        return hole;
    }

    /// <summary>The flow finished: hands over what is still buffered (<see cref="Flush"/>), then ends the stream.</summary>
    public void End(int frame)
    {
        Flush(frame);
        _consumer.End(frame);
    }

    /// <summary>At the end of the flow: hand over what is still buffered behind holes.</summary>
    public void Flush(int frame)
    {
        while (_ahead is { Count: > 0 })
        {
            var first = _ahead[0];
            int hole = (int)(first.Seq - NextSeq);
            if (hole > 0)
            {
                GapBytes += hole;
                _consumer.Gap(hole, first.Frame);
                NextSeq = first.Seq;
            }

            DrainAhead(frame);
        }
    }

    private void Deliver(ReadOnlySpan<byte> captured, int wireLength, int skip, int frame)
    {
        // captured may be shorter than wireLength when the snap length cut the frame: the rest is a gap.
        int newBytes = wireLength - skip;
        if (skip < captured.Length)
        {
            var fresh = captured[skip..];
            _consumer.Feed(fresh, frame);
            DeliveredBytes += fresh.Length;
            int missing = newBytes - fresh.Length;
            if (missing > 0)
            {
                GapBytes += missing;
                _consumer.Gap(missing, frame);
            }
        }
        else
        {
            GapBytes += newBytes;
            _consumer.Gap(newBytes, frame);
        }

        NextSeq += (uint)newBytes;
    }

    private SegmentKind BufferAhead(uint seq, ReadOnlySpan<byte> captured, int wireLength, int frame)
    {
        _ahead ??= [];
        foreach (var b in _ahead)
        {
            if (b.Seq == seq && b.WireLength >= wireLength)
            {
                return SegmentKind.Retransmission;
            }
        }

        if (_ahead.Count >= MaxBufferedSegments || _aheadBytes + captured.Length > MaxBufferedBytes)
        {
            // Bounded memory: treat the hole before the oldest buffered segment as lost and move on.
            var first = _ahead[0];
            int hole = (int)(first.Seq - NextSeq);
            if (hole > 0)
            {
                GapBytes += hole;
                _consumer.Gap(hole, frame);
                NextSeq = first.Seq;
            }

            DrainAhead(frame);
            int rel = (int)(seq - NextSeq);
            if (rel <= 0)
            {
                if (rel + wireLength <= 0)
                {
                    return SegmentKind.Retransmission;
                }

                Deliver(captured, wireLength, -rel, frame);
                DrainAhead(frame);
                return SegmentKind.OutOfOrder;
            }
        }

        var copy = captured.ToArray();
        int index = _ahead.Count;
        while (index > 0 && (int)(_ahead[index - 1].Seq - seq) > 0)
        {
            index--;
        }

        _ahead.Insert(index, new Buffered(seq, copy, wireLength, frame));
        _aheadBytes += copy.Length;
        return SegmentKind.OutOfOrder;
    }

    private void DrainAhead(int frame)
    {
        while (_ahead is { Count: > 0 })
        {
            var first = _ahead[0];
            int rel = (int)(first.Seq - NextSeq);
            if (rel > 0)
            {
                return;
            }

            _ahead.RemoveAt(0);
            _aheadBytes -= first.Data.Length;
            if (rel + first.WireLength > 0)
            {
                Deliver(first.Data, first.WireLength, -rel, Math.Max(frame, first.Frame));
            }
        }
    }

    private readonly record struct Buffered(uint Seq, byte[] Data, int WireLength, int Frame);
}
