using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace RdpProbe.Protocol;

/// <summary>NTLM NegotiateFlags (MS-NLMP 2.2.2.5).</summary>
[Flags]
internal enum NtlmNegotiateFlags : uint
{
    None = 0,
    Unicode = 0x00000001,
    Oem = 0x00000002,
    RequestTarget = 0x00000004,
    Sign = 0x00000010,
    Seal = 0x00000020,
    Datagram = 0x00000040,
    LmKey = 0x00000080,
    Ntlm = 0x00000200,
    Anonymous = 0x00000800,
    OemDomainSupplied = 0x00001000,
    OemWorkstationSupplied = 0x00002000,
    AlwaysSign = 0x00008000,
    TargetTypeDomain = 0x00010000,
    TargetTypeServer = 0x00020000,
    ExtendedSessionSecurity = 0x00080000,
    Identify = 0x00100000,
    RequestNonNtSessionKey = 0x00400000,
    TargetInfo = 0x00800000,
    Version = 0x02000000,
    Negotiate128 = 0x20000000,
    KeyExchange = 0x40000000,
    Negotiate56 = 0x80000000,
}

/// <summary>NTLM message types (MS-NLMP 2.2.1).</summary>
internal enum NtlmMessageType : uint
{
    Negotiate = 1,
    Challenge = 2,
    Authenticate = 3,
}

/// <summary>AV_PAIR ids (MS-NLMP 2.2.2.1).</summary>
internal enum NtlmAvId : ushort
{
    Eol = 0,
    NbComputerName = 1,
    NbDomainName = 2,
    DnsComputerName = 3,
    DnsDomainName = 4,
    DnsTreeName = 5,
    Flags = 6,
    Timestamp = 7,
    SingleHost = 8,
    TargetName = 9,
    ChannelBindings = 10,
}

/// <summary>One AV_PAIR: id and raw value.</summary>
internal sealed record NtlmAvPair(NtlmAvId Id, byte[] Value)
{
    public string AsString() => Encoding.Unicode.GetString(Value);
}

/// <summary>The VERSION structure (MS-NLMP 2.2.2.10): the OS version of the sender; the server's reveals its build.</summary>
internal readonly record struct NtlmVersion(byte Major, byte Minor, ushort Build, byte Revision)
{
    public const int Size = 8;

    /// <summary>NTLMSSP_REVISION_W2K3 (MS-NLMP 2.2.2.10).</summary>
    public const byte RevisionW2K3 = 0x0F;

    /// <summary>What this client says it is. The value only matters to logs on the server; 10.0.20348 is Server 2022.</summary>
    public static NtlmVersion Client => new(10, 0, 20348, RevisionW2K3);

    public string ProductVersion => $"{Major}.{Minor}.{Build}";

    public static NtlmVersion Read(ReadOnlySpan<byte> source)
        => new(source[0], source[1], BinaryPrimitives.ReadUInt16LittleEndian(source[2..]), source[7]);

    public void Write(Span<byte> destination)
    {
        destination[0] = Major;
        destination[1] = Minor;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], Build);
        destination[4..7].Clear();
        destination[7] = Revision;
    }

    public override string ToString() => ProductVersion;
}

/// <summary>NTLM NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1): the client's opening; no domain or workstation is sent.</summary>
internal static class NtlmNegotiate
{
    public const int Size = 40;

    /// <summary>
    /// What mstsc and nmap send (PROTOCOL.md §3.5): 56|KEY_EXCH|128|VERSION|ESS|ALWAYS_SIGN|NTLM|LM_KEY|SEAL|SIGN|
    /// REQUEST_TARGET|OEM|UNICODE. Asking what Windows asks keeps the server on its common path.
    /// </summary>
    public const NtlmNegotiateFlags DefaultFlags = (NtlmNegotiateFlags)0xE20882B7;

    public static byte[] Encode(NtlmNegotiateFlags flags, NtlmVersion version)
    {
        var message = new byte[Size];
        Ntlm.WriteHeader(message, NtlmMessageType.Negotiate);
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(12), (uint)flags);

        // DomainNameFields and WorkstationFields stay zero: no OEM_*_SUPPLIED flag (MS-NLMP 2.2.1.1). Their offsets
        // point at the end of the fixed part, as Windows writes them.
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(20), Size);
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(28), Size);
        version.Write(message.AsSpan(32));
        return message;
    }

    public static byte[] Encode() => Encode(DefaultFlags, NtlmVersion.Client);
}

