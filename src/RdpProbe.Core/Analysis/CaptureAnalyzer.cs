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

    /// <summary>
    /// Most TCP flows followed at once (<see cref="AnalyzerLimits.DefaultMaxLiveFlows"/>). When a new flow would pass
    /// it, the least recently active flows are evicted: finished and reported as they stand, their verdict saying so,
    /// and the report warns with their count. Keeps memory bounded on captures of connections that never end.
    /// </summary>
    public int MaxLiveFlows { get; init; } = AnalyzerLimits.DefaultMaxLiveFlows;

    /// <summary>Most IP datagrams reassembled at once (<see cref="AnalyzerLimits.DefaultMaxFragmentDatagrams"/>); fragments of more are counted as incomplete.</summary>
    public int MaxFragmentDatagrams { get; init; } = AnalyzerLimits.DefaultMaxFragmentDatagrams;
}

/// <summary>
/// The analyzer's resource limits, so hostile or huge captures cannot take unbounded memory. Per flow, each direction
/// holds at most <see cref="MaxBufferedSegmentsPerDirection"/> out-of-order segments (<see cref="MaxBufferedBytesPerDirection"/>
/// bytes), one RDP PDU being reassembled (<see cref="MaxCopiedPduBytes"/>) and one TLS handshake message
/// (<see cref="MaxTlsHandshakeBytes"/>); live flows and fragment queues are capped through <see cref="AnalyzerOptions"/>.
/// </summary>
public static class AnalyzerLimits
{
    /// <summary>Default <see cref="AnalyzerOptions.MaxLiveFlows"/>: about 3 KB of state each when nothing is buffered.</summary>
    public const int DefaultMaxLiveFlows = 10_000;

    /// <summary>Default <see cref="AnalyzerOptions.MaxFragmentDatagrams"/>.</summary>
    public const int DefaultMaxFragmentDatagrams = 256;

    /// <summary>Fragments kept per datagram in reassembly; further ones are dropped (the datagram ends incomplete).</summary>
    public const int MaxFragmentsPerDatagram = 64;

    /// <summary>Segments held ahead of a hole, per direction of a flow.</summary>
    public const int MaxBufferedSegmentsPerDirection = TcpHalf.MaxBufferedSegments;

    /// <summary>Bytes held ahead of a hole, per direction of a flow.</summary>
    public const int MaxBufferedBytesPerDirection = TcpHalf.MaxBufferedBytes;

    /// <summary>Largest RDP PDU copied for decoding, per direction (a TPKT length is at most 65,535).</summary>
    public const int MaxCopiedPduBytes = PduWalker.MaxCopiedPdu;

    /// <summary>Largest TLS handshake message gathered for decoding, per direction.</summary>
    public const int MaxTlsHandshakeBytes = RdpConversation.MaxHandshakeBuffer;
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

    /// <summary>When set, finished flows go here unbuilt (<see cref="FinishedFlow"/>), for a caller that builds their findings on another thread.</summary>
    private readonly Action<FinishedFlow>? _onFlow;
    private readonly List<FlowKey> _sweepKeys = [];
    private readonly long _idleMicros;
    private readonly long _openGraceMicros;
    private readonly int _maxLiveFlows;
    private readonly int _maxFragmentDatagrams;
    private (long LastTimestamp, FlowKey Key)[] _evictionOrder = [];

    /// <param name="onConnection">Receives each connection's findings as soon as the connection ends (in the order
    /// they end); the findings then list no connections. Lets a caller keep only its own form of them.</param>
    public CaptureAnalyzer(AnalyzerOptions options, Action<AnalyzedConnection>? onConnection = null)
        : this(options, onConnection, null)
    {
    }

    /// <param name="onFlow">Receives each reportable flow as soon as it ends, its findings not yet built (in the order
    /// they end); the findings then list no connections.</param>
    public CaptureAnalyzer(AnalyzerOptions options, Action<FinishedFlow> onFlow)
        : this(options, null, onFlow)
    {
    }

    private CaptureAnalyzer(AnalyzerOptions options, Action<AnalyzedConnection>? onConnection, Action<FinishedFlow>? onFlow)
    {
        _options = options;
        _onConnection = onConnection;
        _onFlow = onFlow;
        foreach (int port in options.Ports)
        {
            if (port is > 0 and < 65536)
            {
                _rdpPort[port] = true;
            }
        }

        _idleMicros = (long)options.IdleTimeout.TotalMicroseconds;
        _openGraceMicros = (long)options.OpenGrace.TotalMicroseconds;
        _maxLiveFlows = Math.Max(1, options.MaxLiveFlows);
        _maxFragmentDatagrams = Math.Max(0, options.MaxFragmentDatagrams);
    }

    public long Frames { get; private set; }
    public long Bytes { get; private set; }
    public long UndecodedFrames { get; private set; }
    public long FirstTimestamp { get; private set; } = -1;
    public long LastTimestamp { get; private set; }
    public int LiveTcpFlows => _tcp.Count;

    /// <summary>Most TCP flows live at once during the run (never above <see cref="AnalyzerOptions.MaxLiveFlows"/>).</summary>
    public int PeakLiveTcpFlows { get; private set; }

    /// <summary>Flows finished early because <see cref="AnalyzerOptions.MaxLiveFlows"/> was reached.</summary>
    public long EvictedFlows { get; private set; }
    public int LiveUdpFlows => _udp.Count;

    /// <summary>Index (0-based, in the order given) of the file being read; every finding names the file it came from.</summary>
    public int FileIndex { get; private set; }

