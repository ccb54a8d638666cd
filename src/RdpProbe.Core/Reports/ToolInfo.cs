using System.Reflection;

namespace RdpProbe.Reports;

/// <summary>
/// Which tool wrote a JSON document: every document carries it as <c>"tool": {"name": "rdpprobe", "version": "..."}</c>
/// right after <c>"schema"</c> (docs/REPORTS.md, "Envelope"), so a report found later says which build produced it.
/// </summary>
/// <param name="Name">Always "rdpprobe".</param>
/// <param name="Version">The Core assembly's informational version (the build's version, with the commit when the build knew it).</param>
public sealed record ToolInfo(string Name, string Version)
{
    /// <summary>This build, read once from the Core assembly's AssemblyInformationalVersion attribute.</summary>
    public static ToolInfo Current { get; } = new(
        "rdpprobe",
        typeof(ToolInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? typeof(ToolInfo).Assembly.GetName().Version?.ToString()
            ?? "unknown");
}
