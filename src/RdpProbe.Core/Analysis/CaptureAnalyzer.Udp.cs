using System.Buffers.Binary;
using RdpProbe.Diagnosis;

namespace RdpProbe.Analysis;

/// <summary>An RDP-UDP (MS-RDPEUDP) flow: the SYN / SYN+ACK handshake and what came back.</summary>
internal sealed class UdpFlow(IpEndpoint client, IpEndpoint server, int frame, long timestamp)
{
    public const int MaxSynFrames = 32;

    public IpEndpoint Client { get; } = client;
    public IpEndpoint Server { get; } = server;
    public int FirstFrame { get; } = frame;
    public int FileIndex { get; init; }
    public long LastTimestamp { get; set; } = timestamp;
    public List<int> SynFrames { get; } = [];
    public uint ClientIsn { get; set; }
    public bool SynAck { get; set; }
    public int? SynAckFrame { get; set; }
    public ushort? UdpVersion { get; set; }
    public long ClientDatagrams { get; set; }
    public long ServerDatagrams { get; set; }
    public (int Frame, string Kind)? Icmp { get; set; }
    public List<int> FragmentFrames { get; } = [];
}

/// <summary>RDP-UDP detection (MS-RDPEUDP 3.1.5.1.1): a SYN has snSourceAck = 0xFFFFFFFF and the SYN flag; the SYN+ACK
/// acknowledges the SYN's snInitialSequenceNumber with SYN|ACK set. All fields big-endian (MS-RDPEUDP 2.2.2.1).</summary>
internal sealed partial class CaptureAnalyzer
{
    private const ushort RdpUdpFlagSyn = 0x0001;
    private const ushort RdpUdpFlagAck = 0x0004;
    private const ushort RdpUdpFlagSynEx = 0x1000;
    private const ushort RdpUdpFlagCorrelationId = 0x0800;

    private readonly Dictionary<FlowKey, UdpFlow> _udp = [];
    private readonly List<UdpFlow> _finishedUdp = [];
    private readonly List<FlowKey> _udpSweepKeys = [];

    private void OnUdp(ref DecodedPacket p, int frame, long ts, ReadOnlySpan<int> fragmentFrames = default)
    {
        var source = new IpEndpoint(p.Source, p.SourcePort);
        var destination = new IpEndpoint(p.Destination, p.DestinationPort);
        var key = FlowKey.Create(source, destination, IpProtocols.Udp, out _);
        var payload = p.Payload;
        bool isSyn = payload.Length >= 16 && BinaryPrimitives.ReadUInt32BigEndian(payload) == 0xFFFF_FFFF
            && (BinaryPrimitives.ReadUInt16BigEndian(payload[6..]) & (RdpUdpFlagSyn | RdpUdpFlagAck)) == RdpUdpFlagSyn;

        if (!_udp.TryGetValue(key, out var flow))
        {
            if (!isSyn)
            {
                // Only flows whose handshake is in the capture are judged; mid-flow datagrams say nothing about it.
                return;
            }

            flow = new UdpFlow(source, destination, frame, ts) { FileIndex = FileIndex };
            _udp[key] = flow;
        }

        flow.LastTimestamp = ts;
        bool fromClient = flow.Client == source;
        if (fromClient)
        {
            flow.ClientDatagrams++;
            if (isSyn)
            {
                if (flow.SynFrames.Count < UdpFlow.MaxSynFrames)
                {
                    flow.SynFrames.Add(frame);
                }

                flow.ClientIsn = BinaryPrimitives.ReadUInt32BigEndian(payload[8..]);
                flow.UdpVersion ??= ReadUdpVersion(payload);
            }
        }
        else
        {
            flow.ServerDatagrams++;
            if (!flow.SynAck && payload.Length >= 16)
            {
                ushort flags = BinaryPrimitives.ReadUInt16BigEndian(payload[6..]);
                if ((flags & (RdpUdpFlagSyn | RdpUdpFlagAck)) == (RdpUdpFlagSyn | RdpUdpFlagAck)
                    && BinaryPrimitives.ReadUInt32BigEndian(payload) == flow.ClientIsn)
                {
                    flow.SynAck = true;
                    flow.SynAckFrame = frame;
                    var serverVersion = ReadUdpVersion(payload);
                    if (serverVersion is not null)
                    {
                        flow.UdpVersion = serverVersion;
                    }
                }
            }
        }

        foreach (int f in fragmentFrames)
        {
            if (flow.FragmentFrames.Count < 32)
            {
                flow.FragmentFrames.Add(f);
            }
        }
    }

