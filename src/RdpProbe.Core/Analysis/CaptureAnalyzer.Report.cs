using RdpProbe.Diagnosis;
using RdpProbe.Protocol;
using RdpProbe.Reports;

namespace RdpProbe.Analysis;

/// <summary>Turns finished flows into the "rdpprobe.analysis/1" report.</summary>
internal sealed partial class CaptureAnalyzer
{
    /// <summary>Silence after the last client data before the stall rule applies (a server that answers later is slow, not stalled).</summary>
    private const long StallSilenceMicros = 3_000_000;

    /// <summary>Segments at least this large that are never acknowledged point to an MTU black hole.</summary>
    private const int LargeSegment = 1000;

    /// <summary>Finishes every live flow and builds the report. Call once, at the end.</summary>
    public AnalysisReport BuildReport(IReadOnlyList<string> files, string? damage, IReadOnlyList<string> warnings)
    {
        foreach (var (_, c) in _tcp)
        {
            c.Finish();
            if (IsReportable(c))
            {
                _finished.Add(BuildConnection(c));
            }
        }

        _tcp.Clear();
        _finishedUdp.AddRange(_udp.Values);
        _udp.Clear();
        Incomplete += _fragments.Count;
        _fragments.Clear();

        var connections = _finished.OrderBy(c => c.FirstFrame).ToList();

        var udp = _finishedUdp.OrderBy(u => u.FirstFrame).Select(BuildUdp).ToList();
        var icmp = _icmp.Select(i => new IcmpReport(
            i.Frame,
            i.Kind,
            i.Mtu,
            (i.Server ?? i.QuotedDestination).ToString(),
            $"{(i.Protocol == IpProtocols.Tcp ? "tcp" : i.Protocol == IpProtocols.Udp ? "udp" : $"ip proto {i.Protocol}")} {i.QuotedSource} -> {i.QuotedDestination}",
            $"frame.number == {i.Frame}")).ToList();

        double seconds = FirstTimestamp < 0 ? 0 : (LastTimestamp - FirstTimestamp) / 1e6;
        return new AnalysisReport(AnalysisReport.SchemaName, files, Frames, Bytes, Math.Round(seconds, 6), connections, udp, icmp,
            new FragmentReport(Ipv4Fragments, Ipv6Fragments, Reassembled, Incomplete), damage, warnings);
    }

    /// <summary>
    /// A flow on an RDP port is reported when it carried RDP or tried to (a SYN); mid-stream flows that never synced
    /// and carried nothing recognisable are left out.
    /// </summary>
    private static bool IsReportable(TcpConnection c) =>
        c.Tcp.ClientHalf.SynSeen || c.Rdp.Request is not null || c.Rdp.Confirm is not null || c.Rdp.ClientHello is not null || c.Current is not null;