/// <summary>NTLM CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2) as decoded, with the raw bytes kept for the MIC.</summary>
internal sealed record NtlmChallenge(
    NtlmNegotiateFlags Flags,
    byte[] ServerChallenge,
    string? TargetName,
    byte[] TargetInfo,
    IReadOnlyList<NtlmAvPair> AvPairs,
    NtlmVersion? Version,
    byte[] Raw)
{
    /// <summary>Fixed part up to and including Version (MS-NLMP 2.2.1.2).</summary>
    public const int FixedSize = 56;

    /// <summary>Fixed part without the Version field; old servers end there.</summary>
    public const int MinSize = 48;

    public string? NbComputerName => Find(NtlmAvId.NbComputerName)?.AsString();
    public string? NbDomainName => Find(NtlmAvId.NbDomainName)?.AsString();
    public string? DnsComputerName => Find(NtlmAvId.DnsComputerName)?.AsString();
    public string? DnsDomainName => Find(NtlmAvId.DnsDomainName)?.AsString();
    public string? DnsTreeName => Find(NtlmAvId.DnsTreeName)?.AsString();

    /// <summary>MsvAvTimestamp (MS-NLMP 2.2.2.1): the server's clock as a FILETIME.</summary>
    public long? TimestampFileTime => Find(NtlmAvId.Timestamp) is { Value.Length: 8 } ts ? BinaryPrimitives.ReadInt64LittleEndian(ts.Value) : null;

    public DateTimeOffset? ServerTime => TimestampFileTime is { } ft && ft >= 0 && ft <= DateTimeOffset.MaxValue.ToFileTime()
        ? DateTimeOffset.FromFileTime(ft).ToUniversalTime()
        : null;

    public NtlmAvPair? Find(NtlmAvId id)
    {
        foreach (var pair in AvPairs)
        {
            if (pair.Id == id)
            {
                return pair;
            }
        }

        return null;
    }

    public static OperationStatus TryRead(ReadOnlySpan<byte> source, out NtlmChallenge? value, out int bytesConsumed, out DecodeError error)
    {
        value = null;
        bytesConsumed = 0;
        error = DecodeError.None;

        // An NTLM message is delivered whole inside a negoToken; "need more" only means the caller cut it short.
        var headerStatus = Ntlm.CheckHeader(source, NtlmMessageType.Challenge, out error);
        if (headerStatus != OperationStatus.Done)
        {
            return headerStatus;
        }

        if (source.Length < MinSize)
        {
            return OperationStatus.NeedMoreData;
        }

        var flags = (NtlmNegotiateFlags)BinaryPrimitives.ReadUInt32LittleEndian(source[20..]);
        var challenge = source.Slice(24, 8).ToArray();

        // Payload fields point anywhere after the fixed part; a pointer into the header or past the end is malformed.
        // Version is present when NEGOTIATE_VERSION is set and the payload does not start before offset 56.
        var targetNameStatus = Ntlm.TryGetField(source, 12, out var targetNameBytes, out error);
        if (targetNameStatus != OperationStatus.Done)
        {
            return targetNameStatus;
        }

        var targetInfoStatus = Ntlm.TryGetField(source, 40, out var targetInfo, out error);
        if (targetInfoStatus != OperationStatus.Done)
        {
            return targetInfoStatus;
        }

        NtlmVersion? version = null;
        if ((flags & NtlmNegotiateFlags.Version) != 0)
        {
            if (source.Length < FixedSize)
            {
                return OperationStatus.NeedMoreData;
            }

            version = NtlmVersion.Read(source[48..]);
        }

        if (!Ntlm.TryReadAvPairs(targetInfo, out var pairs, out error))
        {
            return OperationStatus.InvalidData;
        }

        // Target name is UTF-16 when NEGOTIATE_UNICODE was agreed, OEM (ASCII here) otherwise (MS-NLMP 2.2.1.2).
        string? targetName = targetNameBytes.Length == 0
            ? null
            : (flags & NtlmNegotiateFlags.Unicode) != 0 ? Encoding.Unicode.GetString(targetNameBytes) : Encoding.ASCII.GetString(targetNameBytes);

        // The message is the whole negoToken: the MIC later covers exactly these bytes (MS-NLMP 3.1.5.1.2).
        value = new NtlmChallenge(flags, challenge, targetName, targetInfo.ToArray(), pairs, version, source.ToArray());
        bytesConsumed = source.Length;
        return OperationStatus.Done;
    }

    /// <summary>Builds a CHALLENGE (tests and the scripted fake server). Version is written when given.</summary>
    public static byte[] Encode(NtlmNegotiateFlags flags, ReadOnlySpan<byte> serverChallenge, string? targetName, IReadOnlyList<NtlmAvPair> avPairs, NtlmVersion? version)
    {
        byte[] name = targetName is null ? [] : Encoding.Unicode.GetBytes(targetName);
        byte[] info = Ntlm.EncodeAvPairs(avPairs);
        var message = new byte[FixedSize + name.Length + info.Length];
        Ntlm.WriteHeader(message, NtlmMessageType.Challenge);
        Ntlm.WriteField(message, 12, name.Length, FixedSize);
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(20), (uint)flags);
        serverChallenge.CopyTo(message.AsSpan(24, 8));
        Ntlm.WriteField(message, 40, info.Length, FixedSize + name.Length);
        version?.Write(message.AsSpan(48));
        name.CopyTo(message, FixedSize);
        info.CopyTo(message, FixedSize + name.Length);
        return message;
    }
}

