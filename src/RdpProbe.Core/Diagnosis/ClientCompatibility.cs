using System.Globalization;
using RdpProbe.Protocol;

namespace RdpProbe.Diagnosis;

/// <summary>Whether a client would get through the security handshake, and how.</summary>
public enum Compatibility
{
    /// <summary>Connects without any warning.</summary>
    Connects,

    /// <summary>Connects once the user accepts a certificate warning.</summary>
    ConnectsAfterWarning,

    /// <summary>Connects, but without server authentication or TLS (Standard RDP Security).</summary>
    ConnectsInsecurely,

    /// <summary>Does not connect.</summary>
    Fails,

    /// <summary>The facts are not enough to tell; see <see cref="ClientVerdict.NeedsConnection"/>.</summary>
    Unknown,
}

/// <summary>
/// What one client profile would do against the server the facts describe.
/// </summary>
/// <param name="Profile">The profile's name.</param>
/// <param name="Result">The outcome.</param>
/// <param name="Protocol">The security protocol the client ends up with, when negotiation succeeds.</param>
/// <param name="FailPhase">Where it fails (with <see cref="Compatibility.Fails"/>).</param>
/// <param name="Reason">Stable snake_case reason of the failure ("no_common_tls_version", "ssl_not_allowed_by_server").</param>
/// <param name="Steps">The reasoning, step by step, in words.</param>
/// <param name="Warnings">What the user would be shown and has to accept.</param>
/// <param name="NeedsConnection">What the facts lack to decide (with <see cref="Compatibility.Unknown"/>), and how to learn it.</param>
public sealed record ClientVerdict(
    string Profile,
    Compatibility Result,
    SecurityProtocols? Protocol,
    Phase? FailPhase,
    string? Reason,
    IReadOnlyList<string> Steps,
    IReadOnlyList<string> Warnings,
    IReadOnlyList<string> NeedsConnection)
{
    /// <summary>True for every outcome in which the client gets through (with or without a warning, securely or not).</summary>
    public bool Connected => Result is Compatibility.Connects or Compatibility.ConnectsAfterWarning or Compatibility.ConnectsInsecurely;

    /// <summary>One sentence for the human view.</summary>
    public string Summary => Result switch
    {
        Compatibility.Connects => $"{Profile}: connects ({Name(Protocol)}).",
        Compatibility.ConnectsAfterWarning => $"{Profile}: connects after a warning ({string.Join("; ", Warnings)}).",
        Compatibility.ConnectsInsecurely => $"{Profile}: connects only insecurely, with Standard RDP Security (no server authentication).",
        Compatibility.Fails => $"{Profile}: fails at {FailPhase?.ToReportName()} ({Reason}): {(Steps.Count > 0 ? Steps[^1] : "")}",
        _ => $"{Profile}: cannot tell without {string.Join("; ", NeedsConnection)}.",
    };

    internal static string Name(SecurityProtocols? protocol) => protocol is { } p ? string.Join("|", p.ToReportNames()) : "none";
}

/// <summary>
/// Predicts, from the facts of one probe, what a real client (a <see cref="ClientProfile"/>) would do: which protocol it
/// would negotiate after its own fallbacks, whether TLS would agree on a version, what it would say about the
/// certificate, whether it would accept the server's CredSSP version, and whether the probe's later failure would be
/// its failure too. It never guesses: where the facts lack something, the verdict is Unknown and says what is missing.
/// </summary>
public static class ClientCompatibility
{
    /// <summary>Kerberos tolerates 5 minutes of clock skew by default (RFC 4120's recommended allowance; Windows policy "Maximum tolerance for computer clock synchronization").</summary>
    public const double KerberosMaxSkewSeconds = 300;

    /// <summary>Every profile in <paramref name="profiles"/> (default: all of them) against the same facts.</summary>
    public static IReadOnlyList<ClientVerdict> EvaluateAll(SecurityFacts facts, IEnumerable<ClientProfile>? profiles = null)
        => [.. (profiles ?? ClientProfiles.All).Select(p => Evaluate(p, facts))];

