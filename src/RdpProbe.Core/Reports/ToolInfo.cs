using System.Reflection;

namespace RdpProbe.Reports;

/// <summary>The program that wrote a JSON document: <c>"tool": {"name": "rdpprobe", "version": "…"}</c> in every report.</summary>
public sealed record ToolInfo(string Name, string Version)
{
    /// <summary>rdpprobe with the Core assembly's informational version (the build's version, commit suffix included).</summary>
    public static ToolInfo Current { get; } = new(
        "rdpprobe",
        typeof(ToolInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? typeof(ToolInfo).Assembly.GetName().Version?.ToString()
            ?? "0.0.0");
}
