using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using RdpProbe.Relay;

namespace RdpProbe.IntegrationTests.NetPath;

/// <summary>The user-space delay relay (bench/RdpProbe.Relay) on loopback: data intact and in order, delay added, resets passed on.</summary>
public sealed class RelayTests
{
    private static async Task<(TcpListener Listener, Task Echo)> EchoServerAsync(CancellationToken ct)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var echo = Task.Run(async () =>
        {
            using var socket = await listener.AcceptSocketAsync(ct);
            var buffer = new byte[8192];
            int n;
            while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, ct)) > 0)
            {
                await socket.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, ct);
            }
        }, ct);
        await Task.Yield();
        return (listener, echo);
    }

    [Fact]
    public async Task Tcp_with_jitter_keeps_every_byte_in_order_and_adds_at_least_the_delay()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var (listener, echo) = await EchoServerAsync(cts.Token);
        var profile = new DelayProfile(TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(15));
        await using var relay = new TcpRelay(new IPEndPoint(IPAddress.Loopback, 0), (IPEndPoint)listener.LocalEndpoint, profile, profile);

        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await client.ConnectAsync(relay.LocalEndPoint, cts.Token);

        // 200 small writes: jitter must stretch gaps, never reorder bytes of a stream.
        var sent = Enumerable.Range(0, 200 * 37).Select(i => (byte)(i * 7)).ToArray();
        var clock = Stopwatch.StartNew();
        var writer = Task.Run(async () =>
        {
            for (int i = 0; i < 200; i++)
            {
                await client.SendAsync(sent.AsMemory(i * 37, 37), SocketFlags.None, cts.Token);
            }
        }, cts.Token);
        var received = new byte[sent.Length];
        int have = 0;
        double firstByteMs = -1;
        while (have < received.Length)
        {
            int n = await client.ReceiveAsync(received.AsMemory(have), SocketFlags.None, cts.Token);
            Assert.NotEqual(0, n);
            if (firstByteMs < 0)
            {
                firstByteMs = clock.Elapsed.TotalMilliseconds;
            }

            have += n;
        }

        await writer;
        Assert.Equal(sent, received);
        // Lower bound only (the relay cannot be faster than its delay): 2 × (20 − 15) ms.
        Assert.True(firstByteMs >= 10, $"first echoed byte after {firstByteMs:0.0} ms");

        client.Shutdown(SocketShutdown.Send);
        Assert.Equal(0, await client.ReceiveAsync(new byte[1], SocketFlags.None, cts.Token));
        await echo;
        listener.Stop();
    }

    [Fact]
    public async Task Upstream_reset_reaches_the_client_as_a_reset()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var server = Task.Run(async () =>
        {
            using var s = await listener.AcceptSocketAsync(cts.Token);
            await s.ReceiveAsync(new byte[16], SocketFlags.None, cts.Token);
            s.LingerState = new LingerOption(true, 0);
        }, cts.Token);
        await using var relay = new TcpRelay(new IPEndPoint(IPAddress.Loopback, 0), (IPEndPoint)listener.LocalEndpoint, DelayProfile.None, DelayProfile.None);

        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(relay.LocalEndPoint, cts.Token);
        await client.SendAsync(new byte[] { 1, 2, 3 }, SocketFlags.None, cts.Token);
        await server;

        var ex = await Assert.ThrowsAsync<SocketException>(async () => await client.ReceiveAsync(new byte[16], SocketFlags.None, cts.Token));
        Assert.Equal(SocketError.ConnectionReset, ex.SocketErrorCode);
        listener.Stop();
    }

    [Fact]
    public async Task Udp_datagrams_pass_both_ways_and_full_loss_drops_them()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var server = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var serverEndPoint = (IPEndPoint)server.Client.LocalEndPoint!;
        var echo = Task.Run(async () =>
        {
            while (!cts.IsCancellationRequested)
            {
                var got = await server.ReceiveAsync(cts.Token);
                await server.SendAsync(got.Buffer, got.RemoteEndPoint, cts.Token);
            }
        }, cts.Token);

        var delay = new DelayProfile(TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(5));
        await using (var relay = new UdpRelay(new IPEndPoint(IPAddress.Loopback, 0), serverEndPoint, delay, delay))
        {
            using var client = new UdpClient(AddressFamily.InterNetwork);
            client.Connect(relay.LocalEndPoint);
            var seen = new HashSet<byte>();
            for (byte i = 0; i < 20; i++)
            {
                await client.SendAsync(new byte[] { i, 0xAA }, cts.Token);
            }

            while (seen.Count < 20)
            {
                var got = await client.ReceiveAsync(cts.Token);
                Assert.Equal(0xAA, got.Buffer[1]);
                seen.Add(got.Buffer[0]);
            }
        }

        await using (var lossy = new UdpRelay(new IPEndPoint(IPAddress.Loopback, 0), serverEndPoint, new DelayProfile(TimeSpan.Zero, TimeSpan.Zero, Loss: 1), DelayProfile.None))
        {
            using var client = new UdpClient(AddressFamily.InterNetwork);
            client.Connect(lossy.LocalEndPoint);
            await client.SendAsync(new byte[] { 1 }, cts.Token);
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
            wait.CancelAfter(TimeSpan.FromMilliseconds(300));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await client.ReceiveAsync(wait.Token));
            Assert.True(lossy.Dropped >= 1);
        }

        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => echo);
    }
}

