namespace RdpProbe.Diagnosis;

/// <summary>
/// Handshake phases in connection order (docs/REPORTS.md, "Phases"). Serialised in snake_case: dns, tcp, x224, tls, credssp, early_auth,
/// mcs, channels, security_exchange, client_info, licensing, capabilities; extra checks follow.
/// </summary>
public enum Phase
{
    Dns,
    Tcp,
    X224,
    Tls,

    /// <summary>The client's Kerberos exchanges with the KDC before CredSSP (issue 12): only when Kerberos was asked for.</summary>
    Kerberos,
    Credssp,
    EarlyAuth,
    Mcs,
    Channels,
    SecurityExchange,
    ClientInfo,
    Licensing,
    Capabilities,

    // Extra checks, not part of the connection sequence.
    SecurityMatrix,
    TlsVersions,
    EncryptionLevels,
    Udp,
    Mtu,

    /// <summary>Issue 10: connections with each client profile's exact X.224 request, TLS versions and cipher suites.</summary>
    ClientSimulation,
}

/// <summary>How a phase ended (docs/REPORTS.md, "Endings").</summary>
public enum Ending
{
    Ok,
    Refused,
    Timeout,
    Reset,
    Closed,
    NegotiationFailure,
    TlsAlert,
    ProtocolViolation,
    NotRdp,
    AuthFailed,
    AccessDenied,
    ServerErrorInfo,
    Skipped,

    /// <summary>Host unreachable / no route / name did not resolve: the phase could not even start talking.</summary>
    Unreachable,

    /// <summary>
    /// The probe itself stopped, as a careful client does: the server's choices would have exposed the password
    /// (a security downgrade, no encryption). Nothing secret was sent.
    /// </summary>
    ClientRefused,

    /// <summary>
    /// Offline analysis only: the capture ended while the connection was still open (no FIN or RST, not idle long
    /// enough to call it a timeout), so nothing ended it.
    /// </summary>
    Open,
}

public enum PhaseStatus
{
    Ok,
    Failed,
    Skipped,
}

public static class PhaseNames
{
    /// <summary>The report word: snake_case of the enum name ("EarlyAuth" → "early_auth", "X224" → "x224").</summary>
    public static string ToReportName(this Phase phase) => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(phase.ToString());

    public static string ToReportName(this Ending ending) => SnakeCase(ending.ToString());

    public static string SnakeCase(string pascalName) => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(pascalName);
}
