using System.Text.Json.Serialization;

namespace RdpProbe.Reports;

/// <summary>Source-generated JSON for the reports (no reflection, AOT-friendly): camelCase keys, nulls written, indented.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    WriteIndented = true)]
[JsonSerializable(typeof(ProbeJsonDocument))]
[JsonSerializable(typeof(AnalysisReport))]
public sealed partial class JsonReportContext : JsonSerializerContext
{
    /// <summary>The same context writing apostrophes and non-ASCII as they are ("server's", "→") instead of \uXXXX:
    /// reports go to terminals, files and jq, never into HTML.</summary>
    public static JsonReportContext Relaxed { get; } = new(new System.Text.Json.JsonSerializerOptions
    {
        PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
