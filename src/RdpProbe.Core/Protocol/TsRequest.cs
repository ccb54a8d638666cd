using System.Buffers;
using System.Formats.Asn1;
using System.Numerics;

namespace RdpProbe.Protocol;

/// <summary>
/// CredSSP TSRequest (MS-CSSP 2.2.1): the DER envelope of every CredSSP message.
/// <code>
/// TSRequest ::= SEQUENCE {
///   version [0] INTEGER, negoTokens [1] NegoData OPTIONAL, authInfo [2] OCTET STRING OPTIONAL,
///   pubKeyAuth [3] OCTET STRING OPTIONAL, errorCode [4] INTEGER OPTIONAL, clientNonce [5] OCTET STRING OPTIONAL }
/// NegoData ::= SEQUENCE OF SEQUENCE { negoToken [0] OCTET STRING }
/// </code>
/// </summary>
internal sealed record TsRequest(
    int Version,
    IReadOnlyList<byte[]> NegoTokens,
    byte[]? AuthInfo = null,
    byte[]? PubKeyAuth = null,
    uint? ErrorCode = null,
    byte[]? ClientNonce = null)
{
    /// <summary>The highest version this client speaks (MS-CSSP 2.2.1: 6 adds errorCode back on top of the v5 nonce binding).</summary>
    public const int MaxVersion = 6;

    /// <summary>
    /// Upper bound for one TSRequest. A real one carries a few NTLM messages and a sealed key (a few KiB at most);
    /// anything claiming more is refused before it is buffered.
    /// </summary>
    public const int MaxLength = 64 * 1024;

    /// <summary>MS-CSSP 2.2.1: the clientNonce is 32 bytes.</summary>
    public const int NonceLength = 32;

    private static readonly Asn1Tag[] FieldTags = [Context(0), Context(1), Context(2), Context(3), Context(4), Context(5)];

    public byte[]? FirstNegoToken => NegoTokens.Count > 0 ? NegoTokens[0] : null;

    /// <summary>
    /// Finds the extent of one DER SEQUENCE at the start of <paramref name="source"/> from its tag and length alone
    /// (X.690 8.1.2–8.1.3), so a stream reader knows how many bytes to wait for. Indefinite lengths (X.690 8.1.3.6)
    /// are not DER and are refused, as are lengths above <see cref="MaxLength"/>.
    /// </summary>
    public static OperationStatus TryReadFrameLength(ReadOnlySpan<byte> source, out int headerLength, out int totalLength, out DecodeError error)
    {
        headerLength = 0;
        totalLength = 0;
        error = DecodeError.None;
        if (source.Length < 1)
        {
            return OperationStatus.NeedMoreData;
        }

        // A TSRequest is a universal, constructed SEQUENCE: tag byte 0x30.
        if (source[0] != 0x30)
        {
            error = DecodeError.UnexpectedType;
            return OperationStatus.InvalidData;
        }

        if (source.Length < 2)
        {
            return OperationStatus.NeedMoreData;
        }

        byte first = source[1];
        if (first < 0x80)
        {
            headerLength = 2;
            totalLength = 2 + first;
            return OperationStatus.Done;
        }

        int count = first & 0x7F;
        if (count == 0)
        {
            // X.690 8.1.3.6: indefinite form, never valid in DER.
            error = DecodeError.BadValue;
            return OperationStatus.InvalidData;
        }

        if (count > 3)
        {
            error = DecodeError.LengthTooLarge;
            return OperationStatus.InvalidData;
        }

        if (source.Length < 2 + count)
        {
            return OperationStatus.NeedMoreData;
        }

        int length = 0;
        for (int i = 0; i < count; i++)
        {
            length = (length << 8) | source[2 + i];
        }

        if (length > MaxLength)
        {
            error = DecodeError.LengthTooLarge;
            return OperationStatus.InvalidData;
        }

        headerLength = 2 + count;
        totalLength = headerLength + length;
        return OperationStatus.Done;
    }

    /// <summary>Reads one whole TSRequest. NeedMoreData consumes nothing; InvalidData says why in <paramref name="error"/>.</summary>
    public static OperationStatus TryRead(ReadOnlySpan<byte> source, out TsRequest? value, out int bytesConsumed, out DecodeError error)
    {
        value = null;
        bytesConsumed = 0;
        var status = TryReadFrameLength(source, out _, out int total, out error);
        if (status != OperationStatus.Done)
        {
            return status;
        }

        if (source.Length < total)
        {
            return OperationStatus.NeedMoreData;
        }

        try
        {
            value = Decode(source[..total].ToArray(), out error);
        }
        catch (AsnContentException)
        {
            error = DecodeError.BadValue;
            value = null;
        }

        if (value is null)
        {
            if (error == DecodeError.None)
            {
                error = DecodeError.BadValue;
            }

            return OperationStatus.InvalidData;
        }

        bytesConsumed = total;
        return OperationStatus.Done;
    }

    private static TsRequest? Decode(byte[] frame, out DecodeError error)
    {
        error = DecodeError.None;

        // BER on input: DER is a subset, and some peers use non-minimal length forms.
        var outer = new AsnReader(frame, AsnEncodingRules.BER);
        var seq = outer.ReadSequence();
        if (outer.HasData)
        {
            error = DecodeError.LengthMismatch;
            return null;
        }

        // version [0] is mandatory and comes first (MS-CSSP 2.2.1).
        if (!seq.HasData || seq.PeekTag() != FieldTags[0])
        {
            error = DecodeError.Truncated;
            return null;
        }

        var versionReader = seq.ReadSequence(FieldTags[0]);
        if (!versionReader.TryReadInt32(out int version) || version < 1)
        {
            error = DecodeError.BadVersion;
            return null;
        }

        versionReader.ThrowIfNotEmpty();

        var tokens = new List<byte[]>();
        byte[]? authInfo = null, pubKeyAuth = null, nonce = null;
        uint? errorCode = null;
        int lastField = 0;
        while (seq.HasData)
        {
            var tag = seq.PeekTag();
            int field = tag.TagClass == TagClass.ContextSpecific && tag.IsConstructed ? tag.TagValue : -1;

            // Fields come in ascending tag order, each at most once (X.680 SEQUENCE); unknown tags are an error in DER.
            if (field <= lastField || field > 5)
            {
                error = DecodeError.UnexpectedType;
                return null;
            }

            lastField = field;
            var inner = seq.ReadSequence(FieldTags[field]);
            switch (field)
            {
                case 1:
                    var list = inner.ReadSequence();
                    while (list.HasData)
                    {
                        var item = list.ReadSequence();
                        var tokenReader = item.ReadSequence(FieldTags[0]);
                        tokens.Add(tokenReader.ReadOctetString());
                        tokenReader.ThrowIfNotEmpty();
                        item.ThrowIfNotEmpty();
                    }

                    break;
                case 2:
                    authInfo = inner.ReadOctetString();
                    break;
                case 3:
                    pubKeyAuth = inner.ReadOctetString();
                    break;
                case 4:
                    errorCode = ReadNtStatus(inner.ReadInteger());
                    if (errorCode is null)
                    {
                        error = DecodeError.BadValue;
                        return null;
                    }

                    break;
                case 5:
                    nonce = inner.ReadOctetString();
                    if (nonce.Length != NonceLength)
                    {
                        error = DecodeError.LengthMismatch;
                        return null;
                    }

                    break;
            }

            inner.ThrowIfNotEmpty();
        }

        return new TsRequest(version, tokens, authInfo, pubKeyAuth, errorCode, nonce);
    }

    /// <summary>
    /// errorCode is an NTSTATUS in an INTEGER. Windows and FreeRDP write the 32 bits as they are (4 content bytes,
    /// so 0xC000006D reads as a negative number); a strict DER writer uses 5 bytes with a leading zero. Both mean the
    /// same 32-bit code.
    /// </summary>
    private static uint? ReadNtStatus(BigInteger value)
    {
        if (value < 0)
        {
            value += BigInteger.One << 32;
        }

        return value >= 0 && value <= uint.MaxValue ? (uint)value : null;
    }

    /// <summary>DER encoding of this TSRequest. errorCode is written as Windows does: 32 bits in 4 content bytes.</summary>
    public byte[] Encode()
    {
        var w = new AsnWriter(AsnEncodingRules.DER);
        using (w.PushSequence())
        {
            using (w.PushSequence(FieldTags[0]))
            {
                w.WriteInteger(Version);
            }

            if (NegoTokens.Count > 0)
            {
                using (w.PushSequence(FieldTags[1]))
                using (w.PushSequence())
                {
                    foreach (var token in NegoTokens)
                    {
                        using (w.PushSequence())
                        using (w.PushSequence(FieldTags[0]))
                        {
                            w.WriteOctetString(token);
                        }
                    }
                }
            }

            WriteOptionalOctets(w, 2, AuthInfo);
            WriteOptionalOctets(w, 3, PubKeyAuth);
            if (ErrorCode is { } code)
            {
                using (w.PushSequence(FieldTags[4]))
                {
                    w.WriteInteger(unchecked((int)code));
                }
            }

            WriteOptionalOctets(w, 5, ClientNonce);
        }

        return w.Encode();
    }

    private static void WriteOptionalOctets(AsnWriter w, int field, byte[]? value)
    {
        if (value is null)
        {
            return;
        }

        using (w.PushSequence(FieldTags[field]))
        {
            w.WriteOctetString(value);
        }
    }

    private static Asn1Tag Context(int n) => new(TagClass.ContextSpecific, n, isConstructed: true);

    /// <summary>The report never shows secrets; this keeps a stray log line from doing so either.</summary>
    public override string ToString()
        => $"TSRequest v{Version} (tokens: {NegoTokens.Count}, authInfo: {AuthInfo?.Length ?? 0} B, pubKeyAuth: {PubKeyAuth?.Length ?? 0} B, errorCode: {(ErrorCode is { } c ? $"0x{c:X8}" : "none")}, nonce: {(ClientNonce is null ? "no" : "yes")})";
}

