using System.Net;
using System.Net.Sockets;
using PacketDotNet;
using RdpProbe.Probe.NetPath;
using SharpPcap;
using SharpPcap.LibPcap;

namespace RdpProbe.Tests.NetPath;

public sealed class LiveCaptureTests
{
    /// <summary>Reads a pcap back: (IP protocol, ICMP type/code or -1, payload length) per packet.</summary>
    internal static List<Packet> ReadAll(string path)
    {
        var packets = new List<Packet>();
        using var reader = new CaptureFileReaderDevice(path);
        reader.Open();
        while (reader.GetNextPacket(out PacketCapture capture) == GetPacketStatus.PacketRead)
        {
            var raw = capture.GetPacket();
            packets.Add(Packet.ParsePacket(raw.LinkLayerType, raw.Data));
        }

        return packets;
    }

    [Fact]
    public void Filter_covers_the_flow_and_icmp_quoting_the_target()
    {
        var filter = LiveCapture.BuildFilter(new IPEndPoint(IPAddress.Parse("10.213.2.2"), 3389));
        Assert.Equal("(host 10.213.2.2 and (tcp port 3389 or udp port 3389)) or (icmp and (host 10.213.2.2 or icmp[24:4] = 0x0ad50202))", filter);
    }

    [Fact]
    public void Loopback_target_captures_on_lo()
    {
        Assert.Equal("lo", LiveCapture.InterfaceTowards(IPAddress.Loopback));
    }

    [Fact]
    public async Task Captures_the_udp_syn_and_the_icmp_port_unreachable()
    {
        int port = ClosedUdpPort.Pick();

        var target = new IPEndPoint(IPAddress.Loopback, port);
        string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"rdpprobe-livecapture-{Guid.NewGuid():N}.pcap");
        try
        {
            await using (var capture = await LiveCapture.StartAsync(path, null, target))
            {
                Assert.Equal("lo", capture.InterfaceName);
                var result = await UdpCheck.RunAsync(target, new UdpCheckOptions { Attempts = 1, AttemptTimeout = TimeSpan.FromMilliseconds(500) });
                Assert.Equal(UdpOutcome.PortUnreachable, result.Outcome);
            }

            var packets = ReadAll(path);
            var udp = packets.Select(p => p.Extract<UdpPacket>()).Where(u => u is not null && u.DestinationPort == port && u.PayloadData.Length == 1232).ToList();
            Assert.Single(udp);
            var icmp = packets.Select(p => p.Extract<IcmpV4Packet>()).Where(i => i is not null).ToList();
            Assert.Contains(icmp, i => i!.TypeCode == IcmpV4TypeCode.UnreachablePort);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Unknown_interface_is_a_clear_error()
    {
        var ex = Assert.Throws<LiveCaptureException>(() => LiveCapture.Start("/tmp/never.pcap", "no-such-if0", new IPEndPoint(IPAddress.Loopback, 3389)));
        Assert.Contains("no-such-if0", ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists("/tmp/never.pcap"));
    }
}
