using System.Buffers;
using System.Buffers.Binary;

namespace RdpProbe.Protocol;

/// <summary>Share Control pduType low nibble (MS-RDPBCGR 2.2.8.1.1.1.1); the wire value adds the version 0x10.</summary>
internal enum ShareControlPduType : ushort
{
    DemandActive = 0x1,
    ConfirmActive = 0x3,
    DeactivateAll = 0x6,
    Data = 0x7,
    ServerRedirect = 0xA,
}

/// <summary>Share Data pduType2 (MS-RDPBCGR 2.2.8.1.1.1.2).</summary>
internal enum ShareDataPduType : byte
{
    Update = 0x02,
    Control = 0x14,
    Pointer = 0x1B,
    Input = 0x1C,
    Synchronize = 0x1F,
    RefreshRect = 0x21,
    PlaySound = 0x22,
    SuppressOutput = 0x23,
    ShutdownRequest = 0x24,
    ShutdownDenied = 0x25,
    SaveSessionInfo = 0x26,
    FontList = 0x27,
    FontMap = 0x28,
    SetKeyboardIndicators = 0x29,
    PersistentKeyList = 0x2B,
    BitmapCacheError = 0x2C,
    SetKeyboardImeStatus = 0x2D,
    OffscreenCacheError = 0x2E,
    SetErrorInfo = 0x2F,
    DrawNineGridError = 0x30,
    DrawGdiPlusError = 0x31,
    ArcStatus = 0x32,
    StatusInfo = 0x36,
    MonitorLayout = 0x37,
    FrameAck = 0x38,
}

/// <summary>One Share Control PDU: header fields and what follows the 6-byte header. A flow PDU has Type 0 and IsFlow.</summary>
internal sealed record ShareControlPdu(ushort TotalLength, ShareControlPduType Type, ushort Source, byte[] Body, bool IsFlow = false);

/// <summary>Share Data header (MS-RDPBCGR 2.2.8.1.1.1.2) and what follows it.</summary>
internal sealed record ShareDataPdu(uint ShareId, ShareDataPduType Type, byte CompressedType, byte[] Payload);

/// <summary>Demand Active (MS-RDPBCGR 2.2.1.13.1.1): share id, source descriptor, capability sets, session id.</summary>
internal sealed record DemandActivePdu(uint ShareId, string SourceDescriptor, IReadOnlyList<CapabilitySet> Capabilities, uint? SessionId);

/// <summary>Share Control / Share Data headers and the server PDUs the probe waits for (MS-RDPBCGR 2.2.8.1.1.1, 2.2.1.13).</summary>
internal static class ShareControl
{
    public const int HeaderSize = 6;
    public const int DataHeaderSize = 12;

    /// <summary>
    /// Reads one Share Control PDU. totalLength 0x8000 marks a flow PDU (MS-RDPBCGR 2.2.8.1.1.1.1), which is 8 bytes
    /// long and is skipped by the caller.
    /// </summary>
    public static OperationStatus TryRead(ReadOnlySpan<byte> source, out ShareControlPdu? value, out int bytesConsumed, out DecodeError error)
    {
        value = null;
        bytesConsumed = 0;
        error = DecodeError.None;
        if (source.Length < 2)
        {
            return OperationStatus.NeedMoreData;
        }

        ushort total = BinaryPrimitives.ReadUInt16LittleEndian(source);
        if (total == 0x8000)
        {
            if (source.Length < 8)
            {
                return OperationStatus.NeedMoreData;
            }

            value = new ShareControlPdu(total, 0, 0, source[2..8].ToArray(), IsFlow: true);
            bytesConsumed = 8;
            return OperationStatus.Done;
        }

        // Some servers send a 4-byte "totalLength, pduType" with no source for Deactivate All; anything under 4 is malformed.
        if (total < 4)
        {
            error = DecodeError.LengthTooSmall;
            return OperationStatus.InvalidData;
        }

        if (source.Length < total)
        {
            return OperationStatus.NeedMoreData;
        }

        ushort pduType = BinaryPrimitives.ReadUInt16LittleEndian(source[2..]);
        ushort pduSource = total >= HeaderSize ? BinaryPrimitives.ReadUInt16LittleEndian(source[4..]) : (ushort)0;
        value = new ShareControlPdu(total, (ShareControlPduType)(pduType & 0x0F), pduSource, source[Math.Min(HeaderSize, (int)total)..total].ToArray());
        bytesConsumed = total;
        return OperationStatus.Done;
    }

