using System.Diagnostics;
using RdpProbe.Diagnosis;
using RdpProbe.Probe;

namespace RdpProbe.Runs;

/// <summary>How many runs, how long at most, and the pause between runs.</summary>
public sealed record BenchOptions
{
    public const int MaxRuns = 1000;
    public const int MaxWarmup = 20;

    /// <summary>Measured runs (1..<see cref="MaxRuns"/>).</summary>
    public int Runs { get; init; } = 10;

    /// <summary>Runs made first and left out of the statistics: the first one pays for the JIT and BouncyCastle's set-up.</summary>
    public int Warmup { get; init; } = 1;

    /// <summary>Pause between runs, so the benchmark is not a connection flood (xrdp listens with a backlog of 2).</summary>
    public TimeSpan Pause { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Bound on the whole benchmark: runs that would start later are not started.</summary>
    public TimeSpan MaxTime { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>CredSSP goes on past the NTLM challenge (AUTHENTICATE + credentials) when credentials were given.</summary>
    public bool WithCredentials { get; init; }
}

/// <summary>One probe run as the benchmark needs it: the phase records of the connection sequence and the TLS version.</summary>
public sealed record BenchRun(IReadOnlyList<PhaseRecord> Phases, string? TlsVersion);

/// <summary>Makes one probe run; <c>iteration</c> counts from 0 over warm-up and measured runs together.</summary>
public delegate Task<BenchRun> BenchProbe(int iteration, CancellationToken cancellationToken);

/// <summary>
/// <c>rdpprobe bench</c>: runs the probe's connection sequence N times and says, per phase, how long it took, how many
/// round trips it cost against the protocol's floor, and how much of it was the network, the server or the client.
/// </summary>
public static class BenchRunner
{
    /// <summary>The phases of the connection sequence, in order (the extra checks are other connections and not timed).</summary>
    private static readonly Phase[] Sequence =
        [Phase.Tcp, Phase.X224, Phase.Tls, Phase.Credssp, Phase.EarlyAuth, Phase.Mcs, Phase.Channels, Phase.SecurityExchange, Phase.ClientInfo, Phase.Licensing, Phase.Capabilities];

    /// <summary>A probe run with the live engine (its options and credentials): the connection sequence only (no
    /// matrix, no TLS-version connections), up to the security handshake (the session phases are off, as they were
    /// when the bench was written), always to <paramref name="address"/> — resolved once, the bench times the
    /// handshake, not the resolver.</summary>
    public static BenchProbe ForEngine(ProbeEngine engine, ProbeTarget target, System.Net.IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(target);
        var sequenceOnly = engine.Derive(o => o with { SecurityMatrix = false, TlsVersions = false, ClientSimulation = false, EncryptionLevels = false, AllAddresses = false, TlsKeyLogPath = null, SessionPhases = false });
        return async (_, ct) =>
        {
            var report = await sequenceOnly.ProbeAddressAsync(target, address, [address], null, ct).ConfigureAwait(false);
            return new BenchRun(report.Phases, report.Tls?.Version);
        };
    }

    public static async Task<BenchReport> RunAsync(string target, BenchProbe probe, BenchOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(probe);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Runs is < 1 or > BenchOptions.MaxRuns)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"runs must be 1..{BenchOptions.MaxRuns}");
        }

