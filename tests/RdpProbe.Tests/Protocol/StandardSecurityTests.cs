using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.Protocol;

public sealed class StandardSecurityTests
{
    private static readonly byte[] ClientRandom = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
    private static readonly byte[] ServerRandom = Enumerable.Range(101, 32).Select(i => (byte)i).ToArray();

    /// <summary>A fresh RSA key as BouncyCastle parameters, for certificates built field by field.</summary>
    internal static Org.BouncyCastle.Crypto.AsymmetricCipherKeyPair NewKey(int bits = 512)
    {
        var generator = new Org.BouncyCastle.Crypto.Generators.RsaKeyPairGenerator();
        generator.Init(new Org.BouncyCastle.Crypto.Parameters.RsaKeyGenerationParameters(
            Org.BouncyCastle.Math.BigInteger.ValueOf(65537), new Org.BouncyCastle.Security.SecureRandom(), bits, 16));
        return generator.GenerateKeyPair();
    }

    /// <summary>PROPRIETARYSERVERCERTIFICATE (MS-RDPBCGR 2.2.1.4.3.1.1) around a key: modulus little-endian plus 8 zero bytes.</summary>
    internal static byte[] ProprietaryCertificate(Org.BouncyCastle.Crypto.Parameters.RsaKeyParameters key)
    {
        byte[] modulus = key.Modulus.ToByteArrayUnsigned();
        Array.Reverse(modulus);
        int keylen = modulus.Length + 8;
        var cert = new byte[16 + 20 + keylen + 4 + 72];
        var s = cert.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(s, 1);          // CERT_CHAIN_VERSION_1
        BinaryPrimitives.WriteUInt32LittleEndian(s[4..], 1);     // SIGNATURE_ALG_RSA
        BinaryPrimitives.WriteUInt32LittleEndian(s[8..], 1);     // KEY_EXCHANGE_ALG_RSA
        BinaryPrimitives.WriteUInt16LittleEndian(s[12..], 6);    // BB_RSA_KEY_BLOB
        BinaryPrimitives.WriteUInt16LittleEndian(s[14..], (ushort)(20 + keylen));
        "RSA1"u8.CopyTo(s[16..]);
        BinaryPrimitives.WriteUInt32LittleEndian(s[20..], (uint)keylen);
        BinaryPrimitives.WriteUInt32LittleEndian(s[24..], (uint)(modulus.Length * 8));
        BinaryPrimitives.WriteUInt32LittleEndian(s[28..], (uint)(modulus.Length - 1));
        BinaryPrimitives.WriteUInt32LittleEndian(s[32..], (uint)key.Exponent.IntValue);
        modulus.CopyTo(s[36..]);
        BinaryPrimitives.WriteUInt16LittleEndian(s[(36 + keylen)..], 8); // BB_RSA_SIGNATURE_BLOB
        BinaryPrimitives.WriteUInt16LittleEndian(s[(38 + keylen)..], 72);
        return cert;
    }

    /// <summary>What the server does with the Security Exchange PDU: raw RSA decryption, little-endian.</summary>
    internal static byte[] DecryptClientRandom(Org.BouncyCastle.Crypto.AsymmetricKeyParameter privateKey, ReadOnlySpan<byte> encryptedLittleEndian)
    {
        var engine = new Org.BouncyCastle.Crypto.Engines.RsaEngine();
        engine.Init(false, privateKey);
        byte[] input = encryptedLittleEndian.ToArray();
        Array.Reverse(input);
        byte[] output = engine.ProcessBlock(input, 0, input.Length);
        Array.Reverse(output);
        var random = new byte[32];
        output.AsSpan(0, Math.Min(32, output.Length)).CopyTo(random);
        return random;
    }

    [Fact]
    public void Proprietary_certificate_yields_the_key_and_the_client_random_survives_raw_rsa()
    {
        var pair = NewKey();
        var publicKey = (Org.BouncyCastle.Crypto.Parameters.RsaKeyParameters)pair.Public;
        Assert.Equal(OperationStatus.Done, StandardSecurity.TryReadServerCertificate(ProprietaryCertificate(publicKey), out var cert, out _));
        Assert.True(cert!.Proprietary);
        Assert.Equal(512, cert.KeyBits);
        Assert.Equal(65537u, cert.Exponent);

        byte[] encrypted = StandardSecurity.EncryptClientRandom(ClientRandom, cert);
        Assert.Equal(64, encrypted.Length);
        Assert.Equal(ClientRandom, DecryptClientRandom(pair.Private, encrypted));
    }