    public static OperationStatus TryReadData(ReadOnlySpan<byte> body, out ShareDataPdu? value, out DecodeError error)
    {
        value = null;
        error = DecodeError.None;
        if (body.Length < DataHeaderSize)
        {
            error = DecodeError.Truncated;
            return OperationStatus.InvalidData;
        }

        // shareId u32, pad1, streamId, uncompressedLength u16, pduType2, compressedType, compressedLength u16.
        value = new ShareDataPdu(BinaryPrimitives.ReadUInt32LittleEndian(body), (ShareDataPduType)body[8], body[9], body[DataHeaderSize..].ToArray());
        return OperationStatus.Done;
    }

    /// <summary>Set Error Info PDU body (MS-RDPBCGR 2.2.5.1.1): errorInfo u32.</summary>
    public static bool TryReadErrorInfo(ReadOnlySpan<byte> payload, out uint errorInfo)
    {
        errorInfo = 0;
        if (payload.Length < 4)
        {
            return false;
        }

        errorInfo = BinaryPrimitives.ReadUInt32LittleEndian(payload);
        return true;
    }

    public static OperationStatus TryReadDemandActive(ReadOnlySpan<byte> body, out DemandActivePdu? value, out DecodeError error)
    {
        value = null;
        error = DecodeError.Truncated;
        if (body.Length < 8)
        {
            return OperationStatus.InvalidData;
        }

        uint shareId = BinaryPrimitives.ReadUInt32LittleEndian(body);
        int sourceLength = BinaryPrimitives.ReadUInt16LittleEndian(body[4..]);
        int capsLength = BinaryPrimitives.ReadUInt16LittleEndian(body[6..]);
        if (body.Length < 8 + sourceLength + capsLength || capsLength < 4)
        {
            error = DecodeError.LengthMismatch;
            return OperationStatus.InvalidData;
        }

        string source = System.Text.Encoding.ASCII.GetString(body.Slice(8, sourceLength)).TrimEnd('\0');
        var caps = body.Slice(8 + sourceLength, capsLength);
        int count = BinaryPrimitives.ReadUInt16LittleEndian(caps);
        if (!Capabilities.TryReadSets(caps[4..], count, out var sets, out error))
        {
            return OperationStatus.InvalidData;
        }

        var rest = body[(8 + sourceLength + capsLength)..];
        uint? sessionId = rest.Length >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(rest) : null;
        value = new DemandActivePdu(shareId, source, sets, sessionId);
        error = DecodeError.None;
        return OperationStatus.Done;
    }

    /// <summary>Share Control header + body (tests and the fake server).</summary>
    public static byte[] Encode(ShareControlPduType type, ushort source, ReadOnlySpan<byte> body)
    {
        var pdu = new byte[HeaderSize + body.Length];
        BinaryPrimitives.WriteUInt16LittleEndian(pdu, (ushort)pdu.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(pdu.AsSpan(2), (ushort)(0x10 | (ushort)type));
        BinaryPrimitives.WriteUInt16LittleEndian(pdu.AsSpan(4), source);
        body.CopyTo(pdu.AsSpan(HeaderSize));
        return pdu;
    }

    /// <summary>A Share Data PDU inside a Share Control PDU (tests and the fake server).</summary>
    public static byte[] EncodeData(uint shareId, ShareDataPduType type, ushort source, ReadOnlySpan<byte> payload)
    {
        var body = new byte[DataHeaderSize + payload.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(body, shareId);
        body[5] = 0x01; // STREAM_LOW
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(6), (ushort)(payload.Length + 4));
        body[8] = (byte)type;
        payload.CopyTo(body.AsSpan(DataHeaderSize));
        return Encode(ShareControlPduType.Data, source, body);
    }

    public static byte[] EncodeSetErrorInfo(uint shareId, ushort source, uint errorInfo)
    {
        var payload = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(payload, errorInfo);
        return EncodeData(shareId, ShareDataPduType.SetErrorInfo, source, payload);
    }

    public static byte[] EncodeDemandActive(uint shareId, ushort source, string sourceDescriptor, IReadOnlyList<CapabilitySet> sets, uint sessionId)
    {
        byte[] descriptor = System.Text.Encoding.ASCII.GetBytes(sourceDescriptor + "\0");
        byte[] caps = Capabilities.EncodeSets(sets);
        var body = new byte[8 + descriptor.Length + 4 + caps.Length + 4];
        BinaryPrimitives.WriteUInt32LittleEndian(body, shareId);
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(4), (ushort)descriptor.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(6), (ushort)(4 + caps.Length));
        descriptor.CopyTo(body, 8);
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(8 + descriptor.Length), (ushort)sets.Count);
        caps.CopyTo(body, 8 + descriptor.Length + 4);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(body.Length - 4), sessionId);
        return Encode(ShareControlPduType.DemandActive, source, body);
    }
}
