using System.Buffers;
using System.Buffers.Binary;
using System.Formats.Asn1;

namespace RdpProbe.Protocol;

/// <summary>T.125 DomainMCSPDU choices used by RDP (MS-RDPBCGR 2.2.1.5–2.2.1.10, T.125 section 7).</summary>
internal enum McsDomainPduType : byte
{
    ErectDomainRequest = 1,
    DisconnectProviderUltimatum = 8,
    AttachUserRequest = 10,
    AttachUserConfirm = 11,
    ChannelJoinRequest = 14,
    ChannelJoinConfirm = 15,
    SendDataRequest = 25,
    SendDataIndication = 26,
}

/// <summary>T.125 Reason for a Disconnect Provider Ultimatum.</summary>
internal enum McsDisconnectReason : byte
{
    DomainDisconnected = 0,
    ProviderInitiated = 1,
    TokenPurged = 2,
    UserRequested = 3,
    ChannelPurged = 4,
}

/// <summary>One decoded domain PDU. Fields that the type does not carry are zero; Data is the user data of send-data PDUs.</summary>
internal sealed record McsDomainMessage(
    McsDomainPduType Type,
    byte Result = 0,
    ushort Initiator = 0,
    ushort ChannelId = 0,
    ushort RequestedChannelId = 0,
    McsDisconnectReason Reason = 0,
    byte[]? Data = null);

/// <summary>MCS Connect-Response (T.125 section 7, MS-RDPBCGR 2.2.1.4): the result and the GCC Conference Create Response inside.</summary>
internal sealed record McsConnectResponse(int Result, int CalledConnectId, byte[] UserData)
{
    public string ResultName => Mcs.ResultName(Result);
}

/// <summary>
/// MCS (T.125) as RDP uses it: Connect-Initial / Connect-Response in BER (via System.Formats.Asn1), the domain PDUs
/// in aligned PER, each carried in an X.224 Data TPDU (MS-RDPBCGR 2.2.1.3–2.2.1.10).
/// </summary>
internal static class Mcs
{
    /// <summary>MCS_BASE_CHANNEL_ID: user ids go on the wire as offsets from 1001 (T.125 UserId ::= DynamicChannelId).</summary>
    public const ushort BaseChannelId = 1001;

    /// <summary>The I/O (global) channel, fixed at 1003 (MS-RDPBCGR 2.2.1.4.4 SC_NET MCSChannelId).</summary>
    public const ushort IoChannelId = 1003;

    private static readonly Asn1Tag ConnectInitialTag = new(TagClass.Application, 101, isConstructed: true);
    private static readonly Asn1Tag ConnectResponseTag = new(TagClass.Application, 102, isConstructed: true);

    private static readonly string[] ResultNames =
    [
        "rt-successful", "rt-domain-merging", "rt-domain-not-hierarchical", "rt-no-such-channel", "rt-no-such-domain",
        "rt-no-such-user", "rt-not-admitted", "rt-other-user-id", "rt-parameters-unacceptable", "rt-token-not-available",
        "rt-token-not-possessed", "rt-too-many-channels", "rt-too-many-tokens", "rt-too-many-users", "rt-unspecified-failure",
        "rt-user-rejected",
    ];

    /// <summary>T.125 Result enumeration by name ("rt-successful" …).</summary>
    public static string ResultName(int result) => result >= 0 && result < ResultNames.Length ? ResultNames[result] : $"result-{result}";

    public static string ReasonName(McsDisconnectReason reason) => reason switch
    {
        McsDisconnectReason.DomainDisconnected => "rn-domain-disconnected",
        McsDisconnectReason.ProviderInitiated => "rn-provider-initiated",
        McsDisconnectReason.TokenPurged => "rn-token-purged",
        McsDisconnectReason.UserRequested => "rn-user-requested",
        McsDisconnectReason.ChannelPurged => "rn-channel-purged",
        _ => $"rn-{(int)reason}",
    };

    /// <summary>TPKT + X.224 DT header (02 F0 80) around an MCS PDU (MS-RDPBCGR 2.2.1.3 tpktHeader/x224Data).</summary>
    public static byte[] WrapInDataTpdu(ReadOnlySpan<byte> mcs)
    {
        int total = TpktHeader.Size + X224.DataHeaderSize + mcs.Length;
        var frame = new byte[total];
        TpktHeader.Write(frame, total);
        frame[4] = 0x02;
        frame[5] = (byte)X224TpduCode.Data;
        frame[6] = 0x80;
        mcs.CopyTo(frame.AsSpan(7));
        return frame;
    }

