using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using RdpProbe.Diagnosis;
using RdpProbe.IntegrationTests.Lab;
using RdpProbe.Probe;
using RdpProbe.Protocol;

namespace RdpProbe.IntegrationTests.Probe;

/// <summary>The probe against the real lab servers (scripts/lab.sh) and real faults (scripts/faults.sh).</summary>
[Collection(LabCollection.Name)]
public sealed class ProbeLabTests(LabFixture lab)
{
    private static readonly ProbeOptions Defaults = new() { PhaseTimeout = TimeSpan.FromSeconds(5) };

    private static async Task<ProbeReport> ProbeAsync(IPEndPoint endPoint, ProbeOptions? options = null)
    {
        var engine = new ProbeEngine(options ?? Defaults);
        var reports = await engine.RunAsync(ProbeTarget.Parse(endPoint.ToString()), CancellationToken.None);
        return Assert.Single(reports);
    }

    private static MatrixEntry Entry(ProbeReport report, SecurityProtocols protocol)
        => report.Negotiation.Matrix!.Single(e => e.Protocol == protocol);

    [Fact]
    public async Task Xrdp_selects_ssl_shows_its_certificate_and_downgrades_hybrid_to_rdp()
    {
        var report = await ProbeAsync(lab.Endpoints.Xrdp);

        // xrdp with TLS goes all the way to Demand Active without credentials.
        Assert.True(report.Verdict.Ok, report.Verdict.Summary);
        Assert.Equal(Phase.Capabilities, report.Verdict.Phase);
        Assert.Equal(
            [Phase.Tcp, Phase.X224, Phase.Tls, Phase.Mcs, Phase.Channels, Phase.ClientInfo, Phase.Licensing, Phase.Capabilities, Phase.SecurityMatrix, Phase.TlsVersions, Phase.ClientSimulation, Phase.EncryptionLevels],
            report.Phases.Select(p => p.Phase));

        // xrdp also takes standard RDP security, so the probe asks which RC4 key sizes it accepts: only 128-bit
        // (it answers every other offer with 128-bit at level high).
        var levels = report.Negotiation.EncryptionLevels!;
        Assert.Equal([EncryptionMethods.Bit128], levels.Accepted);
        Assert.Equal(EncryptionLevel.High, levels.ServerLevel);
        Assert.All(levels.Entries.Where(e => e.Method != EncryptionMethods.Bit128), e => Assert.Equal(RdpProbe.Probe.Phases.EncryptionSupport.Refused, e.Support));
        Assert.Equal("rt-successful", report.Session!.McsResult);
        Assert.NotNull(report.Session.DemandActive);
        Assert.Equal(SecurityProtocols.Ssl, report.Negotiation.SelectedProtocol);
        Assert.Null(report.Negotiation.FailureCode);

        // The certificate the probe saw is the one xrdp is configured with (/etc/xrdp/cert.pem).
        using var configured = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync("/etc/xrdp/cert.pem"));
        var cert = report.Tls!.Certificate!;
        Assert.Equal(configured.Subject, cert.Subject);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(configured.RawData)).ToLowerInvariant(), cert.Sha256);
        Assert.Equal("rsa", cert.KeyAlgorithm);
        Assert.True(cert.SelfSigned);
        Assert.Equal(configured.PublicKey.GetRSAPublicKey()!.KeySize, cert.KeySize);
        Assert.NotNull(report.Tls.Version);
        Assert.NotNull(report.Tls.CipherSuite);

        // xrdp has no NLA: asked HYBRID it selects RDP (nmap calls this "CredSSP supported"; it is a downgrade).
        Assert.Equal(SupportStatus.Supported, Entry(report, SecurityProtocols.Rdp).Status);
        Assert.Equal(SupportStatus.Supported, Entry(report, SecurityProtocols.Ssl).Status);
        var hybrid = Entry(report, SecurityProtocols.Hybrid);
        Assert.Equal(SupportStatus.Downgraded, hybrid.Status);
        Assert.Equal(SecurityProtocols.Rdp, hybrid.Selected);
        Assert.Equal(SupportStatus.Downgraded, Entry(report, SecurityProtocols.HybridEx).Status);
        var rdsaad = Entry(report, SecurityProtocols.RdsAad);
        Assert.Equal(SupportStatus.Refused, rdsaad.Status);
        Assert.Equal("mcs_disconnect_provider_ultimatum", rdsaad.Code?.Word);
        Assert.False(report.Negotiation.NlaRequired);

        // xrdp's ssl_protocols=TLSv1.2, TLSv1.3 (LAB.md).
        Assert.True(report.Tls.Versions!["tls1.2"]);
        Assert.True(report.Tls.Versions["tls1.3"]);
        Assert.False(report.Tls.Versions["tls1.0"]);
        Assert.False(report.Tls.Versions["tls1.1"]);

        var tls = report.Phases.Single(p => p.Phase == Phase.Tls);
        Assert.Contains(tls.Messages, m => m.Direction == Direction.Sent && m.Description == "ClientHello");
        Assert.Contains(tls.Messages, m => m.Direction == Direction.Received && m.Description == "ServerHello");
        Assert.True(tls.RoundTrips >= 1);
    }

    [Fact]
    public async Task Xrdp_asked_for_rdsaad_only_answers_with_a_disconnect_provider_ultimatum()
    {
        var report = await ProbeAsync(lab.Endpoints.Xrdp, Defaults with { RequestedProtocols = SecurityProtocols.RdsAad, SecurityMatrix = false });
        Assert.Equal(Phase.X224, report.Verdict.Phase);
        Assert.Equal(Ending.Closed, report.Verdict.Ending);
        Assert.Equal("mcs_disconnect_provider_ultimatum", report.Verdict.Code?.Word);
    }

    [Fact]
    public async Task Shadow_nla_selects_hybrid_requires_nla_and_reveals_the_ntlm_computer_name()
    {
        var report = await ProbeAsync(lab.Endpoints.ShadowNla);

        // Without credentials NLA stops after the NTLM challenge: the last phase is credssp, and it is ok.
        Assert.True(report.Verdict.Ok, report.Verdict.Summary);
        Assert.Equal(Phase.Credssp, report.Verdict.Phase);
        Assert.Null(report.Session);
        Assert.True(report.Negotiation.SelectedProtocol is SecurityProtocols.Hybrid or SecurityProtocols.HybridEx);
        Assert.True(report.Negotiation.NlaRequired);
        Assert.Equal(NegotiationFailureCode.HybridRequiredByServer, Entry(report, SecurityProtocols.Rdp).FailureCode);
        Assert.Equal(NegotiationFailureCode.HybridRequiredByServer, Entry(report, SecurityProtocols.Ssl).FailureCode);
        Assert.Equal(SupportStatus.Supported, Entry(report, SecurityProtocols.Hybrid).Status);

        // Going further needs credentials: a typed hint for the front end, and no command-line text in the verdict.
        Assert.Equal(NextStep.CredentialsNeeded, report.NextStep);
        Assert.Contains("The server requires Network Level Authentication", report.Verdict.Summary, StringComparison.Ordinal);
        Assert.DoesNotContain("--user", report.Verdict.Summary, StringComparison.Ordinal);

        // FreeRDP's NTLM server names itself after the host (upper-cased NetBIOS name).
        var ntlm = report.CredSsp!.Ntlm!;
        Assert.Equal(Dns.GetHostName().ToUpperInvariant(), ntlm.NetbiosComputerName);
        Assert.NotNull(report.CredSsp.ServerVersion);
        Assert.Null(report.CredSsp.ErrorCode);
    }

    [Fact]
    public async Task Credentials_never_appear_in_the_report()
    {
        var engine = new ProbeEngine(Defaults with { SecurityMatrix = false, TlsVersions = false, ClientSimulation = false })
            .WithCredentials($"{LabFixture.Domain}\\{LabFixture.User}", LabFixture.Password);
        var report = Assert.Single(await engine.RunAsync(ProbeTarget.Parse(lab.Endpoints.ShadowNla.ToString()), CancellationToken.None));
        Assert.Contains(report.Phases, p => p.Phase == Phase.Credssp);
        string json = RdpProbe.Reports.ProbeJson.Serialize(report);
        Assert.DoesNotContain(LabFixture.Password, json);
        Assert.DoesNotContain(LabFixture.Password, string.Join("\n", report.Phases.SelectMany(p => p.Messages).Select(m => m.Description)));
    }

    [Fact]
    public async Task Shadow_nla_with_the_right_password_authenticates_and_with_a_wrong_one_fails_at_credssp()
    {
        var options = Defaults with { SecurityMatrix = false, TlsVersions = false, ClientSimulation = false };
        var target = ProbeTarget.Parse(lab.Endpoints.ShadowNla.ToString());
        string user = $"{LabFixture.Domain}\\{LabFixture.User}";

        var good = Assert.Single(await new ProbeEngine(options).WithCredentials(user, LabFixture.Password).RunAsync(target, CancellationToken.None));
        Assert.True(good.Verdict.Ok, good.Verdict.Summary);
        Assert.True(good.CredSsp!.Authenticated);
        Assert.Equal(Phase.Capabilities, good.Verdict.Phase);
        Assert.NotNull(good.Session!.DemandActive);

        var bad = Assert.Single(await new ProbeEngine(options).WithCredentials(user, "not-" + LabFixture.Password).RunAsync(target, CancellationToken.None));
        Assert.Equal(Phase.Credssp, bad.Verdict.Phase);
        Assert.Equal(Ending.AuthFailed, bad.Verdict.Ending);
        Assert.False(bad.CredSsp!.Authenticated);
        Assert.NotNull(bad.CredSsp.Ntlm);
    }

    [Fact]
    public async Task Shadow_nla_without_hybrid_in_the_request_is_refused_with_code_5()
    {
        var report = await ProbeAsync(lab.Endpoints.ShadowNla, Defaults with { RequestedProtocols = SecurityProtocols.Ssl, SecurityMatrix = false });
        Assert.Equal(Phase.X224, report.Verdict.Phase);
        Assert.Equal(Ending.NegotiationFailure, report.Verdict.Ending);
        Assert.Equal("hybrid_required_by_server", report.Verdict.Code?.Word);
        Assert.Contains("Network Level Authentication", report.Verdict.Summary);
    }

    [Fact]
    public async Task Shadow_tls_selects_ssl_and_refuses_rdp_only_requests_with_code_1()
    {
        var report = await ProbeAsync(lab.Endpoints.ShadowTls);
        Assert.True(report.Verdict.Ok, report.Verdict.Summary);
        Assert.Equal(SecurityProtocols.Ssl, report.Negotiation.SelectedProtocol);
        Assert.NotNull(report.Tls!.Certificate);
        var rdp = Entry(report, SecurityProtocols.Rdp);
        Assert.Equal(SupportStatus.Refused, rdp.Status);
        Assert.Equal(NegotiationFailureCode.SslRequiredByServer, rdp.FailureCode);
        Assert.Equal(SupportStatus.Supported, Entry(report, SecurityProtocols.Ssl).Status);
        Assert.False(report.Negotiation.NlaRequired);

        var rdpOnly = await ProbeAsync(lab.Endpoints.ShadowTls, Defaults with { RequestedProtocols = SecurityProtocols.Rdp, SecurityMatrix = false });
        Assert.Equal(Ending.NegotiationFailure, rdpOnly.Verdict.Ending);
        Assert.Equal("ssl_required_by_server", rdpOnly.Verdict.Code?.Word);
    }

    [Fact]
    public async Task Shadow_rdp_refuses_tls_requests_with_code_2()
    {
        // RdpProbe's own permissive client never falls back: the refusal is its verdict, as before issue 10.
        var report = await ProbeAsync(lab.Endpoints.ShadowRdp, Defaults with { Client = ClientProfiles.Permissive });
        Assert.Single(report.Attempts);
        Assert.False(report.Verdict.Ok);
        Assert.Equal(Phase.X224, report.Verdict.Phase);
        Assert.Equal(Ending.NegotiationFailure, report.Verdict.Ending);
        Assert.Equal("ssl_not_allowed_by_server", report.Verdict.Code?.Word);
        Assert.Equal(SupportStatus.Supported, Entry(report, SecurityProtocols.Rdp).Status);
        Assert.Equal(NegotiationFailureCode.SslNotAllowedByServer, Entry(report, SecurityProtocols.Ssl).FailureCode);

        // The matrix saw standard RDP security supported, so the encryption methods were tried: this FreeRDP server
        // encrypts nothing (method and level none) whatever the client offers.
        var levels = Assert.Single(report.Phases, p => p.Phase == Phase.EncryptionLevels);
        Assert.Equal(PhaseStatus.Ok, levels.Status);
        Assert.All(report.Negotiation.EncryptionLevels!.Entries, e => Assert.Equal(RdpProbe.Probe.Phases.EncryptionSupport.NoEncryption, e.Support));
        Assert.Equal(EncryptionLevel.None, report.Negotiation.EncryptionLevels.ServerLevel);

        var rdp = await ProbeAsync(lab.Endpoints.ShadowRdp, Defaults with { RequestedProtocols = SecurityProtocols.Rdp, SecurityMatrix = false });
        Assert.True(rdp.Verdict.Ok, rdp.Verdict.Summary);
        Assert.Equal(Phase.Capabilities, rdp.Verdict.Phase);
        Assert.Equal(SecurityProtocols.Rdp, rdp.Negotiation.SelectedProtocol);
        Assert.DoesNotContain(rdp.Phases, p => p.Phase == Phase.Tls);
    }

    [Fact]
    public async Task Shadow_rdp_with_the_default_windows11_profile_falls_back_and_connects_without_encryption()
    {
        // Issue 10: mstsc reconnects with PROTOCOL_RDP after SSL_NOT_ALLOWED_BY_SERVER (MS-RDPBCGR 5.4.2.1), so does the probe.
        var report = await ProbeAsync(lab.Endpoints.ShadowRdp);

        Assert.Equal([ProbeOptions.DefaultProtocols, SecurityProtocols.Rdp], report.Attempts.Select(a => a.RequestedProtocols));
        Assert.Equal(NegotiationFailureCode.SslNotAllowedByServer, report.Attempts[0].FailureCode);
        Assert.Equal(Phase.X224, report.Attempts[0].Outcome.Phase);
        Assert.True(report.Verdict.Ok, report.Verdict.Summary);
        Assert.Equal(Phase.Capabilities, report.Verdict.Phase);
        Assert.Equal(report.Attempts[^1].Phases, report.Phases.Where(p => p.Phase < Phase.SecurityMatrix));
        Assert.Equal(SecurityProtocols.Rdp, report.Negotiation.SelectedProtocol);
        Assert.Contains("Windows 11 connects with Standard RDP Security after the server refused", report.Verdict.Summary);
        Assert.Contains("no server authentication, no encryption at all", report.Verdict.Summary);
        Assert.Equal(Compatibility.ConnectsInsecurely, report.ClientVerdict!.Result);

        var codes = report.Findings.Select(f => f.Code).ToList();
        Assert.Contains(FindingRules.Codes.EncryptionNone, codes);
        Assert.Contains(FindingRules.Codes.StandardRdpSecurityAccepted, codes);
        Assert.Contains(FindingRules.Codes.NlaNotRequired, codes);
        Assert.DoesNotContain(FindingRules.Codes.SecurityDowngrade, codes);
    }

    [Fact]
    public async Task The_tls_1_0_only_xrdp_fails_at_tls_for_windows11_and_is_ok_for_the_permissive_profile()
    {
        var report = await ProbeAsync(lab.Endpoints.XrdpTls10);
        Assert.False(report.Verdict.Ok, report.Verdict.Summary);
        Assert.Equal(Phase.Tls, report.Verdict.Phase);
        Assert.Equal(Ending.ClientRefused, report.Verdict.Ending);
        Assert.Equal("tls_version_refused_by_client", report.Verdict.Code?.Word);
        Assert.Contains("Windows 11 refuses this server's TLS: the server accepts only TLS 1.0", report.Verdict.Summary);
        Assert.Equal("tls1.0", report.Tls!.Version);

        var permissive = await ProbeAsync(lab.Endpoints.XrdpTls10, Defaults with { Client = ClientProfiles.Permissive });
        Assert.True(permissive.Verdict.Ok, permissive.Verdict.Summary);
    }

    [Fact]
    public async Task The_expired_certificate_is_ok_for_the_connection_with_the_finding_and_the_warning()
    {
        var report = await ProbeAsync(lab.Endpoints.XrdpExpired);
        Assert.True(report.Verdict.Ok, report.Verdict.Summary);
        Assert.Equal(Compatibility.ConnectsAfterWarning, report.ClientVerdict!.Result);
        Assert.Contains("the certificate expired on", report.Verdict.Summary);
        Assert.Contains(report.Findings, f => f.Code == FindingRules.Codes.CertificateExpired);
    }

    [Fact]
    public async Task A_wrong_password_against_a_server_without_nla_is_not_called_fine()
    {
        // The measurement: --user with a wrong password against xrdp (no NLA) was "ok", exit 0. The connection
        // is still ok (nothing checked the password during the handshake), but the verdict says so and the finding is there.
        var engine = new ProbeEngine(Defaults with { SecurityMatrix = false }).WithCredentials($"{LabFixture.Domain}\\{LabFixture.User}", "certainly-wrong");
        var report = Assert.Single(await engine.RunAsync(ProbeTarget.Parse(lab.Endpoints.Xrdp.ToString()), CancellationToken.None));
        Assert.Contains("The credentials were not checked", report.Verdict.Summary);
        Assert.Contains(report.Findings, f => f.Code == FindingRules.Codes.CredentialsNotVerified);
    }

    [Fact]
    public async Task Closed_port_is_refused_at_tcp()
    {
        var report = await ProbeAsync(lab.Endpoints.ClosedPort);
        Assert.Equal(Phase.Tcp, report.Verdict.Phase);
        Assert.Equal(Ending.Refused, report.Verdict.Ending);
        Assert.Contains("nothing is listening", report.Verdict.Summary);
    }

    [Fact]
    public async Task Reset_at_client_hello_is_a_tls_reset_before_server_hello()
    {
        ProbeReport report;
        using (Faults.ResetAtClientHello(lab.Endpoints.Xrdp.Port))
        {
            report = await ProbeAsync(lab.Endpoints.Xrdp, Defaults with { SecurityMatrix = false });
        }

        Assert.Equal(Phase.Tls, report.Verdict.Phase);
        Assert.Equal(Ending.Reset, report.Verdict.Ending);
        Assert.DoesNotContain(report.Phases, p => p.Phase == Phase.TlsVersions); // every version would be reset alike
        Assert.Equal(Codes.BeforeServerHello, report.Verdict.Code);
        Assert.Contains("middlebox", report.Verdict.Summary);
        Assert.Equal(SecurityProtocols.Ssl, report.Negotiation.SelectedProtocol);
    }

    [Fact]
    public async Task Large_server_segments_dropped_is_a_tls_timeout()
    {
        ProbeReport report;
        using (Faults.DropLargeServerSegments(lab.Endpoints.Xrdp.Port))
        {
            report = await ProbeAsync(lab.Endpoints.Xrdp, Defaults with { PhaseTimeout = TimeSpan.FromSeconds(2), SecurityMatrix = false });
        }

        Assert.Equal(Phase.Tls, report.Verdict.Phase);
        Assert.Equal(Ending.Timeout, report.Verdict.Ending);
        Assert.Contains(report.Phases, p => p.Phase == Phase.X224 && p.Status == PhaseStatus.Ok);
        // The TLS versions check is skipped: every version would hit the same black hole.
        Assert.DoesNotContain(report.Phases, p => p.Phase == Phase.TlsVersions);
    }

    [Fact]
    public async Task Tls_key_log_has_the_secrets_for_the_main_connection()
    {
        string path = Path.Combine(Path.GetTempPath(), $"rdpprobe-keylog-{Guid.NewGuid():N}.txt");
        try
        {
            var report = await ProbeAsync(lab.Endpoints.Xrdp, Defaults with { SecurityMatrix = false, TlsVersions = false, ClientSimulation = false, TlsKeyLogPath = path });
            Assert.True(report.Verdict.Ok);
            string[] lines = await File.ReadAllLinesAsync(path);
            if (report.Tls!.Version == "tls1.3")
            {
                Assert.Contains(lines, l => l.StartsWith("CLIENT_HANDSHAKE_TRAFFIC_SECRET ", StringComparison.Ordinal));
                Assert.Contains(lines, l => l.StartsWith("SERVER_HANDSHAKE_TRAFFIC_SECRET ", StringComparison.Ordinal));
                Assert.Contains(lines, l => l.StartsWith("CLIENT_TRAFFIC_SECRET_0 ", StringComparison.Ordinal));
                Assert.Contains(lines, l => l.StartsWith("SERVER_TRAFFIC_SECRET_0 ", StringComparison.Ordinal));
            }
            else
            {
                Assert.Contains(lines, l => l.StartsWith("CLIENT_RANDOM ", StringComparison.Ordinal));
            }

            // label, 32-byte client random, secret: all hex.
            Assert.All(lines, l =>
            {
                string[] parts = l.Split(' ');
                Assert.Equal(3, parts.Length);
                Assert.Equal(64, parts[1].Length);
                Assert.Matches("^[0-9a-f]+$", parts[2]);
            });
        }
        finally
        {
            File.Delete(path);
        }
    }
}
