using System.Buffers.Binary;
using System.Net.Sockets;
using RdpProbe.Net;

namespace RdpProbe.Probe.NetPath;

/// <summary>
/// The parts of Linux <c>struct tcp_info</c> (getsockopt TCP_INFO, linux/tcp.h) a path diagnosis needs: whether our
/// bytes were acknowledged, how many retransmissions, the path MTU the kernel learned from ICMP and the MSS in use.
/// </summary>
public readonly record struct TcpInfo(
    byte Retransmits,
    byte Options,
    uint RtoMicroseconds,
    uint SendMss,
    uint ReceiveMss,
    uint Unacked,
    uint Lost,
    uint PathMtu,
    uint RttMicroseconds,
    uint AdvertisedMss,
    uint TotalRetransmits)
{
    /// <summary>TCPI_OPT_TIMESTAMPS: the connection carries 12 bytes of timestamp option in every segment.</summary>
    public bool Timestamps => (Options & 0x01) != 0;

    /// <summary>IP + TCP header bytes per segment: 20 + 20, plus 12 with timestamps.</summary>
    public int HeaderOverhead => 40 + (Timestamps ? 12 : 0);

    /// <summary>Reads TCP_INFO; null where the OS has no such option (<see cref="Platform.TcpInfoOption"/>).</summary>
    public static TcpInfo? TryGet(Socket socket)
    {
        if (Platform.Current.TcpInfoOption is not { } tcpInfoOption)
        {
            return null;
        }

        Span<byte> raw = stackalloc byte[104];
        try
        {
            int n = socket.GetRawSocketOption(Platform.IpProtoTcp, tcpInfoOption, raw);
            if (n < 104)
            {
                return null;
            }
        }
        catch (SocketException)
        {
            return null;
        }
        catch (ObjectDisposedException)
        {
            return null;
        }

        return new TcpInfo(raw[2], raw[5], U32(raw, 8), U32(raw, 16), U32(raw, 20), U32(raw, 24), U32(raw, 32), U32(raw, 60), U32(raw, 68), U32(raw, 84), U32(raw, 100));
    }

    private static uint U32(ReadOnlySpan<byte> raw, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(raw[offset..]);

    /// <summary>
    /// Caps the MSS our SYN announces (setsockopt TCP_MAXSEG before connect), so the server sends segments no larger
    /// than <paramref name="mss"/>. Returns false where the OS refuses.
    /// </summary>
    public static bool TrySetMaxSegment(Socket socket, int mss)
    {
        try
        {
            Span<byte> value = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(value, mss);
            socket.SetRawSocketOption(Platform.IpProtoTcp, Platform.Current.TcpMaxSegOption, value);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
        catch (PlatformNotSupportedException)
        {
            return false;
        }
    }

    /// <summary>getsockopt TCP_MAXSEG on a connected socket: the MSS the connection uses (bounded by what the server announced).</summary>
    public static int? TryGetMaxSegment(Socket socket)
    {
        try
        {
            Span<byte> value = stackalloc byte[4];
            int n = socket.GetRawSocketOption(Platform.IpProtoTcp, Platform.Current.TcpMaxSegOption, value);
            return n >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(value) : null;
        }
        catch (SocketException)
        {
            return null;
        }
        catch (PlatformNotSupportedException)
        {
            return null;
        }
    }
}
