using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;

namespace RdpProbe.Protocol;

/// <summary>The server's RSA key and where it came from (MS-RDPBCGR 2.2.1.4.3.1 SERVER_CERTIFICATE).</summary>
internal sealed record ServerCertificateInfo(
    bool Proprietary,
    bool Temporary,
    byte[] Modulus,
    uint Exponent,
    int CertificateCount,
    string? Subject)
{
    /// <summary>Modulus is big-endian here (the wire carries it little-endian in proprietary certificates).</summary>
    /// <summary>Nominal key size in bits (modulus bytes × 8), as key sizes are usually quoted.</summary>
    public int KeyBits => Modulus.Length * 8;

    public string Describe() => Proprietary
        ? $"proprietary certificate, RSA {KeyBits} bits{(Temporary ? ", temporary" : "")}"
        : $"X.509 chain of {CertificateCount}, RSA {KeyBits} bits{(Subject is null ? "" : $", subject {Subject}")}{(Temporary ? ", temporary" : "")}";
}

/// <summary>The keys standard RDP security derives from the two randoms (MS-RDPBCGR 5.3.5).</summary>
internal sealed record RdpSessionKeys(byte[] MacKey, byte[] EncryptKey, byte[] DecryptKey, EncryptionMethods Method)
{
    public int KeyLength => MacKey.Length;

    public override string ToString() => $"RdpSessionKeys {{ Method = {Gcc.MethodName(Method)}, KeyLength = {KeyLength} }}";
}

/// <summary>
/// Standard RDP security (MS-RDPBCGR 5.3): the server certificate, the client random encrypted with raw RSA
/// (little-endian, no padding), the session key derivation, and RC4 with the MAC per direction. RC4 and raw RSA
/// come from BouncyCastle, MD5/SHA-1 from the BCL.
/// </summary>
internal static class StandardSecurity
{
    public const int RandomLength = 32;

    private const uint CertChainVersionMask = 0x7FFFFFFF;
    private const uint TemporaryCertificate = 0x80000000;
    private const uint Rsa1Magic = 0x31415352; // "RSA1"

    /// <summary>Salt for 40- and 56-bit keys (MS-RDPBCGR 5.3.5.1).</summary>
    private static ReadOnlySpan<byte> Salt => [0xD1, 0x26, 0x9E];

    /// <summary>Reads SERVER_CERTIFICATE: version 1 proprietary (2.2.1.4.3.1.1) or version 2 X.509 chain (the last certificate holds the key).</summary>
    public static OperationStatus TryReadServerCertificate(ReadOnlySpan<byte> source, out ServerCertificateInfo? value, out DecodeError error)
    {
        value = null;
        error = DecodeError.None;
        if (source.Length < 4)
        {
            error = DecodeError.Truncated;
            return OperationStatus.InvalidData;
        }

        uint dwVersion = BinaryPrimitives.ReadUInt32LittleEndian(source);
        bool temporary = (dwVersion & TemporaryCertificate) != 0;
        switch (dwVersion & CertChainVersionMask)
        {
            case 1:
                return TryReadProprietary(source, temporary, out value, out error);
            case 2:
                return TryReadX509Chain(source, temporary, out value, out error);
            default:
                error = DecodeError.BadVersion;
                return OperationStatus.InvalidData;
        }
    }

