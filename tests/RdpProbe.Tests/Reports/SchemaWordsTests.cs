using System.Reflection;
using System.Text.Json.Nodes;
using RdpProbe.Diagnosis;
using RdpProbe.Probe;
using RdpProbe.Probe.Phases;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.JsonReports;

/// <summary>
/// The schemas' enums list every word the code can write: a phase, ending or anomaly kind added to the code without
/// its schema fails here, by name, rather than as a validation error on some report later.
/// </summary>
public sealed class SchemaWordsTests
{
    private static JsonNode Schema(string name) => JsonNode.Parse(File.ReadAllText(ReportSchemas.PathOf(name)))!;

    private static HashSet<string> Enum(JsonNode node) => node["enum"]!.AsArray().Select(w => w!.GetValue<string>()).ToHashSet();

    private static void AssertCovers(HashSet<string> schemaWords, IEnumerable<string> codeWords, string what)
    {
        var missing = codeWords.Where(w => !schemaWords.Contains(w)).ToList();
        Assert.True(missing.Count == 0, $"{what}: the schema does not list {string.Join(", ", missing)}");
    }

    [Theory]
    [InlineData(ReportSchemas.Probe)]
    [InlineData(ReportSchemas.Analysis)]
    [InlineData(ReportSchemas.Repeat)]
    [InlineData(ReportSchemas.Bench)]
    public void Every_phase_name_is_listed(string schema)
    {
        var words = Enum(Schema(schema)["$defs"]!["phaseName"]!);
        AssertCovers(words, System.Enum.GetValues<Phase>().Select(p => p.ToReportName()), "phase names");
        Assert.Equal(System.Enum.GetValues<Phase>().Length, words.Count);
    }

    [Fact]
    public void Every_probe_enum_is_listed()
    {
        var defs = Schema(ReportSchemas.Probe)["$defs"]!;
        AssertCovers(Enum(defs["ending"]!), System.Enum.GetValues<Ending>().Select(e => e.ToReportName()), "endings");
        AssertCovers(Enum(defs["phase"]!["properties"]!["status"]!), System.Enum.GetValues<PhaseStatus>().Select(s => s.ToString().ToLowerInvariant()), "phase statuses");
        AssertCovers(Enum(defs["finding"]!["properties"]!["severity"]!), System.Enum.GetValues<Severity>().Select(s => s.ToString().ToLowerInvariant()), "severities");
        AssertCovers(Enum(defs["supportStatus"]!), System.Enum.GetValues<SupportStatus>().Select(s => s.ToString().ToLowerInvariant()), "support statuses");
        AssertCovers(Enum(defs["protocol"]!["anyOf"]![0]!), System.Enum.GetValues<SecurityProtocols>().Select(p => p.ToReportName()), "protocols");
        AssertCovers(Enum(defs["failureCode"]!["anyOf"]![0]!), System.Enum.GetValues<NegotiationFailureCode>().Select(c => c.ToReportName()), "failure codes");
        var methods = defs["negotiation"]!["properties"]!["encryptionLevels"]!["anyOf"]![1]!["properties"]!["methods"]!["additionalProperties"]!;
        AssertCovers(Enum(methods), System.Enum.GetValues<EncryptionSupport>().Select(s => PhaseNames.SnakeCase(s.ToString())), "encryption level support");
        AssertCovers(Enum(defs["clientVerdict"]!["properties"]!["result"]!), System.Enum.GetValues<Compatibility>().Select(RdpProbe.Reports.ProbeJson.ResultWord), "client results");
        var profiles = Enum(defs["profileName"]!);
        AssertCovers(profiles, ClientProfiles.Names, "client profiles");
        Assert.Equal(ClientProfiles.All.Count, profiles.Count);
    }

    [Fact]
    public void Every_anomaly_kind_is_listed()
    {
        var kinds = typeof(RdpProbe.Reports.CaptureAnalysis).Assembly.GetType("RdpProbe.Analysis.AnomalyKinds", throwOnError: true)!
            .GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(string))
            .Select(f => (string)f.GetRawConstantValue()!)
            .ToList();
        Assert.NotEmpty(kinds);
        AssertCovers(Enum(Schema(ReportSchemas.Analysis)["$defs"]!["anomaly"]!["properties"]!["kind"]!), kinds, "anomaly kinds");
    }

    [Fact]
    public void Every_schema_names_its_id_and_requires_the_envelope()
    {
        foreach (var (name, id) in new[]
        {
            (ReportSchemas.Probe, RdpProbe.Reports.ProbeJson.Schema), (ReportSchemas.Analysis, RdpProbe.Reports.AnalysisReport.SchemaName),
            (ReportSchemas.Repeat, "rdpprobe.repeat/2"), (ReportSchemas.Concurrency, "rdpprobe.concurrency/2"), (ReportSchemas.Bench, "rdpprobe.bench/2"),
        })
        {
            var schema = Schema(name);
            Assert.Equal("https://json-schema.org/draft/2020-12/schema", schema["$schema"]!.GetValue<string>());
            Assert.Equal(id, schema["properties"]!["schema"]!["const"]!.GetValue<string>());

            // The probe schema holds two shapes (the report, and the --targets line of a target that could not be
            // probed); the report is the one that requires the whole envelope.
            var document = name == ReportSchemas.Probe ? schema["$defs"]!["report"]! : schema;
            var required = document["required"]!.AsArray().Select(r => r!.GetValue<string>()).ToList();
            Assert.Contains("schema", required);
            Assert.Contains("tool", required);
        }
    }
}
