using System.Globalization;
using System.Net;
using RdpProbe.Probe.NetPath;
using Xunit.Abstractions;

namespace RdpProbe.IntegrationTests.NetPath;

/// <summary>A real WireGuard tunnel (scripts/vpn.sh, wireguard-go) between the client and server namespaces.</summary>
[Collection(NetPathCollection.Name)]
public sealed class VpnNetnsTests(NetPathFixture lab, ITestOutputHelper output)
{
    [Fact]
    public async Task Tunnel_mtu_1420_is_what_the_mtu_probe_sees_and_the_handshake_passes()
    {
        await lab.SetPathAsync();
        string id = NetPathFixture.Id.ToString(CultureInfo.InvariantCulture);
        output.WriteLine(await VpnAsync("up", "--id", id));
        try
        {
            var target = new IPEndPoint(IPAddress.Parse($"10.214.{id}.2"), NetPathFixture.BasePort);
            var result = await MtuProbe.RunAsync(target, new MtuProbeOptions { SocketFactory = NetNamespace.SocketFactory(NetPathFixture.ClientNamespace) });
            output.WriteLine(result.Verdict);

            Assert.Equal(MtuVerdictKind.Clear, result.Kind);
            // 1420-byte tunnel − 20 IP − 20 TCP − 12 timestamps = 1368 bytes in a full segment.
            Assert.Equal(1368, result.ConnectionMss);
            Assert.Equal(1368, result.LargestClientHelloPassed);
            Assert.Equal(1420, result.KernelPathMtu);
        }
        finally
        {
            output.WriteLine(await VpnAsync("down", "--id", id));
        }
    }

    private static async Task<string> VpnAsync(params string[] arguments)
    {
        var (exitCode, text) = await Lab.LabScripts.RunAsync("vpn.sh", arguments, TimeSpan.FromSeconds(120));
        Assert.True(exitCode == 0, $"scripts/vpn.sh {string.Join(' ', arguments)} failed: {text}");
        return text;
    }
}

/// <summary>The delayed packet path (netns.sh delay: VXLAN through the relay): the TCP handshake itself sees the delay.</summary>
[Collection(NetPathCollection.Name)]
public sealed class DelayPathNetnsTests(NetPathFixture lab, ITestOutputHelper output)
{
    [Fact]
    public async Task Added_delay_shows_in_the_tcp_handshake_and_the_handshake_completes()
    {
        await lab.SetPathAsync();
        string id = NetPathFixture.Id.ToString(CultureInfo.InvariantCulture);
        output.WriteLine(await NetPathFixture.NetnsAsync("delay", "start", "--id", id, "--delay", "15", "--jitter", "1"));
        try
        {
            var target = new IPEndPoint(IPAddress.Parse($"10.215.{id}.2"), NetPathFixture.BasePort);
            var phases = await HandshakeRun.RunAsync(target, NetPathFixture.ClientNamespace, CancellationToken.None);
            foreach (var p in phases)
            {
                output.WriteLine($"{p.Phase}: {p.Status} {p.Ms:0.0} ms");
            }

            Assert.All(phases, p => Assert.Equal(Diagnosis.PhaseStatus.Ok, p.Status));
            Assert.Equal(3, phases.Count);
            // Lower bound only: a SYN and its SYN-ACK each wait at least 15 − 1 ms in the relay.
            Assert.True(phases[0].Ms >= 28, $"tcp handshake took {phases[0].Ms:0.0} ms");
        }
        finally
        {
            await NetPathFixture.NetnsAsync("delay", "stop", "--id", id);
        }
    }
}
