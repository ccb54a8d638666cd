using System.Buffers.Binary;
using System.Net;
using PacketDotNet;
using RdpProbe.Analysis;
using RdpProbe.Reports;
using RdpProbe.Diagnosis;
using RdpProbe.Probe.NetPath;
using SharpPcap;
using SharpPcap.LibPcap;
using Xunit.Abstractions;

namespace RdpProbe.IntegrationTests.NetPath;

/// <summary>MtuProbe against real xrdp across a router with a 1200-byte link (scripts/netns.sh).</summary>
[Collection(NetPathCollection.Name)]
public sealed class MtuProbeNetnsTests(NetPathFixture lab, ITestOutputHelper output)
{
    private static readonly MtuProbeOptions Options = new() { SocketFactory = NetNamespace.SocketFactory(NetPathFixture.ClientNamespace) };

    private void Print(MtuProbeResult result)
    {
        output.WriteLine(result.Verdict);
        foreach (var a in result.Attempts)
        {
            output.WriteLine($"  CH {a.ClientHelloSize} MSS {a.AdvertisedMss?.ToString() ?? "-"} -> {a.Outcome} {a.Ms:0} ms, {a.ServerBytes} B; pmtu {a.Tcp?.PathMtu} unacked {a.Tcp?.Unacked} retrans {a.Tcp?.TotalRetransmits}: {a.Detail}");
        }
    }

    [Fact]
    public async Task Black_hole_names_the_size_that_stops_passing()
    {
        await lab.SetPathAsync(mtu: 1200, blockIcmp: true);

        var result = await MtuProbe.RunAsync(lab.Xrdp, Options);
        Print(result);

        Assert.Equal(MtuVerdictKind.BlackHole, result.Kind);
        Assert.Equal(Phase.Mtu, result.Record.Phase);
        Assert.Equal(PhaseStatus.Failed, result.Record.Status);
        Assert.Equal("mtu_black_hole", result.Record.Code?.Word);
        Assert.InRange(result.EstimatedPathMtu!.Value, 1200 - (2 * Options.Resolution), 1200);
        Assert.True(result.LargestClientHelloPassed < result.SmallestClientHelloFailed);
        Assert.InRange(result.Attempts.Count, 3, Options.MaxAttempts);
        Assert.Contains("silently dropped", result.Verdict, StringComparison.Ordinal);
        Assert.Contains("lower the MTU on the VPN adapter or fix ICMP filtering", result.Verdict, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Working_pmtud_passes_and_reports_the_learned_mtu()
    {
        await lab.SetPathAsync(mtu: 1200, blockIcmp: false);

        var result = await MtuProbe.RunAsync(lab.Xrdp, Options);
        Print(result);

        Assert.Equal(MtuVerdictKind.PmtudWorks, result.Kind);
        Assert.Equal(PhaseStatus.Ok, result.Record.Status);
        Assert.Equal(1200, result.KernelPathMtu);
        Assert.Single(result.Attempts);
    }

    [Fact]
    public async Task Clear_path_passes_full_size_segments()
    {
        await lab.SetPathAsync(mtu: 1500);

        var result = await MtuProbe.RunAsync(lab.ShadowNla, Options);
        Print(result);

        Assert.Equal(MtuVerdictKind.Clear, result.Kind);
        Assert.Equal(1448, result.LargestClientHelloPassed);
    }

    [Fact]
    public async Task Live_capture_shows_the_fragmentation_needed_when_pmtud_works_and_none_in_the_black_hole()
    {
        string pmtud = TempPcap(), blackHole = TempPcap();
        try
        {
            await lab.SetPathAsync(mtu: 1200, blockIcmp: false);
            MtuProbeResult result;
            await using (var capture = NetNamespace.RunIn(NetPathFixture.ClientNamespace, () => LiveCapture.Start(pmtud, null, lab.Xrdp)))
            {
                Assert.Equal(NetPathFixture.ClientInterface, capture.InterfaceName);
                result = await MtuProbe.RunAsync(lab.Xrdp, Options);
            }

            Assert.Equal(MtuVerdictKind.PmtudWorks, result.Kind);
            var fragNeeded = FragmentationNeeded(pmtud);
            output.WriteLine($"PMTUD capture: {fragNeeded.Count} ICMP fragmentation-needed, next-hop MTU {string.Join(",", fragNeeded)}");
            Assert.NotEmpty(fragNeeded);
            Assert.All(fragNeeded, mtu => Assert.Equal(1200, mtu));

            // The analyzer reads the live capture and names the fragmentation-needed with its MTU.
            var analysis = CaptureAnalysis.Run([pmtud], new AnalyzerOptions { Ports = [NetPathFixture.BasePort] });
            output.WriteLine(string.Join("; ", analysis.Report.Icmp.Select(i => $"{i.Kind} mtu {i.Mtu} about {i.About}")));
            Assert.Contains(analysis.Report.Icmp, i => i.Kind == "frag_needed" && i.Mtu == 1200);

            await lab.SetPathAsync(mtu: 1200, blockIcmp: true);
            await using (var capture = NetNamespace.RunIn(NetPathFixture.ClientNamespace, () => LiveCapture.Start(blackHole, null, lab.Xrdp)))
            {
                result = await MtuProbe.RunAsync(lab.Xrdp, Options with { MaxAttempts = 3 });
            }

            Assert.Equal(MtuVerdictKind.BlackHole, result.Kind);
            Assert.Empty(FragmentationNeeded(blackHole));

            // The ClientHello that never got through shows up as retransmissions of the same large segment.
            var large = TcpSegments(blackHole).Where(t => t.PayloadData.Length > 1148).ToList();
            output.WriteLine($"black-hole capture: {large.Count} client segments above 1148 bytes of payload");
            Assert.True(large.Count >= 2);
        }
        finally
        {
            File.Delete(pmtud);
            File.Delete(blackHole);
        }
    }

    private static string TempPcap() => System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"rdpprobe-netns-{Guid.NewGuid():N}.pcap");

    private static List<Packet> ReadAll(string path)
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

    /// <summary>Next-hop MTUs of the ICMP type 3 code 4 messages in the capture (bytes 6–7 of the ICMP header, RFC 1191).</summary>
    private static List<int> FragmentationNeeded(string path)
        => ReadAll(path).Select(p => p.Extract<IcmpV4Packet>())
            .Where(i => i is not null && i.TypeCode == IcmpV4TypeCode.UnreachableFragmentationNeeded)
            .Select(i => (int)BinaryPrimitives.ReadUInt16BigEndian(i!.HeaderSegment.ActualBytes().AsSpan(6, 2)))
            .ToList();

    private static List<TcpPacket> TcpSegments(string path)
        => ReadAll(path).Select(p => p.Extract<TcpPacket>()).Where(t => t is not null && t.DestinationPort == NetPathFixture.BasePort).Select(t => t!).ToList();
}
