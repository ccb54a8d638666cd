using System.Text.Json;
using RdpProbe.Cli;
using RdpProbe.Diagnosis;
using RdpProbe.IntegrationTests.Lab;
using RdpProbe.Probe;
using RdpProbe.Runs;
using Spectre.Console.Testing;

namespace RdpProbe.IntegrationTests.Bench;

/// <summary>
/// <c>rdpprobe bench</c> against the lab's real servers: it runs, its JSON report is complete, round trips are counted
/// against the floor. No timing thresholds (speed is measured in bench/, not asserted in tests).
/// </summary>
[Collection(LabCollection.Name)]
public sealed class BenchLabTests(LabFixture lab)
{
    private static async Task<(int Exit, string Out, string Err)> RunCli(params string[] args)
    {
        var output = new StringWriter();
        var errors = new StringWriter();
        var console = new TestConsole();
        console.Profile.Width = 200;
        int exit = await RdpProbeApp.RunAsync(["bench", .. args], new CliIo(output, errors, console));
        return (exit, output.ToString() + console.Output, errors.ToString());
    }

    private static string Target(System.Net.IPEndPoint e) => $"{e.Address}:{e.Port}";

    private static void AssertDistribution(JsonElement d)
    {
        Assert.Equal(JsonValueKind.Object, d.ValueKind);
        double[] v = [.. new[] { "min", "median", "p90", "p99", "max" }.Select(k => d.GetProperty(k).GetDouble())];
        for (int i = 1; i < v.Length; i++)
        {
            Assert.True(v[i - 1] <= v[i], $"percentiles out of order: {string.Join(", ", v)}");
        }
    }

    [Fact]
    public async Task Xrdp_three_runs_give_a_complete_report_at_the_floor()
    {
        var (exit, output, errors) = await RunCli(Target(lab.Endpoints.Xrdp), "-n", "3", "--json", "--pause", "50ms");
        Assert.True(exit == ExitCodes.Ok, errors + output);
        using var doc = JsonDocument.Parse(output);
        var root = doc.RootElement;
        Assert.Equal("rdpprobe.bench/2", root.GetProperty("schema").GetString());
        Assert.Equal(3, root.GetProperty("runsDone").GetInt32());
        Assert.Equal(3, root.GetProperty("runsComplete").GetInt32());
        AssertDistribution(root.GetProperty("rttMs"));
        var phases = root.GetProperty("phases").EnumerateArray().ToDictionary(p => p.GetProperty("phase").GetString()!);

        // xrdp selects SSL for the default request: tcp, x224, tls; no CredSSP.
        Assert.Equal(["tcp", "x224", "tls"], phases.Keys);
        foreach (var phase in phases.Values)
        {
            Assert.Equal(3, phase.GetProperty("succeeded").GetInt32());
            foreach (string name in new[] { "wireMs", "wallMs", "clientMs", "roundTrips", "networkMs", "serverMs" })
            {
                AssertDistribution(phase.GetProperty(name));
            }

            Assert.Equal(0, phase.GetProperty("extraRoundTrips").GetDouble());
        }

        int tlsFloor = root.GetProperty("tlsVersion").GetString() == "tls1.3" ? 1 : 2;
        Assert.Equal(tlsFloor, phases["tls"].GetProperty("rttFloor").GetInt32());
        Assert.Equal(2 + tlsFloor, root.GetProperty("total").GetProperty("rttFloor").GetInt32());
        Assert.True(root.GetProperty("total").GetProperty("atFloor").GetBoolean());
    }

    [Fact]
    public async Task Shadow_nla_counts_the_credssp_leg_and_the_human_view_names_the_phases()
    {
        var (exit, output, errors) = await RunCli(Target(lab.Endpoints.ShadowNla), "-n", "3", "--pause", "50ms");
        Assert.True(exit == ExitCodes.Ok, errors + output);
        foreach (string phase in new[] { "tcp", "x224", "tls", "credssp" })
        {
            Assert.Contains($"  {phase} ", output, StringComparison.Ordinal);
        }

        Assert.Contains("RTT (TCP connect)", output, StringComparison.Ordinal);
        Assert.Contains("no extra round trips", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_credentials_credssp_has_two_legs_against_the_shadow_server()
    {
        var target = new ProbeTarget(Target(lab.Endpoints.ShadowNla), lab.Endpoints.ShadowNla.Address.ToString(), lab.Endpoints.ShadowNla.Port, lab.Endpoints.ShadowNla.Address);
        var engine = new ProbeEngine(new ProbeOptions()).WithCredentials($"{LabFixture.Domain}\\{LabFixture.User}", LabFixture.Password);
        var probe = BenchRunner.ForEngine(engine, target, lab.Endpoints.ShadowNla.Address);
        var report = await BenchRunner.RunAsync("shadow-nla", probe, new BenchOptions { Runs = 2, Warmup = 0, WithCredentials = true, Pause = TimeSpan.FromMilliseconds(50) });
        var credssp = report.Phases.Single(p => p.Phase == Phase.Credssp);
        Assert.Equal(2, credssp.Succeeded);
        Assert.Equal(2, credssp.Floor);
        Assert.Equal(2, credssp.RoundTrips!.Median);
        Assert.DoesNotContain(LabFixture.Password, report.ToJson(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Closed_port_reports_tcp_refused_in_every_run_and_exits_with_the_tcp_class()
    {
        var (exit, output, _) = await RunCli(Target(lab.Endpoints.ClosedPort), "-n", "2", "--warmup", "0", "--json", "--pause", "0ms");
        Assert.Equal(ExitCodes.Tcp, exit);
        using var doc = JsonDocument.Parse(output);
        var tcp = doc.RootElement.GetProperty("phases").EnumerateArray().Single();
        Assert.Equal("tcp", tcp.GetProperty("phase").GetString());
        Assert.Equal(0, tcp.GetProperty("succeeded").GetInt32());
        Assert.Equal(2, tcp.GetProperty("failures").GetProperty("refused").GetInt32());
        Assert.Equal(JsonValueKind.Null, tcp.GetProperty("wireMs").ValueKind);
        Assert.Equal(0, doc.RootElement.GetProperty("runsComplete").GetInt32());
    }

    [Theory]
    [InlineData("-n", "0")]
    [InlineData("-n", "1001")]
    [InlineData("--warmup", "99")]
    [InlineData("--max-time", "forever")]
    public async Task Bad_bounds_are_usage_errors(string option, string value)
    {
        var (exit, _, errors) = await RunCli(Target(lab.Endpoints.ClosedPort), option, value);
        Assert.Equal(ExitCodes.Usage, exit);
        Assert.StartsWith("rdpprobe: ", errors, StringComparison.Ordinal);
    }
}
