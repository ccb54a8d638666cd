using System.Diagnostics;
using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RdpProbe.Probe;
using RdpProbe.Runs;

namespace RdpProbe.Exporter;

/// <summary>How the exporter listens and how much it takes on.</summary>
public sealed record ExporterOptions
{
    public required IPEndPoint Listen { get; init; }

    public ExporterConfig Config { get; init; } = ExporterConfig.Default;

    /// <summary>Probes allowed at once; a request beyond that gets 503 at once rather than queueing behind slow targets.</summary>
    public int MaxConcurrentProbes { get; init; } = 64;

    /// <summary>
    /// Taken off the scrape's X-Prometheus-Scrape-Timeout-Seconds so the answer (and its transfer) arrives before
    /// Prometheus gives up on the scrape (the blackbox exporter's timeout_offset does the same).
    /// </summary>
    public TimeSpan ScrapeTimeoutMargin { get; init; } = TimeSpan.FromMilliseconds(500);
}

/// <summary>
/// `rdpprobe serve`: the multi-target exporter pattern (prometheus.io/docs/guides/multi-target-exporter). Prometheus
/// scrapes GET /probe?target=host:port&amp;module=NAME, the exporter probes that target once and answers with its
/// series; /metrics carries the exporter's own. Built on ASP.NET Core's slim builder (Kestrel, no reflection-based
/// endpoint binding) so it publishes with Native AOT like the rest of the CLI.
/// </summary>
public sealed class ExporterServer : IAsyncDisposable
{
    /// <summary>No probe is given less than this, even when the scrape timeout minus the margin is shorter.</summary>
    internal static readonly TimeSpan MinimumDeadline = TimeSpan.FromMilliseconds(250);

    private const int MaxTargetLength = 300;

    private readonly ExporterOptions options;
    private readonly SemaphoreSlim slots;
    private readonly Dictionary<string, string> passwords = new(StringComparer.Ordinal);
    private readonly WebApplication app;

    /// <exception cref="ExporterConfigException">A module's password variable or file is missing.</exception>
    public ExporterServer(ExporterOptions options)
        : this(options, null)
    {
    }

