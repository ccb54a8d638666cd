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
    /// What mstsc and nmap send (flags of MS-NLMP 2.2.2.5): 56|KEY_EXCH|128|VERSION|ESS|ALWAYS_SIGN|NTLM|LM_KEY|SEAL|SIGN|
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

/// <summary>
/// NTLMv2 computations (MS-NLMP 3.3.2) and the key derivations of 3.4.5. MD4 and RC4 come from BouncyCastle, HMAC-MD5
/// and MD5 from the BCL: nothing here is a hand-written primitive.
/// </summary>
internal static class NtlmV2
{
    /// <summary>MS-NLMP 3.4.5.2 / 3.4.5.3 magic constants, each including its terminating NUL.</summary>
    private static ReadOnlySpan<byte> ClientSignMagic => "session key to client-to-server signing key magic constant\0"u8;
    private static ReadOnlySpan<byte> ServerSignMagic => "session key to server-to-client signing key magic constant\0"u8;
    private static ReadOnlySpan<byte> ClientSealMagic => "session key to client-to-server sealing key magic constant\0"u8;
    private static ReadOnlySpan<byte> ServerSealMagic => "session key to server-to-client sealing key magic constant\0"u8;

    /// <summary>NT hash = MD4(UNICODE(password)) (MS-NLMP 3.3.1 NTOWFv1, the input of NTOWFv2).</summary>
    public static byte[] NtHash(string password)
    {
        byte[] unicode = Encoding.Unicode.GetBytes(password);
        var md4 = new Org.BouncyCastle.Crypto.Digests.MD4Digest();
        md4.BlockUpdate(unicode, 0, unicode.Length);
        var hash = new byte[16];
        md4.DoFinal(hash, 0);
        Array.Clear(unicode);
        return hash;
    }

    /// <summary>NTOWFv2 = HMAC_MD5(MD4(UNICODE(Passwd)), UNICODE(Uppercase(User) ‖ UserDom)) (MS-NLMP 3.3.2); the domain keeps its case.</summary>
    public static byte[] Ntowfv2(string password, string user, string domain)
    {
        byte[] ntHash = NtHash(password);
        byte[] result = System.Security.Cryptography.HMACMD5.HashData(ntHash, Encoding.Unicode.GetBytes(user.ToUpperInvariant() + domain));
        Array.Clear(ntHash);
        return result;
    }

    /// <summary>
    /// The NTLMv2_CLIENT_CHALLENGE, "temp" in MS-NLMP 3.3.2: RespType 1, HiRespType 1, Z(6), Time,
    /// ClientChallenge, Z(4), ServerName (the AV pairs, EOL included), Z(4).
    /// </summary>
    public static byte[] ClientChallengeBlob(long timestamp, ReadOnlySpan<byte> clientChallenge, ReadOnlySpan<byte> targetInfo)
    {
        var temp = new byte[28 + targetInfo.Length + 4];
        temp[0] = 1;
        temp[1] = 1;
        BinaryPrimitives.WriteInt64LittleEndian(temp.AsSpan(8), timestamp);
        clientChallenge.CopyTo(temp.AsSpan(16, 8));
        targetInfo.CopyTo(temp.AsSpan(28));
        return temp;
    }

    /// <summary>NTProofStr = HMAC_MD5(ResponseKeyNT, ServerChallenge ‖ temp) (MS-NLMP 3.3.2).</summary>
    public static byte[] NtProofStr(ReadOnlySpan<byte> responseKeyNt, ReadOnlySpan<byte> serverChallenge, ReadOnlySpan<byte> temp)
        => System.Security.Cryptography.HMACMD5.HashData(responseKeyNt, [.. serverChallenge, .. temp]);

    /// <summary>LMv2 response = HMAC_MD5(ResponseKeyLM, ServerChallenge ‖ ClientChallenge) ‖ ClientChallenge (MS-NLMP 3.3.2).</summary>
    public static byte[] LmV2Response(ReadOnlySpan<byte> responseKeyLm, ReadOnlySpan<byte> serverChallenge, ReadOnlySpan<byte> clientChallenge)
        => [.. System.Security.Cryptography.HMACMD5.HashData(responseKeyLm, [.. serverChallenge, .. clientChallenge]), .. clientChallenge];

