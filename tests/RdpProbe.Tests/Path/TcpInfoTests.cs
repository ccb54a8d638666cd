using System.Net;
using System.Net.Sockets;
using RdpProbe.Probe.NetPath;

namespace RdpProbe.Tests.NetPath;

public sealed class TcpInfoTests
{
    [Fact]
    public async Task Reads_mss_pmtu_and_acknowledgement_state_of_a_loopback_connection()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        Assert.True(TcpInfo.TrySetMaxSegment(client, 1000));
        await client.ConnectAsync((IPEndPoint)listener.LocalEndpoint);
        using var server = await listener.AcceptSocketAsync();
        await client.SendAsync(new byte[3000], SocketFlags.None);
        var buffer = new byte[4096];
        int have = 0;
        while (have < 3000)
        {
            have += await server.ReceiveAsync(buffer, SocketFlags.None);
        }

        var info = TcpInfo.TryGet(client);
        Assert.NotNull(info);
        Assert.Equal(0u, info.Value.Unacked);
        Assert.Equal(65535u, info.Value.PathMtu);
        // TCP_MAXSEG before connect caps what the connection uses (minus 12 bytes of timestamps when negotiated).
        Assert.InRange(info.Value.SendMss, 900u, 1000u);
        Assert.Equal(info.Value.Timestamps ? 52 : 40, info.Value.HeaderOverhead);
        Assert.Equal((int)info.Value.SendMss, TcpInfo.TryGetMaxSegment(client));
    }
}