    /// <param name="options">Where to listen and what to probe with.</param>
    /// <param name="prober">Replaces the live probe (tests: slow or failing probes without a network).</param>
    internal ExporterServer(ExporterOptions options, Func<ProbeModule, ProbeTarget, TimeSpan, CancellationToken, Task<ProbeReport>>? prober)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxConcurrentProbes, 1);
        this.options = options;
        Prober = prober ?? LiveProbeAsync;
        slots = new SemaphoreSlim(options.MaxConcurrentProbes, options.MaxConcurrentProbes);
        Stats = new ExporterStats(options.MaxConcurrentProbes, options.Config.Modules.Count);

        // Passwords are read once, at start: a missing variable stops the exporter with a clear error instead of
        // every scrape failing at credssp.
        foreach (var module in options.Config.Modules.Values)
        {
            if (module.Credentials is { } credentials)
            {
                passwords[module.Name] = credentials.ReadPassword();
            }
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.Listen(options.Listen);
            kestrel.AddServerHeader = false;

            // A client that trickles its request must not hold a connection for long; the probe itself is bounded by
            // its deadline, so no request lives longer than that plus these.
            kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(10);
            kestrel.Limits.KeepAliveTimeout = TimeSpan.FromSeconds(130);
            kestrel.Limits.MaxConcurrentConnections = Math.Max(256, options.MaxConcurrentProbes * 4);
            kestrel.Limits.MaxRequestLineSize = 4096;
            kestrel.Limits.MaxRequestHeadersTotalSize = 16 * 1024;
            kestrel.Limits.MaxRequestBodySize = 0;
        });
        app = builder.Build();
        app.MapGet("/probe", (RequestDelegate)HandleProbeAsync);
        app.MapGet("/metrics", (RequestDelegate)HandleMetricsAsync);
        app.MapGet("/", (RequestDelegate)HandleIndexAsync);
    }

    public ExporterStats Stats { get; }

    /// <summary>The address Kestrel listens on (with the port it picked when asked for port 0).</summary>
    public Uri BaseAddress { get; private set; } = new("http://127.0.0.1/");

    internal Func<ProbeModule, ProbeTarget, TimeSpan, CancellationToken, Task<ProbeReport>> Prober { get; }

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        BaseAddress = new Uri(app.Urls.First().Replace("[::]", "127.0.0.1", StringComparison.Ordinal) + "/");
    }

    public Task WaitForShutdownAsync(CancellationToken cancellationToken) => app.WaitForShutdownAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync().ConfigureAwait(false);
        await app.DisposeAsync().ConfigureAwait(false);
        slots.Dispose();
    }

    /// <summary>
    /// The probe's deadline: the module's timeout, lowered to the scrape's timeout minus the margin when Prometheus
    /// sends one (X-Prometheus-Scrape-Timeout-Seconds), never below <see cref="MinimumDeadline"/>.
    /// </summary>
    internal static TimeSpan Deadline(ProbeModule module, string? scrapeTimeoutHeader, TimeSpan margin)
    {
        var deadline = module.Timeout;
        if (double.TryParse(scrapeTimeoutHeader, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) && double.IsFinite(seconds) && seconds > 0)
        {
            var scrape = TimeSpan.FromSeconds(Math.Min(seconds, 3600)) - margin;
            if (scrape < deadline)
            {
                deadline = scrape;
            }
        }

        return deadline < MinimumDeadline ? MinimumDeadline : deadline;
    }

    /// <summary>The target parameter: host:port, [v6]:port or an address; one value, printable, of sane length.</summary>
    internal static bool TryParseTarget(string? text, out ProbeTarget? target, out string error)
    {
        target = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "missing parameter 'target' (host:port)";
            return false;
        }

        if (text.Length > MaxTargetLength || text.Any(c => char.IsControl(c) || char.IsWhiteSpace(c) || c is '/' or '?' or '#' or '@'))
        {
            error = "invalid target: expected host:port";
            return false;
        }

        if (!ProbeTarget.TryParse(text, out target, out var parseError) || target is null)
        {
            error = $"invalid target: {(parseError ?? "expected host:port").ReplaceLineEndings(" ")}";
            return false;
        }

        error = "";
        return true;
    }

    private async Task HandleProbeAsync(HttpContext context)
    {
        var query = context.Request.Query;
        if (query["target"].Count > 1 || query["module"].Count > 1)
        {
            Stats.Rejected("bad_request");
            await PlainAsync(context, StatusCodes.Status400BadRequest, "give 'target' and 'module' once each").ConfigureAwait(false);
            return;
        }

        if (!TryParseTarget(query["target"].ToString(), out var target, out string error))
        {
            Stats.Rejected("bad_request");
            await PlainAsync(context, StatusCodes.Status400BadRequest, error).ConfigureAwait(false);
            return;
        }

        string moduleName = query["module"].Count == 0 ? ExporterConfig.DefaultModuleName : query["module"].ToString();
        if (!options.Config.Modules.TryGetValue(moduleName, out var module))
        {
            Stats.Rejected("unknown_module");
            string name = ExporterConfig.IsModuleName(moduleName) ? moduleName : "(invalid name)";
            await PlainAsync(context, StatusCodes.Status400BadRequest, $"unknown module '{name}'").ConfigureAwait(false);
            return;
        }

        bool debug = string.Equals(query["debug"].ToString(), "true", StringComparison.OrdinalIgnoreCase);

        // Excess requests are refused at once: queueing them would only make them miss their own scrape timeout
        // while holding a connection.
        if (!await slots.WaitAsync(TimeSpan.Zero, context.RequestAborted).ConfigureAwait(false))
        {
            Stats.Rejected("concurrency");
            context.Response.Headers.RetryAfter = "1";
            await PlainAsync(context, StatusCodes.Status503ServiceUnavailable, $"too many probes in flight (limit {options.MaxConcurrentProbes})").ConfigureAwait(false);
            return;
        }

        ProbeOutcome outcome;
        var deadline = Deadline(module, context.Request.Headers["X-Prometheus-Scrape-Timeout-Seconds"].ToString(), options.ScrapeTimeoutMargin);
        Stats.ProbeStarted();
        try
        {
            outcome = await RunProbeAsync(module, target!, deadline, context.RequestAborted).ConfigureAwait(false);
        }
        finally
        {
            slots.Release();
        }

        Stats.ProbeFinished(module.Name, outcome);
        if (context.RequestAborted.IsCancellationRequested)
        {
            return;
        }

        if (debug)
        {
            await PlainAsync(context, StatusCodes.Status200OK, ProbeMetrics.DebugText(target!.ToString(), module, outcome, deadline), newline: false).ConfigureAwait(false);
            return;
        }

        context.Response.ContentType = Exposition.ContentType;
        await context.Response.WriteAsync(Exposition.Write(ProbeMetrics.From(outcome)), context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>Runs one probe under the deadline; the deadline and errors become an outcome, never an HTTP error.</summary>
    internal async Task<ProbeOutcome> RunProbeAsync(ProbeModule module, ProbeTarget target, TimeSpan deadline, CancellationToken requestAborted)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(requestAborted);
        cts.CancelAfter(deadline);
        var clock = Stopwatch.StartNew();
        try
        {
            var report = await Prober(module, target, deadline, cts.Token).WaitAsync(cts.Token).ConfigureAwait(false);
            return new ProbeOutcome(report, clock.Elapsed.TotalSeconds, false, null, module.Udp);
        }
        catch (OperationCanceledException) when (!requestAborted.IsCancellationRequested)
        {
            return new ProbeOutcome(null, clock.Elapsed.TotalSeconds, true, null, module.Udp);
        }
        catch (OperationCanceledException)
        {
            return new ProbeOutcome(null, clock.Elapsed.TotalSeconds, false, "the scrape went away", module.Udp);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // One bad probe must not take the exporter down; the message names the exception type only, as
            // exception texts can carry whatever the peer sent.
            return new ProbeOutcome(null, clock.Elapsed.TotalSeconds, false, e.GetType().Name, module.Udp);
        }
    }

    private async Task<ProbeReport> LiveProbeAsync(ProbeModule module, ProbeTarget target, TimeSpan deadline, CancellationToken ct)
    {
        var engine = new ProbeEngine(module.ToProbeOptions(deadline));
        if (module.Credentials is { } credentials)
        {
            engine = engine.WithCredentials(credentials.User, passwords[module.Name]);
        }

        var run = await ProbeRunner.RunAsync(engine, target, module.ToRunOptions(), ct).ConfigureAwait(false);
        return run.Reports[0];
    }

    private Task HandleMetricsAsync(HttpContext context)
    {
        context.Response.ContentType = Exposition.ContentType;
        return context.Response.WriteAsync(Exposition.Write(Stats.Families()), context.RequestAborted);
    }

    private Task HandleIndexAsync(HttpContext context)
    {
        var modules = string.Join(", ", options.Config.Modules.Keys.Order(StringComparer.Ordinal));
        return PlainAsync(context, StatusCodes.Status200OK,
            "rdpprobe exporter\n\nGET /probe?target=host:port&module=NAME   probe one RDP endpoint (add &debug=true for the probe's log)\n"
            + $"GET /metrics                              the exporter's own metrics\n\nmodules: {modules}");
    }

    private static Task PlainAsync(HttpContext context, int status, string text, bool newline = true)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(newline ? text + "\n" : text, context.RequestAborted);
    }
}
