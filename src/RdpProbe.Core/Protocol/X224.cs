using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace RdpProbe.Protocol;

/// <summary>X.224 (ISO 8073 class 0) TPDU codes as they appear in the second byte of the TPDU.</summary>
public enum X224TpduCode : byte
{
    ConnectionRequest = 0xE0,
    ConnectionConfirm = 0xD0,
    DisconnectRequest = 0x80,
    Data = 0xF0,
    Error = 0x70,
}

/// <summary>X.224 Connection Request with the RDP additions (MS-RDPBCGR 2.2.1.1).</summary>
public sealed record X224ConnectionRequest(
    string? Cookie,
    string? RoutingToken,
    NegotiationMessage? NegotiationRequest,
    byte[]? CorrelationId)
{
    public const string CookiePrefix = "Cookie: mstshash=";

    public SecurityProtocols? RequestedProtocols => NegotiationRequest?.Protocols;
}

/// <summary>X.224 Connection Confirm (MS-RDPBCGR 2.2.1.2): either no negotiation data, an RDP_NEG_RSP or an RDP_NEG_FAILURE.</summary>
public sealed record X224ConnectionConfirm(ushort SourceReference, NegotiationMessage? Negotiation)
{
    public bool IsLegacy => Negotiation is null;
    public bool IsFailure => Negotiation?.Type == NegotiationType.Failure;
    public SecurityProtocols? SelectedProtocol => Negotiation?.Type == NegotiationType.Response ? Negotiation.Value.Protocols : null;
    public NegotiationFailureCode? FailureCode => IsFailure ? Negotiation!.Value.FailureCode : null;
    public NegotiationResponseFlags ResponseFlags => Negotiation?.Type == NegotiationType.Response ? (NegotiationResponseFlags)Negotiation.Value.Flags : NegotiationResponseFlags.None;
}

public static class X224
{
    /// <summary>Bytes after TPKT in a DT TPDU: LI=2, code F0, EOT bit (X.224 13.7).</summary>
    public const int DataHeaderSize = 3;

    /// <summary>Fixed CR/CC header after TPKT: LI, code, DST-REF(2), SRC-REF(2), class.</summary>
    public const int ConnectionHeaderSize = 7;

    /// <summary>LI is one byte and X.224 reserves 255, so a CR TPDU is at most 4 + 1 + 254 bytes.</summary>
    public const int MaxConnectionRequestLength = TpktHeader.Size + 1 + 254;

    /// <summary>
    /// Reads a whole Connection Request (TPKT included). The token area between the fixed header and the
    /// RDP_NEG_REQ is either a "Cookie: mstshash=" or a routing token, both ending in CR LF (MS-RDPBCGR 2.2.1.1).
    /// </summary>
    public static OperationStatus TryReadConnectionRequest(ReadOnlySpan<byte> source, out X224ConnectionRequest? value, out int bytesConsumed, out DecodeError error)
    {
        value = null;
        bytesConsumed = 0;
        var status = TryReadTpdu(source, X224TpduCode.ConnectionRequest, out var tpdu, out error);
        if (status != OperationStatus.Done)
        {
            return status;
        }

        var rest = tpdu[ConnectionHeaderSize..];
        string? cookie = null;
        string? routingToken = null;

        // The token ends with CR LF. A NEG_REQ starts with 0x01 and cannot contain 0x0D 0x0A before its own end,
        // so anything up to the first CR LF that is not a NEG_REQ is the token.
        if (rest.Length > 0 && rest[0] != (byte)NegotiationType.Request)
        {
            int crlf = rest.IndexOf("\r\n"u8);
            if (crlf >= 0)
            {
                string token = Encoding.ASCII.GetString(rest[..crlf]);
                if (token.StartsWith(X224ConnectionRequest.CookiePrefix, StringComparison.Ordinal))
                {
                    cookie = token[X224ConnectionRequest.CookiePrefix.Length..];
                }
                else
                {
                    routingToken = token;
                }

                rest = rest[(crlf + 2)..];
            }
        }

        NegotiationMessage? negReq = null;
        byte[]? correlation = null;
        if (rest.Length > 0)
        {
            var negStatus = NegotiationMessage.TryRead(rest, out var neg, out int used, out error);
            if (negStatus != OperationStatus.Done || neg.Type != NegotiationType.Request)
            {
                error = negStatus == OperationStatus.NeedMoreData ? DecodeError.Truncated : (error == DecodeError.None ? DecodeError.UnexpectedType : error);
                return OperationStatus.InvalidData;
            }

            negReq = neg;
            rest = rest[used..];

            // RDP_NEG_CORRELATION_INFO follows only when the CORRELATION_INFO_PRESENT flag is set (MS-RDPBCGR 2.2.1.1.2).
            if ((neg.Flags & (byte)NegotiationRequestFlags.CorrelationInfoPresent) != 0 && rest.Length >= 36 && rest[0] == (byte)NegotiationType.CorrelationInfo)
            {
                correlation = rest.Slice(4, 16).ToArray();
            }
        }

        value = new X224ConnectionRequest(cookie, routingToken, negReq, correlation);
        bytesConsumed = tpdu.Length + TpktHeader.Size;
        return OperationStatus.Done;
    }