    /// <summary>
    /// Connect-Initial (T.125 section 7; values as MS-RDPBCGR 4.1.3 shows): domain selectors "\x01", upward flag TRUE,
    /// target/minimum/maximum DomainParameters, and the GCC Conference Create Request as userData.
    /// </summary>
    public static byte[] EncodeConnectInitial(ReadOnlySpan<byte> gccConferenceCreateRequest)
    {
        var w = new AsnWriter(AsnEncodingRules.BER);
        using (w.PushSequence(ConnectInitialTag))
        {
            w.WriteOctetString([0x01]);
            w.WriteOctetString([0x01]);
            w.WriteBoolean(true);
            WriteDomainParameters(w, 34, 2, 0, 1, 0, 1, 65535, 2);
            WriteDomainParameters(w, 1, 1, 1, 1, 0, 1, 1056, 2);
            WriteDomainParameters(w, 65535, 64535, 65535, 1, 0, 1, 65535, 2);
            w.WriteOctetString(gccConferenceCreateRequest);
        }

        return w.Encode();
    }

    private static void WriteDomainParameters(AsnWriter w, params ReadOnlySpan<int> values)
    {
        // DomainParameters: maxChannelIds, maxUserIds, maxTokenIds, numPriorities, minThroughput, maxHeight, maxMCSPDUsize, protocolVersion.
        using (w.PushSequence())
        {
            foreach (int v in values)
            {
                w.WriteInteger(v);
            }
        }
    }

    /// <summary>Connect-Response (T.125 section 7). Reads BER: servers use length forms DER would not.</summary>
    public static OperationStatus TryReadConnectResponse(ReadOnlySpan<byte> mcs, out McsConnectResponse? value, out DecodeError error)
    {
        value = null;
        error = DecodeError.None;
        if (mcs.Length >= 2 && (mcs[0] != 0x7F || mcs[1] != 0x66))
        {
            error = DecodeError.UnexpectedType;
            return OperationStatus.InvalidData;
        }

        try
        {
            var reader = new AsnReader(mcs.ToArray(), AsnEncodingRules.BER);
            var seq = reader.ReadSequence(ConnectResponseTag);
            var resultBytes = seq.ReadEnumeratedBytes();
            if (resultBytes.Length != 1)
            {
                error = DecodeError.BadValue;
                return OperationStatus.InvalidData;
            }

            int calledConnectId = seq.TryReadInt32(out int id) ? id : -1;
            seq.ReadSequence();
            byte[] userData = seq.ReadOctetString();
            value = new McsConnectResponse(resultBytes.Span[0], calledConnectId, userData);
            return OperationStatus.Done;
        }
        catch (AsnContentException)
        {
            // A whole TPKT frame was handed in, so a short BER structure is malformed, not incomplete.
            error = DecodeError.BadValue;
            return OperationStatus.InvalidData;
        }
    }

    /// <summary>Writes a Connect-Response (tests and the fake server).</summary>
    public static byte[] EncodeConnectResponse(int result, ReadOnlySpan<byte> gccConferenceCreateResponse)
    {
        var w = new AsnWriter(AsnEncodingRules.BER);
        using (w.PushSequence(ConnectResponseTag))
        {
            w.WriteEnumeratedValue((McsResultCode)result);
            w.WriteInteger(0);
            WriteDomainParameters(w, 34, 3, 0, 1, 0, 1, 65528, 2);
            w.WriteOctetString(gccConferenceCreateResponse);
        }

        return w.Encode();
    }

    /// <summary>T.125 Result as an enum type, so AsnWriter can write the ENUMERATED (values are the T.125 numbers).</summary>
    private enum McsResultCode
    {
        RtSuccessful = 0,
    }

    /// <summary>Erect Domain Request: subHeight 0, subInterval 0 (MS-RDPBCGR 2.2.1.5).</summary>
    public static byte[] ErectDomainRequest() => [(byte)McsDomainPduType.ErectDomainRequest << 2, 0x01, 0x00, 0x01, 0x00];

    /// <summary>Attach User Request (MS-RDPBCGR 2.2.1.6): the choice byte alone.</summary>
    public static byte[] AttachUserRequest() => [(byte)McsDomainPduType.AttachUserRequest << 2];

