using RdpProbe.Analysis;
using static RdpProbe.Tests.Analysis.PacketBuilder;
using static RdpProbe.Tests.Analysis.RdpBytes;

namespace RdpProbe.Tests.Analysis;

/// <summary>Failure modes scripted packet by packet: what the analyzer must say about each.</summary>
public sealed class ScenarioTests : IDisposable
{
    private readonly List<string> _files = [];

    public void Dispose()
    {
        foreach (var f in _files)
        {
            File.Delete(f);
        }
    }

    private Reports.AnalysisReport Analyze(Conversation c) => Analyze(c.Frames);

    private Reports.AnalysisReport Analyze(List<(double, byte[])> frames)
    {
        string path = PcapFile.Write(1, frames);
        _files.Add(path);
        return TestCaptures.Analyze(path);
    }

    private static Conversation New() => new("198.51.100.7", 50312, "192.0.2.10", 3389);

    [Fact]
    public void Unanswered_syn_is_a_tcp_timeout_with_retransmissions()
    {
        var c = New().Syn().At(1).Syn().At(3).Syn();
        var report = Analyze(c);
        var conn = Assert.Single(report.Connections);
        Assert.Equal("tcp", conn.LastPhase);
        Assert.Equal("timeout", conn.Ending);
        Assert.False(conn.Verdict.Ok);
        Assert.Equal("tcp", conn.Verdict.Phase);
        var retrans = Assert.Single(conn.Anomalies, a => a.Kind == "retransmission");
        Assert.Equal([2, 3], retrans.Frames);
        Assert.Equal("tcp", retrans.Phase);
    }

