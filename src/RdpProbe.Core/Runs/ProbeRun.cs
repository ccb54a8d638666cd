using System.Net;
using RdpProbe.Diagnosis;
using RdpProbe.Net;
using RdpProbe.Probe;
using RdpProbe.Probe.NetPath;
using RdpProbe.Reports;

namespace RdpProbe.Runs;

/// <summary>What a single probe run does besides the connection sequence.</summary>
public sealed record ProbeRunOptions
{
    /// <summary>Also test RDP-UDP reachability (MS-RDPEUDP SYN) to each probed address.</summary>
    public bool Udp { get; init; }

    /// <summary>Also run the MTU black-hole test to each probed address.</summary>
    public bool Mtu { get; init; }

    /// <summary>Record the run's own packets into this pcap file and analyse them afterwards.</summary>
    public string? CapturePath { get; init; }

    /// <summary>Interface to capture on; null picks the one routing to the probed address.</summary>
    public string? CaptureInterface { get; init; }

    /// <summary>--fail-on: the least severe finding that makes an ok run exit non-zero; null = findings never do.</summary>
    public Severity? FailOn { get; init; }
}

/// <summary>The result of one probe run: a report per probed address, and the capture when one was taken.</summary>
public sealed record ProbeRun(IReadOnlyList<ProbeReport> Reports, CaptureResult? Capture)
{
    /// <summary>The first verdict that is not ok (the one the exit code follows); null when every report is ok.</summary>
    public Verdict? FirstFailure => Reports.Select(r => r.Verdict).FirstOrDefault(v => !v.Ok);

    /// <summary>The probe document of one report (rdpprobe.probe/1), with the run's capture section.</summary>
    public string ToJson(ProbeReport report) => ProbeJson.Serialize(report, Capture?.ToJson());

    /// <summary>The same on one line (JSON Lines: with --all-addresses each address gets its own document).</summary>
    public string ToJsonLine(ProbeReport report) => Json.ProbeJsonLines.Serialize(ProbeJson.ToDocument(report, Capture?.ToJson()));
}

/// <summary>
/// The single-target run: the probe (its dns phase, the address walk or --all-addresses), --udp / --mtu against each
/// address that was probed, and --capture around all of it, then the capture's offline analysis.
/// </summary>
public static class ProbeRunner
{
    /// <exception cref="LiveCaptureException">The capture could not start (no libpcap, no such interface, no permission).</exception>
    public static async Task<ProbeRun> RunAsync(ProbeEngine engine, ProbeTarget target, ProbeRunOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(target);
        options ??= new ProbeRunOptions();
        if (options.CapturePath is not { } path)
        {
            var plain = await engine.RunAsync(target, cancellationToken).ConfigureAwait(false);
            await CheckPathsAsync(plain, target, options, engine.Options, cancellationToken).ConfigureAwait(false);
            return new ProbeRun(plain, null);
        }

        // The capture must be filtering before the first SYN, so the name is looked up first and the filter covers every
        // address returned (the walk may end on any of them). The probe's dns phase then looks it up again, timed as
        // always; should that answer hold an address the first did not, the filter is widened before any connection.
        var resolution = await TargetResolution.ResolveAsync(target, engine.Options.PhaseTimeout, engine.Resolver, cancellationToken).ConfigureAwait(false);
        if (!resolution.Ok)
        {
            return new ProbeRun(await engine.RunAsync(target, cancellationToken).ConfigureAwait(false), null);
        }

        var capture = await LiveCapture.StartAsync(path, options.CaptureInterface, Endpoints(resolution.Addresses, target.Port), cancellationToken).ConfigureAwait(false);
        IReadOnlyList<ProbeReport> reports;
        try
        {
            var lookup = engine.Resolver ?? Resolver.System.LookupAsync;
            var covered = new ProbeEngine(engine.Options)
            {
                Credentials = engine.Credentials,
                Resolver = async (host, token) =>
                {
                    var addresses = await lookup(host, token).ConfigureAwait(false);
                    capture.Cover(Endpoints(addresses, target.Port));
                    return addresses;
                },
            };
            reports = await covered.RunAsync(target, cancellationToken).ConfigureAwait(false);
            await CheckPathsAsync(reports, target, options, engine.Options, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await capture.DisposeAsync().ConfigureAwait(false);
        }

        var analysed = CaptureResult.Analyse(capture, target.Port);
        if (reports.Count > 0)
        {
            // The capture's main connection is the first report's final attempt (after a fallback, the last connection).
            analysed = analysed with { EarlierAttempts = Math.Max(0, reports[0].Attempts.Count - 1), MainAddress = reports[0].Address?.ToString() };
        }

        return new ProbeRun(reports, analysed);
    }

    /// <summary>--udp and --mtu against each address that was probed (the one the walk ended on, or each with --all-addresses).</summary>
    private static async Task CheckPathsAsync(IReadOnlyList<ProbeReport> reports, ProbeTarget target, ProbeRunOptions options, ProbeOptions probeOptions, CancellationToken cancellationToken)
    {
        foreach (var report in reports)
        {
            if (report.Address is { } address)
            {
                await PathChecks.AppendAsync(report, new IPEndPoint(address, target.Port), options, probeOptions, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static List<IPEndPoint> Endpoints(IEnumerable<IPAddress> addresses, int port) => addresses.Select(a => new IPEndPoint(a, port)).ToList();
}