    /// <summary>Channel Join Request (MS-RDPBCGR 2.2.1.8): initiator (user id − 1001) and the channel id, both 16-bit big-endian.</summary>
    public static byte[] ChannelJoinRequest(ushort userId, ushort channelId)
    {
        var pdu = new byte[5];
        pdu[0] = (byte)McsDomainPduType.ChannelJoinRequest << 2;
        BinaryPrimitives.WriteUInt16BigEndian(pdu.AsSpan(1), (ushort)(userId - BaseChannelId));
        BinaryPrimitives.WriteUInt16BigEndian(pdu.AsSpan(3), channelId);
        return pdu;
    }

    /// <summary>
    /// Send Data Request (T.125 SDrq, MS-RDPBCGR 2.2.1.7 ff.): initiator, channel, 0x70 = priority high and a single
    /// segment (begin|end), PER length, data.
    /// </summary>
    public static byte[] SendDataRequest(ushort userId, ushort channelId, ReadOnlySpan<byte> data)
        => SendData(McsDomainPduType.SendDataRequest, userId, channelId, data);

    /// <summary>Send Data Indication, the server-to-client twin (tests and the fake server).</summary>
    public static byte[] SendDataIndication(ushort userId, ushort channelId, ReadOnlySpan<byte> data)
        => SendData(McsDomainPduType.SendDataIndication, userId, channelId, data);

    private static byte[] SendData(McsDomainPduType type, ushort userId, ushort channelId, ReadOnlySpan<byte> data)
    {
        var pdu = new byte[6 + Per.LengthSize(data.Length) + data.Length];
        pdu[0] = (byte)((byte)type << 2);
        BinaryPrimitives.WriteUInt16BigEndian(pdu.AsSpan(1), (ushort)(userId - BaseChannelId));
        BinaryPrimitives.WriteUInt16BigEndian(pdu.AsSpan(3), channelId);
        pdu[5] = 0x70;
        int n = Per.WriteLength(pdu.AsSpan(6), data.Length);
        data.CopyTo(pdu.AsSpan(6 + n));
        return pdu;
    }

    /// <summary>Disconnect Provider Ultimatum: the 3-bit reason straddles the two bytes (T.125, "21 80" = rn-user-requested).</summary>
    public static byte[] DisconnectProviderUltimatum(McsDisconnectReason reason)
        => [(byte)(((byte)McsDomainPduType.DisconnectProviderUltimatum << 2) | ((byte)reason >> 1)), (byte)(((byte)reason & 1) << 7)];

    /// <summary>Attach User Confirm (tests and the fake server): result, initiator present.</summary>
    public static byte[] AttachUserConfirm(byte result, ushort userId)
    {
        var pdu = new byte[4];
        (pdu[0], pdu[1]) = ResultBytes(((byte)McsDomainPduType.AttachUserConfirm << 2) | 0x02, result);
        BinaryPrimitives.WriteUInt16BigEndian(pdu.AsSpan(2), (ushort)(userId - BaseChannelId));
        return pdu;
    }

    /// <summary>Channel Join Confirm (tests and the fake server): result, initiator, requested, channel id present.</summary>
    public static byte[] ChannelJoinConfirm(byte result, ushort userId, ushort channelId)
    {
        var pdu = new byte[8];
        (pdu[0], pdu[1]) = ResultBytes(((byte)McsDomainPduType.ChannelJoinConfirm << 2) | 0x02, result);
        BinaryPrimitives.WriteUInt16BigEndian(pdu.AsSpan(2), (ushort)(userId - BaseChannelId));
        BinaryPrimitives.WriteUInt16BigEndian(pdu.AsSpan(4), channelId);
        BinaryPrimitives.WriteUInt16BigEndian(pdu.AsSpan(6), channelId);
        return pdu;
    }

