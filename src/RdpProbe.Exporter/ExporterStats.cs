using System.Collections.Concurrent;
using System.Diagnostics;

namespace RdpProbe.Exporter;

/// <summary>The exporter's own counters, exposed on /metrics (what the probes cost, what was turned away).</summary>
public sealed class ExporterStats
{
    private readonly ConcurrentDictionary<(string Module, string Result), long> probes = new();
    private readonly ConcurrentDictionary<string, long> rejected = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, double> probeSeconds = new(StringComparer.Ordinal);
    private readonly object secondsLock = new();
    private long inFlight;

    public ExporterStats(int concurrencyLimit, int modules)
    {
        ConcurrencyLimit = concurrencyLimit;
        Modules = modules;
    }

    public int ConcurrencyLimit { get; }

    public int Modules { get; }

    public long InFlight => Interlocked.Read(ref inFlight);

    public void ProbeStarted() => Interlocked.Increment(ref inFlight);

    public void ProbeFinished(string module, ProbeOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        Interlocked.Decrement(ref inFlight);
        string result = outcome.Success ? "success" : outcome.DeadlineExceeded ? "deadline" : outcome.Report is null ? "error" : "failure";
        probes.AddOrUpdate((module, result), 1, (_, n) => n + 1);
        lock (secondsLock)
        {
            probeSeconds[module] = probeSeconds.GetValueOrDefault(module) + outcome.Seconds;
        }
    }

    /// <summary>A request turned away: "concurrency" (503), "bad_request" (400), "unknown_module" (400).</summary>
    public void Rejected(string reason) => rejected.AddOrUpdate(reason, 1, (_, n) => n + 1);

    public long RejectedCount(string reason) => rejected.GetValueOrDefault(reason);

    public IReadOnlyList<MetricFamily> Families()
    {
        var total = new MetricFamily("rdp_exporter_probes_total", MetricType.Counter, "Probes run, by module and result (success, failure, deadline, error).");
        foreach (var ((module, result), n) in probes.OrderBy(p => p.Key.Module, StringComparer.Ordinal).ThenBy(p => p.Key.Result, StringComparer.Ordinal))
        {
            total.Add(n, ("module", module), ("result", result));
        }

        var seconds = new MetricFamily("rdp_exporter_probe_seconds_total", MetricType.Counter, "Wall time spent probing, by module.");
        lock (secondsLock)
        {
            foreach (var (module, s) in probeSeconds.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                seconds.Add(Math.Round(s, 6), ("module", module));
            }
        }

        var turnedAway = new MetricFamily("rdp_exporter_requests_rejected_total", MetricType.Counter, "Probe requests turned away, by reason (concurrency: 503; bad_request, unknown_module: 400).");
        foreach (var reason in new[] { "bad_request", "concurrency", "unknown_module" })
        {
            turnedAway.Add(RejectedCount(reason), ("reason", reason));
        }

        using var process = Process.GetCurrentProcess();
        return
        [
            total,
            seconds,
            turnedAway,
            new MetricFamily("rdp_exporter_probes_in_flight", MetricType.Gauge, "Probes running now.").Add(InFlight),
            new MetricFamily("rdp_exporter_probe_concurrency_limit", MetricType.Gauge, "Probes allowed to run at once; more get 503.").Add(ConcurrencyLimit),
            new MetricFamily("rdp_exporter_config_modules", MetricType.Gauge, "Modules in the loaded configuration.").Add(Modules),
            new MetricFamily("process_resident_memory_bytes", MetricType.Gauge, "Resident memory size in bytes.").Add(process.WorkingSet64),
            new MetricFamily("process_cpu_seconds_total", MetricType.Counter, "Total user and system CPU time spent in seconds.").Add(Math.Round(process.TotalProcessorTime.TotalSeconds, 3)),
            new MetricFamily("process_start_time_seconds", MetricType.Gauge, "Start time of the process since the Unix epoch in seconds.")
                .Add(new DateTimeOffset(process.StartTime.ToUniversalTime()).ToUnixTimeSeconds()),
            new MetricFamily("dotnet_gc_heap_bytes", MetricType.Gauge, "Bytes the GC thinks are allocated on the managed heap.").Add(GC.GetTotalMemory(false)),
            new MetricFamily("dotnet_gc_collections_total", MetricType.Counter, "Garbage collections, by generation.")
                .Add(GC.CollectionCount(0), ("generation", "0")).Add(GC.CollectionCount(1), ("generation", "1")).Add(GC.CollectionCount(2), ("generation", "2")),
        ];
    }
}
