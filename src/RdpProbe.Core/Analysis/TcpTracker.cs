using RdpProbe.Diagnosis;

namespace RdpProbe.Analysis;

/// <summary>
/// The TCP layer of one connection: sequence numbers and reassembly per direction (<see cref="TcpHalf"/>), the
/// handshake, who ended the connection and how, and the transport anomalies (retransmissions, out-of-order and lost
/// segments, duplicate ACKs, zero windows, resets, segments above the announced path MTU; RFC 9293, Wireshark's
/// tcp.analysis names). It knows nothing of RDP: each direction's ordered bytes, gaps and end go to an
/// <see cref="IStreamConsumer"/>; anomalies are tagged with the phase the <see cref="PhaseTimeline"/> is in.
/// </summary>
internal sealed class TcpTracker
{
    private readonly PhaseTimeline _phases;
    private readonly AnomalyLog _anomalies;
    private readonly uint[] _finSeq = new uint[2];
    private readonly int[] _maxRetransmitted = new int[2];
    private readonly uint[] _lastRetransmittedEnd = new uint[2];
    private readonly bool[] _hasRetransmitted = new bool[2];

    public TcpTracker(IStreamConsumer clientStream, IStreamConsumer serverStream, PhaseTimeline phases, AnomalyLog anomalies)
    {
        _phases = phases;
        _anomalies = anomalies;
        ClientHalf = new TcpHalf(clientStream);
        ServerHalf = new TcpHalf(serverStream);
    }

    public TcpHalf ClientHalf { get; }
    public TcpHalf ServerHalf { get; }

    public long LastClientDataTimestamp { get; private set; } = -1;
    public long LastServerDataTimestamp { get; private set; } = -1;
    public int LastClientDataFrame { get; private set; }
    public int LastServerDataFrame { get; private set; }
    public bool SynAckSeen { get; private set; }
    public bool HandshakeAckSeen { get; private set; }

    // Ending.
    public bool ResetSeen { get; private set; }
    public bool ResetByClient { get; private set; }
    public int ResetFrame { get; private set; }
    public bool? FirstFinByClient { get; private set; }

    /// <summary>The first FIN or RST: who ended the connection and how.</summary>
    public (int Frame, bool ByClient, bool Reset)? FirstEnd { get; private set; }

    /// <summary>When <see cref="FirstEnd"/> happened (capture microseconds), -1 before.</summary>
    public long FirstEndTimestamp { get; private set; } = -1;

    /// <summary>Server segments carrying data after a reset with the server's address ended the flow (issue 11: then a middlebox sent it).</summary>
    public int ServerDataAfterServerReset { get; private set; }

    /// <summary>Server sequence space the capture never saw before a later server segment (bytes lost on the way; issue 11).</summary>
    public long ServerBytesMissing { get; private set; }

    /// <summary>A server segment arrived beyond a hole: the tail of a flight whose start never came.</summary>
    public bool ServerTailAfterHole { get; private set; }

    public bool Closed => ResetSeen || (ClientHalf.FinSeen && ServerHalf.FinSeen);

    /// <summary>Path MTU announced by ICMP for packets sent by the client (index 0) or the server (index 1).</summary>
    public int[] PathMtu { get; } = new int[2];