/// <summary>Inner checksum completion for VXLAN datagrams (the veth checksum-offload gap).</summary>
public sealed class InnerChecksumTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Recomputes_the_inner_tcp_and_udp_checksum(bool tcp)
    {
        var ip = new PacketDotNet.IPv4Packet(System.Net.IPAddress.Parse("10.215.1.1"), System.Net.IPAddress.Parse("10.215.1.2"));
        if (tcp)
        {
            ip.PayloadPacket = new PacketDotNet.TcpPacket(40000, 13389) { Synchronize = true, SequenceNumber = 12345, WindowSize = 64240, PayloadData = [1, 2, 3] };
        }
        else
        {
            ip.PayloadPacket = new PacketDotNet.UdpPacket(40000, 3389) { PayloadData = [9, 8, 7, 6, 5] };
        }

        var eth = new PacketDotNet.EthernetPacket(PhysicalAddress(1), PhysicalAddress(2), PacketDotNet.EthernetType.IPv4) { PayloadPacket = ip };
        eth.UpdateCalculatedValues();
        if (tcp)
        {
            ((PacketDotNet.TcpPacket)ip.PayloadPacket).UpdateTcpChecksum();
        }
        else
        {
            ((PacketDotNet.UdpPacket)ip.PayloadPacket).UpdateUdpChecksum();
        }

        byte[] frame = eth.Bytes;
        byte[] datagram = [0x08, 0, 0, 0, 0, 0, 0x10, 0, .. frame];
        int checksumAt = 8 + 14 + 20 + (tcp ? 16 : 6);
        byte[] expected = datagram[checksumAt..(checksumAt + 2)];

        // What a veth hands over with offload: the field holds something else (here: garbage).
        datagram[checksumAt] = 0x12;
        datagram[checksumAt + 1] = 0x34;
        Assert.True(RdpProbe.Relay.InnerChecksums.FixVxlan(datagram));
        Assert.Equal(expected, datagram[checksumAt..(checksumAt + 2)]);
    }

    [Fact]
    public void Leaves_non_vxlan_and_short_datagrams_alone()
    {
        Assert.False(RdpProbe.Relay.InnerChecksums.FixVxlan(new byte[10]));
        Assert.False(RdpProbe.Relay.InnerChecksums.FixVxlan(new byte[60]));
    }

    private static System.Net.NetworkInformation.PhysicalAddress PhysicalAddress(byte last) => new([2, 0, 0, 0, 0, last]);
}
