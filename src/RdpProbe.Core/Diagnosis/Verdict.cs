namespace RdpProbe.Diagnosis;

/// <summary>
/// The outcome of a probe or of one analysed connection: the first phase that did not end ok (or the last phase run
/// when all did), how it ended, its code, and what it means. The live probe and the capture analyzer share this type;
/// report words (snake_case phase and ending names) are made only when a report is written.
/// </summary>
public sealed record Verdict(
    bool Ok,
    Phase Phase,
    Ending Ending,
    Code? Code,
    string Summary,
    IReadOnlyList<string> Causes,
    IReadOnlyList<string> Remedies)
{
    /// <summary>
    /// True when the verdict rests on inference rather than on a decoded message: the capture analyzer reading
    /// encrypted record sizes and timing (CredSSP rounds, stalls). The live probe sees every message, so never.
    /// </summary>
    public bool Inferred { get; init; }

    /// <summary>
    /// Computes the verdict from phase records only (never from exception text). Skipped phases are neither failures
    /// nor successes. An empty list gives a failed verdict at the tcp phase.
    /// </summary>
    public static Verdict From(IReadOnlyList<PhaseRecord> phases)
    {
        ArgumentNullException.ThrowIfNull(phases);
        var ran = phases.Where(p => p.Status != PhaseStatus.Skipped).ToList();
        var failed = ran.FirstOrDefault(p => p.Status == PhaseStatus.Failed || p.Ending != Ending.Ok);
        if (failed is not null)
        {
            var explanation = Symptoms.Explain(failed.Phase, failed.Ending, failed.Code);
            return new Verdict(false, failed.Phase, failed.Ending, failed.Code, explanation.Summary, explanation.Causes, explanation.Remedies);
        }

        if (ran.Count == 0)
        {
            return new Verdict(false, Phase.Tcp, Ending.Skipped, null, "No phase ran.", [], []);
        }

        // The last phase of the connection sequence, not an extra check that happened to finish last.
        var last = ran.LastOrDefault(p => p.Phase < Phase.SecurityMatrix) ?? ran[^1];
        var ok = Symptoms.Explain(last.Phase, Ending.Ok, null);
        return new Verdict(true, last.Phase, Ending.Ok, null, ok.Summary, ok.Causes, ok.Remedies);
    }
}
