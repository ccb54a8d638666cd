using RdpProbe.Protocol;

namespace RdpProbe.Diagnosis;

/// <summary>
/// The TLS cipher suites each client profile offers in its ClientHello, in its order, as IANA code points (RFC 8446
/// B.4, RFC 5246 A.5, the IANA "TLS Cipher Suites" registry). The client simulation (Probe/ClientSimulationCheck.cs)
/// offers exactly these, with the profile's versions, after the profile's X.224 request.
/// </summary>
public static class ClientTlsOffers
{
    // IANA code points, named as in the registry.
    private const int Aes128GcmSha256 = 0x1301;
    private const int Aes256GcmSha384 = 0x1302;
    private const int Chacha20Poly1305Sha256 = 0x1303;
    private const int EcdheEcdsaAes256GcmSha384 = 0xC02C;
    private const int EcdheEcdsaAes128GcmSha256 = 0xC02B;
    private const int EcdheRsaAes256GcmSha384 = 0xC030;
    private const int EcdheRsaAes128GcmSha256 = 0xC02F;
    private const int DheRsaAes256GcmSha384 = 0x009F;
    private const int DheRsaAes128GcmSha256 = 0x009E;
    private const int EcdheEcdsaChacha20 = 0xCCA9;
    private const int EcdheRsaChacha20 = 0xCCA8;
    private const int DheRsaChacha20 = 0xCCAA;
    private const int EcdheEcdsaAes256CbcSha384 = 0xC024;
    private const int EcdheEcdsaAes128CbcSha256 = 0xC023;
    private const int EcdheRsaAes256CbcSha384 = 0xC028;
    private const int EcdheRsaAes128CbcSha256 = 0xC027;
    private const int DheRsaAes256CbcSha256 = 0x006B;
    private const int DheRsaAes128CbcSha256 = 0x0067;
    private const int EcdheEcdsaAes256CbcSha = 0xC00A;
    private const int EcdheEcdsaAes128CbcSha = 0xC009;
    private const int EcdheRsaAes256CbcSha = 0xC014;
    private const int EcdheRsaAes128CbcSha = 0xC013;
    private const int DheRsaAes256CbcSha = 0x0039;
    private const int DheRsaAes128CbcSha = 0x0033;
    private const int RsaAes256GcmSha384 = 0x009D;
    private const int RsaAes128GcmSha256 = 0x009C;
    private const int RsaAes256CbcSha256 = 0x003D;
    private const int RsaAes128CbcSha256 = 0x003C;
    private const int RsaAes256CbcSha = 0x0035;
    private const int RsaAes128CbcSha = 0x002F;
    private const int RsaRc4128Sha = 0x0005;
    private const int RsaRc4128Md5 = 0x0004;
    private const int Rsa3DesEdeCbcSha = 0x000A;
    private const int DheDssAes128CbcSha = 0x0032;
    private const int DheDssAes256CbcSha = 0x0038;
    private const int DheDss3DesEdeCbcSha = 0x0013;

    /// <summary>
    /// Schannel on Windows 11 with its default priority order (Microsoft Learn, "TLS Cipher Suites in Windows 11"):
    /// the TLS 1.3 suites, then ECDHE and DHE with AES-GCM, ECDHE with AES-CBC, and plain RSA key exchange last.
    /// </summary>
    public static IReadOnlyList<int> Windows11 { get; } =
    [
        Aes256GcmSha384, Aes128GcmSha256,
        EcdheEcdsaAes256GcmSha384, EcdheEcdsaAes128GcmSha256, EcdheRsaAes256GcmSha384, EcdheRsaAes128GcmSha256,
        DheRsaAes256GcmSha384, DheRsaAes128GcmSha256,
        EcdheEcdsaAes256CbcSha384, EcdheEcdsaAes128CbcSha256, EcdheRsaAes256CbcSha384, EcdheRsaAes128CbcSha256,
        EcdheEcdsaAes256CbcSha, EcdheEcdsaAes128CbcSha, EcdheRsaAes256CbcSha, EcdheRsaAes128CbcSha,
        RsaAes256GcmSha384, RsaAes128GcmSha256, RsaAes256CbcSha256, RsaAes128CbcSha256, RsaAes256CbcSha, RsaAes128CbcSha,
    ];

    /// <summary>
    /// Schannel on Windows 10 22H2 with its default order (Microsoft Learn, "TLS Cipher Suites in Windows 10 v22H2"):
    /// no TLS 1.3 suites, ECDHE with AES-GCM then AES-CBC, then plain RSA key exchange.
    /// </summary>
    public static IReadOnlyList<int> Windows10 { get; } =
    [
        EcdheEcdsaAes256GcmSha384, EcdheEcdsaAes128GcmSha256, EcdheRsaAes256GcmSha384, EcdheRsaAes128GcmSha256,
        EcdheEcdsaAes256CbcSha384, EcdheEcdsaAes128CbcSha256, EcdheRsaAes256CbcSha384, EcdheRsaAes128CbcSha256,
        EcdheEcdsaAes256CbcSha, EcdheEcdsaAes128CbcSha, EcdheRsaAes256CbcSha, EcdheRsaAes128CbcSha,
        RsaAes256GcmSha384, RsaAes128GcmSha256, RsaAes256CbcSha256, RsaAes128CbcSha256, RsaAes256CbcSha, RsaAes128CbcSha,
    ];

