using System.Buffers;
using System.Net;
using System.Net.Sockets;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.Probe.Phases;

/// <summary>
/// A scripted peer on 127.0.0.1: accepts one connection and runs the script against it, for the failure modes no real
/// server shows. The client side gets the raw TCP stream (the phases do not care whether TLS is underneath).
/// </summary>
internal sealed class ScriptedServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly Task _run;
    private readonly CancellationTokenSource _stop = new(TimeSpan.FromSeconds(30));
    private TcpClient? _client;

    private ScriptedServer(Func<NetworkStream, Socket, CancellationToken, Task> script)
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start(1);
        _run = RunAsync(script);
    }

    public static ScriptedServer Start(Func<NetworkStream, Socket, CancellationToken, Task> script) => new(script);

    public static ScriptedServer Start(Func<NetworkStream, CancellationToken, Task> script) => new((s, _, ct) => script(s, ct));

    /// <summary>The server-side outcome: a script that threw fails the test through this.</summary>
    public Task Completion => _run;

    public async Task<NetworkStream> ConnectAsync()
    {
        _client = new TcpClient();
        await _client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)_listener.LocalEndpoint).Port);
        return _client.GetStream();
    }

    private async Task RunAsync(Func<NetworkStream, Socket, CancellationToken, Task> script)
    {
        using var socket = await _listener.AcceptSocketAsync(_stop.Token);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        await script(stream, socket, _stop.Token);
    }

    public async ValueTask DisposeAsync()
    {
        _client?.Dispose();
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _run;
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException)
        {
            // The client side is gone; the script's own assertions were checked through Completion where needed.
        }

        _stop.Dispose();
    }

    public static async Task<byte[]> ReadExactAsync(Stream stream, int count, CancellationToken ct)
    {
        var buffer = new byte[count];
        await stream.ReadExactlyAsync(buffer, ct);
        return buffer;
    }

    /// <summary>Reads one TSRequest from the client (tag + length first, as the client does).</summary>
    public static async Task<TsRequest> ReadTsRequestAsync(Stream stream, CancellationToken ct)
    {
        var head = new List<byte>();
        int total;
        while (true)
        {
            var status = TsRequest.TryReadFrameLength(head.ToArray(), out _, out total, out _);
            if (status == OperationStatus.Done)
            {
                break;
            }

            Assert.Equal(OperationStatus.NeedMoreData, status);
            head.Add((await ReadExactAsync(stream, 1, ct))[0]);
        }

        var rest = await ReadExactAsync(stream, total - head.Count, ct);
        var frame = head.Concat(rest).ToArray();
        Assert.Equal(OperationStatus.Done, TsRequest.TryRead(frame, out var request, out _, out _));
        return request!;
    }

    /// <summary>Reads one TPKT frame from the client.</summary>
    public static async Task<byte[]> ReadTpktAsync(Stream stream, CancellationToken ct)
    {
        var header = await ReadExactAsync(stream, 4, ct);
        int length = (header[2] << 8) | header[3];
        var body = await ReadExactAsync(stream, length - 4, ct);
        return header.Concat(body).ToArray();
    }

    /// <summary>Closes with an RST instead of a FIN (SO_LINGER 0).</summary>
    public static void Reset(Socket socket)
    {
        socket.LingerState = new LingerOption(true, 0);
        socket.Close();
    }
}
