using RdpProbe.Diagnosis;
using RdpProbe.Probe.NetPath;
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
        Assert.Equal("mtu_black_hole", result.Record.Code);
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
}
