using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using PacketDotNet;
using RdpProbe.Protocol;
using SharpPcap;
using SharpPcap.LibPcap;

namespace RdpProbe.Analysis;

/// <summary>Where <see cref="FrameExplainer"/> looked and what it found.</summary>
public enum ExplainStatus
{
    Ok,

    /// <summary>The file has fewer frames than asked for.</summary>
    NoSuchFrame,

    /// <summary>FILE:N names a file that is not one of the files given.</summary>
    NoSuchFile,

    /// <summary>A bare N with several files: which file's frame N is meant is not said.</summary>
    Ambiguous,

    /// <summary>The argument is neither N nor FILE:N with N ≥ 1.</summary>
    BadSpec,
}

public readonly record struct ExplainResult(ExplainStatus Status, string? Text, string? File);

/// <summary>
/// The cold path: one frame explained layer by layer for a user who wants to look at a finding's frame without opening
/// Wireshark. Link, IP and TCP/UDP come from PacketDotNet; the TCP payload is then read with the same Protocol codecs
/// the probe and the analyzer use: TPKT (RFC 1006 §6), X.224 Connection Request/Confirm with RDP_NEG_REQ/RSP/FAILURE
/// (MS-RDPBCGR 2.2.1.1, 2.2.1.2), TLS record headers (RFC 8446 §5.1) and the handshake messages sent in clear
/// (ClientHello, ServerHello, Certificate: RFC 8446 §4.1.2, §4.1.3, RFC 5246 §7.4.2), TSRequest (MS-CSSP 2.2.1) with
/// its NTLM message (MS-NLMP 2.2.1) when CredSSP is not inside TLS, and a hex dump. Frames count per file, from 1,
/// as Wireshark numbers them. Never used on the hot path.
/// </summary>
public static class FrameExplainer
{
    /// <summary>Bytes of payload shown in the hex dump; the rest is counted.</summary>
    public const int MaxDumpBytes = 4096;

    /// <summary>Most TLS records or TPKT PDUs described per frame (a frame holds a few; a crafted one could hold thousands).</summary>
    private const int MaxPdus = 64;

    /// <summary>
    /// Parses "N" or "FILE:N" (the last colon splits, so a Windows path with a drive letter works) and finds the file:
    /// FILE is one of <paramref name="files"/> as given or by its file name; a bare N needs exactly one file.
    /// </summary>
    public static ExplainStatus Resolve(IReadOnlyList<string> files, string spec, out string file, out int number)
    {
        file = "";
        number = 0;
        string text = spec.Trim();
        int colon = text.LastIndexOf(':');
        string? named = colon > 0 ? text[..colon] : null;
        string digits = colon > 0 ? text[(colon + 1)..] : text;
        if (!int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out number) || number < 1)
        {
            return ExplainStatus.BadSpec;
        }

        if (named is null)
        {
            if (files.Count != 1)
            {
                return ExplainStatus.Ambiguous;
            }

            file = files[0];
            return ExplainStatus.Ok;
        }

        foreach (var f in files)
        {
            if (f == named)
            {
                file = f;
                return ExplainStatus.Ok;
            }
        }

        var byName = files.Where(f => Path.GetFileName(f) == named || Path.GetFullPath(f) == Path.GetFullPath(named)).Distinct().ToList();
        if (byName.Count == 1)
        {
            file = byName[0];
            return ExplainStatus.Ok;
        }