    private static OperationStatus TryReadProprietary(ReadOnlySpan<byte> s, bool temporary, out ServerCertificateInfo? value, out DecodeError error)
    {
        value = null;
        error = DecodeError.Truncated;

        // dwVersion, dwSigAlgId, dwKeyAlgId, wPublicKeyBlobType, wPublicKeyBlobLen, then RSA_PUBLIC_KEY.
        if (s.Length < 16 + 20)
        {
            return OperationStatus.InvalidData;
        }

        int blobLength = BinaryPrimitives.ReadUInt16LittleEndian(s[14..]);
        if (BinaryPrimitives.ReadUInt16LittleEndian(s[12..]) != 0x0006 || blobLength > s.Length - 16 || blobLength < 20)
        {
            error = DecodeError.BadValue;
            return OperationStatus.InvalidData;
        }

        var key = s.Slice(16, blobLength);
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(key);
        uint keylen = BinaryPrimitives.ReadUInt32LittleEndian(key[4..]);
        uint exponent = BinaryPrimitives.ReadUInt32LittleEndian(key[16..]);

        // keylen counts the modulus plus 8 bytes of zero padding (MS-RDPBCGR 2.2.1.4.3.1.1.1).
        if (magic != Rsa1Magic || keylen < 8 + 8 || keylen > key.Length - 20 || keylen > 1024)
        {
            error = magic != Rsa1Magic ? DecodeError.BadValue : DecodeError.LengthMismatch;
            return OperationStatus.InvalidData;
        }

        var modulus = key.Slice(20, (int)keylen - 8).ToArray();
        Array.Reverse(modulus);
        modulus = TrimLeadingZeros(modulus);
        if (!IsUsableRsaKey(modulus, exponent))
        {
            error = DecodeError.BadValue;
            return OperationStatus.InvalidData;
        }

        value = new ServerCertificateInfo(true, temporary, modulus, exponent, 1, null);
        error = DecodeError.None;
        return OperationStatus.Done;
    }

    private static OperationStatus TryReadX509Chain(ReadOnlySpan<byte> s, bool temporary, out ServerCertificateInfo? value, out DecodeError error)
    {
        value = null;
        error = DecodeError.Truncated;
        if (s.Length < 8)
        {
            return OperationStatus.InvalidData;
        }

        uint count = BinaryPrimitives.ReadUInt32LittleEndian(s[4..]);
        if (count is 0 or > 16)
        {
            error = DecodeError.BadValue;
            return OperationStatus.InvalidData;
        }

        int offset = 8;
        ReadOnlySpan<byte> last = default;
        for (int i = 0; i < count; i++)
        {
            if (s.Length - offset < 4)
            {
                return OperationStatus.InvalidData;
            }

            uint length = BinaryPrimitives.ReadUInt32LittleEndian(s[offset..]);
            if (length > (uint)(s.Length - offset - 4))
            {
                error = DecodeError.LengthMismatch;
                return OperationStatus.InvalidData;
            }

            last = s.Slice(offset + 4, (int)length);
            offset += 4 + (int)length;
        }

        try
        {
            var certificate = Org.BouncyCastle.Asn1.X509.X509CertificateStructure.GetInstance(last.ToArray());
            var rsa = Org.BouncyCastle.Asn1.X509.RsaPublicKeyStructure.GetInstance(certificate.SubjectPublicKeyInfo.ParsePublicKey());
            byte[] exponentBytes = rsa.PublicExponent.ToByteArrayUnsigned();
            if (exponentBytes.Length > 4)
            {
                error = DecodeError.BadValue;
                return OperationStatus.InvalidData;
            }

            uint exponent = 0;
            foreach (byte b in exponentBytes)
            {
                exponent = (exponent << 8) | b;
            }

            byte[] x509Modulus = rsa.Modulus.ToByteArrayUnsigned();
            if (!IsUsableRsaKey(x509Modulus, exponent))
            {
                error = DecodeError.BadValue;
                return OperationStatus.InvalidData;
            }

            value = new ServerCertificateInfo(false, temporary, x509Modulus, exponent, (int)count, certificate.Subject.ToString());
            error = DecodeError.None;
            return OperationStatus.Done;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException or InvalidCastException)
        {
            // BouncyCastle reports malformed DER through these.
            error = DecodeError.BadValue;
            return OperationStatus.InvalidData;
        }
    }

