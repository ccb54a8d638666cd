using System.Text.Json.Serialization;

namespace RdpProbe.Reports;

/// <summary>Source-generated JSON for the reports (no reflection, AOT-friendly): camelCase keys, nulls written, indented.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    WriteIndented = true)]
[JsonSerializable(typeof(ProbeJsonDocument))]
public sealed partial class JsonReportContext : JsonSerializerContext;
