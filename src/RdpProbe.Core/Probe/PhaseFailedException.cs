using RdpProbe.Diagnosis;

namespace RdpProbe.Probe;

/// <summary>
/// A phase ended other than ok, with the peer's action and code. The engine turns it into the phase record; the
/// verdict reads the record's ending and code, never this message.
/// </summary>
internal sealed class PhaseFailedException(Ending ending, string? code, string detail) : Exception(detail)
{
    public Ending Ending { get; } = ending;

    public string? Code { get; } = code;
}
