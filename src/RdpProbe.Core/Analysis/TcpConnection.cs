using System.Buffers;
using System.Buffers.Binary;
using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Analysis;

/// <summary>
/// State of one RDP-over-TCP connection while it is live: both reassembled directions, what the clear-text
/// decoders found (X.224, TLS, MCS/GCC for Standard RDP Security), the encrypted flight pattern, the phase each
/// frame belongs to and the anomalies around them. Released (and turned into a report) when the flow ends.
/// </summary>
internal sealed partial class TcpConnection : IPduSink
{
    /// <summary>How many flights after the TLS handshake are remembered one by one (the rest are only counted).</summary>
    private const int MaxRecordedFlights = 16;
    private const int MaxHandshakeBuffer = 64 * 1024;

    private readonly PhaseSlot[] _phases = new PhaseSlot[(int)Phase.Capabilities + 1];
    private byte[]? _clientHs;
    private int _clientHsCount;
    private byte[]? _serverHs;
    private int _serverHsCount;

    public TcpConnection(FlowKey key, IpEndpoint client, IpEndpoint server, int frame, long timestamp)
    {
        Key = key;
        Client = client;
        Server = server;
        FirstFrame = frame;
        LastFrame = frame;
        FirstTimestamp = timestamp;
        LastTimestamp = timestamp;
        ClientWalker = new PduWalker(true, this);
        ServerWalker = new PduWalker(false, this);
        ClientHalf = new TcpHalf(ClientWalker);
        ServerHalf = new TcpHalf(ServerWalker);
    }

    public FlowKey Key { get; }
    public IpEndpoint Client { get; }
    public IpEndpoint Server { get; }
    public int FirstFrame { get; }
    public int LastFrame { get; private set; }
    public long FirstTimestamp { get; }
    public long LastTimestamp { get; private set; }
    public long Packets { get; private set; }
    public TcpHalf ClientHalf { get; }
    public TcpHalf ServerHalf { get; }
    public PduWalker ClientWalker { get; }
    public PduWalker ServerWalker { get; }
    public AnomalyLog Anomalies { get; } = new();

    public bool StartedBeforeCapture { get; set; }
    public bool IdleTimedOut { get; set; }
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

    public bool Closed => ResetSeen || (ClientHalf.FinSeen && ServerHalf.FinSeen);

    // X.224.
    public X224ConnectionRequest? Request { get; private set; }
    public X224ConnectionConfirm? Confirm { get; private set; }
    public int? RequestFrame { get; private set; }
    public int? ConfirmFrame { get; private set; }
    public bool ServerDisconnectUltimatum { get; private set; }
    public int? ServerUltimatumFrame { get; private set; }
    public string? NotRdpReason { get; private set; }

    // TLS.
    public TlsClientHello? ClientHello { get; private set; }
    public TlsServerHello? ServerHello { get; private set; }
    public int? ClientHelloFrame { get; private set; }
    public int? ServerHelloFrame { get; private set; }
    public string? CertificateSubject { get; private set; }
    public string? CertificateIssuer { get; private set; }
    public List<(int Frame, bool FromClient, TlsAlert? Alert)> Alerts { get; } = [];
    public bool ClientCcs { get; private set; }
    public bool ServerCcs { get; private set; }
    public bool TlsDone { get; private set; }
    public bool Tls13 => ServerHello?.Version >= 0x0304;

    // Flights after the TLS handshake.
    public List<Flight> Flights { get; } = [];
    public int FlightCount { get; private set; }
    private bool _lastFlightFromClient;
    private bool _client13FinishedSeen;

    // Standard RDP Security.
    public uint? ClientEncryptionMethods { get; private set; }
    public uint? EncryptionMethod { get; private set; }
    public uint? EncryptionLevel { get; private set; }
    public int? McsResult { get; private set; }
    public string? LicensingResult { get; private set; }
    public bool SecurityExchangeSeen { get; private set; }
    public bool ClientInfoSeen { get; private set; }

