using System.Buffers;
using System.Buffers.Binary;

namespace RdpProbe.Protocol;

/// <summary>The fields of a ClientHello a diagnosis needs (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2).</summary>
public sealed record TlsClientHello(ushort LegacyVersion, IReadOnlyList<ushort> SupportedVersions, int CipherSuiteCount, string? ServerName)
{
    /// <summary>Highest version offered: supported_versions when present, else the legacy field.</summary>
    public ushort MaxVersion => SupportedVersions.Count > 0 ? SupportedVersions.Where(v => (v & 0x0F0F) == v).DefaultIfEmpty(LegacyVersion).Max() : LegacyVersion;
}

/// <summary>The fields of a ServerHello a diagnosis needs (RFC 8446 §4.1.3).</summary>
public readonly record struct TlsServerHello(ushort LegacyVersion, ushort? SelectedVersion, ushort CipherSuite)
{
    /// <summary>The negotiated version: supported_versions (TLS 1.3) when present, else the legacy field.</summary>
    public ushort Version => SelectedVersion ?? LegacyVersion;
}

/// <summary>Decoders for the clear-text handshake messages (bodies after the 4-byte handshake header).</summary>
public static class TlsHandshake
{
    private const ushort ExtensionServerName = 0;
    private const ushort ExtensionSupportedVersions = 43;

    public static OperationStatus TryReadClientHello(ReadOnlySpan<byte> body, out TlsClientHello? value)
    {
        value = null;
        var r = new SpanCursor(body);
        if (!r.TryU16(out ushort legacy) || !r.TrySkip(32) || !r.TryU8Vector(out _) || !r.TryU16Vector(out var suites) || !r.TryU8Vector(out _))
        {
            return OperationStatus.InvalidData;
        }

        var versions = new List<ushort>();
        string? serverName = null;
        if (r.Remaining > 0 && r.TryU16Vector(out var extensions))
        {
            var e = new SpanCursor(extensions);
            while (e.TryU16(out ushort type) && e.TryU16Vector(out var data))
            {
                if (type == ExtensionSupportedVersions && data.Length >= 1)
                {
                    // ClientHello form: a 1-byte length then 2-byte versions (RFC 8446 §4.2.1).
                    int n = Math.Min(data[0], data.Length - 1) / 2;
                    for (int i = 0; i < n; i++)
                    {
                        versions.Add(BinaryPrimitives.ReadUInt16BigEndian(data[(1 + (2 * i))..]));
                    }
                }
                else if (type == ExtensionServerName && data.Length >= 5 && data[2] == 0)
                {
                    // server_name_list: list length(2), name type(1) = host_name, name length(2), name (RFC 6066 §3).
                    int len = BinaryPrimitives.ReadUInt16BigEndian(data[3..]);
                    if (data.Length >= 5 + len)
                    {
                        serverName = System.Text.Encoding.ASCII.GetString(data.Slice(5, len));
                    }
                }
            }
        }

        value = new TlsClientHello(legacy, versions, suites.Length / 2, serverName);
        return OperationStatus.Done;
    }

    public static OperationStatus TryReadServerHello(ReadOnlySpan<byte> body, out TlsServerHello value)
    {
        value = default;
        var r = new SpanCursor(body);
        if (!r.TryU16(out ushort legacy) || !r.TrySkip(32) || !r.TryU8Vector(out _) || !r.TryU16(out ushort suite) || !r.TrySkip(1))
        {
            return OperationStatus.InvalidData;
        }

        ushort? selected = null;
        if (r.Remaining > 0 && r.TryU16Vector(out var extensions))
        {
            var e = new SpanCursor(extensions);
            while (e.TryU16(out ushort type) && e.TryU16Vector(out var data))
            {
                // ServerHello form: the single selected version (RFC 8446 §4.2.1).
                if (type == ExtensionSupportedVersions && data.Length == 2)
                {
                    selected = BinaryPrimitives.ReadUInt16BigEndian(data);
                }
            }
        }

        value = new TlsServerHello(legacy, selected, suite);
        return OperationStatus.Done;
    }

    /// <summary>The first (end-entity) certificate of a TLS ≤ 1.2 Certificate message (RFC 5246 §7.4.2), DER.</summary>
    public static OperationStatus TryReadFirstCertificate(ReadOnlySpan<byte> body, out ReadOnlySpan<byte> der)
    {
        der = default;
        if (body.Length < 6)
        {
            return OperationStatus.InvalidData;
        }

        int listLength = (body[0] << 16) | (body[1] << 8) | body[2];
        int certLength = (body[3] << 16) | (body[4] << 8) | body[5];
        if (listLength < 3 || certLength == 0 || body.Length < 6 + certLength)
        {
            return OperationStatus.InvalidData;
        }

        der = body.Slice(6, certLength);
        return OperationStatus.Done;
    }

