using System.Buffers.Binary;

namespace RdpProbe.Protocol;

/// <summary>
/// The few ASN.1 PER (aligned, X.691) pieces that T.124 GCC and T.125 MCS domain PDUs use in RDP. A cursor over a
/// span: every read checks the bytes left and fails with a reason instead of throwing.
/// </summary>
internal ref struct PerReader
{
    private readonly ReadOnlySpan<byte> _source;

    public PerReader(ReadOnlySpan<byte> source)
    {
        _source = source;
        Position = 0;
        Error = DecodeError.None;
    }

    public int Position { get; private set; }

    public readonly int Remaining => _source.Length - Position;

    public DecodeError Error { get; private set; }

    public readonly ReadOnlySpan<byte> Rest => _source[Position..];

    private bool Fail(DecodeError error)
    {
        if (Error == DecodeError.None)
        {
            Error = error;
        }

        return false;
    }

    public bool TryReadByte(out byte value)
    {
        value = 0;
        if (Remaining < 1)
        {
            return Fail(DecodeError.Truncated);
        }

        value = _source[Position++];
        return true;
    }

    public bool TryReadUInt16(out ushort value)
    {
        value = 0;
        if (Remaining < 2)
        {
            return Fail(DecodeError.Truncated);
        }

        value = BinaryPrimitives.ReadUInt16BigEndian(_source[Position..]);
        Position += 2;
        return true;
    }

    /// <summary>X.691 10.9 length determinant: one byte below 0x80, two bytes with the top bit set up to 0x3FFF.</summary>
    public bool TryReadLength(out int length)
    {
        length = 0;
        if (!TryReadByte(out byte first))
        {
            return false;
        }

        if ((first & 0x80) == 0)
        {
            length = first;
            return true;
        }

        if ((first & 0x40) != 0)
        {
            // Fragmented lengths (16K units) never occur in RDP's small PDUs.
            return Fail(DecodeError.LengthTooLarge);
        }

        if (!TryReadByte(out byte second))
        {
            return false;
        }

        length = ((first & 0x3F) << 8) | second;
        return true;
    }

    public bool TryReadBytes(int count, out ReadOnlySpan<byte> bytes)
    {
        bytes = default;
        if (count < 0 || Remaining < count)
        {
            return Fail(DecodeError.Truncated);
        }

        bytes = _source.Slice(Position, count);
        Position += count;
        return true;
    }

    /// <summary>Checks that the next bytes are exactly <paramref name="expected"/> (fixed OIDs and keys).</summary>
    public bool TryExpect(ReadOnlySpan<byte> expected)
    {
        if (!TryReadBytes(expected.Length, out var got))
        {
            return false;
        }

        return got.SequenceEqual(expected) || Fail(DecodeError.BadValue);
    }
}

/// <summary>Writers for the same PER pieces.</summary>
internal static class Per
{
    /// <summary>Bytes a length determinant takes (X.691 10.9).</summary>
    public static int LengthSize(int length) => length < 0x80 ? 1 : 2;

    public static int WriteLength(Span<byte> destination, int length)
    {
        if (length < 0x80)
        {
            destination[0] = (byte)length;
            return 1;
        }

        if (length > 0x3FFF)
        {
            throw new ArgumentOutOfRangeException(nameof(length), "PER lengths above 16383 are fragmented; RDP never needs them here");
        }

        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)(0x8000 | length));
        return 2;
    }
}
