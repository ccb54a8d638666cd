using System.Diagnostics;
using System.Text.Json;
using RdpProbe.Cli;
using RdpProbe.IntegrationTests.Lab;
using Spectre.Console.Testing;

namespace RdpProbe.IntegrationTests.Packaging;

/// <summary>
/// The win-x64 single-file build (scripts/publish.sh win-x64) run under Debian's Wine: --version, --help, a probe of
/// the lab's xrdp and of a closed port, each verdict compared with the Linux build's. DOTNET_EnableWriteXorExecute=0
/// because the CLR's W^X double mapping fails intermittently under Wine; winedbg disabled so a crash is a non-zero exit
/// instead of a debugger that exits 0.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class WineWindowsBuildTests(LabFixture lab)
{
    private const string Wine = "/usr/lib/wine/wine64";
    private static readonly SemaphoreSlim Once = new(1, 1);
    private static string? _exe;

    [Fact]
    public async Task Windows_build_gives_the_linux_verdicts_under_wine()
    {
        Assert.True(File.Exists(Wine), $"{Wine} is missing: scripts/install-deps.sh installs Debian's wine64");
        string exe = await PublishAsync();

        var version = await RunAsync(exe, ["--version"]);
        Assert.True(version.Exit == 0, version.Output);
        Assert.Matches(@"^\d+\.\d+\.\d+", version.Stdout.Trim());

        var help = await RunAsync(exe, ["--help"]);
        Assert.True(help.Exit == 0, help.Output);
        Assert.Contains("analyze", help.Stdout, StringComparison.Ordinal);

        string[] quick = ["--json", "--no-matrix", "--no-tls-versions", "--no-encryption-levels"];
        foreach (var target in new[] { lab.Endpoints.Xrdp.ToString(), lab.Endpoints.ClosedPort.ToString() })
        {
            var windows = await RunAsync(exe, [target, .. quick]);
            var linux = await LinuxAsync([target, .. quick]);
            Assert.True(windows.Exit == linux.Exit, $"wine exit {windows.Exit}, linux exit {linux.Exit}\n{windows.Output}");

            // The whole document must be valid UTF-8 JSON (the em-dashes in the texts came out as cp1252 before).
            var w = JsonDocument.Parse(windows.Stdout).RootElement.GetProperty("verdict");
            var l = JsonDocument.Parse(linux.Stdout).RootElement.GetProperty("verdict");
            foreach (var field in new[] { "ok", "phase", "ending", "code", "summary" })
            {
                Assert.Equal(l.GetProperty(field).ToString(), w.GetProperty(field).ToString());
            }
        }
    }

    private static async Task<string> PublishAsync()
    {
        await Once.WaitAsync();
        try
        {
            if (_exe is null)
            {
                var publish = await LabScripts.RunAsync("publish.sh", ["win-x64"], TimeSpan.FromMinutes(8));
                Assert.True(publish.ExitCode == 0, publish.Output);
                _exe = Path.Combine(LabScripts.RepositoryRoot, "out", "publish", "win-x64", "rdpprobe.exe");
            }

            return _exe;
        }
        finally
        {
            Once.Release();
        }
    }

    private static async Task<(int Exit, string Stdout)> LinuxAsync(string[] args)
    {
        var output = new StringWriter();
        int exit = await RdpProbeApp.RunAsync(args, new CliIo(output, new StringWriter(), new TestConsole()));
        return (exit, output.ToString());
    }

    private static async Task<(int Exit, string Stdout, string Output)> RunAsync(string exe, string[] arguments)
    {
        var startInfo = new ProcessStartInfo(Wine)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        startInfo.ArgumentList.Add(exe);
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        startInfo.Environment["DOTNET_EnableWriteXorExecute"] = "0";
        startInfo.Environment["WINEDLLOVERRIDES"] = "winedbg.exe=d";
        startInfo.Environment["WINEDEBUG"] = "-all";
        startInfo.Environment["WINEPREFIX"] = Path.Combine(Path.GetTempPath(), "rdpprobe-wineprefix");

        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException("could not start wine64");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"wine64 rdpprobe.exe {string.Join(' ', arguments)} did not finish within 3 minutes");
        }

        string output = await stdout;
        return (process.ExitCode, output, $"wine64 rdpprobe.exe {string.Join(' ', arguments)} -> {process.ExitCode}\n{output}\n{await stderr}");
    }
}
