using System.Text.Json;
using Json.Schema;

namespace RdpProbe.Tests.JsonReports;

/// <summary>
/// The JSON Schemas of docs/schemas, read from the repository itself (found by walking up from the test assembly to
/// the folder holding RdpProbe.sln), so the tests check the very files users read. Shared by the unit and the
/// integration test projects (the latter links this file).
/// </summary>
internal static class ReportSchemas
{
    public const string Probe = "probe";
    public const string Analysis = "analysis";
    public const string Analysis2 = "analysis2";
    public const string AnalysisLines = "analysis-lines";
    public const string Repeat = "repeat";
    public const string Concurrency = "concurrency";
    public const string Bench = "bench";

    /// <summary>Analysis first: the probe schema refers to it for the --capture section.</summary>
    public static readonly string[] All = [Analysis, Analysis2, AnalysisLines, Probe, Repeat, Concurrency, Bench];

    private static readonly Lazy<IReadOnlyDictionary<string, JsonSchema>> Schemas = new(Load);

    public static string RepositoryRoot { get; } = FindRoot();

    public static string PathOf(string name) => Path.Combine(RepositoryRoot, "docs", "schemas", name + ".schema.json");

    public static JsonSchema Get(string name) => Schemas.Value[name];

    /// <summary>The schema's errors for <paramref name="json"/>, one line each ("/phases/0/ending: Value should match one of ..."); empty when valid.</summary>
    public static IReadOnlyList<string> Errors(string name, string json)
    {
        using var document = JsonDocument.Parse(json);
        return Errors(name, document.RootElement);
    }

    public static IReadOnlyList<string> Errors(string name, JsonElement instance)
    {
        var result = Get(name).Evaluate(instance, new EvaluationOptions { OutputFormat = OutputFormat.Hierarchical });
        var errors = new List<string>();
        Collect(result, errors);
        return result.IsValid ? [] : errors.Count > 0 ? errors : ["invalid (no detail)"];
    }

    /// <summary>
    /// Objects whose keys are data, not names (docs/REPORTS.md, "Naming and values"): protocol words, TLS versions,
    /// encryption method names, ending words. Their keys keep the words' own spelling.
    /// </summary>
    private static readonly string[] DataMaps = ["support", "supportDetail", "versions", "methods", "failures"];

    /// <summary>Every key, as a JSON Pointer, that is not camelCase (outside the data maps).</summary>
    public static IReadOnlyList<string> NonCamelCaseKeys(JsonElement root)
    {
        var bad = new List<string>();
        Walk(root, string.Empty, isDataMap: false, bad);
        return bad;
    }

    private static void Walk(JsonElement element, string path, bool isDataMap, List<string> bad)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in element.EnumerateObject())
            {
                if (!isDataMap && !System.Text.RegularExpressions.Regex.IsMatch(property.Name, "^[a-z][a-zA-Z0-9]*$"))
                {
                    bad.Add(path + "/" + property.Name);
                }

                Walk(property.Value, path + "/" + property.Name, DataMaps.Contains(property.Name), bad);
            }
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            int i = 0;
            foreach (var item in element.EnumerateArray())
            {
                Walk(item, $"{path}/{i++}", isDataMap: false, bad);
            }
        }
    }

    /// <summary>
    /// Fails the test with every schema error, and the document's start, when the document does not validate; and
    /// when a key is not camelCase (the schemas allow keys they do not know, so a snake_case addition would pass them).
    /// </summary>
    public static void AssertValid(string name, string json)
    {
        using (var document = JsonDocument.Parse(json))
        {
            var keys = NonCamelCaseKeys(document.RootElement);
            Assert.True(keys.Count == 0, $"{name} document has keys that are not camelCase: {string.Join(", ", keys)}");
        }

        var errors = Errors(name, json);
        Assert.True(errors.Count == 0, $"{name} document does not match docs/schemas/{name}.schema.json:\n  "
            + string.Join("\n  ", errors.Take(20)) + "\n--- document ---\n" + (json.Length > 4000 ? json[..4000] + "..." : json));
    }

    /// <summary>
    /// The errors of the failed nodes only: an anyOf that held (null or an object) keeps the errors of its other branch
    /// in the output, and those are not errors of the document.
    /// </summary>
    private static void Collect(EvaluationResults node, List<string> errors)
    {
        if (node.IsValid)
        {
            return;
        }

        if (node.Errors is { Count: > 0 })
        {
            errors.AddRange(node.Errors.Select(e => $"{node.InstanceLocation}: {e.Value} ({node.EvaluationPath})"));
        }

        foreach (var child in node.Details ?? [])
        {
            Collect(child, errors);
        }
    }

    private static IReadOnlyDictionary<string, JsonSchema> Load()
    {
        // A registry of our own: the global one would refuse a second build of the same $id in another test class.
        var options = new BuildOptions { SchemaRegistry = new SchemaRegistry() };
        var schemas = new Dictionary<string, JsonSchema>();
        foreach (string name in All)
        {
            schemas[name] = JsonSchema.FromText(File.ReadAllText(PathOf(name)), options);
        }

        return schemas;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "RdpProbe.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no RdpProbe.sln above {AppContext.BaseDirectory}: the schema tests run from the repository");
    }
}
