namespace RdpProbe.Diagnosis;

/// <summary>How much a finding matters, most severe first (testssl.sh's scale).</summary>
public enum Severity
{
    Critical,
    High,
    Medium,
    Low,
    Info,
}

/// <summary>
/// One thing the probe observed about the server's security or reachability that a person should act on, whether
/// or not the connection succeeded: what it is, the evidence the tool saw, and what to do.
/// </summary>
/// <param name="Code">Stable snake_case word for scripts ("security_downgrade").</param>
/// <param name="Title">One sentence a person reads first.</param>
/// <param name="Evidence">What was observed on the wire, in the tool's own words.</param>
/// <param name="Remedy">What to change.</param>
public sealed record Finding(string Code, Severity Severity, string Title, string Evidence, string Remedy)
{
    /// <summary>
    /// The client profiles (<see cref="ClientProfile.Name"/>) this finding stops or warns, e.g. ["windows11", "freerdp2"];
    /// empty when it is about security alone and no client behaves differently because of it.
    /// </summary>
    public IReadOnlyList<string> Affects { get; init; } = [];
}
