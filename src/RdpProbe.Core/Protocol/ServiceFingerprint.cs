using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace RdpProbe.Protocol;

/// <summary>Which protocol a peer's bytes belong to, as far as its first bytes tell.</summary>
public enum ServiceKind
{
    /// <summary>TPKT + X.224 (RFC 1006, MS-RDPBCGR 2.2.1): an RDP listener after all.</summary>
    Rdp,

    /// <summary>HTTP: a status line, a request line, or an HTML page sent without a status line (HTTP/0.9 style).</summary>
    Http,

    /// <summary>SSH: the identification string "SSH-protoversion-softwareversion" (RFC 4253 §4.2).</summary>
    Ssh,

    /// <summary>TLS: a record (RFC 8446 §5.1, RFC 5246 §6.2.1) — ServerHello, alert or another record.</summary>
    Tls,

    /// <summary>SMTP: a 220 greeting that names SMTP/ESMTP (RFC 5321 §4.2).</summary>
    Smtp,

    /// <summary>FTP: a 220 greeting that names FTP (RFC 959 §4.2).</summary>
    Ftp,

    /// <summary>POP3: "+OK" greeting (RFC 1939 §4).</summary>
    Pop3,

    /// <summary>IMAP: "* OK" greeting (RFC 9051 §7.1).</summary>
    Imap,

    /// <summary>Another line of printable text: a protocol that greets in text, not identified further.</summary>
    TextBanner,
}

/// <summary>
/// What a peer's first bytes identify: the protocol, the software when the bytes name it ("OpenSSH_9.2p1",
/// "SimpleHTTP/0.6 Python/3.11.2", "tls1.3 ServerHello"), and the evidence in printable form (never the raw bytes of a
/// hostile peer).
/// </summary>
public sealed record ServiceFingerprint(ServiceKind Kind, string? Product, string Evidence)
{
    /// <summary>The protocol's common name: "HTTP", "SSH", "TLS", "SMTP", "FTP", "POP3", "IMAP", "RDP", "a text protocol".</summary>
    public string Name => Kind switch
    {
        ServiceKind.Rdp => "RDP",
        ServiceKind.Http => "HTTP",
        ServiceKind.Ssh => "SSH",
        ServiceKind.Tls => "TLS",
        ServiceKind.Smtp => "SMTP",
        ServiceKind.Ftp => "FTP",
        ServiceKind.Pop3 => "POP3",
        ServiceKind.Imap => "IMAP",
        _ => "a text protocol",
    };

    /// <summary>"HTTP (SimpleHTTP/0.6 Python/3.11.2)", or the name alone when the product is unknown.</summary>
    public string Describe() => Product is null ? Name : $"{Name} ({Product})";
}

/// <summary>
/// Classifies the first bytes a peer sent on a port expected to speak RDP, nmap-style: by what each protocol puts
/// first (TPKT version 3, a TLS record header, "HTTP/", "SSH-", a 220 greeting, an HTML page...). Pure and bounded: it
/// looks at no more than <see cref="MaxExamined"/> bytes and touches no socket, so the live probe and the capture
/// analyzer identify a service the same way.
/// </summary>
public static class ServiceFingerprints
{
    /// <summary>The most bytes examined: a status line with its headers, or a ServerHello, fits.</summary>
    public const int MaxExamined = 4096;

    /// <summary>RFC 4253 §4.2: the SSH identification string is at most 255 characters with its CR LF.</summary>
    public const int MaxSshLine = 255;

    /// <summary>Longest greeting or status line read before giving up on finding its end.</summary>
    public const int MaxLine = 1024;

    private static ReadOnlySpan<byte> Crlf2 => "\r\n\r\n"u8;

    private static readonly string[] HttpMethods = ["GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ", "CONNECT ", "PATCH ", "TRACE "];