    /// <summary>Reads a whole Connection Confirm (TPKT included), MS-RDPBCGR 2.2.1.2.</summary>
    public static OperationStatus TryReadConnectionConfirm(ReadOnlySpan<byte> source, out X224ConnectionConfirm? value, out int bytesConsumed, out DecodeError error)
    {
        value = null;
        bytesConsumed = 0;
        var status = TryReadTpdu(source, X224TpduCode.ConnectionConfirm, out var tpdu, out error);
        if (status != OperationStatus.Done)
        {
            return status;
        }

        // SRC-REF is whatever the server likes (Windows: 0x1234); it is reported, never validated.
        ushort srcRef = BinaryPrimitives.ReadUInt16BigEndian(tpdu[4..]);
        var rest = tpdu[ConnectionHeaderSize..];
        NegotiationMessage? neg = null;
        if (rest.Length > 0)
        {
            var negStatus = NegotiationMessage.TryRead(rest, out var n, out _, out error);
            if (negStatus != OperationStatus.Done || n.Type == NegotiationType.Request)
            {
                error = negStatus == OperationStatus.NeedMoreData ? DecodeError.Truncated : (error == DecodeError.None ? DecodeError.UnexpectedType : error);
                return OperationStatus.InvalidData;
            }

            neg = n;
        }

        value = new X224ConnectionConfirm(srcRef, neg);
        bytesConsumed = tpdu.Length + TpktHeader.Size;
        return OperationStatus.Done;
    }

    /// <summary>
    /// Finds a whole TPKT frame and checks that it carries the expected connection TPDU;
    /// <paramref name="tpdu"/> starts at the LI byte.
    /// </summary>
    private static OperationStatus TryReadTpdu(ReadOnlySpan<byte> source, X224TpduCode expected, out ReadOnlySpan<byte> tpdu, out DecodeError error)
    {
        tpdu = default;
        var status = TpktHeader.TryReadFrame(source, out var frame, out error);
        if (status == OperationStatus.NeedMoreData && source.Length >= 6 && (source[5] & 0xF0) != (byte)expected)
        {
            error = DecodeError.UnexpectedType;
            return OperationStatus.InvalidData;
        }

        if (status != OperationStatus.Done)
        {
            return status;
        }

        var body = frame[TpktHeader.Size..];
        if (body.Length < ConnectionHeaderSize)
        {
            error = DecodeError.LengthTooSmall;
            return OperationStatus.InvalidData;
        }

        // LI counts the TPDU bytes after itself (X.224 13.2.1): it must match what TPKT framed.
        if (body[0] != body.Length - 1)
        {
            error = DecodeError.LengthMismatch;
            return OperationStatus.InvalidData;
        }

        if ((body[1] & 0xF0) != (byte)expected)
        {
            error = DecodeError.UnexpectedType;
            return OperationStatus.InvalidData;
        }

        tpdu = body;
        return OperationStatus.Done;
    }

