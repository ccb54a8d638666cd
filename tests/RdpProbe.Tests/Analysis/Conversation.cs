using static RdpProbe.Tests.Analysis.PacketBuilder;

namespace RdpProbe.Tests.Analysis;

/// <summary>Scripts a TCP conversation as Ethernet frames with correct sequence numbers, for analyzer scenarios.</summary>
internal sealed class Conversation(string client, ushort clientPort, string server, ushort serverPort)
{
    private uint _clientSeq = 1000;
    private uint _serverSeq = 5000;
    private double _time;

    public List<(double Time, byte[] Frame)> Frames { get; } = [];
    public string Client { get; } = client;
    public string Server { get; } = server;
    public ushort ClientPort { get; } = clientPort;
    public ushort ServerPort { get; } = serverPort;

    public Conversation At(double time)
    {
        _time = time;
        return this;
    }

    public Conversation Handshake() => Syn().SynAck().Ack(fromClient: true);

    /// <summary>The client's SYN; called again it is a retransmission with the same initial sequence number.</summary>
    public Conversation Syn()
    {
        _clientIsn ??= _clientSeq;
        return Add(true, PacketBuilder.Syn, [], seqAdvance: 1, seq: _clientIsn, ack: 0);
    }

    private uint? _clientIsn;

    public uint ServerSeq => _serverSeq;

    /// <summary>The next sequence number the client sends.</summary>
    public uint ClientSeq => _clientSeq;

    public Conversation SynAck() => Add(false, PacketBuilder.Syn | PacketBuilder.Ack, [], seqAdvance: 1);

    public Conversation Ack(bool fromClient) => Add(fromClient, PacketBuilder.Ack, []);

    public Conversation Data(bool fromClient, byte[] payload) => Add(fromClient, PacketBuilder.Psh | PacketBuilder.Ack, payload, seqAdvance: (uint)payload.Length);

    /// <summary>Sends <paramref name="payload"/> again from the same sequence number the last data segment used.</summary>
    public Conversation Retransmit(bool fromClient, byte[] payload)
    {
        uint seq = (fromClient ? _clientSeq : _serverSeq) - (uint)payload.Length;
        return Add(fromClient, PacketBuilder.Psh | PacketBuilder.Ack, payload, seq: seq);
    }

    public Conversation Fin(bool fromClient, uint? ack = null) => Add(fromClient, PacketBuilder.Fin | PacketBuilder.Ack, [], seqAdvance: 1, ack: ack);

    public Conversation Rst(bool fromClient) => Add(fromClient, PacketBuilder.Rst | PacketBuilder.Ack, []);

    public Conversation RstNoAck(bool fromClient) => Add(fromClient, PacketBuilder.Rst, []);

    public Conversation Raw(byte[] ipPacket)
    {
        Frames.Add((_time, Concat(Ethernet(0x0800), ipPacket)));
        _time += 0.001;
        return this;
    }

    /// <summary>The IPv4+TCP bytes a side would send next with this payload (for quoting in ICMP errors).</summary>
    public byte[] NextPacket(bool fromClient, byte[] payload)
    {
        var (src, sport, dst, dport) = fromClient ? (Client, ClientPort, Server, ServerPort) : (Server, ServerPort, Client, ClientPort);
        return Ipv4Tcp(src, sport, dst, dport, fromClient ? _clientSeq : _serverSeq, fromClient ? _serverSeq : _clientSeq, PacketBuilder.Psh | PacketBuilder.Ack, payload);
    }

    public string Write() => PcapFile.Write(1, Frames);

    private Conversation Add(bool fromClient, byte flags, byte[] payload, uint seqAdvance = 0, uint? seq = null, uint? ack = null)
    {
        var (src, sport, dst, dport) = fromClient ? (Client, ClientPort, Server, ServerPort) : (Server, ServerPort, Client, ClientPort);
        uint s = seq ?? (fromClient ? _clientSeq : _serverSeq);
        uint a = ack ?? (fromClient ? _serverSeq : _clientSeq);
        Frames.Add((_time, Concat(Ethernet(0x0800), Ipv4Tcp(src, sport, dst, dport, s, a, flags, payload))));
        _time += 0.001;
        if (seq is null || seqAdvance > 0)
        {
            if (fromClient)
            {
                _clientSeq = s + seqAdvance;
            }
            else
            {
                _serverSeq = s + seqAdvance;
            }
        }

        return this;
    }
}

/// <summary>RDP messages for scenarios, built from their fields.</summary>
internal static class RdpBytes
{
    /// <summary>X.224 CR with cookie "probe" and RDP_NEG_REQ for SSL|HYBRID|HYBRID_EX (MS-RDPBCGR 2.2.1.1).</summary>
    public static byte[] ConnectionRequest(uint protocols = 0x0B)
    {
        var cookie = System.Text.Encoding.ASCII.GetBytes("Cookie: mstshash=probe\r\n");
        var neg = Concat(Hex("01 00 0800"), BitConverter.GetBytes(protocols));
        int length = 4 + 7 + cookie.Length + neg.Length;
        return Concat(Hex("03 00"), Be16((ushort)length), [(byte)(length - 5), 0xE0, 0, 0, 0, 0, 0], cookie, neg);
    }

    /// <summary>X.224 CC with RDP_NEG_RSP selecting <paramref name="selected"/> (MS-RDPBCGR 2.2.1.2.1).</summary>
    public static byte[] ConnectionConfirm(uint selected) => Concat(Hex("03 00 00 13 0E D0 00 00 12 34 00 02 1F 08 00"), BitConverter.GetBytes(selected));

    /// <summary>A TLS record of a content type with a body of <paramref name="length"/> bytes (RFC 5246 §6.2).</summary>
    public static byte[] TlsRecord(byte type, int length, byte fill = 0xAB) => Concat([type, 3, 3], Be16((ushort)length), Enumerable.Repeat(fill, length).ToArray());

    /// <summary>ClientHello: TLS 1.2 legacy version, random, no session id, two suites, null compression, no extensions.</summary>
    public static byte[] ClientHello()
    {
        var body = Concat(Hex("0303"), new byte[32], Hex("00"), Hex("0004 C030 C02F"), Hex("01 00"));
        return TlsHandshakeRecord(1, body);
    }

    /// <summary>ServerHello selecting TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384.</summary>
    public static byte[] ServerHello()
    {
        var body = Concat(Hex("0303"), new byte[32], Hex("00"), Hex("C030"), Hex("00"));
        return TlsHandshakeRecord(2, body);
    }

    public static byte[] TlsHandshakeRecord(byte type, byte[] body)
    {
        var message = Concat([type, 0, (byte)(body.Length >> 8), (byte)body.Length], body);
        return Concat(Hex("16 0303"), Be16((ushort)message.Length), message);
    }

    public static byte[] Alert(byte level, byte description) => Concat(Hex("15 0303 0002"), [level, description]);
}
