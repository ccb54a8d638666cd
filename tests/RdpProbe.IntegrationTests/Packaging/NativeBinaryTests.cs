using System.Diagnostics;
using System.Text.Json;
using RdpProbe.Cli;
using RdpProbe.IntegrationTests.Lab;
using Spectre.Console.Testing;

namespace RdpProbe.IntegrationTests.Packaging;

/// <summary>
/// Issue 13, "done when … from the linux-x64 binary": the Native AOT executable of scripts/publish.sh, copied alone to
/// an empty directory and run with an empty environment (env -i: no dotnet on PATH, no DOTNET_ROOT, HOME in that
/// directory), answers --version, probes the lab's xrdp and its closed port, and analyzes a lab capture with the
/// verdicts and exit codes of the JIT build (run in-process from the same sources).
/// </summary>
[Collection(LabCollection.Name)]
public sealed class NativeBinaryTests(LabFixture lab)
{
    private static readonly SemaphoreSlim Once = new(1, 1);
    private static string? _published;

    [Fact]
    public async Task Linux_binary_runs_alone_in_an_empty_environment_and_agrees_with_the_jit_build()
    {
        string published = await PublishAsync();
        string home = Directory.CreateTempSubdirectory("rdpprobe-native-").FullName;
        try
        {
            string exe = Path.Combine(home, "rdpprobe");
            File.Copy(published, exe);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(exe, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }

            Assert.Equal("rdpprobe", Path.GetFileName(Assert.Single(Directory.GetFiles(home))));

            var version = await RunAsync(exe, home, ["--version"]);
            Assert.True(version.Exit == 0, version.Output);
            Assert.Matches(@"^\d+\.\d+\.\d+", version.Stdout.Trim());

            string[] quick = ["--json", "--no-matrix", "--no-tls-versions", "--no-client-sim", "--no-encryption-levels"];
            foreach (var target in new[] { lab.Endpoints.Xrdp.ToString(), lab.Endpoints.ClosedPort.ToString() })
            {
                var native = await RunAsync(exe, home, [target, .. quick]);
                var jit = await JitAsync([target, .. quick]);
                Assert.True(native.Exit == jit.Exit, $"native exit {native.Exit}, JIT exit {jit.Exit}\n{native.Output}");
                var n = JsonDocument.Parse(native.Stdout).RootElement.GetProperty("verdict");
                var j = JsonDocument.Parse(jit.Stdout).RootElement.GetProperty("verdict");
                foreach (var field in new[] { "ok", "phase", "ending", "code", "summary" })
                {
                    Assert.Equal(j.GetProperty(field).ToString(), n.GetProperty(field).ToString());
                }
            }

            // The capture reader (libpcap through SharpPcap) in the AOT build: the same connections and verdicts.
            string capture = Path.Combine(LabScripts.RepositoryRoot, "captures", "lab", "xfreerdp-fallback-rdp-security.pcap");
            var analyzed = await RunAsync(exe, home, ["analyze", capture, "--json", "--port", "13392"]);
            var reference = await JitAsync(["analyze", capture, "--json", "--port", "13392"]);
            Assert.True(analyzed.Exit == reference.Exit, analyzed.Output);
            var a = JsonDocument.Parse(analyzed.Stdout).RootElement;
            var r = JsonDocument.Parse(reference.Stdout).RootElement;
            Assert.Equal(r.GetProperty("connections").GetArrayLength(), a.GetProperty("connections").GetArrayLength());
            Assert.True(a.GetProperty("connections").GetArrayLength() >= 3);
            Assert.Equal(r.GetProperty("verdicts").ToString(), a.GetProperty("verdicts").ToString());
            Assert.Equal(r.GetProperty("chains").ToString(), a.GetProperty("chains").ToString());
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    /// <summary>
    /// scripts/publish.sh linux-x64, unless out/publish/linux-x64/rdpprobe is newer than every source and project file
    /// (a Native AOT link takes minutes on two shared cores; an up-to-date binary is the same binary).
    /// </summary>
    private static async Task<string> PublishAsync()
    {
        await Once.WaitAsync();
        try
        {
            if (_published is null)
            {
                string binary = Path.Combine(LabScripts.RepositoryRoot, "out", "publish", "linux-x64", "rdpprobe");
                if (!IsUpToDate(binary))
                {
                    var publish = await LabScripts.RunAsync("publish.sh", ["linux-x64"], TimeSpan.FromMinutes(12));
                    Assert.True(publish.ExitCode == 0, publish.Output);
                }

                Assert.True(File.Exists(binary), $"{binary} missing after scripts/publish.sh linux-x64");
                _published = binary;
            }

            return _published;
        }
        finally
        {
            Once.Release();
        }
    }

    private static bool IsUpToDate(string binary)
    {
        if (!File.Exists(binary))
        {
            return false;
        }

        var built = File.GetLastWriteTimeUtc(binary);
        string root = LabScripts.RepositoryRoot;
        var inputs = Directory.EnumerateFiles(Path.Combine(root, "src"), "*", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Concat(Directory.EnumerateFiles(root, "Directory.*.props"))
            .Append(Path.Combine(root, "scripts", "publish.sh"));
        return inputs.All(f => File.GetLastWriteTimeUtc(f) <= built);
    }

    private static async Task<(int Exit, string Stdout)> JitAsync(string[] args)
    {
        var output = new StringWriter();
        int exit = await RdpProbeApp.RunAsync(args, new CliIo(output, new StringWriter(), new TestConsole()));
        return (exit, output.ToString());
    }

    /// <summary>env -i: nothing inherited. PATH is an empty directory, so no dotnet (or anything else) can be found.</summary>
    private static async Task<(int Exit, string Stdout, string Output)> RunAsync(string exe, string home, string[] arguments)
    {
        string emptyPath = Directory.CreateDirectory(Path.Combine(home, "empty-path")).FullName;
        var startInfo = new ProcessStartInfo("/usr/bin/env")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = home,
        };
        foreach (var argument in new[] { "-i", $"HOME={home}", $"PATH={emptyPath}", exe }.Concat(arguments))
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException("could not start env -i");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"rdpprobe {string.Join(' ', arguments)} did not finish within 2 minutes");
        }

        string output = await stdout;
        return (process.ExitCode, output, $"env -i rdpprobe {string.Join(' ', arguments)} -> {process.ExitCode}\n{output}\n{await stderr}");
    }
}
