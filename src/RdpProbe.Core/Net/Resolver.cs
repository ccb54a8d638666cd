using System.Net;

namespace RdpProbe.Net;

/// <summary>
/// The one name resolver of rdpprobe: the probe's dns phase, --targets, --repeat, --capture, --concurrency-test and
/// bench all look names up through it.
/// <para>
/// Address policy: the addresses in the order the system resolver (getaddrinfo, RFC 6724 destination address
/// selection) returns them, never reordered by family. A probe walks them in that order until one answers at tcp, as
/// mstsc and FreeRDP do; --all-addresses probes each. bench and --concurrency-test measure one server: the first.
/// --capture filters on every address the lookup returned, so whichever one the walk ends on is in the capture.
/// </para>
/// </summary>
public sealed class Resolver(Func<string, CancellationToken, Task<IPAddress[]>> lookup)
{
    /// <summary>The system resolver.</summary>
    public static Resolver System { get; } = new(Dns.GetHostAddressesAsync);

    /// <summary>The addresses of <paramref name="host"/>, in the resolver's order; throws SocketException when it does not resolve.</summary>
    public Task<IPAddress[]> LookupAsync(string host, CancellationToken cancellationToken) => lookup(host, cancellationToken);
}