    /// <summary>Furthest phase reached; null before the first event.</summary>
    public Phase? Current { get; private set; }

    /// <summary>Path MTU announced by ICMP for packets sent by the client (index 0) or the server (index 1).</summary>
    public int[] PathMtu { get; } = new int[2];

    public bool SessionReached => Current >= Phase.Capabilities;

    public IEnumerable<(Phase Phase, PhaseSlot Slot)> PhaseSlots()
    {
        for (int i = 0; i < _phases.Length; i++)
        {
            if (_phases[i].Seen)
            {
                yield return ((Phase)i, _phases[i]);
            }
        }
    }

    /// <summary>Marks <paramref name="phase"/> as reached at <paramref name="frame"/> (phases only move forward).</summary>
    public void Enter(Phase phase, int frame, bool inferred)
    {
        ref var slot = ref _phases[(int)phase];
        if (!slot.Seen)
        {
            slot = new PhaseSlot(true, frame, frame, inferred);
        }
        else if (frame > slot.LastFrame)
        {
            slot.LastFrame = frame;
        }

        if (Current is null || phase > Current)
        {
            Current = phase;
        }
    }

    private void Touch(Phase phase, int frame)
    {
        ref var slot = ref _phases[(int)phase];
        if (slot.Seen && frame > slot.LastFrame)
        {
            slot.LastFrame = frame;
        }
    }

