using System.Text.Json;
using RdpProbe.Cli;
using RdpProbe.IntegrationTests.Lab;
using RdpProbe.Tests.JsonReports;
using Spectre.Console.Testing;

namespace RdpProbe.IntegrationTests.Probe;

/// <summary>--client and --fail-on through the real command entry point, against the lab's servers: exit codes, JSON and view.</summary>
[Collection(LabCollection.Name)]
public sealed class ClientVerdictCliLabTests(LabFixture lab)
{
    private static async Task<(int Exit, string Out, string Err, string View)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var console = new TestConsole();
        console.Profile.Width = 80;
        int exit = await RdpProbeApp.RunAsync(args, new CliIo(output, error, console));
        return (exit, output.ToString(), error.ToString(), console.Output);
    }

    private static readonly string[] Quick = ["--no-matrix", "--no-tls-versions", "--no-encryption-levels"];

    [Fact]
    public async Task Rdp_only_server_connects_for_windows11_after_its_fallback()
    {
        var (exit, output, error, _) = await RunAsync([lab.Endpoints.ShadowRdp.ToString(), "--json", .. Quick]);
        Assert.True(exit == ExitCodes.Ok, error + output);
        ReportSchemas.AssertValid(ReportSchemas.Probe, output);
        var root = JsonDocument.Parse(output).RootElement;
        var attempts = root.GetProperty("attempts");
        Assert.True(attempts.GetArrayLength() >= 2, output);
        Assert.Equal("ssl_not_allowed_by_server", attempts[0].GetProperty("failureCode").GetString());
        Assert.Equal("rdp", attempts[attempts.GetArrayLength() - 1].GetProperty("requestedProtocols")[0].GetString());
        var verdict = root.GetProperty("clientVerdict");
        Assert.Equal("windows11", verdict.GetProperty("profile").GetString());
        Assert.Equal("connects_insecurely", verdict.GetProperty("result").GetString());
    }

    [Fact]
    public async Task Rdp_only_server_view_lists_the_connections()
    {
        var (exit, _, _, view) = await RunAsync([lab.Endpoints.ShadowRdp.ToString(), .. Quick]);
        Assert.Equal(ExitCodes.Ok, exit);
        Assert.Contains("Windows 11: connects insecurely", view);
        Assert.Contains("connections (client fallback)", view);
        Assert.Contains("fell back", view);
        Assert.Contains("compatibility", view);
    }

    [Fact]
    public async Task Tls10_only_server_fails_at_tls_for_windows11_and_connects_for_windows10()
    {
        // The TLS version check stays on: without it the verdict is unknown (which versions the server takes is the fact).
        var (exit, output, _, _) = await RunAsync(lab.Endpoints.XrdpTls10.ToString(), "--json", "--no-matrix", "--no-encryption-levels");
        Assert.Equal(ExitCodes.Tls, exit);
        var verdict = JsonDocument.Parse(output).RootElement.GetProperty("clientVerdict");
        Assert.Equal("fails", verdict.GetProperty("result").GetString());
        Assert.Equal("tls", verdict.GetProperty("failPhase").GetString());

        var (exit10, output10, error10, _) = await RunAsync(lab.Endpoints.XrdpTls10.ToString(), "--json", "--client", "windows10", "--no-matrix", "--no-encryption-levels");
        Assert.True(exit10 == ExitCodes.Ok, error10 + output10);
        Assert.Equal("windows10", JsonDocument.Parse(output10).RootElement.GetProperty("clientVerdict").GetProperty("profile").GetString());
    }

    [Fact]
    public async Task Expired_certificate_is_a_finding_that_only_fail_on_turns_into_an_exit_code()
    {
        var (exit, output, error, _) = await RunAsync([lab.Endpoints.XrdpExpired.ToString(), "--json", .. Quick]);
        Assert.True(exit == ExitCodes.Ok, error + output);
        var findings = JsonDocument.Parse(output).RootElement.GetProperty("findings");
        Assert.Contains(findings.EnumerateArray(), f => f.GetProperty("code").GetString() == "certificate_expired");

        var (failOnExit, _, _, _) = await RunAsync([lab.Endpoints.XrdpExpired.ToString(), "--fail-on", "high", .. Quick]);
        Assert.Equal(ExitCodes.Findings, failOnExit);
    }

    [Fact]
    public async Task Capture_after_a_fallback_takes_the_final_attempt_as_the_main_connection()
    {
        string pcap = Path.Combine(Path.GetTempPath(), $"rdpprobe-fallback-{Guid.NewGuid():N}.pcap");
        try
        {
            var engine = new RdpProbe.Probe.ProbeEngine(new RdpProbe.Probe.ProbeOptions { SecurityMatrix = false, TlsVersions = false, ClientSimulation = false, EncryptionLevels = false });
            var run = await RdpProbe.Runs.ProbeRunner.RunAsync(engine, RdpProbe.Probe.ProbeTarget.Parse(lab.Endpoints.ShadowRdp.ToString()), new RdpProbe.Runs.ProbeRunOptions { CapturePath = pcap });
            var report = Assert.Single(run.Reports);
            Assert.True(report.Attempts.Count >= 2);
            var capture = Assert.IsType<RdpProbe.Runs.CaptureResult>(run.Capture);
            var main = Assert.IsType<RdpProbe.Reports.ConnectionReport>(capture.Main);
            var ordered = capture.Analysis.Connections.OrderBy(c => c.FirstFrame).ToList();
            Assert.Same(ordered[report.Attempts.Count - 1], main);
            Assert.Equal(["rdp"], main.RequestedProtocols);
        }
        finally
        {
            File.Delete(pcap);
        }
    }
}
