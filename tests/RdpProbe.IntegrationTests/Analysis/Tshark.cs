using System.Diagnostics;

namespace RdpProbe.IntegrationTests.Analysis;

/// <summary>Runs the real tshark (Debian's tshark 4.x, installed by scripts/install-deps.sh) over a capture file.</summary>
internal static class Tshark
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    /// <summary>The frame numbers <c>tshark -r FILE -Y FILTER</c> returns; fails the test when tshark rejects the filter.</summary>
    public static IReadOnlyList<int> Frames(string file, string filter)
    {
        var (exit, output, error) = Run("-r", file, "-Y", filter, "-T", "fields", "-e", "frame.number");
        Assert.True(exit == 0, $"tshark rejected the filter \"{filter}\" on {file} (exit {exit}): {error}");
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse).ToList();
    }

    public static (int Exit, string Out, string Err) Run(params string[] args)
    {
        var start = new ProcessStartInfo("tshark")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("tshark did not start (scripts/install-deps.sh installs it)");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Limit))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"tshark {string.Join(' ', args)} ran longer than {Limit.TotalSeconds} s");
        }

        process.WaitForExit();
        return (process.ExitCode, output.Result, error.Result);
    }
}
