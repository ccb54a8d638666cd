using System.Diagnostics.CodeAnalysis;
using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace RdpProbe.Protocol;

/// <summary>
/// What the probe and the analyzer report about one X.509 certificate (RFC 5280 4.1): names, validity, key, signature
/// and fingerprint. Facts only; nothing here judges the certificate.
/// </summary>
/// <param name="Subject">The subject DN as .NET formats it ("CN=host, O=org").</param>
/// <param name="CommonName">The subject's commonName attribute (id-at-commonName, 2.5.4.3), null when it has none.</param>
/// <param name="SubjectAltNames">dNSName entries as "dns:NAME", iPAddress entries as "ip:ADDRESS" (RFC 5280 4.2.1.6).</param>
/// <param name="SelfSigned">Issuer equals subject and the certificate's own key verifies its signature.</param>
/// <param name="KeyAlgorithm">rsa, ec, dsa, ed25519, or the algorithm OID when it is none of those.</param>
/// <param name="Sha256">SHA-256 of the DER, lower-case hex: the fingerprint a person compares with the server's.</param>
/// <param name="SerialNumber">Lower-case hex, as RFC 5280 4.1.2.2 encodes it (big-endian).</param>
/// <param name="SubjectPublicKey">The subjectPublicKey BIT STRING contents: what CredSSP's pubKeyAuth binds (MS-CSSP 3.1.5).</param>
internal sealed record X509Summary(
    string Subject,
    string Issuer,
    string? CommonName,
    IReadOnlyList<string> SubjectAltNames,
    DateTimeOffset NotBefore,
    DateTimeOffset NotAfter,
    bool SelfSigned,
    string KeyAlgorithm,
    int? KeySize,
    string SignatureAlgorithm,
    string Sha256,
    string SerialNumber,
    byte[] SubjectPublicKey);

/// <summary>
/// The one X.509 decoder of the code base: the live probe's TLS certificate and the analyzer's certificates from a
/// capture both go through it. DER decoding is the platform's (<see cref="X509CertificateLoader"/>); the self-signature
/// check is BouncyCastle's.
/// </summary>
internal static class X509
{
    private const string RsaOid = "1.2.840.113549.1.1.1";
    private const string EcOid = "1.2.840.10045.2.1";
    private const string DsaOid = "1.2.840.10040.4.1";
    private const string Ed25519Oid = "1.3.101.112";
    private const string CommonNameOid = "2.5.4.3";

    /// <summary>Decodes every fact; false (and null) when <paramref name="der"/> is not a certificate.</summary>
    public static bool TryRead(ReadOnlySpan<byte> der, [NotNullWhen(true)] out X509Summary? summary)
    {
        try
        {
            summary = Read(der);
            return true;
        }
        catch (CryptographicException)
        {
            summary = null;
            return false;
        }
    }

    /// <summary>Decodes every fact. Throws <see cref="CryptographicException"/> when <paramref name="der"/> is not a certificate.</summary>
    public static X509Summary Read(ReadOnlySpan<byte> der)
    {
        using var cert = X509CertificateLoader.LoadCertificate(der);
        string keyOid = cert.PublicKey.Oid.Value ?? string.Empty;
        string keyAlgorithm = keyOid switch
        {
            RsaOid => "rsa",
            EcOid => "ec",
            DsaOid => "dsa",
            Ed25519Oid => "ed25519",
            _ => keyOid,
        };

        return new X509Summary(
            Subject: cert.Subject,
            Issuer: cert.Issuer,
            CommonName: CommonName(cert.SubjectName),
            SubjectAltNames: SubjectAltNames(cert),
            NotBefore: new DateTimeOffset(cert.NotBefore.ToUniversalTime(), TimeSpan.Zero),
            NotAfter: new DateTimeOffset(cert.NotAfter.ToUniversalTime(), TimeSpan.Zero),
            SelfSigned: IsSelfSigned(der, cert),
            KeyAlgorithm: keyAlgorithm,
            KeySize: KeySize(cert.PublicKey, keyOid),
            SignatureAlgorithm: cert.SignatureAlgorithm.FriendlyName ?? cert.SignatureAlgorithm.Value ?? "unknown",
            Sha256: Convert.ToHexString(SHA256.HashData(der)).ToLowerInvariant(),
            SerialNumber: cert.SerialNumber.ToLowerInvariant(),
            SubjectPublicKey: cert.PublicKey.EncodedKeyValue.RawData);
    }

    /// <summary>Subject and issuer only (the analyzer's per-connection need): the same decoder, none of the key work.</summary>
    public static bool TryReadNames(ReadOnlySpan<byte> der, out string subject, out string issuer)
    {
        try
        {
            using var cert = X509CertificateLoader.LoadCertificate(der);
            (subject, issuer) = (cert.Subject, cert.Issuer);
            return true;
        }
        catch (CryptographicException)
        {
            (subject, issuer) = (string.Empty, string.Empty);
            return false;
        }
    }

    private static string? CommonName(X500DistinguishedName name)
    {
        try
        {
            // The most specific (last) commonName wins, as in RFC 6125 6.4.4's reading of the subject.
            string? found = null;
            foreach (var rdn in name.EnumerateRelativeDistinguishedNames())
            {
                if (!rdn.HasMultipleElements && rdn.GetSingleElementType().Value == CommonNameOid)
                {
                    found = rdn.GetSingleElementValue() ?? found;
                }
            }

            return found;
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    private static List<string> SubjectAltNames(X509Certificate2 cert)
    {
        var names = new List<string>();
        foreach (var extension in cert.Extensions)
        {
            if (extension is X509SubjectAlternativeNameExtension san)
            {
                try
                {
                    names.AddRange(san.EnumerateDnsNames().Select(n => "dns:" + n));
                    names.AddRange(san.EnumerateIPAddresses().Select(a => "ip:" + a));
                }
                catch (CryptographicException)
                {
                    names.Add("(malformed subjectAltName)");
                }
            }
        }

        return names;
    }

    private static int? KeySize(PublicKey key, string oid)
    {
        try
        {
            return oid switch
            {
                RsaOid => key.GetRSAPublicKey()?.KeySize,
                EcOid => key.GetECDsaPublicKey()?.KeySize,
                DsaOid => key.GetDSAPublicKey()?.KeySize,
                _ => null,
            };
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    /// <summary>Self-signed: issuer equals subject and the certificate's own key verifies its signature.</summary>
    private static bool IsSelfSigned(ReadOnlySpan<byte> der, X509Certificate2 cert)
    {
        if (!cert.SubjectName.RawData.AsSpan().SequenceEqual(cert.IssuerName.RawData))
        {
            return false;
        }

        try
        {
            var bc = new Org.BouncyCastle.X509.X509Certificate(der.ToArray());
            bc.Verify(bc.GetPublicKey());
            return true;
        }
        catch (Exception ex) when (ex is Org.BouncyCastle.Security.GeneralSecurityException or Org.BouncyCastle.Security.SecurityUtilityException
            or Org.BouncyCastle.Crypto.CryptoException or IOException or InvalidOperationException or ArgumentException or AsnContentException)
        {
            // A key BouncyCastle cannot build (a malformed SubjectPublicKeyInfo is an IOException from its ASN.1 reader,
            // an unknown algorithm a SecurityUtilityException; both found by fuzzing): the signature cannot be checked
            // with the certificate's own key, so it is not known to be self-signed.
            return false;
        }
    }
}