    /// <summary>uUdpVer from RDPUDP_SYNDATAEX_PAYLOAD when SYNEX is set (after the optional 32-byte correlation id).</summary>
    private static ushort? ReadUdpVersion(ReadOnlySpan<byte> payload)
    {
        ushort flags = BinaryPrimitives.ReadUInt16BigEndian(payload[6..]);
        if ((flags & RdpUdpFlagSynEx) == 0)
        {
            return null;
        }

        int at = 16 + ((flags & RdpUdpFlagCorrelationId) != 0 ? 32 : 0);
        return payload.Length >= at + 4 ? BinaryPrimitives.ReadUInt16BigEndian(payload[(at + 2)..]) : null;
    }

    private void SweepUdp(long now)
    {
        _udpSweepKeys.Clear();
        foreach (var (key, flow) in _udp)
        {
            if (now - flow.LastTimestamp > _idleMicros)
            {
                _udpSweepKeys.Add(key);
            }
        }

        foreach (var key in _udpSweepKeys)
        {
            _finishedUdp.Add(_udp[key]);
            _udp.Remove(key);
        }
    }

    // ---------------- ICMP ----------------

    private readonly List<(int Frame, string Kind, int? Mtu, IpEndpoint QuotedSource, IpEndpoint QuotedDestination, byte Protocol, IpEndpoint? Server, int File)> _icmp = [];
    private const int MaxIcmpEntries = 10_000;
    public long IcmpDropped { get; private set; }

    /// <summary>
    /// ICMP errors quote the IP header and the first 8 bytes of the offending datagram (RFC 792, RFC 4443 §2.4):
    /// enough for the ports, so each error is tied to the flow it is about.
    /// </summary>
    private void OnIcmp(ref DecodedPacket p, int frame)
    {
        string? kind;
        int? mtu = null;
        var body = p.IcmpBody;
        if (p.IpVersion == 4)
        {
            if (p.IcmpType != 3)
            {
                return;
            }

            kind = p.IcmpCode switch
            {
                4 => AnomalyKinds.FragNeeded,
                3 => "port_unreachable",
                1 => "host_unreachable",
                0 => "net_unreachable",
                9 or 10 or 13 => "admin_prohibited",
                _ => "unreachable",
            };
            if (p.IcmpCode == 4 && body.Length >= 4)
            {
                mtu = BinaryPrimitives.ReadUInt16BigEndian(body[2..]);
            }
        }
        else
        {
            kind = p.IcmpType switch
            {
                1 => p.IcmpCode switch { 4 => "port_unreachable", 3 => "host_unreachable", 1 => "admin_prohibited", _ => "unreachable" },
                2 => AnomalyKinds.PacketTooBig,
                _ => null,
            };
            if (kind is null)
            {
                return;
            }

            if (p.IcmpType == 2 && body.Length >= 4)
            {
                mtu = (int)BinaryPrimitives.ReadUInt32BigEndian(body);
            }
        }

        if (body.Length < 4)
        {
            return;
        }

        var quoted = default(DecodedPacket);
        if (!FrameDecoder.TryDecodeIp(body[4..], ref quoted) && quoted.IpVersion == 0)
        {
            return;
        }

        // The quote may stop after 8 bytes of TCP: read the ports directly from the quoted IP payload.
        var l4 = quoted.IpPayload;
        if (l4.Length < 4)
        {
            return;
        }

        var qs = new IpEndpoint(quoted.Source, BinaryPrimitives.ReadUInt16BigEndian(l4));
        var qd = new IpEndpoint(quoted.Destination, BinaryPrimitives.ReadUInt16BigEndian(l4[2..]));
        var key = FlowKey.Create(qs, qd, quoted.Protocol, out _);
        IpEndpoint? server = null;
        if (quoted.Protocol == IpProtocols.Tcp && _tcp.TryGetValue(key, out var tcp))
        {
            server = tcp.Server;
            bool aboutClientPacket = tcp.Client == qs;
            string anomaly = kind is AnomalyKinds.FragNeeded or AnomalyKinds.PacketTooBig ? kind : AnomalyKinds.IcmpUnreachable;
            tcp.Anomalies.Add(anomaly, tcp.Current, aboutClientPacket ? "client" : "server", frame, mtu is { } m ? $"next-hop MTU {m}" : kind);
            if (mtu is { } pathMtu and > 0)
            {
                tcp.Tcp.PathMtu[aboutClientPacket ? 0 : 1] = pathMtu;
            }
        }
        else if (quoted.Protocol == IpProtocols.Udp && _udp.TryGetValue(key, out var udp))
        {
            server = udp.Server;
            udp.Icmp ??= (frame, kind);
        }

        if (_icmp.Count < MaxIcmpEntries)
        {
            _icmp.Add((frame, kind, mtu, qs, qd, quoted.Protocol, server, FileIndex));
        }
        else
        {
            IcmpDropped++;
        }
    }
}