    /// <summary>SessionBaseKey = HMAC_MD5(ResponseKeyNT, NTProofStr); for NTLMv2 it is also the KeyExchangeKey (MS-NLMP 3.3.2, 3.4.5.1).</summary>
    public static byte[] SessionBaseKey(ReadOnlySpan<byte> responseKeyNt, ReadOnlySpan<byte> ntProofStr)
        => System.Security.Cryptography.HMACMD5.HashData(responseKeyNt, ntProofStr);

    /// <summary>One-shot RC4 (MS-NLMP 6, RC4K), used for EncryptedRandomSessionKey.</summary>
    public static byte[] Rc4(ReadOnlySpan<byte> key, ReadOnlySpan<byte> data)
    {
        var engine = NewRc4(key);
        var output = new byte[data.Length];
        engine.ProcessBytes(data.ToArray(), 0, data.Length, output, 0);
        return output;
    }

    internal static Org.BouncyCastle.Crypto.Engines.RC4Engine NewRc4(ReadOnlySpan<byte> key)
    {
        var engine = new Org.BouncyCastle.Crypto.Engines.RC4Engine();
        engine.Init(true, new Org.BouncyCastle.Crypto.Parameters.KeyParameter(key.ToArray()));
        return engine;
    }

    /// <summary>SIGNKEY (MS-NLMP 3.4.5.2) with extended session security.</summary>
    public static byte[] SignKey(ReadOnlySpan<byte> exportedSessionKey, bool clientToServer)
        => System.Security.Cryptography.MD5.HashData([.. exportedSessionKey, .. (clientToServer ? ClientSignMagic : ServerSignMagic)]);

    /// <summary>
    /// SEALKEY (MS-NLMP 3.4.5.3) with extended session security: the session key is cut to 16 (NEGOTIATE_128),
    /// 7 (NEGOTIATE_56) or 5 bytes before hashing with the magic constant.
    /// </summary>
    public static byte[] SealKey(ReadOnlySpan<byte> exportedSessionKey, NtlmNegotiateFlags flags, bool clientToServer)
    {
        int length = (flags & NtlmNegotiateFlags.Negotiate128) != 0 ? 16 : (flags & NtlmNegotiateFlags.Negotiate56) != 0 ? 7 : 5;
        return System.Security.Cryptography.MD5.HashData([.. exportedSessionKey[..length], .. (clientToServer ? ClientSealMagic : ServerSealMagic)]);
    }
}

/// <summary>
/// NTLM session security after AUTHENTICATE (MS-NLMP 3.4.3–3.4.4) for connection-oriented use with extended session
/// security and key exchange: one RC4 state per direction, keyed once and never reset, and a sequence number per
/// direction. CredSSP seals pubKeyAuth and authInfo with it.
/// </summary>
internal sealed class NtlmSession
{
    public const int SignatureSize = 16;

    private readonly Org.BouncyCastle.Crypto.Engines.RC4Engine _sealOut;
    private readonly Org.BouncyCastle.Crypto.Engines.RC4Engine _sealIn;

    private readonly byte[] _signOut;
    private readonly byte[] _signIn;

    /// <summary>
    /// Keys for one side. <paramref name="asServer"/> swaps the directions: the scripted fake server and the tests use
    /// it to play the server's half of the exchange.
    /// </summary>
    public NtlmSession(ReadOnlySpan<byte> exportedSessionKey, NtlmNegotiateFlags flags, bool asServer = false)
    {
        ClientSignKey = NtlmV2.SignKey(exportedSessionKey, clientToServer: true);
        ServerSignKey = NtlmV2.SignKey(exportedSessionKey, clientToServer: false);
        ClientSealKey = NtlmV2.SealKey(exportedSessionKey, flags, clientToServer: true);
        ServerSealKey = NtlmV2.SealKey(exportedSessionKey, flags, clientToServer: false);
        _sealOut = NtlmV2.NewRc4(asServer ? ServerSealKey : ClientSealKey);
        _sealIn = NtlmV2.NewRc4(asServer ? ClientSealKey : ServerSealKey);
        _signOut = asServer ? ServerSignKey : ClientSignKey;
        _signIn = asServer ? ClientSignKey : ServerSignKey;
        _sealKeyOut = asServer ? ServerSealKey : ClientSealKey;
        _sealKeyIn = asServer ? ClientSealKey : ServerSealKey;
    }

