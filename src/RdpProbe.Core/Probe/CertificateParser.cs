using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace RdpProbe.Probe;

/// <summary>Turns the server certificate's DER into report facts (RFC 5280). Problems are reported, never fatal.</summary>
internal static class CertificateParser
{
    private const string RsaOid = "1.2.840.113549.1.1.1";
    private const string EcOid = "1.2.840.10045.2.1";
    private const string DsaOid = "1.2.840.10040.4.1";
    private const string Ed25519Oid = "1.3.101.112";

    public static CertificateInfo Parse(byte[] der, DateTimeOffset now)
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
        int? keySize = keyOid switch
        {
            RsaOid => cert.PublicKey.GetRSAPublicKey()?.KeySize,
            EcOid => cert.PublicKey.GetECDsaPublicKey()?.KeySize,
            DsaOid => cert.PublicKey.GetDSAPublicKey()?.KeySize,
            _ => null,
        };

        var san = new List<string>();
        foreach (var extension in cert.Extensions)
        {
            if (extension is X509SubjectAlternativeNameExtension sanExtension)
            {
                try
                {
                    san.AddRange(sanExtension.EnumerateDnsNames().Select(n => "dns:" + n));
                    san.AddRange(sanExtension.EnumerateIPAddresses().Select(a => "ip:" + a));
                }
                catch (CryptographicException)
                {
                    san.Add("(malformed subjectAltName)");
                }
            }
        }

        var notBefore = new DateTimeOffset(cert.NotBefore.ToUniversalTime(), TimeSpan.Zero);
        var notAfter = new DateTimeOffset(cert.NotAfter.ToUniversalTime(), TimeSpan.Zero);
        string signature = cert.SignatureAlgorithm.FriendlyName ?? cert.SignatureAlgorithm.Value ?? "unknown";

        return new CertificateInfo(
            Subject: cert.Subject,
            Issuer: cert.Issuer,
            NotBefore: notBefore,
            NotAfter: notAfter,
            DaysLeft: (int)Math.Floor((notAfter - now).TotalDays),
            SelfSigned: IsSelfSigned(der, cert),
            KeyAlgorithm: keyAlgorithm,
            KeySize: keySize,
            SignatureAlgorithm: signature,
            Sha256: Convert.ToHexString(SHA256.HashData(der)).ToLowerInvariant(),
            San: san,
            SerialNumber: cert.SerialNumber.ToLowerInvariant());
    }

    /// <summary>The subjectPublicKey BIT STRING contents (RFC 5280 4.1): what CredSSP's pubKeyAuth binds (MS-CSSP 3.1.5).</summary>
    public static byte[] SubjectPublicKey(byte[] der)
    {
        using var cert = X509CertificateLoader.LoadCertificate(der);
        return cert.PublicKey.EncodedKeyValue.RawData;
    }

    /// <summary>Self-signed: issuer equals subject and the certificate's own key verifies its signature.</summary>
    private static bool IsSelfSigned(byte[] der, X509Certificate2 cert)
    {
        if (!cert.SubjectName.RawData.AsSpan().SequenceEqual(cert.IssuerName.RawData))
        {
            return false;
        }

        try
        {
            var bc = new Org.BouncyCastle.X509.X509Certificate(der);
            bc.Verify(bc.GetPublicKey());
            return true;
        }
        catch (Exception ex) when (ex is Org.BouncyCastle.Security.InvalidKeyException or Org.BouncyCastle.Security.Certificates.CertificateException
            or Org.BouncyCastle.Security.SignatureException or InvalidOperationException or ArgumentException or AsnContentException)
        {
            return false;
        }
    }
}