    public static ClientVerdict Evaluate(ClientProfile profile, SecurityFacts facts)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(facts);
        var run = new Evaluation(profile, facts);
        return run.Run();
    }

    /// <summary>The server's answer to a request, as far as the facts tell.</summary>
    internal sealed record NegotiationAnswer(SecurityProtocols? Selected, NegotiationFailureCode? Failure);

    /// <summary>
    /// What the server answers to <paramref name="request"/>: the main connection's answer when it asked the same,
    /// otherwise derived from the security-layer matrix, taking the strongest requested protocol the server supports
    /// (MS-RDPBCGR 3.3.5.3.1: the server picks one of the requested protocols it supports). Null when unknown.
    /// </summary>
    internal static NegotiationAnswer? Predict(SecurityFacts facts, SecurityProtocols request)
    {
        if (facts.RequestedProtocols == request && (facts.SelectedProtocol is not null || facts.FailureCode is not null))
        {
            return new NegotiationAnswer(facts.SelectedProtocol, facts.FailureCode);
        }

        // An earlier attempt of the probe's own sequence asked the same (a fallback retry): the server's own answer.
        if (facts.Negotiations.LastOrDefault(n => n.Requested == request && (n.Selected is not null || n.FailureCode is not null)) is { } seen)
        {
            return new NegotiationAnswer(seen.Selected, seen.FailureCode);
        }

        if (facts.Matrix is not { } matrix)
        {
            return null;
        }

        if (request == SecurityProtocols.Rdp)
        {
            return FromEntry(matrix, SecurityProtocols.Rdp);
        }

        SecurityProtocols[] preference = [SecurityProtocols.HybridEx, SecurityProtocols.Hybrid, SecurityProtocols.RdsTls, SecurityProtocols.Ssl];
        ProtocolOutcome? downgraded = null;
        NegotiationFailureCode? firstFailure = null;
        foreach (var p in preference.Where(p => request.HasFlag(p)))
        {
            if (!matrix.TryGetValue(p, out var entry) || entry.Support == ProtocolSupport.Error)
            {
                return null;
            }

            switch (entry.Support)
            {
                case ProtocolSupport.Supported:
                    return new NegotiationAnswer(p, null);
                case ProtocolSupport.Downgraded:
                    downgraded ??= entry;
                    break;
                case ProtocolSupport.Refused:
                    firstFailure ??= entry.FailureCode;
                    break;
            }
        }

        if (downgraded is not null)
        {
            return new NegotiationAnswer(downgraded.Selected ?? SecurityProtocols.Rdp, null);
        }

        return firstFailure is { } code ? new NegotiationAnswer(null, code) : null;
    }

    private static NegotiationAnswer? FromEntry(IReadOnlyDictionary<SecurityProtocols, ProtocolOutcome> matrix, SecurityProtocols p)
    {
        if (!matrix.TryGetValue(p, out var entry))
        {
            return null;
        }

        return entry.Support switch
        {
            ProtocolSupport.Supported => new NegotiationAnswer(p, null),
            ProtocolSupport.Downgraded => new NegotiationAnswer(entry.Selected ?? SecurityProtocols.Rdp, null),
            ProtocolSupport.Refused when entry.FailureCode is { } code => new NegotiationAnswer(null, code),
            _ => null,
        };
    }

    internal static string TlsName(TlsVersion v) => v switch
    {
        TlsVersion.Tls10 => "TLS 1.0",
        TlsVersion.Tls11 => "TLS 1.1",
        TlsVersion.Tls12 => "TLS 1.2",
        _ => "TLS 1.3",
    };

    /// <summary>One profile against one set of facts; collects the reasoning as it goes.</summary>
    private sealed class Evaluation(ClientProfile profile, SecurityFacts facts)
    {
        private readonly List<string> steps = [];
        private readonly List<string> warnings = [];
        private readonly List<string> needs = [];

        public ClientVerdict Run()
        {
            // Nothing to negotiate with: no client gets further than the probe did.
            if (facts.Failure is { Phase: Phase.Dns or Phase.Tcp } early)
            {
                steps.Add($"the probe could not reach the server ({early.Phase.ToReportName()} ended {early.Ending.ToReportName()}); no client gets further");
                return Fail(early.Phase, early.Code ?? early.Ending.ToReportName(), null);
            }

            // The server did not answer the X.224 request with a Connection Confirm at all (closed, reset, silence, not RDP):
            // that does not depend on what a client asks for.
            if (facts.Failure is { Phase: Phase.X224 } x224 && x224.Ending != Ending.NegotiationFailure && facts.SelectedProtocol is null)
            {
                steps.Add($"the server did not answer the probe's Connection Request ({x224.Ending.ToReportName()}); no client gets further");
                return Fail(Phase.X224, x224.Code ?? x224.Ending.ToReportName(), null);
            }

            var (selected, failed) = Negotiate();
            if (failed is not null)
            {
                return failed;
            }

            if (selected is not { } protocol)
            {
                return Verdict(Compatibility.Unknown, null);
            }

            return protocol == SecurityProtocols.Rdp ? StandardSecurity() : Tls(protocol);
        }

        /// <summary>The client's request, the server's answer, and the client's fallbacks (MS-RDPBCGR 1.3.1.1, 2.2.1.2.2).</summary>
        private (SecurityProtocols? Selected, ClientVerdict? Failed) Negotiate()
        {
            var request = profile.RequestedProtocols;
            int lastStep = -1;
            while (true)
            {
                var answer = Predict(facts, request);
                if (answer is null)
                {
                    needs.Add($"the server's answer to a request for {ClientVerdict.Name(request)} (run the security-layer matrix)");
                    return (null, null);
                }

                if (answer.Failure is { } code)
                {
                    steps.Add($"asks for {ClientVerdict.Name(request)}; the server refuses with {code.ToReportName()}");
                    if (profile.FallbackAfter(code, lastStep) is not { } next)
                    {
                        steps.Add(profile.Fallbacks.Count == 0 ? "it never falls back, so it gives up" : "it has no further fallback, so it gives up");
                        return (null, Fail(Phase.X224, code.ToReportName(), null));
                    }

                    (lastStep, var step) = next;
                    request = step.Retry;
                    steps.Add($"falls back: reconnects asking for {ClientVerdict.Name(request)}");
                    continue;
                }

                var selected = answer.Selected ?? SecurityProtocols.Rdp;
                steps.Add(selected == SecurityProtocols.Rdp && request != SecurityProtocols.Rdp
                    ? $"asks for {ClientVerdict.Name(request)}; the server selects Standard RDP Security (PROTOCOL_RDP) instead"
                    : $"asks for {ClientVerdict.Name(request)}; the server selects {ClientVerdict.Name(selected)}");
                return (selected, null);
            }
        }

        private ClientVerdict StandardSecurity()
        {
            if (!profile.AcceptsStandardRdpSecurity)
            {
                steps.Add("it does not run Standard RDP Security at all");
                return Fail(Phase.X224, "standard_rdp_security_refused", SecurityProtocols.Rdp);
            }

            steps.Add("runs Standard RDP Security: RC4 under an RSA key the server sends unsigned by any trusted party, so nothing authenticates the server (MS-RDPBCGR 5.3)");
            if (profile.WarnsOnStandardRdpSecurity)
            {
                warnings.Add("the identity of the remote computer cannot be verified");
            }

            if (facts.EncryptionMethod == StandardEncryptionMethod.None)
            {
                warnings.Add("the session is not encrypted at all (encryption method none)");
            }

            if (LaterFailure(SecurityProtocols.Rdp) is { } later)
            {
                return later;
            }

            return Verdict(needs.Count > 0 ? Compatibility.Unknown : Compatibility.ConnectsInsecurely, SecurityProtocols.Rdp);
        }

        private ClientVerdict Tls(SecurityProtocols protocol)
        {
            bool undecided = false;
            var simulated = facts.ClientHandshakes is { } handshakes && handshakes.TryGetValue(profile.Name, out var h) ? h : null;

            // TLS versions: the client's offer against what the server accepts (RFC 5246 E.1, RFC 8446 4.2.1).
            var common = profile.TlsVersions.Where(v => facts.Accepts(v) == true).ToList();
            if (simulated is { Outcome: SimulatedTlsOutcome.Accepted })
            {
                // The client simulation sent this client's own ClientHello: its answer beats the per-version facts.
                steps.Add($"a connection with its own ClientHello ({OfferText(profile)}) completed TLS: the server chose "
                          + $"{(simulated.Version is { } sv ? TlsName(sv) : "a version")} with {simulated.CipherSuite}");
            }
            else if (simulated is { Outcome: SimulatedTlsOutcome.Refused, NotOffered.Count: 0 })
            {
                steps.Add($"a connection with its own ClientHello ({OfferText(profile)}) was turned down by the server: {simulated.Detail}");
                if (common.Count == 0)
                {
                    var accepted = facts.TlsVersionsAccepted?.Where(kv => kv.Value == true).Select(kv => TlsName(kv.Key)).ToList() ?? [];
                    steps.Add($"the server accepts only {(accepted.Count > 0 ? string.Join(", ", accepted) : "none of its versions")}: no common TLS version");
                    return Fail(Phase.Tls, "no_common_tls_version", protocol);
                }

                steps.Add($"the server speaks {TlsName(common.Max())} but accepts none of the client's cipher suites");
                return Fail(Phase.Tls, "no_common_cipher_suite", protocol);
            }
            else if (common.Count == 0)
            {
                var unknown = profile.TlsVersions.Where(v => facts.Accepts(v) is null).ToList();
                if (unknown.Count > 0)
                {
                    needs.Add($"whether the server accepts {string.Join(" or ", unknown.Select(TlsName))} (run the TLS version check)");
                    undecided = true;
                }
                else
                {
                    var accepted = facts.TlsVersionsAccepted?.Where(kv => kv.Value == true).Select(kv => TlsName(kv.Key)).ToList() ?? [];
                    steps.Add($"offers {string.Join(", ", profile.TlsVersions.Select(TlsName))}; the server accepts only {(accepted.Count > 0 ? string.Join(", ", accepted) : "none of them")}: no common TLS version");
                    return Fail(Phase.Tls, "no_common_tls_version", protocol);
                }
            }
            else
            {
                steps.Add($"TLS: both speak {TlsName(common.Max())}");
                if (simulated is { Outcome: SimulatedTlsOutcome.Refused } partial)
                {
                    // Refused, but without suites RdpProbe's TLS library cannot send: maybe the server wanted one of those.
                    steps.Add($"a connection with its own ClientHello was turned down ({partial.Detail}), but it lacked {string.Join(", ", partial.NotOffered)}");
                    needs.Add($"whether the server accepts {string.Join(" or ", partial.NotOffered)}, which RdpProbe's TLS library cannot offer");
                    undecided = true;
                }
            }

            if (facts.Failure is { Phase: Phase.Tls } tlsFailure && facts.TlsSelected && simulated is not { Outcome: SimulatedTlsOutcome.Accepted })
            {
                steps.Add($"the probe's own TLS handshake failed ({tlsFailure.Ending.ToReportName()}{(tlsFailure.Code is null ? "" : " " + tlsFailure.Code)}); a client offering less fails too");
                return Fail(Phase.Tls, tlsFailure.Code ?? "tls_handshake_failed", protocol);
            }

            if (CertificateChecks(protocol) is { } refused)
            {
                return refused;
            }

            if (protocol is SecurityProtocols.Hybrid or SecurityProtocols.HybridEx)
            {
                if (CredSsp(protocol) is { } credsspFailure)
                {
                    return credsspFailure;
                }

                undecided |= needs.Count > 0;
            }

            if (LaterFailure(protocol) is { } later)
            {
                return later;
            }

            undecided |= needs.Count > 0;
            var result = undecided ? Compatibility.Unknown : warnings.Count > 0 ? Compatibility.ConnectsAfterWarning : Compatibility.Connects;
            return Verdict(result, protocol);
        }

        /// <summary>Certificate checks the client makes on the TLS server certificate; null when none refuses it.</summary>
        private ClientVerdict? CertificateChecks(SecurityProtocols protocol)
        {
            if (facts.Certificate is not { } cert)
            {
                if (profile.UntrustedCertificate != CertificateBehaviour.Ignores)
                {
                    steps.Add("the server's certificate was not seen, so its checks could not be judged");
                }

                return null;
            }

            if (cert.KeyAlgorithm.Equals("rsa", StringComparison.OrdinalIgnoreCase) && cert.KeySize is { } bits
                && profile.MinimumRsaKeyBits is { } minBits && bits < minBits)
            {
                steps.Add($"the certificate's RSA key has {bits} bits; its TLS stack requires at least {minBits}" +
                          (profile.TlsSecurityLevel is { } level ? $" (OpenSSL security level {level})" : ""));
                return Fail(Phase.Tls, "certificate_key_too_small", protocol);
            }

            var problems = new List<(string What, CertificateBehaviour Behaviour)>();
            if (facts.ObservedAt > cert.NotAfter)
            {
                problems.Add(($"the certificate expired on {Date(cert.NotAfter)}", profile.ExpiredCertificate));
            }
            else if (facts.ObservedAt < cert.NotBefore)
            {
                problems.Add(($"the certificate is not valid before {Date(cert.NotBefore)}", profile.ExpiredCertificate));
            }

            if (cert.SelfSigned)
            {
                problems.Add(("the certificate is self-signed (not issued by a trusted authority)", profile.UntrustedCertificate));
            }

            if (facts.HostName is { } host && !CertificateMatching.Matches(cert, host))
            {
                problems.Add(($"the certificate does not name {host}", profile.NameMismatch));
            }
            else if (facts.HostName is null && facts.TargetAddress is { } address && !CertificateMatching.MatchesAddress(cert, address))
            {
                // Clients compare what the user typed with the certificate, an address too (xfreerdp 2.11 against the
                // lab: "does not match the name given in the certificate" for 127.0.0.1).
                problems.Add(($"the certificate does not name the address {address}", profile.NameMismatch));
            }

            foreach (var (what, behaviour) in problems)
            {
                switch (behaviour)
                {
                    case CertificateBehaviour.Refuses:
                        steps.Add($"{what}; it refuses such a certificate");
                        return Fail(Phase.Tls, "certificate_refused", protocol);
                    case CertificateBehaviour.WarnsAndAllowsContinue:
                        warnings.Add(what);
                        break;
                    default:
                        steps.Add($"{what}; it does not check");
                        break;
                }
            }

            if (problems.Count == 0 && !cert.SelfSigned)
            {
                steps.Add("whether it trusts the certificate's issuer depends on its certificate store (not checked)");
            }

            return null;
        }

        /// <summary>The client's CredSSP requirements (MS-CSSP 2.2.1, 3.1.5); null when they are met or unknown.</summary>
        private ClientVerdict? CredSsp(SecurityProtocols protocol)
        {
            if (profile.MinimumCredSspVersion > 0)
            {
                if (facts.CredSspServerVersion is not { } version)
                {
                    needs.Add("the server's CredSSP version (the probe's CredSSP phase did not get an answer)");
                }
                else if (version < profile.MinimumCredSspVersion)
                {
                    steps.Add($"the server speaks CredSSP version {version}, below {profile.MinimumCredSspVersion}: a client with the encryption oracle remediation at \"Mitigated\" refuses an unpatched server (CVE-2018-0886)");
                    return Fail(Phase.Credssp, "credssp_version_unpatched", protocol);
                }
                else
                {
                    steps.Add($"CredSSP: the server's version {version} is patched");
                }
            }

            if (facts.NtlmClockSkewSeconds is { } skew && Math.Abs(skew) > KerberosMaxSkewSeconds)
            {
                steps.Add($"the server's clock is {Math.Abs(skew) / 60:0.#} minutes off: Kerberos would fail (KRB_AP_ERR_SKEW) and NTLM is used where allowed");
            }

            return null;
        }

        /// <summary>
        /// The probe's own connection failed after the security handshake, over the same protocol the client would use:
        /// that failure is the server's, and the client meets it too.
        /// </summary>
        private ClientVerdict? LaterFailure(SecurityProtocols protocol)
        {
            if (facts.Failure is not { } f || f.Phase < Phase.Credssp || f.Phase >= Phase.SecurityMatrix || f.Ending == Ending.ClientRefused)
            {
                return null;
            }

            // HYBRID and HYBRID_EX run the same CredSSP and session (HYBRID_EX adds the Early User Authorization Result, 2.2.10.2).
            static SecurityProtocols Family(SecurityProtocols? p) => p == SecurityProtocols.HybridEx ? SecurityProtocols.Hybrid : p ?? SecurityProtocols.Rdp;
            bool sameFamily = facts.SelectedProtocol is not null && Family(facts.SelectedProtocol) == Family(protocol) && f.Phase != Phase.EarlyAuth;
            if (facts.SelectedProtocol != protocol && !sameFamily)
            {
                needs.Add($"whether {f.Phase.ToReportName()} succeeds over {ClientVerdict.Name(protocol)} (the probe failed there over {ClientVerdict.Name(facts.SelectedProtocol)})");
                return null;
            }

            steps.Add($"the server ended the probe's connection at {f.Phase.ToReportName()} ({f.Ending.ToReportName()}{(f.Code is null ? "" : " " + f.Code)}) over the same protocol; the client meets the same");
            return Fail(f.Phase, f.Code ?? f.Ending.ToReportName(), protocol);
        }

        private static string OfferText(ClientProfile p)
            => $"{string.Join(", ", p.TlsVersions.Select(TlsName))}; {p.TlsCipherSuites.Count} cipher suites";

        private ClientVerdict Fail(Phase phase, string reason, SecurityProtocols? protocol)
            => new(profile.Name, Compatibility.Fails, protocol, phase, reason, [.. steps], [.. warnings], [.. needs]);

        private ClientVerdict Verdict(Compatibility result, SecurityProtocols? protocol)
            => new(profile.Name, result, protocol, null, null, [.. steps], [.. warnings], [.. needs]);

        private static string Date(DateTimeOffset d) => d.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
    }
}