    private readonly byte[] _sealKeyOut;
    private readonly byte[] _sealKeyIn;

    /// <summary>
    /// The SPNEGO mechListMIC over NTLM (RFC 4178 §5): an NTLM signature (MS-NLMP 3.4.4.2) of <paramref name="message"/>
    /// with the next sequence number. MS-SPNG 3.3.5.1: the RC4 handle is put back to its state before the MIC, so the
    /// first message the application seals sees the same RC4 state; the MIC comes before anything is sealed, so that
    /// state is the fresh handle. The sequence number still advances.
    /// </summary>
    public byte[] Sign(ReadOnlySpan<byte> message)
    {
        var signature = new byte[SignatureSize];
        WriteSignature(signature, _signOut, NtlmV2.NewRc4(_sealKeyOut), SendSequence, message);
        SendSequence++;
        return signature;
    }

    /// <summary>Checks the peer's mechListMIC the same way (<see cref="Sign"/>); false when it does not verify.</summary>
    public bool Verify(ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        Span<byte> expected = stackalloc byte[SignatureSize];
        WriteSignature(expected, _signIn, NtlmV2.NewRc4(_sealKeyIn), ReceiveSequence, message);
        ReceiveSequence++;
        return signature.Length == SignatureSize && System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(expected, signature);
    }

    public byte[] ClientSignKey { get; }
    public byte[] ServerSignKey { get; }
    public byte[] ClientSealKey { get; }
    public byte[] ServerSealKey { get; }

    /// <summary>Next sequence number this side sends.</summary>
    public uint SendSequence { get; private set; }

    /// <summary>Next sequence number expected from the peer.</summary>
    public uint ReceiveSequence { get; private set; }

    /// <summary>
    /// SEAL (MS-NLMP 3.4.3): RC4 the message, then HMAC_MD5(SignKey, SeqNum ‖ Message)[0..7] through the same RC4 state
    /// (3.4.4.2 with key exchange). Returns what CredSSP sends: the 16-byte signature followed by the sealed message.
    /// </summary>
    public byte[] Seal(ReadOnlySpan<byte> message)
    {
        var output = new byte[SignatureSize + message.Length];
        _sealOut.ProcessBytes(message.ToArray(), 0, message.Length, output, SignatureSize);
        WriteSignature(output.AsSpan(0, SignatureSize), _signOut, _sealOut, SendSequence, message);
        SendSequence++;
        return output;
    }

    /// <summary>Unseals a peer buffer (signature ‖ sealed message) and checks its signature; false when it does not verify.</summary>
    public bool TryUnseal(ReadOnlySpan<byte> sealedBuffer, out byte[] message)
    {
        message = [];
        if (sealedBuffer.Length < SignatureSize)
        {
            return false;
        }

        var plain = new byte[sealedBuffer.Length - SignatureSize];
        _sealIn.ProcessBytes(sealedBuffer[SignatureSize..].ToArray(), 0, plain.Length, plain, 0);
        Span<byte> expected = stackalloc byte[SignatureSize];
        WriteSignature(expected, _signIn, _sealIn, ReceiveSequence, plain);
        ReceiveSequence++;
        if (!System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(expected, sealedBuffer[..SignatureSize]))
        {
            return false;
        }

        message = plain;
        return true;
    }

