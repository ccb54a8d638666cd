using RdpProbe.Protocol;

namespace RdpProbe.Diagnosis;

/// <summary>Who produced an event on the connection, as far as the observer can tell.</summary>
public enum Party
{
    /// <summary>The evidence does not say.</summary>
    Unknown,

    /// <summary>The client (the probe itself when it runs live).</summary>
    Client,

    /// <summary>The server, or something answering with the server's address that behaves as the server would.</summary>
    Server,

    /// <summary>
    /// Inferred: the packet carries the server's address, but the server's own behaviour contradicts it (it kept
    /// sending after "its" reset), or nothing the server sent came first (a bare reset with no alert or FIN).
    /// </summary>
    MiddleboxInferred,
}

/// <summary>What the last meaningful bytes before the end were.</summary>
public enum LastBytes
{
    /// <summary>Nothing after the last request: the peer never answered.</summary>
    Nothing,

    /// <summary>A TLS handshake record (ClientHello, ServerHello flight, Finished).</summary>
    TlsHandshake,

    /// <summary>A TLS alert in clear (its level and description are known).</summary>
    TlsAlert,

    /// <summary>An encrypted TLS record (application data; after the handshake an alert is only known by its size).</summary>
    TlsEncrypted,

    /// <summary>An X.224 TPDU (Connection Request/Confirm, Disconnect Request).</summary>
    X224,

    /// <summary>An MCS PDU in clear, e.g. a Disconnect Provider Ultimatum (T.125 11.15).</summary>
    McsPdu,

    /// <summary>Bytes of another protocol (a banner, an HTTP answer, garbage) where RDP or TLS was due.</summary>
    Foreign,

    /// <summary>An RDP PDU (CredSSP TSRequest, MCS, Share Control …) in sequence.</summary>
    RdpPdu,
}

/// <summary>How the connection ended.</summary>
public enum EndedHow
{
    /// <summary>Still open when the observation stopped (capture ended, or the probe stopped itself).</summary>
    Open,

    /// <summary>A FIN: an orderly close.</summary>
    Fin,

    /// <summary>A TCP RST.</summary>
    Reset,

    /// <summary>A fatal TLS alert (followed by a close).</summary>
    Alert,

    /// <summary>Nothing came any more: the waiting side timed out or gave up.</summary>
    Silence,
}

/// <summary>
/// The one attribution step the live probe and the capture analyzer share: who sent the last meaningful bytes, what
/// they were, how the connection ended and by whom, what was left in flight, and when. The verdict's summary and
/// first cause follow from it (<see cref="CauseRanking"/>).
/// </summary>
public sealed record Attribution(Party LastSender, LastBytes What, EndedHow End, Party EndedBy)
{
    /// <summary>A short name of the last bytes ("Disconnect Provider Ultimatum", "NTLM AUTHENTICATE", "ClientHello").</summary>
    public string? WhatDetail { get; init; }

    /// <summary>The TLS alert when <see cref="What"/> is <see cref="LastBytes.TlsAlert"/>; its sender is <see cref="LastSender"/>.</summary>
    public TlsAlert? Alert { get; init; }

    /// <summary>True when the TLS ServerHello had arrived before the end.</summary>
    public bool AfterServerHello { get; init; }

    /// <summary>The server's address kept sending data after a reset attributed to it (only a capture shows this).</summary>
    public bool ServerSentAfterReset { get; init; }

    /// <summary>The server sent a TLS alert (possibly encrypted) or a FIN before the end: an orderly server-side end.</summary>
    public bool ServerOrderlyEnd { get; init; }

    /// <summary>Client bytes sent and never acknowledged at the end (in flight).</summary>
    public long? ClientBytesUnacknowledged { get; init; }

    /// <summary>Server bytes that the client's side never received (sequence gaps, acknowledged-but-unseen data).</summary>
    public long? ServerBytesMissing { get; init; }

    /// <summary>Only the tail of a server flight arrived (out of order, duplicate ACKs, bytes missing before it).</summary>
    public bool ServerTailOnly { get; init; }

    /// <summary>The server's large segments were retransmitted and never acknowledged.</summary>
    public bool LargeSegmentsUnacknowledged { get; init; }

    /// <summary>
    /// The probe's own MTU check (--mtu) on another connection found that the server's large segments are dropped on
    /// the path while small ones arrive: the black hole measured, not inferred from a silence.
    /// </summary>
    public bool MtuCheckBlackHole { get; init; }

    /// <summary>Milliseconds from the last client data to the end (reset, alert or close); silence length for a stall.</summary>
    public double? EndAfterMs { get; init; }

    /// <summary>
    /// What service the peer turned out to be when it is not an RDP listener ("HTTP server", "SSH server", "TLS server");
    /// filled by the foreign-service identification, not by the attribution step itself.
    /// </summary>
    public string? PeerService { get; init; }

