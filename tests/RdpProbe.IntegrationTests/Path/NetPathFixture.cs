using System.Globalization;
using System.Net;
using RdpProbe.IntegrationTests.Lab;

namespace RdpProbe.IntegrationTests.NetPath;

/// <summary>
/// The network-path lab (scripts/netns.sh, id 7): namespaces rdpp7-client — rdpp7-router — rdpp7-server with the
/// real lab servers (scripts/lab.sh) started inside rdpp7-server on base 15489. Tests switch the router's scenario
/// with <see cref="SetPathAsync"/>; DisposeAsync stops the servers and deletes the namespaces with every rule.
/// </summary>
public sealed class NetPathFixture : IAsyncLifetime
{
    public const int Id = 7;
    public const int BasePort = 15489;
    public const string ClientNamespace = "rdpp7-client";
    public const string RouterNamespace = "rdpp7-router";
    public const string ServerNamespace = "rdpp7-server";
    public const string ClientInterface = "rp7c0";
    public static readonly IPAddress ServerAddress = IPAddress.Parse("10.213.72.2");
    public static readonly IPAddress ClientAddress = IPAddress.Parse("10.213.71.2");

    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromSeconds(120);

    public IPEndPoint Xrdp => new(ServerAddress, BasePort);

    public IPEndPoint ShadowNla => new(ServerAddress, BasePort + 1);

    public async Task InitializeAsync()
    {
        await NetnsAsync("up", "--id", Id.ToString(CultureInfo.InvariantCulture));
        try
        {
            await NetnsAsync("lab", "start", "--id", Id.ToString(CultureInfo.InvariantCulture), "--base", BasePort.ToString(CultureInfo.InvariantCulture));
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    public async Task DisposeAsync() => await NetnsAsync("down", "--id", Id.ToString(CultureInfo.InvariantCulture));

    /// <summary>Reconfigures the router: routed MTU, ICMP frag-needed filtering, UDP drop (netns.sh set).</summary>
    public Task SetPathAsync(int mtu = 1500, bool blockIcmp = false, bool dropUdp = false, int udpPort = 3389)
        => NetnsAsync("set", "--id", Id.ToString(CultureInfo.InvariantCulture), "--mtu", mtu.ToString(CultureInfo.InvariantCulture),
            "--icmp", blockIcmp ? "block" : "allow", "--udp", dropUdp ? "drop" : "closed", "--udp-port", udpPort.ToString(CultureInfo.InvariantCulture));

    /// <summary>Runs a command inside one of the namespaces (netns.sh exec).</summary>
    public Task<string> ExecAsync(string role, params string[] command)
        => NetnsAsync(["exec", "--id", Id.ToString(CultureInfo.InvariantCulture), role, .. command]);

    public static async Task<string> NetnsAsync(params string[] arguments)
    {
        var (exitCode, output) = await LabScripts.RunAsync("netns.sh", arguments, ScriptTimeout).ConfigureAwait(false);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"scripts/netns.sh {string.Join(' ', arguments)} failed (exit {exitCode}): {output}");
        }

        return output;
    }
}

[CollectionDefinition(Name)]
public sealed class NetPathCollection : ICollectionFixture<NetPathFixture>
{
    public const string Name = "netpath";
}
