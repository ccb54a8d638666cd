using System.Net;
using System.Net.Sockets;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.Probe;

/// <summary>
/// A scripted server on 127.0.0.1 for failure modes real servers do not show. Each accepted connection runs the script;
/// the server stops (and every connection closes) when disposed. Bounded: at most 32 connections.
/// </summary>
internal sealed class FakeRdpServer : IAsyncDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource stop = new();
    private readonly Task acceptLoop;
    private readonly List<Task> connections = [];

    public FakeRdpServer(Func<Socket, CancellationToken, Task> script)
    {
        listener.Start();
        acceptLoop = Task.Run(async () =>
        {
            for (int i = 0; i < 32 && !stop.IsCancellationRequested; i++)
            {
                Socket socket;
                try
                {
                    socket = await listener.AcceptSocketAsync(stop.Token);
                }
                catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    return;
                }

                lock (connections)
                {
                    connections.Add(Task.Run(async () =>
                    {
                        try
                        {
                            await script(socket, stop.Token);
                        }
                        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException or IOException)
                        {
                        }
                        finally
                        {
                            socket.Dispose();
                        }
                    }));
                }
            }
        });
    }

    public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

    public string Target => $"127.0.0.1:{Port}";

    /// <summary>Reads the client's X.224 Connection Request (a whole TPKT frame, at most 259 bytes).</summary>
    public static async Task<byte[]> ReadConnectionRequestAsync(Socket socket, CancellationToken ct)
    {
        var header = new byte[4];
        await ReadExactAsync(socket, header, ct);
        int length = (header[2] << 8) | header[3];
        var frame = new byte[Math.Clamp(length, 4, 259)];
        header.CopyTo(frame, 0);
        await ReadExactAsync(socket, frame.AsMemory(4), ct);
        return frame;
    }

    public static async Task ReadExactAsync(Socket socket, Memory<byte> buffer, CancellationToken ct)
    {
        while (buffer.Length > 0)
        {
            int n = await socket.ReceiveAsync(buffer, ct);
            if (n == 0)
            {
                throw new IOException("client closed");
            }

            buffer = buffer[n..];
        }
    }

    /// <summary>Reads whatever the client sends next (the ClientHello), up to 4 KiB.</summary>
    public static async Task<int> ReadSomeAsync(Socket socket, CancellationToken ct)
    {
        var buffer = new byte[4096];
        return await socket.ReceiveAsync(buffer, ct);
    }

    public static byte[] Confirm(SecurityProtocols selected)
        => X224.EncodeConnectionConfirm(new X224ConnectionConfirm(0x1234, new NegotiationMessage(NegotiationType.Response, 0x01, (uint)selected)));

    public static byte[] Failure(NegotiationFailureCode code)
        => X224.EncodeConnectionConfirm(new X224ConnectionConfirm(0x1234, new NegotiationMessage(NegotiationType.Failure, 0, (uint)code)));

    /// <summary>Closes with a TCP reset (SO_LINGER 0) instead of a FIN.</summary>
    public static void Reset(Socket socket)
    {
        socket.LingerState = new LingerOption(true, 0);
        socket.Close();
    }

    public async ValueTask DisposeAsync()
    {
        stop.Cancel();
        listener.Stop();
        await acceptLoop.ConfigureAwait(false);
        Task[] all;
        lock (connections)
        {
            all = [.. connections];
        }

        await Task.WhenAll(all).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        stop.Dispose();
    }
}
