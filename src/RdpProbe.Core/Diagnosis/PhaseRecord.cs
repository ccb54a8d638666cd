namespace RdpProbe.Diagnosis;

public enum Direction
{
    Sent,
    Received,
}

/// <summary>One message on the wire as a phase saw it: when (ms since the phase began), which way, how big, what it was.</summary>
public sealed record WireMessage(Direction Direction, double AtMs, int Length, string Description);

/// <summary>
/// What one phase did: what was sent, what came back, how long it took and how it ended. Verdicts are computed
/// from these records, never from exception text.
/// </summary>
public sealed class PhaseRecord
{
    public PhaseRecord(Phase phase) => Phase = phase;

    public Phase Phase { get; }
    public PhaseStatus Status { get; set; } = PhaseStatus.Ok;
    public Ending Ending { get; set; } = Ending.Ok;
    /// <summary>Time on the wire: the phase's waits for the network and the peer, in milliseconds.</summary>
    public double Ms { get; set; }

    /// <summary>Wall-clock time of the whole phase, client work included.</summary>
    public double? WallMs { get; set; }

    /// <summary>The client's own time in the phase (wall minus wire): crypto, JIT, scheduling.</summary>
    public double? ClientMs { get; set; }

    /// <summary>Send→receive turns seen on the wire during the phase.</summary>
    public int? RoundTrips { get; set; }

    /// <summary>The peer's code in report form when it sent one: a failure code, an NTSTATUS or alert name, an errorInfo name.</summary>
    public Code? Code { get; set; }

    /// <summary>One line on what happened, for the human view.</summary>
    public string? Detail { get; set; }

    public List<WireMessage> Messages { get; } = [];

    /// <summary>
    /// What the phase knows about who ended the connection and with what (issue 11), when it knows more than its
    /// ending says (the sender of a TLS alert, a cleartext PDU where TLS was due); null: derived from the ending.
    /// </summary>
    public Attribution? Attribution { get; set; }

    /// <summary>x224 only: what identified (or failed to identify) the service on the port when no Connection Confirm came (issue 11).</summary>
    public ServiceEvidence? Service { get; set; }

    /// <summary>
    /// Set when the phase failed and the client went on without it, as the real client does: Negotiate falls back to
    /// NTLM when Kerberos cannot be had (issue 12). The failure stays in the record as evidence, but it is not where
    /// the connection ended, so it is not the verdict. The word names what the client fell back to ("ntlm").
    /// </summary>
    public string? FellBackTo { get; set; }

    /// <summary>Failed, and the connection ended there (not a failure the client fell back from).</summary>
    public bool EndedTheConnection => Status == PhaseStatus.Failed && FellBackTo is null;

    public void Fail(Ending ending, Code? code = null, string? detail = null)
    {
        Status = PhaseStatus.Failed;
        Ending = ending;
        Code = code;
        Detail = detail;
    }

    public void Skip(string? detail = null)
    {
        Status = PhaseStatus.Skipped;
        Ending = Ending.Skipped;
        Detail = detail;
    }
}