    /// <summary>NTLMSSP_MESSAGE_SIGNATURE with extended session security (MS-NLMP 2.2.2.9.2): Version 1, Checksum(8), SeqNum.</summary>
    private static void WriteSignature(Span<byte> signature, byte[] signKey, Org.BouncyCastle.Crypto.Engines.RC4Engine rc4, uint sequence, ReadOnlySpan<byte> message)
    {
        Span<byte> seq = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(seq, sequence);
        byte[] mac = System.Security.Cryptography.HMACMD5.HashData(signKey, (byte[])[.. seq, .. message]);
        var checksum = new byte[8];
        rc4.ProcessBytes(mac, 0, 8, checksum, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(signature, 1);
        checksum.CopyTo(signature[4..]);
        seq.CopyTo(signature[12..]);
    }
}

/// <summary>Everything the AUTHENTICATE message depends on, made explicit so the spec's test vectors can be replayed.</summary>
internal sealed record NtlmAuthenticateInput(
    string Domain,
    string User,
    string Password,
    string Workstation,
    byte[] ClientChallenge,
    byte[] ExportedSessionKey,
    long? Timestamp = null,
    NtlmNegotiateFlags? Flags = null,
    NtlmVersion? Version = null)
{
    public override string ToString() => $"NtlmAuthenticateInput {{ User = {Domain}\\{User}, Password = *** }}";
}

/// <summary>The AUTHENTICATE message and the intermediate values MS-NLMP 4.2.4 publishes, for the tests.</summary>
internal sealed record NtlmAuthenticateResult(
    byte[] Message,
    byte[] ResponseKeyNt,
    byte[] NtProofStr,
    byte[] SessionBaseKey,
    byte[] EncryptedRandomSessionKey,
    byte[] LmChallengeResponse,
    byte[] NtChallengeResponse,
    byte[]? Mic,
    NtlmNegotiateFlags Flags,
    NtlmSession Session);

/// <summary>NTLM AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3) built per 3.1.5.1.2 with NTLMv2 (3.3.2).</summary>
internal static class NtlmAuthenticate
{
    /// <summary>Fixed part: header, six payload fields, NegotiateFlags, Version (MS-NLMP 2.2.1.3).</summary>
    public const int FixedSize = 72;

    public const int MicSize = 16;

    /// <summary>MsvAvFlags bit 0x2: "the client is providing message integrity in the MIC field" (MS-NLMP 2.2.2.1).</summary>
    private const uint AvFlagMicPresent = 0x2;

