using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Probe;

/// <summary>
/// Maps what a probe found (<see cref="ProbeReport"/>) to the plain <see cref="SecurityFacts"/> the Diagnosis layer
/// judges: <see cref="FindingRules.Evaluate"/> and <see cref="ClientCompatibility.Evaluate"/>.
/// </summary>
public static class SecurityFactsFrom
{
    /// <param name="report">A finished probe report.</param>
    /// <param name="credentialsGiven">The probe ran with --user (the report itself does not say so).</param>
    public static SecurityFacts Report(ProbeReport report, bool credentialsGiven = false)
    {
        ArgumentNullException.ThrowIfNull(report);
        var n = report.Negotiation;
        var tls = report.Tls;
        var session = report.Session;
        var failed = report.Phases.FirstOrDefault(p => p.Phase < Phase.SecurityMatrix && p.EndedTheConnection);
        var udp = report.Phases.LastOrDefault(p => p.Phase == Phase.Udp && p.Status != PhaseStatus.Skipped);
        var levels = n.EncryptionLevels;

        return new SecurityFacts
        {
            ObservedAt = report.StartedAt,
            HostName = report.Target.IsLiteral ? null : report.Target.Host,
            TargetAddress = report.Target.Address?.ToString(),
            RequestedProtocols = n.RequestedProtocols,
            SelectedProtocol = n.SelectedProtocol,
            FailureCode = n.FailureCode,
            LegacyConfirm = n.Legacy,
            // The client simulation's X.224 answers are the server's answers to the real clients' requests too.
            Negotiations = [.. report.Attempts.Select(a => new ObservedNegotiation(a.RequestedProtocols, a.SelectedProtocol, a.FailureCode)),
                .. report.ClientSimulation.Where(c => c.Result.Selected is not null || c.Result.FailureCode is not null)
                    .Select(c => new ObservedNegotiation(c.Offer.RequestedProtocols, c.Result.Selected, c.Result.FailureCode))],
            ClientHandshakes = report.ClientHandshakes,
            Matrix = n.Matrix?.ToDictionary(e => e.Protocol, e => new ProtocolOutcome(Support(e.Status), e.Selected, e.FailureCode)),
            NlaRequired = n.NlaRequired,
            TlsVersionsAccepted = tls?.Versions is { } versions
                ? versions.Select(kv => (Version: TlsVersionFromName(kv.Key), kv.Value)).Where(x => x.Version is not null).ToDictionary(x => x.Version!.Value, x => x.Value)
                : null,
            NegotiatedTlsVersion = tls?.Version is { } name ? TlsVersionFromName(name) : null,
            CipherSuite = tls?.CipherSuite,
            Certificate = tls?.Certificate is { } cert ? Certificate(cert) : null,
            CredSspServerVersion = report.CredSsp?.ServerVersion,
            NtlmClockSkewSeconds = report.CredSsp?.Ntlm?.ClockSkewSeconds,
            KerberosFallback = report.Phases.FirstOrDefault(p => p is { Phase: Phase.Kerberos, FellBackTo: not null }) is { Code: { } why }
                ? new KerberosFallbackFact(why.Word, report.Kerberos?.Spn)
                : null,
            EncryptionMethod = MethodFromName(session?.EncryptionMethod),
            EncryptionLevel = LevelFromName(session?.EncryptionLevel) ?? (levels?.ServerLevel is { } l ? Level(l) : null),
            AcceptedEncryptionMethods = levels is null ? null : [.. levels.Accepted.Select(Method)],
            CredentialsGiven = credentialsGiven,
            CredentialsVerified = report.CredSsp is { Authenticated: true } ? true
                : credentialsGiven && failed is { Phase: Phase.Credssp or Phase.EarlyAuth, Ending: Ending.AuthFailed or Ending.AccessDenied } ? false
                : null,
            Udp = udp is null ? null : Udp(udp),
            Failure = failed is null ? null : new ConnectionFailure(failed.Phase, failed.Ending, failed.Code?.Word),
        };
    }

