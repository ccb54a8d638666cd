using System.Text.Json;
using RdpProbe.Cli;
using RdpProbe.IntegrationTests.Lab;
using Spectre.Console.Testing;

namespace RdpProbe.IntegrationTests.Probe;

/// <summary>
/// Issue 10: --fail-on in the run modes over several probes (--repeat, --targets FILE, several targets on the command
/// line), through the real command entry point against the lab: all probes ok but a finding at or above the threshold
/// gives exit 19 and one line on standard error naming it; below the threshold, or without --fail-on, exit 0; a failed
/// probe keeps its own exit code.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class FailOnRunsCliLabTests(LabFixture lab)
{
    private static async Task<(int Exit, string Out, string Err)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var console = new TestConsole();
        console.Profile.Width = 120;
        int exit = await RdpProbeApp.RunAsync(args, new CliIo(output, error, console));
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Repeat_fails_on_the_expired_certificate_only_when_asked()
    {
        // The expired certificate is a high finding; nothing on this server is critical.
        string expired = lab.Endpoints.XrdpExpired.ToString();
        var (plain, _, _) = await RunAsync(expired, "--repeat", "2");
        Assert.Equal(ExitCodes.Ok, plain);

        var (high, output, error) = await RunAsync(expired, "--repeat", "2", "--fail-on", "high", "--json");
        Assert.True(high == ExitCodes.Findings, error + output);
        Assert.Contains("certificate_expired (high)", error, StringComparison.Ordinal);
        Assert.Equal("rdpprobe.repeat/2", JsonDocument.Parse(output).RootElement.GetProperty("schema").GetString());

        var (critical, _, criticalError) = await RunAsync(expired, "--repeat", "2", "--fail-on", "critical");
        Assert.True(critical == ExitCodes.Ok, criticalError);
    }

    [Fact]
    public async Task Targets_file_fails_on_a_finding_of_any_target()
    {
        string file = Path.Combine(Path.GetTempPath(), $"rdpprobe-failon-{Guid.NewGuid():N}.txt");
        try
        {
            await File.WriteAllLinesAsync(file, [lab.Endpoints.Xrdp.ToString(), lab.Endpoints.XrdpExpired.ToString()]);
            var (plain, _, plainError) = await RunAsync("--targets", file);
            Assert.True(plain == ExitCodes.Ok, plainError);

            var (high, output, error) = await RunAsync("--targets", file, "--fail-on", "high", "--json");
            Assert.True(high == ExitCodes.Findings, error);
            Assert.Contains($"{lab.Endpoints.XrdpExpired} certificate_expired (high)", error, StringComparison.Ordinal);
            Assert.DoesNotContain($"{lab.Endpoints.Xrdp} certificate", error, StringComparison.Ordinal);
            Assert.Equal(2, output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

            // A target that fails keeps its phase's exit code: findings never hide a failure.
            await File.WriteAllLinesAsync(file, [lab.Endpoints.ClosedPort.ToString(), lab.Endpoints.XrdpExpired.ToString()]);
            var (failed, _, _) = await RunAsync("--targets", file, "--fail-on", "high");
            Assert.Equal(ExitCodes.Tcp, failed);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Targets_file_judges_each_target_as_the_chosen_client_with_its_own_client_hello()
    {
        // --targets runs the connection sequence only, plus the chosen client's simulated connection: against the
        // TLS-1.0-only xrdp the windows11 verdict is "fails at tls" (exit 13), as xfreerdp and current Windows fail there,
        // and windows7 connects.
        string file = Path.Combine(Path.GetTempPath(), $"rdpprobe-failon-{Guid.NewGuid():N}.txt");
        try
        {
            await File.WriteAllLinesAsync(file, [lab.Endpoints.XrdpTls10.ToString()]);
            var (exit, output, error) = await RunAsync("--targets", file, "--json");
            Assert.True(exit == ExitCodes.Tls, error + output);
            var doc = JsonDocument.Parse(output).RootElement;
            Assert.Equal("tls_version_refused_by_client", doc.GetProperty("verdict").GetProperty("code").GetString());
            var simulated = Assert.Single(doc.GetProperty("clientSimulation").EnumerateArray());
            Assert.Equal(["windows11"], simulated.GetProperty("profiles").EnumerateArray().Select(p => p.GetString()));
            Assert.Equal("refused", simulated.GetProperty("outcome").GetString());

            var (old, _, oldError) = await RunAsync("--targets", file, "--client", "windows7");
            Assert.True(old == ExitCodes.Ok, oldError);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Several_targets_on_the_command_line_fail_on_findings_too()
    {
        var (plain, _, _) = await RunAsync(lab.Endpoints.Xrdp.ToString(), lab.Endpoints.XrdpExpired.ToString(), "--quiet");
        Assert.Equal(ExitCodes.Ok, plain);

        var (high, _, error) = await RunAsync(lab.Endpoints.Xrdp.ToString(), lab.Endpoints.XrdpExpired.ToString(), "--quiet", "--fail-on", "high");
        Assert.True(high == ExitCodes.Findings, error);
        Assert.Contains("certificate_expired (high)", error, StringComparison.Ordinal);
    }
}
