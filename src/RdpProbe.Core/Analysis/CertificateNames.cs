using System.Security.Cryptography;
using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Analysis;

/// <summary>
/// Subject, issuer and the facts the finding rules judge (validity, key, signature, names) of a server certificate,
/// decoded by Protocol/X509.cs and cached by the certificate's bytes: a capture holds many connections to the same few
/// servers, and decoding X.509 (OpenSSL underneath) costs far more than hashing the DER. Bounded cache. Decoded once
/// per connection, when its Certificate message is complete, never per packet.
/// </summary>
internal static class CertificateNames
{
    private const int MaxEntries = 1024;
    private static readonly Dictionary<(int Length, long Hash), (string Subject, string Issuer, CertificateFacts? Facts)> Cache = [];
    private static readonly Lock Gate = new();

    public static (string Subject, string Issuer, CertificateFacts? Facts) Get(ReadOnlySpan<byte> der)
    {
        var key = (der.Length, BitConverter.ToInt64(SHA256.HashData(der)));
        lock (Gate)
        {
            if (Cache.TryGetValue(key, out var names))
            {
                return names;
            }
        }

        // The one X.509 decoder (Protocol/X509.cs); the names alone when the full decode fails.
        (string, string, CertificateFacts?) decoded = X509.TryRead(der, out var summary)
            ? (summary.Subject, summary.Issuer, (CertificateFacts?)CaptureSecurityFacts.Certificate(summary))
            : X509.TryReadNames(der, out string subject, out string issuer)
                ? (subject, issuer, (CertificateFacts?)null)
                : ("(certificate not decodable)", "", (CertificateFacts?)null);

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
