using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Analysis;

/// <summary>
/// Builds the <see cref="SecurityFacts"/> the Diagnosis rules judge (<see cref="FindingRules"/>,
/// <see cref="ClientCompatibility"/>) from what a capture shows in clear: the X.224 negotiation (MS-RDPBCGR 2.2.1.1 -
/// 2.2.1.2), the TLS ServerHello and, up to TLS 1.2, the server certificate (RFC 5246 §7.4.2; TLS 1.3 encrypts it, RFC
/// 8446 §4.4.2), and Standard RDP Security's encryption method and level in the MCS Connect Response (MS-RDPBCGR
/// 2.2.1.4.3). CredSSP travels inside TLS, so its version stays null; facts a capture cannot show are never filled in.
/// The few facts concluded rather than seen are listed in <see cref="Inferred"/>.
/// </summary>
public static class CaptureSecurityFacts
{
    /// <summary>The profile the analyzer's client verdicts are for: the tool's default client (current Windows).</summary>
    public static ClientProfile DefaultProfile => ClientProfiles.Windows11;

    /// <summary>The facts of one connection, and which of them were inferred (named as in <see cref="SecurityFacts"/>).</summary>
    public sealed record Result(SecurityFacts Facts, IReadOnlyList<string> Inferred);

    /// <summary>
    /// The facts of one connection. <paramref name="earlier"/> are the refused attempts of the same attempt chain, oldest
    /// first (their requests and the server's answers join <see cref="SecurityFacts.Negotiations"/>).
    /// </summary>
    public static Result From(AnalyzedConnection c, IReadOnlyList<AnalyzedConnection>? earlier = null)
    {
        ArgumentNullException.ThrowIfNull(c);
        var inferred = new List<string>();
        var attempts = new List<AnalyzedConnection>();
        if (earlier is not null)
        {
            attempts.AddRange(earlier);
        }

        attempts.Add(c);
        var negotiations = attempts
            .Where(a => a.RequestedProtocols is not null && (a.SelectedProtocol is not null || a.FailureCode is not null))
            .Select(a => new ObservedNegotiation(a.RequestedProtocols!.Value, a.SelectedProtocol, a.FailureCode))
            .ToList();

        var tls = c.Tls;
        var negotiated = tls?.Version is { } v ? Version(v) : null;
        var accepted = AcceptedVersions(tls, negotiated);
        if (accepted is not null)
        {
            inferred.Add(nameof(SecurityFacts.TlsVersionsAccepted));
        }

        var matrix = Matrix(negotiations);
        if (matrix is not null)
        {
            inferred.Add(nameof(SecurityFacts.Matrix));
        }

        var ss = c.StandardSecurity;
        var facts = new SecurityFacts
        {
            ObservedAt = ObservedAt(c),
            HostName = null,
            TargetAddress = null,
            RequestedProtocols = c.RequestedProtocols ?? SecurityProtocols.Rdp,
            SelectedProtocol = c.SelectedProtocol,
            FailureCode = c.FailureCode,
            Negotiations = negotiations,
            Matrix = matrix,
            NlaRequired = null,
            TlsVersionsAccepted = accepted,
            NegotiatedTlsVersion = negotiated,
            CipherSuite = tls?.CipherSuite is { } suite ? TlsHandshake.CipherSuiteName(suite) : null,
            Certificate = tls?.Certificate,
            CredSspServerVersion = null,
            NtlmClockSkewSeconds = null,
            EncryptionMethod = ss?.EncryptionMethod is { } m ? Method(m) : null,
            EncryptionLevel = ss?.EncryptionLevel is { } l ? Level(l) : null,
            CredentialsGiven = false,
            CredentialsVerified = null,
            Udp = null,
            Failure = c.Verdict.Ok ? null : new ConnectionFailure(c.Verdict.Phase, c.Verdict.Ending, c.Verdict.Code?.Word),
        };
        return new Result(facts, inferred);
    }

