using System.Buffers.Binary;

namespace RdpProbe.Analysis;

public sealed class AnalyzerOptions
{
    /// <summary>TCP (and RDP-UDP) ports treated as RDP; RDP is also recognised on any port by its X.224 Connection Request.</summary>
    public IReadOnlyCollection<int> Ports { get; init; } = [3389];

    /// <summary>A flow with no packet for this long (capture time) is finished and reported ("timeout" when it was not closed).</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>A flow still silent this long before the capture ended is reported as "timeout" rather than "open".</summary>
    public TimeSpan OpenGrace { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>A failed connection and the same client's next one to the same server form one attempt chain when the next starts within this long of the failed one's end (<see cref="AttemptChains"/>).</summary>
    public TimeSpan AttemptChainWindow { get; init; } = AttemptChains.DefaultWindow;
}

/// <summary>
/// The analysis pipeline: frames in, findings out. Holds state only for live flows: a flow is finished (and its
/// buffers released) when it closes or goes idle, so memory stays flat as the capture grows. One instance per run;
/// not thread-safe.
/// </summary>
internal sealed partial class CaptureAnalyzer
{
    private const int SweepEveryFrames = 1 << 16;
    private static readonly long ClosedLingerMicros = 5_000_000;

    private readonly AnalyzerOptions _options;
    private readonly bool[] _rdpPort = new bool[65536];
    private readonly Dictionary<FlowKey, TcpConnection> _tcp = [];
    /// <summary>Finished connections, already reduced to their findings: the per-flow state is gone once a flow ends.</summary>
    private readonly List<AnalyzedConnection> _finished = [];

    /// <summary>When set, finished connections go here as they end instead of into <see cref="_finished"/>.</summary>
    private readonly Action<AnalyzedConnection>? _onConnection;
    private readonly List<FlowKey> _sweepKeys = [];
    private readonly long _idleMicros;
    private readonly long _openGraceMicros;

    /// <param name="onConnection">Receives each connection's findings as soon as the connection ends (in the order
    /// they end); the findings then list no connections. Lets a caller keep only its own form of them.</param>
    public CaptureAnalyzer(AnalyzerOptions options, Action<AnalyzedConnection>? onConnection = null)
    {
        _options = options;
        _onConnection = onConnection;
        foreach (int port in options.Ports)
        {
            if (port is > 0 and < 65536)
            {
                _rdpPort[port] = true;
            }
        }

        _idleMicros = (long)options.IdleTimeout.TotalMicroseconds;
        _openGraceMicros = (long)options.OpenGrace.TotalMicroseconds;
    }

    public long Frames { get; private set; }
    public long Bytes { get; private set; }
    public long UndecodedFrames { get; private set; }
    public long FirstTimestamp { get; private set; } = -1;
    public long LastTimestamp { get; private set; }
    public int LiveTcpFlows => _tcp.Count;
    public int LiveUdpFlows => _udp.Count;

    /// <summary>Hot path: one captured frame. <paramref name="timestampMicros"/> is microseconds since the epoch.</summary>
    public void OnFrame(int linkType, ReadOnlySpan<byte> frame, int wireLength, long timestampMicros)
    {
        int number = (int)++Frames;
        Bytes += wireLength;
        if (FirstTimestamp < 0)
        {
            FirstTimestamp = timestampMicros;
        }

        if (timestampMicros > LastTimestamp)
        {
            LastTimestamp = timestampMicros;
        }

        if ((number & (SweepEveryFrames - 1)) == 0)
        {
            Sweep(timestampMicros);
        }

        if (!FrameDecoder.TryDecode(linkType, frame, out var packet))
        {
            UndecodedFrames++;
            return;
        }

        Dispatch(ref packet, number, timestampMicros);
    }

    private void Dispatch(ref DecodedPacket packet, int frame, long ts)
    {
        if (packet.IsFragment)
        {
            OnFragment(ref packet, frame, ts);
            return;
        }

        switch (packet.Protocol)
        {
            case IpProtocols.Tcp:
                OnTcp(ref packet, frame, ts);
                break;
            case IpProtocols.Udp:
                if (_rdpPort[packet.DestinationPort] || _rdpPort[packet.SourcePort])
                {
                    OnUdp(ref packet, frame, ts);
                }

                break;
            case IpProtocols.Icmp when packet.IpVersion == 4:
            case IpProtocols.Icmpv6 when packet.IpVersion == 6:
                OnIcmp(ref packet, frame);
                break;
        }
    }

