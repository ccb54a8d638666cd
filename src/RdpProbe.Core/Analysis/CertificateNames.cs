using System.Security.Cryptography;

namespace RdpProbe.Analysis;

/// <summary>
/// Subject and issuer of a server certificate (decoded by Protocol/X509.cs), cached by the certificate's bytes: a capture holds many connections to
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

        // The one X.509 decoder (Protocol/X509.cs), names only.
        (string, string) decoded = RdpProbe.Protocol.X509.TryReadNames(der, out string subject, out string issuer)
            ? (subject, issuer)
            : ("(certificate not decodable)", "");

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
