using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using RdpProbe.Diagnosis;
using RdpProbe.IntegrationTests.Lab;
using RdpProbe.Probe;
using RdpProbe.Protocol;
using Xunit.Abstractions;

namespace RdpProbe.IntegrationTests.Clients;

/// <summary>
/// Issue 10 item 3, the client simulation: the probe makes a connection with each profile's exact X.224 request, TLS
/// versions and cipher suites (ClientSimulationCheck). Against the lab's xrdp (base+0, TLS 1.2/1.3) and its TLS-1.0-only
/// xrdp (base+5) the outcome per profile is checked, and then the REAL client sends the same offer: xfreerdp 2.11 with
/// the profile's TLS settings (an OPENSSL_CONF that keeps only the profile's versions and suites, /tls-seclevel:0 for the
/// Schannel profiles that have no OpenSSL level, +sec-ext where the profile asks for HYBRID_EX; freerdp2 with its plain
/// defaults). Whether xfreerdp gets through TLS must match what the simulation saw, and whether it connects must match the
/// profile's row of the compatibility table.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class ClientSimulationLabTests(LabFixture lab, ITestOutputHelper output)
{
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(60);

    private IPEndPoint EndpointOf(string server) => server switch
    {
        "xrdp" => lab.Endpoints.Xrdp,
        "xrdp-tls10" => lab.Endpoints.XrdpTls10,
        _ => throw new ArgumentOutOfRangeException(nameof(server), server, null),
    };

    [Fact]
    public async Task Tls_1_0_only_xrdp_modern_profiles_fail_at_tls_by_their_own_client_hello_and_windows7_connects()
    {
        var report = await ProbeAsync(lab.Endpoints.XrdpTls10);
        Log(report);
        var phase = Assert.Single(report.Phases, p => p.Phase == Phase.ClientSimulation);
        Assert.Equal(PhaseStatus.Ok, phase.Status);

        // Windows 11 and the macOS app send the same offer: one connection for both.
        var shared = Assert.Single(report.ClientSimulation, c => c.Profiles.Contains("windows11"));
        Assert.Contains("macos", shared.Profiles);
        Assert.Equal(report.ClientSimulation.Count, report.ClientSimulation.Select(c => c.Offer.Key).Distinct().Count());

        var table = report.Compatibility.ToDictionary(v => v.Profile);
        foreach (var name in new[] { "windows11", "macos", "freerdp2", "freerdp3" })
        {
            var handshake = report.ClientHandshakes![name];
            Assert.Equal(SimulatedTlsOutcome.Refused, handshake.Outcome);
            Assert.Contains("protocol_version", handshake.Detail, StringComparison.Ordinal);
            Assert.Equal(Compatibility.Fails, table[name].Result);
            Assert.Equal(Phase.Tls, table[name].FailPhase);
            Assert.Equal("no_common_tls_version", table[name].Reason);
            Assert.Contains(table[name].Steps, s => s.Contains("its own ClientHello", StringComparison.Ordinal));
        }

        // Windows 7 (TLS 1.0 only) and Windows 10 (TLS 1.0-1.2 in Schannel) complete TLS 1.0 with their own suites.
        foreach (var name in new[] { "windows7", "windows10" })
        {
            var handshake = report.ClientHandshakes![name];
            Assert.Equal(SimulatedTlsOutcome.Accepted, handshake.Outcome);
            Assert.Equal(TlsVersion.Tls10, handshake.Version);
            // The suite the server chose is one of the profile's (the JSON lists the offer by IANA name).
            var json = RdpProbe.Reports.ProbeJson.ToDocument(report).ClientSimulation.Single(c => c.Profiles.Contains(name));
            Assert.Equal("accepted", json.Outcome);
            Assert.Equal("tls1.0", json.Version);
            Assert.Contains(handshake.CipherSuite, json.CipherSuites);
            Assert.Equal(Compatibility.ConnectsAfterWarning, table[name].Result);
        }

        Assert.Contains("TLS_RSA_WITH_RC4_128_SHA", report.ClientHandshakes!["windows7"].NotOffered);
        Assert.All(report.Compatibility, v => Assert.Empty(v.NeedsConnection));
    }

    [Fact]
    public async Task Plain_xrdp_every_profile_connects_but_tls_1_0_only_windows7()
    {
        // xrdp 0.9.21's default ssl_protocols is "TLSv1.2, TLSv1.3": an unpatched Windows 7 (TLS 1.0 only) does not get in.
        var report = await ProbeAsync(lab.Endpoints.Xrdp);
        Log(report);
        var table = report.Compatibility.ToDictionary(v => v.Profile);
        foreach (var profile in ClientProfiles.RealClients.Where(p => p.Name != "windows7"))
        {
            Assert.Equal(SimulatedTlsOutcome.Accepted, report.ClientHandshakes![profile.Name].Outcome);
            Assert.True(table[profile.Name].Connected, table[profile.Name].Summary);
        }

        Assert.Equal(SimulatedTlsOutcome.Refused, report.ClientHandshakes!["windows7"].Outcome);
        Assert.Equal(Compatibility.Fails, table["windows7"].Result);
        Assert.Equal(Phase.Tls, table["windows7"].FailPhase);
        Assert.All(report.Compatibility, v => Assert.Empty(v.NeedsConnection));
    }

    [Fact]
    public async Task Standard_rdp_only_server_makes_no_simulation_connections_and_the_option_turns_it_off()
    {
        // SSL_NOT_ALLOWED_BY_SERVER to the first request: no client gets TLS here, so no connection is spent on it.
        var rdpOnly = await ProbeAsync(lab.Endpoints.ShadowRdp);
        Assert.DoesNotContain(rdpOnly.Phases, p => p.Phase == Phase.ClientSimulation);
        Assert.Empty(rdpOnly.ClientSimulation);

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var off = Assert.Single(await new ProbeEngine(new ProbeOptions { ClientSimulation = false }).RunAsync(ProbeTarget.Parse(lab.Endpoints.Xrdp.ToString()), cts.Token));
        Assert.DoesNotContain(off.Phases, p => p.Phase == Phase.ClientSimulation);
        Assert.Null(off.ClientHandshakes);
    }

    [Theory]
    [InlineData("xrdp")]
    [InlineData("xrdp-tls10")]
    public async Task Xfreerdp_sending_each_profiles_offer_agrees_with_the_simulation_and_the_table(string server)
    {
        var endpoint = EndpointOf(server);
        var report = await ProbeAsync(endpoint);
        Log(report);
        var openSslNames = await OpenSslNamesAsync();
        var table = report.Compatibility.ToDictionary(v => v.Profile);
        var runs = new Dictionary<string, XfreerdpRun>();
        foreach (var profile in ClientProfiles.RealClients)
        {
            var handshake = report.ClientHandshakes![profile.Name];
            Assert.True(handshake.Outcome is SimulatedTlsOutcome.Accepted or SimulatedTlsOutcome.Refused, $"{profile.Name}: {handshake.Outcome} {handshake.Detail}");

            string key = profile.OfferFor(profile.RequestedProtocols).Key + "|" + profile.TlsSecurityLevel;
            if (!runs.TryGetValue(key, out var run))
            {
                run = await RunXfreerdpAsProfileAsync(endpoint, profile, openSslNames);
                runs[key] = run;
            }

            output.WriteLine($"{profile.Name}: simulation {handshake.Outcome} ({handshake.Detail}); xfreerdp passedTls={run.PassedTls} connected={run.Connected} {run.Error}");
            string why = $"{profile.Name} on {server}: simulation {handshake.Outcome} ({handshake.Detail}), table {table[profile.Name].Summary}, xfreerdp {run.Error}{Environment.NewLine}{run.Tail}";
            Assert.True((handshake.Outcome == SimulatedTlsOutcome.Accepted) == run.PassedTls, why);
            Assert.True(table[profile.Name].Connected == run.Connected, why);
            if (!run.Connected)
            {
                Assert.Equal(Phase.Tls, table[profile.Name].FailPhase);
            }
        }
    }

    private void Log(ProbeReport report)
    {
        foreach (var c in report.ClientSimulation)
        {
            output.WriteLine($"{string.Join(",", c.Profiles)}: {c.Result.Outcome} {c.Result.Detail} ({c.Ms} ms)");
        }

        foreach (var v in report.Compatibility)
        {
            output.WriteLine("  " + v.Summary);
        }
    }

    private static async Task<ProbeReport> ProbeAsync(IPEndPoint endpoint)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        return Assert.Single(await new ProbeEngine(new ProbeOptions()).RunAsync(ProbeTarget.Parse(endpoint.ToString()), cts.Token));
    }

    /// <summary>What xfreerdp did with one profile's offer.</summary>
    private sealed record XfreerdpRun(bool PassedTls, bool Connected, string? Error, string Tail);

    /// <summary>IANA code point → OpenSSL's name, from the installed OpenSSL itself (openssl ciphers -V).</summary>
    private static async Task<Dictionary<int, string>> OpenSslNamesAsync()
    {
        var (exit, text) = await RunAsync("openssl", ["ciphers", "-V", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"], null);
        Assert.Equal(0, exit);
        var names = new Dictionary<int, string>();
        foreach (Match m in Regex.Matches(text, @"0x([0-9A-F]{2}),0x([0-9A-F]{2}) - (\S+)"))
        {
            names[int.Parse(m.Groups[1].Value + m.Groups[2].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture)] = m.Groups[3].Value;
        }

        Assert.NotEmpty(names);
        return names;
    }

    /// <summary>
    /// xfreerdp with the profile's TLS offer. FreeRDP 2 sets its own minimum/maximum version and security level after
    /// OpenSSL reads its configuration, but keeps the "Protocol" options (SSL_OP_NO_TLSv1_x) and the cipher lists the
    /// configuration sets when /tls-ciphers is not given: an OPENSSL_CONF with those carries the profile's offer.
    /// </summary>
    private async Task<XfreerdpRun> RunXfreerdpAsProfileAsync(IPEndPoint endpoint, ClientProfile profile, Dictionary<int, string> openSslNames)
    {
        var args = new List<string> { $"/v:{endpoint.Address}:{endpoint.Port}", $"/u:{LabFixture.User}", "/p:x", "/cert:ignore", "+auth-only" };
        if (profile.RequestedProtocols.HasFlag(SecurityProtocols.HybridEx))
        {
            args.Add("+sec-ext");
        }

        string? conf = null;
        if (profile.TlsSecurityLevel is null)
        {
            // Schannel has no OpenSSL security level: level 0 lets OpenSSL do what Schannel does with these versions.
            args.Add("/tls-seclevel:0");
            conf = Path.Combine(Path.GetTempPath(), $"rdpprobe-sim-{profile.Name}-{Environment.ProcessId}.cnf");
            static string Word(TlsVersion v) => v switch { TlsVersion.Tls10 => "TLSv1", TlsVersion.Tls11 => "TLSv1.1", TlsVersion.Tls12 => "TLSv1.2", _ => "TLSv1.3" };
            var tls12 = profile.TlsCipherSuites.Where(s => s >> 8 != 0x13 && openSslNames.ContainsKey(s)).Select(s => openSslNames[s]);
            var tls13 = profile.TlsCipherSuites.Where(s => s >> 8 == 0x13 && openSslNames.ContainsKey(s)).Select(s => openSslNames[s]);
            await File.WriteAllTextAsync(conf, string.Join('\n',
                "openssl_conf = default_conf",
                "[default_conf]",
                "ssl_conf = ssl_sect",
                "[ssl_sect]",
                "system_default = system_default_sect",
                "[system_default_sect]",
                $"Protocol = -ALL, {string.Join(", ", profile.TlsVersions.Select(Word))}",
                $"CipherString = {string.Join(':', tls12)}:@SECLEVEL=0",
                $"Ciphersuites = {string.Join(':', tls13)}",
                ""));
        }

        try
        {
            var (displayExit, display) = await LabScripts.RunAsync("lab.sh", ["display", "--base", lab.BasePort.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(60));
            Assert.True(displayExit == 0, display);
            var env = new Dictionary<string, string> { ["DISPLAY"] = display.Trim().Split('\n')[^1].Trim() };
            if (conf is not null)
            {
                env["OPENSSL_CONF"] = conf;
            }

            var (_, log) = await RunAsync("xfreerdp", args, env);
            string tail = string.Join(Environment.NewLine, log.Split('\n').TakeLast(15));
            bool connected = log.Contains("Authentication only, exit status 0", StringComparison.Ordinal);
            bool tlsFailed = log.Contains("ERRCONNECT_TLS_CONNECT_FAILED", StringComparison.Ordinal);
            Assert.True(connected || tlsFailed, $"xfreerdp as {profile.Name} neither connected nor failed in TLS:{Environment.NewLine}{tail}");
            return new XfreerdpRun(!tlsFailed, connected, tlsFailed ? "ERRCONNECT_TLS_CONNECT_FAILED" : null, tail);
        }
        finally
        {
            if (conf is not null)
            {
                File.Delete(conf);
            }
        }
    }

    private static async Task<(int Exit, string Output)> RunAsync(string file, IEnumerable<string> args, Dictionary<string, string>? env)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        foreach (var (k, v) in env ?? [])
        {
            start.Environment[k] = v;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
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
            Assert.Fail($"{file} did not finish within {ClientTimeout.TotalSeconds:0} s");
        }

        return (process.ExitCode, await stdout + await stderr);
    }
}
