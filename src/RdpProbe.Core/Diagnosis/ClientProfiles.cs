using RdpProbe.Protocol;

namespace RdpProbe.Diagnosis;

/// <summary>What a client does when the server's certificate fails one of its checks.</summary>
public enum CertificateBehaviour
{
    /// <summary>Does not look (the probe; xfreerdp with /cert:ignore).</summary>
    Ignores,

    /// <summary>Shows a warning the user can accept to connect anyway.</summary>
    WarnsAndAllowsContinue,

    /// <summary>Ends the connection.</summary>
    Refuses,
}

/// <summary>
/// A retry a client makes on a new connection after the server refused its negotiation request: ask for
/// <paramref name="Retry"/> instead, either after any failure code or only after the codes listed.
/// </summary>
public sealed record FallbackStep(SecurityProtocols Retry, IReadOnlyList<NegotiationFailureCode>? OnlyAfter = null)
{
    public bool AppliesTo(NegotiationFailureCode code) => OnlyAfter is null || OnlyAfter.Contains(code);
}

/// <summary>
/// How one real RDP client behaves during the security handshake, as data. Each profile's facts carry their source
/// in the comment next to them; what could not be confirmed from a document or a test is listed in <see cref="Unverified"/>.
/// </summary>
public sealed record ClientProfile
{
    /// <summary>The stable word used on the command line (--client) and in reports.</summary>
    public required string Name { get; init; }

    public required string Description { get; init; }

    /// <summary>The client as a person names it in a sentence ("Windows 11", "FreeRDP 2"); the name when not set.</summary>
    public string DisplayName { get => displayName ?? Name; init => displayName = value; }

    private readonly string? displayName;

    /// <summary>The first X.224 request (MS-RDPBCGR 2.2.1.1.1 requestedProtocols).</summary>
    public required SecurityProtocols RequestedProtocols { get; init; }

    /// <summary>Retries on new connections after an RDP_NEG_FAILURE, in order. Empty: the client gives up.</summary>
    public IReadOnlyList<FallbackStep> Fallbacks { get; init; } = [];

    /// <summary>Whether the client runs Standard RDP Security at all (after a fallback, or when the server selects PROTOCOL_RDP).</summary>
    public bool AcceptsStandardRdpSecurity { get; init; }

    /// <summary>Whether it shows a warning before going on with Standard RDP Security (no server authentication).</summary>
    public bool WarnsOnStandardRdpSecurity { get; init; }

    /// <summary>TLS versions the client offers (with its default settings on its current platform).</summary>
    public required IReadOnlyList<TlsVersion> TlsVersions { get; init; }

    /// <summary>
    /// The cipher suites of its ClientHello, in its order (IANA code points from <see cref="ClientTlsOffers"/>); empty
    /// when not modelled (then the client simulation does not make a connection for it).
    /// </summary>
    public IReadOnlyList<int> TlsCipherSuites { get; init; } = [];

    /// <summary>The ClientHello this client sends after asking for <paramref name="request"/> at X.224.</summary>
    public ClientOffer OfferFor(SecurityProtocols request) => new(request, TlsVersions, TlsCipherSuites);

    /// <summary>Self-signed certificate or a chain to a root the client does not trust.</summary>
    public CertificateBehaviour UntrustedCertificate { get; init; }

    /// <summary>Certificate outside its validity period.</summary>
    public CertificateBehaviour ExpiredCertificate { get; init; }

    /// <summary>Certificate that does not name the host the user typed.</summary>
    public CertificateBehaviour NameMismatch { get; init; }

    /// <summary>The lowest CredSSP version the client accepts from a server (MS-CSSP 2.2.1 TSRequest.version); 0 = any.</summary>
    public int MinimumCredSspVersion { get; init; }

    /// <summary>The smallest RSA server key the TLS stack accepts; null when not modelled.</summary>
    public int? MinimumRsaKeyBits { get; init; }

    /// <summary>OpenSSL security level the client sets (SSL_CTX_set_security_level); null for non-OpenSSL clients.</summary>
    public int? TlsSecurityLevel { get; init; }

    /// <summary>Facts of this profile taken from observation or common knowledge rather than a document or a test here.</summary>
    public IReadOnlyList<string> Unverified { get; init; } = [];

