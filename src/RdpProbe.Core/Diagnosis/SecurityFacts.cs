using RdpProbe.Protocol;

namespace RdpProbe.Diagnosis;

/// <summary>TLS protocol versions, oldest first (RFC 2246, 4346, 5246, 8446).</summary>
public enum TlsVersion
{
    Tls10,
    Tls11,
    Tls12,
    Tls13,
}

/// <summary>What the server did with a request for one security protocol alone (the security-layer matrix).</summary>
public enum ProtocolSupport
{
    /// <summary>The server selected the protocol asked for.</summary>
    Supported,

    /// <summary>The server answered RDP_NEG_FAILURE (MS-RDPBCGR 2.2.1.2.2).</summary>
    Refused,

    /// <summary>The server selected something else, in practice PROTOCOL_RDP (Standard RDP Security).</summary>
    Downgraded,

    /// <summary>No usable answer (timeout, reset): unknown.</summary>
    Error,
}

/// <summary>One entry of the security-layer matrix: the outcome and, when refused, the server's failure code.</summary>
public sealed record ProtocolOutcome(ProtocolSupport Support, SecurityProtocols? Selected = null, NegotiationFailureCode? FailureCode = null);

/// <summary>Standard RDP Security encryption methods (MS-RDPBCGR 2.2.1.4.3 encryptionMethod).</summary>
public enum StandardEncryptionMethod
{
    None,
    Bit40,
    Bit56,
    Bit128,
    Fips,
}

/// <summary>Standard RDP Security encryption levels (MS-RDPBCGR 2.2.1.4.3 encryptionLevel, 5.3.1).</summary>
public enum StandardEncryptionLevel
{
    None,
    Low,
    ClientCompatible,
    High,
    Fips,
}

/// <summary>What the RDP-UDP check saw (MS-RDPEUDP 3.1.5.1).</summary>
public enum UdpReachability
{
    Reachable,
    PortUnreachable,
    HostUnreachable,
    Silence,
    UnexpectedReply,
}

/// <summary>The server's TLS certificate as facts, not judgements.</summary>
public sealed record CertificateFacts
{
    public required DateTimeOffset NotBefore { get; init; }

    public required DateTimeOffset NotAfter { get; init; }

    public bool SelfSigned { get; init; }

    /// <summary>"rsa", "ec", ... as the parser names it.</summary>
    public string KeyAlgorithm { get; init; } = "";

    public int? KeySize { get; init; }

    /// <summary>"sha256RSA", "sha1RSA", ... as the parser names it.</summary>
    public string SignatureAlgorithm { get; init; } = "";

    public string Subject { get; init; } = "";

    public string Issuer { get; init; } = "";

    /// <summary>The subject's CN, when it has one.</summary>
    public string? SubjectCommonName { get; init; }

    /// <summary>DNS names of the subjectAltName extension.</summary>
    public IReadOnlyList<string> SubjectAltNames { get; init; } = [];

    /// <summary>IP addresses of the subjectAltName extension (RFC 5280 4.2.1.6 iPAddress), as text.</summary>
    public IReadOnlyList<string> IpAddresses { get; init; } = [];
}

/// <summary>
/// One X.224 exchange the probe made on a connection of its own sequence (the first attempt, or a fallback retry): what
/// it asked for and what the server answered (MS-RDPBCGR 2.2.1.2.1 selection, 2.2.1.2.2 failure code).
/// </summary>
public sealed record ObservedNegotiation(SecurityProtocols Requested, SecurityProtocols? Selected, NegotiationFailureCode? FailureCode);

/// <summary>Where and how the probe's own connection failed: the first phase that did not end ok.</summary>
public sealed record ConnectionFailure(Phase Phase, Ending Ending, string? Code);

/// <summary>
/// The protocol facts a probe (or a capture) established about one server, as plain data: the input of
/// <see cref="FindingRules"/> and <see cref="ClientCompatibility"/>. Null means "not observed / not checked", never
/// "no". The Diagnosis layer builds nothing from sockets: the probe maps its report into this record.
/// </summary>
public sealed record SecurityFacts
{
    /// <summary>When the facts were observed: certificate dates are judged against this instant.</summary>
    public DateTimeOffset ObservedAt { get; init; } = DateTimeOffset.UtcNow;

    /// <summary>The host name probed, or null when the target was an address (no name to match a certificate against).</summary>
    public string? HostName { get; init; }

    /// <summary>The address typed as the target when it was an address (null when probed by name): clients compare it with the certificate too.</summary>
    public string? TargetAddress { get; init; }

