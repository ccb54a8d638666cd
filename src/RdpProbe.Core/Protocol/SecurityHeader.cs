using System.Buffers;
using System.Buffers.Binary;

namespace RdpProbe.Protocol;

/// <summary>Basic security header flags (MS-RDPBCGR 2.2.8.1.1.2.1).</summary>
[Flags]
internal enum SecurityFlags : ushort
{
    None = 0,
    Exchange = 0x0001,
    TransportRequest = 0x0002,
    TransportResponse = 0x0004,
    Encrypt = 0x0008,
    ResetSeqNo = 0x0010,
    IgnoreSeqNo = 0x0020,
    InfoPacket = 0x0040,
    LicensePacket = 0x0080,
    LicenseEncrypt = 0x0200,
    RedirectionPacket = 0x0400,
    SecureChecksum = 0x0800,
    AutodetectRequest = 0x1000,
    AutodetectResponse = 0x2000,
    Heartbeat = 0x4000,
    FlagsHiValid = 0x8000,
}

/// <summary>
/// TS_SECURITY_HEADER (basic, 4 bytes) and TS_SECURITY_HEADER1 (+ 8-byte MAC when SEC_ENCRYPT is set, non-FIPS)
/// (MS-RDPBCGR 2.2.8.1.1.2.1–2.2.8.1.1.2.2). flagsHi is only meaningful with SEC_FLAGSHI_VALID; Windows leaves
/// garbage there, so it is read and ignored.
/// </summary>
internal readonly record struct SecurityHeader(SecurityFlags Flags, ushort FlagsHi)
{
    public const int BasicSize = 4;
    public const int MacSize = 8;

    public static OperationStatus TryRead(ReadOnlySpan<byte> source, out SecurityHeader value, out int bytesConsumed)
    {
        value = default;
        bytesConsumed = 0;
        if (source.Length < BasicSize)
        {
            return OperationStatus.NeedMoreData;
        }

        value = new SecurityHeader((SecurityFlags)BinaryPrimitives.ReadUInt16LittleEndian(source), BinaryPrimitives.ReadUInt16LittleEndian(source[2..]));
        bytesConsumed = BasicSize;
        return OperationStatus.Done;
    }

    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(destination, (ushort)Flags);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], FlagsHi);
    }

    public static byte[] Prepend(SecurityFlags flags, ReadOnlySpan<byte> payload)
    {
        var buffer = new byte[BasicSize + payload.Length];
        new SecurityHeader(flags, 0).Write(buffer);
        payload.CopyTo(buffer.AsSpan(BasicSize));
        return buffer;
    }
}
