using System.Text.Json.Nodes;

namespace RdpProbe.Tests.JsonReports;

/// <summary>
/// The repeat, concurrency and bench schemas (rdpprobe.repeat/2, rdpprobe.concurrency/2, rdpprobe.bench/2): strict on
/// the envelope and on the one statistics shape {count, min, median, p90, p99, max, mean}, open on the rest. Checked
/// on documents of the shape docs/REPORTS.md describes, and on the ways such a document can go wrong.
/// </summary>
public sealed class RunDocumentSchemaTests
{
    private const string Tool = """{ "name": "rdpprobe", "version": "1.0.0+abc" }""";

    private const string Stats = """{ "count": 20, "min": 1.1, "median": 1.4, "p90": 2.0, "p99": 2.6, "max": 2.7, "mean": 1.5 }""";

    private static readonly string Repeat = $$"""
        {
          "schema": "rdpprobe.repeat/2", "tool": {{Tool}}, "target": "srv:3389",
          "runsAsked": 20, "runsDone": 20, "runsFullySucceeded": 19,
          "phases": [
            { "phase": "tcp", "attempted": 20, "succeeded": 20, "successRate": 1, "wireMs": {{Stats}}, "failures": {} },
            { "phase": "tls", "attempted": 20, "succeeded": 19, "successRate": 0.95, "wireMs": {{Stats}}, "failures": { "reset": 1 } },
            { "phase": "credssp", "attempted": 0, "succeeded": 0, "successRate": 0, "wireMs": null, "failures": {} }
          ],
          "verdict": "19 of 20 runs succeeded"
        }
        """;

    private static readonly string Concurrency = $$"""
        {
          "schema": "rdpprobe.concurrency/2", "tool": {{Tool}}, "target": "srv:3389", "address": "192.0.2.10",
          "requested": 50, "accepted": 40, "refused": 10, "dropped": 0, "stalled": 0, "notTried": 0, "openAtEnd": 40,
          "firstFailure": 41, "verdict": "the server refused connections from the 41st on"
        }
        """;

    private static readonly string Bench = $$"""
        {
          "schema": "rdpprobe.bench/2", "tool": {{Tool}}, "target": "srv:3389", "address": "192.0.2.10",
          "startedAt": "2026-12-01T05:00:00Z", "durationMs": 812.5, "runsAsked": 20, "warmup": 2, "runsDone": 20, "runsComplete": 20,
          "withCredentials": false, "tlsVersion": "tls1.3", "stoppedEarly": null, "rttSource": "tcp_connect", "rttMs": {{Stats}},
          "coldRunWallMs": 120.4,
          "phases": [
            { "phase": "tls", "attempted": 20, "succeeded": 20, "failures": {}, "wireMs": {{Stats}}, "wallMs": {{Stats}},
              "clientMs": {{Stats}}, "roundTrips": {{Stats}}, "rttFloor": 1, "extraRoundTrips": 0, "networkMs": {{Stats}},
              "serverMs": null, "attribution": "network" }
          ],
          "total": { "wireMs": {{Stats}}, "wallMs": {{Stats}}, "roundTrips": {{Stats}}, "rttFloor": 5, "atFloor": true }
        }
        """;

    public static TheoryData<string, string> Documents() => new()
    {
        { ReportSchemas.Repeat, Repeat },
        { ReportSchemas.Concurrency, Concurrency },
        { ReportSchemas.Bench, Bench },
    };

    [Theory]
    [MemberData(nameof(Documents))]
    public void A_document_of_the_described_shape_matches(string schema, string json) => ReportSchemas.AssertValid(schema, json);

    [Theory]
    [MemberData(nameof(Documents))]
    public void The_envelope_is_required(string schema, string json)
    {
        foreach (string key in new[] { "schema", "tool" })
        {
            var root = JsonNode.Parse(json)!.AsObject();
            root.Remove(key);
            Assert.NotEmpty(ReportSchemas.Errors(schema, root.ToJsonString()));
        }

        var old = JsonNode.Parse(json)!.AsObject();
        old["schema"] = old["schema"]!.GetValue<string>().Replace("/2", "/1", StringComparison.Ordinal);
        Assert.NotEmpty(ReportSchemas.Errors(schema, old.ToJsonString()));

        var noVersion = JsonNode.Parse(json)!.AsObject();
        noVersion["tool"]!.AsObject().Remove("version");
        Assert.NotEmpty(ReportSchemas.Errors(schema, noVersion.ToJsonString()));
    }

    [Theory]
    [InlineData(ReportSchemas.Repeat, "/phases/0/wireMs")]
    [InlineData(ReportSchemas.Bench, "/rttMs")]
    [InlineData(ReportSchemas.Bench, "/phases/0/wireMs")]
    [InlineData(ReportSchemas.Bench, "/phases/0/roundTrips")]
    [InlineData(ReportSchemas.Bench, "/total/wallMs")]
    public void Statistics_have_exactly_the_one_shape(string schema, string pointer)
    {
        string json = schema == ReportSchemas.Repeat ? Repeat : Bench;
        string[] path = pointer.Trim('/').Split('/');

        JsonObject StatsIn(JsonNode root)
        {
            var node = root;
            foreach (string step in path)
            {
                node = int.TryParse(step, out int i) ? node[i]! : node[step]!;
            }

            return node.AsObject();
        }

        // The bench/1 spelling ("n" for the count) and a missing percentile both fail; so does an extra key.
        var renamed = JsonNode.Parse(json)!;
        var stats = StatsIn(renamed);
        stats["n"] = stats["count"]!.DeepClone();
        stats.Remove("count");
        Assert.NotEmpty(ReportSchemas.Errors(schema, renamed.ToJsonString()));

        var missing = JsonNode.Parse(json)!;
        StatsIn(missing).Remove("p99");
        Assert.NotEmpty(ReportSchemas.Errors(schema, missing.ToJsonString()));

        var extra = JsonNode.Parse(json)!;
        StatsIn(extra)["p50"] = 1.4;
        Assert.NotEmpty(ReportSchemas.Errors(schema, extra.ToJsonString()));
    }

    [Fact]
    public void A_median_anywhere_means_the_statistics_shape()
    {
        var root = JsonNode.Parse(Repeat)!;
        root["phases"]![0]!["latency"] = new JsonObject { ["median"] = 1.0, ["p50"] = 1.0 };
        Assert.NotEmpty(ReportSchemas.Errors(ReportSchemas.Repeat, root.ToJsonString()));
    }

    [Theory]
    [InlineData(ReportSchemas.Repeat)]
    [InlineData(ReportSchemas.Bench)]
    public void A_phase_outside_the_phase_names_fails(string schema)
    {
        var root = JsonNode.Parse(schema == ReportSchemas.Repeat ? Repeat : Bench)!;
        root["phases"]![0]!["phase"] = "handshake";
        Assert.NotEmpty(ReportSchemas.Errors(schema, root.ToJsonString()));
    }

    [Fact]
    public void Keys_the_schema_does_not_describe_are_allowed()
    {
        var root = JsonNode.Parse(Concurrency)!;
        root["heldForMs"] = 5000;
        root["notes"] = new JsonArray("a", "b");
        ReportSchemas.AssertValid(ReportSchemas.Concurrency, root.ToJsonString());
    }
}