    private ConnectionReport BuildConnection(TcpConnection c)
    {
        string filter = Filters.Conversation(c.Client, c.Server, "tcp");
        bool refused = c.Tcp.ResetSeen && !c.Tcp.ResetByClient && !c.Tcp.SynAckSeen && c.Tcp.ClientHalf.SynSeen;
        Ending ending;
        string? endedBy = null;
        if (c.Tcp.FirstEnd is { } end)
        {
            ending = end.Reset ? Ending.Reset : Ending.Closed;
            endedBy = end.ByClient ? "client" : "server";
        }
        else if (c.IdleTimedOut || LastTimestamp - c.LastTimestamp > _openGraceMicros
            || (!c.Tcp.SynAckSeen && c.Tcp.ServerHalf.Segments == 0 && c.Anomalies.Has(AnomalyKinds.Retransmission)))
        {
            ending = Ending.Timeout;
        }
        else
        {
            ending = Ending.Open;
        }

        var (stalled, stallDetail, waiting) = DetectStall(c, ending);
        if (stalled)
        {
            // Frames: the data left waiting, then where the waiting side gave up (when it did).
            int waitedFrame = waiting == "server" ? c.Tcp.LastServerDataFrame : c.Tcp.LastClientDataFrame;
            c.Anomalies.Add(AnomalyKinds.Stall, c.Current, waiting, Math.Max(waitedFrame, c.FirstFrame), stallDetail);
            if (c.Tcp.FirstEnd is { } gaveUp && (gaveUp.ByClient ? "client" : "server") == waiting)
            {
                c.Anomalies.Add(AnomalyKinds.Stall, c.Current, waiting, gaveUp.Frame, stallDetail);
            }
        }

        var phase = c.Current ?? Phase.Tcp;
        (bool, TlsAlert?)? firstAlert = c.Rdp.Alerts.Count > 0 ? (c.Rdp.Alerts[0].FromClient, c.Rdp.Alerts[0].Alert) : null;
        var facts = new VerdictFacts(
            phase, ending, endedBy, c.Tcp.SynAckSeen || c.Tcp.ServerHalf.PayloadBytes > 0, refused, c.Rdp.Confirm?.FailureCode, c.Rdp.Confirm is not null,
            c.Rdp.ServerDisconnectUltimatum, c.Rdp.ServerHello is not null, firstAlert, c.Rdp.LastCredsspRound, c.Rdp.ErrorSizedAnswer, c.Rdp.ExpectsCredssp,
            stalled, stallDetail, c.SessionReached, c.Rdp.NotRdpReason, c.StartedBeforeCapture, c.Rdp.McsResult,
            c.Rdp.Alerts.Exists(a => !a.FromClient && a.Alert is null),
            c.Rdp.Request is null ? null : c.Rdp.Request.RequestedProtocols ?? SecurityProtocols.Rdp,
            c.Rdp.Confirm?.SelectedProtocol);
        var verdict = AnalysisVerdicts.Explain(facts);

        // Name the ending by what decided it, as the probe does: a RST to the SYN is "refused", a negotiation
        // failure code ends the handshake whatever TCP did next, a side that waited on a stall gave up ("timeout").
        if (refused)
        {
            ending = Ending.Refused;
        }
        else if (c.Rdp.Confirm?.IsFailure == true)
        {
            ending = Ending.NegotiationFailure;
        }
        else if (stalled && ending is Ending.Closed or Ending.Reset && endedBy == waiting)
        {
            ending = Ending.Timeout;
        }

        verdict = verdict with { Ending = verdict.Ok ? verdict.Ending : ending };

        var phases = new List<PhaseReportEntry>();
        foreach (var (p, slot) in c.Phases.Slots())
        {
            string status = p != phase ? "ok" : verdict.Ok ? (ending is Ending.Open && !c.SessionReached ? "incomplete" : "ok") : "failed";
            phases.Add(new PhaseReportEntry(p.ToReportName(), status, slot.FirstFrame, slot.LastFrame, slot.Inferred));
        }

        TlsReport? tls = null;
        if (c.Rdp.ClientHello is not null || c.Rdp.ServerHello is not null || c.Rdp.Alerts.Count > 0 || c.Rdp.TlsDone)
        {
            var alerts = c.Rdp.Alerts.Select(a => new TlsAlertReport(
                a.Frame, a.FromClient ? "client" : "server",
                a.Alert is { } al ? (al.Level == TlsAlertLevel.Fatal ? "fatal" : "warning") : null,
                a.Alert is { } al2 ? TlsNames.AlertName(al2.Description) : null,
                a.Alert is null)).ToList();
            tls = new TlsReport(
                c.Rdp.ServerHello is { } sh ? TlsNames.VersionName(sh.Version) : null,
                c.Rdp.ClientHello is { } ch ? TlsNames.VersionName(ch.MaxVersion) : null,
                c.Rdp.ClientHello is { SupportedVersions.Count: > 0 } ch2 ? ch2.SupportedVersions.Where(v => (v & 0x0F0F) == v).Select(TlsNames.VersionName).ToList() : null,
                c.Rdp.ServerHello is { } sh2 ? TlsHandshake.CipherSuiteName(sh2.CipherSuite) : null,
                c.Rdp.ClientHello?.ServerName,
                c.Rdp.CertificateSubject,
                c.Rdp.CertificateIssuer,
                alerts,
                c.Rdp.ClientHelloFrame,
                c.Rdp.ServerHelloFrame);
        }

        CredsspReport? credssp = null;
        if (c.Rdp.Flights.Count > 0 && c.Rdp.ExpectsCredssp)
        {
            credssp = new CredsspReport(
                c.Rdp.LastCredsspRound ?? "negotiate",
                c.Rdp.Flights.Select(f => new FlightReport(f.FromClient ? "client" : "server", f.Label, f.Records, f.Bytes, f.FirstRecordLength, f.PlaintextEstimate, f.FirstFrame, f.LastFrame)).ToList(),
                c.Rdp.ErrorSizedAnswer,
                c.Rdp.EarlyAuthPlaintext,
                true);
        }

        StandardSecurityReport? standard = null;
        if (c.Rdp.EncryptionMethod is not null || c.Rdp.ClientEncryptionMethods is not null || c.Rdp.McsResult is not null || c.Rdp.SecurityExchangeSeen)
        {
            standard = new StandardSecurityReport(
                c.Rdp.ClientEncryptionMethods is { } cm ? EncryptionMethodNames(cm) : null,
                c.Rdp.EncryptionMethod is { } m ? EncryptionMethodNames(m) : null,
                c.Rdp.EncryptionLevel is { } l ? EncryptionLevelName(l) : null,
                c.Rdp.McsResult,
                c.Rdp.LicensingResult,
                c.Rdp.SecurityExchangeSeen,
                c.Rdp.ClientInfoSeen);
        }

        var request = c.Rdp.Request;
        return new ConnectionReport(
            c.Client.ToString(),
            c.Server.ToString(),
            c.FirstFrame,
            c.LastFrame,
            request?.Cookie,
            request?.RoutingToken,
            request is null ? null : (request.RequestedProtocols ?? SecurityProtocols.Rdp).ToReportNames(),
            c.Rdp.Confirm is { } cc ? (cc.IsFailure ? null : (cc.SelectedProtocol ?? SecurityProtocols.Rdp).ToReportName()) : null,
            c.Rdp.Confirm?.FailureCode?.ToReportName(),
            tls,
            credssp,
            standard,
            phases,
            phase.ToReportName(),
            ending.ToReportName(),
            endedBy,
            c.Anomalies.ToReports(filter),
            VerdictReport.From(verdict),
            filter,
            c.StartedBeforeCapture,
            c.Tcp.ClientHalf.PayloadBytes,
            c.Tcp.ServerHalf.PayloadBytes,
            c.Packets);
    }

