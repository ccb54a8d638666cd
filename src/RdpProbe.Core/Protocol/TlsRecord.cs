using System.Buffers;
using System.Buffers.Binary;

namespace RdpProbe.Protocol;

/// <summary>TLS record content types (RFC 8446 §5.1, RFC 5246 §6.2.1).</summary>
public enum TlsContentType : byte
{
    ChangeCipherSpec = 20,
    Alert = 21,
    Handshake = 22,
    ApplicationData = 23,
    Heartbeat = 24,
}

/// <summary>Handshake message types (RFC 8446 §4, RFC 5246 §7.4).</summary>
public enum TlsHandshakeType : byte
{
    HelloRequest = 0,
    ClientHello = 1,
    ServerHello = 2,
    NewSessionTicket = 4,
    EndOfEarlyData = 5,
    EncryptedExtensions = 8,
    Certificate = 11,
    ServerKeyExchange = 12,
    CertificateRequest = 13,
    ServerHelloDone = 14,
    CertificateVerify = 15,
    ClientKeyExchange = 16,
    Finished = 20,
    CertificateStatus = 22,
    KeyUpdate = 24,
}

public enum TlsAlertLevel : byte
{
    Warning = 1,
    Fatal = 2,
}

/// <summary>Alert descriptions (RFC 8446 §6, RFC 5246 §7.2).</summary>
public enum TlsAlertDescription : byte
{
    CloseNotify = 0,
    UnexpectedMessage = 10,
    BadRecordMac = 20,
    DecryptionFailed = 21,
    RecordOverflow = 22,
    DecompressionFailure = 30,
    HandshakeFailure = 40,
    NoCertificate = 41,
    BadCertificate = 42,
    UnsupportedCertificate = 43,
    CertificateRevoked = 44,
    CertificateExpired = 45,
    CertificateUnknown = 46,
    IllegalParameter = 47,
    UnknownCa = 48,
    AccessDenied = 49,
    DecodeError = 50,
    DecryptError = 51,
    ExportRestriction = 60,
    ProtocolVersion = 70,
    InsufficientSecurity = 71,
    InternalError = 80,
    InappropriateFallback = 86,
    UserCanceled = 90,
    NoRenegotiation = 100,
    MissingExtension = 109,
    UnsupportedExtension = 110,
    UnrecognizedName = 112,
    BadCertificateStatusResponse = 113,
    UnknownPskIdentity = 115,
    CertificateRequired = 116,
    NoApplicationProtocol = 120,
}

/// <summary>The 5-byte TLS record header.</summary>
public readonly record struct TlsRecordHeader(TlsContentType ContentType, ushort Version, ushort Length)
{
    public const int Size = 5;

    /// <summary>
    /// Largest ciphertext length a record may declare: 2^14 + 2048 (RFC 5246 §6.2.3); TLS 1.3 allows only 2^14 + 256,
    /// but the larger bound accepts every version.
    /// </summary>
    public const int MaxLength = 16384 + 2048;

    public static OperationStatus TryRead(ReadOnlySpan<byte> source, out TlsRecordHeader value, out int bytesConsumed)
        => TryRead(source, out value, out bytesConsumed, out _);

    public static OperationStatus TryRead(ReadOnlySpan<byte> source, out TlsRecordHeader value, out int bytesConsumed, out DecodeError error)
    {
        value = default;
        bytesConsumed = 0;
        error = DecodeError.None;
        if (source.Length >= 1 && source[0] is < (byte)TlsContentType.ChangeCipherSpec or > (byte)TlsContentType.Heartbeat)
        {
            error = DecodeError.UnexpectedType;
            return OperationStatus.InvalidData;
        }

        // Major version is 3 for SSL 3.0 .. TLS 1.3 (the record layer of TLS 1.3 still says 0x0303 or 0x0301).
        if (source.Length >= 2 && source[1] != 3)
        {
            error = DecodeError.BadVersion;
            return OperationStatus.InvalidData;
        }

        if (source.Length < Size)
        {
            return OperationStatus.NeedMoreData;
        }

        ushort length = BinaryPrimitives.ReadUInt16BigEndian(source[3..]);
        if (length > MaxLength)
        {
            error = DecodeError.LengthTooLarge;
            return OperationStatus.InvalidData;
        }

        value = new TlsRecordHeader((TlsContentType)source[0], BinaryPrimitives.ReadUInt16BigEndian(source[1..]), length);
        bytesConsumed = Size;
        return OperationStatus.Done;
    }

    /// <summary>One whole record at the start of <paramref name="source"/>; <paramref name="fragment"/> is its body.</summary>
    public static OperationStatus TryReadRecord(ReadOnlySpan<byte> source, out TlsRecordHeader header, out ReadOnlySpan<byte> fragment, out DecodeError error)
    {
        fragment = default;
        var status = TryRead(source, out header, out _, out error);
        if (status != OperationStatus.Done)
        {
            return status;
        }

        if (source.Length < Size + header.Length)
        {
            return OperationStatus.NeedMoreData;
        }

        fragment = source.Slice(Size, header.Length);
        return OperationStatus.Done;
    }
}

