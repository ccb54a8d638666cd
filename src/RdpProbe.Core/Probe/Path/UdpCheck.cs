using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using RdpProbe.Diagnosis;
using RdpProbe.Net;
using RdpProbe.Protocol;

namespace RdpProbe.Probe.NetPath;

/// <summary>What the UDP port did with our SYNs.</summary>
public enum UdpOutcome
{
    /// <summary>A SYN+ACK acknowledging our SYN came back.</summary>
    SynAck,

    /// <summary>ICMP port unreachable: the host is there but nothing listens on the UDP port.</summary>
    PortUnreachable,

    /// <summary>ICMP host/network unreachable, or no route.</summary>
    HostUnreachable,

    /// <summary>No answer to any attempt: filtered (or the server ignores bare SYNs).</summary>
    Silence,

    /// <summary>Something answered, but not with an RDP-UDP SYN+ACK for our SYN.</summary>
    UnexpectedReply,
}

public sealed record UdpCheckOptions
{
    /// <summary>Creates the sockets (tests create them inside a network namespace); default: <c>new Socket(...)</c>.</summary>
    internal Func<AddressFamily, SocketType, ProtocolType, Socket>? SocketFactory { get; init; }

    /// <summary>SYNs sent before giving up; bounded to 1..10.</summary>
    public int Attempts { get; init; } = 3;

    /// <summary>How long each attempt waits for an answer (the spec's SYN retransmit timer is 1 s on V1).</summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Version to offer in SYNDATAEX; null sends a plain V1 SYN.</summary>
    public RdpUdpVersion? Version { get; init; } = RdpUdpVersion.V2;
}

public sealed record UdpCheckResult(
    UdpOutcome Outcome,
    PhaseRecord Record,
    int AttemptsSent,
    RdpUdpSynDatagram? SynAck,
    string Verdict);