    /// <summary>
    /// Identifies the service from the start of <paramref name="data"/>. Done: <paramref name="value"/> is set and
    /// <paramref name="bytesConsumed"/> says how many bytes the evidence took (a line, the headers, a record).
    /// NeedMoreData: the bytes so far can still become an identification (a line without its end, a record cut
    /// short) — call again with more, or <see cref="Identify"/> when no more will come. InvalidData: the bytes belong
    /// to none of the protocols known here.
    /// </summary>
    public static OperationStatus TryRead(ReadOnlySpan<byte> data, out ServiceFingerprint? value, out int bytesConsumed)
    {
        value = null;
        bytesConsumed = 0;
        if (data.Length > MaxExamined)
        {
            data = data[..MaxExamined];
        }

        if (data.IsEmpty)
        {
            return OperationStatus.NeedMoreData;
        }

        // RFC 1006 §6: TPKT version 3, reserved 0.
        if (data[0] == 0x03)
        {
            return TryReadTpkt(data, out value, out bytesConsumed);
        }

        // RFC 5246 §6.2.1 / RFC 8446 §5.1: content type 20..24, major version 3.
        if (data[0] is >= 20 and <= 24)
        {
            return TryReadTls(data, out value, out bytesConsumed);
        }

        if (!IsText(data))
        {
            return OperationStatus.InvalidData;
        }

        return TryReadText(data, out value, out bytesConsumed);
    }

    /// <summary>
    /// The best identification from everything a peer sent (no more bytes will come): what <see cref="TryRead"/>
    /// finds, or for a cut-short prefix the protocol its start already shows ("SSH-2.0-Open" without its line end is
    /// still SSH). Null when the bytes are not a protocol known here.
    /// </summary>
    public static ServiceFingerprint? Identify(ReadOnlySpan<byte> data)
    {
        var status = TryRead(data, out var value, out _);
        if (status == OperationStatus.Done)
        {
            return value;
        }

        if (status == OperationStatus.InvalidData || data.IsEmpty)
        {
            return null;
        }

        var head = data[..Math.Min(data.Length, MaxExamined)];
        string line = PrintableLine(head);
        if (head[0] == 0x03 && head.Length >= 2 && head[1] == 0)
        {
            return new ServiceFingerprint(ServiceKind.Rdp, null, $"a TPKT header cut short ({ByteSniffer.Hex(head, 8)})");
        }

        if (head[0] is >= 20 and <= 24 && head.Length >= 3 && head[1] == 3 && head[2] <= 4)
        {
            return new ServiceFingerprint(ServiceKind.Tls, null, $"a TLS record cut short ({ByteSniffer.Hex(head, 8)})");
        }

        if (StartsWith(head, "SSH-"))
        {
            return new ServiceFingerprint(ServiceKind.Ssh, SshSoftware(line), $"\"{line}\"");
        }

        if (StartsWith(head, "HTTP/"))
        {
            return new ServiceFingerprint(ServiceKind.Http, HttpServerHeader(head), $"\"{line}\"");
        }

        if (LooksLikeHtml(head))
        {
            return new ServiceFingerprint(ServiceKind.Http, HtmlProduct(head), $"an HTML page without an HTTP status line: \"{line}\"");
        }

        // A text line without its end (or too short to rule out "HTTP/" and "SSH-"): only its greeting code can name it.
        return line.Length >= 3 ? Greeting(line) : null;
    }

    private static OperationStatus TryReadTpkt(ReadOnlySpan<byte> data, out ServiceFingerprint? value, out int bytesConsumed)
    {
        value = null;
        bytesConsumed = 0;
        if (data.Length >= 2 && data[1] != 0)
        {
            return OperationStatus.InvalidData;
        }

        if (data.Length < 6)
        {
            return OperationStatus.NeedMoreData;
        }

        int length = BinaryPrimitives.ReadUInt16BigEndian(data[2..]);
        byte li = data[4];
        if (length < TpktHeader.MinLength || li + 5 > length)
        {
            return OperationStatus.InvalidData;
        }

        string tpdu = (data[5] & 0xF0) switch
        {
            (int)X224TpduCode.ConnectionConfirm => "an X.224 Connection Confirm",
            (int)X224TpduCode.ConnectionRequest => "an X.224 Connection Request",
            (int)X224TpduCode.Data => "an X.224 Data TPDU",
            (int)X224TpduCode.DisconnectRequest => "an X.224 Disconnect Request",
            (int)X224TpduCode.Error => "an X.224 TPDU Error",
            _ => null!,
        };
        if (tpdu is null)
        {
            return OperationStatus.InvalidData;
        }

        bytesConsumed = 6;
        value = new ServiceFingerprint(ServiceKind.Rdp, null, $"{tpdu} in a TPKT of {length} bytes");
        return OperationStatus.Done;
    }