    /// <summary>
    /// A key the raw RSA of the client random can use: an odd modulus larger than the 32-byte random (RDP servers use
    /// 512 bits and up; MS-RDPBCGR 5.3.4.1 encrypts the random as a number below the modulus) and an odd public
    /// exponent above 1. Anything else comes from a broken or hostile server and must not reach the RSA engine.
    /// </summary>
    private static bool IsUsableRsaKey(byte[] modulus, uint exponent)
    {
        if (modulus.Length < 64 || modulus[0] == 0 || (modulus[^1] & 1) == 0 || exponent <= 1 || (exponent & 1) == 0)
        {
            return false;
        }

        try
        {
            // BouncyCastle checks a public modulus when the key is built (small prime factors): let it judge here,
            // where a refusal is InvalidData, rather than later inside the RSA step.
            _ = new Org.BouncyCastle.Crypto.Parameters.RsaKeyParameters(false, new Org.BouncyCastle.Math.BigInteger(1, modulus),
                Org.BouncyCastle.Math.BigInteger.ValueOf(exponent));
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static byte[] TrimLeadingZeros(byte[] bigEndian)
    {
        int i = 0;
        while (i < bigEndian.Length - 1 && bigEndian[i] == 0)
        {
            i++;
        }

        return i == 0 ? bigEndian : bigEndian[i..];
    }

    /// <summary>
    /// Raw RSA of the client random (MS-RDPBCGR 5.3.4.1): the random is a little-endian number, c = m^e mod n with no
    /// padding, written back little-endian in as many bytes as the modulus has.
    /// </summary>
    public static byte[] EncryptClientRandom(ReadOnlySpan<byte> clientRandom, ServerCertificateInfo key)
    {
        var engine = new Org.BouncyCastle.Crypto.Engines.RsaEngine();
        engine.Init(true, new Org.BouncyCastle.Crypto.Parameters.RsaKeyParameters(false,
            new Org.BouncyCastle.Math.BigInteger(1, key.Modulus),
            Org.BouncyCastle.Math.BigInteger.ValueOf(key.Exponent)));
        byte[] input = clientRandom.ToArray();
        Array.Reverse(input);
        byte[] output = engine.ProcessBlock(input, 0, input.Length);
        var result = new byte[key.Modulus.Length];
        output.AsSpan().CopyTo(result.AsSpan(result.Length - output.Length));
        Array.Reverse(result);
        return result;
    }

    /// <summary>
    /// Security Exchange PDU data (MS-RDPBCGR 2.2.1.10.1): basic header SEC_EXCHANGE_PKT (with SEC_LICENSE_ENCRYPT_CS as
    /// Windows clients set it), length = encrypted random + 8, the encrypted random, 8 zero bytes.
    /// </summary>
    public static byte[] EncodeSecurityExchange(ReadOnlySpan<byte> encryptedClientRandom)
    {
        var pdu = new byte[SecurityHeader.BasicSize + 4 + encryptedClientRandom.Length + 8];
        new SecurityHeader(SecurityFlags.Exchange | SecurityFlags.LicenseEncrypt, 0).Write(pdu);
        BinaryPrimitives.WriteUInt32LittleEndian(pdu.AsSpan(4), (uint)(encryptedClientRandom.Length + 8));
        encryptedClientRandom.CopyTo(pdu.AsSpan(8));
        return pdu;
    }

    /// <summary>SaltedHash(S, I) = MD5(S ‖ SHA1(I ‖ S ‖ ClientRandom ‖ ServerRandom)) (MS-RDPBCGR 5.3.5.1).</summary>
    private static byte[] SaltedHash(ReadOnlySpan<byte> s, ReadOnlySpan<byte> i, ReadOnlySpan<byte> clientRandom, ReadOnlySpan<byte> serverRandom)
        => MD5.HashData([.. s, .. SHA1.HashData([.. i, .. s, .. clientRandom, .. serverRandom])]);

    private static byte[] Expand48(ReadOnlySpan<byte> secret, ReadOnlySpan<byte> clientRandom, ReadOnlySpan<byte> serverRandom, string a, string b, string c)
        => [.. SaltedHash(secret, System.Text.Encoding.ASCII.GetBytes(a), clientRandom, serverRandom),
            .. SaltedHash(secret, System.Text.Encoding.ASCII.GetBytes(b), clientRandom, serverRandom),
            .. SaltedHash(secret, System.Text.Encoding.ASCII.GetBytes(c), clientRandom, serverRandom)];

    /// <summary>
    /// Non-FIPS key derivation (MS-RDPBCGR 5.3.5.1): PreMasterSecret → MasterSecret ("A","BB","CCC") → SessionKeyBlob
    /// ("X","YY","ZZZ"); MAC key = first 16 bytes, client decrypt key = FinalHash(second 16), client encrypt key =
    /// FinalHash(third 16); 40- and 56-bit keys are 8 bytes with the salt over their first 3 or 1 bytes.
    /// </summary>
    public static RdpSessionKeys DeriveKeys(ReadOnlySpan<byte> clientRandom, ReadOnlySpan<byte> serverRandom, EncryptionMethods method)
    {
        if (method is not (EncryptionMethods.Bit40 or EncryptionMethods.Bit56 or EncryptionMethods.Bit128))
        {
            throw new ArgumentException($"no RC4 key derivation for method {Gcc.MethodName(method)}", nameof(method));
        }

        byte[] preMaster = [.. clientRandom[..24], .. serverRandom[..24]];
        byte[] master = Expand48(preMaster, clientRandom, serverRandom, "A", "BB", "CCC");
        byte[] blob = Expand48(master, clientRandom, serverRandom, "X", "YY", "ZZZ");
        byte[] randoms = [.. clientRandom, .. serverRandom];
        byte[] FinalHash(ReadOnlySpan<byte> k) => MD5.HashData([.. k, .. randoms]);

        byte[] mac = blob[..16];
        byte[] decrypt = FinalHash(blob.AsSpan(16, 16));
        byte[] encrypt = FinalHash(blob.AsSpan(32, 16));
        if (method == EncryptionMethods.Bit128)
        {
            return new RdpSessionKeys(mac, encrypt, decrypt, method);
        }

        int salted = method == EncryptionMethods.Bit40 ? 3 : 1;
        return new RdpSessionKeys(SaltKey(mac, salted), SaltKey(encrypt, salted), SaltKey(decrypt, salted), method);
    }

    private static byte[] SaltKey(ReadOnlySpan<byte> key, int saltBytes)
    {
        byte[] result = key[..8].ToArray();
        Salt[..saltBytes].CopyTo(result);
        return result;
    }

    private static ReadOnlySpan<byte> Pad1 => [0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36,
        0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36];

    private static ReadOnlySpan<byte> Pad2 => [0x5C, 0x5C, 0x5C, 0x5C, 0x5C, 0x5C, 0x5C, 0x5C, 0x5C, 0x5C, 0x5C, 0x5C, 0x5C, 0x5C, 0x5C, 0x5C,
        0x5C, 0x5C, 0x5C, 0x5C, 0x5C, 0x5C, 0x5C, 0x5C, 0x5C, 0x5C, 0x5C, 0x5C, 0x5C, 0x5C, 0x5C, 0x5C,
        0x5C, 0x5C, 0x5C, 0x5C, 0x5C, 0x5C, 0x5C, 0x5C, 0x5C, 0x5C, 0x5C, 0x5C, 0x5C, 0x5C, 0x5C, 0x5C];

    /// <summary>
    /// MAC signature (MS-RDPBCGR 5.3.6.1): First64(MD5(MACKey ‖ Pad2 ‖ SHA1(MACKey ‖ Pad1 ‖ LE32(len) ‖ data))); the
    /// salted variant (5.3.6.1.1, SEC_SECURE_CHECKSUM) also hashes the encryption count after the data.
    /// </summary>
    public static byte[] Mac(ReadOnlySpan<byte> macKey, ReadOnlySpan<byte> data, uint? encryptionCount = null)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)data.Length);
        Span<byte> count = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(count, encryptionCount ?? 0);
        byte[] sha = encryptionCount is null
            ? SHA1.HashData([.. macKey, .. Pad1, .. length, .. data])
            : SHA1.HashData([.. macKey, .. Pad1, .. length, .. data, .. count]);
        return MD5.HashData([.. macKey, .. Pad2, .. sha])[..8];
    }

    /// <summary>
    /// Key update after 4096 uses (MS-RDPBCGR 5.3.7): SHA1(initial ‖ Pad1 ‖ current) → MD5(initial ‖ Pad2 ‖ sha) →
    /// RC4 of that with itself, salted again for 40/56-bit.
    /// </summary>
    public static byte[] UpdateKey(ReadOnlySpan<byte> initialKey, ReadOnlySpan<byte> currentKey, EncryptionMethods method)
    {
        int n = initialKey.Length;
        byte[] sha = SHA1.HashData([.. initialKey, .. Pad1[..40], .. currentKey]);
        byte[] md5 = MD5.HashData([.. initialKey, .. Pad2[..48], .. sha]);
        byte[] temp = md5[..n];
        byte[] updated = NtlmV2.Rc4(temp, temp);
        return method switch
        {
            EncryptionMethods.Bit40 => SaltKey(updated, 3),
            EncryptionMethods.Bit56 => SaltKey(updated, 1),
            _ => updated,
        };
    }
}

