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
/// The single-target run: resolve once (<see cref="Resolver"/>), start the capture for the address(es) about to be
/// probed, probe, run --udp / --mtu against the same address, stop the capture and analyse it.
/// </summary>
public static class ProbeRunner
{
    /// <exception cref="LiveCaptureException">The capture could not start (no libpcap, no such interface, no permission).</exception>
    public static async Task<ProbeRun> RunAsync(ProbeEngine engine, ProbeTarget target, ProbeRunOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(target);
        options ??= new ProbeRunOptions();
        var resolution = await Resolver.System.ResolveAsync(target.HostPort, engine.Options.PhaseTimeout, cancellationToken).ConfigureAwait(false);
        if (!resolution.Ok)
        {
            return new ProbeRun([DnsFailed(target, resolution.Dns!)], null);
        }

        var addresses = Resolver.Choose(resolution.Addresses, engine.Options.AllAddresses);
        var endpoints = addresses.Select(a => new IPEndPoint(a, target.Port)).ToList();
        LiveCapture? capture = null;
        if (options.CapturePath is { } path)
        {
            capture = await LiveCapture.StartAsync(path, options.CaptureInterface, endpoints, cancellationToken).ConfigureAwait(false);
        }

        var reports = new List<ProbeReport>(endpoints.Count);
        try
        {
            foreach (var endpoint in endpoints)
            {
                var report = await engine.ProbeAddressAsync(target, endpoint.Address, resolution.Addresses, resolution.Dns, cancellationToken).ConfigureAwait(false);
                await PathChecks.AppendAsync(report, endpoint, options, engine.Options, cancellationToken).ConfigureAwait(false);
                reports.Add(report);
            }
        }
        finally
        {
            if (capture is not null)
            {
                await capture.DisposeAsync().ConfigureAwait(false);
            }
        }

        return new ProbeRun(reports, capture is null ? null : CaptureResult.Analyse(capture, target.Port));
    }

    /// <summary>The report of a target whose name did not resolve: the dns phase alone, and its verdict.</summary>
    internal static ProbeReport DnsFailed(ProbeTarget target, PhaseRecord dns)
    {
        var failed = new ProbeReport(target);
        failed.Phases.Add(dns);
        failed.Verdict = Verdict.From(failed.Phases);
        return failed;
    }
}
