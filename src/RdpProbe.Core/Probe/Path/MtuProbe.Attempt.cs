using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Org.BouncyCastle.Tls;
using RdpProbe.Protocol;

namespace RdpProbe.Probe.NetPath;

/// <summary>One connection of the MTU test: X.224, a padded ClientHello, and whether the server's flight arrives.</summary>
public static partial class MtuProbe
{
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
}
