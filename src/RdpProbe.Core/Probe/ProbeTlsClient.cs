using System.Diagnostics;
using System.Net;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;
using RdpProbe.Protocol;

namespace RdpProbe.Probe;

/// <summary>
/// BouncyCastle's TLS client configured for a probe: offers the chosen versions and a wide list of suites (old RDP
/// servers only have CBC suites with TLS 1.0), accepts any server certificate (it is reported, not judged) and records
/// what happened through the TlsPeer callbacks. OpenSSL on Debian 12 refuses TLS 1.0/1.1, BouncyCastle does not.
/// </summary>
internal sealed class ProbeTlsClient : DefaultTlsClient
{
    private static readonly int[] Suites =
    [
        CipherSuite.TLS_AES_128_GCM_SHA256,
        CipherSuite.TLS_AES_256_GCM_SHA384,
        CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        CipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        CipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
        CipherSuite.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384,
        CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
        CipherSuite.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
        CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
        CipherSuite.TLS_DHE_RSA_WITH_AES_256_GCM_SHA384,
        CipherSuite.TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,
        CipherSuite.TLS_DHE_RSA_WITH_AES_256_CBC_SHA256,
        CipherSuite.TLS_DHE_RSA_WITH_AES_128_CBC_SHA256,
        CipherSuite.TLS_DHE_RSA_WITH_AES_256_CBC_SHA,
        CipherSuite.TLS_DHE_RSA_WITH_AES_128_CBC_SHA,
        CipherSuite.TLS_RSA_WITH_AES_256_GCM_SHA384,
        CipherSuite.TLS_RSA_WITH_AES_128_GCM_SHA256,
        CipherSuite.TLS_RSA_WITH_AES_256_CBC_SHA256,
        CipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA256,
        CipherSuite.TLS_RSA_WITH_AES_256_CBC_SHA,
        CipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA,
        CipherSuite.TLS_RSA_WITH_3DES_EDE_CBC_SHA,
    ];

    private readonly ProtocolVersion[] versions;
    private readonly string? serverName;
    private readonly long start;

    /// <summary>The suites to offer instead of the wide default list (the client simulation: a profile's exact list).</summary>
    private readonly int[]? suites;

    public ProbeTlsClient(ProtocolVersion[] versions, string? serverName, long start, int[]? suites = null)
        : base(new BcTlsCrypto())
    {
        this.versions = versions;
        this.serverName = serverName;
        this.start = start;
        this.suites = suites;
    }

    /// <summary>The suites of <paramref name="wanted"/> this TLS library can offer, in their order.</summary>
    public static int[] Offerable(IEnumerable<int> wanted) => TlsUtilities.GetSupportedCipherSuites(new BcTlsCrypto(), [.. wanted]);

    public ProtocolVersion? ServerVersion { get; private set; }

    public int? SelectedCipherSuite { get; private set; }

    public IList<byte[]> ServerCertificates { get; } = [];

    public List<TlsAlertInfo> Alerts { get; } = [];

    public bool HandshakeComplete { get; private set; }

    /// <summary>NSS key log lines gathered during the handshake (only when <see cref="CollectKeyLog"/> is set).</summary>
    public List<string> KeyLogLines { get; } = [];

    public bool CollectKeyLog { get; init; }

    public static ProtocolVersion[] AllVersions => [ProtocolVersion.TLSv13, ProtocolVersion.TLSv12, ProtocolVersion.TLSv11, ProtocolVersion.TLSv10];

    protected override ProtocolVersion[] GetSupportedVersions() => versions;

    protected override int[] GetSupportedCipherSuites() => TlsUtilities.GetSupportedCipherSuites(Crypto, suites ?? Suites);

    protected override IList<ServerName>? GetSniServerNames()
    {
        // SNI carries host names only (RFC 6066 §3); an address literal is not sent.
        if (serverName is null || IPAddress.TryParse(serverName, out _))
        {
            return null;
        }

        return [new ServerName(NameType.host_name, System.Text.Encoding.ASCII.GetBytes(serverName))];
    }

    public override TlsAuthentication GetAuthentication() => new AcceptAnyCertificate(this);

    public override void NotifyServerVersion(ProtocolVersion serverVersion)
    {
        base.NotifyServerVersion(serverVersion);
        ServerVersion = serverVersion;
    }

    public override void NotifySelectedCipherSuite(int selectedCipherSuite)
    {
        base.NotifySelectedCipherSuite(selectedCipherSuite);
        SelectedCipherSuite = selectedCipherSuite;
    }

    public override void NotifyAlertRaised(short alertLevel, short alertDescription, string message, Exception cause)
        => Alerts.Add(Alert("client", alertLevel, alertDescription));

    public override void NotifyAlertReceived(short alertLevel, short alertDescription)
        => Alerts.Add(Alert("server", alertLevel, alertDescription));

