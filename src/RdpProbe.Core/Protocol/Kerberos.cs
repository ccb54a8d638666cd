using System.Buffers;
using System.Buffers.Binary;
using System.Formats.Asn1;
using System.Globalization;
using System.Text;

namespace RdpProbe.Protocol;

/// <summary>Kerberos message types (RFC 4120 §5.10: the APPLICATION tag numbers and msg-type values).</summary>
public enum KerberosMessageType
{
    AsRequest = 10,
    AsReply = 11,
    TgsRequest = 12,
    TgsReply = 13,
    Error = 30,
}

/// <summary>One ETYPE-INFO2-ENTRY (RFC 4120 §5.2.7.5): a key the KDC holds for the client, and its salt.</summary>
public sealed record KerberosEtypeInfo(int Etype, string? Salt);

/// <summary>
/// A KRB-ERROR (RFC 4120 §5.9.1) as far as a client needs it without keys: the code, the KDC's clock (stime, susec),
/// the realm and service it speaks for, its text, and from e-data the pre-authentication types it asks for and the
/// ETYPE-INFO2 entries (the encryption types of the keys it holds for the account).
/// </summary>
public sealed record KerberosError(
    int ErrorCode,
    DateTimeOffset ServerTime,
    string Realm,
    string ServiceName,
    string? ClientName,
    string? Text,
    IReadOnlyList<int> PreauthTypes,
    IReadOnlyList<KerberosEtypeInfo> EtypeInfo)
{
    /// <summary>The RFC 4120 §7.5.9 name, e.g. KDC_ERR_PREAUTH_REQUIRED.</summary>
    public string Name => Kerberos.ErrorName(ErrorCode);
}

/// <summary>
/// A KDC reply: a KRB-ERROR, or an AS-REP/TGS-REP (RFC 4120 §5.4.2) of which only the clear parts are read: the
/// ticket's encryption type (the service's key) and the enc-part's (the reply key: the client's key or the TGS
/// session key). Nothing is decrypted here.
/// </summary>
public sealed record KerberosReply(KerberosMessageType Type, KerberosError? Error, string? ClientRealm, int? TicketEtype, int? EncPartEtype);

/// <summary>What the probe puts into its own AS-REQ (RFC 4120 §5.4.1); no pre-authentication, so no key is needed.</summary>
public sealed record KerberosAsRequest(string User, string Realm, IReadOnlyList<int> Etypes, uint Nonce, DateTimeOffset Till);

/// <summary>
/// The Kerberos V5 messages the kerberos phase exchanges in clear (RFC 4120 §5): its own AS-REQ without
/// pre-authentication, and the KDC's answer (KRB-ERROR, AS-REP, TGS-REP), plus the TCP record marking (§7.2.2) and the
/// clear parts of a Ticket (§5.3). DER through System.Formats.Asn1; no cryptography.
/// </summary>
public static class Kerberos
{
    /// <summary>RFC 4120 §7.2.2: each message over TCP is preceded by its length in 4 bytes, big-endian.</summary>
    public const int TcpLengthSize = 4;

    /// <summary>Largest reply the probe accepts (a KDC reply with a PAC is a few kB; 64 kB leaves room, and bounds memory).</summary>
    public const int MaxMessageLength = 65536;

    /// <summary>Kerberos principal name types (RFC 4120 §6.2).</summary>
    public const int NtPrincipal = 1, NtSrvInst = 2;

    /// <summary>PA-DATA types (RFC 4120 §7.5.2; RFC 6113 for FX-FAST).</summary>
    public const int PaEncTimestamp = 2, PaEtypeInfo = 11, PaEtypeInfo2 = 19, PaPacRequest = 128, PaFxFast = 136;

