using System.Buffers;
using System.Formats.Asn1;

namespace RdpProbe.Protocol;

/// <summary>The mechanism OIDs a Windows client offers in SPNEGO (MS-SPNG 3.1.5.2, RFC 4178 §4.1).</summary>
internal static class SpnegoMechs
{
    /// <summary>The SPNEGO pseudo-mechanism itself (RFC 4178 §3): thisMech of the initial token.</summary>
    public const string Spnego = "1.3.6.1.5.5.2";

    /// <summary>Kerberos 5 under Microsoft's legacy OID (MS-KILE 3.1.5.2 note: Windows lists it first).</summary>
    public const string MsKrb5 = "1.2.840.48018.1.2.2";

    /// <summary>Kerberos 5 GSS-API mechanism (RFC 4121 §1, RFC 1964).</summary>
    public const string Krb5 = "1.2.840.113554.1.2.2";

    /// <summary>NEGOEX (MS-NEGOEX 1.9); recognised in a server's list, never offered by the probe.</summary>
    public const string NegoEx = "1.3.6.1.4.1.311.2.2.30";

    /// <summary>NTLM Security Support Provider (MS-NLMP 1.9).</summary>
    public const string Ntlm = "1.3.6.1.4.1.311.2.2.10";

    /// <summary>
    /// What the probe offers, in Windows' order: MS KRB5, KRB5, then NTLM (a Windows 10/11 client puts NEGOEX between
    /// KRB5 and NTLM; the probe does not speak NEGOEX, so it leaves it out rather than advertise what it cannot do).
    /// </summary>
    public static IReadOnlyList<string> KerberosThenNtlm { get; } = [MsKrb5, Krb5, Ntlm];

    public static bool IsKerberos(string? oid) => oid is MsKrb5 or Krb5;

    /// <summary>Report word for a mechanism OID (an unknown one is its dotted OID).</summary>
    public static string Name(string? oid) => oid switch
    {
        MsKrb5 => "ms_krb5",
        Krb5 => "krb5",
        Ntlm => "ntlm",
        NegoEx => "negoex",
        null => "none",
        _ => oid,
    };
}

/// <summary>negState of a NegTokenResp (RFC 4178 §4.2.2).</summary>
internal enum SpnegoNegState
{
    AcceptCompleted = 0,
    AcceptIncomplete = 1,
    Reject = 2,
    RequestMic = 3,
}

/// <summary>
/// NegTokenInit (RFC 4178 §4.2.1; MS-SPNG 2.2.1 NegTokenInit2 adds negHints [3] and moves mechListMIC to [4] when a
/// server sends it). The client's first token travels inside the GSS-API framing (RFC 2743 §3.1): [APPLICATION 0]
/// { thisMech 1.3.6.1.5.5.2, [0] NegTokenInit }.
/// <code>
/// NegTokenInit ::= SEQUENCE { mechTypes [0] MechTypeList, reqFlags [1] ContextFlags OPTIONAL,
///                             mechToken [2] OCTET STRING OPTIONAL, mechListMIC [3] OCTET STRING OPTIONAL }
/// </code>
/// </summary>
internal sealed record SpnegoInit(IReadOnlyList<string> MechTypes, byte[]? MechToken = null, byte[]? MechListMic = null)
{
    /// <summary>The framed initial token (what the client puts in the first TSRequest.negoTokens).</summary>
    public byte[] Encode()
    {
        var w = new AsnWriter(AsnEncodingRules.DER);
        using (w.PushSequence(Spnego.Application0))
        {
            w.WriteObjectIdentifier(SpnegoMechs.Spnego);
            using (w.PushSequence(Spnego.Context(0)))
            using (w.PushSequence())
            {
                using (w.PushSequence(Spnego.Context(0)))
                {
                    Spnego.WriteMechTypeList(w, MechTypes);
                }

                Spnego.WriteOptionalOctets(w, 2, MechToken);
                Spnego.WriteOptionalOctets(w, 3, MechListMic);
            }
        }

        return w.Encode();
    }

    public override string ToString() => $"NegTokenInit [{string.Join(", ", MechTypes.Select(SpnegoMechs.Name))}], mechToken {MechToken?.Length ?? 0} B";
}

