using System.CommandLine;
using System.Net;
using System.Text.Json;
using RdpProbe.Cli;
using RdpProbe.IntegrationTests.Lab;
using RdpProbe.Tests.JsonReports;
using Spectre.Console.Testing;

namespace RdpProbe.IntegrationTests.Reports;

/// <summary>
/// The documents the command line really prints, against the lab's real servers and a real capture, validated against
/// docs/schemas: the contract of docs/REPORTS.md checked end to end, all default checks on (security matrix, TLS
/// versions, encryption levels).
/// </summary>
[Collection(LabCollection.Name)]
public sealed class SchemaLabTests(LabFixture lab)
{
    private static async Task<(int Exit, string Out, string Err)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = await RdpProbeApp.RunAsync(args, new CliIo(output, error, new TestConsole()));
        return (exit, output.ToString(), error.ToString());
    }

    /// <summary>
    /// The analyze verb with injected consoles: RdpProbeApp.BuildRoot creates it without the CliIo, so through RunAsync
    /// its document would go to the process's stdout. Same command, same options, same JSON writer.
    /// </summary>
    private static async Task<(int Exit, string Out, string Err)> AnalyzeAsync(params string[] args)
    {
        var output = new TestConsole();
        var errors = new TestConsole();
        var root = new RootCommand();
        root.Subcommands.Add(AnalyzeCommand.Create(output, errors));
        int exit = await CommandLineHost.RunAsync(root, ["analyze", .. args]);
        return (exit, output.Output, errors.Output);
    }

    private IPEndPoint Endpoint(string server) => server switch
    {
        "xrdp" => lab.Endpoints.Xrdp,
        "shadow-nla" => lab.Endpoints.ShadowNla,
        "shadow-tls" => lab.Endpoints.ShadowTls,
        "shadow-rdp" => lab.Endpoints.ShadowRdp,
        "closed" => lab.Endpoints.ClosedPort,
        _ => throw new ArgumentOutOfRangeException(nameof(server), server, null),
    };

    [Fact]
    public async Task Probe_json_of_xrdp_matches_the_schema()
    {
        var (exit, output, error) = await RunAsync(lab.Endpoints.Xrdp.ToString(), "--json");
        Assert.True(exit == ExitCodes.Ok, error + output);
        ReportSchemas.AssertValid(ReportSchemas.Probe, output);

        var root = JsonDocument.Parse(output).RootElement;
        Assert.Equal("rdpprobe", root.GetProperty("tool").GetProperty("name").GetString());
        Assert.NotNull(root.GetProperty("negotiation").GetProperty("supportDetail").GetProperty("ssl").GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Object, root.GetProperty("tls").GetProperty("certificate").ValueKind);
    }

    [Theory]
    [InlineData("shadow-nla")]
    [InlineData("shadow-tls")]
    [InlineData("shadow-rdp")]
    [InlineData("closed")]
    public async Task Probe_json_of_every_lab_server_matches_the_schema(string server)
    {
        var (_, output, error) = await RunAsync(Endpoint(server).ToString(), "--json");
        Assert.False(string.IsNullOrWhiteSpace(output), error);
        ReportSchemas.AssertValid(ReportSchemas.Probe, output);
    }

    [Fact]
    public async Task Probe_json_with_capture_matches_the_schema_including_the_analysis()
    {
        string pcap = Path.Combine(Path.GetTempPath(), $"rdpprobe-schema-{Guid.NewGuid():N}.pcap");
        try
        {
            var (exit, output, error) = await RunAsync(lab.Endpoints.Xrdp.ToString(), "--json", "--capture", pcap, "--no-matrix", "--no-tls-versions", "--no-encryption-levels");
            Assert.True(exit == ExitCodes.Ok, error + output);
            ReportSchemas.AssertValid(ReportSchemas.Probe, output);
            var analysis = JsonDocument.Parse(output).RootElement.GetProperty("capture").GetProperty("analysis");
            Assert.Equal("rdpprobe.analysis/1", analysis.GetProperty("schema").GetString());
            Assert.NotEqual(0, analysis.GetProperty("connections").GetArrayLength());
        }
        finally
        {
            File.Delete(pcap);
        }
    }

    [Theory]
    [InlineData("captures/lab/xrdp-tls-login.pcap")]
    [InlineData("captures/lab/nla-bad-password.pcap")]
    [InlineData("captures/lab/pmtud-frag-needed-server-side.pcap")]
    [InlineData("captures/public/zeek/rdpeudp-handshake-fail.pcap")]
    public async Task Analyze_json_of_a_capture_matches_the_schema(string capture)
    {
        string path = Path.Combine(ReportSchemas.RepositoryRoot, capture);
        var (_, output, error) = await AnalyzeAsync(path, "--json", "--port", "3391", "--port", "3397", "--port", "3388", "--port", "3390");
        Assert.False(string.IsNullOrWhiteSpace(output), error);
        ReportSchemas.AssertValid(ReportSchemas.Analysis2, output);
        Assert.NotEqual(0, JsonDocument.Parse(output).RootElement.GetProperty("connections").GetArrayLength() + JsonDocument.Parse(output).RootElement.GetProperty("udp").GetArrayLength());
    }
}