    /// <summary>Hot path: one TCP segment of this connection, already decoded.</summary>
    public void OnSegment(ref DecodedPacket p, bool fromClient, int frame, long timestamp)
    {
        Packets++;
        LastFrame = frame;
        LastTimestamp = timestamp;
        var half = fromClient ? ClientHalf : ServerHalf;
        var peer = fromClient ? ServerHalf : ClientHalf;
        half.Segments++;
        var flags = p.Flags;
        string side = fromClient ? "client" : "server";

        if ((flags & TcpFlags.Syn) != 0)
        {
            if (half.SynSeen)
            {
                if (half.NextSeq == p.Sequence + 1 || !half.HasBase)
                {
                    Anomalies.Add(AnomalyKinds.Retransmission, Phase.Tcp, side, frame, fromClient ? "SYN retransmitted" : "SYN+ACK retransmitted");
                }
            }
            else
            {
                half.SynSeen = true;
                half.SynFrame = frame;
                half.SetBase(p.Sequence + 1);
            }

            Enter(Phase.Tcp, frame, false);
            if (!fromClient && (flags & TcpFlags.Ack) != 0)
            {
                SynAckSeen = true;
            }
        }
        else if (!half.HasBase)
        {
            half.SetBase(p.Sequence);
        }

        if ((flags & TcpFlags.Rst) != 0)
        {
            if (!ResetSeen)
            {
                ResetSeen = true;
                ResetByClient = fromClient;
                ResetFrame = frame;
            }

            Anomalies.Add(AnomalyKinds.Reset, Current, side, frame);
            if (Current is { } c)
            {
                Touch(c, frame);
            }

            // An RST+ACK still tells how far this side received.
            if ((flags & TcpFlags.Ack) != 0 && (!half.HasAck || (int)(p.Acknowledgment - half.HighestAck) > 0))
            {
                half.HighestAck = p.Acknowledgment;
                half.HasAck = true;
            }

            FirstEnd ??= (frame, fromClient, true);
            return;
        }

        // Sequence space: data first, then the FIN that follows it.
        if (p.PayloadWireLength > 0)
        {
            uint dataSeq = (flags & TcpFlags.Syn) != 0 ? p.Sequence + 1 : p.Sequence;
            if (PathMtu[fromClient ? 0 : 1] is int mtu and > 0 && p.IpLength > mtu)
            {
                Anomalies.Add(AnomalyKinds.ExceedsPathMtu, Current, side, frame, $"{p.IpLength}-byte packet after the path announced MTU {mtu}");
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
                    Anomalies.Add(AnomalyKinds.Retransmission, Current, side, frame);
                    _lastRetransmittedEnd[fromClient ? 0 : 1] = dataSeq + (uint)p.PayloadWireLength;
                    _hasRetransmitted[fromClient ? 0 : 1] = true;
                    if (p.PayloadWireLength > _maxRetransmitted[fromClient ? 0 : 1])
                    {
                        _maxRetransmitted[fromClient ? 0 : 1] = p.PayloadWireLength;
                    }

                    break;
                case SegmentKind.OutOfOrder:
                    Anomalies.Add(AnomalyKinds.OutOfOrder, Current, side, frame);
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
                FirstEnd ??= (frame, fromClient, false);
                uint finSeq = ((flags & TcpFlags.Syn) != 0 ? p.Sequence + 1 : p.Sequence) + (uint)p.PayloadWireLength;
                _finSeq[fromClient ? 0 : 1] = finSeq;
            }
            else if (p.PayloadWireLength == 0 && p.Sequence == _finSeq[fromClient ? 0 : 1])
            {
                // The same FIN again: the peer did not acknowledge it.
                Anomalies.Add(AnomalyKinds.Retransmission, Current, side, frame, "FIN retransmitted");
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
                Anomalies.Add(AnomalyKinds.LostSegment, Current, fromClient ? "server" : "client", frame, "acknowledged data the capture never saw");
            }

            int hole = peer.HasBase ? peer.SkipAcknowledgedHole(ackForData, frame) : 0;
            if (hole > 0 && !Anomalies.Has(AnomalyKinds.LostSegment, fromClient ? "server" : "client"))
            {
                Anomalies.Add(AnomalyKinds.LostSegment, Current, fromClient ? "server" : "client", frame, "segment missing from the capture");
            }

            if (p.PayloadWireLength == 0 && (flags & (TcpFlags.Syn | TcpFlags.Fin)) == 0 && half.HasAck && ack == half.LastAck
                && p.Window == half.LastWindow && peer.HasBase && peer.HighestEnd != ack)
            {
                Anomalies.Add(AnomalyKinds.DuplicateAck, Current, side, frame);
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
                Touch(Phase.Tcp, frame);
            }
        }

        if (p.Window == 0 && (flags & TcpFlags.Syn) == 0)
        {
            Anomalies.Add(AnomalyKinds.ZeroWindow, Current, side, frame);
        }

        if (Current is { } cur)
        {
            Touch(cur, frame);
        }
    }

    private readonly uint[] _finSeq = new uint[2];
    private readonly int[] _maxRetransmitted = new int[2];

    private readonly uint[] _lastRetransmittedEnd = new uint[2];
    private readonly bool[] _hasRetransmitted = new bool[2];

    public int MaxRetransmittedLength(bool client) => _maxRetransmitted[client ? 0 : 1];

    /// <summary>True when this side retransmitted data that the peer never acknowledged by the end of the flow.</summary>
    public bool RetransmittedUnacked(bool client)
    {
        int i = client ? 0 : 1;
        var peer = client ? ServerHalf : ClientHalf;
        return _hasRetransmitted[i] && (!peer.HasAck || (int)(_lastRetransmittedEnd[i] - peer.HighestAck) > 0);
    }

    /// <summary>End of the flow: hand over what reassembly still holds, release buffers.</summary>
    public void Finish()
    {
        ClientHalf.Flush(LastFrame);
        ServerHalf.Flush(LastFrame);
        ClientWalker.Release();
        ServerWalker.Release();
        ReturnHandshakeBuffers();
    }

    private void ReturnHandshakeBuffers()
    {
        if (_clientHs is not null)
        {
            ArrayPool<byte>.Shared.Return(_clientHs);
            _clientHs = null;
        }

        if (_serverHs is not null)
        {
            ArrayPool<byte>.Shared.Return(_serverHs);
            _serverHs = null;
        }
    }

