using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Analysis;

/// <summary>
/// The analyzer's half of the shared attribution step (<see cref="Attribution"/>): from one connection's TCP and RDP
/// state, who sent the last meaningful bytes, what they were, how and by whom the flow ended, and what was lost or in
/// flight. A capture sees what a live client cannot: a "server" reset followed by more server data is a middlebox's.
/// </summary>
internal static class CaptureAttribution
{
    public static Attribution Of(TcpConnection c, Ending ending, string? endedBy, bool stalled, string? waiting, long captureEnd)
    {
        var tcp = c.Tcp;
        var rdp = c.Rdp;
        var phase = c.Current ?? Phase.Tcp;

        // Who spoke last, and with what.
        Party sender;
        LastBytes what;
        string? detail = null;
        TlsAlert? alert = null;
        var lastAlert = rdp.Alerts.Count > 0 ? rdp.Alerts[0] : default;
        bool serverLast = tcp.LastServerDataTimestamp >= 0 && tcp.LastServerDataTimestamp >= tcp.LastClientDataTimestamp;
        if (rdp.Alerts.Count > 0 && lastAlert.Alert is { } clear)
        {
            sender = lastAlert.FromClient ? Party.Client : Party.Server;
            what = LastBytes.TlsAlert;
            alert = clear;
        }
        else if (rdp.ServerDisconnectUltimatum && serverLast)
        {
            sender = Party.Server;
            what = LastBytes.McsPdu;
            detail = "Disconnect Provider Ultimatum";
        }
        else if (serverLast)
        {
            sender = Party.Server;
            what = phase switch
            {
                Phase.Tcp or Phase.X224 => rdp.Confirm is null && rdp.Request is not null ? LastBytes.Foreign : LastBytes.X224,
                Phase.Tls when rdp.ServerHello is null => LastBytes.Foreign,
                Phase.Tls => LastBytes.TlsHandshake,
                _ => rdp.Alerts.Exists(a => !a.FromClient && a.Alert is null) ? LastBytes.TlsEncrypted : LastBytes.RdpPdu,
            };
        }
        else
        {
            sender = Party.Client;
            what = LastBytes.Nothing;
            detail = phase switch
            {
                Phase.X224 => "X.224 Connection Request",
                Phase.Tls when rdp.ServerHello is null => "ClientHello",
                Phase.Tls => "TLS Finished",
                Phase.Credssp => rdp.LastCredsspRound switch
                {
                    "negotiate" => "NTLM NEGOTIATE",
                    "authenticate" => "NTLM AUTHENTICATE",
                    "authInfo" => "CredSSP authInfo",
                    _ => "CredSSP message",
                },
                Phase.Mcs => "MCS Connect Initial",
                _ => null,
            };
        }

        // How it ended, and by whom.
        bool serverReset = tcp.FirstEnd is { Reset: true, ByClient: false };
        bool afterReset = serverReset && tcp.ServerDataAfterServerReset > 0;
        EndedHow end = ending switch
        {
            Ending.Reset => EndedHow.Reset,
            Ending.Closed when what == LastBytes.TlsAlert && alert is { Level: TlsAlertLevel.Fatal } => EndedHow.Alert,
            Ending.Closed => EndedHow.Fin,
            Ending.Timeout => EndedHow.Silence,
            _ => stalled ? EndedHow.Silence : EndedHow.Open,
        };
        if (stalled && end is EndedHow.Fin or EndedHow.Reset && endedBy == waiting)
        {
            // The waiting side gave up on a stall: the silence decided it, the close only ended it.
            end = EndedHow.Silence;
        }

        Party by = endedBy switch
        {
            "client" => Party.Client,
            "server" when afterReset => Party.MiddleboxInferred,
            "server" => Party.Server,
            _ => Party.Unknown,
        };
        bool orderly = tcp.ServerHalf.FinSeen && (!serverReset || tcp.ServerHalf.FinFrame < tcp.ResetFrame)
            || rdp.Alerts.Exists(a => !a.FromClient);

        long clientUnacked = tcp.ClientHalf.HasBase && tcp.ServerHalf.HasAck ? Math.Max(0, (int)(tcp.ClientHalf.HighestEnd - tcp.ServerHalf.HighestAck)) : 0;
        double? endAfter = null;
        if (tcp.LastClientDataTimestamp >= 0)
        {
            long endAt = end == EndedHow.Silence
                ? (tcp.FirstEndTimestamp >= 0 ? tcp.FirstEndTimestamp : captureEnd)
                : tcp.FirstEndTimestamp;
            if (endAt >= tcp.LastClientDataTimestamp && (end == EndedHow.Silence || !serverLast))
            {
                endAfter = (endAt - tcp.LastClientDataTimestamp) / 1000.0;
            }
        }

        return new Attribution(sender, what, end, by)
        {
            WhatDetail = detail,
            Alert = alert,
            AfterServerHello = rdp.ServerHello is not null,
            ServerSentAfterReset = afterReset,
            ServerOrderlyEnd = orderly,
            ClientBytesUnacknowledged = clientUnacked > 0 ? clientUnacked : null,
            ServerBytesMissing = tcp.ServerBytesMissing > 0 ? tcp.ServerBytesMissing : null,
            ServerTailOnly = tcp.ServerTailAfterHole,
            LargeSegmentsUnacknowledged = stalled && waiting == "server" && tcp.MaxRetransmittedLength(client: false) >= 1000,
            EndAfterMs = endAfter,
            TlsSelected = rdp.Confirm?.SelectedProtocol is { } sel && sel != SecurityProtocols.Rdp,
            Requested = rdp.Request is null ? null : rdp.Request.RequestedProtocols ?? SecurityProtocols.Rdp,
            Selected = rdp.Confirm?.SelectedProtocol,
        };
    }
}
