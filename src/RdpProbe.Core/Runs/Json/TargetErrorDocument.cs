namespace RdpProbe.Runs.Json;

/// <summary>--targets --json: the line for a target whose probe threw instead of producing a report.</summary>
public sealed record TargetErrorDocument(string Schema, string Target, string? Error);