    /// <summary>
    /// The client's next attempt after the server refused a request with <paramref name="code"/>: the index in
    /// <see cref="Fallbacks"/> and the step, searching after <paramref name="afterIndex"/> (-1 after the first request).
    /// Null when the client gives up. The engine's fallback retries and <see cref="ClientCompatibility"/> share this.
    /// </summary>
    public (int Index, FallbackStep Step)? FallbackAfter(NegotiationFailureCode code, int afterIndex = -1)
    {
        for (int i = afterIndex + 1; i < Fallbacks.Count; i++)
        {
            if (Fallbacks[i].AppliesTo(code))
            {
                return (i, Fallbacks[i]);
            }
        }

        return null;
    }
}

/// <summary>The client profiles RdpProbe judges a server against (issue 10).</summary>
public static class ClientProfiles
{
    private static readonly TlsVersion[] Tls12Up = [TlsVersion.Tls12, TlsVersion.Tls13];

    /// <summary>
    /// CredSSP versions 5 and 6 bind the public key with a client nonce (MS-CSSP 3.1.5, the fix for CVE-2018-0886);
    /// a client with the encryption oracle remediation policy at "Mitigated" (the default since the May 2018 Windows
    /// update, KB4093492) will not fall back to an older, unpatched server ("CredSSP encryption oracle remediation"
    /// error). pyspnego documents the same boundary as its credssp_min_protocol "5+".
    /// </summary>
    public const int PatchedCredSspVersion = 5;

    /// <summary>
    /// mstsc / Windows App on Windows 11.
    /// </summary>
    public static ClientProfile Windows11 { get; } = new()
    {
        Name = "windows11",
        DisplayName = "Windows 11",
        Description = "mstsc / Windows App on Windows 11 (default settings)",

        // SSL|HYBRID|HYBRID_EX is what current Windows clients send (MS-RDPBCGR 2.2.1.1.1; also the probe's default).
        RequestedProtocols = SecurityProtocols.Ssl | SecurityProtocols.Hybrid | SecurityProtocols.HybridEx,

        // MS-RDPBCGR 5.4.2.1: SSL_NOT_ALLOWED_BY_SERVER tells an Enhanced-Security client the server only does Standard
        // RDP Security; mstsc reconnects with PROTOCOL_RDP (measured in issue 10: it connects to such servers).
        Fallbacks = [new FallbackStep(SecurityProtocols.Rdp, [NegotiationFailureCode.SslNotAllowedByServer])],
        AcceptsStandardRdpSecurity = true,

        // The default "authentication level" 2 (RDP file setting "authentication level:i:2", "warn me") warns when the
        // server cannot be authenticated and lets the user connect anyway: Standard RDP Security and certificate errors.
        WarnsOnStandardRdpSecurity = true,

        // Windows 11 ships TLS 1.0 and 1.1 disabled in Schannel (Microsoft, "TLS 1.0 and TLS 1.1 soon to be disabled in
        // Windows", 2023); TLS 1.3 is in Schannel since Windows 11 / Server 2022.
        TlsVersions = Tls12Up,

        // Schannel's default suite order on Windows 11 (ClientTlsOffers.Windows11 names the source).
        TlsCipherSuites = ClientTlsOffers.Windows11,
        UntrustedCertificate = CertificateBehaviour.WarnsAndAllowsContinue,
        ExpiredCertificate = CertificateBehaviour.WarnsAndAllowsContinue,
        NameMismatch = CertificateBehaviour.WarnsAndAllowsContinue,
        MinimumCredSspVersion = PatchedCredSspVersion,
        Unverified =
        [
            "whether mstsc offers TLS 1.3 for RDP on every Windows 11 build",
            "TLS 1.0/1.1 disabled by default on every Windows 11 release (announced 2023 for new builds; older installs may still offer them)",
            "fallback to Standard RDP Security after SSL_CERT_NOT_ON_SERVER",
            "minimum RSA key size of the server certificate (not modelled)",
        ],
    };

    /// <summary>mstsc on Windows 10 (patched, default settings).</summary>
    public static ClientProfile Windows10 { get; } = Windows11 with
    {
        Name = "windows10",
        DisplayName = "Windows 10",
        Description = "mstsc on Windows 10 (updated, default settings)",

        // Windows 10's Schannel enables TLS 1.0-1.2 by default; TLS 1.3 is not enabled for clients on Windows 10.
        TlsVersions = [TlsVersion.Tls10, TlsVersion.Tls11, TlsVersion.Tls12],
        TlsCipherSuites = ClientTlsOffers.Windows10,
        Unverified =
        [
            "fallback to Standard RDP Security after SSL_CERT_NOT_ON_SERVER",
            "minimum RSA key size of the server certificate (not modelled)",
        ],
    };

