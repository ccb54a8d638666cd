using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using RdpProbe.Reports;

namespace RdpProbe.Runs.Json;

/// <summary>The probe document on one line (JSON Lines: --all-addresses, --targets), from its own source-generated metadata.</summary>
internal static class ProbeJsonLines
{
    private static readonly JsonTypeInfo<ProbeJsonDocument> Compact =
        (JsonTypeInfo<ProbeJsonDocument>)new JsonSerializerOptions(JsonReportContext.Relaxed.Options) { WriteIndented = false }
            .GetTypeInfo(typeof(ProbeJsonDocument));

    public static string Serialize(ProbeJsonDocument document) => JsonSerializer.Serialize(document, Compact);
}