/// <summary>
/// NegTokenResp (RFC 4178 §4.2.2): every token after the client's first, in both directions.
/// <code>
/// NegTokenResp ::= SEQUENCE { negState [0] ENUMERATED OPTIONAL, supportedMech [1] MechType OPTIONAL,
///                             responseToken [2] OCTET STRING OPTIONAL, mechListMIC [3] OCTET STRING OPTIONAL }
/// </code>
/// </summary>
internal sealed record SpnegoResp(SpnegoNegState? NegState, string? SupportedMech = null, byte[]? ResponseToken = null, byte[]? MechListMic = null)
{
    /// <summary>[1] NegTokenResp, unframed (RFC 4178 §4.2: only the initial token carries the GSS-API framing).</summary>
    public byte[] Encode()
    {
        var w = new AsnWriter(AsnEncodingRules.DER);
        using (w.PushSequence(Spnego.Context(1)))
        using (w.PushSequence())
        {
            if (NegState is { } state)
            {
                using (w.PushSequence(Spnego.Context(0)))
                {
                    w.WriteEnumeratedValue(state);
                }
            }

            if (SupportedMech is { } mech)
            {
                using (w.PushSequence(Spnego.Context(1)))
                {
                    w.WriteObjectIdentifier(mech);
                }
            }

            Spnego.WriteOptionalOctets(w, 2, ResponseToken);
            Spnego.WriteOptionalOctets(w, 3, MechListMic);
        }

        return w.Encode();
    }

    public override string ToString()
        => $"NegTokenResp {(NegState is { } s ? Spnego.StateName(s) : "without negState")}, supportedMech {SpnegoMechs.Name(SupportedMech)}, responseToken {ResponseToken?.Length ?? 0} B, mechListMIC {(MechListMic is null ? "no" : "yes")}";
}

/// <summary>A decoded SPNEGO token: exactly one of the two.</summary>
internal sealed record SpnegoToken(SpnegoInit? Init, SpnegoResp? Resp);

/// <summary>SPNEGO token reader (RFC 4178 §4.2) over System.Formats.Asn1.</summary>
internal static class Spnego
{
    /// <summary>A real token carries one Kerberos AP-REQ or NTLM message (a PAC-laden ticket is a few KiB).</summary>
    public const int MaxLength = TsRequest.MaxLength;

    /// <summary>More mechanisms than anyone offers; a longer list is refused rather than collected.</summary>
    public const int MaxMechTypes = 16;

    internal static readonly Asn1Tag Application0 = new(TagClass.Application, 0, isConstructed: true);

    internal static Asn1Tag Context(int n) => new(TagClass.ContextSpecific, n, isConstructed: true);

    public static string StateName(SpnegoNegState state) => state switch
    {
        SpnegoNegState.AcceptCompleted => "accept-completed",
        SpnegoNegState.AcceptIncomplete => "accept-incomplete",
        SpnegoNegState.Reject => "reject",
        SpnegoNegState.RequestMic => "request-mic",
        _ => $"negState {(int)state}",
    };

    /// <summary>
    /// DER of a MechTypeList (RFC 4178 §4.2.1): what mechListMIC is computed over — the list exactly as the initiator
    /// sent it (§5), so both sides must encode it the same way.
    /// </summary>
    public static byte[] EncodeMechTypeList(IReadOnlyList<string> mechTypes)
    {
        var w = new AsnWriter(AsnEncodingRules.DER);
        WriteMechTypeList(w, mechTypes);
        return w.Encode();
    }

    internal static void WriteMechTypeList(AsnWriter w, IReadOnlyList<string> mechTypes)
    {
        using (w.PushSequence())
        {
            foreach (var oid in mechTypes)
            {
                w.WriteObjectIdentifier(oid);
            }
        }
    }

    internal static void WriteOptionalOctets(AsnWriter w, int field, byte[]? value)
    {
        if (value is null)
        {
            return;
        }

        using (w.PushSequence(Context(field)))
        {
            w.WriteOctetString(value);
        }
    }

