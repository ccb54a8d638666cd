using System.Net;
using RdpProbe.Diagnosis;
using RdpProbe.Probe;
using RdpProbe.Probe.NetPath;

namespace RdpProbe.Runs;

/// <summary>--udp and --mtu: further phase entries of a probe report, each on its own socket after the probe.</summary>
internal static class PathChecks
{
    public static async Task AppendAsync(ProbeReport report, IPEndPoint endpoint, ProbeRunOptions options, ProbeOptions probeOptions, CancellationToken ct)
    {
        if (!options.Udp && !options.Mtu)
        {
            return;
        }

        if (options.Udp)
        {
            var result = await UdpCheck.RunAsync(endpoint, cancellationToken: ct).ConfigureAwait(false);
            report.Phases.Add(result.Record);
        }

        if (options.Mtu)
        {
            var result = await MtuProbe.RunAsync(endpoint, new MtuProbeOptions { RequestedProtocols = probeOptions.RequestedProtocols }, ct).ConfigureAwait(false);
            report.Phases.Add(result.Record);
        }

        report.Verdict = VerdictWithChecks(report.Phases);
    }

    /// <summary>
    /// The verdict over the connection sequence and the extra checks: they count (exit code 18 when one of them is
    /// what failed), and then their own sentence is more precise than the generic one for the phase.
    /// </summary>
    internal static Verdict VerdictWithChecks(IReadOnlyList<PhaseRecord> phases)
    {
        var verdict = Verdict.From(phases);
        if (verdict.Ok || verdict.Phase is not (Phase.Udp or Phase.Mtu))
        {
            return verdict;
        }

        var failed = phases.FirstOrDefault(p => p.Phase == verdict.Phase && p.Status == PhaseStatus.Failed);
        return failed?.Detail is { } detail ? verdict with { Summary = detail } : verdict;
    }
}