/// <summary>Host name matching for server certificates (RFC 6125 §6.4: DNS names in subjectAltName, else the CN; one left-most wildcard label).</summary>
public static class CertificateMatching
{
    public static bool Matches(CertificateFacts cert, string host)
    {
        ArgumentNullException.ThrowIfNull(cert);
        host = host.TrimEnd('.');

        // RFC 6125 §6.4.4: the CN is consulted only when there is no DNS name in subjectAltName.
        IEnumerable<string> names = cert.SubjectAltNames.Count > 0 ? cert.SubjectAltNames : cert.SubjectCommonName is { } cn ? [cn] : [];
        return names.Any(n => NameMatches(n.TrimEnd('.'), host));
    }

    /// <summary>
    /// An address target against the certificate: an iPAddress subjectAltName (RFC 6125 §6.2.1), or a CN / DNS name
    /// that is the address written out, which clients comparing strings (FreeRDP) also accept.
    /// </summary>
    public static bool MatchesAddress(CertificateFacts cert, string address)
    {
        ArgumentNullException.ThrowIfNull(cert);
        if (!System.Net.IPAddress.TryParse(address.Trim('[', ']'), out var ip))
        {
            return false;
        }

        bool Same(string text) => System.Net.IPAddress.TryParse(text.Trim('[', ']'), out var other) && other.Equals(ip);
        return cert.IpAddresses.Any(Same) || cert.SubjectAltNames.Any(Same) || (cert.SubjectCommonName is { } cn && Same(cn));
    }

    private static bool NameMatches(string pattern, string host)
    {
        if (string.Equals(pattern, host, StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        // "*.example.com" matches exactly one label: "a.example.com", not "example.com" nor "a.b.example.com".
        if (pattern.StartsWith("*.", StringComparison.Ordinal))
        {
            int dot = host.IndexOf('.', StringComparison.Ordinal);
            return dot > 0 && string.Equals(pattern[1..], host[dot..], StringComparison.OrdinalIgnoreCase);
        }

        return false;
    }
}