    /// <summary>
    /// Builds AUTHENTICATE for <paramref name="challenge"/>. When the server sent MsvAvTimestamp (every server since
    /// Vista), the client answers as MS-NLMP 3.1.5.1.2 asks: the server's time in the blob, Z(24) as LM response,
    /// MsvAvFlags with MIC present, an empty channel binding, and the MIC over all three messages.
    /// </summary>
    public static NtlmAuthenticateResult Create(ReadOnlySpan<byte> negotiate, NtlmChallenge challenge, NtlmAuthenticateInput input)
    {
        long? serverTime = challenge.TimestampFileTime;
        bool withMic = serverTime is not null;
        long timestamp = input.Timestamp ?? serverTime ?? DateTimeOffset.UtcNow.ToFileTime();

        byte[] targetInfo = challenge.TargetInfo;
        if (withMic)
        {
            var pairs = new List<NtlmAvPair>();
            uint avFlags = AvFlagMicPresent;
            foreach (var pair in challenge.AvPairs)
            {
                if (pair.Id == NtlmAvId.Flags && pair.Value.Length == 4)
                {
                    avFlags |= BinaryPrimitives.ReadUInt32LittleEndian(pair.Value);
                }
                else if (pair.Id != NtlmAvId.ChannelBindings)
                {
                    pairs.Add(pair);
                }
            }

            var flagBytes = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(flagBytes, avFlags);
            pairs.Add(new NtlmAvPair(NtlmAvId.Flags, flagBytes));

            // No TLS channel binding in CredSSP (pubKeyAuth binds the key instead): an all-zero hash says so (MS-NLMP 3.1.5.1.2).
            pairs.Add(new NtlmAvPair(NtlmAvId.ChannelBindings, new byte[16]));
            targetInfo = Ntlm.EncodeAvPairs(pairs);
        }

        byte[] responseKeyNt = NtlmV2.Ntowfv2(input.Password, input.User, input.Domain);
        byte[] temp = NtlmV2.ClientChallengeBlob(timestamp, input.ClientChallenge, targetInfo);
        byte[] ntProofStr = NtlmV2.NtProofStr(responseKeyNt, challenge.ServerChallenge, temp);
        byte[] ntResponse = [.. ntProofStr, .. temp];
        byte[] lmResponse = withMic ? new byte[24] : NtlmV2.LmV2Response(responseKeyNt, challenge.ServerChallenge, input.ClientChallenge);
        byte[] sessionBaseKey = NtlmV2.SessionBaseKey(responseKeyNt, ntProofStr);

        var flags = input.Flags ?? AgreedFlags(challenge.Flags);
        byte[] exportedSessionKey;
        byte[] encryptedKey;
        if ((flags & NtlmNegotiateFlags.KeyExchange) != 0)
        {
            exportedSessionKey = input.ExportedSessionKey;
            encryptedKey = NtlmV2.Rc4(sessionBaseKey, exportedSessionKey);
        }
        else
        {
            exportedSessionKey = sessionBaseKey;
            encryptedKey = [];
        }

        byte[] domain = Encoding.Unicode.GetBytes(input.Domain);
        byte[] user = Encoding.Unicode.GetBytes(input.User);
        byte[] workstation = Encoding.Unicode.GetBytes(input.Workstation);

        // Payload order as Windows writes it: domain, user, workstation, LM, NT, session key.
        int offset = FixedSize + (withMic ? MicSize : 0);
        var message = new byte[offset + domain.Length + user.Length + workstation.Length + lmResponse.Length + ntResponse.Length + encryptedKey.Length];
        Ntlm.WriteHeader(message, NtlmMessageType.Authenticate);
        offset = Put(message, 28, domain, offset);
        offset = Put(message, 36, user, offset);
        offset = Put(message, 44, workstation, offset);
        offset = Put(message, 12, lmResponse, offset);
        offset = Put(message, 20, ntResponse, offset);
        Put(message, 52, encryptedKey, offset);
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(60), (uint)flags);
        (input.Version ?? NtlmVersion.Client).Write(message.AsSpan(64));

        byte[]? mic = null;
        if (withMic)
        {
            // MIC = HMAC_MD5(ExportedSessionKey, NEGOTIATE ‖ CHALLENGE ‖ AUTHENTICATE with a zero MIC) (MS-NLMP 3.1.5.1.2).
            mic = System.Security.Cryptography.HMACMD5.HashData(exportedSessionKey, (byte[])[.. negotiate, .. challenge.Raw, .. message]);
            mic.CopyTo(message, FixedSize);
        }

        return new NtlmAuthenticateResult(message, responseKeyNt, ntProofStr, sessionBaseKey, encryptedKey, lmResponse, ntResponse, mic, flags,
            new NtlmSession(exportedSessionKey, flags));
    }

    /// <summary>
    /// The flags of AUTHENTICATE: what the server granted, less the target-type bits that only a CHALLENGE carries, and
    /// OEM dropped once Unicode is agreed (MS-NLMP 3.1.5.1.2).
    /// </summary>
    public static NtlmNegotiateFlags AgreedFlags(NtlmNegotiateFlags challengeFlags)
    {
        var flags = challengeFlags & ~(NtlmNegotiateFlags.TargetTypeDomain | NtlmNegotiateFlags.TargetTypeServer);
        if ((flags & NtlmNegotiateFlags.Unicode) != 0)
        {
            flags &= ~NtlmNegotiateFlags.Oem;
        }

        return flags | NtlmNegotiateFlags.Version;
    }

    private static int Put(byte[] message, int field, byte[] value, int offset)
    {
        Ntlm.WriteField(message, field, value.Length, offset);
        value.CopyTo(message, offset);
        return offset + value.Length;
    }
}