    /// <summary>
    /// Schannel on Windows 7 SP1 before the KB3042058 reorder (Microsoft Learn, "TLS Cipher Suites in Windows 7"; the
    /// "SSL Cipher Suite Order" policy's factory list): the suites usable with TLS 1.0, plain RSA first, RC4 and 3DES
    /// still on. RC4 and DHE-DSS cannot be offered by RdpProbe's TLS library (BouncyCastle); the simulation says so.
    /// </summary>
    public static IReadOnlyList<int> Windows7 { get; } =
    [
        RsaAes128CbcSha, RsaAes256CbcSha, RsaRc4128Sha, Rsa3DesEdeCbcSha,
        EcdheRsaAes128CbcSha, EcdheRsaAes256CbcSha, EcdheEcdsaAes128CbcSha, EcdheEcdsaAes256CbcSha,
        DheDssAes128CbcSha, DheDssAes256CbcSha, DheDss3DesEdeCbcSha, RsaRc4128Md5,
    ];

    /// <summary>
    /// xfreerdp 2.11 on Debian 12 (OpenSSL 3.0, FreeRDP sets no cipher list without /tls-ciphers, so OpenSSL's DEFAULT
    /// applies): measured in this lab, the ClientHello xfreerdp sent to xrdp (tshark, 2026-12-01), without the
    /// renegotiation SCSV. OpenSSL 3 offers the same list under FreeRDP 3's defaults.
    /// </summary>
    public static IReadOnlyList<int> OpenSsl3Default { get; } =
    [
        Aes256GcmSha384, Chacha20Poly1305Sha256, Aes128GcmSha256,
        EcdheEcdsaAes256GcmSha384, EcdheRsaAes256GcmSha384, DheRsaAes256GcmSha384,
        EcdheEcdsaChacha20, EcdheRsaChacha20, DheRsaChacha20,
        EcdheEcdsaAes128GcmSha256, EcdheRsaAes128GcmSha256, DheRsaAes128GcmSha256,
        EcdheEcdsaAes256CbcSha384, EcdheRsaAes256CbcSha384, DheRsaAes256CbcSha256,
        EcdheEcdsaAes128CbcSha256, EcdheRsaAes128CbcSha256, DheRsaAes128CbcSha256,
        EcdheEcdsaAes256CbcSha, EcdheRsaAes256CbcSha, DheRsaAes256CbcSha,
        EcdheEcdsaAes128CbcSha, EcdheRsaAes128CbcSha, DheRsaAes128CbcSha,
        RsaAes256GcmSha384, RsaAes128GcmSha256, RsaAes256CbcSha256, RsaAes128CbcSha256, RsaAes256CbcSha, RsaAes128CbcSha,
    ];
}

/// <summary>
/// One distinct ClientHello offer after one X.224 request: what the client simulation sends on a connection of its
/// own. Profiles with the same offer share one connection.
/// </summary>
public sealed record ClientOffer(SecurityProtocols RequestedProtocols, IReadOnlyList<TlsVersion> Versions, IReadOnlyList<int> CipherSuites)
{
    /// <summary>A stable key (equality of the lists by content).</summary>
    public string Key => $"{(int)RequestedProtocols}|{string.Join(",", Versions)}|{string.Join(",", CipherSuites)}";
}

/// <summary>How the server answered one simulated client's ClientHello.</summary>
public enum SimulatedTlsOutcome
{
    /// <summary>The handshake completed with the client's exact versions and suites.</summary>
    Accepted,

    /// <summary>The server turned the ClientHello down (an alert, a close, a reset).</summary>
    Refused,

    /// <summary>The server did not select a TLS-based protocol for this client's request (no TLS to try).</summary>
    NoTls,

    /// <summary>Nothing could be learnt (timeout, the connection failed before the ClientHello).</summary>
    Unknown,
}

/// <summary>
/// What a connection with one profile's exact X.224 request and ClientHello found (the client simulation).
/// </summary>
/// <param name="Outcome">How the TLS handshake ended.</param>
/// <param name="Requested">The X.224 request of this connection (the profile's first request, or a fallback's).</param>
/// <param name="Selected">The protocol the server selected on it; null after a failure or no answer.</param>
/// <param name="FailureCode">The server's RDP_NEG_FAILURE code, when it refused the request.</param>
/// <param name="Version">The TLS version the server selected (Accepted).</param>
/// <param name="CipherSuite">The IANA name of the suite the server selected (Accepted).</param>
/// <param name="Detail">What happened, in words (the alert, the close).</param>
/// <param name="NotOffered">Suites of the profile that RdpProbe's TLS library cannot offer (RC4, DSS): a refusal is then not conclusive.</param>
public sealed record SimulatedHandshake(
    SimulatedTlsOutcome Outcome,
    SecurityProtocols Requested,
    SecurityProtocols? Selected,
    NegotiationFailureCode? FailureCode,
    TlsVersion? Version,
    string? CipherSuite,
    string Detail,
    IReadOnlyList<string> NotOffered);