    /// <summary>When the connection was seen: its first frame's capture time (now when the capture has none).</summary>
    internal static DateTimeOffset ObservedAt(AnalyzedConnection c) =>
        c.StartMicros > 0 ? DateTimeOffset.UnixEpoch.AddTicks(c.StartMicros * 10) : DateTimeOffset.UtcNow;

    /// <summary>The certificate facts of one decoded X.509 certificate (Protocol/X509.cs).</summary>
    internal static CertificateFacts Certificate(X509Summary s) => new()
    {
        NotBefore = s.NotBefore,
        NotAfter = s.NotAfter,
        SelfSigned = s.SelfSigned,
        KeyAlgorithm = s.KeyAlgorithm,
        KeySize = s.KeySize,
        SignatureAlgorithm = s.SignatureAlgorithm,
        Subject = s.Subject,
        Issuer = s.Issuer,
        SubjectCommonName = s.CommonName,

        // X509 writes "dns:NAME" and "ip:ADDRESS" (RFC 5280 4.2.1.6).
        SubjectAltNames = [.. s.SubjectAltNames.Where(n => n.StartsWith("dns:", StringComparison.Ordinal)).Select(n => n[4..])],
        IpAddresses = [.. s.SubjectAltNames.Where(n => n.StartsWith("ip:", StringComparison.Ordinal)).Select(n => n[3..])],
    };

    /// <summary>The wire version (RFC 8446 §4.1.2: 0x0301 TLS 1.0 ... 0x0304 TLS 1.3).</summary>
    internal static TlsVersion? Version(ushort wire) => wire switch
    {
        0x0301 => TlsVersion.Tls10,
        0x0302 => TlsVersion.Tls11,
        0x0303 => TlsVersion.Tls12,
        0x0304 => TlsVersion.Tls13,
        _ => null,
    };

    /// <summary>
    /// A server picks the highest version it shares with the client (RFC 5246 appendix E.1, RFC 8446 §4.2.1): when the
    /// client offered a version above the one the server chose, the server does not accept that version. Inferred, and
    /// only for the versions the client offered; null when nothing can be concluded.
    /// </summary>
    private static Dictionary<TlsVersion, bool?>? AcceptedVersions(TlsFindings? tls, TlsVersion? negotiated)
    {
        if (tls is null || negotiated is not { } chosen)
        {
            return null;
        }

        var offered = new List<TlsVersion>();
        if (tls.OfferedVersions is { Count: > 0 } list)
        {
            offered.AddRange(list.Select(Version).OfType<TlsVersion>());
        }
        else if (tls.ClientMaxVersion is { } max && Version(max) is { } top)
        {
            // Without supported_versions the ClientHello's version is the highest the client supports (RFC 5246 E.1).
            offered.AddRange(Enum.GetValues<TlsVersion>().Where(x => x <= top));
        }

        var above = offered.Where(x => x > chosen).Distinct().ToList();
        if (above.Count == 0)
        {
            return null;
        }

        var accepted = above.ToDictionary(x => x, _ => (bool?)false);
        accepted[chosen] = true;
        return accepted;
    }

