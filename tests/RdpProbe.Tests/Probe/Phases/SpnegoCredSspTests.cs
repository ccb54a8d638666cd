using System.Runtime.InteropServices;
using RdpProbe.Diagnosis;
using RdpProbe.Probe;
using RdpProbe.Probe.Phases;
using RdpProbe.Protocol;
using RdpProbe.Reports;
using RdpProbe.Tests.JsonReports;

namespace RdpProbe.Tests.Probe.Phases;

/// <summary>
/// CredSSP with SPNEGO against the scripted SPNEGO server (<see cref="FakeSpnegoServer"/>, real TLS on loopback) through
/// the whole engine. No KDC here: the Kerberos library is pointed at a closed port, so these are the paths without a
/// ticket; the paths with a real ticket from the lab KDC are in RdpProbe.IntegrationTests (Spnego/).
/// </summary>
[Collection(KerberosEnvironment.Name)]
public sealed class SpnegoCredSspTests
{
    private const string Password = "Passw0rd!";

    private static async Task<(ProbeReport Report, PhaseRecord Credssp)> ProbeAsync(FakeSpnegoServer fake, string host, AuthMechanism? auth, string user = "LAB\\probe", string password = Password, bool awaitServer = true)
    {
        KerberosEnvironment.NoKdc();
        await using var server = SpnegoTlsServer.Start(fake.RunAsync);
        var engine = SpnegoTlsServer.Engine(auth).WithCredentials(user, password);
        var report = Assert.Single(await engine.RunAsync(ProbeTarget.Parse($"{host}:{server.Port}"), CancellationToken.None));
        if (awaitServer)
        {
            await server.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        }

        return (report, report.Phases.Single(p => p.Phase == Phase.Credssp));
    }

    [Fact]
    public async Task Negotiate_by_ip_address_has_no_spn_and_sends_bare_ntlm()
    {
        // No SPN, so no Kerberos token: NTLM is the only mechanism left and Negotiate sends it without SPNEGO.
        var fake = new FakeSpnegoServer(6, SpnegoTlsServer.PublicKey);
        var (report, credssp) = await ProbeAsync(fake, "127.0.0.1", AuthMechanism.Negotiate);

        Assert.True(credssp.Status == PhaseStatus.Ok, credssp.Detail);
        Assert.True(fake.RawNtlmFirst);
        Assert.Null(fake.Init);
        Assert.True(fake.ClientProofVerified);
        Assert.Equal((TsCredentialType.Password, "LAB", "probe", Password), fake.Delegated);

        var facts = report.CredSsp!;
        Assert.True(facts.Authenticated);
        Assert.Equal("negotiate", facts.Auth);
        Assert.Equal("ntlm", facts.Mechanism);
        Assert.Empty(facts.Spnego!.Offered);
        Assert.Null(facts.Spnego.Spn);
        Assert.Equal("no_spn", facts.Spnego.KerberosUnavailable);
        Assert.Null(facts.Spnego.ServerChoice);
        Assert.Contains("literal IP address", credssp.Detail ?? "", StringComparison.Ordinal);
        Assert.Contains("without the SPNEGO wrapper", credssp.Detail ?? "", StringComparison.Ordinal);
        Assert.Equal("APP01", facts.Ntlm!.NetbiosComputerName);
        Assert.DoesNotContain(credssp.Messages, m => m.Description.Contains("SPNEGO", StringComparison.Ordinal) && m.Direction == Direction.Sent);
    }

