using System.Buffers;
using System.Buffers.Binary;

namespace RdpProbe.Protocol;

/// <summary>RDPUDP_FEC_HEADER uFlags (MS-RDPEUDP 2.2.2.1).</summary>
[Flags]
public enum RdpUdpFlags : ushort
{
    None = 0,
    Syn = 0x0001,
    Fin = 0x0002,
    Ack = 0x0004,
    Data = 0x0008,
    Fec = 0x0010,
    Cn = 0x0020,
    Cwr = 0x0040,
    SackOption = 0x0080,
    AckOfAcks = 0x0100,
    SynLossy = 0x0200,
    AckDelayed = 0x0400,
    CorrelationId = 0x0800,
    SynEx = 0x1000,
}

/// <summary>RDPUDP_SYNDATAEX_PAYLOAD.uUdpVer (MS-RDPEUDP 2.2.2.9).</summary>
public enum RdpUdpVersion : ushort
{
    V1 = 0x0001,
    V2 = 0x0002,

    /// <summary>RDPUDP_PROTOCOL_VERSION_3: the data phase is MS-RDPEUDP2; the client SYN then carries a cookieHash.</summary>
    V3 = 0x0101,
}

/// <summary>RDPUDP_SYNDATAEX_PAYLOAD.uSynExFlags (MS-RDPEUDP 2.2.2.9).</summary>
[Flags]
public enum RdpUdpSynExFlags : ushort
{
    None = 0,
    VersionInfoValid = 0x0001,
}

/// <summary>RDPUDP_FEC_HEADER (MS-RDPEUDP 2.2.2.1): 8 bytes, big-endian like every RDPEUDP field.</summary>
public readonly record struct RdpUdpFecHeader(uint SnSourceAck, ushort UReceiveWindowSize, RdpUdpFlags UFlags)
{
    public const int Size = 8;

    /// <summary>snSourceAck of a SYN: -1 (MS-RDPEUDP 3.1.5.1.1).</summary>
    public const uint SynSourceAck = 0xFFFFFFFF;

    public static OperationStatus TryRead(ReadOnlySpan<byte> source, out RdpUdpFecHeader value, out int bytesConsumed)
    {
        value = default;
        bytesConsumed = 0;
        if (source.Length < Size)
        {
            return OperationStatus.NeedMoreData;
        }

        value = new RdpUdpFecHeader(
            BinaryPrimitives.ReadUInt32BigEndian(source),
            BinaryPrimitives.ReadUInt16BigEndian(source[4..]),
            (RdpUdpFlags)BinaryPrimitives.ReadUInt16BigEndian(source[6..]));
        bytesConsumed = Size;
        return OperationStatus.Done;
    }

    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination, SnSourceAck);
        BinaryPrimitives.WriteUInt16BigEndian(destination[4..], UReceiveWindowSize);
        BinaryPrimitives.WriteUInt16BigEndian(destination[6..], (ushort)UFlags);
    }
}

/// <summary>RDPUDP_SYNDATA_PAYLOAD (MS-RDPEUDP 2.2.2.5): 8 bytes.</summary>
public readonly record struct RdpUdpSynData(uint SnInitialSequenceNumber, ushort UUpStreamMtu, ushort UDownStreamMtu)
{
    public const int Size = 8;

    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination, SnInitialSequenceNumber);
        BinaryPrimitives.WriteUInt16BigEndian(destination[4..], UUpStreamMtu);
        BinaryPrimitives.WriteUInt16BigEndian(destination[6..], UDownStreamMtu);
    }
}

