using System.Net;
using System.Net.Sockets;
using RdpProbe.Diagnosis;
using RdpProbe.Probe;
using RdpProbe.Probe.NetPath;
using RdpProbe.Runs;

namespace RdpProbe.Tests.Runs;

/// <summary>The single-target run (loopback only): resolution once, the extra checks' verdict, the capture filter.</summary>
public sealed class ProbeRunnerTests
{
    private static readonly ProbeOptions Quick = new() { PhaseTimeout = TimeSpan.FromSeconds(2), SecurityMatrix = false, TlsVersions = false, ClientSimulation = false, EncryptionLevels = false };

    private static int ClosedPort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    [Fact]
    public async Task A_closed_port_is_one_report_with_its_failure_and_no_capture()
    {
        var run = await ProbeRunner.RunAsync(new ProbeEngine(Quick), ProbeTarget.Parse($"127.0.0.1:{ClosedPort()}"));
        var report = Assert.Single(run.Reports);
        Assert.Equal(IPAddress.Loopback, report.Address);
        Assert.Equal(Phase.Tcp, run.FirstFailure!.Phase);
        Assert.Equal(Ending.Refused, run.FirstFailure.Ending);
        Assert.Null(run.Capture);
    }

    [Fact]
    public async Task A_name_is_resolved_once_and_its_dns_phase_comes_first()
    {
        var run = await ProbeRunner.RunAsync(new ProbeEngine(Quick), ProbeTarget.Parse($"localhost:{ClosedPort()}"));
        var report = run.Reports[0];
        Assert.Equal(Phase.Dns, report.Phases[0].Phase);
        Assert.Equal(PhaseStatus.Ok, report.Phases[0].Status);
        Assert.Equal(report.ResolvedAddresses[0], report.Address);
    }

    [Fact]
    public async Task A_name_that_does_not_resolve_is_a_dns_verdict()
    {
        var run = await ProbeRunner.RunAsync(new ProbeEngine(Quick), ProbeTarget.Parse("no-such-host.invalid"));
        var report = Assert.Single(run.Reports);
        Assert.Equal(Phase.Dns, Assert.Single(report.Phases).Phase);
        Assert.Equal(Phase.Dns, run.FirstFailure!.Phase);
    }

    [Fact]
    public void A_failed_extra_check_names_itself_in_the_verdict()
    {
        var udp = new PhaseRecord(Phase.Udp);
        udp.Fail(Ending.Timeout, null, "UDP 3389 is filtered: the client falls back to TCP");
        var verdict = PathChecks.VerdictWithChecks([new PhaseRecord(Phase.Tcp) { Ms = 1 }, udp]);
        Assert.False(verdict.Ok);
        Assert.Equal(Phase.Udp, verdict.Phase);
        Assert.Equal("UDP 3389 is filtered: the client falls back to TCP", verdict.Summary);

        // A failure in the sequence keeps the symptom table's sentence.
        var tcp = new PhaseRecord(Phase.Tcp);
        tcp.Fail(Ending.Refused, null, "refused");
        Assert.Equal(Verdict.From([tcp]).Summary, PathChecks.VerdictWithChecks([tcp, udp]).Summary);
    }

    [Fact]
    public void The_capture_filter_covers_every_probed_address()
    {
        var v4 = new IPEndPoint(IPAddress.Parse("192.0.2.1"), 3389);
        var v6 = new IPEndPoint(IPAddress.Parse("2001:db8::1"), 3389);
        Assert.Equal(LiveCapture.BuildFilter(v4), LiveCapture.BuildFilter([v4]));
        string both = LiveCapture.BuildFilter([v6, v4]);
        Assert.Equal($"({LiveCapture.BuildFilter(v6)}) or ({LiveCapture.BuildFilter(v4)})", both);
    }

    [Fact]
    public async Task The_capture_filter_widens_to_addresses_a_second_lookup_returns()
    {
        string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"rdpprobe-cover-{Guid.NewGuid():N}.pcap");
        try
        {
            var v4 = new IPEndPoint(IPAddress.Loopback, 13999);
            var v6 = new IPEndPoint(IPAddress.IPv6Loopback, 13999);
            await using var capture = await LiveCapture.StartAsync(path, "lo", [v4]);
            Assert.Equal(LiveCapture.BuildFilter(v4), capture.Filter);
            capture.Cover([v4]);
            Assert.Equal([v4], capture.Targets);
            capture.Cover([v6, v4]);
            Assert.Equal([v4, v6], capture.Targets);
            Assert.Equal(LiveCapture.BuildFilter([v4, v6]), capture.Filter);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task The_udp_check_goes_to_the_address_the_probe_used()
    {
        int port = ClosedPort();
        var engine = new ProbeEngine(Quick) { Resolver = (_, _) => Task.FromResult(new[] { IPAddress.Loopback }) };
        var run = await ProbeRunner.RunAsync(engine, ProbeTarget.Parse($"rdp.example:{port}"), new ProbeRunOptions { Udp = true });

        var report = Assert.Single(run.Reports);
        Assert.Equal("rdp.example → 127.0.0.1", report.Phases[0].Detail);
        Assert.Equal(IPAddress.Loopback, report.Address);
        var udp = Assert.Single(report.Phases, p => p.Phase == Phase.Udp);
        Assert.StartsWith($"UDP {port} is closed", udp.Detail, StringComparison.Ordinal);
        Assert.Equal(Phase.Tcp, run.FirstFailure!.Phase);
    }
}
