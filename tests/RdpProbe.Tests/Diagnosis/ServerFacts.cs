using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.Diagnosis;

/// <summary>Hand-built facts of typical servers, as a probe requesting SSL|HYBRID|HYBRID_EX would find them.</summary>
internal static class ServerFacts
{
    public static readonly DateTimeOffset Now = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    public const SecurityProtocols ProbeRequest = SecurityProtocols.Ssl | SecurityProtocols.Hybrid | SecurityProtocols.HybridEx;

    public static CertificateFacts GoodSelfSigned => new()
    {
        NotBefore = Now.AddDays(-100),
        NotAfter = Now.AddDays(265),
        SelfSigned = true,
        KeyAlgorithm = "rsa",
        KeySize = 2048,
        SignatureAlgorithm = "sha256RSA",
        Subject = "CN=rdp.example.test",
        Issuer = "CN=rdp.example.test",
        SubjectCommonName = "rdp.example.test",
    };

    public static CertificateFacts CaIssued => GoodSelfSigned with
    {
        SelfSigned = false,
        Issuer = "CN=Example Issuing CA",
        SubjectAltNames = ["rdp.example.test", "*.desktops.example.test"],
    };

    public static Dictionary<TlsVersion, bool?> Versions(params TlsVersion[] accepted)
        => Enum.GetValues<TlsVersion>().ToDictionary(v => v, v => (bool?)accepted.Contains(v));

    /// <summary>xrdp's defaults: TLS or Standard RDP Security, no NLA, TLS 1.2/1.3, self-signed certificate.</summary>
    public static SecurityFacts XrdpNegotiate => new()
    {
        ObservedAt = Now,
        RequestedProtocols = ProbeRequest,
        SelectedProtocol = SecurityProtocols.Ssl,
        Matrix = new Dictionary<SecurityProtocols, ProtocolOutcome>
        {
            [SecurityProtocols.Rdp] = new(ProtocolSupport.Supported, SecurityProtocols.Rdp),
            [SecurityProtocols.Ssl] = new(ProtocolSupport.Supported, SecurityProtocols.Ssl),
            [SecurityProtocols.Hybrid] = new(ProtocolSupport.Downgraded, SecurityProtocols.Rdp),
            [SecurityProtocols.HybridEx] = new(ProtocolSupport.Downgraded, SecurityProtocols.Rdp),
        },
        NlaRequired = false,
        TlsVersionsAccepted = Versions(TlsVersion.Tls12, TlsVersion.Tls13),
        NegotiatedTlsVersion = TlsVersion.Tls13,
        Certificate = GoodSelfSigned,
        AcceptedEncryptionMethods = [StandardEncryptionMethod.Bit128],
    };

    /// <summary>A Windows server requiring NLA, patched, CA-issued certificate.</summary>
    public static SecurityFacts WindowsNla => new()
    {
        ObservedAt = Now,
        HostName = "rdp.example.test",
        RequestedProtocols = ProbeRequest,
        SelectedProtocol = SecurityProtocols.HybridEx,
        Matrix = new Dictionary<SecurityProtocols, ProtocolOutcome>
        {
            [SecurityProtocols.Rdp] = new(ProtocolSupport.Refused, null, NegotiationFailureCode.HybridRequiredByServer),
            [SecurityProtocols.Ssl] = new(ProtocolSupport.Refused, null, NegotiationFailureCode.HybridRequiredByServer),
            [SecurityProtocols.Hybrid] = new(ProtocolSupport.Supported, SecurityProtocols.Hybrid),
            [SecurityProtocols.HybridEx] = new(ProtocolSupport.Supported, SecurityProtocols.HybridEx),
        },
        NlaRequired = true,
        TlsVersionsAccepted = Versions(TlsVersion.Tls12),
        NegotiatedTlsVersion = TlsVersion.Tls12,
        Certificate = CaIssued,
        CredSspServerVersion = 6,
        NtlmClockSkewSeconds = 1.5,
    };

    /// <summary>Standard RDP Security only: RDP_NEG_FAILURE ssl_not_allowed_by_server to anything with SSL.</summary>
    public static SecurityFacts RdpOnly => new()
    {
        ObservedAt = Now,
        RequestedProtocols = ProbeRequest,
        FailureCode = NegotiationFailureCode.SslNotAllowedByServer,
        Matrix = new Dictionary<SecurityProtocols, ProtocolOutcome>
        {
            [SecurityProtocols.Rdp] = new(ProtocolSupport.Supported, SecurityProtocols.Rdp),
            [SecurityProtocols.Ssl] = new(ProtocolSupport.Refused, null, NegotiationFailureCode.SslNotAllowedByServer),
            [SecurityProtocols.Hybrid] = new(ProtocolSupport.Refused, null, NegotiationFailureCode.SslNotAllowedByServer),
            [SecurityProtocols.HybridEx] = new(ProtocolSupport.Refused, null, NegotiationFailureCode.SslNotAllowedByServer),
        },
        NlaRequired = false,
        AcceptedEncryptionMethods = [StandardEncryptionMethod.Bit128],
        Failure = new ConnectionFailure(Phase.X224, Ending.NegotiationFailure, "ssl_not_allowed_by_server"),
    };

    /// <summary>xrdp with ssl_protocols=TLSv1.</summary>
    public static SecurityFacts Tls10Only => XrdpNegotiate with
    {
        TlsVersionsAccepted = Versions(TlsVersion.Tls10),
        NegotiatedTlsVersion = TlsVersion.Tls10,
    };

    /// <summary>xrdp that cannot load its certificate: selects PROTOCOL_RDP for every request.</summary>
    public static SecurityFacts Downgrading => new()
    {
        ObservedAt = Now,
        RequestedProtocols = ProbeRequest,
        SelectedProtocol = SecurityProtocols.Rdp,
        Matrix = new Dictionary<SecurityProtocols, ProtocolOutcome>
        {
            [SecurityProtocols.Rdp] = new(ProtocolSupport.Supported, SecurityProtocols.Rdp),
            [SecurityProtocols.Ssl] = new(ProtocolSupport.Downgraded, SecurityProtocols.Rdp),
            [SecurityProtocols.Hybrid] = new(ProtocolSupport.Downgraded, SecurityProtocols.Rdp),
            [SecurityProtocols.HybridEx] = new(ProtocolSupport.Downgraded, SecurityProtocols.Rdp),
        },
        NlaRequired = false,
        EncryptionMethod = StandardEncryptionMethod.Bit128,
        EncryptionLevel = StandardEncryptionLevel.High,
        AcceptedEncryptionMethods = [StandardEncryptionMethod.Bit128],
    };
}
