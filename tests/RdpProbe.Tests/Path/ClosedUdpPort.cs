using System.Net;
using System.Net.Sockets;

namespace RdpProbe.Tests.NetPath;

/// <summary>
/// A loopback UDP port nobody listens on. Bind-then-close on port 0 is not enough: the freed port is an ephemeral
/// port, so a test running in parallel, or the check's own client socket, can be handed it a moment later and then
/// answers the check (seen in CI as an "unexpected reply" instead of ICMP port unreachable). Ports below the
/// kernel's ephemeral range are never handed out implicitly, so a free one stays closed.
/// </summary>
internal static class ClosedUdpPort
{
    public static int Pick()
    {
        int low = EphemeralLow();
        int floor = Math.Max(1024, low - 12000);
        for (int attempt = 0; attempt < 200; attempt++)
        {
            int port = Random.Shared.Next(floor, low);
            try
            {
                using var probe = new UdpClient(new IPEndPoint(IPAddress.Loopback, port));
                return port;
            }
            catch (SocketException)
            {
                // Taken: try another.
            }
        }

        throw new InvalidOperationException("no free UDP port below the ephemeral range on loopback");
    }

    private static int EphemeralLow()
    {
        try
        {
            string[] range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return int.Parse(range[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 32768;
        }
    }
}
