using System.Net;
using RdpProbe.Diagnosis;
using RdpProbe.Exporter;
using RdpProbe.Probe;

namespace RdpProbe.Tests.Exporter;

/// <summary>The HTTP side of the exporter on a loopback port, with the live probe replaced by a scripted one.</summary>
public sealed class ExporterServerTests
{
    private static readonly ExporterConfig Config = ExporterConfig.Parse("modules:\n  rdp_default:\n    timeout: 10s\n  short:\n    timeout: 300ms\n");

    private static async Task<(ExporterServer Server, HttpClient Http)> StartAsync(
        Func<ProbeModule, ProbeTarget, TimeSpan, CancellationToken, Task<ProbeReport>> prober, int maxProbes = 4)
    {
        var server = new ExporterServer(new ExporterOptions { Listen = new IPEndPoint(IPAddress.Loopback, 0), Config = Config, MaxConcurrentProbes = maxProbes }, prober);
        await server.StartAsync();
        return (server, new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) });
    }

    private static Task<ProbeReport> Ok(ProbeModule module, ProbeTarget target, TimeSpan deadline, CancellationToken ct) => Task.FromResult(ProbeMetricsTests.NlaReport());

    [Fact]
    public async Task A_probe_answers_in_the_text_format_with_the_targets_series()
    {
        var (server, http) = await StartAsync(Ok);
        await using (server)
        using (http)
        {
            using var response = await http.GetAsync("/probe?target=rdsh01.example.com:3389&module=rdp_default");
            string body = await response.Content.ReadAsStringAsync();

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType!.ToString());
            Assert.Contains("rdp_probe_success 1\n", body, StringComparison.Ordinal);
            var (exitCode, output) = await Promtool.CheckMetricsAsync(body);
            Assert.True(exitCode == 0, output);
        }
    }

    [Theory]
    [InlineData("/probe", "missing parameter 'target'")]
    [InlineData("/probe?target=", "missing parameter 'target'")]
    [InlineData("/probe?target=a%20b:3389", "invalid target")]
    [InlineData("/probe?target=host:99999", "invalid target")]
    [InlineData("/probe?target=http://x/y", "invalid target")]
    [InlineData("/probe?target=a:1&target=b:2", "once each")]
    [InlineData("/probe?target=a:3389&module=nope", "unknown module 'nope'")]
    [InlineData("/probe?target=a:3389&module=%3Cscript%3E", "unknown module '(invalid name)'")]
    public async Task Bad_requests_get_400_with_one_line_and_no_probe(string path, string expected)
    {
        int probes = 0;
        var (server, http) = await StartAsync((m, t, d, ct) => { Interlocked.Increment(ref probes); return Ok(m, t, d, ct); });
        await using (server)
        using (http)
        {
            using var response = await http.GetAsync(path);
            string body = await response.Content.ReadAsStringAsync();

            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains(expected, body, StringComparison.Ordinal);
            Assert.Single(body.TrimEnd('\n').Split('\n'));
            Assert.Equal(0, probes);
        }
    }

    [Fact]
    public async Task Requests_beyond_the_concurrency_limit_get_503_at_once()
    {
        var release = new TaskCompletionSource();
        var started = new TaskCompletionSource();
        var (server, http) = await StartAsync(async (m, t, d, ct) =>
        {
            started.TrySetResult();
            await release.Task.WaitAsync(ct);
            return ProbeMetricsTests.NlaReport();
        }, maxProbes: 1);
        await using (server)
        using (http)
        {
            var first = http.GetAsync("/probe?target=a:3389");
            await started.Task.WaitAsync(TimeSpan.FromSeconds(10));

            var clock = System.Diagnostics.Stopwatch.StartNew();
            using var second = await http.GetAsync("/probe?target=b:3389");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, second.StatusCode);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"503 took {clock.Elapsed}");

            release.SetResult();
            using var firstResponse = await first.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(HttpStatusCode.OK, firstResponse.StatusCode);
            Assert.Equal(1, server.Stats.RejectedCount("concurrency"));

            // The slot is free again.
            using var third = await http.GetAsync("/probe?target=c:3389");
            Assert.Equal(HttpStatusCode.OK, third.StatusCode);
        }
    }

    [Theory]
    [InlineData(null, 10.0)]
    [InlineData("5", 4.5)]
    [InlineData("30", 10.0)]
    [InlineData("0.3", 0.25)]
    [InlineData("garbage", 10.0)]
    [InlineData("-1", 10.0)]
    public void The_deadline_is_the_scrape_timeout_minus_the_margin_capped_by_the_module(string? header, double expectedSeconds)
    {
        var deadline = ExporterServer.Deadline(Config.Modules["rdp_default"], header, TimeSpan.FromMilliseconds(500));

        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), deadline);
    }

    [Fact]
    public async Task The_prober_gets_the_deadline_from_the_scrape_header()
    {
        TimeSpan? seen = null;
        var (server, http) = await StartAsync((m, t, d, ct) => { seen = d; return Ok(m, t, d, ct); });
        await using (server)
        using (http)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/probe?target=a:3389");
            request.Headers.Add("X-Prometheus-Scrape-Timeout-Seconds", "3");
            using var response = await http.SendAsync(request);

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(2.5), seen);
        }
    }

    [Fact]
    public async Task A_target_slower_than_the_deadline_gives_a_failed_probe_in_time_not_a_hung_scrape()
    {
        // A probe that ignores its token (the worst case): the exporter still answers when the deadline passes.
        var (server, http) = await StartAsync(async (m, t, d, ct) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(20), CancellationToken.None);
            return ProbeMetricsTests.NlaReport();
        });
        await using (server)
        using (http)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            string body = await http.GetStringAsync("/probe?target=a:3389&module=short");

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
            Assert.Contains("rdp_probe_success 0\n", body, StringComparison.Ordinal);
            Assert.Contains("rdp_probe_deadline_exceeded 1\n", body, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_probe_that_throws_is_a_failed_probe_and_the_exporter_keeps_serving()
    {
        var (server, http) = await StartAsync((m, t, d, ct) => throw new InvalidOperationException("peer said \"secret\""));
        await using (server)
        using (http)
        {
            string body = await http.GetStringAsync("/probe?target=a:3389&debug=true");
            string metrics = await http.GetStringAsync("/metrics");

            Assert.Contains("Probe error: InvalidOperationException", body, StringComparison.Ordinal);
            Assert.DoesNotContain("secret", body, StringComparison.Ordinal);
            Assert.Contains("rdp_exporter_probes_total{module=\"rdp_default\",result=\"error\"} 1\n", metrics, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Debug_shows_the_probe_log_as_text()
    {
        var (server, http) = await StartAsync((m, t, d, ct) => Task.FromResult(ProbeMetricsTests.FailedAt(Phase.Tls, Ending.Reset)));
        await using (server)
        using (http)
        {
            using var response = await http.GetAsync("/probe?target=a:3389&debug=true");
            string body = await response.Content.ReadAsStringAsync();

            Assert.Equal("text/plain; charset=utf-8", response.Content.Headers.ContentType!.ToString());
            Assert.Contains("Verdict: failed at tls (reset)", body, StringComparison.Ordinal);
            Assert.Contains("rdp_probe_failed_phase_info{phase=\"tls\",ending=\"reset\",code=\"\"} 1", body, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_module_password_is_read_at_start_and_a_missing_one_stops_the_exporter()
    {
        var config = ExporterConfig.Parse("modules:\n  logon:\n    credentials:\n      user: LAB\\probe\n      password_env: RDPPROBE_EXPORTER_TEST_UNSET_VARIABLE\n");

        var error = Assert.Throws<ExporterConfigException>(() => new ExporterServer(new ExporterOptions { Listen = new IPEndPoint(IPAddress.Loopback, 0), Config = config }));
        Assert.Contains("RDPPROBE_EXPORTER_TEST_UNSET_VARIABLE is not set", error.Message, StringComparison.Ordinal);
    }
}
