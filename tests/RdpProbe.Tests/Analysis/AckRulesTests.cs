using RdpProbe.Analysis;
using static RdpProbe.Tests.Analysis.PacketBuilder;

namespace RdpProbe.Tests.Analysis;

/// <summary>
/// Keep-alives and window updates are not duplicate ACKs: the classification follows Wireshark's TCP analysis
/// (keep-alive: 0 or 1 byte at the highest sequence sent − 1; window update: no payload, same SEQ and ACK, a new
/// window; duplicate ACK: no payload, same SEQ, ACK and window), checked on constructed packets.
/// </summary>
public sealed class AckRulesTests
{
    private sealed class Nothing : IStreamConsumer
    {
        public void Feed(ReadOnlySpan<byte> data, int frame)
        {
        }

        public void Gap(int length, int frame)
        {
        }

        public void End(int frame)
        {
        }
    }

    private const TcpFlags A = TcpFlags.Ack;

    /// <summary>Both sides after a handshake and 100 bytes from the client: client next 1101, server next 5001.</summary>
    private static (TcpHalf Client, TcpHalf Server) Established()
    {
        var client = new TcpHalf(new Nothing());
        var server = new TcpHalf(new Nothing());
        AckRules.Classify(client, server, 1000, 0, TcpFlags.Syn, 64000, 0);
        AckRules.Classify(server, client, 5000, 1001, TcpFlags.Syn | A, 64000, 0);
        AckRules.Classify(client, server, 1001, 5001, A, 64000, 0);
        AckRules.Classify(client, server, 1001, 5001, A | TcpFlags.Psh, 64000, 100);
        AckRules.Classify(server, client, 5001, 1101, A, 64000, 0);
        return (client, server);
    }

    [Fact]
    public void The_same_ack_seq_and_window_again_is_a_duplicate_ack()
    {
        var (client, server) = Established();
        Assert.Equal(AckKind.None, AckRules.Classify(server, client, 5001, 1101, A | TcpFlags.Psh, 64000, 50));
        Assert.Equal(AckKind.None, AckRules.Classify(client, server, 1101, 5051, A, 64000, 0));
        Assert.Equal(AckKind.DuplicateAck, AckRules.Classify(client, server, 1101, 5051, A, 64000, 0));
        Assert.Equal(AckKind.DuplicateAck, AckRules.Classify(client, server, 1101, 5051, A, 64000, 0));

        // A new ACK is not a duplicate; the same one again is.
        Assert.Equal(AckKind.None, AckRules.Classify(server, client, 5051, 1101, A | TcpFlags.Psh, 64000, 50));
        Assert.Equal(AckKind.None, AckRules.Classify(client, server, 1101, 5101, A, 64000, 0));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void A_keep_alive_is_not_a_duplicate_ack_and_neither_is_its_answer(int length)
    {
        var (client, server) = Established();
        Assert.Equal(AckKind.KeepAlive, AckRules.Classify(client, server, 1100, 5001, A, 64000, length));
        Assert.Equal(AckKind.KeepAliveAck, AckRules.Classify(server, client, 5001, 1101, A, 64000, 0));
        Assert.Equal(AckKind.KeepAlive, AckRules.Classify(client, server, 1100, 5001, A, 64000, length));
        Assert.Equal(AckKind.KeepAliveAck, AckRules.Classify(server, client, 5001, 1101, A, 64000, 0));
    }

    [Fact]
    public void A_window_update_is_not_a_duplicate_ack_but_the_same_window_again_is()
    {
        var (client, server) = Established();
        Assert.Equal(AckKind.WindowUpdate, AckRules.Classify(server, client, 5001, 1101, A, 32000, 0));
        Assert.Equal(AckKind.WindowUpdate, AckRules.Classify(server, client, 5001, 1101, A, 64000, 0));
        Assert.Equal(AckKind.DuplicateAck, AckRules.Classify(server, client, 5001, 1101, A, 64000, 0));
    }

    [Fact]
    public void Zero_windows_syn_fin_and_rst_are_never_duplicate_acks()
    {
        var (client, server) = Established();
        Assert.Equal(AckKind.None, AckRules.Classify(client, server, 1101, 5001, A, 0, 0));
        Assert.Equal(AckKind.None, AckRules.Classify(client, server, 1101, 5001, A, 0, 0));
        Assert.Equal(AckKind.None, AckRules.Classify(client, server, 1101, 5001, A | TcpFlags.Rst, 0, 0));
        var (c2, s2) = Established();
        Assert.Equal(AckKind.None, AckRules.Classify(c2, s2, 1101, 5001, A | TcpFlags.Fin, 64000, 0));

        // After the FIN (which takes a sequence number) the next pure ACK at 1102 repeats nothing yet, then duplicates.
        Assert.Equal(AckKind.DuplicateAck, AckRules.Classify(c2, s2, 1102, 5001, A, 64000, 0));
    }

    [Fact]
    public void A_probe_into_a_zero_window_does_not_advance_the_sequence()
    {
        var (client, server) = Established();
        Assert.Equal(AckKind.None, AckRules.Classify(server, client, 5001, 1101, A, 0, 0));
        Assert.Equal(AckKind.ZeroWindowProbe, AckRules.Classify(client, server, 1101, 5001, A, 64000, 1));
        Assert.Equal(AckKind.ZeroWindowProbe, AckRules.Classify(client, server, 1101, 5001, A, 64000, 1));
    }

    [Fact]
    public void In_a_capture_keep_alives_and_window_updates_are_not_reported_but_duplicate_acks_are()
    {
        var conversation = new Conversation("10.0.0.1", 50000, "10.0.0.2", 3389).Handshake()
            .Data(true, RdpBytes.ConnectionRequest()).Data(false, RdpBytes.ConnectionConfirm(1)).Ack(true);
        uint c = conversation.ClientSeq;
        uint s = conversation.ServerSeq;
        conversation
            .Raw(Ipv4Tcp("10.0.0.1", 50000, "10.0.0.2", 3389, c - 1, s, Ack))            // 7: keep-alive
            .Raw(Ipv4Tcp("10.0.0.2", 3389, "10.0.0.1", 50000, s, c, Ack))                // 8: keep-alive ACK
            .Raw(Ipv4Tcp("10.0.0.1", 50000, "10.0.0.2", 3389, c, s, Ack, window: 30000)) // 9: window update
            .Raw(Ipv4Tcp("10.0.0.1", 50000, "10.0.0.2", 3389, c, s, Ack, window: 30000)) // 10: duplicate ACK
            .Raw(Ipv4Tcp("10.0.0.1", 50000, "10.0.0.2", 3389, c, s, Ack, window: 30000)); // 11: duplicate ACK
        string path = conversation.Write();
        try
        {
            var connection = Assert.Single(TestCaptures.Analyze(path).Connections);
            var duplicates = Assert.Single(connection.Anomalies, a => a.Kind == "duplicate_ack");
            Assert.Equal([10, 11], duplicates.Frames);
            Assert.Equal("frame.number in {10,11}", duplicates.Filter);
            Assert.DoesNotContain(connection.Anomalies, a => a.Frames.Any(f => f is 7 or 8 or 9));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