/// <summary>TSCredentials credType values (MS-CSSP 2.2.1.2).</summary>
internal enum TsCredentialType
{
    Password = 1,
    SmartCard = 2,
    RemoteGuard = 6,
}

/// <summary>TSCredentials and TSPasswordCreds (MS-CSSP 2.2.1.2 / 2.2.1.2.1). Strings are UTF-16LE without a terminator.</summary>
internal static class TsCredentials
{
    /// <summary>
    /// DER of TSCredentials { credType 1, credentials = DER(TSPasswordCreds) }. The caller owns the returned buffer and
    /// should clear it once sealed: it holds the password in clear.
    /// </summary>
    public static byte[] EncodePassword(string domain, string user, string password)
    {
        var inner = new AsnWriter(AsnEncodingRules.DER);
        using (inner.PushSequence())
        {
            WriteContextOctets(inner, 0, System.Text.Encoding.Unicode.GetBytes(domain));
            WriteContextOctets(inner, 1, System.Text.Encoding.Unicode.GetBytes(user));
            WriteContextOctets(inner, 2, System.Text.Encoding.Unicode.GetBytes(password));
        }

        byte[] passwordCreds = inner.Encode();
        var outer = new AsnWriter(AsnEncodingRules.DER);
        using (outer.PushSequence())
        {
            using (outer.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 0, true)))
            {
                outer.WriteInteger((int)TsCredentialType.Password);
            }