    private static OperationStatus TryReadTls(ReadOnlySpan<byte> data, out ServiceFingerprint? value, out int bytesConsumed)
    {
        value = null;
        bytesConsumed = 0;

        // TLS 1.0..1.3 records carry 0x0301..0x0304 (0x0300 SSL 3.0).
        if (data.Length >= 3 && (data[1] != 3 || data[2] > 4))
        {
            return OperationStatus.InvalidData;
        }

        var status = TlsRecordHeader.TryRead(data, out var header, out _);
        if (status != OperationStatus.Done)
        {
            return status;
        }

        if (header.Length == 0)
        {
            return OperationStatus.InvalidData;
        }

        string recordVersion = TlsNames.VersionName(header.Version);
        var body = data[TlsRecordHeader.Size..];
        switch (header.ContentType)
        {
            case TlsContentType.Alert:
                var alertStatus = TlsAlert.TryRead(body, out var alert, out _);
                if (alertStatus != OperationStatus.Done)
                {
                    return alertStatus;
                }

                bytesConsumed = TlsRecordHeader.Size + TlsAlert.Size;
                string level = alert.Level == TlsAlertLevel.Fatal ? "fatal" : "warning";
                value = new ServiceFingerprint(ServiceKind.Tls, null, $"a TLS {level} {TlsNames.AlertName(alert.Description)} alert (record version {recordVersion})");
                return OperationStatus.Done;

            case TlsContentType.Handshake:
                var hsStatus = TlsHandshakeHeader.TryRead(body, out var hs, out _);
                if (hsStatus != OperationStatus.Done)
                {
                    return hsStatus;
                }

                if (hs.Type != TlsHandshakeType.ServerHello)
                {
                    bytesConsumed = TlsRecordHeader.Size + TlsHandshakeHeader.Size;
                    value = new ServiceFingerprint(ServiceKind.Tls, null, $"a TLS handshake record, message type {(byte)hs.Type} (record version {recordVersion})");
                    return OperationStatus.Done;
                }

                // The ServerHello must fit its record (no fragmented ServerHello is decoded here).
                if (hs.Length > header.Length - TlsHandshakeHeader.Size || hs.Length > MaxExamined)
                {
                    return OperationStatus.InvalidData;
                }

                if (body.Length < TlsHandshakeHeader.Size + hs.Length)
                {
                    return OperationStatus.NeedMoreData;
                }

                if (TlsHandshake.TryReadServerHello(body.Slice(TlsHandshakeHeader.Size, hs.Length), out var hello) != OperationStatus.Done)
                {
                    return OperationStatus.InvalidData;
                }

                bytesConsumed = TlsRecordHeader.Size + TlsHandshakeHeader.Size + hs.Length;
                value = new ServiceFingerprint(ServiceKind.Tls, $"{TlsNames.VersionName(hello.Version)}, {TlsHandshake.CipherSuiteName(hello.CipherSuite)}",
                    $"a TLS ServerHello selecting {TlsNames.VersionName(hello.Version)} and {TlsHandshake.CipherSuiteName(hello.CipherSuite)}");
                return OperationStatus.Done;

            default:
                bytesConsumed = TlsRecordHeader.Size;
                value = new ServiceFingerprint(ServiceKind.Tls, null, $"a TLS {header.ContentType} record of {header.Length} bytes (record version {recordVersion})");
                return OperationStatus.Done;
        }
    }