/// <summary>
/// A SYN or SYN+ACK datagram (MS-RDPEUDP 3.1.5.1.1 / 3.1.5.1.2): FEC header, SYNDATA, then the optional
/// CORRELATION_ID (flag 0x0800) and SYNDATAEX (flag 0x1000) payloads, then zero padding.
/// </summary>
public sealed record RdpUdpSynDatagram(
    RdpUdpFecHeader Header,
    RdpUdpSynData SynData,
    byte[]? CorrelationId = null,
    RdpUdpSynExFlags SynExFlags = RdpUdpSynExFlags.None,
    RdpUdpVersion? Version = null,
    byte[]? CookieHash = null)
{
    public bool IsSynAck => (Header.UFlags & (RdpUdpFlags.Syn | RdpUdpFlags.Ack)) == (RdpUdpFlags.Syn | RdpUdpFlags.Ack);

    /// <summary>The version both ends use: V1 when the datagram carries none (MS-RDPEUDP 3.1.5.1.2).</summary>
    public RdpUdpVersion EffectiveVersion => Version ?? RdpUdpVersion.V1;

    /// <summary>True when this SYN+ACK answers a SYN whose snInitialSequenceNumber was <paramref name="clientIsn"/>.</summary>
    public bool Acknowledges(uint clientIsn) => IsSynAck && Header.SnSourceAck == clientIsn;
}

/// <summary>Codec for the MS-RDPEUDP connection-setup datagrams. Never touches a socket.</summary>
public static class RdpeUdp
{
    /// <summary>uUpStreamMtu / uDownStreamMtu range (MS-RDPEUDP 2.2.2.5).</summary>
    public const ushort MinMtu = 1132;

    public const ushort MaxMtu = 1232;

    /// <summary>
    /// SYN and SYN+ACK are zero-padded to 1232 bytes (the spec's SYN+ACK example; 1280 IPv6 minimum MTU − 40 − 8), so
    /// the datagram itself proves a 1232-byte UDP payload passes the path without fragmentation.
    /// </summary>
    public const int PaddedSize = 1232;

    /// <summary>RDPUDP_CORRELATION_ID_PAYLOAD: 16-byte uCorrelationId + 16 reserved bytes (MS-RDPEUDP 2.2.2.8).</summary>
    public const int CorrelationIdPayloadSize = 32;

    /// <summary>RDPUDP_SYNDATAEX_PAYLOAD without cookieHash: uSynExFlags + uUdpVer (MS-RDPEUDP 2.2.2.9).</summary>
    public const int SynDataExSize = 4;

    /// <summary>cookieHash: SHA-256 of the securityCookie, only in a client SYN with uUdpVer = V3 (MS-RDPEUDP 2.2.2.9).</summary>
    public const int CookieHashSize = 32;

    /// <summary>Largest structured part of a SYN: 8 + 8 + 32 + 4 + 32.</summary>
    public const int MaxSynLength = RdpUdpFecHeader.Size + RdpUdpSynData.Size + CorrelationIdPayloadSize + SynDataExSize + CookieHashSize;

    /// <summary>uReceiveWindowSize a probe SYN announces (packets); any value ≥ 1 is valid, FreeRDP and the spec example use 64.</summary>
    public const ushort DefaultReceiveWindow = 64;

    /// <summary>A client SYN as MS-RDPEUDP 3.1.5.1.1 builds it, optionally with a correlation id and a version (SYNEX).</summary>
    public static RdpUdpSynDatagram CreateClientSyn(uint initialSequenceNumber, RdpUdpVersion? version = RdpUdpVersion.V2, byte[]? correlationId = null, ushort mtu = MaxMtu)
    {
        if (correlationId is not null && correlationId.Length != 16)
        {
            throw new ArgumentException("a correlation id has 16 bytes", nameof(correlationId));
        }

        if (version == RdpUdpVersion.V3)
        {
            // V3 needs the cookieHash of a securityCookie from an Initiate Multitransport Request, which a probe has not got.
            throw new ArgumentException("a V3 SYN needs a cookie hash; build the datagram directly", nameof(version));
        }

        var flags = RdpUdpFlags.Syn;
        if (correlationId is not null)
        {
            flags |= RdpUdpFlags.CorrelationId;
        }

        if (version is not null)
        {
            flags |= RdpUdpFlags.SynEx;
        }

        return new RdpUdpSynDatagram(
            new RdpUdpFecHeader(RdpUdpFecHeader.SynSourceAck, DefaultReceiveWindow, flags),
            new RdpUdpSynData(initialSequenceNumber, mtu, mtu),
            correlationId,
            version is null ? RdpUdpSynExFlags.None : RdpUdpSynExFlags.VersionInfoValid,
            version);
    }

