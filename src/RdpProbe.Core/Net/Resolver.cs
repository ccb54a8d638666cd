using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using RdpProbe.Diagnosis;

namespace RdpProbe.Net;

/// <summary>A target's addresses in resolver order, and the dns phase that found them (null for an address literal).</summary>
public sealed record Resolution(IReadOnlyList<IPAddress> Addresses, PhaseRecord? Dns)
{
    /// <summary>True when there is at least one address to connect to.</summary>
    public bool Ok => Addresses.Count > 0;
}

/// <summary>
/// The one name resolver of rdpprobe, used by the probe, --targets, --capture, --concurrency-test and bench.
/// <para>
/// Address policy: the addresses in the order the system resolver (getaddrinfo, RFC 6724 destination address
/// selection) returns them, not reordered by family. One probe connects to the first; --all-addresses probes each in
/// that order. Every run mode resolves once and hands the chosen address on, so the capture filter, the extra checks
/// and the probe all use the address that was actually probed — a second lookup of a round-robin name could answer
/// differently.
/// </para>
/// </summary>
public sealed class Resolver(Func<string, CancellationToken, Task<IPAddress[]>> lookup)
{
    /// <summary>The system resolver.</summary>
    public static Resolver System { get; } = new((host, ct) => Dns.GetHostAddressesAsync(host, ct));

    /// <summary>
    /// Resolves <paramref name="target"/> under <paramref name="timeout"/>. An address literal resolves to itself
    /// without a dns phase; a name yields a dns <see cref="PhaseRecord"/> that says how the lookup ended. The
    /// caller's token (Ctrl+C) propagates and is never recorded as a timeout.
    /// </summary>
    public async Task<Resolution> ResolveAsync(HostPort target, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (target.Address is { } literal)
        {
            return new Resolution([literal], null);
        }

        var dns = new PhaseRecord(Phase.Dns);
        IPAddress[] addresses = [];
        long start = Stopwatch.GetTimestamp();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            addresses = await lookup(target.Host, cts.Token).ConfigureAwait(false);
            if (addresses.Length == 0)
            {
                dns.Fail(Ending.Unreachable, Symptoms.NameNotFound, $"the name {target.Host} resolves to no address");
            }
            else
            {
                dns.Detail = $"{target.Host} → {string.Join(", ", addresses.Select(a => a.ToString()))}";
            }
        }
        catch (SocketException ex)
        {
            dns.Fail(Ending.Unreachable, Symptoms.NameNotFound, $"the name {target.Host} does not resolve ({ex.SocketErrorCode})");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            dns.Fail(Ending.Timeout, null, $"the name {target.Host} did not resolve within {Seconds(timeout)}");
        }
        finally
        {
            // The lookup is all waiting on the resolver: wire time equals wall time.
            dns.Ms = Math.Round(Stopwatch.GetElapsedTime(start).TotalMilliseconds, 3);
            dns.WallMs = dns.Ms;
            dns.ClientMs = 0;
        }

        return new Resolution(dns.Status == PhaseStatus.Ok ? addresses : [], dns);
    }

    /// <summary>The addresses one run probes under the policy above: the first, or all of them in resolver order.</summary>
    public static IReadOnlyList<IPAddress> Choose(IReadOnlyList<IPAddress> resolved, bool allAddresses)
    {
        ArgumentNullException.ThrowIfNull(resolved);
        return allAddresses || resolved.Count <= 1 ? resolved : [resolved[0]];
    }

    private static string Seconds(TimeSpan t) => t.TotalSeconds >= 1 ? $"{t.TotalSeconds:0.#} s" : $"{t.TotalMilliseconds:0} ms";
}