/// <summary>
/// The two RC4 streams of a standard-security connection with their use counters (key update every 4096 PDUs) and
/// the MAC key. Client side: encrypts with the client encrypt key, decrypts with the client decrypt key.
/// </summary>
internal sealed class RdpCipherState
{
    private const int UpdateInterval = 4096;

    private readonly RdpSessionKeys _keys;
    private readonly Direction _out;
    private readonly Direction _in;

    public RdpCipherState(RdpSessionKeys keys, bool asServer = false)
    {
        _keys = keys;
        _out = new Direction(asServer ? keys.DecryptKey : keys.EncryptKey);
        _in = new Direction(asServer ? keys.EncryptKey : keys.DecryptKey);
    }

    public EncryptionMethods Method => _keys.Method;

    public uint EncryptCount => _out.Count;

    public uint DecryptCount => _in.Count;

    /// <summary>TS_SECURITY_HEADER1 + ciphertext: flags (SEC_ENCRYPT added), MAC over the plaintext, RC4 of the plaintext.</summary>
    public byte[] Protect(SecurityFlags flags, ReadOnlySpan<byte> plaintext)
    {
        var output = new byte[SecurityHeader.BasicSize + SecurityHeader.MacSize + plaintext.Length];
        new SecurityHeader(flags | SecurityFlags.Encrypt, 0).Write(output);
        StandardSecurity.Mac(_keys.MacKey, plaintext).CopyTo(output, SecurityHeader.BasicSize);
        _out.Apply(plaintext, output.AsSpan(SecurityHeader.BasicSize + SecurityHeader.MacSize), _keys.Method);
        return output;
    }

