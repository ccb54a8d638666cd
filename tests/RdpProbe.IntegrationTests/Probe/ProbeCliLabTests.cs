using System.Text.Json;
using RdpProbe.Cli;
using RdpProbe.IntegrationTests.Lab;
using Spectre.Console.Testing;

namespace RdpProbe.IntegrationTests.Probe;

/// <summary>The real command entry point (argument parsing, engine, JSON, exit code) against real servers.</summary>
[Collection(LabCollection.Name)]
public sealed class ProbeCliLabTests(LabFixture lab)
{
    private static async Task<(int Exit, string Out, string Err)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = await RdpProbeApp.RunAsync(args, new CliIo(output, error, new TestConsole()));
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Capture_puts_the_reset_at_the_client_hello_next_to_its_frame()
    {
        string pcap = Path.Combine(Path.GetTempPath(), $"rdpprobe-capture-{Guid.NewGuid():N}.pcap");
        try
        {
            (int Exit, string Out, string Err) run;
            using (Faults.ResetAtClientHello(lab.Endpoints.Xrdp.Port))
            {
                run = await RunAsync(lab.Endpoints.Xrdp.ToString(), "--json", "--capture", pcap, "--no-matrix", "--no-tls-versions", "--no-client-sim", "--no-encryption-levels");
            }

            Assert.True(run.Exit == ExitCodes.Tls, run.Err + run.Out);
            Assert.True(File.Exists(pcap));
            var capture = JsonDocument.Parse(run.Out).RootElement.GetProperty("capture");
            Assert.Equal(pcap, capture.GetProperty("file").GetString());
            var main = Assert.Single(capture.GetProperty("analysis").GetProperty("connections").EnumerateArray());
            Assert.Equal(["tcp", "x224", "tls"], main.GetProperty("phases").EnumerateArray().Select(p => p.GetProperty("name").GetString()!));
            Assert.Equal("reset", main.GetProperty("ending").GetString());
            Assert.Equal("server", main.GetProperty("endedBy").GetString());

            // The reset is the last frame of the connection, in the tls phase: the frame a user opens in Wireshark.
            var reset = Assert.Single(main.GetProperty("anomalies").EnumerateArray(), a => a.GetProperty("kind").GetString() == "reset");
            Assert.Equal("tls", reset.GetProperty("phase").GetString());
            Assert.Equal(main.GetProperty("lastFrame").GetInt32(), Assert.Single(reset.GetProperty("frames").EnumerateArray()).GetInt32());
        }
        finally
        {
            File.Delete(pcap);
        }
    }

    [Fact]
    public async Task Json_against_xrdp_exits_0_with_the_contract()
    {
        var (exit, output, error) = await RunAsync(lab.Endpoints.Xrdp.ToString(), "--json");
        Assert.True(exit == ExitCodes.Ok, error + output);
        var root = JsonDocument.Parse(output).RootElement;
        Assert.Equal("rdpprobe.probe/1", root.GetProperty("schema").GetString());
        Assert.Equal("127.0.0.1", root.GetProperty("target").GetProperty("address").GetString());
        Assert.Equal(lab.Endpoints.Xrdp.Port, root.GetProperty("target").GetProperty("port").GetInt32());
        Assert.Equal(["tcp", "x224", "tls", "mcs", "channels", "client_info", "licensing", "capabilities", "security_matrix", "tls_versions", "client_simulation", "encryption_levels"],
            root.GetProperty("phases").EnumerateArray().Select(p => p.GetProperty("name").GetString()!));
        var negotiation = root.GetProperty("negotiation");
        var levels = negotiation.GetProperty("encryptionLevels");
        Assert.Equal("accepted", levels.GetProperty("methods").GetProperty("128-bit").GetString());
        Assert.Equal("refused", levels.GetProperty("methods").GetProperty("40-bit").GetString());
        Assert.Equal("high", levels.GetProperty("serverLevel").GetString());
        Assert.Equal("ssl", negotiation.GetProperty("selectedProtocol").GetString());
        Assert.Equal("downgraded", negotiation.GetProperty("support").GetProperty("hybrid").GetString());
        Assert.False(negotiation.GetProperty("nlaRequired").GetBoolean());
        Assert.Equal("CN=localhost", root.GetProperty("tls").GetProperty("certificate").GetProperty("subject").GetString());
        var verdict = root.GetProperty("verdict");
        Assert.True(verdict.GetProperty("ok").GetBoolean());
        Assert.Equal("capabilities", verdict.GetProperty("phase").GetString());
        Assert.Equal("rt-successful", root.GetProperty("session").GetProperty("mcsResult").GetString());

        // --handshake-only stops after TLS.
        var (exit2, output2, _) = await RunAsync(lab.Endpoints.Xrdp.ToString(), "--json", "--handshake-only", "--no-matrix", "--no-tls-versions", "--no-client-sim");
        Assert.Equal(ExitCodes.Ok, exit2);
        var root2 = JsonDocument.Parse(output2).RootElement;
        Assert.Equal(["tcp", "x224", "tls"], root2.GetProperty("phases").EnumerateArray().Select(p => p.GetProperty("name").GetString()!));
        Assert.Equal(JsonValueKind.Null, root2.GetProperty("session").ValueKind);
    }

    [Fact]
    public async Task Rdp_only_server_exits_with_the_x224_class_for_the_permissive_client()
    {
        // permissive has no fallback: the behaviour before client profiles (windows11 retries; ClientVerdictCliLabTests).
        var (exit, output, _) = await RunAsync(lab.Endpoints.ShadowRdp.ToString(), "--json", "--no-matrix", "--client", "permissive");
        Assert.Equal(ExitCodes.X224, exit);
        var verdict = JsonDocument.Parse(output).RootElement.GetProperty("verdict");
        Assert.Equal("negotiation_failure", verdict.GetProperty("ending").GetString());
        Assert.Equal("ssl_not_allowed_by_server", verdict.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Closed_port_exits_with_the_tcp_class_and_a_readable_view()
    {
        var console = new TestConsole();
        console.Profile.Width = 250; // no wrapping inside the verdict panel
        var output = new StringWriter();
        int exit = await RdpProbeApp.RunAsync([lab.Endpoints.ClosedPort.ToString()], new CliIo(output, new StringWriter(), console));
        Assert.Equal(ExitCodes.Tcp, exit);
        Assert.Contains("refused", console.Output);
        Assert.Contains("nothing is listening", console.Output);
    }
}
