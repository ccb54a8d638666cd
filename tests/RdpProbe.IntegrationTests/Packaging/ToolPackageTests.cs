using System.Diagnostics;
using System.IO.Compression;
using System.Text.Json;
using RdpProbe.IntegrationTests.Lab;

namespace RdpProbe.IntegrationTests.Packaging;

/// <summary>
/// What a user without the repository gets: `dotnet pack` of the CLI, installed with `dotnet tool install` from the
/// package directory, run as the installed `rdpprobe` command against the lab's xrdp.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class ToolPackageTests(LabFixture lab)
{
    private static readonly TimeSpan PackTimeout = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task Packed_tool_installs_and_probes_the_lab_xrdp()
    {
        string work = Path.Combine(Path.GetTempPath(), $"rdpprobe-tool-{Guid.NewGuid():N}");
        string packDir = Path.Combine(work, "pack");
        string toolDir = Path.Combine(work, "tools");

        // A version of its own: the package cache (here a private one as well) never hands back an older build.
        string version = $"0.0.1-test.{DateTime.UtcNow:yyyyMMddHHmmss}";
        var environment = new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(work, "nuget") };
        try
        {
            string project = Path.Combine(LabScripts.RepositoryRoot, "src", "RdpProbe.Cli", "RdpProbe.Cli.csproj");
            var pack = await RunAsync("dotnet", ["pack", project, "-o", packDir, $"-p:Version={version}", "-v", "q", "--nologo"], environment, PackTimeout);
            Assert.True(pack.Exit == 0, pack.Output);

            string package = Assert.Single(Directory.GetFiles(packDir, "*.nupkg"));
            Assert.Equal($"RdpProbe.{version}.nupkg", Path.GetFileName(package));
            AssertToolPackage(package);

            var (command, verdict) = await InstallAndProbeAsync(packDir, toolDir, version, environment);
            Assert.Equal("capabilities", verdict.GetProperty("phase").GetString());

            var closed = await RunAsync(command, [lab.Endpoints.ClosedPort.ToString(), "--json"], environment, TimeSpan.FromSeconds(60));
            Assert.True(closed.Exit == 11, closed.Output);
        }
        finally
        {
            if (Directory.Exists(work))
            {
                Directory.Delete(work, recursive: true);
            }
        }
    }

    /// <summary>
    /// scripts/pack-tool.sh: the RID-specific packages (.NET SDK 10). `dotnet tool install RdpProbe` on linux-x64 gets
    /// the Native AOT executable (no rdpprobe.dll, no JIT), every other platform the framework-dependent "any" build.
    /// </summary>
    [Fact]
    public async Task Rid_specific_packages_give_linux_x64_the_native_executable_and_the_rest_the_any_build()
    {
        string work = Path.Combine(Path.GetTempPath(), $"rdpprobe-ridtool-{Guid.NewGuid():N}");
        string packDir = Path.Combine(work, "pack");
        string toolDir = Path.Combine(work, "tools");
        string version = $"0.0.1-rid.{DateTime.UtcNow:yyyyMMddHHmmss}";
        var environment = new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(work, "nuget") };
        try
        {
            string script = Path.Combine(LabScripts.RepositoryRoot, "scripts", "pack-tool.sh");
            var pack = await RunAsync("bash", [script, packDir, $"-p:Version={version}"], environment, TimeSpan.FromMinutes(12));
            Assert.True(pack.Exit == 0, pack.Output);

            string[] packages = Directory.GetFiles(packDir, "*.nupkg").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal).ToArray();
            Assert.Equal(new[] { $"RdpProbe.{version}.nupkg", $"RdpProbe.any.{version}.nupkg", $"RdpProbe.linux-x64.{version}.nupkg" }, packages);

            // The package users ask for names the two others; each carries the README and the licence.
            using (var top = ZipFile.OpenRead(Path.Combine(packDir, $"RdpProbe.{version}.nupkg")))
            {
                using var settings = new StreamReader(top.GetEntry("tools/any/any/DotnetToolSettings.xml")!.Open());
                string xml = settings.ReadToEnd();
                Assert.Contains("RuntimeIdentifier=\"any\" Id=\"RdpProbe.any\"", xml, StringComparison.Ordinal);
                Assert.Contains("RuntimeIdentifier=\"linux-x64\" Id=\"RdpProbe.linux-x64\"", xml, StringComparison.Ordinal);
            }

            using (var any = ZipFile.OpenRead(Path.Combine(packDir, $"RdpProbe.any.{version}.nupkg")))
            {
                var names = any.Entries.Select(e => e.FullName).ToHashSet(StringComparer.Ordinal);
                Assert.Contains("tools/net10.0/any/rdpprobe.dll", names);
                Assert.Contains("tools/net10.0/any/RdpProbe.Core.dll", names);
                Assert.Contains("README.md", names);
                Assert.Contains("LICENSE", names);
            }

            using (var native = ZipFile.OpenRead(Path.Combine(packDir, $"RdpProbe.linux-x64.{version}.nupkg")))
            {
                var names = native.Entries.Select(e => e.FullName).ToHashSet(StringComparer.Ordinal);
                Assert.Contains("tools/any/linux-x64/rdpprobe", names);
                Assert.DoesNotContain(names, n => n.EndsWith(".dll", StringComparison.Ordinal) || n.EndsWith(".dbg", StringComparison.Ordinal));
                Assert.Contains("LICENSE", names);
            }

            var (command, _) = await InstallAndProbeAsync(packDir, toolDir, version, environment);
            string target = new FileInfo(command).LinkTarget is { } link ? Path.GetFullPath(link, toolDir) : command;
            bool linuxX64 = System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier == "linux-x64";
            Assert.Equal(linuxX64, target.Contains("rdpprobe.linux-x64", StringComparison.Ordinal));
            Assert.Equal(!linuxX64, File.Exists(Path.Combine(Path.GetDirectoryName(target)!, "rdpprobe.dll")));

            // The analyzer in the native build: a lab capture gives the verdict the repository's build gives.
            string capture = Path.Combine(LabScripts.RepositoryRoot, "captures", "lab", "nla-success.pcap");
            var analyzed = await RunAsync(command, ["analyze", capture, "--jsonl"], environment, TimeSpan.FromSeconds(60));
            Assert.True(analyzed.Exit == 0, analyzed.Output);
            Assert.Contains("\"type\":\"connection\"", analyzed.Stdout, StringComparison.Ordinal);
            Assert.Contains("\"verdict\":{\"ok\":true", analyzed.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(work))
            {
                Directory.Delete(work, recursive: true);
            }
        }
    }

    /// <summary>Installs the tool from the package directory, then: --version says the packed version, xrdp probes ok.</summary>
    private async Task<(string Command, JsonElement Verdict)> InstallAndProbeAsync(string packDir, string toolDir, string version, Dictionary<string, string> environment)
    {
        var install = await RunAsync("dotnet", ["tool", "install", "--tool-path", toolDir, "--add-source", packDir, "--version", version, "RdpProbe"], environment, PackTimeout);
        Assert.True(install.Exit == 0, install.Output);

        string command = Path.Combine(toolDir, OperatingSystem.IsWindows() ? "rdpprobe.exe" : "rdpprobe");
        var shown = await RunAsync(command, ["--version"], environment, TimeSpan.FromSeconds(60));
        Assert.True(shown.Exit == 0, shown.Output);
        Assert.StartsWith(version, shown.Stdout.Trim(), StringComparison.Ordinal);

        var probe = await RunAsync(command, [lab.Endpoints.Xrdp.ToString(), "--json", "--no-matrix", "--no-tls-versions", "--no-encryption-levels"], environment, TimeSpan.FromSeconds(90));
        Assert.True(probe.Exit == 0, probe.Output);
        var verdict = JsonDocument.Parse(probe.Stdout).RootElement.GetProperty("verdict").Clone();
        Assert.True(verdict.GetProperty("ok").GetBoolean(), probe.Stdout);
        return (command, verdict);
    }

    /// <summary>The package is a tool (not a library), carries README and licence, and RdpProbe.Core inside it.</summary>
    private static void AssertToolPackage(string package)
    {
        using var zip = ZipFile.OpenRead(package);
        var names = zip.Entries.Select(e => e.FullName).ToHashSet(StringComparer.Ordinal);
        Assert.Contains("README.md", names);
        Assert.Contains("LICENSE", names);
        Assert.Contains("tools/net10.0/any/DotnetToolSettings.xml", names);
        Assert.Contains("tools/net10.0/any/RdpProbe.Core.dll", names);
        Assert.Contains("tools/net10.0/any/rdpprobe.dll", names);

        using var nuspec = new StreamReader(zip.GetEntry("RdpProbe.nuspec")!.Open());
        string text = nuspec.ReadToEnd();
        Assert.Contains("<packageType name=\"DotnetTool\" />", text, StringComparison.Ordinal);
        Assert.Contains("<license type=\"expression\">MIT</license>", text, StringComparison.Ordinal);
        Assert.Contains("<projectUrl>", text, StringComparison.Ordinal);
        Assert.DoesNotContain("<dependency", text, StringComparison.Ordinal);
    }

    private static async Task<(int Exit, string Stdout, string Output)> RunAsync(string file, string[] arguments, IReadOnlyDictionary<string, string> environment, TimeSpan timeout)
    {
        var startInfo = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment)
        {
            startInfo.Environment[name] = value;
        }

        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"could not start {file}");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', arguments)} did not finish within {timeout.TotalSeconds:0} s");
        }

        string output = await stdout;
        return (process.ExitCode, output, $"{file} {string.Join(' ', arguments)} -> {process.ExitCode}\n{output}\n{await stderr}");
    }
}