    [Fact]
    public async Task Kerberos_required_by_ip_address_stops_before_sending_anything()
    {
        var fake = new FakeSpnegoServer(6, SpnegoTlsServer.PublicKey);
        var (report, credssp) = await ProbeAsync(fake, "127.0.0.1", AuthMechanism.Kerberos, awaitServer: false);

        Assert.Equal(Ending.ClientRefused, credssp.Ending);
        Assert.Equal(Codes.KerberosNoSpn, credssp.Code);
        Assert.Empty(credssp.Messages);
        Assert.Null(fake.Init);
        Assert.Equal(Phase.Credssp, report.Verdict.Phase);
        Assert.Contains("IP address", report.Verdict.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Negotiate_without_a_ticket_falls_back_to_bare_ntlm_as_windows_does()
    {
        var fake = new FakeSpnegoServer(6, SpnegoTlsServer.PublicKey);
        var (report, credssp) = await ProbeAsync(fake, "app01.rdpprobe.test", AuthMechanism.Negotiate);

        Assert.True(credssp.Status == PhaseStatus.Ok, credssp.Detail);
        Assert.True(fake.RawNtlmFirst);
        Assert.True(fake.ClientProofVerified);
        Assert.True(report.CredSsp!.Authenticated);
        var spnego = report.CredSsp!.Spnego!;
        Assert.Equal("TERMSRV/app01.rdpprobe.test", spnego.Spn);
        Assert.NotNull(spnego.KerberosUnavailable);
        Assert.NotEqual("no_spn", spnego.KerberosUnavailable);
        Assert.Empty(spnego.Offered);
        Assert.Contains("the client falls back to NTLM", string.Join(" ", credssp.Detail), StringComparison.Ordinal);
    }

    /// <summary>The kerberos phase runs against --kdc on a closed loopback port (kdc_unreachable), then CredSSP with <paramref name="fake"/>.</summary>
    private static async Task<ProbeReport> ProbeWithUnreachableKdcAsync(FakeSpnegoServer fake, AuthMechanism auth)
    {
        KerberosEnvironment.NoKdc();
        await using var server = SpnegoTlsServer.Start(fake.RunAsync);
        var kerberos = new KerberosOptions { Realm = "RDPPROBE.TEST", Kdc = "127.0.0.1:9" };
        var engine = SpnegoTlsServer.Engine(auth, "RDPPROBE.TEST", kerberos).WithCredentials("LAB\\probe", Password);
        var report = Assert.Single(await engine.RunAsync(ProbeTarget.Parse($"app01.rdpprobe.test:{server.Port}"), CancellationToken.None));
        if (auth == AuthMechanism.Negotiate)
        {
            await server.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        }

        return report;
    }

    [Fact]
    public async Task A_kerberos_phase_failure_negotiate_falls_back_from_is_evidence_not_the_verdict()
    {
        // The kerberos phase runs (--kdc on a closed loopback port: kdc_unreachable); Negotiate goes on with NTLM, the
        // verdict is what NTLM met (here: a logon), and a finding says the connection lives on the NTLM fallback.
        var fake = new FakeSpnegoServer(6, SpnegoTlsServer.PublicKey);
        var report = await ProbeWithUnreachableKdcAsync(fake, AuthMechanism.Negotiate);

        var phase = report.Phases.Single(p => p.Phase == Phase.Kerberos);
        Assert.Equal(PhaseStatus.Failed, phase.Status);
        Assert.Equal(Codes.KdcUnreachable, phase.Code);
        Assert.Equal("ntlm", phase.FellBackTo);
        Assert.True(fake.RawNtlmFirst);
        Assert.True(report.CredSsp!.Authenticated);
        Assert.Equal("kdc_unreachable", report.CredSsp.Spnego!.KerberosUnavailable);
        Assert.True(report.Verdict.Ok, report.Verdict.Summary);
        Assert.Equal(Phase.Credssp, report.Verdict.Phase);
        Assert.Contains("Kerberos could not be had (kdc_unreachable), so the logon went through NTLM", report.Verdict.Summary, StringComparison.Ordinal);
        var finding = Assert.Single(report.Findings, f => f.Code == FindingRules.Codes.KerberosFallbackToNtlm);
        Assert.Equal(Severity.Medium, finding.Severity);
        Assert.Contains("kdc_unreachable for TERMSRV/app01.rdpprobe.test", finding.Evidence, StringComparison.Ordinal);

        var json = ProbeJson.Serialize(report);
        Assert.Empty(ReportSchemas.Errors(ReportSchemas.Probe, json));
        Assert.Contains("\"fellBackTo\": \"ntlm\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_kerberos_required_the_same_failure_ends_the_probe_at_kerberos()
    {
        // --auth kerberos is the client that has no NTLM to fall back to (Restrict NTLM, Protected Users).
        var report = await ProbeWithUnreachableKdcAsync(new FakeSpnegoServer(6, SpnegoTlsServer.PublicKey), AuthMechanism.Kerberos);

        var phase = report.Phases.Single(p => p.Phase == Phase.Kerberos);
        Assert.Null(phase.FellBackTo);
        Assert.DoesNotContain(report.Phases, p => p.Phase == Phase.Credssp);
        Assert.False(report.Verdict.Ok);
        Assert.Equal(Phase.Kerberos, report.Verdict.Phase);
        Assert.Equal(Codes.KdcUnreachable, report.Verdict.Code);
        Assert.DoesNotContain(report.Findings, f => f.Code == FindingRules.Codes.KerberosFallbackToNtlm);
    }

    [Theory]
    [InlineData("kdc_not_found", true)]
    [InlineData("kdc_unreachable", true)]
    [InlineData("kdc_err_s_principal_unknown", true)]
    [InlineData("kdc_err_c_principal_unknown", true)]
    [InlineData("kdc_err_etype_nosupp", true)]
    [InlineData("krb_ap_err_skew", true)]
    [InlineData("kdc_err_preauth_failed", false)]
    [InlineData("kdc_err_client_revoked", false)]
    [InlineData("kdc_err_key_expired", false)]
    [InlineData("kerberos_library_error", false)]
    public void Negotiate_falls_back_only_when_kerberos_cannot_be_had(string code, bool fallsBack)
        => Assert.Equal(fallsBack, KerberosPhase.NegotiateFallsBack(new Code(code)));

    [Fact]
    public async Task Kerberos_required_without_a_ticket_is_kerberos_unavailable()
    {
        var fake = new FakeSpnegoServer(6, SpnegoTlsServer.PublicKey);
        var (report, credssp) = await ProbeAsync(fake, "app01.rdpprobe.test", AuthMechanism.Kerberos, awaitServer: false);

        Assert.Equal(Ending.ClientRefused, credssp.Ending);
        Assert.Equal(Codes.KerberosUnavailable, credssp.Code);
        Assert.Empty(credssp.Messages);
        Assert.Contains("TERMSRV/app01.rdpprobe.test", credssp.Detail, StringComparison.Ordinal);
        Assert.Equal("kerberos_unavailable", ProbeJson.ToDocument(report).Phases.Single(p => p.Name == "credssp").Code);
    }

    [Fact]
    public void Only_facility_7_error_codes_count_as_wrapped_win32()
    {
        // STATUS_LOGON_FAILURE is a logon status, not a wrapped Win32 error: the server read the token and said no.
        Assert.False(CredSspPhase.IsWrappedWin32(0xC000006D));
        Assert.True(CredSspPhase.IsWrappedWin32(FakeSpnegoServer.FreeRdp2ErrorCode));
        Assert.False(CredSspPhase.IsWrappedWin32(0x800700EA));
    }

    [Fact]
    public async Task A_wrong_password_after_the_ntlm_fallback_is_auth_failed()
    {
        var fake = new FakeSpnegoServer(6, SpnegoTlsServer.PublicKey);
        var (report, credssp) = await ProbeAsync(fake, "127.0.0.1", AuthMechanism.Negotiate, password: "wrong");

        Assert.Equal(Ending.AuthFailed, credssp.Ending);
        Assert.Null(fake.Delegated);
        Assert.False(report.CredSsp!.Authenticated);
        Assert.DoesNotContain("wrong", string.Join("|", credssp.Messages.Select(m => m.Description)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_json_report_carries_auth_mechanism_and_spnego()
    {
        var fake = new FakeSpnegoServer(5, SpnegoTlsServer.PublicKey);
        var (report, _) = await ProbeAsync(fake, "127.0.0.1", AuthMechanism.Negotiate);
        var json = ProbeJson.Serialize(report);

        Assert.Contains("\"auth\": \"negotiate\"", json, StringComparison.Ordinal);
        Assert.Contains("\"mechanism\": \"ntlm\"", json, StringComparison.Ordinal);
        Assert.Contains("\"kerberosUnavailable\": \"no_spn\"", json, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, json, StringComparison.Ordinal);
        Assert.Empty(ReportSchemas.Errors(ReportSchemas.Probe, json));
    }

    [Fact]
    public async Task Without_auth_and_realm_the_probe_sends_raw_ntlm_as_before()
    {
        // The default stays NTLM without a realm: a raw NTLM NEGOTIATE is what this server then gets (not SPNEGO).
        TsRequest? first = null;
        KerberosEnvironment.NoKdc();
        await using var server = SpnegoTlsServer.Start(async (s, ct) => first = await FakeSpnegoServer.ReadTsRequestAsync(s, ct));
        var report = Assert.Single(await SpnegoTlsServer.Engine(null).RunAsync(ProbeTarget.Parse($"app01.rdpprobe.test:{server.Port}"), CancellationToken.None));
        await server.Completion.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(first!.FirstNegoToken.AsSpan().StartsWith(Ntlm.Signature));
        Assert.Equal("ntlm", report.CredSsp!.Auth);
        Assert.Null(report.CredSsp.Spnego);
    }
}

/// <summary>Choosing the mechanism, the SPN and the principal (no network).</summary>
public sealed class AuthSelectionTests
{
    [Theory]
    [InlineData(null, null, AuthMechanism.Ntlm)]
    [InlineData(null, "RDPPROBE.TEST", AuthMechanism.Negotiate)]
    [InlineData(AuthMechanism.Ntlm, "RDPPROBE.TEST", AuthMechanism.Ntlm)]
    [InlineData(AuthMechanism.Kerberos, null, AuthMechanism.Kerberos)]
    public void Negotiate_is_the_default_only_when_a_realm_is_known(AuthMechanism? given, string? realm, AuthMechanism expected)
        => Assert.Equal(expected, AuthMechanisms.Default(given, realm));

    [Theory]
    [InlineData("negotiate", AuthMechanism.Negotiate)]
    [InlineData("Kerberos", AuthMechanism.Kerberos)]
    [InlineData(" NTLM ", AuthMechanism.Ntlm)]
    public void Parses_the_three_words(string text, AuthMechanism expected)
    {
        Assert.True(AuthMechanisms.TryParse(text, out var mechanism));
        Assert.Equal(expected, mechanism);
        Assert.Equal(expected.ToString().ToLowerInvariant(), AuthMechanisms.Word(mechanism));
    }

    [Theory]
    [InlineData("")]
    [InlineData("spnego")]
    [InlineData("krb5")]
    [InlineData(null)]
    public void Refuses_anything_else(string? text) => Assert.False(AuthMechanisms.TryParse(text, out _));

    [Fact]
    public void The_spn_is_termsrv_and_the_name_as_given_and_none_for_an_ip()
    {
        var options = new ProbeOptions { Realm = "rdpprobe.test" };
        var byName = ConnectionSequence.CredSspAuthFor(options, null, ProbeTarget.Parse("App01.rdpprobe.test:3389"));
        Assert.Equal(new CredSspAuth(AuthMechanism.Negotiate, "TERMSRV/App01.rdpprobe.test", "RDPPROBE.TEST"), byName);
        Assert.Null(ConnectionSequence.CredSspAuthFor(options, null, ProbeTarget.Parse("192.0.2.7")).Spn);
        Assert.Null(ConnectionSequence.CredSspAuthFor(options, null, ProbeTarget.Parse("[2001:db8::7]:3389")).Spn);
        Assert.Same(CredSspAuth.Ntlm, ConnectionSequence.CredSspAuthFor(new ProbeOptions(), null, ProbeTarget.Parse("app01")));

        // A UPN names the realm of the principal but does not by itself switch the default away from NTLM.
        var upn = CredSspCredentials.FromUserSpec("probe@rdpprobe.test", "x");
        Assert.Same(CredSspAuth.Ntlm, ConnectionSequence.CredSspAuthFor(new ProbeOptions(), upn, ProbeTarget.Parse("app01")));
        Assert.Equal("RDPPROBE.TEST", ConnectionSequence.CredSspAuthFor(new ProbeOptions { Auth = AuthMechanism.Kerberos }, upn, ProbeTarget.Parse("app01")).Realm);
    }

    [Fact]
    public void Server_name_gives_credssp_the_same_spn_as_the_kerberos_phase()
    {
        // Found against the lab: 127.0.0.1 --server-name app01 got its ticket in the kerberos phase, then CredSSP said
        // "literal IP address, no SPN". Both now ask for TERMSRV/<--server-name>.
        var kerberos = new KerberosOptions { Realm = "RDPPROBE.TEST", ServerName = "app01.rdpprobe.test" };
        var options = new ProbeOptions { Realm = "RDPPROBE.TEST", Auth = AuthMechanism.Kerberos, Kerberos = kerberos };
        var target = ProbeTarget.Parse("127.0.0.1:3389");
        Assert.Equal("TERMSRV/app01.rdpprobe.test", ConnectionSequence.CredSspAuthFor(options, null, target).Spn);
        Assert.Equal(KerberosPhase.SpnFor(target, kerberos), ConnectionSequence.CredSspAuthFor(options, null, target).Spn);
        Assert.Null(ConnectionSequence.CredSspAuthFor(options with { Kerberos = new KerberosOptions { Realm = "RDPPROBE.TEST" } }, null, target).Spn);
    }

    [Fact]
    public void The_library_krb5_conf_names_the_kdc_the_phase_used_and_its_etype_policy()
    {
        var facts = new KerberosFacts { Realm = "RDPPROBE.TEST", Kdc = "127.0.0.1:19403" };
        facts.EtypesRequested.AddRange(["aes256-cts-hmac-sha1-96", "aes128-cts-hmac-sha1-96"]);
        string conf = KerberosPhase.LibraryConfig(facts)!;
        Assert.Contains("default_realm = RDPPROBE.TEST", conf, StringComparison.Ordinal);
        Assert.Contains("kdc = 127.0.0.1:19403", conf, StringComparison.Ordinal);
        Assert.Contains("permitted_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96", conf, StringComparison.Ordinal);
        Assert.Contains("dns_canonicalize_hostname = false", conf, StringComparison.Ordinal);
        Assert.Null(KerberosPhase.LibraryConfig(new KerberosFacts { Realm = "RDPPROBE.TEST" }));
    }

    [Fact]
    public void The_principal_comes_from_the_user_spec_and_the_realm()
    {
        var upn = KerberosContext.Credential(CredSspCredentials.FromUserSpec("probe@rdpprobe.test", "pw"), null);
        Assert.Equal(("probe", "RDPPROBE.TEST"), (upn.UserName, upn.Domain));
        var down = KerberosContext.Credential(CredSspCredentials.FromUserSpec("LAB\\probe", "pw"), "RDPPROBE.TEST");
        Assert.Equal(("probe", "RDPPROBE.TEST"), (down.UserName, down.Domain));
        var bare = KerberosContext.Credential(CredSspCredentials.FromUserSpec("LAB\\probe", "pw"), null);
        Assert.Equal("LAB", bare.Domain);
        Assert.Same(System.Net.CredentialCache.DefaultNetworkCredentials, KerberosContext.Credential(null, "RDPPROBE.TEST"));
    }
}

/// <summary>
/// The C environment MIT krb5 reads (setenv(3); <see cref="Environment.SetEnvironmentVariable(string, string)"/> does not
/// reach it on Unix). Tests that touch it share one collection, so they do not run in parallel with each other.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class KerberosEnvironment
{
    public const string Name = "kerberos-environment";

    private static readonly string Config = Path.Combine(Path.GetTempPath(), $"rdpprobe-no-kdc-{Environment.ProcessId}.conf");

    [DllImport("libc", EntryPoint = "setenv", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern int SetEnv(string name, string value, int overwrite);

    /// <summary>A realm whose only KDC is a closed loopback port: every ticket request fails at once, nothing leaves the host.</summary>
    public static void NoKdc()
    {
        File.WriteAllText(Config, "[libdefaults]\n default_realm = RDPPROBE.TEST\n dns_lookup_kdc = false\n dns_lookup_realm = false\n dns_canonicalize_hostname = false\n rdns = false\n" +
            "[realms]\n RDPPROBE.TEST = {\n  kdc = 127.0.0.1:9\n }\n[domain_realm]\n .rdpprobe.test = RDPPROBE.TEST\n");
        Assert.Equal(0, SetEnv("KRB5_CONFIG", Config, 1));
        Assert.Equal(0, SetEnv("KRB5CCNAME", "MEMORY:rdpprobe-unit-tests", 1));
    }
}
