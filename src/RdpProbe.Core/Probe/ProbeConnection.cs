using System.Net;
using System.Net.Sockets;

namespace RdpProbe.Probe;

/// <summary>One TCP connection of the probe: the socket and the recording stream over it. Transport only, no protocol.</summary>
internal sealed class ProbeConnection : IAsyncDisposable
{
    private readonly Socket socket;

    private ProbeConnection(Socket socket)
    {
        this.socket = socket;
        Stream = new RecordingStream(new NetworkStream(socket, ownsSocket: true));
    }

    public RecordingStream Stream { get; }

    public IPEndPoint? LocalEndPoint => socket.LocalEndPoint as IPEndPoint;

    /// <summary>The kernel's round-trip estimate right after connect (TCP_INFO tcpi_rtt: the SYN → SYN/ACK time), so the
    /// tcp phase reports the wire and not the first-call cost of the socket API; null where TCP_INFO is unavailable.</summary>
    public double? KernelRttMs => NetPath.TcpInfo.TryGet(socket) is { RttMicroseconds: > 0 } info ? info.RttMicroseconds / 1000.0 : null;

    /// <summary>
    /// Connects, telling refused (RST to SYN), filtered (no answer: the token's timeout) and unreachable (ICMP or no
    /// route) apart as phase endings.
    /// </summary>
    public static async Task<ProbeConnection> ConnectAsync(IPEndPoint endPoint, CancellationToken ct)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endPoint, ct).ConfigureAwait(false);
            return new ProbeConnection(socket);
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new PhaseFailedException(TransportErrors.ClassifyConnect(ex.SocketErrorCode, endPoint.ToString()));
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Stops sending (FIN) so the server sees a clean end, then closes.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (socket.Connected)
            {
                socket.Shutdown(SocketShutdown.Both);
            }
        }
        catch (SocketException)
        {
            // Already reset by the peer: nothing left to shut down.
        }
        catch (ObjectDisposedException)
        {
        }

        await Stream.DisposeAsync().ConfigureAwait(false);
    }
}
