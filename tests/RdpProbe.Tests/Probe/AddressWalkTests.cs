using System.Net;
using RdpProbe.Diagnosis;
using RdpProbe.Probe;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.Probe;

/// <summary>
/// Issue 10, names with several addresses: clients try them in the resolver's order, so the probe does too. The name
/// resolves (through the engine's resolver hook) to 127.0.0.2, where nothing listens (refused), and then to 127.0.0.1,
/// where the scripted server answers.
/// </summary>
public sealed class AddressWalkTests
{
    private static readonly ProbeOptions Quick = new()
    {
        PhaseTimeout = TimeSpan.FromSeconds(10),
        SecurityMatrix = false,
        TlsVersions = false,
        ClientSimulation = false,
        EncryptionLevels = false,
        SessionPhases = false,
    };

    private static readonly IPAddress Dead = IPAddress.Parse("127.0.0.2");

    private static ProbeEngine Engine(ProbeOptions options, params IPAddress[] addresses)
        => new(options) { Resolver = (_, _) => Task.FromResult(addresses) };

    private static FakeRdpServer RdpServer() => new(async (socket, ct) =>
    {
        await FakeRdpServer.ReadConnectionRequestAsync(socket, ct);
        await socket.SendAsync(FakeRdpServer.Confirm(SecurityProtocols.Rdp), ct);
    });

    [Fact]
    public async Task A_dead_first_address_is_a_finding_and_the_next_one_is_probed()
    {
        await using var server = RdpServer();
        var reports = await Engine(Quick, Dead, IPAddress.Loopback).RunAsync(ProbeTarget.Parse($"rdp.test:{server.Port}"), CancellationToken.None);

        var report = Assert.Single(reports);
        Assert.Equal(IPAddress.Loopback, report.Address);
        Assert.Equal([Dead, IPAddress.Loopback], report.ResolvedAddresses);
        Assert.True(report.Verdict.Ok, report.Verdict.Summary);
        Assert.Equal(Phase.Dns, report.Phases[0].Phase);
        Assert.Equal(PhaseStatus.Ok, report.Phases.Single(p => p.Phase == Phase.Tcp).Status);

        Assert.Equal(2, report.AddressAttempts.Count);
        var dead = report.AddressAttempts[0];
        Assert.Equal(Dead, dead.Address);
        Assert.Equal(Phase.Tcp, dead.Phase);
        Assert.Equal(Ending.Refused, dead.Ending);
        Assert.False(dead.Answered);
        Assert.True(report.AddressAttempts[1].Answered);
        Assert.Equal(IPAddress.Loopback, report.AddressAttempts[1].Address);

        var finding = Assert.Single(report.Findings, f => f.Code == FindingRules.Codes.AddressUnreachable);
        Assert.Equal(Severity.Medium, finding.Severity);
        Assert.Equal("The first address 127.0.0.2 does not answer; clients wait for it before trying 127.0.0.1.", finding.Title);
        Assert.Contains("refused", finding.Evidence);
        Assert.Contains("use the IP instead of the name", finding.Remedy);

        // Most severe first, the address finding included.
        Assert.Equal(report.Findings.OrderBy(f => f.Severity).Select(f => f.Code), report.Findings.Select(f => f.Code));
    }

    [Fact]
    public async Task When_no_address_answers_the_tcp_failure_is_the_verdict()
    {
        var reports = await Engine(Quick, Dead, IPAddress.Parse("127.0.0.3")).RunAsync(ProbeTarget.Parse("rdp.test:1"), CancellationToken.None);

        var report = Assert.Single(reports);
        Assert.False(report.Verdict.Ok);
        Assert.Equal(Phase.Tcp, report.Verdict.Phase);
        Assert.Equal(Ending.Refused, report.Verdict.Ending);
        Assert.Equal(Dead, report.Address);
        Assert.Equal(2, report.AddressAttempts.Count);
        Assert.All(report.AddressAttempts, a => Assert.Equal(Ending.Refused, a.Ending));
        Assert.DoesNotContain(report.Findings, f => f.Code == FindingRules.Codes.AddressUnreachable);
    }

    [Fact]
    public async Task A_first_address_that_answers_is_the_only_one_tried()
    {
        await using var server = RdpServer();
        var reports = await Engine(Quick, IPAddress.Loopback, Dead).RunAsync(ProbeTarget.Parse($"rdp.test:{server.Port}"), CancellationToken.None);

        var report = Assert.Single(reports);
        Assert.Equal(IPAddress.Loopback, report.Address);
        var only = Assert.Single(report.AddressAttempts);
        Assert.True(only.Answered);
        Assert.DoesNotContain(report.Findings, f => f.Code == FindingRules.Codes.AddressUnreachable);
    }

    [Fact]
    public async Task All_addresses_still_probes_each_address_on_its_own()
    {
        await using var server = RdpServer();
        var reports = await Engine(Quick with { AllAddresses = true }, Dead, IPAddress.Loopback).RunAsync(ProbeTarget.Parse($"rdp.test:{server.Port}"), CancellationToken.None);

        Assert.Equal(2, reports.Count);
        Assert.Equal(Ending.Refused, reports[0].Verdict.Ending);
        Assert.True(reports[1].Verdict.Ok, reports[1].Verdict.Summary);
        Assert.All(reports, r => Assert.Empty(r.AddressAttempts));
    }

    [Fact]
    public async Task A_literal_address_is_not_walked()
    {
        await using var server = RdpServer();
        var report = Assert.Single(await new ProbeEngine(Quick).RunAsync(ProbeTarget.Parse(server.Target), CancellationToken.None));
        Assert.Empty(report.AddressAttempts);
        Assert.True(report.Verdict.Ok, report.Verdict.Summary);
    }

    [Fact]
    public async Task A_name_that_does_not_resolve_is_judged_too()
    {
        var engine = new ProbeEngine(Quick) { Resolver = (_, _) => Task.FromException<IPAddress[]>(new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.HostNotFound)) };
        var report = Assert.Single(await engine.RunAsync(ProbeTarget.Parse("nowhere.test:3389"), CancellationToken.None));

        Assert.False(report.Verdict.Ok);
        Assert.Equal(Phase.Dns, report.Verdict.Phase);
        Assert.Equal(Codes.NameNotFound, report.Verdict.Code);
        Assert.Equal(Compatibility.Fails, report.ClientVerdict!.Result);
        Assert.Equal(Phase.Dns, report.ClientVerdict.FailPhase);
        Assert.All(report.Compatibility, v => Assert.Equal(Compatibility.Fails, v.Result));
        Assert.Empty(report.AddressAttempts);
    }
}