    // ---- IPduSink ----

    public bool WantBody(bool fromClient, PduFraming framing, byte type)
    {
        switch (framing)
        {
            case PduFraming.Tpkt:
                // X.224 and, for Standard RDP Security, the clear MCS/GCC PDUs up to licensing.
                return !SessionReached;
            case PduFraming.Tls:
                bool encrypted = fromClient ? ClientCcs : (ServerCcs || (Tls13 && ServerHello is not null));
                return !encrypted && type is (byte)TlsContentType.Handshake or (byte)TlsContentType.Alert;
            default:
                return false;
        }
    }

    public void OnLostSync(bool fromClient, int frame, string reason)
    {
        if (Request is null && fromClient)
        {
            NotRdpReason = reason;
        }

        Anomalies.Add(AnomalyKinds.LostSync, Current, fromClient ? "client" : "server", frame, reason);
    }

    public void OnPdu(bool fromClient, PduFraming framing, byte type, int length, ReadOnlySpan<byte> body, bool damaged, int firstFrame, int lastFrame)
    {
        switch (framing)
        {
            case PduFraming.Tpkt:
                OnTpkt(fromClient, body, damaged, firstFrame, lastFrame);
                break;
            case PduFraming.Tls:
                OnTlsRecord(fromClient, (TlsContentType)type, length, body, damaged, firstFrame, lastFrame);
                break;
            case PduFraming.FastPath:
                if (Current is { } c)
                {
                    Touch(c, lastFrame);
                }

                break;
        }
    }

    private void OnTpkt(bool fromClient, ReadOnlySpan<byte> pdu, bool damaged, int firstFrame, int lastFrame)
    {
        if (pdu.IsEmpty || damaged)
        {
            if (Current is { } c)
            {
                Touch(c, lastFrame);
            }

            return;
        }

        byte code = pdu.Length > 5 ? (byte)(pdu[5] & 0xF0) : (byte)0;
        if (fromClient && code == (byte)X224TpduCode.ConnectionRequest && Request is null)
        {
            if (X224.TryReadConnectionRequest(pdu, out var cr, out _, out _) == OperationStatus.Done)
            {
                Request = cr;
                RequestFrame = firstFrame;
                Enter(Phase.X224, firstFrame, false);
                Touch(Phase.X224, lastFrame);
            }

            return;
        }

        if (!fromClient && code == (byte)X224TpduCode.ConnectionConfirm && Confirm is null)
        {
            if (X224.TryReadConnectionConfirm(pdu, out var cc, out _, out _) == OperationStatus.Done)
            {
                Confirm = cc;
                ConfirmFrame = lastFrame;
                Enter(Phase.X224, firstFrame, false);
                Touch(Phase.X224, lastFrame);
            }

            return;
        }

        if (!X224.TryGetDataPayload(pdu, out var mcs) || mcs.IsEmpty)
        {
            return;
        }

        OnMcs(fromClient, mcs, firstFrame, lastFrame);
    }

