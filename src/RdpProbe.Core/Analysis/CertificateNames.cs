using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace RdpProbe.Analysis;

/// <summary>
/// Subject and issuer of a server certificate, cached by the certificate's bytes: a capture holds many connections to
/// the same few servers, and decoding X.509 (OpenSSL underneath) costs far more than hashing the DER. Bounded cache.
/// </summary>
internal static class CertificateNames
{
    private const int MaxEntries = 1024;
    private static readonly Dictionary<(int Length, long Hash), (string Subject, string Issuer)> Cache = [];
    private static readonly Lock Gate = new();

    public static (string Subject, string Issuer) Get(ReadOnlySpan<byte> der)
    {
        var key = (der.Length, BitConverter.ToInt64(SHA256.HashData(der)));
        lock (Gate)
        {
            if (Cache.TryGetValue(key, out var names))
            {
                return names;
            }
        }

        (string, string) decoded;
        try
        {
            using var cert = X509CertificateLoader.LoadCertificate(der);
            decoded = (cert.Subject, cert.Issuer);
        }
        catch (CryptographicException)
        {
            decoded = ("(certificate not decodable)", "");
        }

        lock (Gate)
        {
            if (Cache.Count >= MaxEntries)
            {
                Cache.Clear();
            }

            Cache[key] = decoded;
        }

        return decoded;
    }
}
