using System.Buffers.Binary;
using System.Net;

namespace RdpProbe.Analysis;

/// <summary>
/// An IPv4 or IPv6 address held in two 64-bit words so that flow keys are plain values: no allocation to build,
/// hash or compare them on the hot path. IPv4 addresses are stored as IPv4-mapped IPv6 (::ffff:a.b.c.d).
/// </summary>
internal readonly record struct IpAddr(ulong High, ulong Low)
{
    // Explicit members: the compiler's record equality goes through EqualityComparer per field; these are two
    // compares on the hot path (every packet looks its flow up).
    public bool Equals(IpAddr other) => High == other.High && Low == other.Low;

    public override int GetHashCode() => (High ^ Low).GetHashCode();

    public bool IsV4 => High == 0 && (Low >> 32) == 0xFFFF;

    public static IpAddr FromV4(ReadOnlySpan<byte> four) => new(0, 0xFFFF_0000_0000UL | BinaryPrimitives.ReadUInt32BigEndian(four));

    public static IpAddr FromV6(ReadOnlySpan<byte> sixteen) =>
        new(BinaryPrimitives.ReadUInt64BigEndian(sixteen), BinaryPrimitives.ReadUInt64BigEndian(sixteen[8..]));

    public static IpAddr Parse(string text)
    {
        var address = IPAddress.Parse(text);
        Span<byte> bytes = stackalloc byte[16];
        if (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
        {
            address.TryWriteBytes(bytes, out _);
            return FromV4(bytes);
        }

        address.TryWriteBytes(bytes, out _);
        return FromV6(bytes);
    }

    public override string ToString()
    {
        if (IsV4)
        {
            uint v = (uint)Low;
            return $"{v >> 24}.{(v >> 16) & 0xFF}.{(v >> 8) & 0xFF}.{v & 0xFF}";
        }

        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, High);
        BinaryPrimitives.WriteUInt64BigEndian(bytes[8..], Low);
        return new IPAddress(bytes).ToString();
    }
}

/// <summary>Address and port; prints as Wireshark and the reports do ("a.b.c.d:p", "[v6]:p").</summary>
internal readonly record struct IpEndpoint(IpAddr Address, ushort Port)
{
    public bool Equals(IpEndpoint other) => Address.High == other.Address.High && Address.Low == other.Address.Low && Port == other.Port;

    public override int GetHashCode() => (Address.High ^ Address.Low ^ ((ulong)Port << 48)).GetHashCode();

    public override string ToString() => Address.IsV4 ? $"{Address}:{Port}" : $"[{Address}]:{Port}";
}

/// <summary>
/// Direction-free key of a transport conversation: the smaller endpoint first, so both directions of a flow find
/// the same entry. <see cref="Protocol"/> keeps TCP and UDP on the same ports apart.
/// </summary>
internal readonly record struct FlowKey(IpEndpoint A, IpEndpoint B, byte Protocol)
{
    public bool Equals(FlowKey other) => A.Equals(other.A) && B.Equals(other.B) && Protocol == other.Protocol;

    /// <summary>One multiply-mix over the five fields (no HashCode.Combine chain): the dictionary hashes every packet.</summary>
    public override int GetHashCode()
    {
        ulong h = A.Address.Low * 0x9E3779B97F4A7C15UL;
        h ^= B.Address.Low + 0x632BE59BD9B4E019UL + (h << 6) + (h >> 2);
        h ^= A.Address.High ^ (B.Address.High * 0xC2B2AE3D27D4EB4FUL);
        h ^= ((ulong)A.Port << 24) | ((ulong)B.Port << 8) | Protocol;
        h *= 0xFF51AFD7ED558CCDUL;
        return (int)(h ^ (h >> 32));
    }

    public static FlowKey Create(IpEndpoint source, IpEndpoint destination, byte protocol, out bool sourceIsA)
    {
        sourceIsA = Compare(source, destination) <= 0;
        return sourceIsA ? new FlowKey(source, destination, protocol) : new FlowKey(destination, source, protocol);
    }

    private static int Compare(IpEndpoint x, IpEndpoint y)
    {
        int c = x.Address.High.CompareTo(y.Address.High);
        if (c != 0)
        {
            return c;
        }

        c = x.Address.Low.CompareTo(y.Address.Low);
        return c != 0 ? c : x.Port.CompareTo(y.Port);
    }
}
