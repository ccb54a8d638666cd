using System.Text.Json.Nodes;
using RdpProbe.Analysis;
using RdpProbe.Reports;

namespace RdpProbe.Tests.JsonReports;

/// <summary>
/// The analysis document of every capture in captures/ (the lab's and the public ones), as the analyzer writes it,
/// validated against docs/schemas/analysis.schema.json, and broken documents rejected.
/// </summary>
public sealed class AnalysisSchemaTests
{
    /// <summary>The lab's servers listen on these ports besides 3389; the xfreerdp-* captures were taken on the default lab base (captures/README.md).</summary>
    private static readonly AnalyzerOptions LabPorts = new() { Ports = [3388, 3389, 3390, 3391, 3397, 13392, 13394] };

    /// <summary>Every .pcap and .pcapng under captures/, relative to the repository root.</summary>
    private static List<string> CaptureFiles() =>
        Directory.EnumerateFiles(Path.Combine(ReportSchemas.RepositoryRoot, "captures"), "*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".pcap", StringComparison.Ordinal) || f.EndsWith(".pcapng", StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(ReportSchemas.RepositoryRoot, f))
            .Order(StringComparer.Ordinal)
            .ToList();

    public static TheoryData<string> Captures() => new(CaptureFiles());

    private static string AnalysisJson(string relative)
    {
        string path = Path.Combine(ReportSchemas.RepositoryRoot, relative);
        var options = relative.Contains("lab", StringComparison.Ordinal) ? LabPorts : new AnalyzerOptions();

        // Damaged captures still produce a report (results up to the damage): it must match the schema too.
        return CaptureAnalysis.Run([path], options).Report.ToJson();
    }

    [Theory]
    [MemberData(nameof(Captures))]
    public void Analysis_of_each_capture_matches_the_schema(string capture)
    {
        ReportSchemas.AssertValid(ReportSchemas.Analysis, AnalysisJson(capture));
    }

    [Fact]
    public void The_captures_exercise_every_part_of_the_schema()
    {
        // Without this the theory above could pass on captures that leave the optional sections null.
        var documents = CaptureFiles().Select(file => JsonNode.Parse(AnalysisJson(file))!).ToList();
        var connections = documents.SelectMany(d => d["connections"]!.AsArray()).ToList();
        Assert.True(documents.Count >= 20, $"only {documents.Count} captures");
        Assert.Contains(connections, c => c!["tls"] is not null);
        Assert.Contains(connections, c => c!["credssp"] is not null);
        Assert.Contains(connections, c => c!["standardSecurity"] is not null);
        Assert.Contains(connections, c => c!["anomalies"]!.AsArray().Count > 0);
        Assert.Contains(connections, c => c!["failureCode"] is not null || c["ending"]!.GetValue<string>() == "refused");
        Assert.Contains(documents, d => d["udp"]!.AsArray().Count > 0);
        Assert.Contains(documents, d => d["icmp"]!.AsArray().Count > 0);
        Assert.All(documents, d => Assert.Equal("rdpprobe", d["tool"]!["name"]!.GetValue<string>()));
    }

    private static JsonNode Document() => JsonNode.Parse(AnalysisJson(Path.Combine("captures", "lab", "nla-bad-password.pcap")))!;

    [Theory]
    [InlineData("tool")]
    [InlineData("connections")]
    [InlineData("fragments")]
    [InlineData("warnings")]
    public void A_document_without_a_required_key_fails(string key)
    {
        var root = (JsonObject)Document();
        Assert.True(root.Remove(key));
        Assert.NotEmpty(ReportSchemas.Errors(ReportSchemas.Analysis, root.ToJsonString()));
    }

    [Theory]
    [InlineData("name")]
    [InlineData("firstFrame")]
    public void A_connection_phase_without_a_required_key_fails(string key)
    {
        var root = Document();
        var phase = (JsonObject)root["connections"]![0]!["phases"]![0]!;
        Assert.True(phase.Remove(key));
        Assert.Contains(ReportSchemas.Errors(ReportSchemas.Analysis, root.ToJsonString()), e => e.StartsWith("/connections/0/phases/0", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("ending", "vanished")]
    [InlineData("lastPhase", "login")]
    [InlineData("endedBy", "nobody")]
    public void A_word_outside_the_enum_fails(string key, string word)
    {
        var root = Document();
        root["connections"]![0]![key] = word;
        Assert.NotEmpty(ReportSchemas.Errors(ReportSchemas.Analysis, root.ToJsonString()));
    }

    [Fact]
    public void An_unknown_anomaly_kind_fails()
    {
        var root = Document();
        var connection = root["connections"]![0]!;
        connection["anomalies"] = new JsonArray(new JsonObject
        {
            ["kind"] = "gremlins", ["frames"] = new JsonArray(1), ["count"] = 1, ["phase"] = "tls", ["from"] = "client", ["detail"] = null, ["filter"] = "frame.number == 1", ["file"] = "a.pcap", ["inferred"] = false,
        });
        Assert.NotEmpty(ReportSchemas.Errors(ReportSchemas.Analysis, root.ToJsonString()));
        connection["anomalies"]![0]!["kind"] = "retransmission";
        Assert.Empty(ReportSchemas.Errors(ReportSchemas.Analysis, root.ToJsonString()));
    }
}
