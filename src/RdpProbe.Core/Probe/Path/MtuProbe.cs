using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Probe.NetPath;

/// <summary>How one MTU attempt ended.</summary>
public enum MtuAttemptOutcome
{
    /// <summary>The server's first TLS flight (ServerHello … Certificate … ServerHelloDone / Finished) arrived whole.</summary>
    FlightArrived,

    /// <summary>Our ClientHello was never acknowledged: large client segments are lost on the way to the server.</summary>
    ClientHelloLost,

    /// <summary>The ClientHello was acknowledged but the server's flight did not arrive: large server segments are lost.</summary>
    ServerFlightLost,

    /// <summary>TCP or X.224 failed, the server chose no TLS, or it answered the ClientHello with an alert / close.</summary>
    NotTestable,
}

public enum MtuVerdictKind
{
    /// <summary>Full-size segments pass both ways.</summary>
    Clear,

    /// <summary>Full-size segments pass because PMTUD lowered the path MTU (ICMP fragmentation-needed arrived).</summary>
    PmtudWorks,

    /// <summary>Large segments vanish without ICMP.</summary>
    BlackHole,

    /// <summary>The TLS step could not be reached, so the path was not measured.</summary>
    NotTestable,
}

public sealed record MtuProbeOptions
{
    /// <summary>Creates the sockets (tests create them inside a network namespace); default: <c>new Socket(...)</c>.</summary>
    internal Func<AddressFamily, SocketType, ProtocolType, Socket>? SocketFactory { get; init; }

    /// <summary>Upper bound on connections made (each is TCP + X.224 + one ClientHello); clamped to 2..12.</summary>
    public int MaxAttempts { get; init; } = 8;

    /// <summary>How long one attempt waits for the server's flight.</summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Smallest MSS asked of the server while the client direction is bisected (IPv4 minimum 536).</summary>
    public int SmallMss { get; init; } = 536;

    /// <summary>Bisection stops when the interval is this narrow (bytes).</summary>
    public int Resolution { get; init; } = 16;

    /// <summary>requestedProtocols of the X.224 request; the default lets TLS-only and NLA servers start TLS.</summary>
    public SecurityProtocols RequestedProtocols { get; init; } = SecurityProtocols.Ssl | SecurityProtocols.Hybrid | SecurityProtocols.HybridEx;
}

/// <summary>One connection of the MTU test.</summary>
public sealed record MtuAttempt(
    int ClientHelloSize,
    int? AdvertisedMss,
    MtuAttemptOutcome Outcome,
    double Ms,
    int ServerBytes,
    TcpInfo? Tcp,
    string Detail)
{
    /// <summary>MTU of the local interface the connection left by (null when unknown).</summary>
    public int? InterfaceMtu { get; init; }
}

public sealed record MtuProbeResult(
    MtuVerdictKind Kind,
    PhaseRecord Record,
    IReadOnlyList<MtuAttempt> Attempts,
    int? LargestClientHelloPassed,
    int? SmallestClientHelloFailed,
    int? LargestServerMssPassed,
    int? SmallestServerMssFailed,
    int? ConnectionMss,
    int? KernelPathMtu,
    int? EstimatedPathMtu,
    string Verdict);