    /// <summary>Frames read from the current file: the number Wireshark gives the current frame in that file.</summary>
    private int _fileFrames;

    /// <summary>Capture time of the current file's latest frame: "the capture ended" means this file's end.</summary>
    private long _fileLastTimestamp;

    /// <summary>Per file, the fragment counters it added (filled as each file ends).</summary>
    private readonly List<FragmentCounts> _fragmentsPerFile = [];
    private FragmentCounts _fragmentsBefore;

    /// <summary>
    /// Starts file <paramref name="index"/>. Each file is a capture of its own (Wireshark numbers its frames from 1, and
    /// two files may be two vantage points of the same connection): the flows of the file before end with it, as at
    /// the end of a capture, and frame numbers start again at 1.
    /// </summary>
    public void BeginFile(int index)
    {
        if (index != FileIndex || _fileFrames > 0)
        {
            EndFile();
        }

        FileIndex = index;
        _fileFrames = 0;
        _fileLastTimestamp = 0;
    }

    /// <summary>Ends every live flow of the current file (reported as the end of a capture reports them).</summary>
    private void EndFile()
    {
        foreach (var (_, c) in _tcp)
        {
            c.Finish();
            if (IsReportable(c))
            {
                Finished(c);
            }
        }

        _tcp.Clear();
        _finishedUdp.AddRange(_udp.Values);
        _udp.Clear();
        Incomplete += _fragments.Count;
        _fragments.Clear();
        var now = new FragmentCounts(Ipv4Fragments, Ipv6Fragments, Reassembled, Incomplete);
        while (_fragmentsPerFile.Count < FileIndex)
        {
            _fragmentsPerFile.Add(default);
        }

        _fragmentsPerFile.Add(new FragmentCounts(now.Ipv4 - _fragmentsBefore.Ipv4, now.Ipv6 - _fragmentsBefore.Ipv6,
            now.Reassembled - _fragmentsBefore.Reassembled, now.Incomplete - _fragmentsBefore.Incomplete));
        _fragmentsBefore = now;
    }

    /// <summary>
    /// Capture time (microseconds) no live TCP flow started before, as of the last sweep (a lower bound: flows retired
    /// since only raise it, flows started since start later); <see cref="long.MinValue"/> before the first sweep. Lets
    /// a streaming reader know which connections can still appear with an earlier start.
    /// </summary>
    public long OldestLiveStartMicros { get; private set; } = long.MinValue;

    /// <summary>The capture clock as a streaming reader of finished connections needs it.</summary>
    public AnalyzerClock Clock => new(LastTimestamp, OldestLiveStartMicros);

    /// <summary>Hot path: one captured frame. <paramref name="timestampMicros"/> is microseconds since the epoch.</summary>
    public void OnFrame(int linkType, ReadOnlySpan<byte> frame, int wireLength, long timestampMicros)
    {
        ++Frames;
        int number = ++_fileFrames;
        Bytes += wireLength;
        if (FirstTimestamp < 0)
        {
            FirstTimestamp = timestampMicros;
        }

        if (timestampMicros > LastTimestamp)
        {
            LastTimestamp = timestampMicros;
        }

        if (timestampMicros > _fileLastTimestamp)
        {
            _fileLastTimestamp = timestampMicros;
        }

        if ((Frames & (SweepEveryFrames - 1)) == 0)
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

        if (_tcp.Count >= _maxLiveFlows)
        {
            EvictOldest();
        }

        connection = new TcpConnection(key, client, server, frame, ts)
        {
            FileIndex = FileIndex,
            StartedBeforeCapture = !synOnly && !synAck && !LooksLikeConnectionRequest(p.Payload),
        };
        _tcp[key] = connection;
        PeakLiveTcpFlows = Math.Max(PeakLiveTcpFlows, _tcp.Count);
        return true;
    }

    /// <summary>
    /// The live-flow cap is reached: finishes the least recently active sixteenth of the flows (at least one), so the
    /// sort is paid once per many new flows rather than once per flow. Each is reported as it stands, marked evicted.
    /// </summary>
    private void EvictOldest()
    {
        int count = _tcp.Count;
        if (_evictionOrder.Length < count)
        {
            _evictionOrder = new (long, FlowKey)[count];
        }

        int i = 0;
        foreach (var (key, c) in _tcp)
        {
            _evictionOrder[i++] = (c.LastTimestamp, key);
        }

        var order = _evictionOrder.AsSpan(0, count);
        order.Sort(static (a, b) => a.LastTimestamp.CompareTo(b.LastTimestamp));
        int evict = Math.Max(1, count / 16);
        foreach (var (_, key) in order[..evict])
        {
            var c = _tcp[key];
            c.Evicted = true;
            EvictedFlows++;
            Retire(key, c);
        }

        order.Clear();
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
            Finished(connection);
        }
    }

    /// <summary>Finishes flows that closed a while ago or went idle (bounded work, runs every 65536 frames).</summary>
    private void Sweep(long now)
    {
        _sweepKeys.Clear();
        long oldest = now;
        foreach (var (key, c) in _tcp)
        {
            long idle = now - c.LastTimestamp;
            if (c.FirstTimestamp < oldest)
            {
                oldest = c.FirstTimestamp;
            }

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

        OldestLiveStartMicros = oldest;
        SweepUdp(now);
        SweepFragments(now);
    }
}

/// <param name="NowMicros">The latest frame time read so far.</param>
/// <param name="OldestLiveStartMicros">No TCP flow still live started before this (as of the last sweep).</param>
public readonly record struct AnalyzerClock(long NowMicros, long OldestLiveStartMicros);
