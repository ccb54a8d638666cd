using System.Diagnostics;
using System.Globalization;
using System.Net;
using RdpProbe.Analysis;
using RdpProbe.Reports;
using Xunit.Abstractions;

namespace RdpProbe.IntegrationTests.Lab;

/// <summary>
/// A real client's connection, captured: tcpdump on lo (filtered to the server's port) while xfreerdp connects to a lab
/// endpoint on the lab's Xvfb display, then the analyzer's connections from that capture. Every process is bounded in
/// time and stopped by its own pid.
/// </summary>
internal static class XfreerdpCapture
{
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(30);

    public static async Task<(IReadOnlyList<ConnectionReport> Connections, string Log)> RunAsync(LabFixture lab, ITestOutputHelper output, IPEndPoint endpoint, params string[] clientArguments)
    {
        string pcap = Path.Combine(Path.GetTempPath(), $"rdpprobe-attrib-{endpoint.Port}-{Guid.NewGuid():N}.pcap");
        var dump = new ProcessStartInfo("tcpdump") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string a in new[] { "-i", "lo", "-s", "0", "-U", "--immediate-mode", "-n", "-w", pcap, $"tcp port {endpoint.Port}" })
        {
            dump.ArgumentList.Add(a);
        }

        using var tcpdump = Process.Start(dump) ?? throw new InvalidOperationException("could not start tcpdump");
        try
        {
            // tcpdump says "listening on lo" once its filter is in place.
            var ready = new TaskCompletionSource();
            tcpdump.ErrorDataReceived += (_, e) =>
            {
                if (e.Data?.Contains("listening on", StringComparison.Ordinal) == true)
                {
                    ready.TrySetResult();
                }
            };
            tcpdump.BeginErrorReadLine();
            await ready.Task.WaitAsync(TimeSpan.FromSeconds(10));

            var (displayExit, display) = await LabScripts.RunAsync("lab.sh", ["display", "--base", lab.BasePort.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(60));
            Assert.True(displayExit == 0, display);
            display = display.Trim().Split('\n')[^1].Trim();
            string log = await RunAsync("xfreerdp", [$"/v:{endpoint.Address}:{endpoint.Port}", "/cert:ignore", .. clientArguments, "+auth-only"], ClientTimeout, display);
            output.WriteLine(string.Join(Environment.NewLine, log.Split('\n').Where(l => l.Contains("ERROR", StringComparison.Ordinal)).Take(6)));
            await Task.Delay(500);

            // SIGINT to the tcpdump this helper started (by its pid), so it flushes and closes the file.
            await RunAsync("kill", ["-INT", tcpdump.Id.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10), null);
            await tcpdump.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));

            output.WriteLine($"capture {pcap}: {new FileInfo(pcap).Length} bytes");
            var result = CaptureAnalysis.Run([pcap], new AnalyzerOptions { Ports = [endpoint.Port] });
            Assert.Equal(CaptureReadStatus.Ok, result.Status);
            foreach (var c in result.Report.Connections)
            {
                output.WriteLine($"analyze: {c.Verdict.Phase} {c.Verdict.Ending} {c.Verdict.Code} — {c.Verdict.Summary} [{c.Verdict.Evidence}]");
            }

            return (result.Report.Connections, log);
        }
        finally
        {
            if (!tcpdump.HasExited)
            {
                tcpdump.Kill();
            }

            if (Environment.GetEnvironmentVariable("RDPPROBE_KEEP_CAPTURES") is null)
            {
                File.Delete(pcap);
            }
        }
    }

    /// <summary>A process's stdout and stderr; killed (with what it printed so far returned) when it outlives the timeout.</summary>
    internal static async Task<string> RunAsync(string file, string[] arguments, TimeSpan timeout, string? display)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        if (display is not null)
        {
            start.Environment["DISPLAY"] = display;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
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
            // xfreerdp sometimes hangs after reporting a failure; what it logged is still the evidence.
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        return await stdout + await stderr;
    }
}
