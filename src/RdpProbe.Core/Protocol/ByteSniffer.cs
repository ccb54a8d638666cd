using System.Buffers.Binary;
using System.Text;

namespace RdpProbe.Protocol;

/// <summary>What the first bytes a peer sent look like.</summary>
public enum SniffKind
{
    /// <summary>Nothing to look at yet.</summary>
    Empty,

    /// <summary>Too few bytes to tell (a TPKT header needs 4, a banner a few more).</summary>
    NeedMoreData,

    /// <summary>A TPKT frame carrying an X.224 Connection Confirm (MS-RDPBCGR 2.2.1.2).</summary>
    X224ConnectionConfirm,

    /// <summary>An X.224 Data TPDU carrying an MCS Disconnect Provider Ultimatum (T.125 11.15): an orderly "go away".</summary>
    McsDisconnectProviderUltimatum,

    /// <summary>Some other X.224 Data TPDU (MCS traffic where a Connection Confirm was due).</summary>
    X224Data,

    /// <summary>An X.224 Disconnect Request TPDU (X.224 13.5).</summary>
    X224DisconnectRequest,

    /// <summary>An X.224 TPDU Error (X.224 13.12).</summary>
    X224Error,

    /// <summary>A TPKT header whose length is impossible (smaller than 7) or far too big for the answer expected.</summary>
    TpktBadLength,

    /// <summary>A TPKT header followed by a TPDU code this probe does not know.</summary>
    TpktOther,

    /// <summary>A TLS handshake record (a TLS server answering before any X.224: e.g. a plain HTTPS port).</summary>
    TlsHandshake,

    /// <summary>A TLS alert record.</summary>
    TlsAlert,

    /// <summary>Some other TLS record type.</summary>
    TlsOther,

    /// <summary>An HTTP response ("HTTP/1.1 400 Bad Request").</summary>
    HttpResponse,

    /// <summary>An SSH identification string ("SSH-2.0-OpenSSH_9.2").</summary>
    SshBanner,

    /// <summary>Another line of printable text (SMTP/FTP/POP banners, a proxy's error page...).</summary>
    TextBanner,

    /// <summary>None of the above.</summary>
    Garbage,
}

/// <summary>The classification of a byte prefix plus a short human description ("HTTP/1.1 400 Bad Request").</summary>
public readonly record struct SniffResult(SniffKind Kind, string Description)
{
    /// <summary>A short report word for the kind, used as a phase code: "http_response", "mcs_disconnect_provider_ultimatum".</summary>
    public string Code => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(Kind.ToString());

    /// <summary>True when the bytes are certainly not RDP (another protocol is talking on the port).</summary>
    public bool IsOtherProtocol => Kind is SniffKind.TlsHandshake or SniffKind.TlsAlert or SniffKind.TlsOther
        or SniffKind.HttpResponse or SniffKind.SshBanner or SniffKind.TextBanner;
}

/// <summary>
/// Answers "what are these bytes" for the first bytes a server sends after the X.224 Connection Request. Pure: it
/// touches no socket, so the live probe and the capture analyzer classify the same way.
/// </summary>
public static class ByteSniffer
{
    /// <summary>Largest TPKT frame that can be an answer to a Connection Request: a CC is 11 or 19 bytes, a DPUM 9.</summary>
    public const int MaxConnectionAnswerLength = 259;

    /// <summary>The 9 bytes xrdp sends instead of a CC when it refuses a request: TPKT, X.224 DT, MCS DPUM reason 3.</summary>
    public static ReadOnlySpan<byte> XrdpDisconnectProviderUltimatum => [0x03, 0x00, 0x00, 0x09, 0x02, 0xF0, 0x80, 0x21, 0x80];

    public static SniffResult Classify(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return new(SniffKind.Empty, "no bytes");
        }

        // RFC 1006 §6: TPKT version 3, reserved 0.
        if (data[0] == TpktHeader.Version3 && (data.Length < 2 || data[1] == 0))
        {
            return ClassifyTpkt(data);
        }