    /// <summary>Writes a Connection Request; returns the number of bytes written.</summary>
    public static int WriteConnectionRequest(Span<byte> destination, X224ConnectionRequest request)
    {
        int tokenLength = 0;
        string? token = request.Cookie is not null ? X224ConnectionRequest.CookiePrefix + request.Cookie : request.RoutingToken;
        if (token is not null)
        {
            tokenLength = Encoding.ASCII.GetByteCount(token) + 2;
        }

        bool correlation = request.CorrelationId is { Length: 16 } && request.NegotiationRequest is not null;
        int negLength = request.NegotiationRequest is null ? 0 : NegotiationMessage.Size + (correlation ? 36 : 0);
        int total = TpktHeader.Size + ConnectionHeaderSize + tokenLength + negLength;
        if (total > MaxConnectionRequestLength)
        {
            throw new ArgumentException("cookie or routing token too long for one X.224 Connection Request (LI is one byte)", nameof(request));
        }

        TpktHeader.Write(destination, total);
        var body = destination[TpktHeader.Size..];
        body[0] = (byte)(total - TpktHeader.Size - 1);
        body[1] = (byte)X224TpduCode.ConnectionRequest;
        body[2..7].Clear();
        int offset = ConnectionHeaderSize;
        if (token is not null)
        {
            offset += Encoding.ASCII.GetBytes(token, body[offset..]);
            body[offset++] = 0x0D;
            body[offset++] = 0x0A;
        }

        if (request.NegotiationRequest is { } neg)
        {
            var flags = neg.Flags;
            if (correlation)
            {
                flags |= (byte)NegotiationRequestFlags.CorrelationInfoPresent;
            }

            (neg with { Flags = flags }).Write(body[offset..]);
            offset += NegotiationMessage.Size;
            if (correlation)
            {
                body[offset] = (byte)NegotiationType.CorrelationInfo;
                body[offset + 1] = 0;
                BinaryPrimitives.WriteUInt16LittleEndian(body[(offset + 2)..], 36);
                request.CorrelationId.CopyTo(body[(offset + 4)..]);
                body.Slice(offset + 20, 16).Clear();
                offset += 36;
            }
        }

        return TpktHeader.Size + offset;
    }

    public static byte[] EncodeConnectionRequest(X224ConnectionRequest request)
    {
        Span<byte> buffer = stackalloc byte[MaxConnectionRequestLength];
        int n = WriteConnectionRequest(buffer, request);
        return buffer[..n].ToArray();
    }

    /// <summary>Writes a Connection Confirm (used by tests and the fake server).</summary>
    public static byte[] EncodeConnectionConfirm(X224ConnectionConfirm confirm)
    {
        int total = TpktHeader.Size + ConnectionHeaderSize + (confirm.Negotiation is null ? 0 : NegotiationMessage.Size);
        var buffer = new byte[total];
        TpktHeader.Write(buffer, total);
        buffer[4] = (byte)(total - TpktHeader.Size - 1);
        buffer[5] = (byte)X224TpduCode.ConnectionConfirm;
        BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(8), confirm.SourceReference);
        confirm.Negotiation?.Write(buffer.AsSpan(11));
        return buffer;
    }

    /// <summary>True when a TPKT frame carries an X.224 Data TPDU; <paramref name="userData"/> is what follows its 3-byte header.</summary>
    public static bool TryGetDataPayload(ReadOnlySpan<byte> frame, out ReadOnlySpan<byte> userData)
    {
        userData = default;
        if (frame.Length < TpktHeader.Size + DataHeaderSize || frame[4] != 2 || frame[5] != (byte)X224TpduCode.Data)
        {
            return false;
        }

        userData = frame[(TpktHeader.Size + DataHeaderSize)..];
        return true;
    }
}
