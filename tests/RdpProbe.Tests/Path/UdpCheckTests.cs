using System.Buffers;
using System.Net;
using System.Net.Sockets;
using RdpProbe.Diagnosis;
using RdpProbe.Probe.NetPath;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.NetPath;

/// <summary>UdpCheck against scripted UDP peers on 127.0.0.1 (real servers answer no RDP-UDP; see the netns tests).</summary>
public sealed class UdpCheckTests
{
    private static readonly UdpCheckOptions Fast = new() { Attempts = 2, AttemptTimeout = TimeSpan.FromMilliseconds(300) };

    /// <summary>Answers every SYN the way MS-RDPEUDP 3.1.5.1.2 says, after ignoring the first <paramref name="ignore"/> SYNs.</summary>
    private static async Task<List<RdpUdpSynDatagram>> FakeResponderAsync(UdpClient server, int ignore, int answers, CancellationToken ct)
    {
        var seen = new List<RdpUdpSynDatagram>();
        while (answers > 0)
        {
            var got = await server.ReceiveAsync(ct);
            Assert.Equal(RdpeUdp.PaddedSize, got.Buffer.Length);
            Assert.Equal(OperationStatus.Done, RdpeUdp.TryReadSyn(got.Buffer, out var syn, out _, out _));
            seen.Add(syn!);
            if (seen.Count <= ignore)
            {
                continue;
            }

            var reply = new RdpUdpSynDatagram(
                new RdpUdpFecHeader(syn!.SynData.SnInitialSequenceNumber, 0x0400, RdpUdpFlags.Syn | RdpUdpFlags.Ack | RdpUdpFlags.SynEx),
                new RdpUdpSynData(0xCAFEF00D, 1200, 1232),
                SynExFlags: RdpUdpSynExFlags.VersionInfoValid,
                Version: RdpUdpVersion.V2);
            await server.SendAsync(RdpeUdp.Encode(reply), got.RemoteEndPoint, ct);
            answers--;
        }

        return seen;
    }

    [Fact]
    public async Task Syn_ack_reports_server_mtus_version_and_isn()
    {
        using var server = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var target = (IPEndPoint)server.Client.LocalEndPoint!;
        var responder = FakeResponderAsync(server, ignore: 1, answers: 1, cts.Token);

        // A generous per-attempt wait: the answer to the second SYN may still come during a third attempt on a busy machine.
        var result = await UdpCheck.RunAsync(target, Fast with { Attempts = 3, AttemptTimeout = TimeSpan.FromSeconds(2) }, cts.Token);
        var seen = await responder;

        Assert.Equal(UdpOutcome.SynAck, result.Outcome);
        Assert.InRange(result.AttemptsSent, 2, 3);
        Assert.Equal(Phase.Udp, result.Record.Phase);
        Assert.Equal(Ending.Ok, result.Record.Ending);
        Assert.Equal(PhaseStatus.Ok, result.Record.Status);
        Assert.Equal((ushort)1200, result.SynAck!.SynData.UUpStreamMtu);
        Assert.Equal((ushort)1232, result.SynAck.SynData.UDownStreamMtu);
        Assert.Equal(0xCAFEF00Du, result.SynAck.SynData.SnInitialSequenceNumber);
        Assert.Equal(RdpUdpVersion.V2, result.SynAck.Version);
        Assert.Contains("up 1200 / down 1232", result.Verdict, StringComparison.Ordinal);

        // Both SYNs carry the same ISN and offer V2 (a retransmitted SYN, MS-RDPEUDP 3.1.5.1.1).
        Assert.Equal(2, seen.Count);
        Assert.Equal(seen[0].SynData.SnInitialSequenceNumber, seen[1].SynData.SnInitialSequenceNumber);
        Assert.All(seen, s => Assert.Equal(RdpUdpVersion.V2, s.Version));
    }

    [Fact]
    public async Task Closed_port_is_refused_by_icmp()
    {
        // A free port below the ephemeral range: the loopback stack answers ICMP port unreachable.
        int port = ClosedUdpPort.Pick();

        var result = await UdpCheck.RunAsync(new IPEndPoint(IPAddress.Loopback, port), Fast, CancellationToken.None);

        Assert.Equal(UdpOutcome.PortUnreachable, result.Outcome);
        Assert.Equal(Ending.Refused, result.Record.Ending);
        Assert.Equal(PhaseStatus.Failed, result.Record.Status);
        Assert.Equal("icmp_port_unreachable", result.Record.Code?.Word);
        Assert.Contains("closed", result.Verdict, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Silence_is_filtered_after_every_attempt()
    {
        using var server = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var target = (IPEndPoint)server.Client.LocalEndPoint!;

        var result = await UdpCheck.RunAsync(target, Fast, CancellationToken.None);

        Assert.Equal(UdpOutcome.Silence, result.Outcome);
        Assert.Equal(2, result.AttemptsSent);
        Assert.Equal(Ending.Timeout, result.Record.Ending);
        Assert.Contains("filtered", result.Verdict, StringComparison.Ordinal);
        Assert.Contains("falls back to TCP", result.Verdict, StringComparison.Ordinal);
        Assert.Equal(2, CountDatagrams(server));
    }

    [Fact]
    public async Task Non_rdp_reply_is_reported_as_another_service()
    {
        using var server = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var target = (IPEndPoint)server.Client.LocalEndPoint!;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var echo = Task.Run(async () =>
        {
            for (int i = 0; i < 2; i++)
            {
                var got = await server.ReceiveAsync(cts.Token);
                await server.SendAsync("hello"u8.ToArray(), got.RemoteEndPoint, cts.Token);
            }
        }, cts.Token);

        var result = await UdpCheck.RunAsync(target, Fast, cts.Token);
        await echo;

        Assert.Equal(UdpOutcome.UnexpectedReply, result.Outcome);
        Assert.Equal(Ending.NotRdp, result.Record.Ending);
    }

    private static int CountDatagrams(UdpClient server)
    {
        int count = 0;
        var any = new IPEndPoint(IPAddress.Any, 0);
        while (server.Available > 0)
        {
            server.Receive(ref any);
            count++;
        }

        return count;
    }
}
