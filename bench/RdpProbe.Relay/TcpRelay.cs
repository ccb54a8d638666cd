using System.Net;
using System.Net.Sockets;

namespace RdpProbe.Relay;

/// <summary>
/// TCP relay: every accepted connection gets its own connection to the upstream; bytes in each direction pass through
/// a <see cref="DelayLine"/> (order kept). A close or reset on one side is passed on after the data before it.
/// </summary>
public sealed class TcpRelay : IAsyncDisposable
{
    public const int MaxConnections = 1024;

    private readonly Socket _listener;
    private readonly IPEndPoint _upstream;
    private readonly DelayProfile _up;
    private readonly DelayProfile _down;
    private readonly long _bufferBytes;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accept;
    private int _active;

    public TcpRelay(IPEndPoint listen, IPEndPoint upstream, DelayProfile up, DelayProfile down, long bufferBytes = 1 << 20)
    {
        _upstream = upstream;
        _up = up;
        _down = down;
        _bufferBytes = bufferBytes;
        _listener = new Socket(listen.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Bind(listen);
        _listener.Listen(256);
        LocalEndPoint = (IPEndPoint)_listener.LocalEndPoint!;
        _accept = Task.Run(AcceptLoopAsync);
    }

    public IPEndPoint LocalEndPoint { get; }

    public int ActiveConnections => Volatile.Read(ref _active);

    public long ConnectionsSeen { get; private set; }

    private async Task AcceptLoopAsync()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            ConnectionsSeen++;
            if (Volatile.Read(ref _active) >= MaxConnections)
            {
                client.Dispose();
                continue;
            }

            Interlocked.Increment(ref _active);
            _ = Task.Run(async () =>
            {
                try
                {
                    await RelayOneAsync(client, token).ConfigureAwait(false);
                }
                finally
                {
                    Interlocked.Decrement(ref _active);
                }
            }, CancellationToken.None);
        }
    }

    private async Task RelayOneAsync(Socket client, CancellationToken token)
    {
        using (client)
        using (var server = new Socket(_upstream.AddressFamily, SocketType.Stream, ProtocolType.Tcp))
        {
            client.NoDelay = true;
            server.NoDelay = true;
            try
            {
                await server.ConnectAsync(_upstream, token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException)
            {
                // Upstream refused: refuse the client the same way (reset rather than a silent close).
                client.Linger(0);
                return;
            }

            await using var toServer = new DelayLine(_up, keepOrder: true, _bufferBytes, (d, ct) => SendAllAsync(server, d, ct));
            await using var toClient = new DelayLine(_down, keepOrder: true, _bufferBytes, (d, ct) => SendAllAsync(client, d, ct));
            var a = PumpAsync(client, server, toServer, token);
            var b = PumpAsync(server, client, toClient, token);
            await Task.WhenAll(a, b).ConfigureAwait(false);
        }
    }

    /// <summary>Reads from <paramref name="from"/> into the delay line; at EOF lets the line drain, then half-closes <paramref name="to"/>.</summary>
    private static async Task PumpAsync(Socket from, Socket to, DelayLine line, CancellationToken token)
    {
        var buffer = new byte[16 * 1024];
        bool reset = false;
        try
        {
            while (true)
            {
                int n = await from.ReceiveAsync(buffer, SocketFlags.None, token).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }

                await line.SendAsync(buffer.AsMemory(0, n), wait: true, token).ConfigureAwait(false);
            }
        }
        catch (SocketException)
        {
            reset = true;
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
        {
            // Stopping, or the other direction already reset both sockets.
            return;
        }

        await line.DrainAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        try
        {
            if (reset)
            {
                // Pass the reset on now: SO_LINGER 0 then close sends RST; the other pump ends on the closed socket.
                to.LingerReset();
                to.Close();
                from.Close();
            }
            else
            {
                to.Shutdown(SocketShutdown.Send);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }

    private static async ValueTask SendAllAsync(Socket socket, ReadOnlyMemory<byte> data, CancellationToken token)
    {
        while (!data.IsEmpty)
        {
            int n = await socket.SendAsync(data, SocketFlags.None, token).ConfigureAwait(false);
            data = data[n..];
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Dispose();
        await _accept.ConfigureAwait(false);
        _stop.Dispose();
    }
}

internal static class SocketResets
{
    /// <summary>Closes with SO_LINGER 0, which sends RST: passes a reset on to the other side.</summary>
    public static void LingerReset(this Socket socket) => socket.LingerState = new LingerOption(true, 0);

    public static void Linger(this Socket socket, int seconds) => socket.LingerState = new LingerOption(true, seconds);
}