    /// <summary>
    /// What the failure codes say about requests not seen in the capture (MS-RDPBCGR 2.2.1.2.2):
    /// SSL_NOT_ALLOWED_BY_SERVER means the server allows Standard RDP Security only, so it refuses every TLS-based
    /// request with the same code; SSL_REQUIRED_BY_SERVER and HYBRID_REQUIRED_BY_SERVER refuse a request without TLS
    /// (resp. CredSSP). Protocols a server selected in the capture are supported. Inferred; null when nothing applies.
    /// </summary>
    private static Dictionary<SecurityProtocols, ProtocolOutcome>? Matrix(IReadOnlyList<ObservedNegotiation> seen)
    {
        var matrix = new Dictionary<SecurityProtocols, ProtocolOutcome>();
        foreach (var n in seen)
        {
            switch (n.FailureCode)
            {
                case NegotiationFailureCode.SslNotAllowedByServer:
                    foreach (var p in new[] { SecurityProtocols.Ssl, SecurityProtocols.Hybrid, SecurityProtocols.HybridEx, SecurityProtocols.RdsTls })
                    {
                        matrix.TryAdd(p, new ProtocolOutcome(ProtocolSupport.Refused, null, n.FailureCode));
                    }

                    break;
                case NegotiationFailureCode.SslRequiredByServer:
                    matrix.TryAdd(SecurityProtocols.Rdp, new ProtocolOutcome(ProtocolSupport.Refused, null, n.FailureCode));
                    break;
                case NegotiationFailureCode.HybridRequiredByServer:
                    matrix.TryAdd(SecurityProtocols.Rdp, new ProtocolOutcome(ProtocolSupport.Refused, null, n.FailureCode));
                    matrix.TryAdd(SecurityProtocols.Ssl, new ProtocolOutcome(ProtocolSupport.Refused, null, n.FailureCode));
                    break;
            }

            if (n.Selected is { } selected)
            {
                matrix[selected] = new ProtocolOutcome(ProtocolSupport.Supported, selected);
            }
        }

        // The server selects the strongest requested protocol it supports (MS-RDPBCGR 3.3.5.3.1): the stronger ones
        // the client asked for were passed over. HYBRID_EX is HYBRID with Early User Authorization (2.2.1.1.1), so
        // a server that passed over HYBRID, or selected it when HYBRID_EX was not asked for, is taken to answer
        // HYBRID_EX the same way.
        foreach (var n in seen)
        {
            if (n.Selected is not { } selected)
            {
                continue;
            }

            var passedOver = n.Requested & ~selected & (SecurityProtocols.Ssl | SecurityProtocols.Hybrid | SecurityProtocols.HybridEx);
            if (selected != SecurityProtocols.HybridEx && (passedOver.HasFlag(SecurityProtocols.Hybrid) || selected == SecurityProtocols.Hybrid))
            {
                passedOver |= SecurityProtocols.HybridEx;
            }

            foreach (var p in new[] { SecurityProtocols.HybridEx, SecurityProtocols.Hybrid, SecurityProtocols.Ssl })
            {
                if (passedOver.HasFlag(p) && Strength(p) > Strength(selected))
                {
                    matrix.TryAdd(p, new ProtocolOutcome(ProtocolSupport.Downgraded, selected));
                }
            }
        }

        return matrix.Count == 0 ? null : matrix;
    }

    private static int Strength(SecurityProtocols p) => p switch
    {
        SecurityProtocols.HybridEx => 3,
        SecurityProtocols.Hybrid => 2,
        SecurityProtocols.Ssl => 1,
        _ => 0,
    };

    /// <summary>encryptionMethod (MS-RDPBCGR 2.2.1.4.3): one value in the server's answer.</summary>
    private static StandardEncryptionMethod? Method(uint wire) => (EncryptionMethods)wire switch
    {
        EncryptionMethods.None => StandardEncryptionMethod.None,
        EncryptionMethods.Bit40 => StandardEncryptionMethod.Bit40,
        EncryptionMethods.Bit56 => StandardEncryptionMethod.Bit56,
        EncryptionMethods.Bit128 => StandardEncryptionMethod.Bit128,
        EncryptionMethods.Fips => StandardEncryptionMethod.Fips,
        _ => null,
    };

    /// <summary>encryptionLevel (MS-RDPBCGR 2.2.1.4.3).</summary>
    private static StandardEncryptionLevel? Level(uint wire) => (EncryptionLevel)wire switch
    {
        EncryptionLevel.None => StandardEncryptionLevel.None,
        EncryptionLevel.Low => StandardEncryptionLevel.Low,
        EncryptionLevel.ClientCompatible => StandardEncryptionLevel.ClientCompatible,
        EncryptionLevel.High => StandardEncryptionLevel.High,
        EncryptionLevel.Fips => StandardEncryptionLevel.Fips,
        _ => null,
    };
}