    /// <summary>Length of the structured part (no padding) that <see cref="Write"/> produces for <paramref name="datagram"/>.</summary>
    public static int GetStructuredLength(RdpUdpSynDatagram datagram)
    {
        var flags = datagram.Header.UFlags;
        int length = RdpUdpFecHeader.Size + RdpUdpSynData.Size;
        if ((flags & RdpUdpFlags.CorrelationId) != 0)
        {
            length += CorrelationIdPayloadSize;
        }

        if ((flags & RdpUdpFlags.SynEx) != 0)
        {
            length += SynDataExSize;
            if (CarriesCookieHash(flags, datagram.Version))
            {
                length += CookieHashSize;
            }
        }

        return length;
    }

    /// <summary>
    /// Writes the datagram and zero-pads it to <paramref name="padTo"/> bytes (default 1232; 0 = no padding).
    /// Returns the bytes written.
    /// </summary>
    public static int Write(Span<byte> destination, RdpUdpSynDatagram datagram, int padTo = PaddedSize)
    {
        int structured = GetStructuredLength(datagram);
        int total = Math.Max(structured, padTo);
        if (destination.Length < total)
        {
            throw new ArgumentException("destination too small", nameof(destination));
        }

        var flags = datagram.Header.UFlags;
        if ((flags & RdpUdpFlags.CorrelationId) != 0 && datagram.CorrelationId is not { Length: 16 })
        {
            throw new ArgumentException("CORRELATION_ID flag set without a 16-byte correlation id", nameof(datagram));
        }

        if (CarriesCookieHash(flags, datagram.Version) && datagram.CookieHash is not { Length: CookieHashSize })
        {
            throw new ArgumentException("a V3 client SYN needs a 32-byte cookie hash", nameof(datagram));
        }

        datagram.Header.Write(destination);
        datagram.SynData.Write(destination[RdpUdpFecHeader.Size..]);
        int offset = RdpUdpFecHeader.Size + RdpUdpSynData.Size;
        if ((flags & RdpUdpFlags.CorrelationId) != 0)
        {
            datagram.CorrelationId.CopyTo(destination[offset..]);
            destination.Slice(offset + 16, 16).Clear();
            offset += CorrelationIdPayloadSize;
        }

        if ((flags & RdpUdpFlags.SynEx) != 0)
        {
            BinaryPrimitives.WriteUInt16BigEndian(destination[offset..], (ushort)datagram.SynExFlags);
            BinaryPrimitives.WriteUInt16BigEndian(destination[(offset + 2)..], (ushort)(datagram.Version ?? 0));
            offset += SynDataExSize;
            if (CarriesCookieHash(flags, datagram.Version))
            {
                datagram.CookieHash.CopyTo(destination[offset..]);
                offset += CookieHashSize;
            }
        }

        destination[offset..total].Clear();
        return total;
    }

    public static byte[] Encode(RdpUdpSynDatagram datagram, int padTo = PaddedSize)
    {
        var buffer = new byte[Math.Max(GetStructuredLength(datagram), padTo)];
        Write(buffer, datagram, padTo);
        return buffer;
    }

