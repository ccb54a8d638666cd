using System.Net;
using System.Text.Json;
using RdpProbe.Cli;
using RdpProbe.Diagnosis;
using RdpProbe.IntegrationTests.Lab;
using RdpProbe.Probe;
using RdpProbe.Protocol;
using Spectre.Console.Testing;
using Xunit.Abstractions;

namespace RdpProbe.IntegrationTests.Attribution;

/// <summary>
/// Issue 11, live: each failure class the issue lists, made with the lab's real servers (scripts/lab.sh) and iptables
/// faults (scripts/faults.sh), and the probe's verdict on it — summary, FIRST cause, and the evidence line that ranks
/// it (who sent the last bytes, how the connection ended). Where a class is only visible to a capture (a fatal alert
/// the client sends), the real client xfreerdp connects while tcpdump records loopback and the analyzer judges that.
/// The contrasts are run too: a real wrong password next to a reset after the right one, a stopped server next to a
/// black hole.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class AttributionLabTests(LabFixture lab, ITestOutputHelper output)
{
    /// <summary>IP bytes the client has sent when its segment after the NTLM AUTHENTICATE leaves (probe and xfreerdp 2.11 alike, on the NLA server).</summary>
    private const int AfterAuthenticate = 1200;

    /// <summary>IP bytes the client has sent when its MCS Connect Initial leaves (xrdp, TLS).</summary>
    private const int AtConnectInitial = 1000;

    private static readonly ProbeOptions Options = new()
    {
        PhaseTimeout = TimeSpan.FromSeconds(3),
        SecurityMatrix = false,
        TlsVersions = false,
        ClientSimulation = false,
        EncryptionLevels = false,
    };

    private async Task<ProbeReport> ProbeAsync(IPEndPoint endpoint, string? password = null, ProbeOptions? options = null)
    {
        var engine = new ProbeEngine(options ?? Options);
        if (password is not null)
        {
            engine = engine.WithCredentials($"{LabFixture.Domain}\\{LabFixture.User}", password);
        }

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var report = Assert.Single(await engine.RunAsync(ProbeTarget.Parse($"{endpoint.Address}:{endpoint.Port}"), cts.Token));
        var v = report.Verdict;
        output.WriteLine($"probe {endpoint}: {v.Phase.ToReportName()} {v.Ending.ToReportName()} {v.Code} — {v.Summary}");
        output.WriteLine($"  causes: {string.Join(" | ", v.Causes)}");
        output.WriteLine($"  evidence: {v.Evidence}");
        output.WriteLine($"  undecided: {string.Join(" | ", v.Undecided)}");
        return report;
    }

    [Fact]
    public async Task A_reset_after_the_ntlm_authenticate_with_the_right_password_is_not_a_wrong_password()
    {
        var endpoint = lab.Endpoints.ShadowNla;
        using (Faults.ResetAfterClientBytes(endpoint.Port, AfterAuthenticate))
        {
            var v = (await ProbeAsync(endpoint, LabFixture.Password)).Verdict;
            Assert.Equal((Phase.Credssp, Ending.Reset, Codes.ResetAfterAuthenticate), (v.Phase, v.Ending, v.Code));
            Assert.Contains("a middlebox most likely cut the connection; nothing shows the credentials were wrong", v.Summary, StringComparison.Ordinal);
            Assert.StartsWith("a middlebox", v.Causes[0], StringComparison.Ordinal);
            Assert.DoesNotContain(v.Causes, c => c.Contains("password", StringComparison.OrdinalIgnoreCase));
            Assert.Contains("the server sent nothing after the client's NTLM AUTHENTICATE", v.Evidence, StringComparison.Ordinal);
            Assert.Contains("ended by a bare RST with the server's address", v.Evidence, StringComparison.Ordinal);
            Assert.Contains("a capture on the server shows whether the AUTHENTICATE arrived", Assert.Single(v.Undecided), StringComparison.Ordinal);

            // The real client behind the same fault, judged from its capture: the same class offline.
            var (connections, log) = await XfreerdpCapture.RunAsync(lab, output, endpoint, $"/u:{LabFixture.User}", $"/d:{LabFixture.Domain}", $"/p:{LabFixture.Password}");
            Assert.Contains("ERRCONNECT_", log, StringComparison.Ordinal);
            var c = Assert.Single(connections);
            Assert.Equal(("credssp", "reset", "reset_after_authenticate"), (c.Verdict.Phase, c.Verdict.Ending, c.Verdict.Code));
            Assert.StartsWith("a middlebox", c.Verdict.Causes[0], StringComparison.Ordinal);
        }

        // Without the fault the same password logs on: the reset, not the credentials, failed the run above.
        var ok = (await ProbeAsync(endpoint, LabFixture.Password)).Verdict;
        Assert.True(ok.Ok, ok.Summary);
    }

    [Fact]
    public async Task A_real_wrong_password_is_a_rejected_logon_ended_by_the_server()
    {
        var v = (await ProbeAsync(lab.Endpoints.ShadowNla, "not-" + LabFixture.Password)).Verdict;
        Assert.Equal((Phase.Credssp, Ending.AuthFailed), (v.Phase, v.Ending));
        Assert.Contains("rejected the credentials", v.Summary, StringComparison.Ordinal);
        Assert.Contains("password", v.Causes[0], StringComparison.Ordinal);
        Assert.Contains("an encrypted TLS record", v.Evidence, StringComparison.Ordinal);
        Assert.Contains("from the server; ended by a FIN from the server", v.Evidence, StringComparison.Ordinal);
        Assert.Empty(v.Undecided);
    }

    [Fact]
    public async Task A_reset_on_the_mcs_connect_initial_is_an_active_refusal_not_an_mtu_black_hole()
    {
        var endpoint = lab.Endpoints.Xrdp;
        using (Faults.ResetAfterClientBytes(endpoint.Port, AtConnectInitial))
        {
            var v = (await ProbeAsync(endpoint)).Verdict;
            Assert.Equal((Phase.Mcs, Ending.Reset), (v.Phase, v.Ending));
            Assert.StartsWith("The connection was reset right after the MCS Connect Initial", v.Summary, StringComparison.Ordinal);
            Assert.Contains("a reset is not an MTU black hole", v.Summary, StringComparison.Ordinal);
            Assert.All(v.Causes, c => Assert.DoesNotContain("black hole", c, StringComparison.OrdinalIgnoreCase));
            Assert.All(v.Causes, c => Assert.DoesNotContain("MTU", c, StringComparison.Ordinal));

            // The two possibilities once each: no reworded duplicate from the symptom table.
            Assert.Equal(2, v.Causes.Count);
            Assert.StartsWith("a middlebox", v.Causes[0], StringComparison.Ordinal);
            Assert.StartsWith("the server aborted on the Connect Initial", v.Causes[1], StringComparison.Ordinal);
            Assert.Contains("the server sent nothing after the client's MCS Connect Initial", v.Evidence, StringComparison.Ordinal);
            Assert.Contains("bare RST", v.Evidence, StringComparison.Ordinal);
            Assert.Contains("a client-side capture shows whether the server keeps sending after the reset", Assert.Single(v.Undecided), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Xrdp_with_a_key_that_does_not_match_its_certificate_is_named_the_same_way_five_times()
    {
        // xrdp selects TLS, then cannot load its key and sends a cleartext MCS Disconnect Provider Ultimatum where the
        // ServerHello was due. The probe must recognise it before its TLS stack turns it into its own alert, every run.
        for (int run = 0; run < 5; run++)
        {
            var report = await ProbeAsync(lab.Endpoints.XrdpBadKey);
            var v = report.Verdict;
            Assert.Equal((Phase.Tls, Codes.McsDisconnectProviderUltimatum), (v.Phase, v.Code));
            Assert.StartsWith("The server selected TLS in its Connection Confirm, then sent a cleartext MCS Disconnect Provider Ultimatum instead of a ServerHello", v.Summary, StringComparison.Ordinal);
            Assert.StartsWith("the server's certificate or private key is unusable", v.Causes[0], StringComparison.Ordinal);
            Assert.Contains("MachineKeys", v.Causes[0], StringComparison.Ordinal);
            Assert.Contains("last bytes: an MCS PDU in clear (Disconnect Provider Ultimatum) from the server", v.Evidence, StringComparison.Ordinal);
            Assert.DoesNotContain("unexpected_message", v.Summary + string.Join(" ", v.Causes), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Xrdp_without_certificate_files_downgrades_a_tls_only_request_the_same_way_five_times()
    {
        // xrdp-nocert (security_layer=negotiate, no cert.pem/key.pem) does not send an ultimatum: it answers a request
        // for TLS alone with PROTOCOL_RDP. The probe, like a client that asked for TLS, goes no further with the password.
        var options = Options with { RequestedProtocols = SecurityProtocols.Ssl };
        for (int run = 0; run < 5; run++)
        {
            var report = await ProbeAsync(lab.Endpoints.XrdpNoCert, LabFixture.Password, options);
            var v = report.Verdict;
            Assert.Equal((Phase.ClientInfo, Ending.ClientRefused, Codes.DowngradedToStandardSecurity), (v.Phase, v.Ending, v.Code));
            Assert.StartsWith("The server answered a request for TLS/NLA with Standard RDP Security", v.Summary, StringComparison.Ordinal);
            Assert.StartsWith("the server could not load its TLS certificate or key", v.Causes[0], StringComparison.Ordinal);
            Assert.Contains(report.Findings, f => f.Code == FindingRules.Codes.SecurityDowngrade);
            Assert.Contains("the client stopped on its own", v.Evidence, StringComparison.Ordinal);
            Assert.Contains("the server neither reset nor closed the connection", v.Evidence, StringComparison.Ordinal);
        }

        // The real client asking for TLS only, offline: the analyzer names the downgrade and its usual reason.
        var (connections, _) = await XfreerdpCapture.RunAsync(lab, output, lab.Endpoints.XrdpNoCert, $"/u:{LabFixture.User}", "/p:x", "/sec:tls");
        var c = Assert.Single(connections);
        Assert.Equal(("x224", "downgraded_to_standard_security"), (c.Verdict.Phase, c.Verdict.Code));
        Assert.Contains("a silent downgrade", c.Verdict.Summary, StringComparison.Ordinal);
        Assert.StartsWith("the server could not load its TLS certificate or key", c.Verdict.Causes[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stopped_server_stalls_at_x224_and_is_named_hung_not_a_black_hole()
    {
        var endpoint = lab.Endpoints.Xrdp;
        using (Faults.StopListener(endpoint.Port))
        {
            var v = (await ProbeAsync(endpoint)).Verdict;
            Assert.Equal((Phase.X224, Ending.Timeout), (v.Phase, v.Ending));
            Assert.StartsWith("The server accepted the TCP connection but never answered the X.224 Connection Request", v.Summary, StringComparison.Ordinal);
            Assert.DoesNotContain("black hole", v.Summary, StringComparison.OrdinalIgnoreCase);
            Assert.All(v.Causes, c => Assert.DoesNotContain("black hole", c, StringComparison.OrdinalIgnoreCase));
            Assert.Contains(v.Causes.Take(2), c => c.Contains("hung", StringComparison.Ordinal));
            Assert.Contains("the server sent nothing after the client's X.224 Connection Request", v.Evidence, StringComparison.Ordinal);
            Assert.Contains("ended in silence", v.Evidence, StringComparison.Ordinal);
        }

        // Continued, the same server answers again.
        Assert.True((await ProbeAsync(endpoint)).Verdict.Ok);
    }

    [Fact]
    public async Task A_black_hole_after_the_clienthello_leaves_black_hole_or_hung_open_and_says_what_decides()
    {
        // Server segments of 1000 bytes or more are dropped: the 19-byte Connection Confirm passes, the TLS flight not.
        var endpoint = lab.Endpoints.ShadowTls;
        using (Faults.DropLargeServerSegments(endpoint.Port))
        {
            var v = (await ProbeAsync(endpoint)).Verdict;
            Assert.Equal((Phase.Tls, Ending.Timeout, Codes.BeforeServerHello), (v.Phase, v.Ending, v.Code));
            Assert.Contains("MTU black hole", v.Summary, StringComparison.Ordinal);
            Assert.Contains("the server sent nothing after the client's ClientHello", v.Evidence, StringComparison.Ordinal);
            Assert.Contains("ended in silence", v.Evidence, StringComparison.Ordinal);
            string open = Assert.Single(v.Undecided);
            Assert.StartsWith("an MTU black hole or a hung server", open, StringComparison.Ordinal);
            Assert.Contains("--mtu", open, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_same_black_hole_measured_by_the_mtu_check_is_decided()
    {
        // rdpprobe --mtu: its own connections with padded ClientHellos find that small server segments arrive and
        // large ones vanish, which is the evidence the verdict above said would decide.
        var endpoint = lab.Endpoints.ShadowTls;
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit;
        using (Faults.DropLargeServerSegments(endpoint.Port))
        {
            exit = await RdpProbeApp.RunAsync(
                [endpoint.ToString(), "--json", "--mtu", "--timeout", "3s", "--no-matrix", "--no-tls-versions", "--no-client-sim", "--no-encryption-levels"],
                new CliIo(stdout, stderr, new TestConsole()));
        }

        output.WriteLine(stdout.ToString());
        Assert.True(exit == ExitCodes.Tls, $"exit {exit}: {stderr}");
        var root = JsonDocument.Parse(stdout.ToString()).RootElement;
        Assert.Contains(root.GetProperty("phases").EnumerateArray(), p => p.GetProperty("name").GetString() == "mtu" && p.GetProperty("code").GetString() == "mtu_black_hole");
        var v = root.GetProperty("verdict");
        Assert.Equal(("tls", "before_server_hello"), (v.GetProperty("phase").GetString(), v.GetProperty("code").GetString()));
        Assert.Contains("the MTU check (--mtu) found the path drops the server's large segments", v.GetProperty("summary").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("path MTU black hole", Assert.Single(v.GetProperty("causes").EnumerateArray()).GetString(), StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Null, v.GetProperty("undecided").ValueKind);
        Assert.Contains("the MTU check (--mtu) found the server's large segments dropped", v.GetProperty("evidence").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_fatal_alert_the_real_client_sends_after_the_serverhello_is_the_clients_refusal()
    {
        // xfreerdp 2.11 (OpenSSL 3: TLS 1.2 at least) against xrdp accepting only TLS 1.0: the client answers the
        // ServerHello with a fatal alert. Only a capture shows who sent it; the analyzer must not blame the server.
        var (connections, log) = await XfreerdpCapture.RunAsync(lab, output, lab.Endpoints.XrdpTls10, $"/u:{LabFixture.User}", "/p:x");
        Assert.Contains("ERRCONNECT_", log, StringComparison.Ordinal);
        var c = Assert.Single(connections, c => c.Verdict.Phase == "tls");
        Assert.StartsWith("The client ended the TLS handshake with a fatal", c.Verdict.Summary, StringComparison.Ordinal);
        Assert.Contains("after the server's ServerHello", c.Verdict.Summary, StringComparison.Ordinal);
        Assert.Contains("the server did not abort", c.Verdict.Summary, StringComparison.Ordinal);
        Assert.Contains("TLS version", c.Verdict.Causes[0], StringComparison.Ordinal);
        Assert.Contains("from the client", c.Verdict.Evidence, StringComparison.Ordinal);
    }
}