    /// <summary>Hot path: one TCP segment of this connection, already decoded.</summary>
    public void OnSegment(ref DecodedPacket p, bool fromClient, int frame, long timestamp)
    {
        var half = fromClient ? ClientHalf : ServerHalf;
        var peer = fromClient ? ServerHalf : ClientHalf;
        half.Segments++;
        var flags = p.Flags;
        string side = fromClient ? "client" : "server";
        var ackKind = AckRules.Classify(half, peer, p.Sequence, p.Acknowledgment, flags, p.Window, p.PayloadWireLength);

        if ((flags & TcpFlags.Syn) != 0)
        {
            if (half.SynSeen)
            {
                if (half.NextSeq == p.Sequence + 1 || !half.HasBase)
                {
                    _anomalies.Add(AnomalyKinds.Retransmission, Phase.Tcp, side, frame, fromClient ? "SYN retransmitted" : "SYN+ACK retransmitted");
                }
            }
            else
            {
                half.SynSeen = true;
                half.SynFrame = frame;
                half.SetBase(p.Sequence + 1);
            }

            _phases.Enter(Phase.Tcp, frame, false);
            if (!fromClient && (flags & TcpFlags.Ack) != 0)
            {
                SynAckSeen = true;
            }
        }
        else if (!half.HasBase)
        {
            half.SetBase(p.Sequence);
        }

        if (!fromClient && half.HasBase && (flags & (TcpFlags.Syn | TcpFlags.Rst)) == 0 && (int)(p.Sequence - half.HighestEnd) > 0)
        {
            // The server's own sequence number is ahead of everything the capture saw from it: bytes lost on the way.
            long missing = (int)(p.Sequence - half.HighestEnd);
            ServerBytesMissing = Math.Max(ServerBytesMissing, missing);
            ServerTailAfterHole |= p.PayloadWireLength > 0;
        }

        if (!fromClient && p.PayloadWireLength > 0 && (flags & TcpFlags.Rst) == 0 && FirstEnd is { Reset: true, ByClient: false })
        {
            ServerDataAfterServerReset++;
        }

        if ((flags & TcpFlags.Rst) != 0)
        {
            if (!ResetSeen)
            {
                ResetSeen = true;
                ResetByClient = fromClient;
                ResetFrame = frame;
            }

            _anomalies.Add(AnomalyKinds.Reset, _phases.Current, side, frame);
            _phases.TouchCurrent(frame);

            // An RST+ACK still tells how far this side received.
            if ((flags & TcpFlags.Ack) != 0 && (!half.HasAck || (int)(p.Acknowledgment - half.HighestAck) > 0))
            {
                half.HighestAck = p.Acknowledgment;
                half.HasAck = true;
            }

            if (FirstEnd is null)
            {
                FirstEnd = (frame, fromClient, true);
                FirstEndTimestamp = timestamp;
            }

            return;
        }

        // Sequence space: data first, then the FIN that follows it.
        if (p.PayloadWireLength > 0)
        {
            uint dataSeq = (flags & TcpFlags.Syn) != 0 ? p.Sequence + 1 : p.Sequence;
            if (PathMtu[fromClient ? 0 : 1] is int mtu and > 0 && p.IpLength > mtu)
            {
                _anomalies.Add(AnomalyKinds.ExceedsPathMtu, _phases.Current, side, frame, $"{p.IpLength}-byte packet after the path announced MTU {mtu}");
            }

            var kind = half.OnData(dataSeq, p.Payload, p.PayloadWireLength, frame);
            if (kind is SegmentKind.InOrder or SegmentKind.Overlap or SegmentKind.OutOfOrder)
            {
                if (fromClient)
                {
                    LastClientDataTimestamp = timestamp;
                    LastClientDataFrame = frame;
                }
                else
                {
                    LastServerDataTimestamp = timestamp;
                    LastServerDataFrame = frame;
                }
            }

            switch (kind)
            {
                case SegmentKind.Retransmission:
                case SegmentKind.Overlap:
                    _anomalies.Add(AnomalyKinds.Retransmission, _phases.Current, side, frame);
                    _lastRetransmittedEnd[fromClient ? 0 : 1] = dataSeq + (uint)p.PayloadWireLength;
                    _hasRetransmitted[fromClient ? 0 : 1] = true;
                    if (p.PayloadWireLength > _maxRetransmitted[fromClient ? 0 : 1])
                    {
                        _maxRetransmitted[fromClient ? 0 : 1] = p.PayloadWireLength;
                    }

                    break;
                case SegmentKind.OutOfOrder:
                    _anomalies.Add(AnomalyKinds.OutOfOrder, _phases.Current, side, frame);
                    break;
            }
        }

        if ((flags & TcpFlags.Fin) != 0)
        {
            if (!half.FinSeen)
            {
                half.FinSeen = true;
                half.FinFrame = frame;
                FirstFinByClient ??= fromClient;
                if (FirstEnd is null)
                {
                    FirstEnd = (frame, fromClient, false);
                    FirstEndTimestamp = timestamp;
                }
                uint finSeq = ((flags & TcpFlags.Syn) != 0 ? p.Sequence + 1 : p.Sequence) + (uint)p.PayloadWireLength;
                _finSeq[fromClient ? 0 : 1] = finSeq;
            }
            else if (p.PayloadWireLength == 0 && p.Sequence == _finSeq[fromClient ? 0 : 1])
            {
                // The same FIN again: the peer did not acknowledge it.
                _anomalies.Add(AnomalyKinds.Retransmission, _phases.Current, side, frame, "FIN retransmitted");
            }
        }

        if ((flags & TcpFlags.Ack) != 0)
        {
            uint ack = p.Acknowledgment;

            // The peer's FIN takes one sequence number: an ACK of it is not a hole.
            uint peerFin = _finSeq[fromClient ? 1 : 0];
            uint ackForData = peer.FinSeen && ack == peerFin + 1 ? peerFin : ack;
            if (peer.HasBase && (int)(ackForData - peer.HighestEnd) > 0 && !(peer.SynSeen && !peer.HasBase))
            {
                _anomalies.Add(AnomalyKinds.LostSegment, _phases.Current, fromClient ? "server" : "client", frame, "acknowledged data the capture never saw");
            }

            int hole = peer.HasBase ? peer.SkipAcknowledgedHole(ackForData, frame) : 0;
            if (hole > 0 && !_anomalies.Has(AnomalyKinds.LostSegment, fromClient ? "server" : "client"))
            {
                _anomalies.Add(AnomalyKinds.LostSegment, _phases.Current, fromClient ? "server" : "client", frame, "segment missing from the capture");
            }

            // Wireshark's rule, not "the same ACK again": a keep-alive, its ACK and a window update repeat the ACK too.
            if (ackKind == AckKind.DuplicateAck)
            {
                _anomalies.Add(AnomalyKinds.DuplicateAck, _phases.Current, side, frame);
            }

            if (!half.HasAck || (int)(ack - half.HighestAck) > 0)
            {
                half.HighestAck = ack;
            }

            half.HasAck = true;
            half.LastAck = ack;
            half.LastWindow = p.Window;
            half.LastAckFrame = frame;
            if (fromClient && SynAckSeen && !HandshakeAckSeen)
            {
                HandshakeAckSeen = true;
                _phases.Touch(Phase.Tcp, frame);
            }
        }

        // tcp.analysis.zero_window: a window of 0 on a segment that is not SYN, FIN or RST (RST returned above).
        if (p.Window == 0 && (flags & (TcpFlags.Syn | TcpFlags.Fin)) == 0)
        {
            _anomalies.Add(AnomalyKinds.ZeroWindow, _phases.Current, side, frame);
        }

        _phases.TouchCurrent(frame);
    }

    public int MaxRetransmittedLength(bool client) => _maxRetransmitted[client ? 0 : 1];

    /// <summary>True when this side retransmitted data that the peer never acknowledged by the end of the flow.</summary>
    public bool RetransmittedUnacked(bool client)
    {
        int i = client ? 0 : 1;
        var peer = client ? ServerHalf : ClientHalf;
        return _hasRetransmitted[i] && (!peer.HasAck || (int)(_lastRetransmittedEnd[i] - peer.HighestAck) > 0);
    }

    /// <summary>End of the flow: each direction hands over what reassembly still holds, then its stream ends.</summary>
    public void Finish(int lastFrame)
    {
        ClientHalf.End(lastFrame);
        ServerHalf.End(lastFrame);
    }
}
