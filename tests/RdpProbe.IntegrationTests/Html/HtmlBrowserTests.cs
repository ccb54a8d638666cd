using System.CommandLine;
using System.Text.Json;
using RdpProbe.Cli;
using RdpProbe.Diagnosis;
using RdpProbe.Probe;
using RdpProbe.Reports.Html;
using RdpProbe.IntegrationTests.Lab;
using Spectre.Console.Testing;
using Xunit.Abstractions;

namespace RdpProbe.IntegrationTests.Html;

/// <summary>
/// The --html pages the command line writes against the lab's real servers and the lab captures, opened in a real
/// headless Chromium: no console errors, one ladder arrow per recorded message, the verdict and the failing step on the
/// page, no sideways scrolling at a laptop's width or a narrow one, a PDF print. Screenshots and PDFs are kept in
/// <see cref="Artifacts"/> (printed) for a person to look at.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class HtmlBrowserTests(LabFixture lab, ITestOutputHelper output) : IAsyncLifetime
{
    /// <summary>Where the pages, screenshots and PDFs of the last run are kept.</summary>
    public static readonly string Artifacts = Path.Combine(Path.GetTempPath(), "rdpprobe-html-artifacts");

    private HeadlessChromium? _browser;

    private HeadlessChromium Browser => _browser ?? throw new InvalidOperationException("browser not started");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Artifacts);
        _browser = await HeadlessChromium.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }
    }

    private static async Task<(int Exit, string Out, string Err)> RunAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit = await RdpProbeApp.RunAsync(args, new CliIo(stdout, stderr, new TestConsole()));
        return (exit, stdout.ToString(), stderr.ToString());
    }

    private static int RecordedMessages(string probeJson) =>
        JsonDocument.Parse(probeJson).RootElement.GetProperty("phases").EnumerateArray().Sum(p => p.GetProperty("messages").GetArrayLength());

    /// <summary>Loads the page, checks what every page must satisfy, and keeps a screenshot (laptop width), a narrow one and a PDF.</summary>
    private async Task OpenAsync(string page, string name)
    {
        await Browser.LoadAsync(page);
        Assert.True(Browser.Errors.Count == 0, "console errors: " + string.Join("\n", Browser.Errors));
        Assert.True((bool)(await Browser.EvaluateAsync("document.documentElement.scrollWidth <= window.innerWidth"))!, "the page scrolls sideways at 1366 px");
        string shot = Path.Combine(Artifacts, name + ".png");
        await Browser.ScreenshotAsync(shot);

        await Browser.SetViewportAsync(760, 900);
        Assert.True((bool)(await Browser.EvaluateAsync("document.documentElement.scrollWidth <= window.innerWidth"))!, "the page scrolls sideways at 760 px");
        string narrow = Path.Combine(Artifacts, name + "-narrow.png");
        await Browser.ScreenshotAsync(narrow, 760);

        string pdf = Path.Combine(Artifacts, name + ".pdf");
        var bytes = await Browser.PrintToPdfAsync(pdf);
        Assert.True(bytes.Length > 1000 && bytes.AsSpan(0, 4).SequenceEqual("%PDF"u8), "no PDF printed");
        Assert.True(Browser.Errors.Count == 0, "console errors: " + string.Join("\n", Browser.Errors));
        await Browser.SetViewportAsync(1366, 900);
        output.WriteLine($"{name}: page {page}, screenshots {shot} and {narrow}, print {pdf}");
    }

    [Fact]
    public async Task Probe_page_of_xrdp_draws_every_recorded_message()
    {
        string page = Path.Combine(Artifacts, "probe-xrdp.html");
        var (exit, json, error) = await RunAsync(lab.Endpoints.Xrdp.ToString(), "--json", "--html", page);
        Assert.True(exit == ExitCodes.Ok, error + json);
        int messages = RecordedMessages(json);
        Assert.True(messages > 10, $"only {messages} messages recorded");

        await OpenAsync(page, "probe-xrdp");

        Assert.Equal(messages, await Browser.CountAsync("svg.ladder g.arrow"));
        Assert.Equal(0, await Browser.CountAsync("svg.ladder g.band.failed"));
        string text = await Browser.TextAsync();
        Assert.Contains("✔ OK", text, StringComparison.Ordinal);
        Assert.Contains(JsonDocument.Parse(json).RootElement.GetProperty("verdict").GetProperty("summary").GetString()!, text, StringComparison.Ordinal);
        Assert.Contains("Client compatibility", text, StringComparison.Ordinal);
        Assert.Contains("--html", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Probe_page_of_a_closed_port_names_the_failing_step()
    {
        string page = Path.Combine(Artifacts, "probe-closed.html");
        var (exit, json, error) = await RunAsync(lab.Endpoints.ClosedPort.ToString(), "--json", "--html", page);
        Assert.True(exit == ExitCodes.Tcp, error + json);

        await OpenAsync(page, "probe-closed");

        Assert.Equal(RecordedMessages(json), await Browser.CountAsync("svg.ladder g.arrow"));
        Assert.Equal(1, await Browser.CountAsync("svg.ladder g.band.failed[data-phase='tcp']"));
        Assert.Equal(1, await Browser.CountAsync("svg.ladder g.note.fail"));
        string text = await Browser.TextAsync();
        Assert.Contains("✘ FAILED at the tcp step (refused)", text, StringComparison.Ordinal);
        Assert.Contains(JsonDocument.Parse(json).RootElement.GetProperty("verdict").GetProperty("summary").GetString()!, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Analyze_page_of_the_lab_captures_shows_failed_connections_first()
    {
        string page = Path.Combine(Artifacts, "analyze-lab.html");
        var captures = Directory.GetFiles(Path.Combine(RepositoryRoot(), "captures", "lab"), "*.pcap").Order().ToArray();
        var console = new TestConsole();
        var errors = new TestConsole();
        var root = new RootCommand();
        root.Subcommands.Add(AnalyzeCommand.Create(console, errors));
        int exit = await CommandLineHost.RunAsync(root, ["analyze", .. captures, "--port", "3388", "--port", "3390", "--port", "3391", "--port", "3397", "--json", "--html", page]);
        Assert.True(exit is ExitCodes.Ok or ExitCodes.ConnectionFailed, errors.Output);
        var connections = JsonDocument.Parse(console.Output).RootElement.GetProperty("connections").EnumerateArray().ToList();
        int failed = connections.Count(c => !c.GetProperty("verdict").GetProperty("ok").GetBoolean());
        Assert.True(failed > 0, "the lab captures hold failed connections");

        await OpenAsync(page, "analyze-lab");

        Assert.Equal(connections.Count, await Browser.CountAsync("svg.timeline rect.conn-bar"));
        Assert.Equal(failed, await Browser.CountAsync("svg.timeline rect.conn-bar.failed, svg.timeline rect.conn-bar.open"));
        int shown = Math.Min(connections.Count, 25);
        Assert.Equal(shown, await Browser.CountAsync("section.conn"));
        Assert.Equal(Math.Min(failed, shown), await Browser.CountAsync("section.conn.failed"));
        Assert.True((bool)(await Browser.EvaluateAsync("[...document.querySelectorAll('section.conn')].slice(0, " + Math.Min(failed, shown) + ").every(s => s.classList.contains('failed'))"))!, "failed connections come first");
        Assert.Equal(Math.Min(failed, shown), await Browser.CountAsync("section.conn.failed svg.ladder g.band.failed"));
        Assert.Contains($"{failed} of {connections.Count} RDP connection(s) failed", await Browser.TextAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bench_page_of_xrdp_draws_the_distributions_and_the_runs()
    {
        string page = Path.Combine(Artifacts, "bench-xrdp.html");
        var (exit, json, error) = await RunAsync("bench", lab.Endpoints.Xrdp.ToString(), "-n", "6", "--json", "--html", page);
        Assert.True(exit == ExitCodes.Ok, error + json);
        int phases = JsonDocument.Parse(json).RootElement.GetProperty("phases").GetArrayLength();

        await OpenAsync(page, "bench-xrdp");

        Assert.Equal(phases, await Browser.CountAsync("svg.boxplot g.box"));
        Assert.Equal(phases, await Browser.CountAsync("svg.runs g.series"));
        Assert.Equal(1, await Browser.CountAsync("svg.side-by-side"));
        Assert.Contains("6 measured run(s), all complete", await Browser.TextAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_harness_sees_console_errors_and_blocked_scripts()
    {
        // The no-console-error assertions above can fail: a page that logs an error, and one whose script the
        // pages' Content-Security-Policy blocks, are both reported.
        string logs = Path.Combine(Artifacts, "harness-console-error.html");
        await File.WriteAllTextAsync(logs, "<!DOCTYPE html><html><body><script>console.error('boom from the page')</script></body></html>");
        await Browser.LoadAsync(logs);
        Assert.Contains(Browser.Errors, e => e.Contains("boom from the page", StringComparison.Ordinal));

        string blocked = Path.Combine(Artifacts, "harness-blocked-script.html");
        await File.WriteAllTextAsync(blocked, "<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\"></head><body><script>document.title='ran'</script></body></html>");
        await Browser.LoadAsync(blocked);
        Assert.NotEmpty(Browser.Errors);
        Assert.NotEqual("ran", (string?)await Browser.EvaluateAsync("document.title"));
    }

    [Fact]
    public async Task Hostile_server_strings_stay_text_in_the_browser()
    {
        const string hostile = "CN=\"><script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\">";
        var report = new ProbeReport(ProbeTarget.Parse("127.0.0.1:3389")) { Address = System.Net.IPAddress.Loopback };
        var x224 = new PhaseRecord(Phase.X224);
        x224.Messages.Add(new WireMessage(Direction.Received, 1, 19, hostile));
        x224.Fail(Ending.ProtocolViolation, new Code(hostile), hostile);
        report.Phases.Add(x224);
        report.Negotiation.Answer = hostile;
        report.Tls = new TlsFacts { Certificate = new CertificateInfo(hostile, hostile, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, 0, true, "rsa", 2048, "sha256", "00", [hostile], "01") };
        report.Verdict = Verdict.From(report.Phases);
        string page = Path.Combine(Artifacts, "probe-hostile.html");
        await File.WriteAllTextAsync(page, ProbeHtml.Write([report], HtmlProvenance.Now("test")));

        await OpenAsync(page, "probe-hostile");

        Assert.Equal(0, await Browser.CountAsync("script, img, [onerror]"));
        Assert.NotEqual("pwned", (string?)await Browser.EvaluateAsync("document.title"));
        Assert.Contains("<script>document.title='pwned'</script>", await Browser.TextAsync(), StringComparison.Ordinal);
        Assert.Equal(1, await Browser.CountAsync("svg.ladder g.arrow"));
    }

    [Fact]
    public async Task Analyze_page_of_12000_connections_stays_small_and_opens_quickly()
    {
        // A capture's worth of connections (every seventh one failed), as the analysis would report them.
        var connections = Enumerable.Range(0, 12_000).Select(i =>
        {
            bool ok = i % 7 != 0;
            int first = (i * 10) + 1;
            return new RdpProbe.Reports.ConnectionReport(
                $"10.0.{i / 250}.{i % 250}:{40000 + (i % 20000)}", "10.9.9.9:3389", first, first + 8, null, null, ["ssl"], ok ? "ssl" : null, null, null, null, null,
                [new RdpProbe.Reports.PhaseReportEntry("tcp", "ok", first, first + 2, false), new RdpProbe.Reports.PhaseReportEntry("x224", ok ? "ok" : "failed", first + 3, first + 8, false)],
                "x224", ok ? "ok" : "reset", ok ? null : "server",
                ok ? [] : [new RdpProbe.Reports.AnomalyReport("reset", [first + 8], 1, "x224", "server", null, $"frame.number == {first + 8}")],
                new RdpProbe.Reports.VerdictReport(ok, "x224", ok ? "ok" : "reset", null, ok ? "ok" : "The server reset the connection.", [], [], false),
                $"tcp.port=={40000 + (i % 20000)}", false, 100, 100, 9);
        }).ToList();
        var report = new RdpProbe.Reports.AnalysisReport(RdpProbe.Reports.AnalysisReport.SchemaName, ["synthetic.pcap"], 120_000, 12_000_000, 60, connections, [], [], new RdpProbe.Reports.FragmentReport(0, 0, 0, 0), null, []);
        string page = Path.Combine(Artifacts, "analyze-12000.html");
        await File.WriteAllTextAsync(page, AnalysisHtml.Write(report, HtmlProvenance.Now("synthetic")));
        long size = new FileInfo(page).Length;

        await Browser.LoadAsync(page);
        double loadMs = (double)(await Browser.EvaluateAsync("performance.getEntriesByType('navigation')[0].loadEventEnd"))!;
        output.WriteLine($"analyze-12000: {size:N0} bytes, load event after {loadMs:0} ms");

        Assert.True(Browser.Errors.Count == 0, "console errors: " + string.Join("\n", Browser.Errors));
        Assert.True(size < 5_000_000, $"{size} bytes");
        Assert.Equal(12_000, await Browser.CountAsync("svg.timeline rect.conn-bar"));
        Assert.Equal(AnalysisHtml.DefaultDetails, await Browser.CountAsync("section.conn.failed"));
        // About a second on a desktop; the bound leaves room for a loaded shared test machine.
        Assert.True(loadMs < 5000, $"load took {loadMs:0} ms");
        await Browser.ScreenshotAsync(Path.Combine(Artifacts, "analyze-12000.png"));
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "RdpProbe.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("repository root (RdpProbe.sln) not found");
    }
}