public readonly record struct TlsAlert(TlsAlertLevel Level, TlsAlertDescription Description)
{
    public const int Size = 2;

    public static OperationStatus TryRead(ReadOnlySpan<byte> source, out TlsAlert value, out int bytesConsumed)
    {
        value = default;
        bytesConsumed = 0;
        if (source.Length < Size)
        {
            return OperationStatus.NeedMoreData;
        }

        if (source[0] is not ((byte)TlsAlertLevel.Warning or (byte)TlsAlertLevel.Fatal))
        {
            return OperationStatus.InvalidData;
        }

        value = new TlsAlert((TlsAlertLevel)source[0], (TlsAlertDescription)source[1]);
        bytesConsumed = Size;
        return OperationStatus.Done;
    }
}

/// <summary>The 4-byte handshake message header: type and a 24-bit big-endian length.</summary>
public readonly record struct TlsHandshakeHeader(TlsHandshakeType Type, int Length)
{
    public const int Size = 4;

    public static OperationStatus TryRead(ReadOnlySpan<byte> source, out TlsHandshakeHeader value, out int bytesConsumed)
    {
        value = default;
        bytesConsumed = 0;
        if (source.Length < Size)
        {
            return OperationStatus.NeedMoreData;
        }

        int length = (source[1] << 16) | (source[2] << 8) | source[3];
        value = new TlsHandshakeHeader((TlsHandshakeType)source[0], length);
        bytesConsumed = Size;
        return OperationStatus.Done;
    }
}

public static class TlsNames
{
    /// <summary>Report word for a protocol version: tls1.0 .. tls1.3, ssl3.</summary>
    public static string VersionName(ushort version) => version switch
    {
        0x0300 => "ssl3",
        0x0301 => "tls1.0",
        0x0302 => "tls1.1",
        0x0303 => "tls1.2",
        0x0304 => "tls1.3",
        _ => $"0x{version:x4}",
    };

    /// <summary>snake_case alert description as RFC 8446 spells it.</summary>
    public static string AlertName(TlsAlertDescription description) => description switch
    {
        TlsAlertDescription.CloseNotify => "close_notify",
        TlsAlertDescription.UnexpectedMessage => "unexpected_message",
        TlsAlertDescription.BadRecordMac => "bad_record_mac",
        TlsAlertDescription.DecryptionFailed => "decryption_failed",
        TlsAlertDescription.RecordOverflow => "record_overflow",
        TlsAlertDescription.DecompressionFailure => "decompression_failure",
        TlsAlertDescription.HandshakeFailure => "handshake_failure",
        TlsAlertDescription.NoCertificate => "no_certificate",
        TlsAlertDescription.BadCertificate => "bad_certificate",
        TlsAlertDescription.UnsupportedCertificate => "unsupported_certificate",
        TlsAlertDescription.CertificateRevoked => "certificate_revoked",
        TlsAlertDescription.CertificateExpired => "certificate_expired",
        TlsAlertDescription.CertificateUnknown => "certificate_unknown",
        TlsAlertDescription.IllegalParameter => "illegal_parameter",
        TlsAlertDescription.UnknownCa => "unknown_ca",
        TlsAlertDescription.AccessDenied => "access_denied",
        TlsAlertDescription.DecodeError => "decode_error",
        TlsAlertDescription.DecryptError => "decrypt_error",
        TlsAlertDescription.ExportRestriction => "export_restriction",
        TlsAlertDescription.ProtocolVersion => "protocol_version",
        TlsAlertDescription.InsufficientSecurity => "insufficient_security",
        TlsAlertDescription.InternalError => "internal_error",
        TlsAlertDescription.InappropriateFallback => "inappropriate_fallback",
        TlsAlertDescription.UserCanceled => "user_canceled",
        TlsAlertDescription.NoRenegotiation => "no_renegotiation",
        TlsAlertDescription.MissingExtension => "missing_extension",
        TlsAlertDescription.UnsupportedExtension => "unsupported_extension",
        TlsAlertDescription.UnrecognizedName => "unrecognized_name",
        TlsAlertDescription.BadCertificateStatusResponse => "bad_certificate_status_response",
        TlsAlertDescription.UnknownPskIdentity => "unknown_psk_identity",
        TlsAlertDescription.CertificateRequired => "certificate_required",
        TlsAlertDescription.NoApplicationProtocol => "no_application_protocol",
        _ => $"alert_{(byte)description}",
    };
}