    private static OperationStatus TryReadText(ReadOnlySpan<byte> data, out ServiceFingerprint? value, out int bytesConsumed)
    {
        value = null;
        bytesConsumed = 0;
        int lineEnd = data.IndexOf((byte)'\n');

        if (StartsWith(data, "SSH-") || "SSH-"u8.StartsWith(data))
        {
            if (lineEnd < 0)
            {
                return data.Length >= MaxSshLine ? OperationStatus.InvalidData : OperationStatus.NeedMoreData;
            }

            if (lineEnd + 1 > MaxSshLine || data.Length < 8)
            {
                return OperationStatus.InvalidData;
            }

            string line = PrintableLine(data);

            // "SSH-2.0-…" or "SSH-1.99-…" (RFC 4253 §5.1); anything else starting "SSH-" is still SSH's shape.
            bytesConsumed = lineEnd + 1;
            value = new ServiceFingerprint(ServiceKind.Ssh, SshSoftware(line), $"an SSH identification string \"{line}\"");
            return OperationStatus.Done;
        }

        if (StartsWith(data, "HTTP/") || "HTTP/"u8.StartsWith(data))
        {
            if (lineEnd < 0)
            {
                return data.Length >= MaxLine ? OperationStatus.InvalidData : OperationStatus.NeedMoreData;
            }

            // The headers end at an empty line (RFC 9112 §2.1); wait for it while the buffer allows.
            int headersEnd = data.IndexOf(Crlf2);
            if (headersEnd < 0 && data.Length < MaxExamined)
            {
                return OperationStatus.NeedMoreData;
            }

            bytesConsumed = headersEnd < 0 ? data.Length : headersEnd + Crlf2.Length;
            value = new ServiceFingerprint(ServiceKind.Http, HttpServerHeader(data[..bytesConsumed]), $"an HTTP response \"{PrintableLine(data)}\"");
            return OperationStatus.Done;
        }

        if (LooksLikeHtml(data) || IsHtmlPrefix(data))
        {
            // An HTTP/0.9-style answer: the page without a status line (python's http.server answers a request line
            // without an HTTP version this way, RFC 1945 §4.1). The whole page names the product best; wait for its end.
            int close = IndexOfIgnoreCase(data, "</html>");
            if (close < 0 && data.Length < MaxExamined)
            {
                return OperationStatus.NeedMoreData;
            }

            if (!LooksLikeHtml(data))
            {
                return OperationStatus.InvalidData;
            }

            bytesConsumed = close < 0 ? data.Length : close + "</html>".Length;
            value = new ServiceFingerprint(ServiceKind.Http, HtmlProduct(data[..bytesConsumed]), $"an HTML page without an HTTP status line: \"{PrintableLine(data)}\"");
            return OperationStatus.Done;
        }

        foreach (string method in HttpMethods)
        {
            if (StartsWith(data, method) || Encoding.ASCII.GetBytes(method).AsSpan().StartsWith(data))
            {
                if (lineEnd < 0)
                {
                    return data.Length >= MaxLine ? OperationStatus.InvalidData : OperationStatus.NeedMoreData;
                }

                string request = PrintableLine(data);
                if (!request.Contains(" HTTP/", StringComparison.Ordinal))
                {
                    break;
                }

                bytesConsumed = lineEnd + 1;
                value = new ServiceFingerprint(ServiceKind.Http, null, $"an HTTP request \"{request}\"");
                return OperationStatus.Done;
            }
        }

        if (lineEnd < 0)
        {
            return data.Length >= MaxLine ? OperationStatus.InvalidData : OperationStatus.NeedMoreData;
        }

        string first = PrintableLine(data);
        if (first.Length == 0)
        {
            return OperationStatus.InvalidData;
        }

        bytesConsumed = lineEnd + 1;
        value = Greeting(first);
        return OperationStatus.Done;
    }

    /// <summary>A greeting line: 220 (SMTP or FTP), +OK (POP3), * OK (IMAP), or other text.</summary>
    private static ServiceFingerprint Greeting(string line)
    {
        string quoted = $"the greeting \"{line}\"";
        if (line.StartsWith("220", StringComparison.Ordinal))
        {
            // RFC 5321 §4.3.1 and RFC 959 §4.2 share the code 220 "service ready"; the text usually names the service.
            if (line.Contains("SMTP", StringComparison.OrdinalIgnoreCase) || line.Contains("mail", StringComparison.OrdinalIgnoreCase))
            {
                return new ServiceFingerprint(ServiceKind.Smtp, null, quoted);
            }

            if (line.Contains("FTP", StringComparison.OrdinalIgnoreCase))
            {
                return new ServiceFingerprint(ServiceKind.Ftp, null, quoted);
            }

            return new ServiceFingerprint(ServiceKind.TextBanner, "a 220 \"service ready\" greeting (SMTP or FTP)", quoted);
        }

        if (line.StartsWith("+OK", StringComparison.Ordinal))
        {
            return new ServiceFingerprint(ServiceKind.Pop3, null, quoted);
        }

        if (line.StartsWith("* OK", StringComparison.Ordinal))
        {
            return new ServiceFingerprint(ServiceKind.Imap, null, quoted);
        }

        return new ServiceFingerprint(ServiceKind.TextBanner, null, $"the text \"{line}\"");
    }