    [Fact]
    public void X509_chain_takes_the_key_of_the_last_certificate()
    {
        using var rsa = RSA.Create(1024);
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=rdp-server", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var x509 = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        byte[] der = x509.RawData;
        var chain = new byte[8 + 2 * (4 + der.Length)];
        BinaryPrimitives.WriteUInt32LittleEndian(chain, 0x80000002); // CERT_CHAIN_VERSION_2, temporary
        BinaryPrimitives.WriteUInt32LittleEndian(chain.AsSpan(4), 2);
        for (int i = 0; i < 2; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(chain.AsSpan(8 + i * (4 + der.Length)), (uint)der.Length);
            der.CopyTo(chain, 12 + i * (4 + der.Length));
        }

        Assert.Equal(OperationStatus.Done, StandardSecurity.TryReadServerCertificate(chain, out var cert, out _));
        Assert.False(cert!.Proprietary);
        Assert.True(cert.Temporary);
        Assert.Equal(2, cert.CertificateCount);
        Assert.Equal(rsa.ExportParameters(false).Modulus, cert.Modulus);
        Assert.Contains("rdp-server", cert.Subject, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("03000000", DecodeError.BadVersion)]
    [InlineData("01000000", DecodeError.Truncated)]
    [InlineData("0200000000000000", DecodeError.BadValue)]            // zero certificates
    [InlineData("020000000100000010000000AABB", DecodeError.LengthMismatch)]
    [InlineData("0200000001000000020000003000", DecodeError.BadValue)] // not DER
    public void Malformed_certificates_are_invalid(string hex, DecodeError expected)
    {
        Assert.Equal(OperationStatus.InvalidData, StandardSecurity.TryReadServerCertificate(Convert.FromHexString(hex), out var value, out var error));
        Assert.Null(value);
        Assert.Equal(expected, error);
    }

    [Fact]
    public void Key_derivation_follows_5_3_5_1_step_by_step()
    {
        var keys = StandardSecurity.DeriveKeys(ClientRandom, ServerRandom, EncryptionMethods.Bit128);

        // The same chain written out independently with the BCL.
        byte[] Salted(byte[] s, string i) => MD5.HashData([.. s, .. SHA1.HashData([.. System.Text.Encoding.ASCII.GetBytes(i), .. s, .. ClientRandom, .. ServerRandom])]);
        byte[] pre = [.. ClientRandom[..24], .. ServerRandom[..24]];
        byte[] master = [.. Salted(pre, "A"), .. Salted(pre, "BB"), .. Salted(pre, "CCC")];
        byte[] blob = [.. Salted(master, "X"), .. Salted(master, "YY"), .. Salted(master, "ZZZ")];
        Assert.Equal(blob[..16], keys.MacKey);
        Assert.Equal(MD5.HashData([.. blob[16..32], .. ClientRandom, .. ServerRandom]), keys.DecryptKey);
        Assert.Equal(MD5.HashData([.. blob[32..48], .. ClientRandom, .. ServerRandom]), keys.EncryptKey);
    }

    [Theory]
    [InlineData(0x01u, 3)]
    [InlineData(0x08u, 1)]
    public void Forty_and_fifty_six_bit_keys_are_eight_salted_bytes(uint method, int saltBytes)
    {
        var full = StandardSecurity.DeriveKeys(ClientRandom, ServerRandom, EncryptionMethods.Bit128);
        var keys = StandardSecurity.DeriveKeys(ClientRandom, ServerRandom, (EncryptionMethods)method);
        byte[] salt = [0xD1, 0x26, 0x9E];
        foreach (var (key, source) in new[] { (keys.MacKey, full.MacKey), (keys.EncryptKey, full.EncryptKey), (keys.DecryptKey, full.DecryptKey) })
        {
            Assert.Equal(8, key.Length);
            Assert.Equal(salt[..saltBytes], key[..saltBytes]);
            Assert.Equal(source[saltBytes..8], key[saltBytes..]);
        }
    }

    [Fact]
    public void Fips_has_no_rc4_keys() => Assert.Throws<ArgumentException>(() => StandardSecurity.DeriveKeys(ClientRandom, ServerRandom, EncryptionMethods.Fips));

    [Fact]
    public void Mac_is_md5_over_sha1_with_the_pads()
    {
        byte[] key = Enumerable.Repeat((byte)7, 16).ToArray();
        byte[] data = "Client Info"u8.ToArray();
        byte[] sha = SHA1.HashData([.. key, .. Enumerable.Repeat((byte)0x36, 40), .. BitConverter.GetBytes(data.Length), .. data]);
        byte[] expected = MD5.HashData([.. key, .. Enumerable.Repeat((byte)0x5C, 48), .. sha])[..8];
        Assert.Equal(expected, StandardSecurity.Mac(key, data));
        Assert.NotEqual(expected, StandardSecurity.Mac(key, data, encryptionCount: 5));
    }

    [Fact]
    public void Both_sides_decrypt_each_other_across_a_key_update()
    {
        var keys = StandardSecurity.DeriveKeys(ClientRandom, ServerRandom, EncryptionMethods.Bit56);
        var client = new RdpCipherState(keys);
        var server = new RdpCipherState(keys, asServer: true);
        for (int i = 0; i < 4100; i++)
        {
            byte[] message = BitConverter.GetBytes(i);
            byte[] sent = client.Protect(SecurityFlags.InfoPacket, message);
            Assert.Equal(SecurityFlags.InfoPacket | SecurityFlags.Encrypt, (SecurityFlags)BinaryPrimitives.ReadUInt16LittleEndian(sent));
            Assert.True(server.TryUnprotect(SecurityFlags.Encrypt, sent.AsSpan(4), out var got), $"packet {i}");
            Assert.Equal(message, got);
        }

        Assert.Equal(4100u, client.EncryptCount);
        byte[] reply = server.Protect(SecurityFlags.None, [1, 2, 3]);
        reply[^1] ^= 0xFF;
        Assert.False(client.TryUnprotect(SecurityFlags.Encrypt, reply.AsSpan(4), out _));
    }

    [Fact]
    public void Security_exchange_pdu_layout()
    {
        byte[] encrypted = Enumerable.Repeat((byte)0xAB, 64).ToArray();
        var pdu = StandardSecurity.EncodeSecurityExchange(encrypted);
        Assert.Equal(Convert.FromHexString("01020000" + "48000000"), pdu[..8]);
        Assert.Equal(encrypted, pdu[8..72]);
        Assert.Equal(new byte[8], pdu[72..]);
    }
}
