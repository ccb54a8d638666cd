using System.Net;
using System.Net.Sockets;
using RdpProbe.Probe.NetPath;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.NetPath;

/// <summary>ConcurrencyTest against a scripted listener on 127.0.0.1 that takes a fixed number of pending connections.</summary>
public sealed class ConcurrencyTestTests
{
    private static readonly byte[] Confirm = X224.EncodeConnectionConfirm(new X224ConnectionConfirm(0x1234, new NegotiationMessage(NegotiationType.Response, 0, 1)));

    /// <summary>Answers the first <paramref name="limit"/> connections with a Connection Confirm and resets every later one.</summary>
    private static async Task ServeAsync(TcpListener listener, int limit, int total, List<Socket> held, CancellationToken ct)
    {
        for (int i = 0; i < total; i++)
        {
            var socket = await listener.AcceptSocketAsync(ct);
            var buffer = new byte[512];
            await socket.ReceiveAsync(buffer, SocketFlags.None, ct);
            if (i < limit)
            {
                await socket.SendAsync(Confirm, SocketFlags.None, ct);
                held.Add(socket);
            }
            else
            {
                socket.LingerState = new LingerOption(true, 0);
                socket.Close();
            }
        }
    }

    [Fact]
    public async Task Names_the_connection_from_which_the_server_resets()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start(64);
        var held = new List<Socket>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var server = ServeAsync(listener, 5, 8, held, cts.Token);

        var result = await ConcurrencyTest.RunAsync((IPEndPoint)listener.LocalEndpoint, 8, new ConcurrencyTestOptions { StepTimeout = TimeSpan.FromSeconds(3) }, cts.Token);
        await server;
        held.ForEach(s => s.Dispose());

        Assert.Equal(8, result.Requested);
        Assert.Equal(5, result.Accepted);
        Assert.Equal(3, result.Dropped);
        Assert.Equal(6, result.FirstFailure);
        Assert.Equal(5, result.OpenAtEnd);
        Assert.All(result.Connections.Take(5), c => Assert.Equal("Connection Confirm", c.Detail));
        Assert.StartsWith("With 5 connections pending (after the X.224 request) the server resets or closes new connections: from connection #6 on", result.Verdict, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Closed_port_is_refused_from_the_first_connection()
    {
        int port;
        using (var free = new TcpListener(IPAddress.Loopback, 0))
        {
            free.Start();
            port = ((IPEndPoint)free.LocalEndpoint).Port;
        }

        var result = await ConcurrencyTest.RunAsync(new IPEndPoint(IPAddress.Loopback, port), 3, new ConcurrencyTestOptions { Stage = ConcurrencyStage.TcpHandshake });

        Assert.Equal(3, result.Refused);
        Assert.Equal(1, result.FirstFailure);
        Assert.Contains("refuses new connections (RST to SYN)", result.Verdict, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Count_is_bounded()
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => ConcurrencyTest.RunAsync(new IPEndPoint(IPAddress.Loopback, 1), ConcurrencyTestOptions.MaxConnections + 1));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => ConcurrencyTest.RunAsync(new IPEndPoint(IPAddress.Loopback, 1), 0));
    }
}