    /// <summary>The softwareversion of "SSH-protoversion-softwareversion SP comments" (RFC 4253 §4.2).</summary>
    private static string? SshSoftware(string line)
    {
        int dash = line.IndexOf('-', 4);
        if (dash < 0 || dash + 1 >= line.Length)
        {
            return null;
        }

        string software = line[(dash + 1)..].Trim();
        return software.Length == 0 ? null : software;
    }

    /// <summary>The Server header's value (RFC 9110 §10.2.4), printable and cut to 60 characters.</summary>
    private static string? HttpServerHeader(ReadOnlySpan<byte> headers)
    {
        int at = IndexOfIgnoreCase(headers, "\nServer:");
        if (at < 0)
        {
            return null;
        }

        var rest = headers[(at + "\nServer:".Length)..];
        string value = PrintableLine(rest).Trim();
        return value.Length == 0 ? null : value;
    }

    /// <summary>
    /// The product behind an HTML page sent without a status line, from the page alone: python's http.server error
    /// page (the default error template of http.server.BaseHTTPRequestHandler) has a fixed layout.
    /// </summary>
    private static string? HtmlProduct(ReadOnlySpan<byte> page)
    {
        if (IndexOfIgnoreCase(page, "<title>Error response</title>") >= 0 && IndexOfIgnoreCase(page, "Error code explanation:") >= 0)
        {
            return "python http.server, judged by its error page";
        }

        return null;
    }

    private static bool LooksLikeHtml(ReadOnlySpan<byte> data)
    {
        var start = data.TrimStart(" \t\r\n"u8);
        return StartsWithIgnoreCase(start, "<!DOCTYPE HTML") || StartsWithIgnoreCase(start, "<html");
    }

    /// <summary>True when the bytes could still grow into "&lt;!DOCTYPE HTML" or "&lt;html".</summary>
    private static bool IsHtmlPrefix(ReadOnlySpan<byte> data)
    {
        var start = data.TrimStart(" \t\r\n"u8);
        return start.Length > 0 && start.Length < 14 && (PrefixIgnoreCase("<!DOCTYPE HTML", start) || PrefixIgnoreCase("<html", start));
    }

    private static bool PrefixIgnoreCase(string whole, ReadOnlySpan<byte> start)
    {
        if (start.Length > whole.Length)
        {
            return false;
        }

        for (int i = 0; i < start.Length; i++)
        {
            if (char.ToLowerInvariant((char)start[i]) != char.ToLowerInvariant(whole[i]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Printable ASCII, tabs and line ends in the first 64 bytes (or all of them when fewer).</summary>
    private static bool IsText(ReadOnlySpan<byte> data)
    {
        int n = Math.Min(data.Length, 64);
        for (int i = 0; i < n; i++)
        {
            byte b = data[i];
            if (b is not ((>= 0x20 and <= 0x7E) or (byte)'\r' or (byte)'\n' or (byte)'\t'))
            {
                return false;
            }
        }

        return true;
    }

    private static bool StartsWith(ReadOnlySpan<byte> data, string prefix)
    {
        if (data.Length < prefix.Length)
        {
            return false;
        }

        for (int i = 0; i < prefix.Length; i++)
        {
            if (data[i] != prefix[i])
            {
                return false;
            }
        }

        return true;
    }

    private static bool StartsWithIgnoreCase(ReadOnlySpan<byte> data, string prefix)
        => data.Length >= prefix.Length && PrefixIgnoreCase(prefix, data[..prefix.Length]);

    private static int IndexOfIgnoreCase(ReadOnlySpan<byte> data, string needle)
    {
        for (int i = 0; i + needle.Length <= data.Length; i++)
        {
            if (PrefixIgnoreCase(needle, data.Slice(i, needle.Length)))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>The first line, printable ASCII only (others as '.'), at most 60 characters.</summary>
    private static string PrintableLine(ReadOnlySpan<byte> data) => ByteSniffer.FirstLine(data.TrimStart(" \t\r\n"u8));
}
