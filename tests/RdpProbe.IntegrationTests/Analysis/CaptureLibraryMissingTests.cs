using System.Diagnostics;
using RdpProbe.Tests.JsonReports;

namespace RdpProbe.IntegrationTests.Analysis;

/// <summary>
/// The Linux branch of the capture-library check, on the real CLI process: libpcap is hidden from one process only,
/// by running it in a private mount namespace (unshare -m) where the library file is bind-mounted over, either by
/// /dev/null (libpcap not installed: DllNotFoundException) or by a stub library compiled here that has none of the
/// entry points SharpPcap calls (a libpcap or wpcap.dll too old: EntryPointNotFoundException). The mounts vanish with
/// the namespace; nothing on the host changes. Every capture path must say "capture library missing", name the package
/// to install and exit 6 — never "not a readable capture" (exit 3), never a stack trace.
/// </summary>
public sealed class CaptureLibraryMissingTests
{
    private const int NoCaptureLibrary = 6;
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private static string Capture => Path.Combine(ReportSchemas.RepositoryRoot, "captures", "lab", "nla-bad-password.pcap");

    private static string Cli => Path.Combine(AppContext.BaseDirectory, "rdpprobe.dll");

    public static TheoryData<string> Hidings => new() { "not-installed", "too-old" };

    [Theory]
    [MemberData(nameof(Hidings))]
    public void Every_capture_path_says_the_library_is_missing_and_exits_6(string hiding)
    {
        Assert.True(OperatingSystem.IsLinux(), "the mount-namespace check is the Linux branch");
        string library = RealLibpcap();
        string replacement = hiding == "not-installed" ? "/dev/null" : StubLibrary();
        string pcapOut = Path.Combine(Path.GetTempPath(), $"rdpprobe-nolib-{Guid.NewGuid():N}.pcap");
        string[][] paths =
        [
            ["analyze", Capture],
            ["analyze", Capture, "--json"],
            ["analyze", "--explain-frame", "4", Capture],
            ["127.0.0.1:9", "--capture", pcapOut, "--timeout", "1s"],
        ];
        foreach (var args in paths)
        {
            var (exit, stdout, stderr) = RunHidden(library, replacement, args);
            string all = stdout + stderr;
            Assert.True(exit == NoCaptureLibrary, $"rdpprobe {string.Join(' ', args)} with libpcap {hiding}: exit {exit}\n{all}");
            Assert.Contains("capture library missing", stderr, StringComparison.Ordinal);
            Assert.Contains("libpcap0.8", stderr, StringComparison.Ordinal);
            Assert.Contains(hiding == "not-installed" ? "not installed" : "too old", stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("not a readable", all, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", all, StringComparison.Ordinal);
            Assert.DoesNotContain("Exception", all, StringComparison.Ordinal);
            Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }

        Assert.False(File.Exists(pcapOut) && new FileInfo(pcapOut).Length > 0, "no capture can have been written without the library");
        File.Delete(pcapOut);

        // The same commands with the library in place work: the hiding, not the commands, made them fail.
        var (okExit, okOut, okErr) = Run("dotnet", [Cli, "analyze", "--explain-frame", "4", Capture]);
        Assert.True(okExit == 0, okOut + okErr);
        Assert.Contains("X.224 Connection Request", okOut, StringComparison.Ordinal);
    }

    /// <summary>The file the dynamic loader opens for libpcap.so.0.8 (Debian's libpcap0.8), symlinks resolved.</summary>
    private static string RealLibpcap()
    {
        var (exit, output, _) = Run("/sbin/ldconfig", ["-p"]);
        Assert.True(exit == 0, "ldconfig -p failed");
        string? path = output.Split('\n').Where(l => l.Contains("libpcap.so", StringComparison.Ordinal)).Select(l => l[(l.LastIndexOf("=> ", StringComparison.Ordinal) + 3)..].Trim()).FirstOrDefault();
        Assert.True(path is not null, "libpcap is not installed here at all (scripts/install-deps.sh installs libpcap0.8)");
        return new FileInfo(path!).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path!;
    }

    /// <summary>A shared library that loads but exports only pcap_lib_version, as an ancient libpcap would lack the calls SharpPcap makes.</summary>
    private static string StubLibrary()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"rdpprobe-oldpcap-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        string source = Path.Combine(dir, "oldpcap.c");
        File.WriteAllText(source, "const char *pcap_lib_version(void) { return \"libpcap version 0.9 (stub)\"; }\n");
        string library = Path.Combine(dir, "oldpcap.so");
        var (exit, output, error) = Run("clang", ["-shared", "-fPIC", "-o", library, source]);
        Assert.True(exit == 0, $"clang (scripts/install-deps.sh installs it) could not build the stub: {output}{error}");
        return library;
    }

    private static (int Exit, string Out, string Err) RunHidden(string library, string replacement, string[] args)
    {
        // unshare -m gives the command a private copy of the mount table (propagation private): the bind mount is
        // seen by this process tree only and disappears when it exits.
        string script = "mount --bind \"$1\" \"$2\" || exit 97; shift 2; exec dotnet \"$@\"";
        return Run("unshare", ["-m", "sh", "-c", script, "sh", replacement, library, Cli, .. args]);
    }

    private static (int Exit, string Out, string Err) Run(string file, string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["NO_COLOR"] = "1";
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Limit))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} ran longer than {Limit.TotalSeconds} s");
        }

        process.WaitForExit();
        Assert.NotEqual(97, process.ExitCode);
        return (process.ExitCode, output.Result, error.Result);
    }
}
