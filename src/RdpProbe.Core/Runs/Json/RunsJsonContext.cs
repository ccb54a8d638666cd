using System.Text.Json;
using System.Text.Json.Serialization;

namespace RdpProbe.Runs.Json;

/// <summary>
/// Source-generated JSON for the run documents (repeat, concurrency, bench, the --targets error line): camelCase keys,
/// nulls written, non-ASCII written as is (reports go to terminals, files and jq, never into HTML).
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    WriteIndented = true)]
[JsonSerializable(typeof(RepeatDocument))]
[JsonSerializable(typeof(ConcurrencyDocument))]
[JsonSerializable(typeof(BenchDocument))]
[JsonSerializable(typeof(TargetErrorDocument))]
public sealed partial class RunsJsonContext : JsonSerializerContext
{
    /// <summary>Indented, for one document on stdout.</summary>
    public static RunsJsonContext Indented { get; } = new(SerializerOptions(indented: true));

    /// <summary>One line per document (JSON Lines).</summary>
    public static RunsJsonContext Compact { get; } = new(SerializerOptions(indented: false));

    private static JsonSerializerOptions SerializerOptions(bool indented) => new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        WriteIndented = indented,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}