    /// <summary>An old, unpatched Windows 7 / Server 2008 R2 client (RDP 7.1).</summary>
    public static ClientProfile Windows7 { get; } = new()
    {
        Name = "windows7",
        DisplayName = "Windows 7",
        Description = "mstsc on an unpatched Windows 7 SP1 / Server 2008 R2 (RDP 7.1)",

        // HYBRID_EX (the Early User Authorization Result PDU, MS-RDPBCGR 2.2.10.2) came with RDP 8.0 / Windows 8.
        RequestedProtocols = SecurityProtocols.Ssl | SecurityProtocols.Hybrid,
        Fallbacks = [new FallbackStep(SecurityProtocols.Rdp, [NegotiationFailureCode.SslNotAllowedByServer])],
        AcceptsStandardRdpSecurity = true,
        WarnsOnStandardRdpSecurity = true,

        // RDP on Windows 7 / 2008 R2 uses TLS 1.0 only until KB3080079 adds TLS 1.1 and 1.2.
        TlsVersions = [TlsVersion.Tls10],
        TlsCipherSuites = ClientTlsOffers.Windows7,
        UntrustedCertificate = CertificateBehaviour.WarnsAndAllowsContinue,
        ExpiredCertificate = CertificateBehaviour.WarnsAndAllowsContinue,
        NameMismatch = CertificateBehaviour.WarnsAndAllowsContinue,

        // Unpatched for CVE-2018-0886: it speaks old CredSSP and accepts any server version.
        MinimumCredSspVersion = 0,
        Unverified = ["certificate warning wording of RDP 7.1"],
    };

    /// <summary>Microsoft's Windows App (formerly Microsoft Remote Desktop) for macOS and iOS.</summary>
    public static ClientProfile MacOs { get; } = new()
    {
        Name = "macos",
        DisplayName = "the macOS Windows App",
        Description = "Windows App / Microsoft Remote Desktop on macOS and iOS",
        RequestedProtocols = SecurityProtocols.Ssl | SecurityProtocols.Hybrid | SecurityProtocols.HybridEx,
        Fallbacks = [new FallbackStep(SecurityProtocols.Rdp, [NegotiationFailureCode.SslNotAllowedByServer])],
        AcceptsStandardRdpSecurity = true,
        WarnsOnStandardRdpSecurity = true,
        TlsVersions = Tls12Up,

        // Not documented: assumed to be Windows 11's (listed in Unverified).
        TlsCipherSuites = ClientTlsOffers.Windows11,

        // It shows a "Verify certificate" sheet with Continue for certificates it cannot verify.
        UntrustedCertificate = CertificateBehaviour.WarnsAndAllowsContinue,
        ExpiredCertificate = CertificateBehaviour.WarnsAndAllowsContinue,
        NameMismatch = CertificateBehaviour.WarnsAndAllowsContinue,
        MinimumCredSspVersion = PatchedCredSspVersion,
        Unverified =
        [
            "requested protocols (not documented; assumed like mstsc)",
            "fallback to and acceptance of Standard RDP Security",
            "TLS versions offered (assumed 1.2 and 1.3 on current macOS / iOS)",
            "minimum CredSSP version (assumed patched, like current Windows)",
            "cipher suites offered (assumed like Windows 11's Schannel)",
        ],
    };