    /// <summary>
    /// Reads one domain PDU from the X.224 user data. The first byte is choice &lt;&lt; 2 with two bits of
    /// optional-field flags (aligned PER, T.125 DomainMCSPDU). Result enumerations are 4 bits in the top of a byte.
    /// </summary>
    public static OperationStatus TryReadDomainPdu(ReadOnlySpan<byte> mcs, out McsDomainMessage? value, out DecodeError error)
    {
        value = null;
        error = DecodeError.None;
        var r = new PerReader(mcs);
        if (!r.TryReadByte(out byte first))
        {
            error = DecodeError.Truncated;
            return OperationStatus.InvalidData;
        }

        var type = (McsDomainPduType)(first >> 2);
        switch (type)
        {
            case McsDomainPduType.DisconnectProviderUltimatum:
            {
                int reason = (first & 0x03) << 1;
                if (r.TryReadByte(out byte second))
                {
                    reason |= second >> 7;
                }

                value = new McsDomainMessage(type, Reason: (McsDisconnectReason)reason);
                return OperationStatus.Done;
            }

            case McsDomainPduType.AttachUserConfirm:
            {
                if (!r.TryReadByte(out byte result))
                {
                    break;
                }

                ushort initiator = 0;
                if ((first & 0x02) != 0)
                {
                    if (!r.TryReadUInt16(out ushort raw))
                    {
                        break;
                    }

                    initiator = (ushort)(raw + BaseChannelId);
                }

                value = new McsDomainMessage(type, Result: ResultBits(first, result), Initiator: initiator);
                return OperationStatus.Done;
            }

            case McsDomainPduType.ChannelJoinConfirm:
            {
                if (!r.TryReadByte(out byte result) || !r.TryReadUInt16(out ushort raw) || !r.TryReadUInt16(out ushort requested))
                {
                    break;
                }

                ushort channel = 0;
                if ((first & 0x02) != 0 && !r.TryReadUInt16(out channel))
                {
                    break;
                }

                value = new McsDomainMessage(type, Result: ResultBits(first, result), Initiator: (ushort)(raw + BaseChannelId), ChannelId: channel, RequestedChannelId: requested);
                return OperationStatus.Done;
            }

            case McsDomainPduType.SendDataIndication:
            case McsDomainPduType.SendDataRequest:
            {
                if (!r.TryReadUInt16(out ushort raw) || !r.TryReadUInt16(out ushort channel) || !r.TryReadByte(out _) || !r.TryReadLength(out int length))
                {
                    break;
                }

                if (length != r.Remaining)
                {
                    error = DecodeError.LengthMismatch;
                    return OperationStatus.InvalidData;
                }

                r.TryReadBytes(length, out var data);
                value = new McsDomainMessage(type, Initiator: (ushort)(raw + BaseChannelId), ChannelId: channel, Data: data.ToArray());
                return OperationStatus.Done;
            }

            case McsDomainPduType.ErectDomainRequest:
            case McsDomainPduType.AttachUserRequest:
            case McsDomainPduType.ChannelJoinRequest:
                value = new McsDomainMessage(type);
                return OperationStatus.Done;

            default:
                error = DecodeError.UnexpectedType;
                return OperationStatus.InvalidData;
        }

        error = r.Error == DecodeError.None ? DecodeError.Truncated : r.Error;
        return OperationStatus.InvalidData;
    }

    /// <summary>
    /// The 4-bit Result follows the choice and one optional-field bit without alignment (X.691 aligned PER does not
    /// align bit-fields under 8 bits): its top bit is the last bit of the first byte, the rest the top 3 bits of the
    /// second. FreeRDP writes the whole second byte instead; a value in the low 5 bits can only come from that form.
    /// </summary>
    private static byte ResultBits(byte first, byte second)
        => (second & 0x1F) != 0 ? second : (byte)(((first & 0x01) << 3) | (second >> 5));

    private static (byte First, byte Second) ResultBytes(byte choiceAndFlags, byte result)
        => ((byte)(choiceAndFlags | (result >> 3)), (byte)((result & 0x07) << 5));

    public static string DescribeType(McsDomainPduType type) => type switch
    {
        McsDomainPduType.ErectDomainRequest => "Erect Domain Request",
        McsDomainPduType.DisconnectProviderUltimatum => "Disconnect Provider Ultimatum",
        McsDomainPduType.AttachUserRequest => "Attach User Request",
        McsDomainPduType.AttachUserConfirm => "Attach User Confirm",
        McsDomainPduType.ChannelJoinRequest => "Channel Join Request",
        McsDomainPduType.ChannelJoinConfirm => "Channel Join Confirm",
        McsDomainPduType.SendDataRequest => "Send Data Request",
        McsDomainPduType.SendDataIndication => "Send Data Indication",
        _ => $"MCS PDU {(int)type}",
    };
}
