using System.Net;
using System.Net.Sockets;
using RdpProbe.Diagnosis;
using RdpProbe.Net;
using RdpProbe.Probe;
using RdpProbe.Runs;

namespace RdpProbe.Tests.Net;

/// <summary>The one resolver and the resolution the run modes share: the resolver's order, the dns phase's endings.</summary>
public sealed class ResolverTests
{
    private static readonly IPAddress V6 = IPAddress.Parse("2001:db8::10");
    private static readonly IPAddress V4 = IPAddress.Parse("192.0.2.10");
    private static readonly IPAddress V4b = IPAddress.Parse("192.0.2.11");

    private static Func<string, CancellationToken, Task<IPAddress[]>> Answering(params IPAddress[] addresses) => (_, _) => Task.FromResult(addresses);

    [Fact]
    public async Task Keeps_the_system_order_on_a_dual_stack_name()
    {
        // getaddrinfo put IPv6 first (RFC 6724): no family is preferred over the resolver's choice.
        Assert.Equal([V6, V4, V4b], await new Resolver(Answering(V6, V4, V4b)).LookupAsync("rdp.example", CancellationToken.None));

        var resolution = await TargetResolution.ResolveAsync(ProbeTarget.Parse("rdp.example"), TimeSpan.FromSeconds(1), Answering(V6, V4, V4b), CancellationToken.None);
        Assert.True(resolution.Ok);
        Assert.Equal([V6, V4, V4b], resolution.Addresses);
        Assert.Equal(Phase.Dns, resolution.Dns!.Phase);
        Assert.Equal(PhaseStatus.Ok, resolution.Dns.Status);
        Assert.Equal("rdp.example → 2001:db8::10, 192.0.2.10, 192.0.2.11", resolution.Dns.Detail);
    }

    [Fact]
    public async Task A_literal_resolves_to_itself_without_a_lookup_or_a_dns_phase()
    {
        var resolution = await TargetResolution.ResolveAsync(ProbeTarget.Parse("[2001:db8::10]:3390"), TimeSpan.FromSeconds(1),
            (_, _) => throw new InvalidOperationException("no lookup for a literal"), CancellationToken.None);
        Assert.Equal([V6], resolution.Addresses);
        Assert.Null(resolution.Dns);
    }

    [Fact]
    public async Task A_name_that_does_not_resolve_is_a_failed_dns_phase()
    {
        var resolution = await TargetResolution.ResolveAsync(ProbeTarget.Parse("nowhere.example"), TimeSpan.FromSeconds(1),
            (_, _) => throw new SocketException((int)SocketError.HostNotFound), CancellationToken.None);
        Assert.False(resolution.Ok);
        Assert.Empty(resolution.Addresses);
        Assert.Equal(PhaseStatus.Failed, resolution.Dns!.Status);
        Assert.Equal(Ending.Unreachable, resolution.Dns.Ending);
        Assert.Equal(Codes.NameNotFound, resolution.Dns.Code);
        Assert.Equal("the name nowhere.example does not resolve (HostNotFound)", resolution.Dns.Detail);
    }

    [Fact]
    public async Task No_address_is_a_failed_dns_phase()
    {
        var resolution = await TargetResolution.ResolveAsync(ProbeTarget.Parse("empty.example"), TimeSpan.FromSeconds(1), Answering(), CancellationToken.None);
        Assert.False(resolution.Ok);
        Assert.Equal("the name empty.example resolves to no address", resolution.Dns!.Detail);
    }

    [Fact]
    public async Task A_slow_resolver_times_out_but_the_users_cancel_propagates()
    {
        static async Task<IPAddress[]> Slow(string host, CancellationToken ct)
        {
            await Task.Delay(Timeout.Infinite, ct);
            return [];
        }

        var resolution = await TargetResolution.ResolveAsync(ProbeTarget.Parse("slow.example"), TimeSpan.FromMilliseconds(100), Slow, CancellationToken.None);
        Assert.Equal(Ending.Timeout, resolution.Dns!.Ending);
        Assert.StartsWith("the name slow.example did not resolve within", resolution.Dns.Detail, StringComparison.Ordinal);

        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => TargetResolution.ResolveAsync(ProbeTarget.Parse("slow.example"), TimeSpan.FromSeconds(30), Slow, cts.Token));
    }

    [Fact]
    public async Task The_system_resolver_answers_localhost_and_is_the_probes_default()
    {
        var addresses = await Resolver.System.LookupAsync("localhost", CancellationToken.None);
        Assert.NotEmpty(addresses);
        Assert.All(addresses, a => Assert.True(IPAddress.IsLoopback(a)));

        var resolution = await TargetResolution.ResolveAsync(ProbeTarget.Parse("localhost"), TimeSpan.FromSeconds(5), null, CancellationToken.None);
        Assert.Equal(addresses, resolution.Addresses);
    }
}
