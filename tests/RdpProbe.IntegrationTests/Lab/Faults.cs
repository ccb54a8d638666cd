using System.Globalization;

namespace RdpProbe.IntegrationTests.Lab;

/// <summary>
/// Network faults on loopback made with scripts/faults.sh (iptables). Each method inserts one rule marked
/// "rdpprobe-test" and returns a handle whose Dispose deletes exactly that rule (iptables -D with the same
/// arguments); `scripts/faults.sh clear` removes whatever a crashed test run left behind.
/// The rules affect every connection to the port on this machine, so tests using them belong in the lab collection
/// (which xunit runs one test at a time).
/// </summary>
public static class Faults
{
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Client segments of 200 bytes or more to <paramref name="port"/> are answered with a TCP RST (the TLS ClientHello is the first such segment).</summary>
    public static IDisposable ResetAtClientHello(int port) => Add("reset-at-clienthello", Port(port));

    /// <summary>MTU black hole: server segments of <paramref name="minLength"/> bytes or more from <paramref name="port"/> are dropped silently.</summary>
    public static IDisposable DropLargeServerSegments(int port, int minLength = 1000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minLength, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minLength, 65535);
        return Add("blackhole", Port(port), minLength.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>UDP datagrams to <paramref name="port"/> are dropped: no answer, no ICMP port unreachable.</summary>
    public static IDisposable DropUdp(int port) => Add("udp-drop", Port(port));

    /// <summary>
    /// A middlebox reset: once the client has sent <paramref name="bytes"/> IP bytes on a connection to
    /// <paramref name="port"/> (connbytes), its next segment is answered with a TCP RST the server never sees.
    /// </summary>
    public static IDisposable ResetAfterClientBytes(int port, int bytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bytes, 1);
        return Add("reset-after-bytes", Port(port), bytes.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>The process listening on <paramref name="port"/> is stopped (SIGSTOP) until Dispose continues it: the kernel still accepts, nothing answers.</summary>
    public static IDisposable StopListener(int port) => Add("sigstop", Port(port));

    /// <summary>UDP datagrams and TCP segments to <paramref name="port"/> are dropped: a firewall or VPN policy blocking Kerberos (two rules).</summary>
    public static IDisposable KdcDrop(int port) => Add("kdc-drop", Port(port));

    /// <summary>The marked rules currently installed, as iptables -S lines.</summary>
    internal static IReadOnlyList<string> InstalledRules()
    {
        var (exitCode, output) = LabScripts.Run("faults.sh", ["list"], ScriptTimeout);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"scripts/faults.sh list failed (exit {exitCode}): {output}");
        }

        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    private static string Port(int port)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        return port.ToString(CultureInfo.InvariantCulture);
    }

    private static Rule Add(params string[] fault)
    {
        var (exitCode, output) = LabScripts.Run("faults.sh", ["add", .. fault], ScriptTimeout);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"scripts/faults.sh add {string.Join(' ', fault)} failed (exit {exitCode}): {output}");
        }

        return new Rule(fault);
    }

    private sealed class Rule(string[] fault) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }

            var (exitCode, output) = LabScripts.Run("faults.sh", ["del", .. fault], ScriptTimeout);
            if (exitCode != 0)
            {
                throw new InvalidOperationException($"scripts/faults.sh del {string.Join(' ', fault)} failed (exit {exitCode}): {output}");
            }
        }
    }
}