        // TLS record: content type 20..24, major version 3 (RFC 5246 §6.2.1).
        if (data[0] is >= (byte)TlsContentType.ChangeCipherSpec and <= (byte)TlsContentType.Heartbeat && (data.Length < 2 || data[1] == 3))
        {
            return ClassifyTls(data);
        }

        if (StartsWithAscii(data, "HTTP/"))
        {
            return new(SniffKind.HttpResponse, $"an HTTP response: \"{FirstLine(data)}\"");
        }

        if (StartsWithAscii(data, "SSH-"))
        {
            return new(SniffKind.SshBanner, $"an SSH banner: \"{FirstLine(data)}\"");
        }

        if (IsPrintableLine(data))
        {
            // Too short to be sure it is not the start of "HTTP/" or "SSH-".
            if (data.Length < 5 && ("HTTP/"u8.StartsWith(data) || "SSH-"u8.StartsWith(data)))
            {
                return new(SniffKind.NeedMoreData, "the start of a text line");
            }

            return new(SniffKind.TextBanner, $"a text banner: \"{FirstLine(data)}\"");
        }

        return new(SniffKind.Garbage, $"{data.Length} bytes that are neither TPKT, TLS nor text: {Hex(data, 16)}");
    }

    private static SniffResult ClassifyTpkt(ReadOnlySpan<byte> data)
    {
        if (data.Length < TpktHeader.Size)
        {
            return new(SniffKind.NeedMoreData, "the start of a TPKT header");
        }

        int length = BinaryPrimitives.ReadUInt16BigEndian(data[2..]);
        if (length < TpktHeader.MinLength)
        {
            return new(SniffKind.TpktBadLength, $"a TPKT header announcing {length} bytes (the smallest X.224 TPDU needs {TpktHeader.MinLength})");
        }

        if (length > MaxConnectionAnswerLength)
        {
            return new(SniffKind.TpktBadLength, $"a TPKT header announcing {length} bytes where a Connection Confirm (11 or 19 bytes) was due");
        }

        if (data.Length < 6)
        {
            return new(SniffKind.NeedMoreData, "a TPKT header without its TPDU");
        }

        byte li = data[4];
        byte code = (byte)(data[5] & 0xF0);
        switch (code)
        {
            case (byte)X224TpduCode.ConnectionConfirm:
                return new(SniffKind.X224ConnectionConfirm, $"an X.224 Connection Confirm ({length} bytes)");
            case (byte)X224TpduCode.Data when li == 2:
                // MCS DomainMCSPDU choice 8 = disconnectProviderUltimatum: first byte (8 << 2) | bits = 0x20..0x23 (T.125 section 7 part 4; MS-RDPBCGR 2.2.2.3).
                if (data.Length >= 8 && (data[7] & 0xFC) == 0x20)
                {
                    string reason = data.Length >= 9 ? DisconnectReasonName(((data[7] & 0x03) << 1) | (data[8] >> 7)) : "unknown reason";
                    return new(SniffKind.McsDisconnectProviderUltimatum, $"an MCS Disconnect Provider Ultimatum ({reason}) in an X.224 Data TPDU instead of a Connection Confirm");
                }

                if (data.Length < 8 && length >= 8)
                {
                    return new(SniffKind.NeedMoreData, "an X.224 Data TPDU without its MCS PDU");
                }

                return new(SniffKind.X224Data, $"an X.224 Data TPDU ({length} bytes) instead of a Connection Confirm");
            case (byte)X224TpduCode.DisconnectRequest:
                return new(SniffKind.X224DisconnectRequest, "an X.224 Disconnect Request");
            case (byte)X224TpduCode.Error:
                return new(SniffKind.X224Error, "an X.224 TPDU Error");
            default:
                return new(SniffKind.TpktOther, $"a TPKT frame with unknown X.224 code 0x{data[5]:x2}");
        }
    }

    private static SniffResult ClassifyTls(ReadOnlySpan<byte> data)
    {
        var status = TlsRecordHeader.TryRead(data, out var header, out _, out _);
        if (status == System.Buffers.OperationStatus.NeedMoreData)
        {
            return new(SniffKind.NeedMoreData, "the start of a TLS record header");
        }

        if (status != System.Buffers.OperationStatus.Done)
        {
            return new(SniffKind.Garbage, $"{data.Length} bytes that look like a broken TLS record header: {Hex(data, 16)}");
        }

        string version = TlsNames.VersionName(header.Version);
        var body = data[TlsRecordHeader.Size..];
        switch (header.ContentType)
        {
            case TlsContentType.Alert:
                if (TlsAlert.TryRead(body, out var alert, out _) == System.Buffers.OperationStatus.Done)
                {
                    return new(SniffKind.TlsAlert, $"a TLS alert ({alert.Level.ToString().ToLowerInvariant()} {TlsNames.AlertName(alert.Description)}, record version {version})");
                }

                return new(SniffKind.TlsAlert, $"a TLS alert record (record version {version})");
            case TlsContentType.Handshake:
                string message = body.Length >= 1 ? HandshakeName((TlsHandshakeType)body[0]) : "handshake";
                return new(SniffKind.TlsHandshake, $"a TLS {message} record (record version {version}): a TLS server, not an RDP listener");
            default:
                return new(SniffKind.TlsOther, $"a TLS {header.ContentType} record (record version {version})");
        }
    }

    private static string HandshakeName(TlsHandshakeType type) => type switch
    {
        TlsHandshakeType.ServerHello => "ServerHello",
        TlsHandshakeType.ClientHello => "ClientHello",
        TlsHandshakeType.Certificate => "Certificate",
        TlsHandshakeType.HelloRequest => "HelloRequest",
        _ => $"handshake type {(byte)type}",
    };

    /// <summary>T.125 Reason: rn-domain-disconnected(0), rn-provider-initiated(1), rn-token-purged(2), rn-user-requested(3), rn-channel-purged(4).</summary>
    private static string DisconnectReasonName(int reason) => reason switch
    {
        0 => "reason domain-disconnected",
        1 => "reason provider-initiated",
        2 => "reason token-purged",
        3 => "reason user-requested",
        4 => "reason channel-purged",
        _ => $"reason {reason}",
    };

    private static bool StartsWithAscii(ReadOnlySpan<byte> data, string prefix)
        => data.Length >= prefix.Length && Encoding.ASCII.GetString(data[..prefix.Length]) == prefix;

    private static bool IsPrintableLine(ReadOnlySpan<byte> data)
    {
        int n = Math.Min(data.Length, 64);
        for (int i = 0; i < n; i++)
        {
            byte b = data[i];
            if (b is (byte)'\r' or (byte)'\n' or (byte)'\t')
            {
                if (i == 0)
                {
                    return false;
                }

                continue;
            }

            if (b is < 0x20 or > 0x7E)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The first line, printable ASCII only, at most 60 characters (never echo a hostile peer's bytes raw).</summary>
    public static string FirstLine(ReadOnlySpan<byte> data)
    {
        var builder = new StringBuilder();
        foreach (byte b in data)
        {
            if (b is (byte)'\r' or (byte)'\n' || builder.Length >= 60)
            {
                break;
            }

            builder.Append(b is >= 0x20 and <= 0x7E ? (char)b : '.');
        }

        return builder.ToString();
    }

    public static string Hex(ReadOnlySpan<byte> data, int max)
    {
        string hex = Convert.ToHexString(data[..Math.Min(data.Length, max)]).ToLowerInvariant();
        var spaced = new StringBuilder(hex.Length * 3 / 2);
        for (int i = 0; i < hex.Length; i += 2)
        {
            if (i > 0)
            {
                spaced.Append(' ');
            }

            spaced.Append(hex, i, 2);
        }

        return data.Length > max ? spaced + " …" : spaced.ToString();
    }
}
