using RdpProbe.Diagnosis;

namespace RdpProbe.Runs;

/// <summary>One send → answer turn on the wire, in ms since the phase began.</summary>
public readonly record struct Turn(double SentAtMs, double AnsweredAtMs)
{
    public double WaitMs => AnsweredAtMs - SentAtMs;
}

/// <summary>
/// Round trips a phase cost on the wire and the least the protocol allows. A turn is counted when the client sent
/// something and then received an answer: bytes sent after bytes sent, or received after received, belong to the same
/// flight and cost nothing extra.
/// </summary>
public static class RoundTrips
{
    /// <summary>Send→receive turns in a message flow (ordered by time on the wire; a stable sort keeps same-time order).</summary>
    public static IReadOnlyList<Turn> Turns(IEnumerable<WireMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var turns = new List<Turn>();
        double? waitingSince = null;
        foreach (var message in messages.OrderBy(m => m.AtMs))
        {
            if (message.Direction == Direction.Sent)
            {
                waitingSince ??= message.AtMs;
            }
            else if (waitingSince is { } since)
            {
                turns.Add(new Turn(since, message.AtMs));
                waitingSince = null;
            }
        }

        return turns;
    }

    public static int Count(IEnumerable<WireMessage> messages) => Turns(messages).Count;

    /// <summary>
    /// The turns that cost the client a wait. In TLS 1.3 the client's second flight (Finished) completes the handshake
    /// (RFC 8446 §2); what the server sends after it — OpenSSL sends two NewSessionTicket messages (§4.6.1) — is
    /// post-handshake data nobody waits for, so a last turn that begins with the client's last flight is not counted.
    /// </summary>
    public static IReadOnlyList<Turn> WaitedTurns(PhaseRecord record, string? tlsVersion)
    {
        ArgumentNullException.ThrowIfNull(record);
        var turns = Turns(record.Messages);
        if (record.Phase == Phase.Tls && IsTls13(tlsVersion) && turns.Count >= 2)
        {
            double lastSend = record.Messages.Where(m => m.Direction == Direction.Sent).Max(m => m.AtMs);
            if (turns[^1].SentAtMs >= lastSend)
            {
                return turns.Take(turns.Count - 1).ToList();
            }
        }

        return turns;
    }

    /// <summary>
    /// Round trips one run of <paramref name="record"/> cost: from the message flow when the phase logged one, else the
    /// turn count the phase clock made. The tcp phase logs no messages: a completed connect is SYN → SYN/ACK, one.
    /// </summary>
    public static int Measured(PhaseRecord record, string? tlsVersion = null)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.Phase == Phase.Tcp)
        {
            return record.Status == PhaseStatus.Ok ? 1 : 0;
        }

        return record.Messages.Count > 0 ? WaitedTurns(record, tlsVersion).Count : record.RoundTrips ?? 0;
    }

    /// <summary>Wire time of one run: the sum of the waited turns (the phase's own figure when it logged no messages).</summary>
    public static double WireMs(PhaseRecord record, string? tlsVersion = null)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.Phase == Phase.Tcp || record.Messages.Count == 0)
        {
            return record.Ms;
        }

        return Math.Round(WaitedTurns(record, tlsVersion).Sum(t => t.WaitMs), 3);
    }

    /// <summary>
    /// The protocol's floor for a phase that completed: TCP 1 (SYN → SYN/ACK), X.224 1 (CR → CC), TLS 1.2 and older 2
    /// (RFC 5246 §7.3 full handshake), TLS 1.3 1 (RFC 8446 §2), CredSSP one per leg that expects an answer
    /// (MS-CSSP 3.1.5: NEGOTIATE → CHALLENGE, then with credentials AUTHENTICATE + pubKeyAuth → pubKeyAuth; the
    /// TSCredentials message gets no CredSSP answer), the Early User Authorization Result 1 (MS-RDPBCGR 2.2.10.2).
    /// Null for phases this benchmark does not model.
    /// </summary>
    public static int? Floor(Phase phase, string? tlsVersion, bool withCredentials) => phase switch
    {
        Phase.Tcp => 1,
        Phase.X224 => 1,
        Phase.Tls => IsTls13(tlsVersion) ? 1 : 2,
        Phase.Credssp => withCredentials ? 2 : 1,
        Phase.EarlyAuth => 1,
        _ => null,
    };

    private static bool IsTls13(string? version) => string.Equals(version, "tls1.3", StringComparison.OrdinalIgnoreCase);
}