    /// <summary>Error codes (RFC 4120 §7.5.9) the kerberos phase names.</summary>
    public const int KdcErrCPrincipalUnknown = 6, KdcErrSPrincipalUnknown = 7, KdcErrEtypeNoSupport = 14,
        KdcErrClientRevoked = 18, KdcErrKeyExpired = 23, KdcErrPreauthFailed = 24, KdcErrPreauthRequired = 25,
        KrbApErrSkew = 37;

    private static readonly Asn1Tag GeneralString = new(UniversalTagNumber.GeneralString);

    /// <summary>The AS-REQ of RFC 4120 §5.4.1 for krbtgt/REALM with no padata, DER-encoded.</summary>
    public static byte[] EncodeAsRequest(KerberosAsRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence(new Asn1Tag(TagClass.Application, (int)KerberosMessageType.AsRequest, isConstructed: true)))
        using (writer.PushSequence())
        {
            WriteExplicitInteger(writer, 1, 5);
            WriteExplicitInteger(writer, 2, (int)KerberosMessageType.AsRequest);
            using (writer.PushSequence(Context(4)))
            using (writer.PushSequence())
            {
                // kdc-options: forwardable (1), renewable (8), canonicalize (15), renewable-ok (27) — what Windows asks.
                using (writer.PushSequence(Context(0)))
                {
                    writer.WriteBitString([0x40, 0x81, 0x00, 0x10]);
                }

                using (writer.PushSequence(Context(1)))
                {
                    WritePrincipalName(writer, NtPrincipal, [request.User]);
                }

                using (writer.PushSequence(Context(2)))
                {
                    WriteGeneralString(writer, request.Realm);
                }

                using (writer.PushSequence(Context(3)))
                {
                    WritePrincipalName(writer, NtSrvInst, ["krbtgt", request.Realm]);
                }

                using (writer.PushSequence(Context(5)))
                {
                    WriteKerberosTime(writer, request.Till);
                }

                using (writer.PushSequence(Context(7)))
                {
                    writer.WriteInteger(request.Nonce);
                }

                using (writer.PushSequence(Context(8)))
                using (writer.PushSequence())
                {
                    foreach (int etype in request.Etypes)
                    {
                        writer.WriteInteger(etype);
                    }
                }
            }
        }

