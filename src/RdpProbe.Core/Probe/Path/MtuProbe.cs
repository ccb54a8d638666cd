using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;
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
public static class MtuProbe
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
                record.Fail(Ending.Timeout, "mtu_black_hole", verdict);
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

    /// <summary>
    /// One connection: TCP (optionally with a capped MSS), X.224 CR/CC, a ClientHello padded to
    /// <paramref name="clientHelloSize"/> (int.MaxValue = fill one full segment), then wait for the server's flight.
    /// </summary>
    internal static async Task<MtuAttempt> AttemptAsync(IPEndPoint target, int clientHelloSize, int? advertisedMss, int natural, MtuProbeOptions options, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(options.AttemptTimeout);
        using var socket = options.SocketFactory?.Invoke(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp) ?? new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        socket.NoDelay = true;
        if (advertisedMss is { } mss)
        {
            TcpInfo.TrySetMaxSegment(socket, mss);
        }

        int size = clientHelloSize;
        int serverBytes = 0;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            try
            {
                await socket.ConnectAsync(target, cts.Token).ConfigureAwait(false);
            }
            catch (SocketException ex)
            {
                return new MtuAttempt(size, advertisedMss, MtuAttemptOutcome.NotTestable, clock.Elapsed.TotalMilliseconds, 0, null, $"TCP connect failed ({ex.SocketErrorCode})");
            }

            // X.224 Connection Request / Confirm (MS-RDPBCGR 2.2.1.1, 2.2.1.2): small, so it passes any path.
            var request = new X224ConnectionRequest("mtuprobe", null, new NegotiationMessage(NegotiationType.Request, 0, (uint)options.RequestedProtocols), null);
            await socket.SendAsync(X224.EncodeConnectionRequest(request), SocketFlags.None, cts.Token).ConfigureAwait(false);
            int have = 0;
            X224ConnectionConfirm? confirm;
            while (true)
            {
                var status = X224.TryReadConnectionConfirm(buffer.AsSpan(0, have), out confirm, out _, out var error);
                if (status == OperationStatus.Done)
                {
                    break;
                }

                if (status == OperationStatus.InvalidData)
                {
                    return NotTestable($"the X.224 answer is not a Connection Confirm ({error})");
                }

                int n = await socket.ReceiveAsync(buffer.AsMemory(have, 512), SocketFlags.None, cts.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    return NotTestable("the server closed the connection after the X.224 request");
                }

                have += n;
                if (have > 1024)
                {
                    return NotTestable("the X.224 answer is too long");
                }
            }

            if (confirm!.IsFailure)
            {
                return NotTestable($"the server refused the negotiation (RDP_NEG_FAILURE {confirm.FailureCode})");
            }

            if (confirm.SelectedProtocol is null or SecurityProtocols.Rdp)
            {
                return NotTestable("the server chose standard RDP security, so there is no TLS step to measure");
            }

            var info = TcpInfo.TryGet(socket);
            if (size == int.MaxValue)
            {
                // One full segment: the connection's MSS (already bounded by the server's SYN-ACK).
                // (Capped at a jumbo frame's payload: loopback's 64 KB MSS tells nothing about real paths.)
                size = Math.Min((int)(info?.SendMss ?? 1448), MaxFullSegment);
                size = Math.Max(size, natural);
            }

            var client = new PaddedTlsClient(size < natural + 4 ? -1 : size - natural - 4);
            var protocol = new TlsClientProtocol();
            protocol.Connect(client);
            byte[] hello = Drain(protocol);
            size = hello.Length;
            await socket.SendAsync(hello, SocketFlags.None, cts.Token).ConfigureAwait(false);

            // The server's flight is complete when BouncyCastle has the client's next flight to send (TLS 1.2 after
            // ServerHelloDone; TLS 1.3 after the server Finished) or finishes the handshake.
            while (true)
            {
                int n;
                try
                {
                    n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    var tcp = TcpInfo.TryGet(socket);
                    double at = clock.Elapsed.TotalMilliseconds;
                    if (tcp is { Unacked: > 0 })
                    {
                        return new MtuAttempt(size, advertisedMss, MtuAttemptOutcome.ClientHelloLost, at, serverBytes, tcp,
                            $"ClientHello still unacknowledged after {tcp.Value.TotalRetransmits} retransmissions");
                    }

                    return new MtuAttempt(size, advertisedMss, MtuAttemptOutcome.ServerFlightLost, at, serverBytes, tcp,
                        serverBytes == 0 ? "ClientHello acknowledged, no server bytes" : $"ClientHello acknowledged, only {serverBytes} server bytes arrived");
                }

                if (n == 0)
                {
                    return NotTestable($"the server closed the connection after the ClientHello ({serverBytes} bytes received)");
                }

                serverBytes += n;
                try
                {
                    protocol.OfferInput(buffer, 0, n);
                }
                catch (TlsFatalAlertReceived ex)
                {
                    return NotTestable($"the server sent TLS alert {AlertDescription.GetText(ex.AlertDescription)}");
                }
                catch (TlsFatalAlert ex)
                {
                    return NotTestable($"the server's TLS flight is not acceptable ({AlertDescription.GetText(ex.AlertDescription)})");
                }

                if (client.HandshakeComplete || protocol.GetAvailableOutputBytes() > 0)
                {
                    return new MtuAttempt(size, advertisedMss, MtuAttemptOutcome.FlightArrived, clock.Elapsed.TotalMilliseconds, serverBytes, TcpInfo.TryGet(socket),
                        $"server flight of {serverBytes} bytes arrived")
                    { InterfaceMtu = InterfaceMtu(socket) };
                }
            }
        }
        catch (SocketException ex)
        {
            return NotTestable($"socket error {ex.SocketErrorCode} after {serverBytes} server bytes");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return NotTestable("no answer before the TLS step (TCP connect or X.224 timed out)");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        MtuAttempt NotTestable(string why) => new(size == int.MaxValue ? 0 : size, advertisedMss, MtuAttemptOutcome.NotTestable, clock.Elapsed.TotalMilliseconds, serverBytes, TcpInfo.TryGet(socket), why);
    }

    /// <summary>The MTU of the interface holding the socket's local address.</summary>
    private static int? InterfaceMtu(Socket socket)
    {
        try
        {
            if (socket.LocalEndPoint is not IPEndPoint local || local.AddressFamily != AddressFamily.InterNetwork)
            {
                return null;
            }

            foreach (var nic in System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces())
            {
                var properties = nic.GetIPProperties();
                if (properties.UnicastAddresses.Any(a => a.Address.Equals(local.Address)))
                {
                    return properties.GetIPv4Properties()?.Mtu;
                }
            }
        }
        catch (System.Net.NetworkInformation.NetworkInformationException)
        {
        }

        return null;
    }

    /// <summary>Size of an unpadded ClientHello record from this client; padding is computed from it.</summary>
    internal static int MeasureNaturalClientHello()
    {
        var protocol = new TlsClientProtocol();
        protocol.Connect(new PaddedTlsClient(-1));
        return protocol.GetAvailableOutputBytes();
    }

    /// <summary>The ClientHello record a padding of <paramref name="padding"/> bytes produces (tests read it back).</summary>
    internal static byte[] BuildClientHello(int padding)
    {
        var protocol = new TlsClientProtocol();
        protocol.Connect(new PaddedTlsClient(padding));
        return Drain(protocol);
    }

    private static byte[] Drain(TlsClientProtocol protocol)
    {
        int available = protocol.GetAvailableOutputBytes();
        var output = new byte[available];
        protocol.ReadOutput(output, 0, available);
        return output;
    }

    /// <summary>A BouncyCastle client whose ClientHello carries an RFC 7685 padding extension of a chosen length.</summary>
    private sealed class PaddedTlsClient(int padding) : DefaultTlsClient(new BcTlsCrypto(new SecureRandom()))
    {
        public bool HandshakeComplete { get; private set; }

        public override IDictionary<int, byte[]> GetClientExtensions()
        {
            var extensions = base.GetClientExtensions() ?? new Dictionary<int, byte[]>();
            if (padding >= 0)
            {
                TlsExtensionsUtilities.AddPaddingExtension(extensions, padding);
            }

            return extensions;
        }

        // The path is being measured, not the server's identity: any certificate is fine here.
        public override TlsAuthentication GetAuthentication() => new AnyServerCertificate();

        public override void NotifyHandshakeComplete()
        {
            base.NotifyHandshakeComplete();
            HandshakeComplete = true;
        }
    }

    private sealed class AnyServerCertificate : TlsAuthentication
    {
        public void NotifyServerCertificate(TlsServerCertificate serverCertificate)
        {
        }

        public TlsCredentials GetClientCredentials(CertificateRequest certificateRequest) => null!;
    }
}