        return byName.Count > 1 ? ExplainStatus.Ambiguous : ExplainStatus.NoSuchFile;
    }

    /// <summary>Explains <paramref name="spec"/> ("N" or "FILE:N") among <paramref name="files"/>.</summary>
    public static ExplainResult Explain(IReadOnlyList<string> files, string spec)
    {
        var status = Resolve(files, spec, out string file, out int number);
        if (status != ExplainStatus.Ok)
        {
            return new ExplainResult(status, null, null);
        }

        string? text = Explain(file, number);
        return new ExplainResult(text is null ? ExplainStatus.NoSuchFrame : ExplainStatus.Ok, text, file);
    }

    /// <summary>Frame <paramref name="number"/> (1-based) of <paramref name="file"/>, or null if the file has no such frame.</summary>
    public static string? Explain(string file, int number)
    {
        int seen = 0;
        using var device = new CaptureFileReaderDevice(file);
        device.Open();
        while (device.GetNextPacket(out PacketCapture capture) == GetPacketStatus.PacketRead)
        {
            if (++seen != number)
            {
                continue;
            }

            var raw = capture.GetPacket();
            var text = new StringBuilder();
            text.Append(CultureInfo.InvariantCulture, $"frame {number} of {file} ({raw.Data.Length} bytes captured, {raw.Timeval.Date:yyyy-MM-dd HH:mm:ss.ffffff} UTC)\n");
            try
            {
                var packet = Packet.ParsePacket(raw.LinkLayerType, raw.Data);
                text.Append(packet.ToString(StringOutputType.Verbose));
            }
            catch (Exception e) when (e is ArgumentException or IndexOutOfRangeException or InvalidOperationException or NotSupportedException)
            {
                text.Append(CultureInfo.InvariantCulture, $"(PacketDotNet could not decode the frame: {e.Message})\n");
            }

            if (FrameDecoder.TryDecode((int)raw.LinkLayerType, raw.Data, out var decoded) && !decoded.IsFragment)
            {
                text.Append('\n');
                text.Append(decoded.Protocol switch
                {
                    IpProtocols.Tcp => ExplainPayload(decoded.Payload, $"TCP {decoded.SourcePort} -> {decoded.DestinationPort}"),
                    IpProtocols.Udp => ExplainPayload(decoded.Payload, $"UDP {decoded.SourcePort} -> {decoded.DestinationPort}", udp: true),
                    _ => "",
                });
            }

            return text.ToString();
        }

        return null;
    }

    /// <summary>The application layers of a TCP (or UDP) payload, then its hex dump.</summary>
    internal static string ExplainPayload(ReadOnlySpan<byte> payload, string transport, bool udp = false)
    {
        var text = new StringBuilder();
        if (payload.IsEmpty)
        {
            text.Append(transport).Append(": no payload\n");
            return text.ToString();
        }

        text.Append(CultureInfo.InvariantCulture, $"{transport} payload: {payload.Length} bytes\n");
        if (udp)
        {
            text.Append("  (UDP: RDP-UDP datagrams are not decoded here)\n");
        }
        else if (payload[0] == TpktHeader.Version3)
        {
            DescribeTpkt(payload, text);
        }
        else if (payload.Length >= 3 && payload[0] is >= 20 and <= 24 && payload[1] == 0x03)
        {
            DescribeTls(payload, text);
        }
        else if (payload[0] == 0x30)
        {
            DescribeTsRequest(payload, text, "  ");
        }
        else
        {
            text.Append("  not the start of a TPKT, TLS record or TSRequest (the middle of a PDU that began in an earlier segment, or not RDP)\n");
        }

        text.Append(HexDump(payload));
        return text.ToString();
    }

    /// <summary>TPKT PDUs (RFC 1006 §6) and the X.224 TPDU each carries.</summary>
    private static void DescribeTpkt(ReadOnlySpan<byte> payload, StringBuilder text)
    {
        for (int n = 0; n < MaxPdus && !payload.IsEmpty; n++)
        {
            var status = TpktHeader.TryRead(payload, out var tpkt, out _, out var error);
            if (status == OperationStatus.InvalidData)
            {
                text.Append(CultureInfo.InvariantCulture, $"  TPKT: invalid ({error})\n");
                return;
            }

            if (status == OperationStatus.NeedMoreData)
            {
                text.Append(CultureInfo.InvariantCulture, $"  TPKT: {payload.Length} byte(s), too few for the 4-byte header\n");
                return;
            }

            text.Append(CultureInfo.InvariantCulture, $"  TPKT (RFC 1006): version {tpkt.Version}, length {tpkt.Length}\n");
            if (payload.Length < tpkt.Length)
            {
                text.Append(CultureInfo.InvariantCulture, $"    {payload.Length} of its {tpkt.Length} bytes are in this frame: the PDU continues in later segments\n");
                if (payload.Length > 5)
                {
                    DescribeX224Code(payload[5], text);
                }

                return;
            }

            DescribeX224(payload[..tpkt.Length], text);
            payload = payload[tpkt.Length..];
            if (!payload.IsEmpty && payload[0] != TpktHeader.Version3)
            {
                text.Append(CultureInfo.InvariantCulture, $"  {payload.Length} more byte(s) that do not start a TPKT\n");
                return;
            }
        }
    }

    private static void DescribeX224Code(byte code, StringBuilder text) =>
        text.Append(CultureInfo.InvariantCulture, $"    X.224: {(code & 0xF0) switch
        {
            0xE0 => "Connection Request (CR)",
            0xD0 => "Connection Confirm (CC)",
            0xF0 => "Data (DT)",
            0x80 => "Disconnect Request (DR)",
            _ => $"TPDU code 0x{code & 0xF0:X2}",
        }}\n");

    /// <summary>One whole TPKT PDU: the X.224 TPDU and, for CR/CC, the RDP negotiation (MS-RDPBCGR 2.2.1.1, 2.2.1.2).</summary>
    private static void DescribeX224(ReadOnlySpan<byte> pdu, StringBuilder text)
    {
        if (pdu.Length < 6)
        {
            text.Append("    X.224: no TPDU\n");
            return;
        }

        byte code = (byte)(pdu[5] & 0xF0);
        switch (code)
        {
            case 0xE0:
                if (X224.TryReadConnectionRequest(pdu, out var request, out _, out var requestError) != OperationStatus.Done || request is null)
                {
                    text.Append(CultureInfo.InvariantCulture, $"    X.224 Connection Request: not decodable ({requestError})\n");
                    return;
                }

                text.Append("    X.224 Connection Request (MS-RDPBCGR 2.2.1.1)\n");
                if (request.Cookie is not null)
                {
                    text.Append(CultureInfo.InvariantCulture, $"      cookie: {X224ConnectionRequest.CookiePrefix}{Printable(request.Cookie)}\n");
                }

                if (request.RoutingToken is not null)
                {
                    text.Append(CultureInfo.InvariantCulture, $"      routing token: {Printable(request.RoutingToken)}\n");
                }

                if (request.NegotiationRequest is { } negReq)
                {
                    text.Append(CultureInfo.InvariantCulture, $"      RDP_NEG_REQ: flags 0x{negReq.Flags:X2}, requestedProtocols 0x{negReq.Value:X8} ({string.Join(", ", negReq.Protocols.ToReportNames())})\n");
                }
                else
                {
                    text.Append("      no RDP_NEG_REQ: the client offers Standard RDP Security only (PROTOCOL_RDP)\n");
                }

                return;
            case 0xD0:
                if (X224.TryReadConnectionConfirm(pdu, out var confirm, out _, out var confirmError) != OperationStatus.Done || confirm is null)
                {
                    text.Append(CultureInfo.InvariantCulture, $"    X.224 Connection Confirm: not decodable ({confirmError})\n");
                    return;
                }

                text.Append("    X.224 Connection Confirm (MS-RDPBCGR 2.2.1.2)\n");
                if (confirm.Negotiation is not { } neg)
                {
                    text.Append("      no negotiation data: a legacy server, Standard RDP Security\n");
                }
                else if (confirm.IsFailure)
                {
                    text.Append(CultureInfo.InvariantCulture, $"      RDP_NEG_FAILURE: failureCode {neg.Value} ({neg.FailureCode.ToReportName()})\n");
                }
                else
                {
                    text.Append(CultureInfo.InvariantCulture, $"      RDP_NEG_RSP: flags 0x{neg.Flags:X2}, selectedProtocol 0x{neg.Value:X8} ({string.Join(", ", neg.Protocols.ToReportNames())})\n");
                }

                return;
            case 0xF0:
                text.Append(CultureInfo.InvariantCulture, $"    X.224 Data (DT): {pdu.Length - TpktHeader.Size - X224.DataHeaderSize} bytes of MCS (T.125) / RDP data{McsName(pdu[(TpktHeader.Size + X224.DataHeaderSize)..])}\n");
                return;
            default:
                DescribeX224Code(pdu[5], text);
                return;
        }
    }

    /// <summary>The T.125 PDU a DT carries: BER application tags of Connect-Initial/Response (T.125 §7, tag 101/102), or the PER choice of a domain PDU.</summary>
    private static string McsName(ReadOnlySpan<byte> mcs)
    {
        if (mcs.Length >= 2 && mcs[0] == 0x7F)
        {
            return mcs[1] switch
            {
                0x65 => ": MCS Connect-Initial (MS-RDPBCGR 2.2.1.3)",
                0x66 => ": MCS Connect-Response (MS-RDPBCGR 2.2.1.4)",
                _ => "",
            };
        }

        if (mcs.IsEmpty)
        {
            return "";
        }

        // DomainMCSPDU choice index in the top six bits (T.125 §7 PER).
        return (mcs[0] >> 2) switch
        {
            1 => ": MCS Erect Domain Request",
            8 => ": MCS Disconnect Provider Ultimatum",
            10 => ": MCS Attach User Request",
            11 => ": MCS Attach User Confirm",
            14 => ": MCS Channel Join Request",
            15 => ": MCS Channel Join Confirm",
            25 => ": MCS Send Data Request",
            26 => ": MCS Send Data Indication",
            _ => "",
        };
    }

    /// <summary>TLS records (RFC 8446 §5.1) and, in clear handshake records, the messages in them.</summary>
    private static void DescribeTls(ReadOnlySpan<byte> payload, StringBuilder text)
    {
        bool afterChangeCipherSpec = false;
        for (int n = 0; n < MaxPdus && !payload.IsEmpty; n++)
        {
            var status = TlsRecordHeader.TryRead(payload, out var header, out _, out var error);
            if (status == OperationStatus.InvalidData)
            {
                text.Append(CultureInfo.InvariantCulture, $"  TLS record: invalid header ({error})\n");
                return;
            }

            if (status == OperationStatus.NeedMoreData)
            {
                text.Append(CultureInfo.InvariantCulture, $"  TLS record header cut at the end of the frame ({payload.Length} of 5 bytes)\n");
                return;
            }

            text.Append(CultureInfo.InvariantCulture, $"  TLS record (RFC 8446 §5.1): {ContentName(header.ContentType)}, version {TlsNames.VersionName(header.Version)} (0x{header.Version:X4}), length {header.Length}\n");
            int whole = TlsRecordHeader.Size + header.Length;
            var fragment = payload[TlsRecordHeader.Size..Math.Min(payload.Length, whole)];
            bool complete = payload.Length >= whole;
            if (!complete)
            {
                text.Append(CultureInfo.InvariantCulture, $"    {fragment.Length} of its {header.Length} bytes are in this frame: the record continues in later segments\n");
            }

            switch (header.ContentType)
            {
                case TlsContentType.Handshake when afterChangeCipherSpec:
                    text.Append("    encrypted handshake message (after ChangeCipherSpec: Finished)\n");
                    break;
                case TlsContentType.Handshake:
                    DescribeHandshake(fragment, text);
                    break;
                case TlsContentType.ChangeCipherSpec:
                    afterChangeCipherSpec = true;
                    break;
                case TlsContentType.Alert when !afterChangeCipherSpec && TlsAlert.TryRead(fragment, out var alert, out _) == OperationStatus.Done && fragment.Length == 2:
                    text.Append(CultureInfo.InvariantCulture, $"    alert: {(alert.Level == TlsAlertLevel.Fatal ? "fatal" : "warning")} {TlsNames.AlertName(alert.Description)}\n");
                    break;
                case TlsContentType.Alert:
                    text.Append("    encrypted alert (level and description not visible)\n");
                    break;
                case TlsContentType.ApplicationData:
                    text.Append("    encrypted application data (CredSSP or RDP inside TLS; TLS 1.3 also encrypts its later handshake and its alerts)\n");
                    break;
            }

            if (!complete)
            {
                return;
            }

            payload = payload[whole..];
        }
    }

    private static string ContentName(TlsContentType type) => type switch
    {
        TlsContentType.ChangeCipherSpec => "change_cipher_spec",
        TlsContentType.Alert => "alert",
        TlsContentType.Handshake => "handshake",
        TlsContentType.ApplicationData => "application_data",
        _ => $"content type {(byte)type}",
    };

    /// <summary>The handshake messages of one record's fragment (a message cut by the record end is named, not decoded).</summary>
    private static void DescribeHandshake(ReadOnlySpan<byte> fragment, StringBuilder text)
    {
        for (int n = 0; n < MaxPdus && !fragment.IsEmpty; n++)
        {
            if (TlsHandshakeHeader.TryRead(fragment, out var hs, out _) != OperationStatus.Done)
            {
                text.Append("    handshake message header cut (continues in the next record)\n");
                return;
            }

            var body = fragment[TlsHandshakeHeader.Size..];
            bool whole = body.Length >= hs.Length;
            if (whole)
            {
                body = body[..hs.Length];
            }

            text.Append(CultureInfo.InvariantCulture, $"    handshake: {HandshakeName(hs.Type)}, length {hs.Length}{(whole ? "" : $" ({body.Length} bytes here, the rest in later records)")}\n");
            if (whole)
            {
                DescribeHandshakeBody(hs.Type, body, text);
            }
            else
            {
                return;
            }

            fragment = fragment[(TlsHandshakeHeader.Size + hs.Length)..];
        }
    }

    private static string HandshakeName(TlsHandshakeType type) => (byte)type switch
    {
        1 => "ClientHello",
        2 => "ServerHello",
        4 => "NewSessionTicket",
        8 => "EncryptedExtensions",
        11 => "Certificate",
        12 => "ServerKeyExchange",
        13 => "CertificateRequest",
        14 => "ServerHelloDone",
        15 => "CertificateVerify",
        16 => "ClientKeyExchange",
        20 => "Finished",
        var b => $"type {b} (or an encrypted message)",
    };

    private static void DescribeHandshakeBody(TlsHandshakeType type, ReadOnlySpan<byte> body, StringBuilder text)
    {
        switch ((byte)type)
        {
            case 1 when TlsHandshake.TryReadClientHello(body, out var hello) == OperationStatus.Done && hello is not null:
                text.Append(CultureInfo.InvariantCulture, $"      legacy_version {TlsNames.VersionName(hello.LegacyVersion)}, {hello.CipherSuiteCount} cipher suites");
                if (hello.SupportedVersions.Count > 0)
                {
                    text.Append(", supported_versions ").Append(string.Join(" ", hello.SupportedVersions.Select(TlsNames.VersionName)));
                }

                if (hello.ServerName is not null)
                {
                    text.Append(", server_name ").Append(Printable(hello.ServerName));
                }

                text.Append('\n');
                return;
            case 2 when TlsHandshake.TryReadServerHello(body, out var server) == OperationStatus.Done:
                text.Append(CultureInfo.InvariantCulture, $"      version {TlsNames.VersionName(server.SelectedVersion ?? server.LegacyVersion)}, cipher suite {TlsHandshake.CipherSuiteName(server.CipherSuite)} (0x{server.CipherSuite:X4})\n");
                return;
            case 11 when TlsHandshake.TryReadFirstCertificate(body, out var der) == OperationStatus.Done:
                if (X509.TryRead(der, out var cert))
                {
                    text.Append(CultureInfo.InvariantCulture, $"      subject {Printable(cert.Subject)}; issuer {Printable(cert.Issuer)}{(cert.SelfSigned ? " (self-signed)" : "")}\n");
                    text.Append(CultureInfo.InvariantCulture, $"      valid {cert.NotBefore:yyyy-MM-dd} to {cert.NotAfter:yyyy-MM-dd}; key {cert.KeyAlgorithm}{(cert.KeySize is { } bits ? $" {bits} bits" : "")}; signature {cert.SignatureAlgorithm}\n");
                }
                else
                {
                    text.Append(CultureInfo.InvariantCulture, $"      first certificate: {der.Length} bytes, not decodable as X.509\n");
                }

                return;
            case 1 or 2 or 11:
                text.Append("      not decodable\n");
                return;
        }
    }

    /// <summary>A TSRequest (MS-CSSP 2.2.1) sent in clear, and the NTLM message in its first negoToken (MS-NLMP 2.2.1).</summary>
    private static void DescribeTsRequest(ReadOnlySpan<byte> payload, StringBuilder text, string indent)
    {
        var status = TsRequest.TryRead(payload, out var request, out int consumed, out var error);
        if (status == OperationStatus.NeedMoreData)
        {
            text.Append(CultureInfo.InvariantCulture, $"{indent}DER SEQUENCE cut at the end of the frame (a TSRequest continues in later segments)\n");
            return;
        }

        if (status != OperationStatus.Done || request is null)
        {
            text.Append(CultureInfo.InvariantCulture, $"{indent}DER SEQUENCE that is not a TSRequest ({error})\n");
            return;
        }

        text.Append(CultureInfo.InvariantCulture, $"{indent}TSRequest (MS-CSSP 2.2.1): version {request.Version}, {request.NegoTokens.Count} negoToken(s){(request.AuthInfo is null ? "" : ", authInfo")}{(request.PubKeyAuth is null ? "" : ", pubKeyAuth")}{(request.ClientNonce is null ? "" : ", clientNonce")}, {consumed} bytes\n");
        if (request.ErrorCode is { } code)
        {
            text.Append(CultureInfo.InvariantCulture, $"{indent}  errorCode 0x{code:X8} ({NtStatus.Name(code)})\n");
        }

        if (request.FirstNegoToken is { } token)
        {
            DescribeNtlm(token, text, indent + "  ");
        }
    }

    private static void DescribeNtlm(ReadOnlySpan<byte> token, StringBuilder text, string indent)
    {
        if (token.Length < 12 || !token.StartsWith(Ntlm.Signature))
        {
            text.Append(CultureInfo.InvariantCulture, $"{indent}negoToken: {token.Length} bytes, not NTLM (SPNEGO/Kerberos)\n");
            return;
        }

        uint type = BinaryPrimitives.ReadUInt32LittleEndian(token[8..]);
        switch ((NtlmMessageType)type)
        {
            case NtlmMessageType.Negotiate:
                text.Append(CultureInfo.InvariantCulture, $"{indent}NTLM NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1): flags 0x{(token.Length >= 16 ? BinaryPrimitives.ReadUInt32LittleEndian(token[12..]) : 0):X8}\n");
                return;
            case NtlmMessageType.Challenge when NtlmChallenge.TryRead(token, out var challenge, out _, out _) == OperationStatus.Done && challenge is not null:
                text.Append(CultureInfo.InvariantCulture, $"{indent}NTLM CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2): flags 0x{(uint)challenge.Flags:X8}, target {Printable(challenge.TargetName ?? "-")}, {challenge.AvPairs.Count} AV pairs{(challenge.Version is { } v ? $", server version {v.Major}.{v.Minor}.{v.Build}" : "")}\n");
                return;
            case NtlmMessageType.Authenticate:
                // Only the type: the response fields are derived from the password and stay out of any output.
                text.Append(CultureInfo.InvariantCulture, $"{indent}NTLM AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3): {token.Length} bytes (responses not shown)\n");
                return;
            default:
                text.Append(CultureInfo.InvariantCulture, $"{indent}NTLM message type {type}, not decodable\n");
                return;
        }
    }

    /// <summary>Offset, 16 bytes in hex, the same as printable ASCII (as tshark -x), at most <see cref="MaxDumpBytes"/>.</summary>
    public static string HexDump(ReadOnlySpan<byte> data)
    {
        var text = new StringBuilder();
        int shown = Math.Min(data.Length, MaxDumpBytes);
        for (int offset = 0; offset < shown; offset += 16)
        {
            var line = data[offset..Math.Min(shown, offset + 16)];
            text.Append(CultureInfo.InvariantCulture, $"  {offset:x4}  ");
            for (int i = 0; i < 16; i++)
            {
                text.Append(i < line.Length ? line[i].ToString("x2", CultureInfo.InvariantCulture) + " " : "   ");
                if (i == 7)
                {
                    text.Append(' ');
                }
            }

            text.Append(' ');
            foreach (byte b in line)
            {
                text.Append(b is >= 0x20 and < 0x7F ? (char)b : '.');
            }

            text.Append('\n');
        }

        if (data.Length > shown)
        {
            text.Append(CultureInfo.InvariantCulture, $"  ... {data.Length - shown} more bytes\n");
        }

        return text.ToString();
    }

    private static string Printable(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            sb.Append(char.IsControl(c) ? '.' : c);
        }

        return sb.ToString();
    }
}
