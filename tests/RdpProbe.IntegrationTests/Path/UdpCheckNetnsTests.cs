using System.Buffers;
using System.Net;
using System.Net.Sockets;
using RdpProbe.Diagnosis;
using RdpProbe.Probe.NetPath;
using RdpProbe.Protocol;
using Xunit.Abstractions;

namespace RdpProbe.IntegrationTests.NetPath;

/// <summary>UdpCheck across the router: UDP dropped on the way versus a closed port versus a listening RDP-UDP peer.</summary>
[Collection(NetPathCollection.Name)]
public sealed class UdpCheckNetnsTests(NetPathFixture lab, ITestOutputHelper output)
{
    private static readonly UdpCheckOptions Options = new()
    {
        Attempts = 3,
        AttemptTimeout = TimeSpan.FromMilliseconds(500),
        SocketFactory = NetNamespace.SocketFactory(NetPathFixture.ClientNamespace),
    };

    [Fact]
    public async Task Dropped_udp_is_silence_and_reported_as_filtered()
    {
        await lab.SetPathAsync(dropUdp: true, udpPort: NetPathFixture.BasePort);

        var result = await UdpCheck.RunAsync(lab.Xrdp, Options);
        output.WriteLine(result.Verdict);

        Assert.Equal(UdpOutcome.Silence, result.Outcome);
        Assert.Equal(3, result.AttemptsSent);
        Assert.Equal(Ending.Timeout, result.Record.Ending);
        Assert.Contains($"UDP {NetPathFixture.BasePort} is filtered", result.Verdict, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Real_xrdp_does_not_listen_on_udp_so_the_server_answers_port_unreachable()
    {
        await lab.SetPathAsync(udpPort: NetPathFixture.BasePort);

        var result = await UdpCheck.RunAsync(lab.Xrdp, Options);
        output.WriteLine(result.Verdict);

        Assert.Equal(UdpOutcome.PortUnreachable, result.Outcome);
        Assert.Equal(Ending.Refused, result.Record.Ending);
        Assert.Equal("icmp_port_unreachable", result.Record.Code?.Word);
    }

    [Fact]
    public async Task A_listening_rdpudp_peer_in_the_server_namespace_answers_syn_ack()
    {
        await lab.SetPathAsync();
        var endpoint = new IPEndPoint(NetPathFixture.ServerAddress, NetPathFixture.BasePort + 5);
        using var server = NetNamespace.RunIn(NetPathFixture.ServerNamespace, () => new UdpClient(endpoint));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var responder = Task.Run(async () =>
        {
            var got = await server.ReceiveAsync(cts.Token);
            Assert.Equal(OperationStatus.Done, RdpeUdp.TryReadSyn(got.Buffer, out var syn, out _, out _));
            var reply = new RdpUdpSynDatagram(
                new RdpUdpFecHeader(syn!.SynData.SnInitialSequenceNumber, 64, RdpUdpFlags.Syn | RdpUdpFlags.Ack),
                new RdpUdpSynData(0x42, 1232, 1232));
            await server.SendAsync(RdpeUdp.Encode(reply), got.RemoteEndPoint, cts.Token);
            return got.Buffer.Length;
        }, cts.Token);

        var result = await UdpCheck.RunAsync(endpoint, Options, cts.Token);
        int synSize = await responder;
        output.WriteLine(result.Verdict);

        Assert.Equal(RdpeUdp.PaddedSize, synSize);
        Assert.Equal(UdpOutcome.SynAck, result.Outcome);
        Assert.Equal(RdpUdpVersion.V1, result.SynAck!.EffectiveVersion);
    }

    [Fact]
    public async Task A_path_narrower_than_1260_bytes_is_named_in_the_udp_verdict()
    {
        // 1232-byte padded SYN + 28 bytes of headers = 1260 > 1200: the router answers fragmentation-needed (or the
        // kernel already knows the path MTU and fragments the SYN itself).
        await lab.SetPathAsync(mtu: 1200, udpPort: NetPathFixture.BasePort);

        var result = await UdpCheck.RunAsync(lab.Xrdp, Options);
        output.WriteLine(result.Verdict);

        Assert.Equal(UdpOutcome.PortUnreachable, result.Outcome);
        Assert.Contains("path MTU below 1260 bytes", result.Verdict, StringComparison.Ordinal);
        await lab.SetPathAsync();
    }
}
