using System.Globalization;
using System.Text.Json;
using RdpProbe.Cli;
using RdpProbe.IntegrationTests.Lab;
using RdpProbe.IntegrationTests.Spnego;
using RdpProbe.Tests.JsonReports;
using Spectre.Console.Testing;

namespace RdpProbe.IntegrationTests.Kerberos;

/// <summary>
/// The kerberos phase (issue 12) through the real command line against the lab's real MIT KDC (scripts/kdc.sh:
/// base+14, and base+15 with its clock 7 minutes ahead) and the lab's NLA server (FreeRDP 2 shadow, base+1), one test
/// per failure a user meets: each asserts the phase's ending and code, the facts in the JSON (which validates against
/// docs/schemas/probe.schema.json every time) and the verdict's plain words. The password comes from RDPPROBE_PASSWORD,
/// as a user gives it. The client configuration is the lab's krb5.conf (KRB5_CONFIG): realm RDPPROBE.TEST and an
/// AES-only enctype policy, as on a Windows domain with RC4 disabled.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class KerberosLabTests(LabFixture lab)
{
    /// <summary>A krb5.conf other than the lab's for the next <see cref="ProbeAsync"/> (null: the lab's).</summary>
    private string? clientConfig;

    private const string Realm = KerberosLab.Realm;

    private string Kdc => "127.0.0.1:" + (lab.BasePort + 14).ToString(CultureInfo.InvariantCulture);

    private string SkewedKdc => "127.0.0.1:" + (lab.BasePort + 15).ToString(CultureInfo.InvariantCulture);

    private sealed record Run(int Exit, JsonElement Root, string Json)
    {
        public JsonElement Phase(string name) => Root.GetProperty("phases").EnumerateArray().Single(p => p.GetProperty("name").GetString() == name);

        public JsonElement Kerberos => Root.GetProperty("kerberos");

        public string Verdict => Root.GetProperty("verdict").GetProperty("summary").GetString()!;

        public string? Code(string phase) => Phase(phase).GetProperty("code").GetString();

        public string Detail(string phase) => Phase(phase).GetProperty("detail").GetString() ?? "";
    }

    /// <summary>
    /// rdpprobe TARGET --json --user USER --realm RDPPROBE.TEST … (password from RDPPROBE_PASSWORD) against the NLA server;
    /// the JSON document is checked against the schema before anything else.
    /// </summary>
    private async Task<Run> ProbeAsync(string user, string password, string? target, params string[] options)
    {
        KerberosLab.UseLabKdc(lab, clientConfig);
        Environment.SetEnvironmentVariable("RDPPROBE_PASSWORD", password);
        try
        {
            var output = new StringWriter();
            var error = new StringWriter();
            var console = new TestConsole { Profile = { Width = 200 } };
            string[] args = [target ?? lab.Endpoints.ShadowNla.ToString(), "--json", "--no-matrix", "--no-tls-versions", "--no-encryption-levels", "--user", user, "--realm", Realm, .. options];
            int exit = await RdpProbeApp.RunAsync(args, new CliIo(output, error, console));
            string json = output.ToString();
            Assert.False(string.IsNullOrWhiteSpace(json), $"exit {exit}: {error}");
            ReportSchemas.AssertValid(ReportSchemas.Probe, json);
            Assert.DoesNotContain(password, json, StringComparison.Ordinal);
            return new Run(exit, JsonDocument.Parse(json).RootElement, json);
        }
        finally
        {
            Environment.SetEnvironmentVariable("RDPPROBE_PASSWORD", null);
        }
    }

    /// <summary>The same command without --json: what a person reads on the terminal.</summary>
    private async Task<string> ScreenAsync(string user, params string[] options)
    {
        KerberosLab.UseLabKdc(lab);
        Environment.SetEnvironmentVariable("RDPPROBE_PASSWORD", LabFixture.Password);
        try
        {
            var output = new StringWriter();
            var error = new StringWriter();
            var console = new TestConsole { Profile = { Width = 200 } };
            string[] args = [lab.Endpoints.ShadowNla.ToString(), "--no-matrix", "--no-tls-versions", "--no-encryption-levels", "--user", user, "--realm", Realm, .. options];
            await RdpProbeApp.RunAsync(args, new CliIo(output, error, console));
            return console.Output + output + error;
        }
        finally
        {
            Environment.SetEnvironmentVariable("RDPPROBE_PASSWORD", null);
        }
    }

    private static void AssertKerberosFailed(Run run, string ending, string code)
    {
        var phase = run.Phase("kerberos");
        Assert.True(phase.GetProperty("status").GetString() == "failed", run.Detail("kerberos"));
        Assert.Equal(ending, phase.GetProperty("ending").GetString());
        Assert.Equal(code, phase.GetProperty("code").GetString());
        Assert.Equal("kerberos", run.Root.GetProperty("verdict").GetProperty("phase").GetString());
        Assert.Equal(code, run.Root.GetProperty("verdict").GetProperty("code").GetString());
        Assert.Equal(ExitCodes.Credssp, run.Exit);

        // The client stops where a Windows client's Kerberos attempt stops: nothing goes to the server's CredSSP.
        Assert.DoesNotContain(run.Root.GetProperty("phases").EnumerateArray(), p => p.GetProperty("name").GetString() == "credssp");
    }

    [Fact]
    public async Task A_registered_spn_gets_a_tgt_and_an_aes_service_ticket_from_the_lab_kdc()
    {
        var run = await ProbeAsync("probe", LabFixture.Password, null, "--auth", "kerberos", "--kdc", Kdc, "--server-name", "app01.rdpprobe.test");

        var phase = run.Phase("kerberos");
        Assert.True(phase.GetProperty("status").GetString() == "ok", run.Detail("kerberos"));
        Assert.Contains("TGT and service ticket for TERMSRV/app01.rdpprobe.test", run.Detail("kerberos"), StringComparison.Ordinal);
        var k = run.Kerberos;
        Assert.Equal(Realm, k.GetProperty("realm").GetString());
        Assert.Equal("option", k.GetProperty("realmSource").GetString());
        Assert.Equal("TERMSRV/app01.rdpprobe.test", k.GetProperty("spn").GetString());
        Assert.Equal(Kdc, k.GetProperty("kdc").GetString());
        Assert.Equal("option", k.GetProperty("kdcSource").GetString());
        Assert.True(k.GetProperty("udp").GetProperty("reachable").GetBoolean());
        Assert.True(k.GetProperty("tcp").GetProperty("reachable").GetBoolean());
        Assert.Equal("KDC_ERR_PREAUTH_REQUIRED", k.GetProperty("kdcAnswer").GetString());
        Assert.Equal(["aes256-cts-hmac-sha1-96", "aes128-cts-hmac-sha1-96"], k.GetProperty("etypesRequested").EnumerateArray().Select(e => e.GetString()));
        Assert.True(k.GetProperty("as").GetProperty("ok").GetBoolean());
        Assert.True(k.GetProperty("tgs").GetProperty("ok").GetBoolean());
        Assert.Equal("aes256-cts-hmac-sha1-96", k.GetProperty("tgs").GetProperty("ticketEtype").GetString());
        Assert.InRange(k.GetProperty("clockSkewSeconds").GetDouble(), -5, 5);
    }

    [Fact]
    public async Task Freerdp2_is_ntlm_only_it_refuses_the_real_kerberos_ticket_in_spnego()
    {
        // Verified against the real server (issue 12, item 5): FreeRDP 2's CredSSP acceptor is NTLM-only. It answers the
        // SPNEGO NegTokenInit carrying a real AP-REQ for TERMSRV/app01 with errorCode 0xC00700EA — NTSTATUS_FROM_WIN32 of
        // a stale Win32 error (its log: AcceptSecurityContext SEC_E_INVALID_TOKEN) — never with a NegTokenResp.
        var run = await ProbeAsync("probe", LabFixture.Password, null, "--auth", "kerberos", "--kdc", Kdc, "--server-name", "app01.rdpprobe.test");

        Assert.Equal("ok", run.Phase("kerberos").GetProperty("status").GetString());
        var credssp = run.Phase("credssp");
        Assert.Equal("auth_failed", credssp.GetProperty("ending").GetString());
        Assert.Equal("spnego_not_understood", run.Code("credssp"));
        Assert.Contains("0xC00700EA, NTSTATUS_FROM_WIN32(234)", run.Detail("credssp"), StringComparison.Ordinal);
        var spnego = run.Root.GetProperty("credssp").GetProperty("spnego");
        Assert.Equal(["ms_krb5", "krb5", "ntlm"], spnego.GetProperty("offered").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("TERMSRV/app01.rdpprobe.test", spnego.GetProperty("spn").GetString());
        Assert.Equal("not_understood", spnego.GetProperty("serverChoice").GetString());
        Assert.False(run.Root.GetProperty("credssp").GetProperty("authenticated").GetBoolean());
        Assert.Contains("it speaks only raw NTLM in CredSSP, as FreeRDP 2 servers do, so Kerberos cannot be used with it", run.Verdict, StringComparison.Ordinal);
        string screen = await ScreenAsync("probe", "--auth", "kerberos", "--kdc", Kdc, "--server-name", "app01.rdpprobe.test");
        Assert.Contains("FAILED at credssp: auth_failed (spnego_not_understood)", screen, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Freerdp2_takes_the_same_account_over_raw_ntlm()
    {
        // The other half of "NTLM-only": same server, same account (the shadow server's SAM: LAB\probe), raw NTLM logs on.
        var run = await ProbeAsync("LAB\\probe", LabFixture.Password, null, "--auth", "ntlm", "--kdc", Kdc, "--server-name", "app01.rdpprobe.test");

        Assert.Equal("ok", run.Phase("kerberos").GetProperty("status").GetString());
        Assert.True(run.Phase("credssp").GetProperty("status").GetString() == "ok", run.Detail("credssp"));
        Assert.True(run.Root.GetProperty("credssp").GetProperty("authenticated").GetBoolean());
        Assert.Equal("ntlm", run.Root.GetProperty("credssp").GetProperty("auth").GetString());
    }

    [Fact]
    public async Task Negotiate_by_ip_sends_bare_ntlm_which_freerdp2_takes_as_xfreerdp_does()
    {
        // By IP address no SPN exists, so no Kerberos token: NTLM is the only mechanism left and Negotiate sends it bare
        // (no SPNEGO wrapper), which the NTLM-only FreeRDP 2 server takes — as it takes the real xfreerdp's NTLM.
        var run = await ProbeAsync("LAB\\probe", LabFixture.Password, null, "--auth", "negotiate", "--kdc", Kdc);

        Assert.Equal("skipped", run.Phase("kerberos").GetProperty("status").GetString());
        Assert.True(run.Phase("credssp").GetProperty("status").GetString() == "ok", run.Detail("credssp"));
        var credssp = run.Root.GetProperty("credssp");
        Assert.True(credssp.GetProperty("authenticated").GetBoolean());
        Assert.Equal("negotiate", credssp.GetProperty("auth").GetString());
        Assert.Equal("ntlm", credssp.GetProperty("mechanism").GetString());
        Assert.Empty(credssp.GetProperty("spnego").GetProperty("offered").EnumerateArray());
        Assert.Equal("no_spn", credssp.GetProperty("spnego").GetProperty("kerberosUnavailable").GetString());
        Assert.Contains("without the SPNEGO wrapper", run.Detail("credssp"), StringComparison.Ordinal);

        Assert.True(await XfreerdpLogsOnAsync(), "the real client (xfreerdp, NTLM) should log on to the same server with the same account");
    }

    /// <summary>FreeRDP 2's xfreerdp, +auth-only, with the lab account against the lab's NLA server: true when CredSSP succeeded.</summary>
    private async Task<bool> XfreerdpLogsOnAsync()
    {
        var (displayExit, display) = await LabScripts.RunAsync("lab.sh", ["display", "--base", lab.BasePort.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(60));
        Assert.True(displayExit == 0, display);
        var endpoint = lab.Endpoints.ShadowNla;
        string log = await XfreerdpCapture.RunAsync("xfreerdp",
            [$"/v:{endpoint.Address}:{endpoint.Port}", "/cert:ignore", $"/u:{LabFixture.User}", $"/d:{LabFixture.Domain}", $"/p:{LabFixture.Password}", "+auth-only"],
            TimeSpan.FromSeconds(30), display.Trim().Split('\n')[^1].Trim());
        return log.Contains("Authentication only, exit status 0", StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unregistered_spn_is_s_principal_unknown_and_says_why_connecting_by_ip_works()
    {
        // --auth kerberos: the client without an NTLM fallback (Restrict NTLM, Protected Users) stops here.
        var run = await ProbeAsync("probe", LabFixture.Password, null, "--auth", "kerberos", "--kdc", Kdc, "--server-name", "app02.rdpprobe.test");

        AssertKerberosFailed(run, "auth_failed", "kdc_err_s_principal_unknown");
        Assert.True(run.Kerberos.GetProperty("as").GetProperty("ok").GetBoolean(), "the TGT should come first");
        Assert.Equal("KDC_ERR_S_PRINCIPAL_UNKNOWN", run.Kerberos.GetProperty("tgs").GetProperty("error").GetString());
        Assert.Contains("no SPN TERMSRV/app02.rdpprobe.test is registered in RDPPROBE.TEST", run.Detail("kerberos"), StringComparison.Ordinal);
        Assert.Contains("setspn -S TERMSRV/app02.rdpprobe.test", run.Detail("kerberos"), StringComparison.Ordinal);
        Assert.Contains("no service principal TERMSRV/app02.rdpprobe.test is registered", run.Verdict, StringComparison.Ordinal);
        Assert.Contains("so clients fall back to NTLM; connecting by IP address works for the same reason", run.Verdict, StringComparison.Ordinal);
        string screen = await ScreenAsync("probe", "--auth", "kerberos", "--kdc", Kdc, "--server-name", "app02.rdpprobe.test");
        Assert.Contains("FAILED at kerberos: auth_failed (kdc_err_s_principal_unknown)", screen, StringComparison.Ordinal);
        Assert.Contains("TERMSRV/app02.rdpprobe.test", screen, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_negotiate_an_unregistered_spn_falls_back_to_ntlm_and_the_logon_goes_on()
    {
        // What a domain-joined Windows client does: no ticket for TERMSRV/app02, so Negotiate sends NTLM and logs on.
        // The kerberos failure stays as evidence (and a finding: it works only while NTLM is allowed), not as the verdict.
        var run = await ProbeAsync("LAB\\probe", LabFixture.Password, null, "--auth", "negotiate", "--kdc", Kdc, "--server-name", "app02.rdpprobe.test");

        var kerberos = run.Phase("kerberos");
        Assert.Equal("failed", kerberos.GetProperty("status").GetString());
        Assert.Equal("kdc_err_s_principal_unknown", run.Code("kerberos"));
        Assert.Equal("ntlm", kerberos.GetProperty("fellBackTo").GetString());
        Assert.True(run.Phase("credssp").GetProperty("status").GetString() == "ok", run.Detail("credssp"));
        var credssp = run.Root.GetProperty("credssp");
        Assert.True(credssp.GetProperty("authenticated").GetBoolean());
        Assert.Equal("ntlm", credssp.GetProperty("mechanism").GetString());
        Assert.Equal("kdc_err_s_principal_unknown", credssp.GetProperty("spnego").GetProperty("kerberosUnavailable").GetString());
        Assert.NotEqual("kerberos", run.Root.GetProperty("verdict").GetProperty("phase").GetString());
        Assert.Equal(ExitCodes.Ok, run.Exit);
        Assert.Contains("Kerberos could not be had (kdc_err_s_principal_unknown), so the logon went through NTLM", run.Verdict, StringComparison.Ordinal);
        var finding = run.Root.GetProperty("findings").EnumerateArray().Single(f => f.GetProperty("code").GetString() == "kerberos_fallback_to_ntlm");
        Assert.Equal("medium", finding.GetProperty("severity").GetString());
        Assert.Contains("kdc_err_s_principal_unknown for TERMSRV/app02.rdpprobe.test", finding.GetProperty("evidence").GetString(), StringComparison.Ordinal);

        string screen = await ScreenAsync("LAB\\probe", "--auth", "negotiate", "--kdc", Kdc, "--server-name", "app02.rdpprobe.test");
        Assert.Contains("fell back to NTLM", screen, StringComparison.Ordinal);
        Assert.DoesNotContain("FAILED at kerberos", screen, StringComparison.Ordinal);

        // The real client by NTLM agrees: the same account logs on to the same server.
        Assert.True(await XfreerdpLogsOnAsync(), "xfreerdp should log on with NTLM");
    }

    [Fact]
    public async Task An_unknown_user_is_c_principal_unknown_from_the_clear_kdc_answer()
    {
        var run = await ProbeAsync("nobody", LabFixture.Password, null, "--auth", "kerberos", "--kdc", Kdc, "--server-name", "app01.rdpprobe.test");

        AssertKerberosFailed(run, "auth_failed", "kdc_err_c_principal_unknown");
        Assert.Equal("KDC_ERR_C_PRINCIPAL_UNKNOWN", run.Kerberos.GetProperty("kdcAnswer").GetString());
        Assert.Contains("does not know nobody@RDPPROBE.TEST", run.Detail("kerberos"), StringComparison.Ordinal);
        Assert.Contains("The KDC does not know this account (KDC_ERR_C_PRINCIPAL_UNKNOWN)", run.Verdict, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_password_is_preauth_failed()
    {
        var run = await ProbeAsync("probe", "not-the-password", null, "--auth", "kerberos", "--kdc", Kdc, "--server-name", "app01.rdpprobe.test");

        AssertKerberosFailed(run, "auth_failed", "kdc_err_preauth_failed");
        Assert.Equal("KDC_ERR_PREAUTH_FAILED", run.Kerberos.GetProperty("as").GetProperty("error").GetString());
        Assert.Equal(JsonValueKind.Null, run.Kerberos.GetProperty("tgs").ValueKind);
        Assert.Contains("Kerberos pre-authentication failed (KDC_ERR_PREAUTH_FAILED): the password is wrong", run.Verdict, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_disabled_account_is_client_revoked()
    {
        var run = await ProbeAsync("revoked", LabFixture.Password, null, "--auth", "kerberos", "--kdc", Kdc, "--server-name", "app01.rdpprobe.test");

        AssertKerberosFailed(run, "auth_failed", "kdc_err_client_revoked");
        Assert.Contains("revoked@RDPPROBE.TEST is disabled or locked out", run.Detail("kerberos"), StringComparison.Ordinal);
        Assert.Contains("(KDC_ERR_CLIENT_REVOKED): it is disabled or locked out", run.Verdict, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_expired_password_is_key_expired()
    {
        var run = await ProbeAsync("expiredpw", LabFixture.Password, null, "--auth", "kerberos", "--kdc", Kdc, "--server-name", "app01.rdpprobe.test");

        AssertKerberosFailed(run, "auth_failed", "kdc_err_key_expired");
        Assert.Contains("the password of expiredpw@RDPPROBE.TEST has expired", run.Detail("kerberos"), StringComparison.Ordinal);
        Assert.Contains("password has expired (KDC_ERR_KEY_EXPIRED)", run.Verdict, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_rc4_only_account_under_the_aes_only_policy_is_etype_nosupp_naming_both_sides()
    {
        var run = await ProbeAsync("rc4only", LabFixture.Password, null, "--auth", "kerberos", "--kdc", Kdc, "--server-name", "app01.rdpprobe.test");

        AssertKerberosFailed(run, "auth_failed", "kdc_err_etype_nosupp");
        Assert.Equal(["rc4-hmac"], run.Kerberos.GetProperty("accountEtypes").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["aes256-cts-hmac-sha1-96", "aes128-cts-hmac-sha1-96"], run.Kerberos.GetProperty("etypesRequested").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains("an RC4-only account under an AES-only policy", run.Detail("kerberos"), StringComparison.Ordinal);
        Assert.Contains("(KDC_ERR_ETYPE_NOSUPP)", run.Verdict, StringComparison.Ordinal);
        Assert.Contains("The account's keys: rc4-hmac; the client allows aes256-cts-hmac-sha1-96, aes128-cts-hmac-sha1-96.", run.Verdict, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_blocked_kdc_port_is_unreachable_naming_the_port()
    {
        Run run;
        using (Faults.KdcDrop(lab.BasePort + 14))
        {
            run = await ProbeAsync("probe", LabFixture.Password, null, "--auth", "kerberos", "--kdc", Kdc, "--server-name", "app01.rdpprobe.test");
        }

        AssertKerberosFailed(run, "timeout", "kdc_unreachable");
        Assert.False(run.Kerberos.GetProperty("udp").GetProperty("reachable").GetBoolean());
        Assert.False(run.Kerberos.GetProperty("tcp").GetProperty("reachable").GetBoolean());
        string port = (lab.BasePort + 14).ToString(CultureInfo.InvariantCulture);
        Assert.Contains($"The KDC is unreachable on port {port} from here", run.Verdict, StringComparison.Ordinal);
        Assert.Contains("no answer over UDP", run.Verdict, StringComparison.Ordinal);
        Assert.Contains("no answer over TCP", run.Verdict, StringComparison.Ordinal);
        Assert.DoesNotContain(Faults.InstalledRules(), rule => rule.Contains(port, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_kdc_seven_minutes_ahead_is_clock_skew_with_the_measured_seconds()
    {
        var run = await ProbeAsync("probe", LabFixture.Password, null, "--auth", "kerberos", "--kdc", SkewedKdc, "--server-name", "app01.rdpprobe.test");

        AssertKerberosFailed(run, "auth_failed", "krb_ap_err_skew");
        double skew = run.Kerberos.GetProperty("clockSkewSeconds").GetDouble();
        Assert.InRange(skew, 410, 430);
        Assert.Contains("exceeds the 5-minute Kerberos limit", run.Detail("kerberos"), StringComparison.Ordinal);
        Assert.Contains("differ by more than the 5-minute Kerberos limit (KRB_AP_ERR_SKEW)", run.Verdict, StringComparison.Ordinal);
        Assert.Contains($"Measured: the KDC {SkewedKdc} is 7 min", run.Verdict, StringComparison.Ordinal);
        Assert.Contains("ahead of this machine", run.Verdict, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_literal_ip_has_no_spn_so_the_phase_is_skipped_and_the_report_says_ntlm()
    {
        var run = await ProbeAsync("probe", LabFixture.Password, null, "--auth", "kerberos", "--kdc", Kdc);

        var phase = run.Phase("kerberos");
        Assert.Equal("skipped", phase.GetProperty("status").GetString());
        Assert.Contains("there is no service principal TERMSRV/127.0.0.1, so clients skip Kerberos and use NTLM", run.Detail("kerberos"), StringComparison.Ordinal);
        Assert.Contains("\"connect by IP\" works around Kerberos failures", run.Detail("kerberos"), StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Null, run.Kerberos.GetProperty("spn").ValueKind);

        // Kerberos was required: CredSSP stops before sending anything, and the verdict says what the address implies.
        Assert.Equal("kerberos_no_spn", run.Code("credssp"));
        Assert.Equal("credssp", run.Root.GetProperty("verdict").GetProperty("phase").GetString());
        Assert.Contains("A literal IP address has no TERMSRV service principal, so Kerberos cannot be used and only NTLM remains", run.Verdict, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_kdc_the_kdc_is_discovered_from_krb5_conf()
    {
        string conf = Path.Combine(KerberosLab.StateDirectory(lab), "krb5.conf");
        var run = await ProbeAsync("probe", LabFixture.Password, null, "--auth", "kerberos", "--server-name", "app01.rdpprobe.test");

        Assert.True(run.Phase("kerberos").GetProperty("status").GetString() == "ok", run.Detail("kerberos"));
        Assert.Equal(conf, run.Kerberos.GetProperty("config").GetString());
        Assert.Equal(Kdc, run.Kerberos.GetProperty("kdc").GetString());
        Assert.Equal($"krb5_conf {conf}", run.Kerberos.GetProperty("kdcSource").GetString());
        Assert.Null(run.Kerberos.GetProperty("srvLookup").GetString());
        Assert.True(run.Kerberos.GetProperty("tgs").GetProperty("ok").GetBoolean());
        Assert.Contains($"from {Kdc} (krb5_conf {conf})", run.Detail("kerberos"), StringComparison.Ordinal);
    }

    /// <summary>
    /// Discovery the way a domain-joined client does it when krb5.conf names the realm but no KDC: DNS SRV records
    /// _kerberos._udp/_tcp.RDPPROBE.TEST, answered by a real dnsmasq this test starts on loopback (--dns-server points
    /// the probe at it, as at a domain's DNS server), naming kdc.rdpprobe.test at the lab KDC's port.
    /// </summary>
    [Fact]
    public async Task Without_kdc_in_krb5_conf_the_kdc_is_found_by_dns_srv_records()
    {
        int kdcPort = lab.BasePort + 14;
        string state = Directory.CreateTempSubdirectory("rdpprobe-srv-").FullName;
        string conf = Path.Combine(state, "krb5.conf");
        await File.WriteAllTextAsync(conf, "[libdefaults]\n    default_realm = RDPPROBE.TEST\n    dns_lookup_kdc = true\n    dns_canonicalize_hostname = false\n    rdns = false\n" +
            "    permitted_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96\n[domain_realm]\n    .rdpprobe.test = RDPPROBE.TEST\n");
        int dnsPort = FreeUdpPort();
        var start = new System.Diagnostics.ProcessStartInfo("dnsmasq")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string a in new[]
        {
            "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--bind-interfaces", "--listen-address=127.0.0.1",
            $"--port={dnsPort}", "--user=root", "--pid-file=", "--log-facility=-",
            $"--srv-host=_kerberos._udp.RDPPROBE.TEST,kdc.rdpprobe.test,{kdcPort}",
            $"--srv-host=_kerberos._tcp.RDPPROBE.TEST,kdc.rdpprobe.test,{kdcPort}",
            "--host-record=kdc.rdpprobe.test,127.0.0.1",
        })
        {
            start.ArgumentList.Add(a);
        }

        using var dnsmasq = System.Diagnostics.Process.Start(start) ?? throw new InvalidOperationException("could not start dnsmasq (scripts/install-deps.sh installs dnsmasq-base)");
        try
        {
            await WaitForDnsAsync(dnsPort);
            clientConfig = conf;
            var run = await ProbeAsync("probe", LabFixture.Password, null, "--auth", "kerberos", "--server-name", "app01.rdpprobe.test", "--dns-server", $"127.0.0.1:{dnsPort}");

            Assert.True(run.Phase("kerberos").GetProperty("status").GetString() == "ok", run.Detail("kerberos"));
            Assert.Equal(Kdc, run.Kerberos.GetProperty("kdc").GetString());
            Assert.StartsWith("dns_srv _kerberos._udp.RDPPROBE.TEST", run.Kerberos.GetProperty("kdcSource").GetString(), StringComparison.Ordinal);
            Assert.Contains($"_kerberos._tcp.RDPPROBE.TEST: kdc.rdpprobe.test:{kdcPort}", run.Kerberos.GetProperty("srvLookup").GetString(), StringComparison.Ordinal);
            Assert.True(run.Kerberos.GetProperty("tgs").GetProperty("ok").GetBoolean());
        }
        finally
        {
            clientConfig = null;
            if (!dnsmasq.HasExited)
            {
                dnsmasq.Kill();
                await dnsmasq.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }

            Directory.Delete(state, recursive: true);
        }
    }

    private static int FreeUdpPort()
    {
        using var socket = new System.Net.Sockets.UdpClient(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        return ((System.Net.IPEndPoint)socket.Client.LocalEndPoint!).Port;
    }

    /// <summary>Until dnsmasq answers an SRV query on its port (at most 10 s).</summary>
    private static async Task WaitForDnsAsync(int port)
    {
        var client = new DnsClient.LookupClient(new DnsClient.LookupClientOptions(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, port))
        {
            Timeout = TimeSpan.FromMilliseconds(300), Retries = 0, UseCache = false, ThrowDnsErrors = false,
        });
        for (int i = 0; i < 30; i++)
        {
            try
            {
                var answer = await client.QueryAsync("_kerberos._tcp.RDPPROBE.TEST", DnsClient.QueryType.SRV);
                if (answer.Answers.Count > 0)
                {
                    return;
                }
            }
            catch (DnsClient.DnsResponseException)
            {
            }

            await Task.Delay(300);
        }

        Assert.Fail($"dnsmasq did not answer on 127.0.0.1:{port} within 10 s");
    }
}