        return writer.Encode();
    }

    /// <summary>Prepends the 4-byte length of RFC 4120 §7.2.2.</summary>
    public static byte[] FrameForTcp(ReadOnlySpan<byte> message)
    {
        byte[] framed = new byte[TcpLengthSize + message.Length];
        BinaryPrimitives.WriteUInt32BigEndian(framed, (uint)message.Length);
        message.CopyTo(framed.AsSpan(TcpLengthSize));
        return framed;
    }

    /// <summary>
    /// Reads the record marking of RFC 4120 §7.2.2: Done with the message's length when the 4 bytes are there (the
    /// message itself may still be incomplete), InvalidData when the reserved high bit is set or the length is 0 or
    /// larger than <see cref="MaxMessageLength"/>.
    /// </summary>
    public static OperationStatus TryReadTcpLength(ReadOnlySpan<byte> source, out int messageLength, out DecodeError error)
    {
        messageLength = 0;
        error = DecodeError.None;
        if (source.Length < TcpLengthSize)
        {
            return OperationStatus.NeedMoreData;
        }

        uint length = BinaryPrimitives.ReadUInt32BigEndian(source);
        if ((length & 0x80000000) != 0 || length == 0 || length > MaxMessageLength)
        {
            error = length == 0 ? DecodeError.LengthTooSmall : DecodeError.LengthTooLarge;
            return OperationStatus.InvalidData;
        }

        messageLength = (int)length;
        return OperationStatus.Done;
    }

    /// <summary>
    /// Reads one KDC reply (a whole DER element): KRB-ERROR, AS-REP or TGS-REP. NeedMoreData while the element is
    /// incomplete, InvalidData for anything else or a malformed element.
    /// </summary>
    public static OperationStatus TryReadReply(ReadOnlySpan<byte> source, out KerberosReply? value, out int bytesConsumed, out DecodeError error)
    {
        value = null;
        bytesConsumed = 0;
        var status = TryFrame(source, out int tagNumber, out int total, out error);
        if (status != OperationStatus.Done)
        {
            return status;
        }

        try
        {
            var reader = new AsnReader(source[..total].ToArray(), AsnEncodingRules.DER);
            value = tagNumber switch
            {
                (int)KerberosMessageType.Error => ReadError(reader) is { } krbError ? new KerberosReply(KerberosMessageType.Error, krbError, null, null, null) : null,
                (int)KerberosMessageType.AsReply or (int)KerberosMessageType.TgsReply => ReadKdcReply(reader, (KerberosMessageType)tagNumber),
                _ => null,
            };
        }
        catch (Exception e) when (e is AsnContentException or FormatException or ArgumentException or OverflowException or DecoderFallbackException)
        {
            value = null;
        }

        if (value is null)
        {
            error = DecodeError.BadValue;
            return OperationStatus.InvalidData;
        }

        bytesConsumed = total;
        return OperationStatus.Done;
    }

    /// <summary>The clear parts of a Ticket (RFC 4120 §5.3): its realm, service name and the encryption type of its enc-part.</summary>
    public static OperationStatus TryReadTicket(ReadOnlySpan<byte> source, out int etype, out string? service, out int bytesConsumed)
    {
        etype = 0;
        service = null;
        bytesConsumed = 0;
        var status = TryFrame(source, out int tagNumber, out int total, out _);
        if (status != OperationStatus.Done)
        {
            return status;
        }

        if (tagNumber != 1)
        {
            return OperationStatus.InvalidData;
        }

        try
        {
            var reader = new AsnReader(source[..total].ToArray(), AsnEncodingRules.DER);
            (etype, service) = ReadTicket(reader);
        }
        catch (Exception e) when (e is AsnContentException or FormatException or ArgumentException or OverflowException or DecoderFallbackException)
        {
            return OperationStatus.InvalidData;
        }

        bytesConsumed = total;
        return OperationStatus.Done;
    }

    /// <summary>The error codes <see cref="ErrorName"/> names (RFC 4120 §7.5.9).</summary>
    public static IReadOnlyList<int> KnownErrorCodes { get; } = [0, 1, 2, 3, 6, 7, 8, 9, 12, 13, 14, 18, 19, 20, 21, 23, 24, 25, 31, 32, 37, 41, 60, 68];

    /// <summary>RFC 4120 §7.5.9 names (with the common MS-KILE usage); unknown codes as KRB_ERROR_n.</summary>
    public static string ErrorName(int code) => code switch
    {
        0 => "KDC_ERR_NONE",
        1 => "KDC_ERR_NAME_EXP",
        2 => "KDC_ERR_SERVICE_EXP",
        3 => "KDC_ERR_BAD_PVNO",
        6 => "KDC_ERR_C_PRINCIPAL_UNKNOWN",
        7 => "KDC_ERR_S_PRINCIPAL_UNKNOWN",
        8 => "KDC_ERR_PRINCIPAL_NOT_UNIQUE",
        9 => "KDC_ERR_NULL_KEY",
        12 => "KDC_ERR_POLICY",
        13 => "KDC_ERR_BADOPTION",
        14 => "KDC_ERR_ETYPE_NOSUPP",
        18 => "KDC_ERR_CLIENT_REVOKED",
        19 => "KDC_ERR_SERVICE_REVOKED",
        20 => "KDC_ERR_TGT_REVOKED",
        21 => "KDC_ERR_CLIENT_NOTYET",
        23 => "KDC_ERR_KEY_EXPIRED",
        24 => "KDC_ERR_PREAUTH_FAILED",
        25 => "KDC_ERR_PREAUTH_REQUIRED",
        31 => "KRB_AP_ERR_BAD_INTEGRITY",
        32 => "KRB_AP_ERR_TKT_EXPIRED",
        37 => "KRB_AP_ERR_SKEW",
        41 => "KRB_AP_ERR_MODIFIED",
        60 => "KRB_ERR_GENERIC",
        68 => "KDC_ERR_WRONG_REALM",
        _ => "KRB_ERROR_" + code.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>Encryption type names (RFC 3961 §8, RFC 3962, RFC 4757, RFC 8009).</summary>
    public static string EtypeName(int etype) => etype switch
    {
        1 => "des-cbc-crc",
        3 => "des-cbc-md5",
        16 => "des3-cbc-sha1",
        17 => "aes128-cts-hmac-sha1-96",
        18 => "aes256-cts-hmac-sha1-96",
        19 => "aes128-cts-hmac-sha256-128",
        20 => "aes256-cts-hmac-sha384-192",
        23 => "rc4-hmac",
        24 => "rc4-hmac-exp",
        25 => "camellia128-cts-cmac",
        26 => "camellia256-cts-cmac",
        _ => "etype-" + etype.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>The etype number of a name as krb5.conf spells it (RFC 3961 §8 and MIT's aliases); null when unknown.</summary>
    public static int? EtypeFromName(string name) => name.Trim().ToLowerInvariant() switch
    {
        "aes256-cts-hmac-sha1-96" or "aes256-cts" or "aes256-sha1" => 18,
        "aes128-cts-hmac-sha1-96" or "aes128-cts" or "aes128-sha1" => 17,
        "aes256-cts-hmac-sha384-192" or "aes256-sha2" => 20,
        "aes128-cts-hmac-sha256-128" or "aes128-sha2" => 19,
        "arcfour-hmac" or "rc4-hmac" or "arcfour-hmac-md5" => 23,
        "des3-cbc-sha1" or "des3-hmac-sha1" or "des3-cbc-sha1-kd" => 16,
        "camellia256-cts-cmac" or "camellia256-cts" => 26,
        "camellia128-cts-cmac" or "camellia128-cts" => 25,
        "des-cbc-md5" => 3,
        "des-cbc-crc" => 1,
        _ => null,
    };

    /// <summary>
    /// Whole-element framing: the identifier and length octets (X.690 §8.1.2-8.1.3) and whether the element is all there.
    /// Only the long forms a Kerberos message needs (up to 4 length octets) are accepted; indefinite lengths are not DER.
    /// </summary>
    private static OperationStatus TryFrame(ReadOnlySpan<byte> source, out int tagNumber, out int total, out DecodeError error)
    {
        tagNumber = 0;
        total = 0;
        error = DecodeError.None;
        if (source.IsEmpty)
        {
            return OperationStatus.NeedMoreData;
        }

        byte identifier = source[0];
        // APPLICATION class, constructed, low tag number form (the message tags are 1..30).
        if ((identifier & 0xE0) != 0x60 || (identifier & 0x1F) == 0x1F)
        {
            error = DecodeError.UnexpectedType;
            return OperationStatus.InvalidData;
        }

        tagNumber = identifier & 0x1F;
        if (source.Length < 2)
        {
            return OperationStatus.NeedMoreData;
        }

        int length;
        int header;
        byte first = source[1];
        if (first < 0x80)
        {
            length = first;
            header = 2;
        }
        else
        {
            int count = first & 0x7F;
            if (count is 0 or > 4)
            {
                error = DecodeError.BadValue;
                return OperationStatus.InvalidData;
            }

            if (source.Length < 2 + count)
            {
                return OperationStatus.NeedMoreData;
            }

            long value = 0;
            for (int i = 0; i < count; i++)
            {
                value = (value << 8) | source[2 + i];
            }

            if (value > MaxMessageLength)
            {
                error = DecodeError.LengthTooLarge;
                return OperationStatus.InvalidData;
            }

            length = (int)value;
            header = 2 + count;
        }

        total = header + length;
        if (source.Length < total)
        {
            return OperationStatus.NeedMoreData;
        }

        return OperationStatus.Done;
    }

    // KRB-ERROR ::= [APPLICATION 30] SEQUENCE { pvno [0], msg-type [1], ctime [2] OPT, cusec [3] OPT, stime [4],
    //   susec [5], error-code [6], crealm [7] OPT, cname [8] OPT, realm [9], sname [10], e-text [11] OPT, e-data [12] OPT }
    private static KerberosError? ReadError(AsnReader outer)
    {
        var app = outer.ReadSequence(new Asn1Tag(TagClass.Application, 30, isConstructed: true));
        outer.ThrowIfNotEmpty();
        var seq = app.ReadSequence();
        app.ThrowIfNotEmpty();
        if (ReadExplicitInt(seq, 0) != 5 || ReadExplicitInt(seq, 1) != (int)KerberosMessageType.Error)
        {
            return null;
        }

        SkipOptional(seq, 2);
        SkipOptional(seq, 3);
        DateTimeOffset stime = ReadExplicitTime(seq, 4);
        int susec = ReadExplicitInt(seq, 5);
        if (susec is < 0 or > 999999)
        {
            return null;
        }

        int code = ReadExplicitInt(seq, 6);
        SkipOptional(seq, 7);
        string? client = null;
        if (Peek(seq, 8))
        {
            client = ReadPrincipalName(seq.ReadSequence(Context(8)));
        }

        string realm = ReadExplicitGeneralString(seq, 9);
        string service = ReadPrincipalName(seq.ReadSequence(Context(10)));
        string? text = Peek(seq, 11) ? ReadExplicitGeneralString(seq, 11) : null;
        var preauth = new List<int>();
        var etypes = new List<KerberosEtypeInfo>();
        if (Peek(seq, 12))
        {
            var holder = seq.ReadSequence(Context(12));
            byte[] data = holder.ReadOctetString();
            holder.ThrowIfNotEmpty();
            ReadMethodData(data, preauth, etypes);
        }

        seq.ThrowIfNotEmpty();
        return new KerberosError(code, stime.AddTicks(susec * 10L), realm, service, client, text, preauth, etypes);
    }

    // e-data of KDC_ERR_PREAUTH_REQUIRED: METHOD-DATA ::= SEQUENCE OF PA-DATA (RFC 4120 §5.9.1, §5.2.7). Other errors
    // may carry other e-data (MS-KILE 2.2.2 KERB-ERROR-DATA, a TYPED-DATA): not a METHOD-DATA, so nothing is taken.
    private static void ReadMethodData(byte[] data, List<int> preauth, List<KerberosEtypeInfo> etypes)
    {
        try
        {
            var reader = new AsnReader(data, AsnEncodingRules.DER);
            var list = reader.ReadSequence();
            reader.ThrowIfNotEmpty();
            var types = new List<int>();
            var infos = new List<KerberosEtypeInfo>();
            while (list.HasData)
            {
                var pa = list.ReadSequence();
                int type = ReadExplicitInt(pa, 1);
                // MIT omits padata-value [2] for an empty value in some builds; RFC 4120 makes it mandatory.
                byte[] value = Peek(pa, 2) ? ReadExplicitOctets(pa, 2) : [];
                pa.ThrowIfNotEmpty();
                types.Add(type);
                if (type == PaEtypeInfo2 && value.Length > 0)
                {
                    ReadEtypeInfo2(value, infos);
                }
            }

            preauth.AddRange(types);
            etypes.AddRange(infos);
        }
        catch (AsnContentException)
        {
            // Not a METHOD-DATA: leave both lists empty.
        }
    }

    // ETYPE-INFO2 ::= SEQUENCE SIZE (1..MAX) OF ETYPE-INFO2-ENTRY { etype [0], salt [1] OPT, s2kparams [2] OPT } (§5.2.7.5).
    private static void ReadEtypeInfo2(byte[] value, List<KerberosEtypeInfo> infos)
    {
        var reader = new AsnReader(value, AsnEncodingRules.DER);
        var list = reader.ReadSequence();
        reader.ThrowIfNotEmpty();
        while (list.HasData)
        {
            var entry = list.ReadSequence();
            int etype = ReadExplicitInt(entry, 0);
            string? salt = Peek(entry, 1) ? ReadExplicitGeneralString(entry, 1) : null;
            SkipOptional(entry, 2);
            entry.ThrowIfNotEmpty();
            infos.Add(new KerberosEtypeInfo(etype, salt));
        }
    }

    // KDC-REP ::= SEQUENCE { pvno [0], msg-type [1], padata [2] OPT, crealm [3], cname [4], ticket [5], enc-part [6] }.
    private static KerberosReply? ReadKdcReply(AsnReader outer, KerberosMessageType type)
    {
        var app = outer.ReadSequence(new Asn1Tag(TagClass.Application, (int)type, isConstructed: true));
        outer.ThrowIfNotEmpty();
        var seq = app.ReadSequence();
        app.ThrowIfNotEmpty();
        if (ReadExplicitInt(seq, 0) != 5 || ReadExplicitInt(seq, 1) != (int)type)
        {
            return null;
        }

        SkipOptional(seq, 2);
        string realm = ReadExplicitGeneralString(seq, 3);
        ReadPrincipalName(seq.ReadSequence(Context(4)));
        var ticketHolder = seq.ReadSequence(Context(5));
        var (ticketEtype, _) = ReadTicket(ticketHolder);
        ticketHolder.ThrowIfNotEmpty();
        int encEtype = ReadEncryptedDataEtype(seq.ReadSequence(Context(6)));
        seq.ThrowIfNotEmpty();
        return new KerberosReply(type, null, realm, ticketEtype, encEtype);
    }

    // Ticket ::= [APPLICATION 1] SEQUENCE { tkt-vno [0], realm [1], sname [2], enc-part [3] EncryptedData }.
    private static (int Etype, string Service) ReadTicket(AsnReader reader)
    {
        var app = reader.ReadSequence(new Asn1Tag(TagClass.Application, 1, isConstructed: true));
        var seq = app.ReadSequence();
        app.ThrowIfNotEmpty();
        if (ReadExplicitInt(seq, 0) != 5)
        {
            throw new AsnContentException("tkt-vno is not 5");
        }

        string realm = ReadExplicitGeneralString(seq, 1);
        string service = ReadPrincipalName(seq.ReadSequence(Context(2)));
        int etype = ReadEncryptedDataEtype(seq.ReadSequence(Context(3)));
        seq.ThrowIfNotEmpty();
        return (etype, service + "@" + realm);
    }

    // EncryptedData ::= SEQUENCE { etype [0] Int32, kvno [1] UInt32 OPT, cipher [2] OCTET STRING } (§5.2.9).
    private static int ReadEncryptedDataEtype(AsnReader holder)
    {
        var seq = holder.ReadSequence();
        holder.ThrowIfNotEmpty();
        int etype = ReadExplicitInt(seq, 0);
        SkipOptional(seq, 1);
        ReadExplicitOctets(seq, 2);
        seq.ThrowIfNotEmpty();
        return etype;
    }

    // PrincipalName ::= SEQUENCE { name-type [0] Int32, name-string [1] SEQUENCE OF KerberosString } (§5.2.2).
    private static string ReadPrincipalName(AsnReader holder)
    {
        var seq = holder.ReadSequence();
        holder.ThrowIfNotEmpty();
        ReadExplicitInt(seq, 0);
        var namesHolder = seq.ReadSequence(Context(1));
        var names = namesHolder.ReadSequence();
        namesHolder.ThrowIfNotEmpty();
        seq.ThrowIfNotEmpty();
        var parts = new List<string>();
        while (names.HasData)
        {
            parts.Add(ReadGeneralString(names));
        }

        return string.Join('/', parts);
    }

    private static Asn1Tag Context(int n) => new(TagClass.ContextSpecific, n, isConstructed: true);

    private static bool Peek(AsnReader reader, int context) => reader.HasData && reader.PeekTag().HasSameClassAndValue(Context(context));

    private static void SkipOptional(AsnReader reader, int context)
    {
        if (Peek(reader, context))
        {
            reader.ReadEncodedValue();
        }
    }

    private static int ReadExplicitInt(AsnReader reader, int context)
    {
        var holder = reader.ReadSequence(Context(context));
        if (!holder.TryReadInt32(out int value))
        {
            throw new AsnContentException("integer out of range");
        }

        holder.ThrowIfNotEmpty();
        return value;
    }

    private static byte[] ReadExplicitOctets(AsnReader reader, int context)
    {
        var holder = reader.ReadSequence(Context(context));
        byte[] value = holder.ReadOctetString();
        holder.ThrowIfNotEmpty();
        return value;
    }

    private static string ReadExplicitGeneralString(AsnReader reader, int context)
    {
        var holder = reader.ReadSequence(Context(context));
        string value = ReadGeneralString(holder);
        holder.ThrowIfNotEmpty();
        return value;
    }

    // KerberosString ::= GeneralString (IA5String) (§5.2.1); read as bytes, UTF-8 as MIT and Windows send it.
    private static string ReadGeneralString(AsnReader reader)
    {
        var tag = reader.PeekTag();
        if (!tag.HasSameClassAndValue(GeneralString) || tag.IsConstructed)
        {
            throw new AsnContentException("not a GeneralString");
        }

        ReadOnlyMemory<byte> encoded = reader.ReadEncodedValue();
        AsnDecoder.ReadEncodedValue(encoded.Span, AsnEncodingRules.DER, out int contentOffset, out int contentLength, out _);
        return new UTF8Encoding(false, true).GetString(encoded.Span.Slice(contentOffset, contentLength));
    }

    // KerberosTime ::= GeneralizedTime "YYYYMMDDHHMMSSZ", no fractions (§5.2.3).
    private static DateTimeOffset ReadExplicitTime(AsnReader reader, int context)
    {
        var holder = reader.ReadSequence(Context(context));
        var value = holder.ReadGeneralizedTime();
        holder.ThrowIfNotEmpty();
        return value;
    }

    private static void WriteExplicitInteger(AsnWriter writer, int context, int value)
    {
        using (writer.PushSequence(Context(context)))
        {
            writer.WriteInteger(value);
        }
    }

    private static void WritePrincipalName(AsnWriter writer, int nameType, IReadOnlyList<string> names)
    {
        using (writer.PushSequence())
        {
            WriteExplicitInteger(writer, 0, nameType);
            using (writer.PushSequence(Context(1)))
            using (writer.PushSequence())
            {
                foreach (string name in names)
                {
                    WriteGeneralString(writer, name);
                }
            }
        }
    }

    private static void WriteGeneralString(AsnWriter writer, string value)
    {
        // GeneralString has no AsnWriter support; write identifier, DER length and the UTF-8 bytes as one encoded value.
        byte[] content = Encoding.UTF8.GetBytes(value);
        var inner = new AsnWriter(AsnEncodingRules.DER);
        inner.WriteOctetString(content);
        byte[] encoded = inner.Encode();
        encoded[0] = 0x1B; // universal 27, primitive
        writer.WriteEncodedValue(encoded);
    }

    private static void WriteKerberosTime(AsnWriter writer, DateTimeOffset time)
        => writer.WriteGeneralizedTime(new DateTimeOffset(time.UtcDateTime.Ticks / TimeSpan.TicksPerSecond * TimeSpan.TicksPerSecond, TimeSpan.Zero), omitFractionalSeconds: true);
}