/// <summary>
/// MTU black-hole test inside the real handshake. Each attempt is a fresh TCP connection, the X.224 request and a TLS
/// ClientHello padded with the RFC 7685 padding extension to a chosen size; the attempt watches whether the server's
/// first flight arrives. Client→server size: the ClientHello padding; server→client size: the MSS our SYN announces
/// (TCP_MAXSEG), which caps the server's segments. Sizes are bisected; attempts and time are bounded.
/// </summary>
public static partial class MtuProbe
{
    public static async Task<MtuProbeResult> RunAsync(IPEndPoint target, MtuProbeOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new MtuProbeOptions();
        int budget = Math.Clamp(options.MaxAttempts, 2, 12);
        var record = new PhaseRecord(Phase.Mtu);
        var clock = Stopwatch.StartNew();
        var attempts = new List<MtuAttempt>();
        int natural = MeasureNaturalClientHello();

        async Task<MtuAttempt> Run(int clientHello, int? mss)
        {
            var attempt = await AttemptAsync(target, clientHello, mss, natural, options, cancellationToken).ConfigureAwait(false);
            attempts.Add(attempt);
            record.Messages.Add(new WireMessage(Direction.Sent, clock.Elapsed.TotalMilliseconds, attempt.ClientHelloSize,
                $"ClientHello {attempt.ClientHelloSize} B, announced MSS {(attempt.AdvertisedMss?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "default")}: {attempt.Outcome} ({attempt.Detail})"));
            return attempt;
        }

        // Attempt 1: a ClientHello filling one full segment, default MSS: the case a real client hits first.
        var first = await Run(int.MaxValue, null).ConfigureAwait(false);
        int? connectionMss = first.Tcp is { SendMss: > 0 } t ? (int)t.SendMss : null;
        int full = first.ClientHelloSize;
        if (first.Outcome == MtuAttemptOutcome.NotTestable)
        {
            return Finish(MtuVerdictKind.NotTestable, $"MTU test not possible: {first.Detail}.");
        }

        if (first.Outcome == MtuAttemptOutcome.FlightArrived)
        {
            uint pmtu = first.Tcp?.PathMtu ?? 0;
            int expectedMss = connectionMss ?? 0;
            // The kernel's pmtu drops below the interface MTU only when an ICMP fragmentation-needed arrived.
            if (first.Tcp is { } info && pmtu > 0 && pmtu < (uint)(first.ClientHelloSize + info.HeaderOverhead))
            {
                return Finish(MtuVerdictKind.PmtudWorks,
                    $"Path MTU discovery works: a router reported a {pmtu}-byte link (ICMP fragmentation-needed) and TCP resent smaller segments; a {first.ClientHelloSize}-byte ClientHello and the server's flight arrived.",
                    passedCh: first.ClientHelloSize, pathMtu: (int)pmtu);
            }

            // A path MTU below the interface's, learned earlier (the kernel keeps it ~10 minutes), is PMTUD at work too.
            if (first.InterfaceMtu is { } ifMtu && pmtu > 0 && pmtu < Math.Min(ifMtu, 65535))
            {
                return Finish(MtuVerdictKind.PmtudWorks,
                    $"Path MTU discovery works: the path MTU to this host is {pmtu} bytes, below the interface's {ifMtu} (learned from an ICMP fragmentation-needed); full-size segments of {first.ClientHelloSize} bytes and the server's flight passed.",
                    passedCh: first.ClientHelloSize, pathMtu: (int)pmtu);
            }

            return Finish(MtuVerdictKind.Clear,
                $"No MTU problem: a full-size {first.ClientHelloSize}-byte ClientHello (MSS {expectedMss}) and the server's whole first flight passed.",
                passedCh: first.ClientHelloSize, pathMtu: pmtu > 0 ? (int)pmtu : null);
        }

        int? chPassed = null, chFailed = null, mssPassed = null, mssFailed = null;
        string? detail = null;

        if (first.Outcome == MtuAttemptOutcome.ClientHelloLost)
        {
            // Client direction: bisect the ClientHello size. "Got through" means TCP acknowledged it, whatever the
            // server's answer did (capping our MSS would also split our own ClientHello, so it stays at the default).
            chFailed = full;
            var small = await Run(natural, null).ConfigureAwait(false);
            if (!ClientHelloPassed(small))
            {
                return Finish(small.Outcome == MtuAttemptOutcome.NotTestable ? MtuVerdictKind.NotTestable : MtuVerdictKind.BlackHole,
                    $"Even a {small.ClientHelloSize}-byte ClientHello does not get through ({small.Detail}): the TLS step fails on this path for a reason other than large segments.",
                    failedCh: small.ClientHelloSize);
            }

            chPassed = small.ClientHelloSize;
            while (attempts.Count < budget && chFailed - chPassed > options.Resolution)
            {
                int mid = (chPassed.Value + chFailed.Value) / 2;
                var a = await Run(mid, null).ConfigureAwait(false);
                if (a.Outcome == MtuAttemptOutcome.NotTestable)
                {
                    break;
                }

                if (ClientHelloPassed(a))
                {
                    chPassed = a.ClientHelloSize;
                }
                else
                {
                    chFailed = a.ClientHelloSize;
                }
            }

            // The server direction at full size was seen on the way: did any server flight arrive?
            if (attempts.Exists(a => a.Outcome == MtuAttemptOutcome.FlightArrived))
            {
                mssPassed = connectionMss;
            }
            else
            {
                mssFailed = connectionMss;
                detail = "the server's full-size segments are lost as well";
            }
        }
        else
        {
            // Server direction: the ClientHello was acknowledged, the answer vanished. Bisect the MSS we announce.
            chPassed = full;
            mssFailed = connectionMss ?? 1460;
            var small = await Run(natural, options.SmallMss).ConfigureAwait(false);
            if (small.Outcome != MtuAttemptOutcome.FlightArrived)
            {
                return Finish(small.Outcome == MtuAttemptOutcome.NotTestable ? MtuVerdictKind.NotTestable : MtuVerdictKind.BlackHole,
                    $"The server's answer does not arrive even in {options.SmallMss}-byte segments ({small.Detail}): the TLS step fails on this path for a reason other than large segments.",
                    passedCh: chPassed);
            }

            mssPassed = options.SmallMss;
            while (attempts.Count < budget && mssFailed - mssPassed > options.Resolution)
            {
                int mid = (mssPassed.Value + mssFailed.Value) / 2;
                var a = await Run(natural, mid).ConfigureAwait(false);
                if (a.Outcome == MtuAttemptOutcome.FlightArrived)
                {
                    mssPassed = mid;
                }
                else if (a.Outcome == MtuAttemptOutcome.NotTestable)
                {
                    break;
                }
                else
                {
                    mssFailed = mid;
                }
            }
        }

        int overhead = first.Tcp?.HeaderOverhead ?? 52;
        int? estimate = chPassed is { } p && first.Outcome == MtuAttemptOutcome.ClientHelloLost ? p + overhead
            : mssPassed is { } m ? m + overhead
            : null;
        string where = first.Outcome == MtuAttemptOutcome.ClientHelloLost ? "client→server" : "server→client";
        string range = first.Outcome == MtuAttemptOutcome.ClientHelloLost
            ? $"a {chPassed}-byte ClientHello gets through, {chFailed} bytes do not"
            : $"server segments of {mssPassed} bytes arrive, {mssFailed} bytes do not";
        string verdict = $"Segments above ~{estimate} bytes (IP packet size) are silently dropped on this path ({where}: {range}; no ICMP fragmentation-needed came back"
            + (connectionMss is { } cm ? $"; the connection's MSS is {cm}" : string.Empty)
            + (detail is null ? string.Empty : $"; {detail}")
            + "): lower the MTU on the VPN adapter or fix ICMP filtering.";
        return Finish(MtuVerdictKind.BlackHole, verdict, chPassed, chFailed, mssPassed, mssFailed, estimate);

        MtuProbeResult Finish(MtuVerdictKind kind, string verdict, int? passedCh = null, int? failedCh = null, int? passedMss = null, int? failedMss = null, int? estimated = null, int? pathMtu = null)
        {
            record.Ms = clock.Elapsed.TotalMilliseconds;
            record.Detail = verdict;
            if (kind == MtuVerdictKind.BlackHole)
            {
                record.Fail(Ending.Timeout, Codes.MtuBlackHole, verdict);
            }
            else if (kind == MtuVerdictKind.NotTestable)
            {
                record.Skip(verdict);
            }

            int? kernel = pathMtu ?? (attempts.Count > 0 && attempts[^1].Tcp is { PathMtu: > 0 } last ? (int)last.PathMtu : null);
            return new MtuProbeResult(kind, record, attempts, passedCh, failedCh, passedMss, failedMss, connectionMss, kernel, estimated ?? pathMtu, verdict);
        }
    }

    /// <summary>Largest "full segment" ClientHello: a 9000-byte jumbo frame's TCP payload.</summary>
    private const int MaxFullSegment = 8948;

    private static bool ClientHelloPassed(MtuAttempt a) => a.Outcome is MtuAttemptOutcome.FlightArrived or MtuAttemptOutcome.ServerFlightLost;
}
