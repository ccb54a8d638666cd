namespace RdpProbe.Diagnosis;

/// <summary>
/// The attribution of a live probe's failed phase when the phase recorded none of its own: the probe is the client, so
/// what it saw last on its socket (a message it sent, or one it received) and the ending (FIN, RST, timeout) say who
/// spoke last and how the connection ended. A live client cannot see a middlebox: a reset carries the server's address.
/// </summary>
public static class LiveAttribution
{
    public static Attribution Of(PhaseRecord failed, IReadOnlyList<PhaseRecord> ran)
    {
        ArgumentNullException.ThrowIfNull(failed);
        ArgumentNullException.ThrowIfNull(ran);
        var last = failed.Messages.Count > 0 ? failed.Messages[^1] : null;
        var lastSent = failed.Messages.LastOrDefault(m => m.Direction == Direction.Sent);
        bool serverSpokeLast = last is { Direction: Direction.Received };
        var (end, by) = failed.Ending switch
        {
            Ending.Reset => (EndedHow.Reset, Party.Server),
            Ending.Closed => (EndedHow.Fin, Party.Server),
            Ending.Timeout => (EndedHow.Silence, Party.Unknown),
            Ending.TlsAlert => (EndedHow.Alert, Party.Unknown),
            Ending.ClientRefused => (EndedHow.Open, Party.Client),
            Ending.Refused => (EndedHow.Reset, Party.Server),
            _ => (EndedHow.Fin, Party.Server),
        };
        LastBytes what = serverSpokeLast
            ? failed.Phase switch
            {
                Phase.Tls => LastBytes.TlsHandshake,
                Phase.X224 => LastBytes.X224,
                _ => LastBytes.RdpPdu,
            }
            : LastBytes.Nothing;
        return new Attribution(serverSpokeLast ? Party.Server : Party.Client, what, end, by)
        {
            WhatDetail = serverSpokeLast ? last!.Description : lastSent?.Description,
            ServerOrderlyEnd = failed.Ending == Ending.Closed,
        };
    }
}
