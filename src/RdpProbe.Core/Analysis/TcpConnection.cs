using RdpProbe.Diagnosis;

namespace RdpProbe.Analysis;

/// <summary>
/// One RDP-over-TCP connection while it is live: its endpoints, frame range and counters, and three parts that each
/// keep one concern — the TCP tracker (<see cref="Tcp"/>: sequence numbers, reassembly, transport anomalies), the RDP
/// conversation (<see cref="Rdp"/>: decoders and the inferred flight pattern) fed by the tracker's ordered streams,
/// and the phase timeline both of them advance (<see cref="Phases"/>). Released (and turned into findings) when the
/// flow ends.
/// </summary>
internal sealed class TcpConnection
{
    public TcpConnection(FlowKey key, IpEndpoint client, IpEndpoint server, int frame, long timestamp)
    {
        Key = key;
        Client = client;
        Server = server;
        FirstFrame = frame;
        LastFrame = frame;
        FirstTimestamp = timestamp;
        LastTimestamp = timestamp;
        Rdp = new RdpConversation(Phases, Anomalies);
        Tcp = new TcpTracker(Rdp.ClientStream, Rdp.ServerStream, Phases, Anomalies);
    }

    public FlowKey Key { get; }

    /// <summary>The file (index in the order given) the connection was read from; its frame numbers count in that file.</summary>
    public int FileIndex { get; init; }
    public IpEndpoint Client { get; }
    public IpEndpoint Server { get; }
    public int FirstFrame { get; }
    public int LastFrame { get; private set; }
    public long FirstTimestamp { get; }
    public long LastTimestamp { get; private set; }
    public long Packets { get; private set; }
    public bool StartedBeforeCapture { get; set; }
    public bool IdleTimedOut { get; set; }

    /// <summary>Finished early because the analyzer's live-flow cap was reached (<see cref="AnalyzerOptions.MaxLiveFlows"/>).</summary>
    public bool Evicted { get; set; }

    public AnomalyLog Anomalies { get; } = new();
    public PhaseTimeline Phases { get; } = new();
    public TcpTracker Tcp { get; }
    public RdpConversation Rdp { get; }

    /// <summary>Furthest phase reached; null before the first event.</summary>
    public Phase? Current => Phases.Current;

    public bool SessionReached => Phases.SessionReached;

    public bool Closed => Tcp.Closed;

    /// <summary>Hot path: one TCP segment of this connection, already decoded.</summary>
    public void OnSegment(ref DecodedPacket p, bool fromClient, int frame, long timestamp)
    {
        Packets++;
        LastFrame = frame;
        LastTimestamp = timestamp;
        Tcp.OnSegment(ref p, fromClient, frame, timestamp);
    }

    /// <summary>End of the flow: reassembly hands over what it still holds, the streams end, buffers are released.</summary>
    public void Finish() => Tcp.Finish(LastFrame);
}
