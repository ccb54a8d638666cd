using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace RdpProbe.IntegrationTests.Html;

/// <summary>
/// A real headless Chromium (the Debian package, installed by scripts/install-deps.sh) driven over the DevTools
/// protocol on a ClientWebSocket: loads a page, collects what the console and the browser log report as errors
/// (Runtime.consoleAPICalled, Runtime.exceptionThrown, Log.entryAdded), evaluates expressions in the page and takes
/// full-page screenshots and PDF prints.
/// </summary>
internal sealed class HeadlessChromium : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _profile;
    private readonly ClientWebSocket _socket = new();
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonNode?>> _pending = new();
    private readonly ConcurrentQueue<string> _errors = new();
    private readonly CancellationTokenSource _stop = new();
    private TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _reader;
    private int _nextId;

    private HeadlessChromium(Process process, string profile)
    {
        _process = process;
        _profile = profile;
    }

    /// <summary>Errors the page produced since the last <see cref="LoadAsync"/>: console errors, uncaught exceptions, log errors (blocked loads, CSP).</summary>
    public IReadOnlyList<string> Errors => _errors.ToArray();

    public static async Task<HeadlessChromium> StartAsync()
    {
        string binary = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("chromium is not installed: run scripts/install-deps.sh (Debian package chromium)");
        string profile = Directory.CreateTempSubdirectory("rdpprobe-chromium-").FullName;
        var start = new ProcessStartInfo(binary)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run", "--disable-extensions", "--remote-debugging-port=0", $"--user-data-dir={profile}", "about:blank" })
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("chromium did not start");
        var chromium = new HeadlessChromium(process, profile);
        try
        {
            // Chromium says where its DevTools endpoint is on stderr: "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID".
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            string? browserUrl = null;
            while (browserUrl is null)
            {
                string? line = await process.StandardError.ReadLineAsync(timeout.Token) ?? throw new InvalidOperationException("chromium exited before it listened");
                int at = line.IndexOf("ws://", StringComparison.Ordinal);
                if (line.Contains("DevTools listening", StringComparison.Ordinal) && at >= 0)
                {
                    browserUrl = line[at..].Trim();
                }
            }

            // Keep draining both pipes so chromium never blocks on a full pipe.
            _ = process.StandardError.ReadToEndAsync();
            _ = process.StandardOutput.ReadToEndAsync();
            var port = new Uri(browserUrl).Port;
            using var http = new HttpClient();
            string list = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/json/list"), timeout.Token);
            var page = JsonNode.Parse(list)!.AsArray().First(t => (string?)t!["type"] == "page")!;
            await chromium._socket.ConnectAsync(new Uri((string)page["webSocketDebuggerUrl"]!), timeout.Token);
            chromium._reader = Task.Run(chromium.ReadLoopAsync);
            await chromium.SendAsync("Runtime.enable");
            await chromium.SendAsync("Log.enable");
            await chromium.SendAsync("Page.enable");
            return chromium;
        }
        catch
        {
            await chromium.DisposeAsync();
            throw;
        }
    }

    /// <summary>Sets the viewport (CSS pixels) and loads the file; returns when its load event fired.</summary>
    public async Task LoadAsync(string file, int width = 1366, int height = 900)
    {
        _errors.Clear();
        _loaded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await SetViewportAsync(width, height);
        await SendAsync("Page.navigate", new JsonObject { ["url"] = new Uri(Path.GetFullPath(file)).AbsoluteUri });
        await _loaded.Task.WaitAsync(TimeSpan.FromSeconds(30));
        // Layout and console messages of the load arrive just after the event.
        await EvaluateAsync("new Promise(r => requestAnimationFrame(() => setTimeout(r, 50)))", awaitPromise: true);
    }

    public Task SetViewportAsync(int width, int height) =>
        SendAsync("Emulation.setDeviceMetricsOverride", new JsonObject { ["width"] = width, ["height"] = height, ["deviceScaleFactor"] = 1, ["mobile"] = false });

    public async Task<JsonNode?> EvaluateAsync(string expression, bool awaitPromise = false)
    {
        var result = await SendAsync("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["returnByValue"] = true, ["awaitPromise"] = awaitPromise });
        if (result?["exceptionDetails"] is { } ex)
        {
            throw new InvalidOperationException($"page expression failed: {ex.ToJsonString()}");
        }

        return result?["result"]?["value"];
    }

    public async Task<int> CountAsync(string selector) => (int)(await EvaluateAsync($"document.querySelectorAll({JsonSerializer.Serialize(selector)}).length"))!;

    public async Task<string> TextAsync() => (string)(await EvaluateAsync("document.body.innerText"))!;

    /// <summary>The whole page as PNG: the viewport is stretched to the content's height (capped) for the capture.</summary>
    public async Task ScreenshotAsync(string path, int width = 1366)
    {
        int height = (int)(await EvaluateAsync("Math.ceil(document.documentElement.scrollHeight)"))!;
        await SetViewportAsync(width, Math.Clamp(height, 200, 16000));
        var shot = await SendAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png" });
        await File.WriteAllBytesAsync(path, Convert.FromBase64String((string)shot!["data"]!));
    }

    /// <summary>Prints the page to PDF as a user would (print CSS applies); A4, backgrounds kept.</summary>
    public async Task<byte[]> PrintToPdfAsync(string path)
    {
        var pdf = await SendAsync("Page.printToPDF", new JsonObject { ["printBackground"] = true, ["paperWidth"] = 8.27, ["paperHeight"] = 11.69 });
        var bytes = Convert.FromBase64String((string)pdf!["data"]!);
        await File.WriteAllBytesAsync(path, bytes);
        return bytes;
    }

    private async Task<JsonNode?> SendAsync(string method, JsonObject? parameters = null)
    {
        int id = Interlocked.Increment(ref _nextId);
        var done = new TaskCompletionSource<JsonNode?>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = done;
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? new JsonObject() };
        await _socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, _stop.Token);
        return await done.Task.WaitAsync(TimeSpan.FromSeconds(60));
    }

    private async Task ReadLoopAsync()
    {
        var buffer = new byte[1 << 16];
        var message = new MemoryStream();
        try
        {
            while (!_stop.IsCancellationRequested && _socket.State == WebSocketState.Open)
            {
                var r = await _socket.ReceiveAsync(buffer, _stop.Token);
                if (r.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                message.Write(buffer, 0, r.Count);
                if (!r.EndOfMessage)
                {
                    continue;
                }

                var node = JsonNode.Parse(message.ToArray());
                message.SetLength(0);
                Dispatch(node);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
        }

        foreach (var pending in _pending.Values)
        {
            pending.TrySetException(new InvalidOperationException("DevTools connection closed"));
        }
    }

    private void Dispatch(JsonNode? node)
    {
        if (node?["id"] is { } idNode && _pending.TryRemove((int)idNode, out var done))
        {
            if (node["error"] is { } error)
            {
                done.TrySetException(new InvalidOperationException(error.ToJsonString()));
            }
            else
            {
                done.TrySetResult(node["result"]);
            }

            return;
        }

        switch ((string?)node?["method"])
        {
            case "Page.loadEventFired":
                _loaded.TrySetResult();
                break;
            case "Runtime.consoleAPICalled" when (string?)node!["params"]!["type"] is "error" or "assert":
                _errors.Enqueue("console: " + node["params"]!["args"]?.ToJsonString());
                break;
            case "Runtime.exceptionThrown":
                _errors.Enqueue("exception: " + node!["params"]!["exceptionDetails"]?.ToJsonString());
                break;
            case "Log.entryAdded" when (string?)node!["params"]!["entry"]!["level"] == "error":
                _errors.Enqueue("log: " + node["params"]!["entry"]!["text"]);
                break;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket.Dispose();
        if (_reader is not null)
        {
            await _reader.ConfigureAwait(false);
        }

        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
        }

        _process.Dispose();
        _stop.Dispose();
        try
        {
            Directory.Delete(_profile, recursive: true);
        }
        catch (IOException)
        {
            // Chromium may still hold a lock file for a moment; the temp directory is cleaned up later.
        }
    }
}