    /// <summary>IANA name of a cipher suite for the common ones; "0x...." otherwise.</summary>
    public static string CipherSuiteName(ushort suite) => suite switch
    {
        0x1301 => "TLS_AES_128_GCM_SHA256",
        0x1302 => "TLS_AES_256_GCM_SHA384",
        0x1303 => "TLS_CHACHA20_POLY1305_SHA256",
        0xC02B => "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        0xC02C => "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        0xC02F => "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        0xC030 => "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        0xCCA8 => "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        0xCCA9 => "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        0xC027 => "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
        0xC028 => "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
        0xC013 => "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        0xC014 => "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
        0xC023 => "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
        0xC024 => "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
        0x009C => "TLS_RSA_WITH_AES_128_GCM_SHA256",
        0x009D => "TLS_RSA_WITH_AES_256_GCM_SHA384",
        0x009E => "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
        0x009F => "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
        0x003C => "TLS_RSA_WITH_AES_128_CBC_SHA256",
        0x003D => "TLS_RSA_WITH_AES_256_CBC_SHA256",
        0x002F => "TLS_RSA_WITH_AES_128_CBC_SHA",
        0x0035 => "TLS_RSA_WITH_AES_256_CBC_SHA",
        0x000A => "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
        0x0005 => "TLS_RSA_WITH_RC4_128_SHA",
        0x0004 => "TLS_RSA_WITH_RC4_128_MD5",
        _ => $"0x{suite:x4}",
    };

    /// <summary>
    /// Bytes a TLS record adds around its plaintext for this version and suite: used to turn an encrypted record
    /// length into an estimate of the plaintext length. AEAD in TLS 1.2 = 8-byte explicit nonce + 16-byte tag
    /// (RFC 5288 §3); TLS 1.3 = 16-byte tag + 1 inner content type (RFC 8446 §5.2); ChaCha20 in 1.2 = 16 (RFC 7905).
    /// CBC suites vary with padding: IV 16 + MAC + about half a block, an estimate only.
    /// </summary>
    public static int RecordOverhead(ushort version, ushort suite)
    {
        if (version >= 0x0304 || (suite >> 8) == 0x13)
        {
            return 17;
        }

        string name = CipherSuiteName(suite);
        if (name.Contains("CHACHA20", StringComparison.Ordinal))
        {
            return 16;
        }

        if (name.Contains("GCM", StringComparison.Ordinal))
        {
            return 24;
        }

        int mac = name.EndsWith("SHA384", StringComparison.Ordinal) ? 48 : name.EndsWith("SHA256", StringComparison.Ordinal) ? 32 : name.EndsWith("MD5", StringComparison.Ordinal) ? 16 : 20;
        if (name.Contains("RC4", StringComparison.Ordinal))
        {
            return mac;
        }

        return (version >= 0x0302 ? 16 : 0) + mac + 8;
    }

    /// <summary>Minimal big-endian cursor; every read is bounds-checked and fails instead of throwing.</summary>
    private ref struct SpanCursor(ReadOnlySpan<byte> data)
    {
        private ReadOnlySpan<byte> _rest = data;

        public readonly int Remaining => _rest.Length;

        public bool TrySkip(int n)
        {
            if (_rest.Length < n)
            {
                return false;
            }

            _rest = _rest[n..];
            return true;
        }

        public bool TryU16(out ushort value)
        {
            value = 0;
            if (_rest.Length < 2)
            {
                return false;
            }

            value = BinaryPrimitives.ReadUInt16BigEndian(_rest);
            _rest = _rest[2..];
            return true;
        }

        public bool TryU8Vector(out ReadOnlySpan<byte> value)
        {
            value = default;
            if (_rest.Length < 1 || _rest.Length < 1 + _rest[0])
            {
                return false;
            }

            value = _rest.Slice(1, _rest[0]);
            _rest = _rest[(1 + value.Length)..];
            return true;
        }

        public bool TryU16Vector(out ReadOnlySpan<byte> value)
        {
            value = default;
            if (_rest.Length < 2)
            {
                return false;
            }

            int n = BinaryPrimitives.ReadUInt16BigEndian(_rest);
            if (_rest.Length < 2 + n)
            {
                return false;
            }

            value = _rest.Slice(2, n);
            _rest = _rest[(2 + n)..];
            return true;
        }
    }
}
