using System.Net;
using RdpProbe.Diagnosis;
using RdpProbe.Probe;

namespace RdpProbe.Runs;

/// <summary>A target's addresses in resolver order, and the dns phase that found them (null for an address literal).</summary>
public sealed record Resolution(IReadOnlyList<IPAddress> Addresses, PhaseRecord? Dns)
{
    /// <summary>True when there is at least one address to connect to.</summary>
    public bool Ok => Addresses.Count > 0;
}

/// <summary>
/// Resolution for the run modes that need the addresses before the probe (the capture's filter, bench, the concurrency
/// test): the probe's own dns phase (<see cref="ConnectionSequence"/>), through <see cref="Net.Resolver"/>.
/// </summary>
internal static class TargetResolution
{
    public static async Task<Resolution> ResolveAsync(ProbeTarget target, TimeSpan timeout, Func<string, CancellationToken, Task<IPAddress[]>>? lookup, CancellationToken cancellationToken)
    {
        if (target.Address is { } literal)
        {
            return new Resolution([literal], null);
        }

        var (dns, addresses) = await ConnectionSequence.ResolveAsync(target, new PhaseRunner(timeout, cancellationToken), lookup).ConfigureAwait(false);
        return new Resolution(addresses, dns);
    }
}
