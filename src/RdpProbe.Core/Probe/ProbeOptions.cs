using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Probe;

/// <summary>What the probe sends and how long it waits. Never holds a password (issue 3 adds credentials separately).</summary>
public sealed record ProbeOptions
{
    /// <summary>What the Windows client asks for by default in its RDP_NEG_REQ (MS-RDPBCGR 2.2.1.1.1).</summary>
    public const SecurityProtocols DefaultProtocols = SecurityProtocols.Ssl | SecurityProtocols.Hybrid | SecurityProtocols.HybridEx;

    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    private readonly SecurityProtocols? requestedProtocols;

    /// <summary>
    /// The client whose view the verdict takes (issue 10; default <see cref="ClientProfiles.Windows11"/>): its first
    /// request and its fallbacks drive the connection sequence, its TLS versions, certificate checks and CredSSP
    /// minimum decide whether what the probe reached counts. The probe itself still gathers facts permissively (it
    /// offers TLS 1.0–1.3 and runs the extra checks), so one run can judge every profile.
    /// </summary>
    public ClientProfile Client { get; init; } = ClientProfiles.Windows11;

    /// <summary>
    /// The X.224 request of the first attempt: the one given explicitly (--protocols), else <see cref="Client"/>'s.
    /// </summary>
    public SecurityProtocols RequestedProtocols
    {
        get => requestedProtocols ?? Client.RequestedProtocols;
        init => requestedProtocols = value;
    }

    /// <summary>
    /// The request was given explicitly: the probe asks exactly that and never falls back to another request on a new
    /// connection, and the verdict judges the profile as if configured to ask for it (its fallbacks do not apply).
    /// </summary>
    public bool ProtocolsForced => requestedProtocols is not null;

    /// <summary>"Cookie: mstshash=" value (MS-RDPBCGR 2.2.1.1), normally the user name; a load-balancer hint.</summary>
    public string? Cookie { get; init; }

    /// <summary>A load-balancer routing token sent in place of the cookie, e.g. "Cookie: msts=3640205228.15629.0000".</summary>
    public string? RoutingToken { get; init; }

    /// <summary>Time limit for each phase on its own.</summary>
    public TimeSpan PhaseTimeout { get; init; } = DefaultTimeout;

    /// <summary>Run the security-layer matrix (one short connection per protocol).</summary>
    public bool SecurityMatrix { get; init; } = true;

    /// <summary>Check which TLS versions the server accepts (one connection per version).</summary>
    public bool TlsVersions { get; init; } = true;

    /// <summary>
    /// Issue 10's client simulation: one short connection per distinct client offer (a profile's X.224 request, TLS
    /// versions and cipher suites) to see what the server does with each real client's ClientHello.
    /// </summary>
    public bool ClientSimulation { get; init; } = true;

    /// <summary>
    /// With <see cref="ClientSimulation"/>: simulate every real client (the compatibility table); false simulates only
    /// <see cref="Client"/> (one connection: what --targets runs use to keep the verdict a real client's).
    /// </summary>
    public bool SimulateAllClients { get; init; } = true;

    /// <summary>
    /// When the server accepts standard RDP security, check which of 40/56/128-bit and FIPS it accepts (one connection
    /// per method, like rdp-sec-check).
    /// </summary>
    public bool EncryptionLevels { get; init; } = true;

    /// <summary>Append NSS key log lines for the main TLS connection to this file (Wireshark decryption).</summary>
    public string? TlsKeyLogPath { get; init; }

    /// <summary>Go past the security handshake: MCS, channels, client info, licensing, up to Demand Active (as far as the
    /// server allows without credentials; with NLA only when credentials were given).</summary>
    public bool SessionPhases { get; init; } = true;

    /// <summary>Run the kerberos phase (issue 12) before CredSSP: realm, KDC, SPN name. Null: no Kerberos.</summary>
    public KerberosOptions? Kerberos { get; init; }

    /// <summary>Probe every resolved address instead of the first.</summary>
    public bool AllAddresses { get; init; }

    /// <summary>
    /// After a timeout, close or reset at x224, identify the service on the port with up to two short extra connections
    /// (a banner or an HTTP answer, then a TLS ClientHello; ServiceIdentify) and give it to the verdict as evidence.
    /// </summary>
    public bool IdentifyService { get; init; } = true;

    /// <summary>
    /// CredSSP's mechanism (--auth, issue 12); null takes <see cref="AuthMechanisms.Default"/>: negotiate when a realm
    /// is known (<see cref="Realm"/>), NTLM otherwise.
    /// </summary>
    public AuthMechanism? Auth { get; init; }

    /// <summary>The Kerberos realm the client belongs to (issue 12), when known; the KDC itself is MIT krb5's business.</summary>
    public string? Realm { get; init; }
}