    private void OnTlsRecord(bool fromClient, TlsContentType type, int length, ReadOnlySpan<byte> record, bool damaged, int firstFrame, int lastFrame)
    {
        switch (type)
        {
            case TlsContentType.ChangeCipherSpec:
                if (fromClient)
                {
                    ClientCcs = true;
                }
                else if (!Tls13)
                {
                    ServerCcs = true;
                }

                Touch(Phase.Tls, lastFrame);
                return;

            case TlsContentType.Handshake:
                if (!record.IsEmpty && !damaged)
                {
                    AppendHandshake(fromClient, record[TlsRecordHeader.Size..], firstFrame, lastFrame);
                }
                else if (!fromClient && ServerCcs && !Tls13)
                {
                    // The server's encrypted Finished after its ChangeCipherSpec ends a TLS 1.2 handshake.
                    TlsDone = true;
                }

                if (Current is null || Current <= Phase.Tls)
                {
                    Enter(Phase.Tls, firstFrame, false);
                }

                Touch(Phase.Tls, lastFrame);
                return;

            case TlsContentType.Alert:
                {
                    TlsAlert? alert = null;
                    if (!record.IsEmpty && !damaged && TlsAlert.TryRead(record[TlsRecordHeader.Size..], out var a, out _) == OperationStatus.Done)
                    {
                        alert = a;
                    }

                    Alerts.Add((firstFrame, fromClient, alert));
                    string detail = alert is { } al ? $"{(al.Level == TlsAlertLevel.Fatal ? "fatal" : "warning")} {TlsNames.AlertName(al.Description)}" : "encrypted alert";
                    Anomalies.Add(AnomalyKinds.TlsAlert, Current, fromClient ? "client" : "server", firstFrame, detail);
                    if (Current is { } c)
                    {
                        Touch(c, lastFrame);
                    }

                    return;
                }

            case TlsContentType.ApplicationData:
                OnApplicationData(fromClient, length, firstFrame, lastFrame);
                return;
        }
    }

    private void AppendHandshake(bool fromClient, ReadOnlySpan<byte> fragment, int firstFrame, int lastFrame)
    {
        ref byte[]? buffer = ref fromClient ? ref _clientHs : ref _serverHs;
        ref int count = ref fromClient ? ref _clientHsCount : ref _serverHsCount;
        if (count + fragment.Length > MaxHandshakeBuffer)
        {
            count = 0;
            return;
        }

        if (buffer is null || buffer.Length < count + fragment.Length)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(4096, count + fragment.Length));
            if (buffer is not null)
            {
                buffer.AsSpan(0, count).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(buffer);
            }

            buffer = bigger;
        }

        fragment.CopyTo(buffer.AsSpan(count));
        count += fragment.Length;

        int used = 0;
        while (count - used >= TlsHandshakeHeader.Size)
        {
            var span = buffer.AsSpan(used, count - used);
            TlsHandshakeHeader.TryRead(span, out var header, out _);
            if (span.Length < TlsHandshakeHeader.Size + header.Length)
            {
                break;
            }

            OnHandshakeMessage(fromClient, header.Type, span.Slice(TlsHandshakeHeader.Size, header.Length), firstFrame, lastFrame);
            used += TlsHandshakeHeader.Size + header.Length;
        }

        if (used > 0)
        {
            buffer.AsSpan(used, count - used).CopyTo(buffer);
            count -= used;
        }

        if (count == 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            buffer = null;
        }
    }

    private void OnHandshakeMessage(bool fromClient, TlsHandshakeType type, ReadOnlySpan<byte> body, int firstFrame, int lastFrame)
    {
        switch (type)
        {
            case TlsHandshakeType.ClientHello when fromClient && ClientHello is null:
                if (TlsHandshake.TryReadClientHello(body, out var ch) == OperationStatus.Done)
                {
                    ClientHello = ch;
                    ClientHelloFrame = firstFrame;
                    Enter(Phase.Tls, firstFrame, false);
                }

                break;
            case TlsHandshakeType.ServerHello when !fromClient && ServerHello is null:
                if (TlsHandshake.TryReadServerHello(body, out var sh) == OperationStatus.Done)
                {
                    ServerHello = sh;
                    ServerHelloFrame = firstFrame;
                }

                break;
            case TlsHandshakeType.Certificate when !fromClient && CertificateSubject is null && !Tls13:
                if (TlsHandshake.TryReadFirstCertificate(body, out var der) == OperationStatus.Done)
                {
                    (CertificateSubject, CertificateIssuer) = CertificateNames.Get(der);
                }

                break;
        }
    }

    public record struct PhaseSlot(bool Seen, int FirstFrame, int LastFrame, bool Inferred);
}