    /// <summary>
    /// A side waits with data outstanding and nothing comes back: the server's large segments retransmitted and never
    /// acknowledged (MTU black hole seen from the server side), the client's data retransmitted without any answer, or
    /// the client's data acknowledged but never answered before the client gave up (the black hole seen from the client).
    /// </summary>
    private (bool Stalled, string? Detail, string? Waiting) DetectStall(TcpConnection c, Ending ending)
    {
        if (c.SessionReached || c.Rdp.Confirm?.IsFailure == true || c.Rdp.Alerts.Count > 0)
        {
            return (false, null, null);
        }

        var server = c.Tcp.ServerHalf;
        var client = c.Tcp.ClientHalf;
        bool serverUnacked = server.PayloadBytes > 0 && (!client.HasAck || (int)(server.HighestEnd - client.HighestAck) > 0);
        int serverRetrans = c.Tcp.MaxRetransmittedLength(client: false);
        if (serverUnacked && serverRetrans > 0 && c.Tcp.RetransmittedUnacked(client: false))
        {
            bool large = serverRetrans >= LargeSegment || (c.Tcp.PathMtu[1] > 0 && serverRetrans + 40 > c.Tcp.PathMtu[1]);
            return (true, large
                ? $"The server's {serverRetrans}-byte segments were retransmitted and never acknowledged: the MTU black-hole signature (large packets dropped on the path, ICMP fragmentation-needed not getting through)."
                : "The server retransmitted data that the client never acknowledged: the path stopped delivering server packets.", "server");
        }

        bool clientUnacked = client.PayloadBytes > 0 && (!server.HasAck || (int)(client.HighestEnd - server.HighestAck) > 0);
        int clientRetrans = c.Tcp.MaxRetransmittedLength(client: true);
        bool noAnswer = c.Tcp.LastServerDataTimestamp < c.Tcp.LastClientDataTimestamp;
        string what = c.Current == Phase.Tls && c.Rdp.ServerHello is null ? "ClientHello" : c.Current == Phase.X224 && c.Rdp.Confirm is null ? "X.224 Connection Request" : "data";
        if (clientUnacked && clientRetrans > 0 && noAnswer && c.Tcp.RetransmittedUnacked(client: true))
        {
            return (true, $"The client's {what} was retransmitted and never acknowledged or answered: packets from the client are not reaching the server (or its answers are dropped).", "client");
        }

        long silence = (ending is Ending.Open or Ending.Timeout ? LastTimestamp : c.LastTimestamp) - c.Tcp.LastClientDataTimestamp;
        if (noAnswer && c.Tcp.LastClientDataTimestamp >= 0 && !clientUnacked && silence >= StallSilenceMicros
            && (c.Tcp.FirstEnd is { ByClient: true } || ending is Ending.Open or Ending.Timeout)
            && c.Current is Phase.Tls or Phase.X224 or Phase.Mcs or Phase.Credssp)
        {
            return (true, $"The server acknowledged the client's {what} but sent no answer for {silence / 1e6:0.#} s until the client gave up: when the answer is large (ServerHello + Certificate), this is the MTU black-hole signature seen from the client side.", "client");
        }

        return (false, null, null);
    }