    [Fact]
    public void Reset_in_answer_to_syn_is_refused()
    {
        var c = New().Syn().RstNoAck(fromClient: false);
        var conn = Assert.Single(Analyze(c).Connections);
        Assert.Equal("refused", conn.Ending);
        Assert.Equal("server", conn.EndedBy);
        Assert.Equal("refused", conn.Verdict.Code);
        Assert.Contains("nothing is listening", conn.Verdict.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void Reset_after_the_client_hello_is_a_tls_failure_before_server_hello()
    {
        var c = New().Handshake()
            .Data(true, ConnectionRequest()).Data(false, ConnectionConfirm(2)).Ack(true)
            .Data(true, ClientHello()).Rst(fromClient: false);
        var conn = Assert.Single(Analyze(c).Connections);
        Assert.Equal("tls", conn.LastPhase);
        Assert.Equal("reset", conn.Ending);
        Assert.Equal("server", conn.EndedBy);
        Assert.Equal("hybrid", conn.SelectedProtocol);
        Assert.Equal("probe", conn.Cookie);
        Assert.Equal(7, conn.Tls?.ClientHelloFrame);
        Assert.False(conn.Verdict.Ok);
        Assert.Equal("tls", conn.Verdict.Phase);
        Assert.Contains(conn.Anomalies, a => a.Kind == "reset" && a.From == "server" && a.Frames[0] == 8);
    }

    [Fact]
    public void Clear_tls_alert_is_named_with_level_and_sender()
    {
        var c = New().Handshake()
            .Data(true, ConnectionRequest()).Data(false, ConnectionConfirm(1))
            .Data(true, ClientHello()).Data(false, Alert(2, 70)).Fin(false);
        var conn = Assert.Single(Analyze(c).Connections);
        var alert = Assert.Single(conn.Tls!.Alerts);
        Assert.Equal(("server", "fatal", "protocol_version", false), (alert.From, alert.Level, alert.Description, alert.Encrypted));
        Assert.Equal("protocol_version", conn.Verdict.Code);
        Assert.Equal("tls", conn.Verdict.Phase);
    }

    /// <summary>The CredSSP rounds as TLS records: NEGOTIATE, CHALLENGE, AUTHENTICATE, then the server's answer.</summary>
    private static Conversation CredsspUpTo(int serverAnswerPlaintext)
    {
        var c = New().Handshake()
            .Data(true, ConnectionRequest()).Data(false, ConnectionConfirm(8))
            .Data(true, ClientHello())
            .Data(false, ServerHello())
            .Data(true, Concat(TlsRecord(20, 1), TlsRecord(22, 40)))
            .Data(false, Concat(TlsRecord(20, 1), TlsRecord(22, 40)))
            .Data(true, TlsRecord(23, 57 + 24))      // NEGOTIATE
            .Data(false, TlsRecord(23, 262 + 24))    // CHALLENGE
            .Data(true, TlsRecord(23, 543 + 24));    // AUTHENTICATE + pubKeyAuth
        if (serverAnswerPlaintext > 0)
        {
            c.Data(false, TlsRecord(23, serverAnswerPlaintext + 24));
        }

        return c;
    }

    [Fact]
    public void Error_sized_answer_to_authenticate_is_an_inferred_logon_failure()
    {
        var c = CredsspUpTo(serverAnswerPlaintext: 15).Fin(false);
        var conn = Assert.Single(Analyze(c).Connections);
        Assert.Equal("credssp", conn.LastPhase);
        Assert.True(conn.Credssp?.ErrorSizedAnswer);
        Assert.Equal("error", conn.Credssp?.LastRound);
        Assert.Equal(15, conn.Credssp!.Flights[3].PlaintextEstimate);
        Assert.Equal("credssp_error", conn.Verdict.Code);
        Assert.True(conn.Verdict.Inferred);
        Assert.False(conn.Verdict.Ok);
        Assert.Contains(conn.Phases, p => p.Name == "credssp" && p.Inferred && p.Status == "failed");
    }

    [Fact]
    public void Full_size_pub_key_auth_then_authinfo_then_close_after_the_authorization_result_is_access_denied()
    {
        var c = CredsspUpTo(serverAnswerPlaintext: 59)
            .Data(true, TlsRecord(23, 76 + 24))      // authInfo
            .Data(false, TlsRecord(23, 4 + 24))      // Early User Authorization Result
            .Fin(false);
        var conn = Assert.Single(Analyze(c).Connections);
        Assert.False(conn.Credssp?.ErrorSizedAnswer);
        Assert.Equal(4, conn.Credssp?.EarlyAuthPlaintextBytes);
        Assert.Equal("early_auth", conn.LastPhase);
        Assert.Equal("access_denied", conn.Verdict.Code);
    }

    [Fact]
    public void Close_right_after_authenticate_is_an_authentication_failure()
    {
        var c = CredsspUpTo(serverAnswerPlaintext: 0).Fin(false);
        var conn = Assert.Single(Analyze(c).Connections);
        Assert.Equal("authenticate", conn.Credssp?.LastRound);
        Assert.Equal("auth_failed", conn.Verdict.Code);
        Assert.Equal("closed", conn.Ending);
        Assert.Equal("server", conn.EndedBy);
    }

    [Fact]
    public void Icmp_fragmentation_needed_is_tied_to_the_connection_and_oversized_segments_after_it_are_flagged()
    {
        var big = new byte[1400];
        var c = New().Handshake()
            .Data(true, ConnectionRequest()).Data(false, ConnectionConfirm(1))
            .Data(true, ClientHello());
        uint acked = c.ServerSeq;
        var quoted = c.NextPacket(fromClient: false, Concat(ServerHello(), big))[..28];   // IP header + 8 bytes of TCP
        c.Data(false, Concat(ServerHello(), big));                                          // frame 7
        var icmp = Concat(Ipv4("203.0.113.1", "192.0.2.10", 1, 8 + quoted.Length), Hex("03 04 0000 0000 0578"), quoted);
        c.Raw(icmp)                                                                         // frame 8: MTU 1400
            .At(1).Retransmit(false, Concat(ServerHello(), big))                             // frame 9, still 1500+ bytes
            .At(3).Retransmit(false, Concat(ServerHello(), big))                             // frame 10
            .At(9).Fin(true, ack: acked);

        var report = Analyze(c);
        var conn = Assert.Single(report.Connections);
        var frag = Assert.Single(conn.Anomalies, a => a.Kind == "frag_needed");
        Assert.Equal([8], frag.Frames);
        Assert.Equal("server", frag.From);
        Assert.Contains("1400", frag.Detail, StringComparison.Ordinal);
        var over = Assert.Single(conn.Anomalies, a => a.Kind == "exceeds_path_mtu");
        Assert.Equal([9, 10], over.Frames);
        var entry = Assert.Single(report.Icmp);
        Assert.Equal((8, "frag_needed", (int?)1400, "192.0.2.10:3389"), (entry.Frame, entry.Kind, entry.Mtu, entry.About));
        Assert.Contains(conn.Anomalies, a => a.Kind == "stall" && a.From == "server");
        Assert.Contains("MTU black-hole", conn.Verdict.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void Client_hello_retransmitted_without_answer_is_a_stall()
    {
        var hello = ClientHello();
        var c = New().Handshake()
            .Data(true, ConnectionRequest()).Data(false, ConnectionConfirm(1)).Ack(true)
            .Data(true, hello).At(1).Retransmit(true, hello).At(3).Retransmit(true, hello).At(7).Retransmit(true, hello).At(15).Rst(true);
        var conn = Assert.Single(Analyze(c).Connections);
        var stall = Assert.Single(conn.Anomalies, a => a.Kind == "stall");
        Assert.Equal("client", stall.From);
        Assert.Contains("ClientHello", stall.Detail, StringComparison.Ordinal);
        Assert.Equal("stall", conn.Verdict.Code);
        var retrans = Assert.Single(conn.Anomalies, a => a.Kind == "retransmission");
        Assert.Equal("tls", retrans.Phase);
        Assert.Equal(3, retrans.Count);
    }

    [Fact]
    public void Acknowledged_data_never_captured_is_a_lost_segment_and_decoding_recovers_inside_a_record()
    {
        var c = New().Handshake()
            .Data(true, ConnectionRequest()).Data(false, ConnectionConfirm(2))
            .Data(true, ClientHello()).Data(false, ServerHello());
        var record = TlsRecord(23, 3000);
        c.Data(true, Concat(TlsRecord(20, 1), TlsRecord(22, 40)))
            .Data(false, Concat(TlsRecord(20, 1), TlsRecord(22, 40)))
            .Data(true, record[..1000])
            .Data(true, record[1000..2000]);
        c.Frames.RemoveAt(c.Frames.Count - 1);                  // the capture lost this segment; the server's ACK covers it
        c.Data(true, record[2000..]).Ack(false).Data(false, TlsRecord(23, 262 + 24));

        var conn = Assert.Single(Analyze(c).Connections);
        Assert.Contains(conn.Anomalies, a => a.Kind == "lost_segment" && a.From == "client");
        Assert.DoesNotContain(conn.Anomalies, a => a.Kind == "lost_sync");
        Assert.Equal(2, conn.Credssp?.Flights.Count);
    }

    [Fact]
    public void Rdp_udp_syn_answered_by_port_unreachable_quotes_the_icmp()
    {
        var syn = Concat(Hex("FFFFFFFF 0040 0001 12345678 04D0 04D0"), new byte[1216]);
        var udp = Concat(Ipv4("198.51.100.7", "192.0.2.10", 17, 8 + syn.Length), Udp(61000, 3389, syn.Length), syn);
        var quote = udp[..28];
        var icmp = Concat(Ipv4("192.0.2.10", "198.51.100.7", 1, 8 + quote.Length), Hex("03 03 0000 00000000"), quote);
        var report = Analyze([(0.0, Concat(Ethernet(0x0800), udp)), (0.01, Concat(Ethernet(0x0800), icmp))]);
        var flow = Assert.Single(report.Udp);
        Assert.False(flow.SynAck);
        Assert.Equal([1], flow.SynFrames);
        Assert.Equal("port_unreachable", flow.Icmp?.Kind);
        Assert.Contains("port unreachable", flow.Verdict.Summary, StringComparison.Ordinal);
        var entry = Assert.Single(report.Icmp);
        Assert.Equal("192.0.2.10:3389", entry.About);
        Assert.Equal("udp 198.51.100.7:61000 -> 192.0.2.10:3389", entry.Quoted);
    }

    [Fact]
    public void Fragmented_rdp_udp_syn_is_reassembled_and_an_unfinished_datagram_is_incomplete()
    {
        var syn = Concat(Hex("FFFFFFFF 0040 0001 12345678 04D0 04D0"), new byte[1216]);
        var udpPayload = Concat(Udp(61000, 3389, syn.Length), syn);      // 1240 bytes of IP payload
        var first = Concat(Ipv4("198.51.100.7", "192.0.2.10", 17, 800, id: 7, moreFragments: true), udpPayload[..800]);
        var second = Concat(Ipv4("198.51.100.7", "192.0.2.10", 17, udpPayload.Length - 800, id: 7, fragmentOffset: 800), udpPayload[800..]);
        var orphan = Concat(Ipv4("198.51.100.7", "192.0.2.10", 17, 800, id: 8, moreFragments: true), udpPayload[..800]);
        var report = Analyze([(0.0, Concat(Ethernet(0x0800), second)), (0.001, Concat(Ethernet(0x0800), first)), (0.002, Concat(Ethernet(0x0800), orphan))]);
        Assert.Equal(3, report.Fragments.Ipv4);
        Assert.Equal(1, report.Fragments.Reassembled);
        Assert.Equal(1, report.Fragments.Incomplete);
        var flow = Assert.Single(report.Udp);
        Assert.Equal([2], flow.SynFrames);
    }

    [Fact]
    public void Port_reuse_after_close_starts_a_new_connection()
    {
        var c = New().Handshake().Data(true, ConnectionRequest()).Data(false, ConnectionConfirm(1)).Fin(true).Fin(false).Ack(true);
        var again = new Conversation(c.Client, c.ClientPort, c.Server, c.ServerPort);
        again.At(60).Syn().RstNoAck(false);
        var report = Analyze([.. c.Frames, .. again.Frames]);
        Assert.Equal(2, report.Connections.Count);
        Assert.Equal("refused", report.Connections[1].Verdict.Code);
    }
    [Fact]
    public void Icmpv6_packet_too_big_is_tied_to_the_ipv6_connection()
    {
        byte[] V6(string src, ushort sport, string dst, ushort dport, uint seq, uint ack, byte flags, byte[] payload)
        {
            var tcp = Tcp(sport, dport, seq, ack, flags);
            return Concat(Ethernet(0x86DD), Ipv6(src, dst, 6, tcp.Length + payload.Length), tcp, payload);
        }

        const string client = "2001:db8::7";
        const string server = "2001:db8::10";
        var bigServerSegment = V6(server, 3389, client, 50000, 5001, 1001 + 19, PacketBuilder.Psh | PacketBuilder.Ack, new byte[1400]);
        var quoted = bigServerSegment[14..(14 + 48)];                 // IPv6 header + 8 bytes of TCP
        var ptb = Concat(Hex("02 00 0000 000004D8"), quoted);         // type 2, code 0, MTU 1240
        var frames = new List<(double, byte[])>
        {
            (0.0, V6(client, 50000, server, 3389, 1000, 0, PacketBuilder.Syn, [])),
            (0.001, V6(server, 3389, client, 50000, 5000, 1001, PacketBuilder.Syn | PacketBuilder.Ack, [])),
            (0.002, V6(client, 50000, server, 3389, 1001, 5001, PacketBuilder.Ack, [])),
            (0.003, V6(client, 50000, server, 3389, 1001, 5001, PacketBuilder.Psh | PacketBuilder.Ack, ConnectionRequest())),
            (0.004, bigServerSegment),
            (0.005, Concat(Ethernet(0x86DD), Ipv6("2001:db8::1", server, 58, ptb.Length), ptb)),
        };
        var report = Analyze(frames);
        var conn = Assert.Single(report.Connections);
        Assert.Equal("[2001:db8::7]:50000", conn.Client);
        Assert.StartsWith("ipv6.addr==2001:db8::7", conn.Filter, StringComparison.Ordinal);
        var ptbAnomaly = Assert.Single(conn.Anomalies, a => a.Kind == "packet_too_big");
        Assert.Equal([6], ptbAnomaly.Frames);
        var entry = Assert.Single(report.Icmp);
        Assert.Equal(("packet_too_big", (int?)1240, "[2001:db8::10]:3389"), (entry.Kind, entry.Mtu, entry.About));
    }

    [Fact]
    public void Ipv6_fragments_are_reassembled()
    {
        var syn = Concat(Hex("FFFFFFFF 0040 0001 12345678 04D0 04D0"), new byte[1216]);
        var udp = Concat(Udp(61000, 3389, syn.Length), syn);
        byte[] Fragment(int offset, bool more, byte[] data)
        {
            var header = Concat([17, 0], Be16((ushort)(offset | (more ? 1 : 0))), Be32(0xCAFE));
            return Concat(Ethernet(0x86DD), Ipv6("2001:db8::7", "2001:db8::10", 44, header.Length + data.Length), header, data);
        }

        var report = Analyze([(0.0, Fragment(0, true, udp[..640])), (0.001, Fragment(640, false, udp[640..]))]);
        Assert.Equal(2, report.Fragments.Ipv6);
        Assert.Equal(1, report.Fragments.Reassembled);
        var flow = Assert.Single(report.Udp);
        Assert.Equal([2], flow.SynFrames);
        Assert.Contains(flow.Anomalies, a => a.Kind == "ip_fragment" && a.Frames.SequenceEqual([1, 2]));
    }
}