            WriteContextOctets(outer, 1, passwordCreds);
        }

        byte[] result = outer.Encode();
        Array.Clear(passwordCreds);
        return result;
    }

    /// <summary>Reads TSCredentials back (tests and the transcript check): credType and the three password fields.</summary>
    /// <exception cref="FormatException">The bytes are not a TSCredentials with TSPasswordCreds (MS-CSSP 2.2.1.2).</exception>
    public static (TsCredentialType Type, string Domain, string User, string Password) DecodePassword(ReadOnlySpan<byte> der)
        => TryDecodePassword(der, out var value, out var error) == OperationStatus.Done
            ? value
            : throw new FormatException($"not a TSCredentials with password credentials ({error})");

    /// <summary>
    /// Reads TSCredentials (MS-CSSP 2.2.1.2) with TSPasswordCreds (2.2.1.2.1). Never throws: any DER the reader
    /// rejects, an out-of-range credType or missing field is InvalidData with a reason.
    /// </summary>
    public static OperationStatus TryDecodePassword(ReadOnlySpan<byte> der, out (TsCredentialType Type, string Domain, string User, string Password) value, out DecodeError error)
    {
        value = default;
        error = DecodeError.None;
        try
        {
            var outer = new AsnReader(der.ToArray(), AsnEncodingRules.DER).ReadSequence();
            if (!outer.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0, true)).TryReadInt32(out int type))
            {
                error = DecodeError.BadValue;
                return OperationStatus.InvalidData;
            }

            var credentials = outer.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 1, true)).ReadOctetString();
            var creds = new AsnReader(credentials, AsnEncodingRules.DER).ReadSequence();
            string Read(int n) => System.Text.Encoding.Unicode.GetString(creds.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, n, true)).ReadOctetString());
            value = ((TsCredentialType)type, Read(0), Read(1), Read(2));
            return OperationStatus.Done;
        }
        catch (AsnContentException)
        {
            // System.Formats.Asn1 reports every malformed or unexpected encoding through this one exception.
            error = DecodeError.BadValue;
            return OperationStatus.InvalidData;
        }
    }

    private static void WriteContextOctets(AsnWriter w, int n, byte[] value)
    {
        using (w.PushSequence(new Asn1Tag(TagClass.ContextSpecific, n, true)))
        {
            w.WriteOctetString(value);
        }
    }
}

