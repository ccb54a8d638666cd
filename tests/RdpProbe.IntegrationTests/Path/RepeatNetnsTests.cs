using System.Globalization;
using RdpProbe.Diagnosis;
using RdpProbe.Probe.NetPath;
using RdpProbe.Runs;
using Xunit.Abstractions;

namespace RdpProbe.IntegrationTests.NetPath;

/// <summary>
/// Faults injected in the router namespace: a reset on one connection in N (iptables statistic nth) for Repeat, and a
/// per-server connection limit (connlimit) for ConcurrencyTest, against real xrdp in the server namespace.
/// </summary>
[Collection(NetPathCollection.Name)]
public sealed class RepeatNetnsTests(NetPathFixture lab, ITestOutputHelper output)
{
    [Fact]
    public async Task One_reset_in_five_shows_as_intermittent_tls_with_the_success_rate()
    {
        await lab.SetPathAsync();
        string port = NetPathFixture.BasePort.ToString(CultureInfo.InvariantCulture);
        // Every 5th large client segment (the ClientHello; the X.224 request is 40 bytes) is answered with a reset.
        await lab.ExecAsync("router", "iptables", "-w", "-A", "FORWARD", "-p", "tcp", "--dport", port, "-m", "length", "--length", "200:65535",
            "-m", "statistic", "--mode", "nth", "--every", "5", "--packet", "4", "-j", "REJECT", "--reject-with", "tcp-reset");
        try
        {
            var report = await Repeat.RunAsync((_, ct) => HandshakeRun.RunAsync(lab.Xrdp, NetPathFixture.ClientNamespace, ct), 20);
            output.WriteLine(report.Verdict);
            foreach (var p in report.Phases)
            {
                output.WriteLine($"{p.Phase}: {p.Succeeded}/{p.Attempted} p50 {p.WireMs?.Median:0.0} p90 {p.WireMs?.P90:0.0} p99 {p.WireMs?.P99:0.0} min {p.WireMs?.Min:0.0} max {p.WireMs?.Max:0.0}");
            }

            var tls = report.Phases.Single(p => p.Phase == Phase.Tls);
            Assert.Equal(20, tls.Attempted);
            Assert.Equal(16, tls.Succeeded);
            Assert.Equal(4, tls.FailureEndings[Ending.Reset]);
            Assert.Equal(1.0, report.Phases.Single(p => p.Phase == Phase.Tcp).SuccessRate);
            Assert.Equal(1.0, report.Phases.Single(p => p.Phase == Phase.X224).SuccessRate);
            Assert.StartsWith("Intermittent: tls failed in 4 of 20 runs (80 % succeeded; reset ×4)", report.Verdict, StringComparison.Ordinal);
        }
        finally
        {
            await lab.SetPathAsync();
        }
    }

    [Fact]
    public async Task Connection_limit_on_the_path_is_found_by_the_concurrency_test()
    {
        await lab.SetPathAsync();
        string port = NetPathFixture.BasePort.ToString(CultureInfo.InvariantCulture);
        await lab.ExecAsync("router", "iptables", "-w", "-A", "FORWARD", "-p", "tcp", "--syn", "--dport", port,
            "-m", "connlimit", "--connlimit-above", "6", "--connlimit-mask", "32", "-j", "REJECT", "--reject-with", "tcp-reset");
        try
        {
            var options = new ConcurrencyTestOptions { SocketFactory = NetNamespace.SocketFactory(NetPathFixture.ClientNamespace) };
            var result = await ConcurrencyTest.RunAsync(lab.Xrdp, 10, options);
            output.WriteLine(result.Verdict);

            Assert.Equal(6, result.Accepted);
            Assert.Equal(4, result.Refused);
            Assert.Equal(7, result.FirstFailure);
            Assert.Equal(6, result.OpenAtEnd);
        }
        finally
        {
            await lab.SetPathAsync();
        }
    }

    [Fact]
    public async Task Real_xrdp_takes_thirty_pending_connections()
    {
        await lab.SetPathAsync();
        var options = new ConcurrencyTestOptions { SocketFactory = NetNamespace.SocketFactory(NetPathFixture.ClientNamespace) };

        var result = await ConcurrencyTest.RunAsync(lab.Xrdp, 30, options);
        output.WriteLine(result.Verdict);

        Assert.Equal(30, result.Accepted);
        Assert.Null(result.FirstFailure);
    }
}