/// <summary>
/// RDP-UDP reachability (MS-RDPEUDP 3.1.5.1): a padded SYN to the UDP port, retried a bounded number of times, on a
/// connected UDP socket so that an ICMP port unreachable surfaces on the next receive (ConnectionRefused; ConnectionReset on
/// Windows, see <see cref="Platform.IsUdpPortUnreachable"/>).
/// </summary>
public static class UdpCheck
{
    public static async Task<UdpCheckResult> RunAsync(IPEndPoint target, UdpCheckOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new UdpCheckOptions();
        int attempts = Math.Clamp(options.Attempts, 1, 10);
        var timeout = options.AttemptTimeout <= TimeSpan.Zero ? TimeSpan.FromSeconds(1) : options.AttemptTimeout;
        var record = new PhaseRecord(Phase.Udp);
        var clock = Stopwatch.StartNew();

        uint isn = (uint)RandomNumberGenerator.GetInt32(int.MinValue, int.MaxValue);
        var syn = RdpeUdp.CreateClientSyn(isn, options.Version);
        byte[] datagram = RdpeUdp.Encode(syn);
        byte[] receive = ArrayPool<byte>.Shared.Rent(2048);
        int sent = 0;
        bool tooBig = false;
        try
        {
            using var socket = options.SocketFactory?.Invoke(target.AddressFamily, SocketType.Dgram, ProtocolType.Udp) ?? new Socket(target.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            await socket.ConnectAsync(target, cancellationToken).ConfigureAwait(false);

            // A path MTU the kernel already learned (IP_MTU on a connected socket, Linux) below 1260 means the padded
            // SYN leaves fragmented, with no ICMP this time.
            if (KnownPathMtu(socket) is { } known && known < RdpeUdp.PaddedSize + 28)
            {
                tooBig = true;
                record.Messages.Add(new WireMessage(Direction.Sent, 0, 0, $"known path MTU {known} bytes: the 1260-byte SYN leaves fragmented"));
            }

            for (int attempt = 0; attempt < attempts; attempt++)
            {
                try
                {
                    await socket.SendAsync(datagram, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                    sent++;
                    record.Messages.Add(new WireMessage(Direction.Sent, clock.Elapsed.TotalMilliseconds, datagram.Length, $"RDPUDP SYN isn=0x{isn:x8} version={Describe(syn.Version)}"));

                    // Drain until this attempt's deadline: a stale or foreign datagram must not end the attempt early.
                    using var attemptCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    attemptCts.CancelAfter(timeout);
                    while (true)
                    {
                        int n = await socket.ReceiveAsync(receive.AsMemory(0, 2048), SocketFlags.None, attemptCts.Token).ConfigureAwait(false);
                        double at = clock.Elapsed.TotalMilliseconds;
                        var status = RdpeUdp.TryReadSyn(receive.AsSpan(0, n), out var reply, out _, out var error);
                        if (status == OperationStatus.Done && reply!.Acknowledges(isn))
                        {
                            record.Messages.Add(new WireMessage(Direction.Received, at, n, $"RDPUDP SYN+ACK isn=0x{reply.SynData.SnInitialSequenceNumber:x8} mtu={reply.SynData.UUpStreamMtu}/{reply.SynData.UDownStreamMtu} version={Describe(reply.Version)}"));
                            record.Ms = at;
                            string verdict = $"UDP {target.Port} answers RDP-UDP: SYN+ACK after {sent} SYN(s), server MTUs up {reply.SynData.UUpStreamMtu} / down {reply.SynData.UDownStreamMtu}, "
                                + $"version {Describe(reply.EffectiveVersion)}; the client can use the UDP transport." + TooBigNote(tooBig);
                            record.Detail = verdict;
                            return new UdpCheckResult(UdpOutcome.SynAck, record, sent, reply, verdict);
                        }

                        record.Messages.Add(new WireMessage(Direction.Received, at, n, $"unexpected UDP reply ({(status == OperationStatus.Done ? "SYN not for our ISN" : error.ToString())})"));
                        if (record.Messages.Count > 64)
                        {
                            // A chatty non-RDP service: stop reading; bounded either way.
                            return Unexpected(target, record, sent, clock);
                        }
                    }
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    // This attempt timed out; the next SYN follows.
                }
                catch (SocketException ex) when (ex.SocketErrorCode == SocketError.MessageSize)
                {
                    // ICMP fragmentation-needed for our 1260-byte packet (1232 + 28): a link on the way is narrower
                    // than RDP-UDP assumes. The kernel now knows the path MTU and fragments the next SYN itself.
                    tooBig = true;
                    record.Messages.Add(new WireMessage(Direction.Received, clock.Elapsed.TotalMilliseconds, 0, "ICMP fragmentation needed: the path MTU is below 1260 bytes"));
                }
            }

            record.Ms = clock.Elapsed.TotalMilliseconds;
            if (record.Messages.Exists(m => m.Direction == Direction.Received))
            {
                return Unexpected(target, record, sent, clock);
            }

            string silence = $"UDP {target.Port} is filtered: no answer to {sent} RDP-UDP SYNs in {record.Ms / 1000:0.#} s; the client falls back to TCP, or fails on some VPNs "
                + "(a server may also ignore SYNs that do not follow a multitransport request on TCP)." + TooBigNote(tooBig);
            record.Fail(Ending.Timeout, detail: silence);
            return new UdpCheckResult(UdpOutcome.Silence, record, sent, null, silence);
        }
        catch (SocketException ex) when (Platform.Current.IsUdpPortUnreachable(ex.SocketErrorCode))
        {
            record.Ms = clock.Elapsed.TotalMilliseconds;
            record.Messages.Add(new WireMessage(Direction.Received, record.Ms, 0, "ICMP port unreachable"));
            string refused = $"UDP {target.Port} is closed: the server answered ICMP port unreachable, so nothing listens for RDP-UDP there "
                + "(UDP transport disabled on the server); the client stays on TCP." + TooBigNote(tooBig);
            record.Fail(Ending.Refused, Codes.IcmpPortUnreachable, refused);
            return new UdpCheckResult(UdpOutcome.PortUnreachable, record, sent, null, refused);
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.HostUnreachable or SocketError.NetworkUnreachable)
        {
            record.Ms = clock.Elapsed.TotalMilliseconds;
            string unreachable = $"{target.Address} is unreachable over UDP ({ex.SocketErrorCode}): a router reported no way to the host.";
            record.Fail(Ending.Unreachable, ex.SocketErrorCode == SocketError.HostUnreachable ? Codes.IcmpHostUnreachable : Codes.IcmpNetUnreachable, unreachable);
            return new UdpCheckResult(UdpOutcome.HostUnreachable, record, sent, null, unreachable);
        }
        catch (SocketException ex)
        {
            record.Ms = clock.Elapsed.TotalMilliseconds;
            string failed = $"UDP to {target} failed locally ({ex.SocketErrorCode}): the check could not run.";
            record.Fail(Ending.Unreachable, Codes.Socket(ex.SocketErrorCode), failed);
            return new UdpCheckResult(UdpOutcome.HostUnreachable, record, sent, null, failed);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(receive);
        }
    }

    private static int? KnownPathMtu(Socket socket)
    {
        if (Platform.Current.IpMtuOption is not { } ipMtu || socket.AddressFamily != AddressFamily.InterNetwork)
        {
            return null;
        }

        try
        {
            Span<byte> value = stackalloc byte[4];
            return socket.GetRawSocketOption(Platform.IpProtoIp, ipMtu, value) >= 4 ? System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(value) : null;
        }
        catch (SocketException)
        {
            return null;
        }
    }

    private static string TooBigNote(bool tooBig) => tooBig
        ? " A router reported a path MTU below 1260 bytes: padded 1232-byte RDP-UDP datagrams only pass fragmented on this path (and not at all where fragments are dropped); lower the RDP-UDP MTU or fix the link MTU."
        : string.Empty;

    private static UdpCheckResult Unexpected(IPEndPoint target, PhaseRecord record, int sent, Stopwatch clock)
    {
        record.Ms = clock.Elapsed.TotalMilliseconds;
        string verdict = $"UDP {target.Port} answers, but not with an RDP-UDP SYN+ACK: another service owns the UDP port.";
        record.Fail(Ending.NotRdp, detail: verdict);
        return new UdpCheckResult(UdpOutcome.UnexpectedReply, record, sent, null, verdict);
    }

    private static string Describe(RdpUdpVersion? version) => version switch
    {
        null => "none",
        RdpUdpVersion.V1 => "1",
        RdpUdpVersion.V2 => "2",
        RdpUdpVersion.V3 => "3",
        { } v => $"0x{(ushort)v:x4}",
    };
}