        if (options.Warmup is < 0 or > BenchOptions.MaxWarmup)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"warm-up runs must be 0..{BenchOptions.MaxWarmup}");
        }

        var started = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        var warm = new List<BenchRun>();
        var measured = new List<BenchRun>();
        string? stopped = null;
        int total = options.Warmup + options.Runs;
        for (int i = 0; i < total; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (clock.Elapsed > options.MaxTime)
            {
                stopped = $"time limit of {options.MaxTime.TotalSeconds:0} s reached after {measured.Count} measured runs";
                break;
            }

            var run = await probe(i, cancellationToken).ConfigureAwait(false);
            (i < options.Warmup ? warm : measured).Add(run);
            if (i + 1 < total && options.Pause > TimeSpan.Zero)
            {
                await Task.Delay(options.Pause, cancellationToken).ConfigureAwait(false);
            }
        }

        var report = Summarise(target, warm, measured, options);
        report.StartedAt = started;
        report.DurationMs = Math.Round(clock.Elapsed.TotalMilliseconds, 1);
        report.StoppedEarly = stopped;
        return report;
    }

    /// <summary>Builds the report from finished runs (pure: the unit tests feed it made-up runs).</summary>
    public static BenchReport Summarise(string target, IReadOnlyList<BenchRun> warmup, IReadOnlyList<BenchRun> runs, BenchOptions options)
    {
        ArgumentNullException.ThrowIfNull(runs);
        ArgumentNullException.ThrowIfNull(options);
        var report = new BenchReport(target)
        {
            RunsAsked = options.Runs,
            Warmup = warmup.Count,
            RunsDone = runs.Count,
            WithCredentials = options.WithCredentials,
            Runs = runs,
        };

        // The path's round-trip time, once per run: the TCP connect (SYN → SYN/ACK) costs exactly one and the server's
        // kernel answers it, so no server application time is in it.
        var rttByRun = runs.Select(r => r.Phases.FirstOrDefault(p => p.Phase == Phase.Tcp && p.Status == PhaseStatus.Ok)?.Ms).ToArray();
        report.Rtt = LatencyStats.Of(rttByRun.Where(v => v is not null).Select(v => v!.Value));
        report.RunsComplete = runs.Count(r => r.Phases.Count > 0 && r.Phases.All(p => p.Status != PhaseStatus.Failed));
        report.TlsVersion = runs.Select(r => r.TlsVersion).FirstOrDefault(v => v is not null);

        foreach (var phase in Sequence)
        {
            var samples = new List<(PhaseRecord Record, double? Rtt, string? Tls)>();
            for (int i = 0; i < runs.Count; i++)
            {
                foreach (var record in runs[i].Phases.Where(p => p.Phase == phase && p.Status != PhaseStatus.Skipped))
                {
                    samples.Add((record, rttByRun[i], runs[i].TlsVersion));
                }
            }

            if (samples.Count == 0)
            {
                continue;
            }

            report.Phases.Add(SummarisePhase(phase, samples, options.WithCredentials));
        }

        // The whole sequence per run (only runs where every phase of it succeeded: a failed run is shorter, not faster).
        var complete = runs.Where(r => r.Phases.Count > 0 && r.Phases.All(p => p.Status == PhaseStatus.Ok)).ToList();
        report.TotalWire = LatencyStats.Of(complete.Select(r => r.Phases.Sum(p => RoundTrips.WireMs(p, r.TlsVersion))));
        report.TotalWall = LatencyStats.Of(complete.Select(r => r.Phases.Sum(p => p.WallMs ?? p.Ms)));
        report.TotalRoundTrips = LatencyStats.Of(complete.Select(r => (double)r.Phases.Sum(p => RoundTrips.Measured(p, r.TlsVersion))));
        report.TotalFloor = report.Phases.All(p => p.Floor is not null) ? report.Phases.Sum(p => p.Floor!.Value) : null;
        if (warmup.Count > 0)
        {
            report.ColdWall = Math.Round(warmup[0].Phases.Sum(p => p.WallMs ?? p.Ms), 3);
        }

        return report;
    }

    private static PhaseBench SummarisePhase(Phase phase, List<(PhaseRecord Record, double? Rtt, string? Tls)> samples, bool withCredentials)
    {
        var ok = samples.Where(s => s.Record.Status == PhaseStatus.Ok).ToList();
        var bench = new PhaseBench(phase)
        {
            Attempted = samples.Count,
            Succeeded = ok.Count,
            FailureEndings = samples.Where(s => s.Record.Status == PhaseStatus.Failed)
                .GroupBy(s => s.Record.Ending).ToDictionary(g => g.Key, g => g.Count()),
            Wire = LatencyStats.Of(ok.Select(s => RoundTrips.WireMs(s.Record, s.Tls))),
            Wall = LatencyStats.Of(ok.Select(s => s.Record.WallMs ?? s.Record.Ms)),
            Client = LatencyStats.Of(ok.Select(s => Math.Round(Math.Max(0, (s.Record.WallMs ?? s.Record.Ms) - RoundTrips.WireMs(s.Record, s.Tls)), 3))),
            RoundTrips = LatencyStats.Of(ok.Select(s => (double)RoundTrips.Measured(s.Record, s.Tls))),
            Floor = ok.Count > 0 ? RoundTrips.Floor(phase, ok[0].Tls, withCredentials) : null,
        };

        if (phase == Phase.Tcp)
        {
            // The connect is the RTT measurement itself: all network by definition.
            bench.Network = bench.Wire;
            bench.Server = LatencyStats.Of(ok.Select(_ => 0.0));
        }
        else
        {
            var split = ok.Where(s => s.Rtt is not null)
                .Select(s => (Network: RoundTrips.Measured(s.Record, s.Tls) * s.Rtt!.Value, Ms: RoundTrips.WireMs(s.Record, s.Tls)))
                .ToList();

            // Server time = wire time minus the round trips at this run's RTT. With jitter a run's RTT sample can be
            // larger than the turn it is subtracted from; the negative remainder is kept as measured (it is noise of
            // the path, and clipping it would bias the median upwards).
            bench.Network = LatencyStats.Of(split.Select(s => Math.Round(s.Network, 3)));
            bench.Server = LatencyStats.Of(split.Select(s => Math.Round(s.Ms - s.Network, 3)));
        }

        bench.Attribution = Attribute(bench);
        return bench;
    }

    /// <summary>The largest of network, server and client time at the median: where this phase's time went.</summary>
    private static string? Attribute(PhaseBench bench)
    {
        if (bench.Wire is null || bench.Network is null || bench.Server is null)
        {
            return null;
        }

        var parts = new (string Name, double Ms)[]
        {
            ("network", bench.Network.Median),
            ("server", bench.Server.Median),
            ("client", bench.Client?.Median ?? 0),
        };
        return parts.MaxBy(p => p.Ms).Name;
    }
}
