using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using RdpProbe.Diagnosis;
using RdpProbe.Probe;
using RdpProbe.Protocol;
using RdpProbe.Tests.Probe.Phases;
using SessionServer = RdpProbe.Tests.Probe.Phases.FakeRdpServer;

namespace RdpProbe.Tests.Probe;

/// <summary>
/// The whole engine with the session phases on (as shipped): a scripted server answers the X.224 request with the
/// selection the case needs, runs a real TLS handshake (SslStream, self-signed) when that selection is TLS-based, the
/// scripted CredSSP server when it is NLA, and then the scripted session phases.
/// </summary>
public sealed class ProbeEngineSessionTests
{
    private const string Password = "Passw0rd!";

    private static readonly ProbeOptions Options = new()
    {
        PhaseTimeout = TimeSpan.FromSeconds(10),
        SecurityMatrix = false,
        TlsVersions = false,
        ClientSimulation = false,
        EncryptionLevels = false,
        SessionPhases = true,
    };

    private static readonly RSA ServerKey = RSA.Create(2048);

    private static readonly X509Certificate2 ServerCertificate = CreateCertificate();

    private static X509Certificate2 CreateCertificate()
    {
        var request = new CertificateRequest("CN=fake-rdp.test", ServerKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var ephemeral = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));

        // Through PKCS#12 so the private key is usable by the platform's TLS server everywhere.
        return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>The subjectPublicKey the client binds in CredSSP (MS-CSSP 3.1.5): the PKCS#1 RSAPublicKey.</summary>
    private static byte[] ServerPublicKey => ServerKey.ExportRSAPublicKey();

    private static async Task<ProbeReport> ProbeAsync(SecurityProtocols select, Func<Stream, CancellationToken, Task> afterSecurity,
        ProbeOptions? options = null, bool withCredentials = false)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var serve = Task.Run(async () =>
        {
            using var socket = await listener.AcceptSocketAsync(stop.Token);
            await using var network = new NetworkStream(socket, ownsSocket: false);
            var request = await ScriptedServer.ReadTpktAsync(network, stop.Token);
            Assert.Equal(X224TpduCode.ConnectionRequest, (X224TpduCode)request[5]);
            await network.WriteAsync(X224.EncodeConnectionConfirm(new X224ConnectionConfirm(0x1234, new NegotiationMessage(NegotiationType.Response, 0, (uint)select))), stop.Token);

            Stream stream = network;
            await using var tls = new SslStream(network, leaveInnerStreamOpen: true);
            if (select != SecurityProtocols.Rdp)
            {
                await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = ServerCertificate }, stop.Token);
                stream = tls;
            }

            await afterSecurity(stream, stop.Token);

