using RdpProbe.Diagnosis;

namespace RdpProbe.Probe;

/// <summary>
/// How a phase ended other than ok: the ending, the peer's code when it sent one (a failure code, an alert name, an
/// NTSTATUS), and one line for the human view. The verdict reads the ending and the code, never the detail.
/// </summary>
internal readonly record struct PhaseFailure(Ending Ending, Code? Code, string Detail)
{
    public void ApplyTo(PhaseRecord record) => record.Fail(Ending, Code, Detail);
}

/// <summary>
/// Ends a phase from inside a helper: the peer did something that decides the phase (closed, sent garbage, said no).
/// The phase runner (or <see cref="Phases.PhaseIo.RecordFailure"/> inside the session phases) turns it into the record's
/// ending; it never leaves the probe.
/// </summary>
internal sealed class PhaseFailedException : Exception
{
    public PhaseFailedException(Ending ending, Code? code, string detail)
        : this(new PhaseFailure(ending, code, detail))
    {
    }

    public PhaseFailedException(PhaseFailure failure)
        : base(failure.Detail) => Failure = failure;

    public PhaseFailure Failure { get; }

    public Ending Ending => Failure.Ending;

    public Code? Code => Failure.Code;
}
