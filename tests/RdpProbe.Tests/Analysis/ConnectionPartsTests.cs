using RdpProbe.Analysis;
using RdpProbe.Diagnosis;
using RdpProbe.Protocol;
using static RdpProbe.Tests.Analysis.PacketBuilder;
using static RdpProbe.Tests.Analysis.RdpBytes;

namespace RdpProbe.Tests.Analysis;

/// <summary>
/// The parts of a connection on their own: the RDP conversation fed only ordered stream bytes (no TCP), and the TCP
/// tracker handing arbitrary bytes to any stream consumer (no RDP).
/// </summary>
public sealed class ConnectionPartsTests
{
    private static (RdpConversation Rdp, PhaseTimeline Phases, AnomalyLog Anomalies) NewConversation()
    {
        var phases = new PhaseTimeline();
        var anomalies = new AnomalyLog();
        return (new RdpConversation(phases, anomalies), phases, anomalies);
    }

    [Fact]
    public void The_conversation_decodes_the_handshake_from_stream_bytes_alone()
    {
        var (rdp, phases, _) = NewConversation();
        rdp.ClientStream.Feed(ConnectionRequest(), 1);
        rdp.ServerStream.Feed(ConnectionConfirm(0x02), 2);
        rdp.ClientStream.Feed(ClientHello(), 3);
        rdp.ServerStream.Feed(ServerHello(), 4);

        Assert.Equal(SecurityProtocols.Ssl | SecurityProtocols.Hybrid | SecurityProtocols.HybridEx, rdp.Request?.RequestedProtocols);
        Assert.Equal(SecurityProtocols.Hybrid, rdp.Confirm?.SelectedProtocol);
        Assert.NotNull(rdp.ClientHello);
        Assert.Equal((ushort)0xC030, rdp.ServerHello?.CipherSuite);
        Assert.Equal(Phase.Tls, phases.Current);
        Assert.Equal([(Phase.X224, 1, 2), (Phase.Tls, 3, 4)], phases.Slots().Select(s => (s.Phase, s.Slot.FirstFrame, s.Slot.LastFrame)));
    }

    [Fact]
    public void How_the_bytes_are_cut_does_not_matter()
    {
        var (rdp, phases, _) = NewConversation();
        var client = Concat(ConnectionRequest(), ClientHello());
        foreach (var b in client)
        {
            rdp.ClientStream.Feed([b], 7);
        }

        Assert.NotNull(rdp.Request);
        Assert.NotNull(rdp.ClientHello);
        Assert.Equal(Phase.Tls, phases.Current);
    }

    [Fact]
    public void Encrypted_flights_are_matched_to_the_credssp_shape()
    {
        var (rdp, phases, _) = NewConversation();
        rdp.ClientStream.Feed(ConnectionRequest(), 1);
        rdp.ServerStream.Feed(ConnectionConfirm(0x02), 2);
        rdp.ClientStream.Feed(ClientHello(), 3);
        rdp.ServerStream.Feed(ServerHello(), 4);
        rdp.ClientStream.Feed(Concat(TlsRecord(20, 1), TlsRecord(22, 40)), 5);
        rdp.ServerStream.Feed(Concat(TlsRecord(20, 1), TlsRecord(22, 40)), 6);

        rdp.ClientStream.Feed(TlsRecord(23, 80), 7);     // NEGOTIATE
        rdp.ServerStream.Feed(TlsRecord(23, 300), 8);    // CHALLENGE
        rdp.ClientStream.Feed(TlsRecord(23, 600), 9);    // AUTHENTICATE + pubKeyAuth
        rdp.ServerStream.Feed(TlsRecord(23, 40), 10);    // too small for pubKeyAuth: an errorCode

        Assert.Equal(4, rdp.FlightCount);
        Assert.Equal(["negotiate", "challenge", "authenticate", "errorCode"], rdp.Flights.Select(f => f.Label));
        Assert.Equal("error", rdp.LastCredsspRound);
        Assert.True(rdp.ErrorSizedAnswer);
        Assert.Equal(Phase.Credssp, phases.Current);
        Assert.True(phases.Slots().Single(s => s.Phase == Phase.Credssp).Slot.Inferred);
    }

    [Fact]
    public void A_gap_over_a_header_loses_the_framing_and_says_so()
    {
        var (rdp, _, anomalies) = NewConversation();
        rdp.ClientStream.Feed(ConnectionRequest()[..2], 1);
        rdp.ClientStream.Gap(100, 2);
        rdp.ClientStream.End(3);

        Assert.Null(rdp.Request);
        Assert.NotNull(rdp.NotRdpReason);
        Assert.Contains(anomalies.Entries, e => e.Kind == AnomalyKinds.LostSync && e.From == "client");
    }

    private sealed class Recorder : IStreamConsumer
    {
        public List<byte> Bytes { get; } = [];
        public bool Ended { get; private set; }

        public void Feed(ReadOnlySpan<byte> data, int frame) => Bytes.AddRange(data.ToArray());

        public void Gap(int length, int frame) => Bytes.AddRange(Enumerable.Repeat((byte)'?', length));

        public void End(int frame) => Ended = true;
    }

    [Fact]
    public void The_tcp_tracker_hands_any_bytes_in_order_and_notes_transport_anomalies()
    {
        var client = new Recorder();
        var server = new Recorder();
        var phases = new PhaseTimeline();
        var anomalies = new AnomalyLog();
        var tcp = new TcpTracker(client, server, phases, anomalies);
        const string C = "198.51.100.7", S = "192.0.2.10";

        void Segment(bool fromClient, uint seq, uint ack, byte flags, string payload, int frame)
        {
            var bytes = System.Text.Encoding.ASCII.GetBytes(payload);
            var ip = fromClient ? Ipv4Tcp(C, 50000, S, 3389, seq, ack, flags, bytes) : Ipv4Tcp(S, 3389, C, 50000, seq, ack, flags, bytes);
            Assert.True(FrameDecoder.TryDecode(1, Concat(Ethernet(0x0800), ip), out var p));
            tcp.OnSegment(ref p, fromClient, frame, frame * 1000L);
        }

        Segment(true, 100, 0, Syn, "", 1);
        Segment(false, 500, 101, Syn | Ack, "", 2);
        Segment(true, 101, 501, Ack, "", 3);
        Segment(true, 101, 501, Psh | Ack, "hello ", 4);
        Segment(true, 101, 501, Psh | Ack, "hello ", 5);            // the same bytes again
        Segment(true, 107, 501, Psh | Ack, "world", 6);
        Segment(false, 501, 112, Psh | Ack, "ok", 7);
        Segment(true, 112, 503, Fin | Ack, "", 8);
        tcp.Finish(8);

        Assert.Equal("hello world", System.Text.Encoding.ASCII.GetString(client.Bytes.ToArray()));
        Assert.Equal("ok", System.Text.Encoding.ASCII.GetString(server.Bytes.ToArray()));
        Assert.True(client.Ended && server.Ended);
        Assert.True(tcp.SynAckSeen);
        Assert.Equal((8, true, false), tcp.FirstEnd);
        Assert.Equal(Phase.Tcp, phases.Current);
        Assert.Contains(anomalies.Entries, e => e.Kind == AnomalyKinds.Retransmission && e.From == "client" && e.Frames.Contains(5));
    }
}