/// <summary>Pieces shared by the NTLM messages: header, payload fields, AV pairs (MS-NLMP 2.2).</summary>
internal static class Ntlm
{
    public static ReadOnlySpan<byte> Signature => "NTLMSSP\0"u8;

    public const int HeaderSize = 12;

    /// <summary>A payload field larger than this is not a real NTLM message (they are a few hundred bytes).</summary>
    public const int MaxFieldLength = 16 * 1024;

    public static void WriteHeader(Span<byte> destination, NtlmMessageType type)
    {
        Signature.CopyTo(destination);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], (uint)type);
    }

    /// <summary>Signature and MessageType (MS-NLMP 2.2.1): the prefix decides early when the bytes are not what we expect.</summary>
    public static OperationStatus CheckHeader(ReadOnlySpan<byte> source, NtlmMessageType expected, out DecodeError error)
    {
        error = DecodeError.None;
        int n = Math.Min(source.Length, Signature.Length);
        if (!source[..n].SequenceEqual(Signature[..n]))
        {
            error = DecodeError.UnexpectedType;
            return OperationStatus.InvalidData;
        }

        if (source.Length < HeaderSize)
        {
            return OperationStatus.NeedMoreData;
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(source[8..]) != (uint)expected)
        {
            error = DecodeError.UnexpectedType;
            return OperationStatus.InvalidData;
        }

        return OperationStatus.Done;
    }

    /// <summary>
    /// A Len/MaxLen/BufferOffset triple at <paramref name="at"/> (MS-NLMP 2.2.1). Bytes beyond the source mean
    /// NeedMoreData (a cut message); an offset into the header or an absurd length is InvalidData.
    /// </summary>
    public static OperationStatus TryGetField(ReadOnlySpan<byte> source, int at, out ReadOnlySpan<byte> field, out DecodeError error)
    {
        field = default;
        error = DecodeError.None;
        ushort length = BinaryPrimitives.ReadUInt16LittleEndian(source[at..]);
        uint offset = BinaryPrimitives.ReadUInt32LittleEndian(source[(at + 4)..]);
        if (length == 0)
        {
            return OperationStatus.Done;
        }

        if (length > MaxFieldLength || offset > MaxFieldLength * 4)
        {
            error = DecodeError.LengthTooLarge;
            return OperationStatus.InvalidData;
        }

        if (offset < HeaderSize + 8)
        {
            error = DecodeError.BadValue;
            return OperationStatus.InvalidData;
        }

        if (offset + length > source.Length)
        {
            return OperationStatus.NeedMoreData;
        }

        field = source.Slice((int)offset, length);
        return OperationStatus.Done;
    }

    public static void WriteField(Span<byte> message, int at, int length, int offset)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(message[at..], (ushort)length);
        BinaryPrimitives.WriteUInt16LittleEndian(message[(at + 2)..], (ushort)length);
        BinaryPrimitives.WriteUInt32LittleEndian(message[(at + 4)..], (uint)offset);
    }

    /// <summary>AV_PAIR list (MS-NLMP 2.2.2.1): must end with MsvAvEOL and every pair must fit.</summary>
    public static bool TryReadAvPairs(ReadOnlySpan<byte> source, out List<NtlmAvPair> pairs, out DecodeError error)
    {
        pairs = [];
        error = DecodeError.None;
        if (source.IsEmpty)
        {
            return true;
        }

        int offset = 0;
        while (true)
        {
            if (source.Length - offset < 4)
            {
                error = DecodeError.Truncated;
                return false;
            }

            var id = (NtlmAvId)BinaryPrimitives.ReadUInt16LittleEndian(source[offset..]);
            int length = BinaryPrimitives.ReadUInt16LittleEndian(source[(offset + 2)..]);
            offset += 4;
            if (id == NtlmAvId.Eol)
            {
                return true;
            }

            if (length > source.Length - offset)
            {
                error = DecodeError.LengthMismatch;
                return false;
            }

            pairs.Add(new NtlmAvPair(id, source.Slice(offset, length).ToArray()));
            offset += length;
        }
    }

    public static byte[] EncodeAvPairs(IReadOnlyList<NtlmAvPair> pairs)
    {
        if (pairs.Count == 0)
        {
            return [];
        }

        int size = 4;
        foreach (var pair in pairs)
        {
            size += 4 + pair.Value.Length;
        }

        var buffer = new byte[size];
        int offset = 0;
        foreach (var pair in pairs)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(offset), (ushort)pair.Id);
            BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(offset + 2), (ushort)pair.Value.Length);
            pair.Value.CopyTo(buffer, offset + 4);
            offset += 4 + pair.Value.Length;
        }

        // The trailing MsvAvEOL is the four zero bytes left at the end.
        return buffer;
    }

    public static NtlmAvPair StringPair(NtlmAvId id, string value) => new(id, Encoding.Unicode.GetBytes(value));
}