    /// <summary>xfreerdp 2.x with its defaults (Debian 12's freerdp2-x11 2.11 on OpenSSL 3).</summary>
    public static ClientProfile FreeRdp2 { get; } = new()
    {
        Name = "freerdp2",
        DisplayName = "FreeRDP 2",
        Description = "xfreerdp 2.x (FreeRDP 2, OpenSSL 3) with default settings",

        // libfreerdp/core/nego.c: NLA, TLS and RDP security are enabled by default and extended security (HYBRID_EX) is
        // not, so the first request is SSL|HYBRID (its debug log: "RequestedProtocols: 3").
        RequestedProtocols = SecurityProtocols.Ssl | SecurityProtocols.Hybrid,

        // nego.c nego_attempt_nla / nego_attempt_tls: after any negotiation failure it reconnects asking for TLS alone,
        // then for Standard RDP Security alone (measured against the lab's /sec:rdp shadow server: it connects).
        Fallbacks = [new FallbackStep(SecurityProtocols.Ssl), new FallbackStep(SecurityProtocols.Rdp)],

        // A server that selects PROTOCOL_RDP is accepted silently (measured against xrdp with security_layer=rdp).
        AcceptsStandardRdpSecurity = true,
        WarnsOnStandardRdpSecurity = false,

        // settings.c: TlsSecLevel defaults to 1 ("/tls-seclevel ... defaults to 1" in xfreerdp /help). With OpenSSL 3,
        // security level 1 rules out TLS 1.0 and 1.1 (their MD5+SHA-1 handshake hash is below 80 bits): measured,
        // xfreerdp fails against a TLS-1.0-only xrdp with ERRCONNECT_TLS_CONNECT_FAILED.
        TlsVersions = Tls12Up,
        TlsSecurityLevel = 1,

        // OpenSSL 3's DEFAULT list, measured in xfreerdp's ClientHello (ClientTlsOffers.OpenSsl3Default). Its
        // supported_versions also lists TLS 1.1 and 1.0, but OpenSSL 3 at level 1 does not complete them.
        TlsCipherSuites = ClientTlsOffers.OpenSsl3Default,

        // OpenSSL SSL_CTX_set_security_level: level 1 (80 bits) prohibits RSA keys shorter than 1024 bits.
        MinimumRsaKeyBits = 1024,

        // Without /cert:ignore or /cert:tofu it asks on the terminal whether to trust a certificate it cannot verify
        // (unknown issuer, expired, other name) and goes on after "Y" or "T".
        UntrustedCertificate = CertificateBehaviour.WarnsAndAllowsContinue,
        ExpiredCertificate = CertificateBehaviour.WarnsAndAllowsContinue,
        NameMismatch = CertificateBehaviour.WarnsAndAllowsContinue,

        // nla.c answers older servers with their own version; it enforces no minimum.
        MinimumCredSspVersion = 0,
    };

    /// <summary>xfreerdp 3.x (sdl-freerdp3 / xfreerdp3) with its defaults.</summary>
    public static ClientProfile FreeRdp3 { get; } = FreeRdp2 with
    {
        Name = "freerdp3",
        DisplayName = "FreeRDP 3",
        Description = "xfreerdp3 / sdl-freerdp3 (FreeRDP 3, OpenSSL 3) with default settings",

        // FreeRDP 3 settings.c freerdp_settings_new: TlsSecLevel 1, TLSMinVersion TLS1_VERSION, TLSMaxVersion 0; with
        // OpenSSL 3 at level 1 that again leaves TLS 1.2 and 1.3.
        TlsVersions = Tls12Up,
        Unverified =
        [
            "fallback order after a negotiation failure (assumed unchanged from FreeRDP 2's nego.c)",
            "whether Standard RDP Security is still enabled by default",
        ],
    };

    /// <summary>
    /// RdpProbe's own client before issue 10: offers everything, judges nothing, never falls back. It is what the
    /// probe's verdict answers today, kept so that the old behaviour can still be asked for.
    /// </summary>
    public static ClientProfile Permissive { get; } = new()
    {
        Name = "permissive",
        DisplayName = "RdpProbe's permissive client",
        Description = "RdpProbe's own client: TLS 1.0-1.3, any certificate, any CredSSP version, no fallback",
        RequestedProtocols = SecurityProtocols.Ssl | SecurityProtocols.Hybrid | SecurityProtocols.HybridEx,
        Fallbacks = [],

        // The probe goes on when the server selects PROTOCOL_RDP (reporting security_downgrade) but never sends a password.
        AcceptsStandardRdpSecurity = true,
        WarnsOnStandardRdpSecurity = false,
        TlsVersions = [TlsVersion.Tls10, TlsVersion.Tls11, TlsVersion.Tls12, TlsVersion.Tls13],
        UntrustedCertificate = CertificateBehaviour.Ignores,
        ExpiredCertificate = CertificateBehaviour.Ignores,
        NameMismatch = CertificateBehaviour.Ignores,
        MinimumCredSspVersion = 0,
    };

    /// <summary>Every profile, real clients first.</summary>
    public static IReadOnlyList<ClientProfile> All { get; } = [Windows11, Windows10, Windows7, MacOs, FreeRdp2, FreeRdp3, Permissive];

    /// <summary>The real clients (all but <see cref="Permissive"/>): the default set findings are judged against.</summary>
    public static IReadOnlyList<ClientProfile> RealClients { get; } = [.. All.Where(p => p != Permissive)];

    /// <summary>The profile named <paramref name="name"/> (case-insensitive), for --client.</summary>
    public static bool TryGet(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ClientProfile? profile)
    {
        profile = All.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));
        return profile is not null;
    }

    public static IEnumerable<string> Names => All.Select(p => p.Name);
}