    /// <summary>Decrypts what follows a basic header with SEC_ENCRYPT (MAC ‖ ciphertext) and checks the MAC.</summary>
    public bool TryUnprotect(SecurityFlags flags, ReadOnlySpan<byte> macAndCiphertext, out byte[] plaintext)
    {
        plaintext = [];
        if (macAndCiphertext.Length < SecurityHeader.MacSize)
        {
            return false;
        }

        uint count = _in.Count;
        var plain = new byte[macAndCiphertext.Length - SecurityHeader.MacSize];
        _in.Apply(macAndCiphertext[SecurityHeader.MacSize..], plain, _keys.Method);
        byte[] expected = (flags & SecurityFlags.SecureChecksum) != 0
            ? StandardSecurity.Mac(_keys.MacKey, plain, count)
            : StandardSecurity.Mac(_keys.MacKey, plain);
        if (!CryptographicOperations.FixedTimeEquals(expected, macAndCiphertext[..SecurityHeader.MacSize]))
        {
            return false;
        }

        plaintext = plain;
        return true;
    }

    private sealed class Direction
    {
        private readonly byte[] _initialKey;
        private byte[] _currentKey;
        private Org.BouncyCastle.Crypto.Engines.RC4Engine _rc4;

        public Direction(byte[] key)
        {
            _initialKey = key;
            _currentKey = key;
            _rc4 = NtlmV2.NewRc4(key);
        }

        public uint Count { get; private set; }

        public void Apply(ReadOnlySpan<byte> input, Span<byte> output, EncryptionMethods method)
        {
            if (Count > 0 && Count % UpdateInterval == 0)
            {
                _currentKey = StandardSecurity.UpdateKey(_initialKey, _currentKey, method);
                _rc4 = NtlmV2.NewRc4(_currentKey);
            }

            var buffer = new byte[input.Length];
            _rc4.ProcessBytes(input.ToArray(), 0, input.Length, buffer, 0);
            buffer.CopyTo(output);
            Count++;
        }
    }
}
