using System.Buffers;
using System.Buffers.Binary;

namespace RdpProbe.Protocol;

/// <summary>Why a PDU could not be decoded; carried by <see cref="ProtocolException"/> and by analyzer findings.</summary>
public enum DecodeError
{
    None,
    BadVersion,
    LengthTooSmall,
    LengthTooLarge,
    LengthMismatch,
    UnexpectedType,
    Truncated,
    BadValue,
}

/// <summary>TPKT header (RFC 1006 §6 / T.123): version 3, reserved, 16-bit big-endian length that includes the header.</summary>
public readonly record struct TpktHeader(byte Version, ushort Length)
{
    public const int Size = 4;
    public const byte Version3 = 0x03;

    /// <summary>
    /// Smallest valid TPKT length. Seven bytes is the smallest X.224 TPDU we accept after the header
    /// (FreeRDP rejects anything shorter; a DT TPDU header alone is 3 bytes).
    /// </summary>
    public const int MinLength = 7;

    public static OperationStatus TryRead(ReadOnlySpan<byte> source, out TpktHeader value, out int bytesConsumed)
        => TryRead(source, out value, out bytesConsumed, out _);

    public static OperationStatus TryRead(ReadOnlySpan<byte> source, out TpktHeader value, out int bytesConsumed, out DecodeError error)
    {
        value = default;
        bytesConsumed = 0;
        error = DecodeError.None;
        if (source.Length >= 1 && source[0] != Version3)
        {
            error = DecodeError.BadVersion;
            return OperationStatus.InvalidData;
        }

        if (source.Length < Size)
        {
            return OperationStatus.NeedMoreData;
        }

        ushort length = BinaryPrimitives.ReadUInt16BigEndian(source[2..]);
        if (length < MinLength)
        {
            error = DecodeError.LengthTooSmall;
            return OperationStatus.InvalidData;
        }

        value = new TpktHeader(source[0], length);
        bytesConsumed = Size;
        return OperationStatus.Done;
    }

    public static void Write(Span<byte> destination, int totalLength)
    {
        if (totalLength is < MinLength or > ushort.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(totalLength));
        }

        destination[0] = Version3;
        destination[1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)totalLength);
    }

    /// <summary>
    /// Finds one whole TPKT frame at the start of <paramref name="source"/>. Done gives the full frame (header included);
    /// NeedMoreData consumes nothing.
    /// </summary>
    public static OperationStatus TryReadFrame(ReadOnlySpan<byte> source, out ReadOnlySpan<byte> frame, out DecodeError error)
    {
        frame = default;
        var status = TryRead(source, out var header, out _, out error);
        if (status != OperationStatus.Done)
        {
            return status;
        }

        if (source.Length < header.Length)
        {
            return OperationStatus.NeedMoreData;
        }

        frame = source[..header.Length];
        return OperationStatus.Done;
    }
}
