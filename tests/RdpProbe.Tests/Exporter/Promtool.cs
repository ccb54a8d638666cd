using System.Diagnostics;

namespace RdpProbe.Tests.Exporter;

/// <summary>
/// Prometheus' own tool (Debian package prometheus, installed by scripts/install-deps.sh): the exporter's output and
/// the example files are held to the parser and linter Prometheus itself uses.
/// </summary>
internal static class Promtool
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public static string ExamplesDirectory => Path.Combine(RdpProbe.Tests.JsonReports.ReportSchemas.RepositoryRoot, "examples", "prometheus");

    /// <summary>Runs promtool with <paramref name="arguments"/>, feeding <paramref name="stdin"/>; the exit code and everything it printed.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string? stdin, string workingDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo("promtool")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("promtool did not start (scripts/install-deps.sh installs it)");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }

        process.StandardInput.Close();
        using var cts = new CancellationTokenSource(Timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"promtool {string.Join(' ', arguments)} did not finish within {Timeout.TotalSeconds} s");
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>`promtool check metrics`: parses the exposition from stdin and lints names, units and HELP texts.</summary>
    public static Task<(int ExitCode, string Output)> CheckMetricsAsync(string exposition) => RunAsync(exposition, Path.GetTempPath(), "check", "metrics");
}