    private UdpFlowReport BuildUdp(UdpFlow u)
    {
        string filter = Filters.Conversation(u.Client, u.Server, "udp");
        IcmpReport? icmp = u.Icmp is { } i ? new IcmpReport(i.Frame, i.Kind, null, u.Server.ToString(), $"udp {u.Client} -> {u.Server}", $"frame.number == {i.Frame}") : null;
        string summary;
        bool ok = u.SynAck;
        if (u.SynAck)
        {
            summary = $"RDP-UDP handshake answered (SYN+ACK in frame {u.SynAckFrame}): the UDP transport is reachable.";
        }
        else if (icmp is not null)
        {
            summary = $"The server side answered the RDP-UDP SYN with ICMP {icmp.Kind.Replace('_', ' ')} (frame {icmp.Frame}): UDP {u.Server.Port} is closed or blocked there; RDP falls back to TCP.";
        }
        else if (u.ServerDatagrams > 0)
        {
            summary = "The server sent datagrams but no SYN+ACK for the client's SYN.";
        }
        else
        {
            summary = $"{u.SynFrames.Count} RDP-UDP SYN(s) got no answer: UDP {u.Server.Port} is dropped on the path (VPNs often drop UDP) or UDP transport is disabled on the server; RDP falls back to TCP.";
        }

        string? version = u.UdpVersion switch
        {
            null => null,
            0x0001 => "v1",
            0x0002 => "v2",
            0x0101 => "v3",
            var v => $"0x{v:x4}",
        };
        var anomalies = new List<AnomalyReport>();
        if (!u.SynAck && u.ServerDatagrams == 0 && icmp is null)
        {
            anomalies.Add(new AnomalyReport(AnomalyKinds.UdpNoReply, u.SynFrames.ToList(), u.SynFrames.Count, "udp", "client", "RDP-UDP SYN without SYN+ACK", Filters.Frames(u.SynFrames)));
        }

        if (u.FragmentFrames.Count > 0)
        {
            anomalies.Add(new AnomalyReport(AnomalyKinds.IpFragment, u.FragmentFrames.ToList(), u.FragmentFrames.Count, "udp", null, "IP-fragmented RDP-UDP datagram", Filters.Frames(u.FragmentFrames)));
        }

        return new UdpFlowReport(u.Client.ToString(), u.Server.ToString(), u.SynFrames.ToList(), u.SynAck, u.SynAckFrame, version,
            u.ClientDatagrams, u.ServerDatagrams, icmp, anomalies, new UdpVerdictReport(ok, summary), filter);
    }

    /// <summary>encryptionMethod bits, MS-RDPBCGR 2.2.1.3.3.</summary>
    internal static string EncryptionMethodNames(uint methods)
    {
        if (methods == 0)
        {
            return "none";
        }

        var names = new List<string>();
        if ((methods & 0x01) != 0)
        {
            names.Add("40bit");
        }

        if ((methods & 0x02) != 0)
        {
            names.Add("128bit");
        }

        if ((methods & 0x08) != 0)
        {
            names.Add("56bit");
        }

        if ((methods & 0x10) != 0)
        {
            names.Add("fips");
        }

        return names.Count == 0 ? $"0x{methods:x}" : string.Join(",", names);
    }

    /// <summary>encryptionLevel, MS-RDPBCGR 2.2.1.4.3.</summary>
    internal static string EncryptionLevelName(uint level) => level switch
    {
        0 => "none",
        1 => "low",
        2 => "client_compatible",
        3 => "high",
        4 => "fips",
        _ => $"0x{level:x}",
    };
}