    /// <summary>
    /// Reads a SYN or SYN+ACK. Done consumes the structured part (padding after it is left to the caller, who holds the
    /// whole datagram); NeedMoreData means the datagram was cut before a payload its flags announce.
    /// InvalidData: not a SYN, SYN with snSourceAck ≠ −1, MTUs outside 1132..1232 (MS-RDPEUDP 2.2.2.5).
    /// </summary>
    public static OperationStatus TryReadSyn(ReadOnlySpan<byte> source, out RdpUdpSynDatagram? value, out int bytesConsumed, out DecodeError error)
    {
        value = null;
        bytesConsumed = 0;
        error = DecodeError.None;
        var status = RdpUdpFecHeader.TryRead(source, out var header, out _);
        if (status != OperationStatus.Done)
        {
            return status;
        }

        var flags = header.UFlags;
        if ((flags & RdpUdpFlags.Syn) == 0)
        {
            error = DecodeError.UnexpectedType;
            return OperationStatus.InvalidData;
        }

        // A client SYN acknowledges nothing yet: snSourceAck MUST be -1 (MS-RDPEUDP 3.1.5.1.1).
        if ((flags & RdpUdpFlags.Ack) == 0 && header.SnSourceAck != RdpUdpFecHeader.SynSourceAck)
        {
            error = DecodeError.BadValue;
            return OperationStatus.InvalidData;
        }

        int offset = RdpUdpFecHeader.Size;
        if (source.Length < offset + RdpUdpSynData.Size)
        {
            return OperationStatus.NeedMoreData;
        }

        var syn = new RdpUdpSynData(
            BinaryPrimitives.ReadUInt32BigEndian(source[offset..]),
            BinaryPrimitives.ReadUInt16BigEndian(source[(offset + 4)..]),
            BinaryPrimitives.ReadUInt16BigEndian(source[(offset + 6)..]));
        offset += RdpUdpSynData.Size;
        if (syn.UUpStreamMtu is < MinMtu or > MaxMtu || syn.UDownStreamMtu is < MinMtu or > MaxMtu)
        {
            error = DecodeError.BadValue;
            return OperationStatus.InvalidData;
        }

        byte[]? correlation = null;
        if ((flags & RdpUdpFlags.CorrelationId) != 0)
        {
            if (source.Length < offset + CorrelationIdPayloadSize)
            {
                return OperationStatus.NeedMoreData;
            }

            correlation = source.Slice(offset, 16).ToArray();
            offset += CorrelationIdPayloadSize;
        }

        var synExFlags = RdpUdpSynExFlags.None;
        RdpUdpVersion? version = null;
        byte[]? cookieHash = null;
        if ((flags & RdpUdpFlags.SynEx) != 0)
        {
            if (source.Length < offset + SynDataExSize)
            {
                return OperationStatus.NeedMoreData;
            }

            synExFlags = (RdpUdpSynExFlags)BinaryPrimitives.ReadUInt16BigEndian(source[offset..]);
            ushort rawVersion = BinaryPrimitives.ReadUInt16BigEndian(source[(offset + 2)..]);
            offset += SynDataExSize;

            // uUdpVer is meaningful only with RDPUDP_VERSION_INFO_VALID (MS-RDPEUDP 2.2.2.9); otherwise V1 applies.
            if ((synExFlags & RdpUdpSynExFlags.VersionInfoValid) != 0)
            {
                version = (RdpUdpVersion)rawVersion;
                if (CarriesCookieHash(flags, version))
                {
                    if (source.Length < offset + CookieHashSize)
                    {
                        return OperationStatus.NeedMoreData;
                    }

                    cookieHash = source.Slice(offset, CookieHashSize).ToArray();
                    offset += CookieHashSize;
                }
            }
        }

        value = new RdpUdpSynDatagram(header, syn, correlation, synExFlags, version, cookieHash);
        bytesConsumed = offset;
        return OperationStatus.Done;
    }

    /// <summary>Only a client SYN (no ACK) that asks for V3 carries the cookieHash (MS-RDPEUDP 2.2.2.9).</summary>
    private static bool CarriesCookieHash(RdpUdpFlags flags, RdpUdpVersion? version)
        => (flags & RdpUdpFlags.SynEx) != 0 && (flags & RdpUdpFlags.Ack) == 0 && version == RdpUdpVersion.V3;
}