    /// <summary>
    /// Reads one SPNEGO token: the framed initial token (0x60, NegTokenInit), or an unframed [0] NegTokenInit or
    /// [1] NegTokenResp. NeedMoreData when <paramref name="source"/> is a prefix of a token (nothing consumed);
    /// InvalidData with a reason otherwise. Never throws.
    /// </summary>
    public static OperationStatus TryRead(ReadOnlySpan<byte> source, out SpnegoToken? value, out int bytesConsumed, out DecodeError error)
    {
        value = null;
        bytesConsumed = 0;
        error = DecodeError.None;
        if (source.Length == 0)
        {
            return OperationStatus.NeedMoreData;
        }

        if (source[0] is not (0x60 or 0xA0 or 0xA1))
        {
            error = DecodeError.UnexpectedType;
            return OperationStatus.InvalidData;
        }

        var status = TryReadExtent(source, out int total, out error);
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
            // System.Formats.Asn1 reports every malformed encoding (bad lengths, bad OIDs, wrong tags) this one way.
            value = null;
            error = DecodeError.BadValue;
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

    /// <summary>Tag and length of the outer element (X.690 8.1.2–8.1.3); indefinite and over-long lengths are refused.</summary>
    private static OperationStatus TryReadExtent(ReadOnlySpan<byte> source, out int total, out DecodeError error)
    {
        total = 0;
        error = DecodeError.None;
        if (source.Length < 2)
        {
            return OperationStatus.NeedMoreData;
        }

        byte first = source[1];
        if (first < 0x80)
        {
            total = 2 + first;
            return OperationStatus.Done;
        }

        int count = first & 0x7F;
        if (count is 0 or > 3)
        {
            error = count == 0 ? DecodeError.BadValue : DecodeError.LengthTooLarge;
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

        total = 2 + count + length;
        return OperationStatus.Done;
    }

    private static SpnegoToken? Decode(byte[] token, out DecodeError error)
    {
        error = DecodeError.None;
        var outer = new AsnReader(token, AsnEncodingRules.DER);
        var tag = outer.PeekTag();
        AsnReader choice;
        if (tag == Application0)
        {
            var framed = outer.ReadSequence(Application0);
            if (framed.ReadObjectIdentifier() != SpnegoMechs.Spnego)
            {
                error = DecodeError.UnexpectedType;
                return null;
            }

            choice = framed;
        }
        else
        {
            choice = outer;
        }

        var choiceTag = choice.PeekTag();
        bool init = choiceTag == Context(0);

        // RFC 4178 §4.2: the framing only ever wraps a NegTokenInit.
        if (!init && (choiceTag != Context(1) || tag == Application0))
        {
            error = DecodeError.UnexpectedType;
            return null;
        }

        var wrapper = choice.ReadSequence(choiceTag);
        var body = wrapper.ReadSequence();
        if (wrapper.HasData)
        {
            error = DecodeError.LengthMismatch;
            return null;
        }

        var result = init ? new SpnegoToken(ReadInit(body, out error), null) : new SpnegoToken(null, ReadResp(body, out error));
        if (choice.HasData || outer.HasData)
        {
            error = DecodeError.LengthMismatch;
            return null;
        }

        return result.Init is null && result.Resp is null ? null : result;
    }

    private static SpnegoInit? ReadInit(AsnReader seq, out DecodeError error)
    {
        error = DecodeError.None;
        if (!seq.HasData || seq.PeekTag() != Context(0))
        {
            // mechTypes is the one mandatory field.
            error = DecodeError.Truncated;
            return null;
        }

        var list = seq.ReadSequence(Context(0)).ReadSequence();
        var mechs = new List<string>();
        while (list.HasData)
        {
            if (mechs.Count == MaxMechTypes)
            {
                error = DecodeError.LengthTooLarge;
                return null;
            }

            mechs.Add(list.ReadObjectIdentifier());
        }

        byte[]? mechToken = null, mic = null;
        int last = 0;
        while (seq.HasData)
        {
            var t = seq.PeekTag();
            int field = t.TagClass == TagClass.ContextSpecific && t.IsConstructed ? t.TagValue : -1;
            if (field <= last || field > 4)
            {
                error = DecodeError.UnexpectedType;
                return null;
            }

            last = field;
            var inner = seq.ReadSequence(Context(field));
            switch (field)
            {
                case 1:
                    inner.ReadBitString(out _);
                    break;
                case 2:
                    mechToken = inner.ReadOctetString();
                    break;
                case 3 when inner.PeekTag() == Asn1Tag.Sequence:
                    // MS-SPNG 2.2.1 NegTokenInit2: negHints [3] (hintName, hintAddress), not used here.
                    inner.ReadSequence();
                    break;
                case 3:
                case 4:
                    mic = inner.ReadOctetString();
                    break;
            }

            inner.ThrowIfNotEmpty();
        }

        return new SpnegoInit(mechs, mechToken, mic);
    }

    private static SpnegoResp? ReadResp(AsnReader seq, out DecodeError error)
    {
        error = DecodeError.None;
        SpnegoNegState? state = null;
        string? mech = null;
        byte[]? response = null, mic = null;
        int last = -1;
        while (seq.HasData)
        {
            var t = seq.PeekTag();
            int field = t.TagClass == TagClass.ContextSpecific && t.IsConstructed ? t.TagValue : -1;
            if (field <= last || field > 3)
            {
                error = DecodeError.UnexpectedType;
                return null;
            }

            last = field;
            var inner = seq.ReadSequence(Context(field));
            switch (field)
            {
                case 0:
                    var raw = inner.ReadEnumeratedBytes();
                    if (raw.Length != 1 || raw.Span[0] > (byte)SpnegoNegState.RequestMic)
                    {
                        error = DecodeError.BadValue;
                        return null;
                    }

                    state = (SpnegoNegState)raw.Span[0];
                    break;
                case 1:
                    mech = inner.ReadObjectIdentifier();
                    break;
                case 2:
                    response = inner.ReadOctetString();
                    break;
                case 3:
                    mic = inner.ReadOctetString();
                    break;
            }

            inner.ThrowIfNotEmpty();
        }

        return new SpnegoResp(state, mech, response, mic);
    }
}
