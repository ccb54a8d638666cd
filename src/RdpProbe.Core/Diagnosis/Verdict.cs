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

    /// <summary>Who sent the last meaningful bytes, what they were and how the connection ended (issue 11); null when not attributed.</summary>
    public Attribution? Attribution { get; init; }

    /// <summary>The evidence that ranks the first cause, in one line (<see cref="Attribution.Evidence"/>).</summary>
    public string? Evidence { get; init; }

    /// <summary>When the evidence cannot decide: the possibilities that remain and what would tell them apart.</summary>
    public IReadOnlyList<string> Undecided { get; init; } = [];

    /// <summary>
    /// Computes the verdict from phase records only (never from exception text). Skipped phases are neither failures
    /// nor successes, and neither are failures the client fell back from (<see cref="PhaseRecord.FellBackTo"/>). An empty list gives a failed verdict at the tcp phase.
    /// </summary>
    public static Verdict From(IReadOnlyList<PhaseRecord> phases)
    {
        ArgumentNullException.ThrowIfNull(phases);
        // A failure the client fell back from (Kerberos → NTLM) is evidence, not the outcome: the phases after it decide.
        var ran = phases.Where(p => p.Status != PhaseStatus.Skipped && p.FellBackTo is null).ToList();
        var failed = ran.FirstOrDefault(p => p.Status == PhaseStatus.Failed || p.Ending != Ending.Ok);
        if (failed is not null)
        {
            var explanation = Symptoms.Explain(failed.Phase, failed.Ending, failed.Code);
            if (failed.Service is { } service)
            {
                // A service identified on the port (or the steps that found none) outranks the ending's generic causes.
                explanation = ForeignService.Explain(service, failed.Ending, explanation);
            }

            var verdict = new Verdict(false, failed.Phase, failed.Ending, failed.Code, explanation.Summary, explanation.Causes, explanation.Remedies);
            var attribution = failed.Attribution ?? LiveAttribution.Of(failed, ran);
            if (ran.Any(p => p.Phase == Phase.Mtu && p.Code == Codes.MtuBlackHole))
            {
                // The MTU check ran on its own connection and measured the black hole (issue 11: evidence, not a guess).
                attribution = attribution with { MtuCheckBlackHole = true };
            }

            if (failed.Service is { IsForeign: true })
            {
                // The service's own bytes already name the cause; the attribution is kept as evidence only.
                return verdict with { Attribution = attribution, Evidence = attribution.Evidence() };
            }

            var ranked = CauseRanking.Apply(verdict, attribution);
            if (failed.Service is not null)
            {
                // Identification ran and named nothing: its summary and "what remains possible" stay first.
                return ranked with { Summary = verdict.Summary, Causes = CauseRanking.Dedupe(verdict.Causes.Take(1).Concat(ranked.Causes)) };
            }

            return ranked;
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
