using System.CommandLine;
using RdpProbe.Analysis;
using RdpProbe.Cli;
using RdpProbe.Diagnosis;
using RdpProbe.Tests.JsonReports;
using Spectre.Console.Testing;

namespace RdpProbe.Tests.Analysis;

/// <summary>
/// Issue 10: the analyzer gives every profile's verdict per connection (the probe's compatibility table), from the facts
/// the capture shows, in the JSON (connections[].compatibility) and in the detail view; real xfreerdp 2.11 captures.
/// </summary>
public sealed class AnalysisCompatibilityTests
{
    private static readonly AnalyzerOptions LabPorts = new() { Ports = [13392, 13394] };

    private static string Capture(string name) => Path.Combine(TestCaptures.Root, "captures", "lab", name);

    [Fact]
    public void Tls_1_0_only_server_every_profile_has_its_row_and_the_default_row_is_the_client_verdict()
    {
        var report = TestCaptures.Analyze(LabPorts, Capture("xfreerdp-tls10-only-xrdp.pcap"));
        var c = Assert.Single(report.Connections);
        Assert.Equal(ClientProfiles.Names, c.Compatibility.Select(v => v.Profile));
        Assert.Equal(c.ClientVerdict, c.Compatibility.Single(v => v.Profile == "windows11"), ClientVerdictComparer.Instance);

        // TLS 1.0 only (seen in the ServerHello): the TLS-1.2-and-up clients fail there, on the inferred version facts.
        foreach (var name in new[] { "windows11", "macos", "freerdp2", "freerdp3" })
        {
            var row = c.Compatibility.Single(v => v.Profile == name);
            Assert.Equal(("fails", "tls", "no_common_tls_version"), (row.Result, row.FailPhase, row.Reason));
            Assert.True(row.Inferred);
        }

        Assert.Empty(ReportSchemas.Errors(ReportSchemas.Analysis, report.ToJson()));
    }

    [Fact]
    public void A_connection_the_server_never_answered_has_no_table()
    {
        var report = TestCaptures.Analyze(new AnalyzerOptions(), Capture("reset-at-clienthello.pcap"));
        Assert.All(report.Connections, c => Assert.Equal(c.ClientVerdict is null, c.Compatibility.Count == 0));
        var closed = TestCaptures.Analyze(new AnalyzerOptions(), Capture("closed-port.pcap"));
        Assert.All(closed.Connections, c => Assert.Empty(c.Compatibility));
    }

    [Fact]
    public async Task The_detail_view_lists_every_profile()
    {
        var output = new TestConsole();
        output.Profile.Width = 4000;
        var root = new RootCommand();
        root.Subcommands.Add(AnalyzeCommand.Create(output, new TestConsole()));
        await CommandLineHost.RunAsync(root, ["analyze", Capture("xfreerdp-tls10-only-xrdp.pcap"), "--port", "13394", "--no-progress"]);
        string text = output.Output;
        Assert.Contains("  compatibility:", text, StringComparison.Ordinal);
        Assert.Contains("    freerdp2   FAILS at tls because no_common_tls_version (inferred)", text, StringComparison.Ordinal);
        Assert.All(ClientProfiles.Names, n => Assert.Contains($"    {n,-10} ", text, StringComparison.Ordinal));
    }

    /// <summary>Records with list members compare lists by reference: compare what a reader sees.</summary>
    private sealed class ClientVerdictComparer : IEqualityComparer<RdpProbe.Reports.ClientVerdictReport?>
    {
        public static readonly ClientVerdictComparer Instance = new();

        public bool Equals(RdpProbe.Reports.ClientVerdictReport? x, RdpProbe.Reports.ClientVerdictReport? y)
            => x is not null && y is not null && (x.Profile, x.Result, x.Protocol, x.FailPhase, x.Reason, x.Summary) == (y.Profile, y.Result, y.Protocol, y.FailPhase, y.Reason, y.Summary)
               && x.Steps.SequenceEqual(y.Steps) && x.Warnings.SequenceEqual(y.Warnings) && x.NeedsConnection.SequenceEqual(y.NeedsConnection);

        public int GetHashCode(RdpProbe.Reports.ClientVerdictReport? obj) => obj?.Profile.GetHashCode(StringComparison.Ordinal) ?? 0;
    }
}