            // Hold the connection until the probe hangs up, so its last reads see what was sent rather than a reset.
            try
            {
                var sink = new byte[4096];
                while (await stream.ReadAsync(sink, stop.Token) > 0)
                {
                }
            }
            catch (IOException)
            {
            }
        });

        var engine = new ProbeEngine(options ?? Options);
        if (withCredentials)
        {
            engine = engine.WithCredentials("LAB\\probe", Password);
        }

        var report = Assert.Single(await engine.RunAsync(ProbeTarget.Parse($"127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}"), CancellationToken.None));

        // The server's own assertions (what the client sent, decrypted and checked) fail the test through here.
        await serve.WaitAsync(TimeSpan.FromSeconds(30));
        return report;
    }

    private static Phase[] PhasesOf(ProbeReport report) => [.. report.Phases.Select(p => p.Phase)];

    private static void AssertAllOk(ProbeReport report)
        => Assert.All(report.Phases, p => Assert.True(p.Status == PhaseStatus.Ok, $"{p.Phase}: {p.Ending} {p.Code} {p.Detail}"));

    [Fact]
    public async Task Tls_session_reaches_demand_active()
    {
        var session = new SessionServer();
        var report = await ProbeAsync(SecurityProtocols.Ssl, session.RunAsync);

        AssertAllOk(report);
        Assert.Equal([Phase.Tcp, Phase.X224, Phase.Tls, Phase.Mcs, Phase.Channels, Phase.ClientInfo, Phase.Licensing, Phase.Capabilities], PhasesOf(report));
        Assert.True(report.Verdict.Ok, report.Verdict.Summary);
        Assert.Equal(Phase.Capabilities, report.Verdict.Phase);
        Assert.Equal(NextStep.None, report.NextStep);

        Assert.Equal("CN=fake-rdp.test", report.Tls!.Certificate!.Subject);
        var facts = report.Session!;
        Assert.Equal("RDP 10.7", facts.ServerVersion);
        Assert.Equal((ushort?)SessionServer.User, facts.UserChannelId);
        Assert.Equal(4, facts.JoinedChannels.Count);
        Assert.Equal("valid_client", facts.Licensing);
        Assert.NotNull(facts.DemandActive);
        Assert.Null(facts.ErrorInfo);
        Assert.True(session.SawDisconnect);

        // The session phases run over TLS but are timed on the socket underneath: the runner saw their round trips.
        Assert.True(report.Phases.Single(p => p.Phase == Phase.Mcs).RoundTrips >= 1);
        Assert.Equal(0, session.ClientInfoSeen!.Value.PasswordBytes);
    }

    [Fact]
    public async Task Standard_security_with_encryption_reaches_demand_active()
    {
        var session = new SessionServer { StandardSecurity = true };
        var report = await ProbeAsync(SecurityProtocols.Rdp, session.RunAsync, Options with { RequestedProtocols = SecurityProtocols.Rdp });

        AssertAllOk(report);
        Assert.Equal([Phase.Tcp, Phase.X224, Phase.Mcs, Phase.Channels, Phase.SecurityExchange, Phase.ClientInfo, Phase.Licensing, Phase.Capabilities], PhasesOf(report));
        Assert.True(report.Verdict.Ok, report.Verdict.Summary);
        Assert.Equal(Phase.Capabilities, report.Verdict.Phase);
        Assert.Null(report.Tls);
        Assert.Equal("128-bit", report.Session!.EncryptionMethod);
        Assert.NotNull(report.Session.ServerCertificate);
        Assert.NotNull(report.Session.DemandActive);

        // The server decrypted the Client Info PDU with the keys from the security exchange.
        Assert.NotNull(session.ClientInfoSeen);
        Assert.DoesNotContain(report.Findings, f => f.Severity == Severity.Critical);
    }

    [Fact]
    public async Task Set_error_info_after_the_channels_ends_the_probe_with_its_name()
    {
        var session = new SessionServer { AfterChannels = SessionServer.Ending.SetErrorInfoThenDisconnect };
        var report = await ProbeAsync(SecurityProtocols.Ssl, session.RunAsync);

        Assert.False(report.Verdict.Ok);
        Assert.Equal(Phase.Licensing, report.Verdict.Phase);
        Assert.Equal(Ending.ServerErrorInfo, report.Verdict.Ending);
        Assert.Equal("errinfo_server_denied_connection", report.Verdict.Code?.Word);
        Assert.Contains("Client Info PDU", report.Phases[^1].Detail, StringComparison.Ordinal);
        Assert.Equal("0x00000007", report.Session!.ErrorInfo);
        Assert.DoesNotContain(report.Phases, p => p.Phase == Phase.Capabilities);
    }

    [Fact]
    public async Task License_error_alert_ends_the_probe_at_licensing()
    {
        var session = new SessionServer { AfterChannels = SessionServer.Ending.LicenseErrorThenDisconnect };
        var report = await ProbeAsync(SecurityProtocols.Ssl, session.RunAsync);

        Assert.Equal(Phase.Licensing, report.Verdict.Phase);
        Assert.Equal(Ending.ServerErrorInfo, report.Verdict.Ending);
        Assert.Equal("err_no_license_server", report.Verdict.Code?.Word);
        Assert.Equal("error (err_no_license_server)", report.Session!.Licensing);
        Assert.DoesNotContain(report.Phases, p => p.Phase == Phase.Capabilities);
    }

    [Fact]
    public async Task Tls_with_credentials_carries_the_password_in_the_client_info_inside_tls()
    {
        var session = new SessionServer();
        var report = await ProbeAsync(SecurityProtocols.Ssl, session.RunAsync, withCredentials: true);

        Assert.True(report.Verdict.Ok, report.Verdict.Summary);
        Assert.Equal(("LAB", "probe", Encoding.Unicode.GetByteCount(Password)),
            (session.ClientInfoSeen!.Value.Domain, session.ClientInfoSeen.Value.User, session.ClientInfoSeen.Value.PasswordBytes));
        Assert.True(session.ClientInfoSeen.Value.Flags.HasFlag(ClientInfoFlags.Autologon));
    }

    [Fact]
    public async Task Nla_without_credentials_stops_after_the_challenge_with_a_typed_next_step()
    {
        var credssp = new FakeCredSspServer(6, "LAB", "probe", Password, ServerPublicKey);
        var report = await ProbeAsync(SecurityProtocols.Hybrid, async (stream, ct) =>
        {
            try
            {
                await credssp.RunAsync(stream, ct);
            }
            catch (EndOfStreamException)
            {
                // Without credentials the probe sends no AUTHENTICATE: it hangs up after the CHALLENGE.
            }
        });

        Assert.Equal([Phase.Tcp, Phase.X224, Phase.Tls, Phase.Credssp], PhasesOf(report));
        Assert.True(report.Verdict.Ok, report.Verdict.Summary);
        Assert.Equal(Phase.Credssp, report.Verdict.Phase);
        Assert.Equal(NextStep.CredentialsNeeded, report.NextStep);
        Assert.Contains("Network Level Authentication", report.Verdict.Summary, StringComparison.Ordinal);

        // How to give credentials is the front end's business: no option names, no variables in the verdict.
        Assert.DoesNotContain("--user", report.Verdict.Summary, StringComparison.Ordinal);
        Assert.DoesNotContain("RDPPROBE_PASSWORD", report.Verdict.Summary, StringComparison.Ordinal);
        Assert.Equal("FAKE", report.CredSsp!.Ntlm!.NetbiosComputerName);
    }

    [Fact]
    public async Task Nla_with_credentials_goes_through_early_auth_to_demand_active_without_the_password_in_client_info()
    {
        var credssp = new FakeCredSspServer(6, "LAB", "probe", Password, ServerPublicKey)
        {
            EarlyAuthorization = EarlyUserAuthorization.Encode(EarlyUserAuthorizationResult.Success),
        };
        var session = new SessionServer();
        var report = await ProbeAsync(SecurityProtocols.HybridEx, async (stream, ct) =>
        {
            await credssp.RunAsync(stream, ct);
            await session.RunAsync(stream, ct);
        }, withCredentials: true);

        AssertAllOk(report);
        Assert.Equal([Phase.Tcp, Phase.X224, Phase.Tls, Phase.Credssp, Phase.EarlyAuth, Phase.Mcs, Phase.Channels, Phase.ClientInfo, Phase.Licensing, Phase.Capabilities], PhasesOf(report));
        Assert.True(report.CredSsp!.Authenticated);
        Assert.Equal(Password, credssp.Delegated!.Value.Password);
        Assert.Equal(NextStep.None, report.NextStep);

        // CredSSP delivered the password; the Client Info PDU names the user only.
        Assert.Equal(("probe", 0), (session.ClientInfoSeen!.Value.User, session.ClientInfoSeen.Value.PasswordBytes));
    }
}