    // ---- X.224 negotiation of the main connection (MS-RDPBCGR 2.2.1.1.1, 2.2.1.2.1, 2.2.1.2.2)

    public SecurityProtocols RequestedProtocols { get; init; }

    public SecurityProtocols? SelectedProtocol { get; init; }

    public NegotiationFailureCode? FailureCode { get; init; }

    /// <summary>The Connection Confirm carried no negotiation data at all (a pre-RDP-5.2 server: Standard RDP Security).</summary>
    public bool LegacyConfirm { get; init; }

    /// <summary>
    /// Every request of the probe's own attempts and the server's answer, the main connection's included (earlier
    /// attempts were refused and retried with a client's fallback request) and of the client simulation's connections;
    /// empty when not known.
    /// </summary>
    public IReadOnlyList<ObservedNegotiation> Negotiations { get; init; } = [];

    /// <summary>The security-layer matrix: what the server did with each protocol asked for alone; null when not run.</summary>
    public IReadOnlyDictionary<SecurityProtocols, ProtocolOutcome>? Matrix { get; init; }

    /// <summary>True when every request without NLA was refused and NLA works; null when not known.</summary>
    public bool? NlaRequired { get; init; }

    // ---- TLS

    /// <summary>Which versions the server accepted, one connection each; null when not checked, a null entry when that check was inconclusive.</summary>
    public IReadOnlyDictionary<TlsVersion, bool?>? TlsVersionsAccepted { get; init; }

    public TlsVersion? NegotiatedTlsVersion { get; init; }

    public string? CipherSuite { get; init; }

    public CertificateFacts? Certificate { get; init; }

    /// <summary>
    /// The client simulation: per profile name, what a connection with that profile's exact X.224 request, TLS versions
    /// and cipher suites found; null when it did not run, a profile missing when it made no connection for it.
    /// </summary>
    public IReadOnlyDictionary<string, SimulatedHandshake>? ClientHandshakes { get; init; }

    // ---- CredSSP / NTLM (MS-CSSP 2.2.1, MS-NLMP 2.2.2.1)

    /// <summary>The version field of the server's TSRequest.</summary>
    public int? CredSspServerVersion { get; init; }

    /// <summary>Server time (NTLM CHALLENGE MsvAvTimestamp) minus the probe's clock, in seconds.</summary>
    public double? NtlmClockSkewSeconds { get; init; }

    /// <summary>The kerberos phase failed in a way Negotiate falls back from, and CredSSP went on with NTLM (issue 12).</summary>
    public KerberosFallbackFact? KerberosFallback { get; init; }

    // ---- Standard RDP Security (MS-RDPBCGR 2.2.1.4.3 SC_SECURITY, 5.3)

    public StandardEncryptionMethod? EncryptionMethod { get; init; }

    public StandardEncryptionLevel? EncryptionLevel { get; init; }

    /// <summary>Methods the server accepted when offered alone (the encryption_levels check); null when not run.</summary>
    public IReadOnlyList<StandardEncryptionMethod>? AcceptedEncryptionMethods { get; init; }

    // ---- credentials, UDP, the outcome of the probe's own connection

    /// <summary>The user gave credentials (--user).</summary>
    public bool CredentialsGiven { get; init; }

    /// <summary>The server verified them (CredSSP completed); null when nothing could verify them.</summary>
    public bool? CredentialsVerified { get; init; }

    /// <summary>The RDP-UDP check's result; null when not checked.</summary>
    public UdpReachability? Udp { get; init; }

    /// <summary>The first failed phase of the probe's main connection; null when it got through.</summary>
    public ConnectionFailure? Failure { get; init; }

    /// <summary>True when the server selected a TLS-based protocol (SSL, HYBRID, HYBRID_EX, RDSTLS, RDSAAD).</summary>
    public bool TlsSelected => SelectedProtocol is { } p && p != SecurityProtocols.Rdp;

    /// <summary>True when the server's TLS accepts <paramref name="version"/>: from the version check, or because the main connection negotiated it.</summary>
    public bool? Accepts(TlsVersion version)
    {
        if (NegotiatedTlsVersion == version)
        {
            return true;
        }

        return TlsVersionsAccepted is not null && TlsVersionsAccepted.TryGetValue(version, out var accepted) ? accepted : null;
    }
}

/// <summary>Why a Negotiate client fell back from Kerberos to NTLM: the kerberos phase's code word and the SPN it asked for.</summary>
public sealed record KerberosFallbackFact(string Code, string? Spn);
