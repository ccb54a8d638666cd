using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace RdpProbe.Relay;

/// <summary>
/// UDP relay (WireGuard underneath a VPN scenario, or RDP-UDP): each client address gets its own upstream socket;
/// datagrams in each direction go through a <see cref="DelayLine"/> that may reorder them and drops when its queue is
/// full, as a router would. Bounded: at most <see cref="MaxClients"/> client addresses.
/// </summary>
public sealed class UdpRelay : IAsyncDisposable
{
    public const int MaxClients = 64;

    private readonly Socket _socket;
    private readonly IPEndPoint _upstream;
    private readonly DelayProfile _up;
    private readonly DelayProfile _down;
    private readonly long _bufferBytes;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<IPEndPoint, Session> _sessions = new();
    private readonly Task _loop;

    private readonly bool _vxlan;

    /// <param name="vxlan">The datagrams are VXLAN: complete the inner checksums a veth left unfinished (see <see cref="InnerChecksums"/>).</param>
    public UdpRelay(IPEndPoint listen, IPEndPoint upstream, DelayProfile up, DelayProfile down, long bufferBytes = 1 << 20, bool vxlan = false)
    {
        _vxlan = vxlan;
        _upstream = upstream;
        _up = up;
        _down = down;
        _bufferBytes = bufferBytes;
        _socket = new Socket(listen.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        _socket.Bind(listen);
        LocalEndPoint = (IPEndPoint)_socket.LocalEndPoint!;
        _loop = Task.Run(ReceiveLoopAsync);
    }

    public IPEndPoint LocalEndPoint { get; }

    public long Dropped => _sessions.Values.Sum(s => s.ToServer.Dropped + s.ToClient.Dropped);

    private sealed class Session(Socket upstream, DelayLine toServer, DelayLine toClient, Task reader)
    {
        public Socket Upstream { get; } = upstream;
        public DelayLine ToServer { get; } = toServer;
        public DelayLine ToClient { get; } = toClient;
        public Task Reader { get; } = reader;
    }

    private async Task ReceiveLoopAsync()
    {
        var token = _stop.Token;
        var buffer = new byte[65536];
        EndPoint any = new IPEndPoint(_socket.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0);
        while (!token.IsCancellationRequested)
        {
            SocketReceiveFromResult got;
            try
            {
                got = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, any, token).ConfigureAwait(false);
            }
            catch (SocketException)
            {
                // ICMP errors from an earlier send surface here on Linux; keep relaying.
                continue;
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }

            var client = (IPEndPoint)got.RemoteEndPoint;
            if (!_sessions.TryGetValue(client, out var session))
            {
                if (_sessions.Count >= MaxClients)
                {
                    continue;
                }

                session = Open(client, token);
                _sessions[client] = session;
            }

            if (_vxlan)
            {
                InnerChecksums.FixVxlan(buffer.AsSpan(0, got.ReceivedBytes));
            }

            await session.ToServer.SendAsync(buffer.AsMemory(0, got.ReceivedBytes), wait: false, token).ConfigureAwait(false);
        }
    }

    private Session Open(IPEndPoint client, CancellationToken token)
    {
        var upstream = new Socket(_upstream.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        upstream.Connect(_upstream);
        var toServer = new DelayLine(_up, keepOrder: false, _bufferBytes, async (d, ct) => await SendIgnoringErrors(upstream, d, null, ct).ConfigureAwait(false));
        var toClient = new DelayLine(_down, keepOrder: false, _bufferBytes, async (d, ct) => await SendIgnoringErrors(_socket, d, client, ct).ConfigureAwait(false));
        var reader = Task.Run(async () =>
        {
            var buffer = new byte[65536];
            while (!token.IsCancellationRequested)
            {
                int n;
                try
                {
                    n = await upstream.ReceiveAsync(buffer, SocketFlags.None, token).ConfigureAwait(false);
                }
                catch (SocketException)
                {
                    continue;
                }
                catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
                {
                    return;
                }

                if (_vxlan)
                {
                    InnerChecksums.FixVxlan(buffer.AsSpan(0, n));
                }

                await toClient.SendAsync(buffer.AsMemory(0, n), wait: false, token).ConfigureAwait(false);
            }
        }, CancellationToken.None);
        return new Session(upstream, toServer, toClient, reader);
    }

    private static async ValueTask SendIgnoringErrors(Socket socket, ReadOnlyMemory<byte> data, IPEndPoint? to, CancellationToken ct)
    {
        try
        {
            if (to is null)
            {
                await socket.SendAsync(data, SocketFlags.None, ct).ConfigureAwait(false);
            }
            else
            {
                await socket.SendToAsync(data, SocketFlags.None, to, ct).ConfigureAwait(false);
            }
        }
        catch (SocketException)
        {
            // UDP: a refused or unreachable datagram is lost, as on a real path.
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _socket.Dispose();
        await _loop.ConfigureAwait(false);
        foreach (var s in _sessions.Values)
        {
            s.Upstream.Dispose();
            await s.Reader.ConfigureAwait(false);
            await s.ToServer.DisposeAsync().ConfigureAwait(false);
            await s.ToClient.DisposeAsync().ConfigureAwait(false);
        }

        _stop.Dispose();
    }
}
