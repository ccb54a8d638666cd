using RdpProbe.Diagnosis;
using RdpProbe.Probe;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.Probe;

/// <summary>
/// Issue 10: the report's verdict is the chosen client's. A finished report (phase records all ok, as the permissive
/// probe reached them, and the facts the phases and checks decoded) is judged with each profile.
/// </summary>
public sealed class ClientJudgementTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    private static CertificateInfo Certificate(DateTimeOffset notAfter) => new(
        "CN=127.0.0.1", "CN=127.0.0.1", notAfter.AddYears(-1), notAfter, (int)(notAfter - Now).TotalDays, SelfSigned: false,
        "rsa", 2048, "sha256RSA", "00", ["ip:127.0.0.1"], "01");

    /// <summary>A TLS server (SSL selected) the probe got through to Demand Active, with the TLS version check's result.</summary>
    private static ProbeReport TlsReport(string negotiated, IReadOnlyDictionary<string, bool?> versions, DateTimeOffset? notAfter = null)
    {
        var report = new ProbeReport(ProbeTarget.Parse("127.0.0.1:3389")) { StartedAt = Now };
        foreach (var phase in new[] { Phase.Tcp, Phase.X224, Phase.Tls, Phase.Mcs, Phase.Channels, Phase.ClientInfo, Phase.Licensing, Phase.Capabilities })
        {
            report.Phases.Add(new PhaseRecord(phase));
        }

        report.Negotiation.RequestedProtocols = ProbeOptions.DefaultProtocols;
        report.Negotiation.SelectedProtocol = SecurityProtocols.Ssl;
        report.Tls = new TlsFacts { Version = negotiated, CipherSuite = "TLS_RSA_WITH_AES_128_CBC_SHA", Versions = versions, Certificate = Certificate(notAfter ?? Now.AddYears(1)) };
        report.Attempts = [new ProbeAttempt(ProbeOptions.DefaultProtocols, [.. report.Phases], SecurityProtocols.Ssl, null, Verdict.From(report.Phases), null)];
        return report;
    }

    private static ProbeReport Tls10Only() => TlsReport("tls1.0", new Dictionary<string, bool?> { ["tls1.0"] = true, ["tls1.1"] = false, ["tls1.2"] = false, ["tls1.3"] = false });

    private static ProbeReport Judge(ProbeReport report, ClientProfile? client = null, bool credentials = false)
    {
        ClientJudgement.Apply(report, client is null ? new ProbeOptions() : new ProbeOptions { Client = client }, credentials);
        return report;
    }

    [Fact]
    public void Tls_1_0_only_fails_at_tls_for_windows11_although_every_phase_was_ok()
    {
        var report = Judge(Tls10Only());

        Assert.False(report.Verdict.Ok);
        Assert.Equal(Phase.Tls, report.Verdict.Phase);
        Assert.Equal(Ending.ClientRefused, report.Verdict.Ending);
        Assert.Equal(Codes.TlsVersionRefusedByClient, report.Verdict.Code);
        Assert.StartsWith("Windows 11 refuses this server's TLS: the server accepts only TLS 1.0, and Windows 11 offers only TLS 1.2, TLS 1.3", report.Verdict.Summary);
        Assert.Contains("RdpProbe's own client got in with TLS 1.0", report.Verdict.Summary);
        Assert.Contains(report.Verdict.Remedies, r => r.Contains("enable TLS 1.2 on the server", StringComparison.Ordinal));
        Assert.Equal(Compatibility.Fails, report.ClientVerdict!.Result);
        Assert.Contains(report.Findings, f => f.Code == FindingRules.Codes.Tls12NotAccepted);
    }

    [Fact]
    public void Tls_1_0_only_stays_ok_for_the_permissive_profile_and_old_windows()
    {
        var permissive = Judge(Tls10Only(), ClientProfiles.Permissive);
        Assert.True(permissive.Verdict.Ok, permissive.Verdict.Summary);
        Assert.Equal(Phase.Capabilities, permissive.Verdict.Phase);

        var windows10 = Judge(Tls10Only(), ClientProfiles.Windows10);
        Assert.True(windows10.Verdict.Ok, windows10.Verdict.Summary);

        // The compatibility table is the same whichever profile was chosen.
        Assert.Equal(permissive.Compatibility.Select(v => (v.Profile, v.Result)), windows10.Compatibility.Select(v => (v.Profile, v.Result)));
        Assert.Equal(Compatibility.Fails, windows10.Compatibility.Single(v => v.Profile == "windows11").Result);
    }

    [Fact]
    public void An_expired_certificate_is_ok_for_the_connection_with_the_warning_said_and_the_finding_there()
    {
        var report = Judge(TlsReport("tls1.2", new Dictionary<string, bool?> { ["tls1.0"] = false, ["tls1.1"] = false, ["tls1.2"] = true, ["tls1.3"] = false }, Now.AddDays(-3)));

        Assert.True(report.Verdict.Ok, report.Verdict.Summary);
        Assert.Equal(Compatibility.ConnectsAfterWarning, report.ClientVerdict!.Result);
        Assert.Contains("Windows 11 connects after a warning the user has to accept: the certificate expired on", report.Verdict.Summary);
        Assert.Contains(report.Findings, f => f.Code == FindingRules.Codes.CertificateExpired);
    }

    [Fact]
    public void Credentials_a_server_without_nla_never_checked_are_not_called_fine()
    {
        var report = Judge(TlsReport("tls1.2", new Dictionary<string, bool?> { ["tls1.2"] = true, ["tls1.3"] = true }), credentials: true);

        Assert.True(report.Verdict.Ok);
        Assert.Contains("The credentials were not checked", report.Verdict.Summary);
        Assert.Contains(report.Findings, f => f.Code == FindingRules.Codes.CredentialsNotVerified);

        var without = Judge(TlsReport("tls1.2", new Dictionary<string, bool?> { ["tls1.2"] = true, ["tls1.3"] = true }));
        Assert.DoesNotContain("credentials", without.Verdict.Summary, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(without.Findings, f => f.Code == FindingRules.Codes.CredentialsNotVerified);
    }

    [Fact]
    public void A_failure_of_the_probes_own_comes_first_when_it_is_earlier_than_the_clients()
    {
        // The server reset the TLS handshake: every client meets that, whatever it would have thought of TLS 1.0 later.
        var report = Tls10Only();
        report.Phases.RemoveAll(p => p.Phase > Phase.Tls);
        report.Phases.Single(p => p.Phase == Phase.X224).Fail(Ending.Reset, null, "reset");
        Judge(report);
        Assert.Equal(Phase.X224, report.Verdict.Phase);
        Assert.Equal(Ending.Reset, report.Verdict.Ending);
    }

    [Theory]
    [InlineData("no_common_tls_version", Ending.ClientRefused, "tls_version_refused_by_client")]
    [InlineData("certificate_key_too_small", Ending.ClientRefused, "certificate_key_refused_by_client")]
    [InlineData("certificate_refused", Ending.ClientRefused, "certificate_refused_by_client")]
    [InlineData("credssp_version_unpatched", Ending.ClientRefused, "credssp_version_refused_by_client")]
    [InlineData("standard_rdp_security_refused", Ending.ClientRefused, "standard_security_refused_by_client")]
    [InlineData("hybrid_required_by_server", Ending.NegotiationFailure, "hybrid_required_by_server")]
    public void Client_failure_reasons_map_to_an_ending_and_code_the_symptom_table_explains(string reason, Ending ending, string code)
    {
        var (refusalEnding, refusalCode) = ClientJudgement.Refusal(reason);
        Assert.Equal((ending, code), (refusalEnding, refusalCode?.Word));
        var phase = code switch
        {
            "credssp_version_refused_by_client" => Phase.Credssp,
            "standard_security_refused_by_client" or "hybrid_required_by_server" => Phase.X224,
            _ => Phase.Tls,
        };
        Assert.Contains(Symptoms.Keys, k => k.Phase == phase && k.Ending == ending && k.Code?.Word == code);
    }

    [Fact]
    public void Protocols_given_explicitly_judge_the_profile_configured_to_ask_for_them()
    {
        var forced = ClientJudgement.Effective(new ProbeOptions { Client = ClientProfiles.FreeRdp2, RequestedProtocols = SecurityProtocols.Rdp });
        Assert.Equal(SecurityProtocols.Rdp, forced.RequestedProtocols);
        Assert.Empty(forced.Fallbacks);
        Assert.Equal(ClientProfiles.FreeRdp2.TlsVersions, forced.TlsVersions);
        Assert.Same(ClientProfiles.FreeRdp2, ClientJudgement.Effective(new ProbeOptions { Client = ClientProfiles.FreeRdp2 }));
        Assert.Equal(ClientProfiles.FreeRdp2.RequestedProtocols, new ProbeOptions { Client = ClientProfiles.FreeRdp2 }.RequestedProtocols);
    }
}
