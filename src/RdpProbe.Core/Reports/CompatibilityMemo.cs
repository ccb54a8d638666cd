using RdpProbe.Analysis;
using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Reports;

/// <summary>
/// The compatibility table (every client profile against a connection's facts) remembered by the facts that decide
/// it, for one analysis run: a capture of thousands of alike handshakes has a handful of distinct tables, and
/// evaluating every profile per connection was a seventh of the analysis time (bench/RESULTS-analyzer.md). The key
/// is every input <see cref="CaptureSecurityFacts.From"/> reads from the connection for a table (the rest of
/// <see cref="SecurityFacts"/> is constant in a capture), with the observation time reduced to where it falls
/// against the certificate's validity, the only thing the profiles judge it by. Bounded: past
/// <see cref="MaxEntries"/> distinct keys tables are computed and not kept. Not thread-safe (one per run, used by the
/// thread that builds the reports).
/// </summary>
internal sealed class CompatibilityMemo
{
    public const int MaxEntries = 4096;

    private readonly Dictionary<Key, IReadOnlyList<ClientVerdictReport>> _tables = [];

    public int Count => _tables.Count;

    /// <summary>The table of <paramref name="c"/> (a connection with a client verdict), computed once per distinct key.</summary>
    public IReadOnlyList<ClientVerdictReport> Get<TState>(AnalyzedConnection c, TState state, Func<AnalyzedConnection, TState, IReadOnlyList<ClientVerdictReport>> compute)
    {
        var key = KeyOf(c);
        if (_tables.TryGetValue(key, out var table))
        {
            return table;
        }

        table = compute(c, state);
        if (_tables.Count < MaxEntries)
        {
            _tables[key] = table;
        }

        return table;
    }

    internal static Key KeyOf(AnalyzedConnection c)
    {
        var tls = c.Tls;
        var ss = c.StandardSecurity;
        var cert = tls?.Certificate;
        int validity = 0;
        if (cert is not null)
        {
            var observed = CaptureSecurityFacts.ObservedAt(c);
            validity = observed > cert.NotAfter ? 1 : observed < cert.NotBefore ? -1 : 0;
        }

        return new Key(
            c.RequestedProtocols,
            c.SelectedProtocol,
            c.FailureCode,
            tls is not null,
            tls?.Version,
            OfferedMask(tls),
            tls?.CipherSuite,
            cert,
            validity,
            ss?.EncryptionMethod,
            ss?.EncryptionLevel,
            c.Verdict.Ok,
            c.Verdict.Ok ? default : c.Verdict.Phase,
            c.Verdict.Ok ? default : c.Verdict.Ending,
            c.Verdict.Ok ? null : c.Verdict.Code?.Word);
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

    /// <param name="Certificate">Compared by reference: the analyzer decodes each distinct certificate once (CertificateNames), so alike connections share the object; another object is only a miss.</param>
    internal readonly record struct Key(
        SecurityProtocols? Requested,
        SecurityProtocols? Selected,
        NegotiationFailureCode? Failure,
        bool Tls,
        ushort? TlsVersion,
        int Offered,
        ushort? CipherSuite,
        CertificateFacts? Certificate,
        int Validity,
        uint? EncryptionMethod,
        uint? EncryptionLevel,
        bool Ok,
        Phase FailPhase,
        Ending FailEnding,
        string? FailCode)
    {
        public bool Equals(Key other) =>
            (Requested, Selected, Failure, Tls, TlsVersion, Offered, CipherSuite, Validity, EncryptionMethod, EncryptionLevel, Ok, FailPhase, FailEnding)
            == (other.Requested, other.Selected, other.Failure, other.Tls, other.TlsVersion, other.Offered, other.CipherSuite, other.Validity, other.EncryptionMethod, other.EncryptionLevel, other.Ok, other.FailPhase, other.FailEnding)
            && ReferenceEquals(Certificate, other.Certificate)
            && string.Equals(FailCode, other.FailCode, StringComparison.Ordinal);

        public override int GetHashCode() => HashCode.Combine(
            HashCode.Combine(Requested, Selected, Failure, TlsVersion, Offered, CipherSuite, Validity),
            HashCode.Combine(EncryptionMethod, EncryptionLevel, Ok, FailPhase, FailEnding),
            Certificate is null ? 0 : System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(Certificate),
            FailCode is null ? 0 : string.GetHashCode(FailCode, StringComparison.Ordinal));
    }
}