    /// <summary>True when the server selected TLS/CredSSP in its Connection Confirm (the next bytes should be TLS).</summary>
    public bool TlsSelected { get; init; }

    /// <summary>The protocols requested and selected at X.224, when known (a downgrade shows here).</summary>
    public SecurityProtocols? Requested { get; init; }

    /// <inheritdoc cref="Requested"/>
    public SecurityProtocols? Selected { get; init; }

    /// <summary>True when the reset most likely did not come from the server itself.</summary>
    public bool ResetLooksForeign => End == EndedHow.Reset && (EndedBy == Party.MiddleboxInferred || ServerSentAfterReset);

    /// <summary>A bare reset: the server's side ended with a RST and nothing orderly (no alert, no FIN, no error PDU) came first.</summary>
    public bool BareServerReset => End == EndedHow.Reset && EndedBy is Party.Server or Party.MiddleboxInferred && !ServerOrderlyEnd;

    /// <summary>One line that states the evidence: who sent what last, how it ended, and what was in flight.</summary>
    public string Evidence()
    {
        var parts = new List<string>();
        if (End == EndedHow.Open && EndedBy == Party.Client && What == LastBytes.Nothing)
        {
            // The client's own refusal (a live probe that will not go on, e.g. after a downgrade): nothing was cut.
            parts.Add("the client stopped on its own, refusing what the server had answered");
            parts.Add("the server neither reset nor closed the connection");
            return string.Join("; ", parts);
        }

        string what = What switch
        {
            LastBytes.Nothing => "nothing after the last request",
            LastBytes.TlsAlert when Alert is { } a => $"a {(a.Level == TlsAlertLevel.Fatal ? "fatal" : "warning")} TLS alert {TlsNames.AlertName(a.Description)}",
            LastBytes.TlsAlert => "a TLS alert",
            LastBytes.TlsEncrypted => "an encrypted TLS record",
            LastBytes.TlsHandshake => "a TLS handshake record",
            LastBytes.X224 => "an X.224 TPDU",
            LastBytes.McsPdu => "an MCS PDU in clear",
            LastBytes.Foreign => "bytes that are not RDP or TLS",
            _ => "an RDP PDU",
        };
        if (WhatDetail is not null && What != LastBytes.Nothing)
        {
            what += $" ({WhatDetail})";
        }

        parts.Add(What == LastBytes.Nothing
            ? WhatDetail is not null ? $"the server sent nothing after the client's {WhatDetail}" : "the server sent nothing after the client's last data"
            : $"last bytes: {what} from the {Name(LastSender)}");
        string end = End switch
        {
            EndedHow.Fin => $"ended by a FIN from the {Name(EndedBy)}",
            EndedHow.Reset when ServerSentAfterReset => "ended by a RST carrying the server's address, after which the server kept sending",
            EndedHow.Reset when BareServerReset => "ended by a bare RST with the server's address (no TLS alert or FIN from the server before it)",
            EndedHow.Reset => $"ended by a RST from the {Name(EndedBy)}",
            EndedHow.Alert => $"ended by a fatal TLS alert from the {Name(EndedBy)}",
            EndedHow.Silence => "ended in silence (nothing more arrived)",
            EndedHow.Open when EndedBy == Party.Client => "the client stopped on its own (nothing was reset or closed)",
            _ => "still open at the end of the observation",
        };
        if (EndAfterMs is { } ms)
        {
            end += End == EndedHow.Silence ? $" for {Format(ms)}" : $" {Format(ms)} after the client's last data";
        }

        parts.Add(end);
        if (ServerBytesMissing is > 0 and var missing)
        {
            parts.Add($"{missing} bytes of the server's flight never arrived" + (ServerTailOnly ? " (only its tail did)" : string.Empty));
        }
        else if (LargeSegmentsUnacknowledged)
        {
            parts.Add("the server's large segments were never acknowledged");
        }

        if (MtuCheckBlackHole)
        {
            parts.Add("the MTU check (--mtu) found the server's large segments dropped on the path while small ones arrive");
        }

        if (ClientBytesUnacknowledged is > 0 and var unacked)
        {
            parts.Add($"{unacked} client bytes unacknowledged");
        }

        if (PeerService is not null)
        {
            parts.Add($"the peer is {PeerService}");
        }

        return string.Join("; ", parts);
    }

    private static string Name(Party party) => party switch
    {
        Party.Client => "client",
        Party.Server => "server",
        Party.MiddleboxInferred => "server's address (a middlebox, inferred)",
        _ => "unknown side",
    };

    private static string Format(double ms) => ms >= 1000
        ? FormattableString.Invariant($"{ms / 1000:0.#} s")
        : FormattableString.Invariant($"{ms:0.###} ms");
}
