using System.Diagnostics;
using System.Globalization;
using System.Net;
using RdpProbe.Diagnosis;
using RdpProbe.IntegrationTests.Lab;
using RdpProbe.Probe;
using RdpProbe.Protocol;
using Xunit.Abstractions;

namespace RdpProbe.IntegrationTests.Clients;

/// <summary>
/// Issue 10: the verdict must be one a real client agrees with. For each lab server (scripts/lab.sh base+0..8), the
/// probe runs as the freerdp2 profile (ProbeOptions.Client: its request, its fallbacks, its verdict) and the REAL client
/// is run against the same server: xfreerdp from Debian's freerdp2-x11 (FreeRDP 2.11, OpenSSL 3), with its default
/// security settings. The engine's verdict (report.Verdict, report.ClientVerdict) and the freerdp2 row of a default
/// probe's compatibility table must both agree with it on whether it gets in, on the failing phase, and on Standard RDP
/// Security; the findings are checked too.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class RealClientAgreementTests(LabFixture lab, ITestOutputHelper output)
{
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(60);

    /// <summary>What xfreerdp did, read from its log (its exit codes are not documented enough to rely on).</summary>
    private sealed record ClientRun(bool Connected, bool StandardSecurity, Phase? FailPhase, string? Error, string Log);

    public static TheoryData<string> Servers => ["xrdp", "shadow-nla", "shadow-tls", "shadow-rdp", "xrdp-expired", "xrdp-tls10", "xrdp-nocert", "xrdp-rdponly", "shadow-skew"];

    /// <summary>The servers that require NLA: the probe and xfreerdp both log on with the lab's real account there.</summary>
    private static bool NeedsAccount(string server) => server is "shadow-nla" or "shadow-skew";

    private IPEndPoint EndpointOf(string server) => server switch
    {
        "xrdp" => lab.Endpoints.Xrdp,
        "shadow-nla" => lab.Endpoints.ShadowNla,
        "shadow-tls" => lab.Endpoints.ShadowTls,
        "shadow-rdp" => lab.Endpoints.ShadowRdp,
        "xrdp-expired" => lab.Endpoints.XrdpExpired,
        "xrdp-tls10" => lab.Endpoints.XrdpTls10,
        "xrdp-nocert" => lab.Endpoints.XrdpNoCert,
        "xrdp-rdponly" => lab.Endpoints.XrdpRdpOnly,
        "shadow-skew" => lab.Endpoints.ShadowSkew,
        _ => throw new ArgumentOutOfRangeException(nameof(server), server, null),
    };

    [Theory]
    [MemberData(nameof(Servers))]
    public async Task The_engine_probing_as_freerdp2_agrees_with_xfreerdp(string server)
    {
        var endpoint = EndpointOf(server);
        var report = await ProbeAsync(endpoint, ClientProfiles.FreeRdp2, NeedsAccount(server));
        var verdict = report.ClientVerdict!;
        output.WriteLine($"{server}: {report.Verdict.Summary}");
        output.WriteLine($"  {verdict.Summary}");
        output.WriteLine("  " + string.Join(Environment.NewLine + "  ", verdict.Steps));
        output.WriteLine("  attempts: " + string.Join(" → ", report.Attempts.Select(a => $"{string.Join("|", a.RequestedProtocols.ToReportNames())} ({a.Outcome.Ending.ToReportName()})")));
        Assert.Equal("freerdp2", verdict.Profile);
        Assert.NotEqual(Compatibility.Unknown, verdict.Result);

        // Only the NLA servers check the password in the handshake; the others get a made-up one from xfreerdp.
        var run = await RunXfreerdpAsync(endpoint, NeedsAccount(server), "/cert:ignore");
        output.WriteLine($"xfreerdp: connected={run.Connected} standardSecurity={run.StandardSecurity} failPhase={run.FailPhase} error={run.Error}");

        string why = $"engine says {report.Verdict.Summary} / {verdict.Summary}, xfreerdp says connected={run.Connected} ({run.Error}){Environment.NewLine}{Tail(run.Log)}";
        Assert.True(report.Verdict.Ok == run.Connected, why);
        Assert.True(verdict.Connected == run.Connected, why);
        if (!run.Connected)
        {
            Assert.Equal(run.FailPhase, report.Verdict.Phase);
            Assert.Equal(run.FailPhase, verdict.FailPhase);
        }
        else
        {
            Assert.Equal(run.StandardSecurity, verdict.Result == Compatibility.ConnectsInsecurely);
            Assert.Equal(run.StandardSecurity, report.Negotiation.SelectedProtocol == SecurityProtocols.Rdp);
        }

        // A default probe (windows11) judges every profile too: its freerdp2 row must say the same.
        var row = (await ProbeAsync(endpoint, ClientProfiles.Windows11, NeedsAccount(server))).Compatibility.Single(v => v.Profile == "freerdp2");
        output.WriteLine($"  from the default probe: {row.Summary}");
        Assert.True(row.Connected == run.Connected, $"compatibility row says {row.Summary}; {why}");
        if (!run.Connected)
        {
            Assert.Equal(run.FailPhase, row.FailPhase);
        }
    }

    [Theory]
    [MemberData(nameof(Servers))]
    public async Task A_certificate_warning_predicted_is_one_xfreerdp_would_show(string server)
    {
        var endpoint = EndpointOf(server);
        var verdict = ClientCompatibility.Evaluate(ClientProfiles.FreeRdp2, await ProbeFactsAsync(endpoint));
        if (verdict.Result != Compatibility.ConnectsAfterWarning)
        {
            // Only a verdict with a certificate warning makes a claim about /cert:deny.
            Assert.DoesNotContain(verdict.Warnings, w => w.Contains("certificate", StringComparison.Ordinal));
            return;
        }

        // /cert:deny turns xfreerdp's trust question into "no": it must then stop at TLS because of the certificate.
        var run = await RunXfreerdpAsync(endpoint, NeedsAccount(server), "/cert:deny");
        Assert.False(run.Connected, Tail(run.Log));
        Assert.Equal(Phase.Tls, run.FailPhase);
        Assert.Contains("certificate not trusted", run.Log, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("shadow-rdp", new[] { FindingRules.Codes.StandardRdpSecurityAccepted, FindingRules.Codes.NlaNotRequired }, new[] { FindingRules.Codes.SecurityDowngrade })]
    [InlineData("xrdp-expired", new[] { FindingRules.Codes.CertificateExpired, FindingRules.Codes.CertificateSelfSigned, FindingRules.Codes.NlaNotRequired }, new[] { FindingRules.Codes.TlsLegacyAccepted, FindingRules.Codes.CertificateExpiringSoon })]
    [InlineData("xrdp-tls10", new[] { FindingRules.Codes.Tls12NotAccepted, FindingRules.Codes.TlsLegacyAccepted }, new[] { FindingRules.Codes.CertificateExpired })]
    [InlineData("xrdp-nocert", new[] { FindingRules.Codes.SecurityDowngrade, FindingRules.Codes.StandardRdpSecurityAccepted }, new[] { FindingRules.Codes.EncryptionNone, FindingRules.Codes.EncryptionWeak })]
    [InlineData("xrdp-rdponly", new[] { FindingRules.Codes.SecurityDowngrade, FindingRules.Codes.StandardRdpSecurityAccepted }, new[] { FindingRules.Codes.TlsLegacyAccepted })]
    [InlineData("shadow-skew", new[] { FindingRules.Codes.NtlmClockSkew }, new[] { FindingRules.Codes.NlaNotRequired, FindingRules.Codes.CredSspUnpatched })]
    public async Task Findings_name_what_is_wrong_with_each_server(string server, string[] expected, string[] absent)
    {
        var findings = FindingRules.Evaluate(await ProbeFactsAsync(EndpointOf(server)));
        var codes = findings.Select(f => f.Code).ToList();
        output.WriteLine($"{server}: {string.Join(", ", codes)}");
        Assert.All(expected, code => Assert.Contains(code, codes));
        Assert.All(absent, code => Assert.DoesNotContain(code, codes));
    }

    [Fact]
    public async Task Tls_1_0_only_server_every_profile_but_the_permissive_one_and_old_windows_fails_at_tls()
    {
        var facts = await ProbeFactsAsync(lab.Endpoints.XrdpTls10);
        Assert.Equal(TlsVersion.Tls10, facts.NegotiatedTlsVersion);
        var verdicts = ClientCompatibility.EvaluateAll(facts).ToDictionary(v => v.Profile);
        Assert.Equal(Compatibility.Connects, verdicts["permissive"].Result);
        Assert.Equal(Compatibility.ConnectsAfterWarning, verdicts["windows10"].Result);
        Assert.Equal(Compatibility.ConnectsAfterWarning, verdicts["windows7"].Result);
        foreach (var name in new[] { "windows11", "macos", "freerdp2", "freerdp3" })
        {
            Assert.Equal(Compatibility.Fails, verdicts[name].Result);
            Assert.Equal("no_common_tls_version", verdicts[name].Reason);
        }
    }

    [Fact]
    public async Task Lowering_freerdps_tls_security_level_to_0_lets_it_speak_tls_1_0_in_the_model_and_for_real()
    {
        // OpenSSL 3 allows TLS 1.0 only at security level 0: xfreerdp /tls-seclevel:0 gets in, and so does the profile
        // with that setting (TLS versions follow the level, FreeRDP's TLSMinVersion being TLS 1.0).
        var facts = await ProbeFactsAsync(lab.Endpoints.XrdpTls10);
        var level0 = ClientProfiles.FreeRdp2 with
        {
            Name = "freerdp2-seclevel0",
            TlsSecurityLevel = 0,
            TlsVersions = [TlsVersion.Tls10, TlsVersion.Tls11, TlsVersion.Tls12, TlsVersion.Tls13],
        };
        var verdict = ClientCompatibility.Evaluate(level0, facts);
        Assert.Equal(Compatibility.ConnectsAfterWarning, verdict.Result);

        var run = await RunXfreerdpAsync(lab.Endpoints.XrdpTls10, false, "/cert:ignore", "/tls-seclevel:0");
        Assert.True(run.Connected, Tail(run.Log));
        Assert.False(run.StandardSecurity);
    }

    [Fact]
    public async Task Standard_rdp_only_server_the_permissive_probe_fails_at_x224_but_real_clients_fall_back()
    {
        var facts = SecurityFactsFrom.Report(await ProbeAsync(lab.Endpoints.ShadowRdp, ClientProfiles.Permissive));
        Assert.Equal(NegotiationFailureCode.SslNotAllowedByServer, facts.FailureCode);
        Assert.Equal(new ConnectionFailure(Phase.X224, Ending.NegotiationFailure, "ssl_not_allowed_by_server"), facts.Failure);
        var verdicts = ClientCompatibility.EvaluateAll(facts).ToDictionary(v => v.Profile);
        Assert.Equal(Compatibility.Fails, verdicts["permissive"].Result);
        Assert.All(ClientProfiles.RealClients, p => Assert.Equal(Compatibility.ConnectsInsecurely, verdicts[p.Name].Result));
    }

    [Fact]
    public async Task Standard_rdp_only_server_windows11_falls_back_like_mstsc_and_the_attempts_are_recorded()
    {
        var report = await ProbeAsync(lab.Endpoints.ShadowRdp, ClientProfiles.Windows11);
        Assert.True(report.Verdict.Ok, report.Verdict.Summary);
        Assert.Equal(Compatibility.ConnectsInsecurely, report.ClientVerdict!.Result);
        Assert.Equal(2, report.Attempts.Count);
        Assert.Equal(ProbeOptions.DefaultProtocols, report.Attempts[0].RequestedProtocols);
        Assert.Equal("ssl_not_allowed_by_server", report.Attempts[0].FallbackReason);
        Assert.Equal(SecurityProtocols.Rdp, report.Attempts[1].RequestedProtocols);
        Assert.True(report.Attempts[1].Outcome.Ok);
        Assert.Contains("Standard RDP Security", report.Verdict.Summary);

        // The table from the same run: every real client gets in insecurely, the permissive one (no fallback) does not.
        var table = report.Compatibility.ToDictionary(v => v.Profile);
        Assert.Equal(Compatibility.Fails, table["permissive"].Result);
        Assert.All(ClientProfiles.RealClients, p => Assert.Equal(Compatibility.ConnectsInsecurely, table[p.Name].Result));
    }

    [Fact]
    public async Task Tls_1_0_only_server_windows11_verdict_is_a_failure_at_tls()
    {
        var report = await ProbeAsync(lab.Endpoints.XrdpTls10, ClientProfiles.Windows11);
        Assert.False(report.Verdict.Ok, report.Verdict.Summary);
        Assert.Equal(Phase.Tls, report.Verdict.Phase);
        Assert.Equal(Ending.ClientRefused, report.Verdict.Ending);
        Assert.Equal("tls_version_refused_by_client", report.Verdict.Code?.Word);
        Assert.Equal(Compatibility.Fails, report.ClientVerdict!.Result);
        Assert.Equal(Phase.Tls, report.ClientVerdict.FailPhase);
        Assert.Single(report.Attempts);
    }

    private static async Task<ProbeReport> ProbeAsync(IPEndPoint endpoint, ClientProfile client, bool withAccount = false)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var engine = new ProbeEngine(new ProbeOptions { Client = client });
        if (withAccount)
        {
            engine = engine.WithCredentials($"{LabFixture.Domain}\\{LabFixture.User}", LabFixture.Password);
        }

        return Assert.Single(await engine.RunAsync(ProbeTarget.Parse(endpoint.ToString()), cts.Token));
    }

    private static async Task<SecurityFacts> ProbeFactsAsync(IPEndPoint endpoint)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var reports = await new ProbeEngine(new ProbeOptions()).RunAsync(ProbeTarget.Parse(endpoint.ToString()), cts.Token);
        return SecurityFactsFrom.Report(Assert.Single(reports));
    }

    /// <summary>
    /// Runs FreeRDP 2's xfreerdp (Debian freerdp2-x11) with +auth-only: it stops after the security handshake (after
    /// TLS without NLA, after CredSSP with NLA). With Standard RDP Security FreeRDP 2 goes on to licensing, where
    /// xrdp ends the session for the lab's made-up password: reaching licensing means the security handshake worked.
    /// </summary>
    private async Task<ClientRun> RunXfreerdpAsync(IPEndPoint endpoint, bool realAccount, params string[] options)
    {
        var (displayExit, display) = await LabScripts.RunAsync("lab.sh", ["display", "--base", lab.BasePort.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(60));
        Assert.True(displayExit == 0, display);
        display = display.Trim().Split('\n')[^1].Trim();

        var start = new ProcessStartInfo("xfreerdp")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.Environment["DISPLAY"] = display;
        start.ArgumentList.Add($"/v:{endpoint.Address}:{endpoint.Port}");
        start.ArgumentList.Add($"/u:{LabFixture.User}");
        if (realAccount)
        {
            start.ArgumentList.Add($"/d:{LabFixture.Domain}");
            start.ArgumentList.Add($"/p:{LabFixture.Password}");
        }
        else
        {
            start.ArgumentList.Add("/p:x");
        }

        foreach (var option in options)
        {
            start.ArgumentList.Add(option);
        }

        start.ArgumentList.Add("+auth-only");

        // The negotiation and connection-state lines are DEBUG; they show the protocol chosen and how far it got.
        start.ArgumentList.Add("/log-filters:com.freerdp.core.nego:DEBUG,com.freerdp.core.connection:DEBUG,*:INFO");

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start xfreerdp (install freerdp2-x11)");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(ClientTimeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"xfreerdp against {endpoint} did not finish within {ClientTimeout.TotalSeconds:0} s");
        }

        string log = await stdout + await stderr;
        return Classify(log);
    }

    private static ClientRun Classify(string log)
    {
        bool standard = log.Contains("Negotiated RDP security", StringComparison.Ordinal);
        if (log.Contains("Authentication only, exit status 0", StringComparison.Ordinal))
        {
            return new ClientRun(true, standard, null, null, log);
        }

        // Standard RDP Security: the security exchange and Client Info come before licensing (MS-RDPBCGR 1.3.1.1), so
        // whatever the server does after that (xrdp logs the made-up user off) is past the security handshake.
        if (standard && log.Contains("--> CONNECTION_STATE_LICENSING", StringComparison.Ordinal))
        {
            return new ClientRun(true, true, null, null, log);
        }

        // FreeRDP's own error codes (libfreerdp/core/errconnect.c) name the layer that failed.
        (string Code, Phase Phase)[] errors =
        [
            ("ERRCONNECT_TLS_CONNECT_FAILED", Phase.Tls),
            ("ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED", Phase.X224),
            ("ERRCONNECT_AUTHENTICATION_FAILED", Phase.Credssp),
            ("ERRCONNECT_LOGON_FAILURE", Phase.Credssp),
            ("ERRCONNECT_CONNECT_TRANSPORT_FAILED", Phase.Credssp),
            ("ERRCONNECT_CONNECT_FAILED", Phase.Tcp),
        ];
        foreach (var (code, phase) in errors)
        {
            if (log.Contains(code, StringComparison.Ordinal))
            {
                return new ClientRun(false, standard, phase, code, log);
            }
        }

        return new ClientRun(false, standard, null, "unclassified", log);
    }

    private static string Tail(string log) => string.Join(Environment.NewLine, log.Split('\n').TakeLast(25));
}