    public override void NotifyHandshakeComplete()
    {
        base.NotifyHandshakeComplete();
        HandshakeComplete = true;
        if (CollectKeyLog)
        {
            KeyLog.Collect(m_context.SecurityParameters, handshakePhase: false, KeyLogLines);
        }
    }

    private TlsAlertInfo Alert(string from, short level, short description) => new(
        from,
        level == AlertLevel.fatal ? "fatal" : "warning",
        TlsNames.AlertName((TlsAlertDescription)description),
        Math.Round(Stopwatch.GetElapsedTime(start).TotalMilliseconds, 3));

    public string VersionName => ServerVersion is null ? "unknown" : TlsNames.VersionName((ushort)((ServerVersion.MajorVersion << 8) | ServerVersion.MinorVersion));

    public static string CipherSuiteName(int suite) => CipherSuiteNames.Get(suite);

    /// <summary>Takes every certificate as it is: the probe reports certificate facts instead of failing on them.</summary>
    private sealed class AcceptAnyCertificate(ProbeTlsClient owner) : TlsAuthentication
    {
        public void NotifyServerCertificate(TlsServerCertificate serverCertificate)
        {
            var chain = serverCertificate.Certificate;
            for (int i = 0; i < chain.Length; i++)
            {
                owner.ServerCertificates.Add(chain.GetCertificateAt(i).GetEncoded());
            }

            // TLS 1.3: the handshake traffic secrets are live now (after ServerHello, before Finished); later they are replaced.
            if (owner.CollectKeyLog)
            {
                KeyLog.Collect(owner.m_context.SecurityParameters, handshakePhase: true, owner.KeyLogLines);
            }
        }

        public TlsCredentials? GetClientCredentials(CertificateRequest certificateRequest) => null;
    }
}

/// <summary>IANA names of cipher suites, from BouncyCastle's CipherSuite constants.</summary>
internal static class CipherSuiteNames
{
    private static readonly Lazy<Dictionary<int, string>> Names = new(() =>
        typeof(CipherSuite).GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(int) && f.Name.StartsWith("TLS_", StringComparison.Ordinal))
            .GroupBy(f => (int)f.GetRawConstantValue()!)
            .ToDictionary(g => g.Key, g => g.First().Name));

    public static string Get(int suite) => Names.Value.TryGetValue(suite, out string? name) ? name : $"0x{suite:x4}";
}

/// <summary>
/// NSS key log lines (the SSLKEYLOGFILE format Wireshark reads): CLIENT_RANDOM for TLS ≤ 1.2, the traffic secrets for
/// TLS 1.3. Only TLS secrets ever go here, never a password.
/// </summary>
internal static class KeyLog
{
    public static void Collect(SecurityParameters? parameters, bool handshakePhase, List<string> lines)
    {
        if (parameters?.ClientRandom is not { } clientRandom)
        {
            return;
        }

        string random = Hex(clientRandom);
        bool tls13 = parameters.NegotiatedVersion is { } v && TlsUtilities.IsTlsV13(v);
        if (tls13)
        {
            if (handshakePhase)
            {
                Add(lines, "CLIENT_HANDSHAKE_TRAFFIC_SECRET", random, parameters.TrafficSecretClient);
                Add(lines, "SERVER_HANDSHAKE_TRAFFIC_SECRET", random, parameters.TrafficSecretServer);
            }
            else
            {
                Add(lines, "CLIENT_TRAFFIC_SECRET_0", random, parameters.TrafficSecretClient);
                Add(lines, "SERVER_TRAFFIC_SECRET_0", random, parameters.TrafficSecretServer);
                Add(lines, "EXPORTER_SECRET", random, parameters.ExporterMasterSecret);
            }
        }
        else if (!handshakePhase)
        {
            Add(lines, "CLIENT_RANDOM", random, parameters.MasterSecret);
        }
    }

    private static void Add(List<string> lines, string label, string random, TlsSecret? secret)
    {
        byte[]? bytes = Peek(secret);
        if (bytes is not null)
        {
            lines.Add($"{label} {random} {Hex(bytes)}");
        }
    }

    /// <summary>
    /// Reads a secret without consuming it: <see cref="TlsSecret.Extract"/> destroys the secret the connection still
    /// needs, while Encrypt hands the raw bytes to an encryptor — here one that returns them unchanged.
    /// </summary>
    private static byte[]? Peek(TlsSecret? secret)
    {
        if (secret is null)
        {
            return null;
        }

        try
        {
            return secret.Encrypt(new CopyingEncryptor());
        }
        catch (InvalidOperationException)
        {
            // Already destroyed by the protocol (a later key schedule stage replaced it).
            return null;
        }
    }

    private static string Hex(byte[] bytes) => Convert.ToHexString(bytes).ToLowerInvariant();

    private sealed class CopyingEncryptor : TlsEncryptor
    {
        public byte[] Encrypt(byte[] input, int inOff, int length) => input.AsSpan(inOff, length).ToArray();
    }
}
