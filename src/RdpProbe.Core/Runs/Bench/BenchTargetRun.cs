using RdpProbe.Diagnosis;
using RdpProbe.Probe;

namespace RdpProbe.Runs;

/// <summary>The result of <c>rdpprobe bench</c>: the report, or the dns phase when the name did not resolve.</summary>
public sealed record BenchTargetRun(BenchReport? Report, PhaseRecord? DnsFailure);

/// <summary><c>rdpprobe bench HOST</c>: resolve once, then time the sequence against the first address (the bench times one server, not the resolver).</summary>
public static class BenchTarget
{
    public static async Task<BenchTargetRun> RunAsync(ProbeEngine engine, ProbeTarget target, BenchOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(options);
        var resolution = await TargetResolution.ResolveAsync(target, engine.Options.PhaseTimeout, engine.Resolver, cancellationToken).ConfigureAwait(false);
        if (!resolution.Ok)
        {
            return new BenchTargetRun(null, resolution.Dns);
        }

        var address = resolution.Addresses[0];
        var probe = BenchRunner.ForEngine(engine, target, address);
        var report = await BenchRunner.RunAsync(target.ToString(), probe, options with { WithCredentials = engine.Credentials is not null }, cancellationToken).ConfigureAwait(false);
        report.Address = address.ToString();
        return new BenchTargetRun(report, null);
    }
}
