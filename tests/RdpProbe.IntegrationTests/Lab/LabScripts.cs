using System.Diagnostics;

namespace RdpProbe.IntegrationTests.Lab;

/// <summary>Runs the repository's lab scripts (scripts/lab.sh, scripts/faults.sh) as child processes.</summary>
internal static class LabScripts
{
    private static readonly Lazy<string> Root = new(FindRepositoryRoot);

    /// <summary>The directory holding RdpProbe.sln, found by walking up from the test assembly.</summary>
    public static string RepositoryRoot => Root.Value;

    public static string ScriptPath(string name) => Path.Combine(RepositoryRoot, "scripts", name);

    private static string FindRepositoryRoot()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "RdpProbe.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        throw new InvalidOperationException($"RdpProbe.sln not found above {AppContext.BaseDirectory}; the lab scripts live next to it");
    }

    /// <summary>Runs a script with bash; returns its exit code and its stdout and stderr together.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string script, IEnumerable<string> arguments, TimeSpan timeout)
    {
        var startInfo = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = RepositoryRoot,
        };
        startInfo.ArgumentList.Add(ScriptPath(script));
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"could not start bash {script}");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"scripts/{script} {string.Join(' ', startInfo.ArgumentList.Skip(1))} did not finish within {timeout.TotalSeconds:0} s");
        }

        string output = (await stdout.ConfigureAwait(false)) + (await stderr.ConfigureAwait(false));
        return (process.ExitCode, output.Trim());
    }

    /// <summary>Synchronous form for Dispose paths (fault removal), where no async context exists.</summary>
    public static (int ExitCode, string Output) Run(string script, IEnumerable<string> arguments, TimeSpan timeout)
        => Task.Run(() => RunAsync(script, arguments, timeout)).GetAwaiter().GetResult();
}