    private static ProtocolSupport Support(SupportStatus status) => status switch
    {
        SupportStatus.Supported => ProtocolSupport.Supported,
        SupportStatus.Refused => ProtocolSupport.Refused,
        SupportStatus.Downgraded => ProtocolSupport.Downgraded,
        _ => ProtocolSupport.Error,
    };

    /// <summary>The report's version words ("tls1.2", as TlsNames writes them).</summary>
    internal static TlsVersion? TlsVersionFromName(string name) => name.ToLowerInvariant() switch
    {
        "tls1.0" => TlsVersion.Tls10,
        "tls1.1" => TlsVersion.Tls11,
        "tls1.2" => TlsVersion.Tls12,
        "tls1.3" => TlsVersion.Tls13,
        _ => null,
    };

    private static CertificateFacts Certificate(CertificateInfo cert) => new()
    {
        NotBefore = cert.NotBefore,
        NotAfter = cert.NotAfter,
        SelfSigned = cert.SelfSigned,
        KeyAlgorithm = cert.KeyAlgorithm,
        KeySize = cert.KeySize,
        SignatureAlgorithm = cert.SignatureAlgorithm,
        Subject = cert.Subject,
        Issuer = cert.Issuer,
        SubjectCommonName = CommonName(cert.Subject),

        // CertificateParser writes "dns:NAME" and "ip:ADDRESS"; host names match DNS names only (RFC 6125 §6.4).
        SubjectAltNames = [.. cert.San.Where(s => s.StartsWith("dns:", StringComparison.Ordinal)).Select(s => s[4..])],
        IpAddresses = [.. cert.San.Where(s => s.StartsWith("ip:", StringComparison.Ordinal)).Select(s => s[3..])],
    };

    internal static string? CommonName(string subject)
    {
        if (string.IsNullOrWhiteSpace(subject))
        {
            return null;
        }

        try
        {
            foreach (var rdn in new X500DistinguishedName(subject).EnumerateRelativeDistinguishedNames())
            {
                if (rdn.HasMultipleElements)
                {
                    continue;
                }

                // 2.5.4.3 = id-at-commonName (RFC 5280 appendix A).
                if (rdn.GetSingleElementType().Value == "2.5.4.3")
                {
                    return rdn.GetSingleElementValue();
                }
            }
        }
        catch (CryptographicException)
        {
            // Not a parsable distinguished name: no CN.
        }

        return null;
    }

    /// <summary>Gcc.MethodName's words back to the enum.</summary>
    internal static StandardEncryptionMethod? MethodFromName(string? name) => name switch
    {
        "none" => StandardEncryptionMethod.None,
        "40-bit" => StandardEncryptionMethod.Bit40,
        "56-bit" => StandardEncryptionMethod.Bit56,
        "128-bit" => StandardEncryptionMethod.Bit128,
        "fips" => StandardEncryptionMethod.Fips,
        _ => null,
    };

    /// <summary>Gcc.LevelName's words back to the enum.</summary>
    internal static StandardEncryptionLevel? LevelFromName(string? name) => name switch
    {
        "none" => StandardEncryptionLevel.None,
        "low" => StandardEncryptionLevel.Low,
        "client-compatible" => StandardEncryptionLevel.ClientCompatible,
        "high" => StandardEncryptionLevel.High,
        "fips" => StandardEncryptionLevel.Fips,
        _ => null,
    };

    private static StandardEncryptionMethod Method(EncryptionMethods m) => MethodFromName(Gcc.MethodName(m)) ?? StandardEncryptionMethod.None;

    private static StandardEncryptionLevel Level(EncryptionLevel l) => LevelFromName(Gcc.LevelName(l)) ?? StandardEncryptionLevel.None;

    /// <summary>The Udp phase record as UdpCheck writes it (ok on SYN+ACK; refused, unreachable, timeout, not_rdp otherwise).</summary>
    private static UdpReachability Udp(PhaseRecord record) => record switch
    {
        { Status: PhaseStatus.Ok } => UdpReachability.Reachable,
        { Ending: Ending.Refused } => UdpReachability.PortUnreachable,
        { Ending: Ending.Unreachable } => UdpReachability.HostUnreachable,
        { Ending: Ending.Timeout } => UdpReachability.Silence,
        _ => UdpReachability.UnexpectedReply,
    };
}
