using RdpProbe.Diagnosis;
using RdpProbe.Net;
using RdpProbe.Probe;

namespace RdpProbe.Runs;

/// <summary>The result of <c>rdpprobe bench</c>: the report, or the dns phase when the name did not resolve.</summary>
public sealed record BenchTargetRun(BenchReport? Report, PhaseRecord? DnsFailure);

/// <summary><c>rdpprobe bench HOST</c>: resolve once with the resolver policy, then time the sequence against that address.</summary>
public static class BenchTarget
{
    public static async Task<BenchTargetRun> RunAsync(ProbeEngine engine, ProbeTarget target, BenchOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(options);
        var resolution = await Resolver.System.ResolveAsync(target.HostPort, engine.Options.PhaseTimeout, cancellationToken).ConfigureAwait(false);
        if (!resolution.Ok)
        {
            return new BenchTargetRun(null, resolution.Dns);
        }

        var address = Resolver.Choose(resolution.Addresses, allAddresses: false)[0];
        var probe = BenchRunner.ForEngine(engine, target, address);
        var report = await BenchRunner.RunAsync(target.ToString(), probe, options with { WithCredentials = engine.Credentials is not null }, cancellationToken).ConfigureAwait(false);
        report.Address = address.ToString();
        return new BenchTargetRun(report, null);
    }
}
