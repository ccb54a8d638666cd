using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace RdpProbe.IntegrationTests.NetPath;

/// <summary>
/// Runs a short synchronous action with the calling thread inside a named network namespace (setns(2) is per thread),
/// then moves the thread back. Sockets and pcap handles opened meanwhile stay in that namespace for their lifetime,
/// so the test process can act as the client in rdpp-client while it runs in the root namespace.
/// </summary>
internal static class NetNamespace
{
    private const int CloneNewNet = 0x40000000;

    [DllImport("libc", SetLastError = true)]
    private static extern int setns(int fd, int nstype);

    public static T RunIn<T>(string name, Func<T> action)
    {
        using var target = File.OpenHandle($"/var/run/netns/{name}", FileMode.Open, FileAccess.Read);
        using var home = File.OpenHandle("/proc/thread-self/ns/net", FileMode.Open, FileAccess.Read);
        if (setns((int)target.DangerousGetHandle(), CloneNewNet) != 0)
        {
            throw new InvalidOperationException($"setns into {name} failed (errno {Marshal.GetLastPInvokeError()})");
        }

        try
        {
            return action();
        }
        finally
        {
            if (setns((int)home.DangerousGetHandle(), CloneNewNet) != 0)
            {
                // A pool thread left in a test namespace would poison every later test: stop here.
                Environment.FailFast($"setns back to the root network namespace failed (errno {Marshal.GetLastPInvokeError()})");
            }
        }
    }

    /// <summary>A socket factory for the Path options: every socket is created inside <paramref name="name"/>.</summary>
    public static Func<AddressFamily, SocketType, ProtocolType, Socket> SocketFactory(string name)
        => (family, type, protocol) => RunIn(name, () => new Socket(family, type, protocol));
}
