using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Analysis;

/// <summary>
/// What decides a connection's <see cref="SecurityFacts"/> as <see cref="CaptureSecurityFacts.From"/> builds them (the
/// rest of the facts is constant in a capture): two connections with equal keys get the same findings, client verdict
/// and compatibility table. The observation time is reduced to what the rules read of it: where it falls against the
/// certificate's validity, and the whole days a finding names (expired N days ago, expires in N days).
/// </summary>
/// <param name="Certificate">Compared by reference: the analyzer decodes each distinct certificate once (CertificateNames), so alike connections share the object; another object is only a miss.</param>
internal readonly record struct FactsKey(
    SecurityProtocols? Requested,
    SecurityProtocols? Selected,
    NegotiationFailureCode? Failure,
    bool Tls,
    ushort? TlsVersion,
    int Offered,
    ushort? CipherSuite,
    CertificateFacts? Certificate,
    long CertificateClock,
    uint? EncryptionMethod,
    uint? EncryptionLevel,
    bool Ok,
    Phase FailPhase,
    Ending FailEnding,
    string? FailCode)
{
    public static FactsKey Of(AnalyzedConnection c)
    {
        var tls = c.Tls;
        var ss = c.StandardSecurity;
        var cert = tls?.Certificate;
        return new FactsKey(
            c.RequestedProtocols,
            c.SelectedProtocol,
            c.FailureCode,
            tls is not null,
            tls?.Version,
            OfferedMask(tls),
            tls?.CipherSuite,
            cert,
            cert is null ? 0 : Clock(CaptureSecurityFacts.ObservedAt(c), cert),
            ss?.EncryptionMethod,
            ss?.EncryptionLevel,
            c.Verdict.Ok,
            c.Verdict.Ok ? default : c.Verdict.Phase,
            c.Verdict.Ok ? default : c.Verdict.Ending,
            c.Verdict.Ok ? null : c.Verdict.Code?.Word);
    }

    /// <summary>
    /// The observation time as the rules see it (FindingRules' certificate dates, ClientCompatibility's validity):
    /// expired and how many whole days ago, not yet valid, expiring within the warning and in how many whole days, or valid.
    /// </summary>
    internal static long Clock(DateTimeOffset observed, CertificateFacts cert)
    {
        if (observed > cert.NotAfter)
        {
            return 1 | (long)(int)(observed - cert.NotAfter).TotalDays << 2;
        }

        if (observed < cert.NotBefore)
        {
            return 2;
        }

        if (cert.NotAfter - observed <= TimeSpan.FromDays(FindingRules.ExpiryWarningDays))
        {
            return 3 | (long)(int)(cert.NotAfter - observed).TotalDays << 2;
        }

        return 0;
    }

    /// <summary>The TLS versions the client offered, as the set the accepted-version inference reads (bit per <see cref="TlsVersion"/>; bit 31: the list was given).</summary>
    private static int OfferedMask(TlsFindings? tls)
    {
        if (tls is null)
        {
            return 0;
        }

        int mask = 0;
        if (tls.OfferedVersions is { Count: > 0 } list)
        {
            mask = 1 << 31;
            foreach (ushort v in list)
            {
                if (CaptureSecurityFacts.Version(v) is { } version)
                {
                    mask |= 1 << (int)version;
                }
            }
        }
        else if (tls.ClientMaxVersion is { } max)
        {
            // Kept whole: the inference expands it to every version up to it.
            mask = 1 << 30 | max;
        }

        return mask;
    }

    public bool Equals(FactsKey other) =>
        (Requested, Selected, Failure, Tls, TlsVersion, Offered, CipherSuite, CertificateClock, EncryptionMethod, EncryptionLevel, Ok, FailPhase, FailEnding)
        == (other.Requested, other.Selected, other.Failure, other.Tls, other.TlsVersion, other.Offered, other.CipherSuite, other.CertificateClock, other.EncryptionMethod, other.EncryptionLevel, other.Ok, other.FailPhase, other.FailEnding)
        && ReferenceEquals(Certificate, other.Certificate)
        && string.Equals(FailCode, other.FailCode, StringComparison.Ordinal);

    public override int GetHashCode() => HashCode.Combine(
        HashCode.Combine(Requested, Selected, Failure, TlsVersion, Offered, CipherSuite, CertificateClock),
        HashCode.Combine(EncryptionMethod, EncryptionLevel, Ok, FailPhase, FailEnding),
        Certificate is null ? 0 : System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(Certificate),
        FailCode is null ? 0 : string.GetHashCode(FailCode, StringComparison.Ordinal));
}

/// <summary>
/// A connection's judgement (findings, the default client's verdict, the facts inferred) remembered by its
/// <see cref="FactsKey"/> for one analysis run: thousands of alike handshakes are judged once, not once each. The
/// remembered lists are shared between connections and never changed. Bounded: past <see cref="MaxEntries"/> distinct
/// keys judgements are computed and not kept. Not thread-safe: one per thread that builds findings.
/// </summary>
internal sealed class JudgementMemo
{
    public const int MaxEntries = 4096;

    private readonly Dictionary<FactsKey, (IReadOnlyList<Finding> Findings, ClientVerdict Verdict, IReadOnlyList<string> Inferred)> _judgements = [];

    public int Count => _judgements.Count;

    public AnalyzedConnection Judge(AnalyzedConnection connection)
    {
        var key = FactsKey.Of(connection);
        if (!_judgements.TryGetValue(key, out var judgement))
        {
            judgement = Compute(connection);
            if (_judgements.Count < MaxEntries)
            {
                _judgements[key] = judgement;
            }
        }

        return connection with { Findings = judgement.Findings, ClientVerdict = judgement.Verdict, InferredFacts = judgement.Inferred };
    }

    /// <summary>The judgement computed, not remembered (what a remembered one must equal).</summary>
    internal static (IReadOnlyList<Finding> Findings, ClientVerdict Verdict, IReadOnlyList<string> Inferred) Compute(AnalyzedConnection connection)
    {
        var (facts, inferred) = CaptureSecurityFacts.From(connection);
        return (FindingRules.Evaluate(facts), ClientCompatibility.Evaluate(CaptureSecurityFacts.DefaultProfile, facts), inferred);
    }
}
