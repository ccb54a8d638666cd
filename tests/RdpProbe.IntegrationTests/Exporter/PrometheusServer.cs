using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace RdpProbe.IntegrationTests.Exporter;

/// <summary>One sample of an instant vector: its labels and value.</summary>
internal sealed record PromSample(IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>
/// A real Prometheus (Debian package prometheus, from scripts/install-deps.sh) started directly — not the systemd
/// service — with a generated configuration, a loopback port and a temporary storage directory, all removed on dispose.
/// Queries go through its HTTP API (/api/v1/query).
/// </summary>
internal sealed class PrometheusServer : IAsyncDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);

    private readonly Process process;
    private readonly string directory;
    private readonly StringBuilder log = new();

    private PrometheusServer(Process process, string directory, Uri address)
    {
        this.process = process;
        this.directory = directory;
        Address = address;
        Http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(10) };
    }

    public Uri Address { get; }

    public HttpClient Http { get; }

    /// <summary>What Prometheus printed so far (for failure messages).</summary>
    public string Log
    {
        get
        {
            lock (log)
            {
                return log.ToString();
            }
        }
    }

    public static async Task<PrometheusServer> StartAsync(string configYaml)
    {
        string directory = Directory.CreateTempSubdirectory("rdpprobe-prometheus-").FullName;
        string config = Path.Combine(directory, "prometheus.yml");
        await File.WriteAllTextAsync(config, configYaml);
        int port = FreeLoopbackPort();
        var start = new ProcessStartInfo("prometheus")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = directory,
        };
        foreach (var argument in new[]
                 {
                     "--config.file=" + config,
                     "--storage.tsdb.path=" + Path.Combine(directory, "data"),
                     "--web.listen-address=127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture),
                     "--storage.tsdb.retention.time=1h",
                     "--log.level=warn",
                 })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("prometheus did not start (scripts/install-deps.sh installs it)");
        var server = new PrometheusServer(process, directory, new Uri($"http://127.0.0.1:{port}/"));
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                string output = server.Log;
                await server.DisposeAsync();
                throw new InvalidOperationException($"prometheus exited with {process.ExitCode}:\n{output}");
            }

            try
            {
                using var ready = await server.Http.GetAsync("-/ready");
                if (ready.IsSuccessStatusCode)
                {
                    return server;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            if (clock.Elapsed > ReadyTimeout)
            {
                string output = server.Log;
                await server.DisposeAsync();
                throw new TimeoutException($"prometheus was not ready within {ReadyTimeout.TotalSeconds} s:\n{output}");
            }

            await Task.Delay(200);
        }
    }

    /// <summary>An instant query; throws on an API error so a typo in a query fails loudly rather than as "no data".</summary>
    public async Task<IReadOnlyList<PromSample>> QueryAsync(string promql)
    {
        string json = await Http.GetStringAsync("api/v1/query?query=" + Uri.EscapeDataString(promql));
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        if (root.GetProperty("status").GetString() != "success")
        {
            throw new InvalidOperationException($"query {promql} failed: {json}");
        }

        var samples = new List<PromSample>();
        foreach (var result in root.GetProperty("data").GetProperty("result").EnumerateArray())
        {
            var labels = result.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "");
            string value = result.GetProperty("value")[1].GetString()!;
            samples.Add(new PromSample(labels, double.Parse(value, CultureInfo.InvariantCulture)));
        }

        return samples;
    }

    /// <summary>Polls <paramref name="promql"/> until <paramref name="done"/> holds for its result; bounded by <paramref name="timeout"/>.</summary>
    public async Task<IReadOnlyList<PromSample>> WaitForAsync(string promql, Func<IReadOnlyList<PromSample>, bool> done, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        IReadOnlyList<PromSample> last = [];
        while (clock.Elapsed < timeout)
        {
            last = await QueryAsync(promql);
            if (done(last))
            {
                return last;
            }

            await Task.Delay(500);
        }

        string seen = string.Join("; ", last.Select(s => "{" + string.Join(",", s.Labels.Select(l => $"{l.Key}={l.Value}")) + "} " + s.Value.ToString(CultureInfo.InvariantCulture)));
        string targets = await Http.GetStringAsync("api/v1/targets");
        throw new TimeoutException($"{what}: not seen within {timeout.TotalSeconds} s. Last result of {promql}: [{seen}]\nTargets: {targets}\nPrometheus log:\n{Log}");
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await process.WaitForExitAsync(cts.Token);
        }

        process.Dispose();
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still being closed; the temp directory is cleaned by the system eventually.
        }
    }

    /// <summary>A port nothing listens on right now (the kernel's choice for port 0).</summary>
    internal static int FreeLoopbackPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            log.AppendLine(line);
        }
    }
}