    private void OnTcp(ref DecodedPacket p, int frame, long ts)
    {
        var source = new IpEndpoint(p.Source, p.SourcePort);
        var destination = new IpEndpoint(p.Destination, p.DestinationPort);
        var key = FlowKey.Create(source, destination, IpProtocols.Tcp, out _);
        bool synOnly = (p.Flags & (TcpFlags.Syn | TcpFlags.Ack)) == TcpFlags.Syn;

        if (_tcp.TryGetValue(key, out var connection))
        {
            // Port reuse: a fresh SYN on a finished 4-tuple (or with another ISN) starts a new connection.
            if (synOnly && connection.Client == source
                && (connection.Closed || (connection.Tcp.ClientHalf.SynSeen && connection.Tcp.ClientHalf.NextSeq != p.Sequence + 1 && connection.Tcp.ClientHalf.PayloadBytes > 0)))
            {
                Retire(key, connection);
                connection = null;
            }
        }

        if (connection is null)
        {
            if (!TryStart(ref p, source, destination, key, synOnly, frame, ts, out connection))
            {
                return;
            }
        }

        connection.OnSegment(ref p, connection.Client == source, frame, ts);
    }

    private bool TryStart(ref DecodedPacket p, IpEndpoint source, IpEndpoint destination, FlowKey key, bool synOnly, int frame, long ts, out TcpConnection connection)
    {
        connection = null!;
        IpEndpoint client;
        IpEndpoint server;
        bool synAck = (p.Flags & (TcpFlags.Syn | TcpFlags.Ack)) == (TcpFlags.Syn | TcpFlags.Ack);
        if (_rdpPort[p.DestinationPort] && !synAck)
        {
            (client, server) = (source, destination);
        }
        else if (_rdpPort[p.SourcePort])
        {
            (client, server) = (destination, source);
        }
        else if (_rdpPort[p.DestinationPort])
        {
            (client, server) = (source, destination);
        }
        else if (LooksLikeConnectionRequest(p.Payload))
        {
            // RDP on another port, recognised by an X.224 Connection Request (MS-RDPBCGR 2.2.1.1).
            (client, server) = (source, destination);
        }
        else
        {
            return false;
        }

        connection = new TcpConnection(key, client, server, frame, ts)
        {
            StartedBeforeCapture = !synOnly && !synAck && !LooksLikeConnectionRequest(p.Payload),
        };
        _tcp[key] = connection;
        return true;
    }

    /// <summary>TPKT version 3 with a plausible length and an X.224 CR code (0xE0) in the TPDU (RFC 1006, X.224 13.3).</summary>
    internal static bool LooksLikeConnectionRequest(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < 11 || payload[0] != 0x03 || payload[1] != 0x00 || (payload[5] & 0xF0) != 0xE0)
        {
            return false;
        }

        int length = BinaryPrimitives.ReadUInt16BigEndian(payload[2..]);
        return length >= 11 && length <= 4 + 255 && payload[4] == length - 5;
    }

    private void Retire(FlowKey key, TcpConnection connection)
    {
        connection.Finish();
        _tcp.Remove(key);
        if (IsReportable(connection))
        {
            Finished(BuildConnection(connection));
        }
    }

    /// <summary>Finishes flows that closed a while ago or went idle (bounded work, runs every 65536 frames).</summary>
    private void Sweep(long now)
    {
        _sweepKeys.Clear();
        foreach (var (key, c) in _tcp)
        {
            long idle = now - c.LastTimestamp;
            if ((c.Closed && idle > ClosedLingerMicros) || idle > _idleMicros)
            {
                _sweepKeys.Add(key);
            }
        }

        foreach (var key in _sweepKeys)
        {
            var c = _tcp[key];
            c.IdleTimedOut = !c.Closed;
            Retire(key, c);
        }

        SweepUdp(now);
        SweepFragments(now);
    }
}
