using System.Diagnostics;
using System.Globalization;
using System.Net;
using RdpProbe.Exporter;
using RdpProbe.IntegrationTests.Lab;

namespace RdpProbe.IntegrationTests.Exporter;

/// <summary>
/// A real Prometheus scraping the exporter (in-process, on a loopback port) with the multi-target relabelling, the
/// exporter probing the lab servers; the assertions read Prometheus' HTTP API, so they see what a user's alert rules
/// and dashboards would see. Lab collection: the reset fault affects every connection to the xrdp port.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class PrometheusExporterLabTests(LabFixture lab)
{
    /// <summary>Bound on each wait for a series: several scrape intervals on a loaded 2-core machine.</summary>
    private static readonly TimeSpan SeriesTimeout = TimeSpan.FromSeconds(60);

    private const string Modules = """
        modules:
          rdp_default:
            timeout: 10s
            extra_checks: true
          rdp_quick:
            timeout: 5s
            extra_checks: false
        """;

    private static string PrometheusConfig(Uri exporter, string[] fullTargets, string[] quickTargets)
    {
        string address = $"{exporter.Host}:{exporter.Port}";
        string Job(string name, string module, string interval, string[] targets) => $"""
              - job_name: {name}
                scrape_interval: {interval}
                scrape_timeout: {interval}
                metrics_path: /probe
                params:
                  module: [{module}]
                static_configs:
                  - targets: [{string.Join(", ", targets)}]
                relabel_configs:
                  - source_labels: [__address__]
                    target_label: __param_target
                  - source_labels: [__param_target]
                    target_label: instance
                  - target_label: __address__
                    replacement: {address}

            """;
        return "global:\n  scrape_interval: 2s\n  scrape_timeout: 2s\nscrape_configs:\n"
            + Job("rdp_full", "rdp_default", "3s", fullTargets)
            + Job("rdp_quick", "rdp_quick", "1s", quickTargets)
            + $"  - job_name: exporter\n    scrape_interval: 1s\n    scrape_timeout: 1s\n    static_configs:\n      - targets: [{address}]\n";
    }

    private static string Selector(string job, IPEndPoint target) => $"job=\"{job}\",instance=\"{target}\"";

    [Fact]
    public async Task Prometheus_sees_nla_the_closed_port_and_a_reset_fault_come_and_go()
    {
        var xrdp = lab.Endpoints.Xrdp;
        var nla = lab.Endpoints.ShadowNla;
        var closed = lab.Endpoints.ClosedPort;
        await using var exporter = new ExporterServer(new ExporterOptions { Listen = new IPEndPoint(IPAddress.Loopback, 0), Config = ExporterConfig.Parse(Modules) });
        await exporter.StartAsync();
        await using var prometheus = await PrometheusServer.StartAsync(PrometheusConfig(exporter.BaseAddress, [xrdp.ToString(), nla.ToString()], [xrdp.ToString(), closed.ToString()]));

        // The extra checks' security-layer matrix: xrdp accepts TLS without NLA, the shadow server refuses it.
        await prometheus.WaitForAsync($"rdp_probe_nla_required{{{Selector("rdp_full", xrdp)}}}", r => r.Count == 1 && r[0].Value == 0, SeriesTimeout, "xrdp: NLA not required");
        await prometheus.WaitForAsync($"rdp_probe_nla_required{{{Selector("rdp_full", nla)}}}", r => r.Count == 1 && r[0].Value == 1, SeriesTimeout, "shadow server: NLA required");
        await prometheus.WaitForAsync($"rdp_probe_selected_protocol_info{{{Selector("rdp_full", nla)}}}", r => r.Count == 1 && r[0].Labels["protocol"] == "hybrid", SeriesTimeout, "shadow server selects hybrid");
        await prometheus.WaitForAsync($"rdp_probe_credssp_version{{{Selector("rdp_full", nla)}}}", r => r.Count == 1 && r[0].Value >= 2, SeriesTimeout, "shadow server's CredSSP version");
        await prometheus.WaitForAsync($"rdp_probe_tls_cert_not_after_timestamp_seconds{{{Selector("rdp_full", xrdp)}}}", r => r.Count == 1 && r[0].Value > DateTimeOffset.UtcNow.ToUnixTimeSeconds(), SeriesTimeout, "xrdp certificate not after");

        // The closed port fails at tcp (refused), and Prometheus still scrapes it fine: up is about the exporter.
        var failed = await prometheus.WaitForAsync($"rdp_probe_failed_phase_info{{{Selector("rdp_quick", closed)}}}", r => r.Count == 1, SeriesTimeout, "closed port: failed phase");
        Assert.Equal("tcp", failed[0].Labels["phase"]);
        Assert.Equal("refused", failed[0].Labels["ending"]);
        await prometheus.WaitForAsync($"rdp_probe_success{{{Selector("rdp_quick", closed)}}} == 0 and on (job, instance) up == 1", r => r.Count == 1, SeriesTimeout, "closed port: success 0, up 1");

        // xrdp is fine before the fault...
        await prometheus.WaitForAsync($"rdp_probe_success{{{Selector("rdp_quick", xrdp)}}}", r => r.Count == 1 && r[0].Value == 1, SeriesTimeout, "xrdp ok before the fault");

        // ...fails at tls (reset at the ClientHello) while the fault is in place...
        using (Faults.ResetAtClientHello(xrdp.Port))
        {
            var during = await prometheus.WaitForAsync($"rdp_probe_failed_phase_info{{{Selector("rdp_quick", xrdp)}}}", r => r.Count == 1 && r[0].Labels["phase"] == "tls", SeriesTimeout, "xrdp fails at tls under the reset fault");
            Assert.Equal("reset", during[0].Labels["ending"]);
            await prometheus.WaitForAsync($"rdp_probe_failed_phase{{{Selector("rdp_quick", xrdp)}, phase=\"tls\"}}", r => r.Count == 1 && r[0].Value == 1, SeriesTimeout, "enum-style series marks tls");
        }

        // ...and recovers once it is removed; the failure shows in the history the alert rules read.
        await prometheus.WaitForAsync($"rdp_probe_success{{{Selector("rdp_quick", xrdp)}}}", r => r.Count == 1 && r[0].Value == 1, SeriesTimeout, "xrdp recovers after the fault");
        var history = await prometheus.QueryAsync($"min_over_time(rdp_probe_success{{{Selector("rdp_quick", xrdp)}}}[5m])");
        Assert.Equal(0, Assert.Single(history).Value);
        var ratio = await prometheus.QueryAsync($"1 - avg_over_time(rdp_probe_success{{{Selector("rdp_quick", xrdp)}}}[10m])");
        Assert.InRange(Assert.Single(ratio).Value, 0.0001, 0.9999);

        // The exporter's own metrics are scraped too, and nothing was turned away or hit its deadline.
        await prometheus.WaitForAsync("sum(rdp_exporter_probes_total{job=\"exporter\"})", r => r.Count == 1 && r[0].Value > 10, SeriesTimeout, "exporter's own probe counter");
        Assert.Equal(0, exporter.Stats.RejectedCount("concurrency"));
    }

    [Fact]
    public async Task A_module_with_credentials_logs_on_and_never_shows_the_password()
    {
        string variable = "RDPPROBE_EXPORTER_LAB_PASSWORD_" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(variable, LabFixture.Password);
        try
        {
            var config = ExporterConfig.Parse($"modules:\n  logon:\n    timeout: 15s\n    extra_checks: false\n    credentials:\n      user: {LabFixture.Domain}\\{LabFixture.User}\n      password_env: {variable}\n");
            await using var exporter = new ExporterServer(new ExporterOptions { Listen = new IPEndPoint(IPAddress.Loopback, 0), Config = config });
            await exporter.StartAsync();
            using var http = new HttpClient { BaseAddress = exporter.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

            string metrics = await http.GetStringAsync($"probe?target={lab.Endpoints.ShadowNla}&module=logon");
            string debug = await http.GetStringAsync($"probe?target={lab.Endpoints.ShadowNla}&module=logon&debug=true");
            string own = await http.GetStringAsync("metrics");

            Assert.Contains("rdp_probe_success 1\n", metrics, StringComparison.Ordinal);
            Assert.Matches(@"credssp\s+ok\s+ok", debug);
            Assert.Contains("Verdict: ok", debug, StringComparison.Ordinal);
            foreach (var text in new[] { metrics, debug, own })
            {
                Assert.DoesNotContain(LabFixture.Password, text, StringComparison.Ordinal);
            }
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    [Fact]
    public async Task The_serve_verb_answers_probes_and_stops_on_sigterm()
    {
        string dll = typeof(RdpProbe.Cli.ExitCodes).Assembly.Location;
        string config = Path.GetTempFileName();
        await File.WriteAllTextAsync(config, Modules);
        int port = PrometheusServer.FreeLoopbackPort();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in new[] { dll, "serve", "--listen", $"127.0.0.1:{port}", "--config", config })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(30) };
            string? body = null;
            var clock = Stopwatch.StartNew();
            while (body is null && clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                try
                {
                    body = await http.GetStringAsync($"probe?target={lab.Endpoints.ClosedPort}&module=rdp_quick");
                }
                catch (HttpRequestException)
                {
                    await Task.Delay(200);
                }
            }

            Assert.NotNull(body);
            Assert.Contains("rdp_probe_success 0\n", body, StringComparison.Ordinal);
            Assert.Contains("rdp_probe_failed_phase_info{phase=\"tcp\",ending=\"refused\",code=\"\"} 1\n", body, StringComparison.Ordinal);

            using var bad = await http.GetAsync("probe?target=not%20a%20target");
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);

            // SIGTERM (what systemd and Kubernetes send) ends it cleanly with exit code 0.
            Assert.Equal(0, Kill(process.Id, 15));
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await process.WaitForExitAsync(cts.Token);
            Assert.Equal(0, process.ExitCode);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            File.Delete(config);
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
