using System.Net;
using System.Net.Sockets;
using RdpProbe.Diagnosis;
using RdpProbe.Net;

namespace RdpProbe.Tests.Net;

/// <summary>The one address policy: the resolver's order, first address probed, --all-addresses each in order.</summary>
public sealed class ResolverTests
{
    private static readonly IPAddress V6 = IPAddress.Parse("2001:db8::10");
    private static readonly IPAddress V4 = IPAddress.Parse("192.0.2.10");
    private static readonly IPAddress V4b = IPAddress.Parse("192.0.2.11");

    private static Resolver Answering(params IPAddress[] addresses) => new((_, _) => Task.FromResult(addresses));

    [Fact]
    public async Task Keeps_the_system_order_on_a_dual_stack_name_and_probes_its_first_address()
    {
        // getaddrinfo put IPv6 first (RFC 6724): no family is preferred over the resolver's choice.
        var resolution = await Answering(V6, V4, V4b).ResolveAsync(HostPort.Parse("rdp.example"), TimeSpan.FromSeconds(1), CancellationToken.None);

        Assert.True(resolution.Ok);
        Assert.Equal([V6, V4, V4b], resolution.Addresses);
        Assert.Equal([V6], Resolver.Choose(resolution.Addresses, allAddresses: false));
        Assert.Equal([V6, V4, V4b], Resolver.Choose(resolution.Addresses, allAddresses: true));
        var dns = resolution.Dns!;
        Assert.Equal(Phase.Dns, dns.Phase);
        Assert.Equal(PhaseStatus.Ok, dns.Status);
        Assert.Equal("rdp.example → 2001:db8::10, 192.0.2.10, 192.0.2.11", dns.Detail);
        Assert.Equal(dns.Ms, dns.WallMs);
    }

    [Fact]
    public async Task A_literal_resolves_to_itself_without_a_lookup_or_a_dns_phase()
    {
        var resolver = new Resolver((_, _) => throw new InvalidOperationException("no lookup for a literal"));
        var resolution = await resolver.ResolveAsync(HostPort.Parse("[2001:db8::10]:3390"), TimeSpan.FromSeconds(1), CancellationToken.None);
        Assert.Equal([V6], resolution.Addresses);
        Assert.Null(resolution.Dns);
    }

    [Fact]
    public async Task A_name_that_does_not_resolve_is_a_failed_dns_phase()
    {
        var resolver = new Resolver((_, _) => throw new SocketException((int)SocketError.HostNotFound));
        var resolution = await resolver.ResolveAsync(HostPort.Parse("nowhere.example"), TimeSpan.FromSeconds(1), CancellationToken.None);
        Assert.False(resolution.Ok);
        Assert.Empty(resolution.Addresses);
        Assert.Equal(PhaseStatus.Failed, resolution.Dns!.Status);
        Assert.Equal(Ending.Unreachable, resolution.Dns.Ending);
        Assert.Equal(Symptoms.NameNotFound, resolution.Dns.Code);
        Assert.Equal("the name nowhere.example does not resolve (HostNotFound)", resolution.Dns.Detail);
    }

    [Fact]
    public async Task No_address_is_a_failed_dns_phase()
    {
        var resolution = await Answering().ResolveAsync(HostPort.Parse("empty.example"), TimeSpan.FromSeconds(1), CancellationToken.None);
        Assert.False(resolution.Ok);
        Assert.Equal("the name empty.example resolves to no address", resolution.Dns!.Detail);
    }

    [Fact]
    public async Task A_slow_resolver_times_out_but_the_users_cancel_propagates()
    {
        var slow = new Resolver(async (_, ct) => { await Task.Delay(Timeout.Infinite, ct); return []; });
        var resolution = await slow.ResolveAsync(HostPort.Parse("slow.example"), TimeSpan.FromMilliseconds(50), CancellationToken.None);
        Assert.Equal(Ending.Timeout, resolution.Dns!.Ending);
        Assert.Equal("the name slow.example did not resolve within 50 ms", resolution.Dns.Detail);

        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => slow.ResolveAsync(HostPort.Parse("slow.example"), TimeSpan.FromSeconds(30), cts.Token));
    }

    [Fact]
    public async Task The_system_resolver_answers_localhost()
    {
        var resolution = await Resolver.System.ResolveAsync(HostPort.Parse("localhost"), TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.True(resolution.Ok);
        Assert.All(resolution.Addresses, a => Assert.True(IPAddress.IsLoopback(a)));
    }
}