/// <summary>
/// What pubKeyAuth proves (MS-CSSP 3.1.5): that both ends of the CredSSP exchange see the same TLS server key.
/// Versions 2–4 seal the key itself (the server answers with the key + 1); versions 5 and later seal a SHA-256 of a
/// magic string, the client nonce and the key (the CVE-2018-0886 fix).
/// </summary>
internal static class CredSspBinding
{
    /// <summary>MS-CSSP 3.1.5: ASCII magic including the terminating NUL (38 bytes each).</summary>
    private static ReadOnlySpan<byte> ClientToServer => "CredSSP Client-To-Server Binding Hash\0"u8;
    private static ReadOnlySpan<byte> ServerToClient => "CredSSP Server-To-Client Binding Hash\0"u8;

    public static bool UsesHash(int version) => version >= 5;

    /// <summary>The plaintext the client seals into pubKeyAuth.</summary>
    public static byte[] ClientValue(int version, ReadOnlySpan<byte> subjectPublicKey, ReadOnlySpan<byte> nonce)
        => UsesHash(version)
            ? System.Security.Cryptography.SHA256.HashData([.. ClientToServer, .. nonce, .. subjectPublicKey])
            : subjectPublicKey.ToArray();

    /// <summary>
    /// The plaintext the server must have sealed into its pubKeyAuth: the hash with the server magic (v5+), or the key
    /// incremented by one as a little-endian number, i.e. the first byte + 1 with carry (MS-CSSP 3.1.5, v2–v4).
    /// </summary>
    public static byte[] ServerValue(int version, ReadOnlySpan<byte> subjectPublicKey, ReadOnlySpan<byte> nonce)
    {
        if (UsesHash(version))
        {
            return System.Security.Cryptography.SHA256.HashData([.. ServerToClient, .. nonce, .. subjectPublicKey]);
        }

        var value = subjectPublicKey.ToArray();
        for (int i = 0; i < value.Length; i++)
        {
            if (++value[i] != 0)
            {
                break;
            }
        }

        return value;
    }
}

/// <summary>
/// Early User Authorization Result PDU (MS-RDPBCGR 2.2.10.2): with HYBRID_EX, after authInfo the server sends four
/// raw bytes over TLS (no TPKT, no DER) saying whether the authenticated user may log on over Remote Desktop.
/// </summary>
internal enum EarlyUserAuthorizationResult : uint
{
    Success = 0x00000000,
    AccessDenied = 0x00000005,
}

internal static class EarlyUserAuthorization
{
    public const int Size = 4;

    public static OperationStatus TryRead(ReadOnlySpan<byte> source, out EarlyUserAuthorizationResult value, out int bytesConsumed, out DecodeError error)
    {
        value = default;
        bytesConsumed = 0;
        error = DecodeError.None;
        if (source.Length < Size)
        {
            return OperationStatus.NeedMoreData;
        }

        uint raw = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(source);
        if (raw is not ((uint)EarlyUserAuthorizationResult.Success or (uint)EarlyUserAuthorizationResult.AccessDenied))
        {
            error = DecodeError.BadValue;
            return OperationStatus.InvalidData;
        }

        value = (EarlyUserAuthorizationResult)raw;
        bytesConsumed = Size;
        return OperationStatus.Done;
    }

    public static byte[] Encode(EarlyUserAuthorizationResult value)
    {
        var bytes = new byte[Size];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bytes, (uint)value);
        return bytes;
    }
}
