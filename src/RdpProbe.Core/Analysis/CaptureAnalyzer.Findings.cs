using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Analysis;

/// <summary>Turns finished flows into findings: typed facts and the verdict per connection and RDP-UDP flow.</summary>
internal sealed partial class CaptureAnalyzer
{
    /// <summary>Silence after the last client data before the stall rule applies (a server that answers later is slow, not stalled).</summary>
    private const long StallSilenceMicros = 3_000_000;

    /// <summary>Segments at least this large that are never acknowledged point to an MTU black hole.</summary>
    private const int LargeSegment = 1000;

    /// <summary>The cause an evicted connection's verdict names (<see cref="AnalyzerOptions.MaxLiveFlows"/>).</summary>
    internal const string EvictedCause = "evicted by the analyzer's live-flow limit (the capture holds more open connections than it follows at once)";

    /// <summary>Finishes every live flow and collects the findings. Call once, at the end.</summary>
    public CaptureFindings BuildFindings(IReadOnlyList<string> files, string? damage, IReadOnlyList<string> warnings)
    {
        EndFile();
        while (_fragmentsPerFile.Count < files.Count)
        {
            _fragmentsPerFile.Add(default);
        }

        var connections = _finished.OrderBy(c => c.FileIndex).ThenBy(c => c.FirstFrame).ToList();

        var udp = _finishedUdp.OrderBy(u => u.FileIndex).ThenBy(u => u.FirstFrame).Select(BuildUdp).ToList();
        var icmp = _icmp.Select(i => new IcmpFinding(
            i.Frame,
            i.Kind,
            i.Mtu,
            (i.Server ?? i.QuotedDestination).ToString(),
            $"{(i.Protocol == IpProtocols.Tcp ? "tcp" : i.Protocol == IpProtocols.Udp ? "udp" : $"ip proto {i.Protocol}")} {i.QuotedSource} -> {i.QuotedDestination}",
            $"frame.number == {i.Frame}") { FileIndex = i.File }).ToList();

        double seconds = FirstTimestamp < 0 ? 0 : (LastTimestamp - FirstTimestamp) / 1e6;
        return new CaptureFindings(files, Frames, Bytes, Math.Round(seconds, 6), connections, udp, icmp,
            new FragmentCounts(Ipv4Fragments, Ipv6Fragments, Reassembled, Incomplete), damage, warnings)
        {
            FragmentsPerFile = _fragmentsPerFile.ToArray(),
        };
    }

    /// <summary>A reportable flow ended (already finished): its findings go to the caller, built here or by the caller's thread.</summary>
    private readonly JudgementMemo _judgements = new();

    private void Finished(TcpConnection c)
    {
        var flow = new FinishedFlow(c, new FlowEnd(_fileLastTimestamp, LastTimestamp, _openGraceMicros, _maxLiveFlows));
        if (_onFlow is { } handFlow)
        {
            handFlow(flow);
        }
        else if (_onConnection is { } hand)
        {
            hand(flow.Build(_judgements));
        }
        else
        {
            _finished.Add(flow.Build(_judgements));
        }
    }

    /// <summary>
    /// A flow on an RDP port is reported when it carried RDP or tried to (a SYN); mid-stream flows that never synced
    /// and carried nothing recognisable are left out.
    /// </summary>
    private static bool IsReportable(TcpConnection c) =>
        c.Tcp.ClientHalf.SynSeen || c.Rdp.Request is not null || c.Rdp.Confirm is not null || c.Rdp.ClientHello is not null || c.Current is not null;

    /// <summary>A finished flow reduced to its findings. Reads only the flow and <paramref name="at"/>, never the analyzer, so it may run on another thread once the flow is handed over.</summary>
    internal static AnalyzedConnection BuildConnection(TcpConnection c, in FlowEnd at, JudgementMemo? judgements = null)
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
        else if (c.IdleTimedOut || at.FileLastTimestamp - c.LastTimestamp > at.OpenGraceMicros
            || (!c.Tcp.SynAckSeen && c.Tcp.ServerHalf.Segments == 0 && c.Anomalies.Has(AnomalyKinds.Retransmission)))
        {
            ending = Ending.Timeout;
        }
        else
        {
            ending = Ending.Open;
        }

        var (stalled, stallDetail, waiting) = DetectStall(c, ending, at.FileLastTimestamp);
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
            c.Rdp.Confirm?.SelectedProtocol,
            c.Rdp.ServerService, c.Rdp.ServerServiceFrame, c.Server.Port, c.Rdp.ClientService, c.Tcp.ServerHalf.PayloadBytes > 0)
        {
            Attribution = CaptureAttribution.Of(c, ending, endedBy, stalled, waiting, at.LastTimestamp),
        };

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
        if (c.Evicted)
        {
            // Not an ending the network gave: the analyzer let go of the flow to stay within its memory bound.
            verdict = verdict with
            {
                Summary = $"{verdict.Summary} Evicted: the analyzer stopped following this connection at its last frame because {at.MaxLiveFlows} flows were live at once; what came later is not in this verdict.",
                Causes = [.. verdict.Causes, EvictedCause],
            };
        }

        var phases = new List<PhaseSpan>();
        foreach (var (p, slot) in c.Phases.Slots())
        {
            string status = p != phase ? "ok" : verdict.Ok ? (ending is Ending.Open && !c.SessionReached ? "incomplete" : "ok") : "failed";
            phases.Add(new PhaseSpan(p, status, slot.FirstFrame, slot.LastFrame, slot.Inferred));
        }

        TlsFindings? tls = null;
        if (c.Rdp.ClientHello is not null || c.Rdp.ServerHello is not null || c.Rdp.Alerts.Count > 0 || c.Rdp.TlsDone)
        {
            var alerts = c.Rdp.Alerts.ConvertAll(a => new TlsAlertSeen(a.Frame, a.FromClient, a.Alert) { Inferred = a.Inferred });
            tls = new TlsFindings(
                c.Rdp.ServerHello?.Version,
                c.Rdp.ClientHello?.MaxVersion,

                // GREASE values (RFC 8701: 0x?A?A) are not versions.
                c.Rdp.ClientHello is { SupportedVersions.Count: > 0 } ch2 ? ch2.SupportedVersions.Where(v => (v & 0x0F0F) == v).ToList() : null,
                c.Rdp.ServerHello?.CipherSuite,
                c.Rdp.ClientHello?.ServerName,
                c.Rdp.CertificateSubject,
                c.Rdp.CertificateIssuer,
                alerts,
                c.Rdp.ClientHelloFrame,
                c.Rdp.ServerHelloFrame)
            {
                Certificate = c.Rdp.Certificate,
            };
        }

        CredsspFindings? credssp = null;
        if (c.Rdp.Flights.Count > 0 && c.Rdp.ExpectsCredssp)
        {
            credssp = new CredsspFindings(
                c.Rdp.LastCredsspRound ?? "negotiate",
                FlightFindings(c.Rdp.Flights),
                c.Rdp.ErrorSizedAnswer,
                c.Rdp.EarlyAuthPlaintext,
                true);
        }

        StandardSecurityFindings? standard = null;
        if (c.Rdp.EncryptionMethod is not null || c.Rdp.ClientEncryptionMethods is not null || c.Rdp.McsResult is not null || c.Rdp.SecurityExchangeSeen)
        {
            standard = new StandardSecurityFindings(
                c.Rdp.ClientEncryptionMethods,
                c.Rdp.EncryptionMethod,
                c.Rdp.EncryptionLevel,
                c.Rdp.McsResult,
                c.Rdp.LicensingResult,
                c.Rdp.SecurityExchangeSeen,
                c.Rdp.ClientInfoSeen);
        }

        var request = c.Rdp.Request;
        var connection = new AnalyzedConnection(
            c.Client.ToString(),
            c.Server.ToString(),
            c.FirstFrame,
            c.LastFrame,
            request?.Cookie,
            request?.RoutingToken,
            request is null ? null : request.RequestedProtocols ?? SecurityProtocols.Rdp,
            c.Rdp.Confirm is { } cc ? (cc.IsFailure ? null : cc.SelectedProtocol ?? SecurityProtocols.Rdp) : null,
            c.Rdp.Confirm?.FailureCode,
            tls,
            credssp,
            standard,
            phases,
            phase,
            ending,
            endedBy,
            c.Anomalies.ToFindings(filter),
            verdict,
            filter,
            c.StartedBeforeCapture,
            c.Tcp.ClientHalf.PayloadBytes,
            c.Tcp.ServerHalf.PayloadBytes,
            c.Packets)
        {
            FileIndex = c.FileIndex,
            StartMicros = c.FirstTimestamp,
            EndMicros = c.LastTimestamp,
        };
        return WithJudgement(connection, judgements);
    }

    private static FlightFinding[] FlightFindings(IReadOnlyList<Flight> flights)
    {
        var findings = new FlightFinding[flights.Count];
        for (int i = 0; i < findings.Length; i++)
        {
            var f = flights[i];
            findings[i] = new FlightFinding(f.FromClient, f.Label, f.Records, f.Bytes, f.FirstRecordLength, f.PlaintextEstimate, f.FirstFrame, f.LastFrame);
        }

        return findings;
    }

    /// <summary>
    /// Findings and the default client's verdict from the facts the connection shows in clear: once, when the
    /// connection ends, never per packet. Until the server answers the Connection Request the capture shows nothing
    /// about the server to judge (and a scan or SYN flood of bare requests costs no judgement per connection).
    /// </summary>
    private static AnalyzedConnection WithJudgement(AnalyzedConnection connection, JudgementMemo? judgements)
    {
        if (connection.SelectedProtocol is null && connection.FailureCode is null)
        {
            return connection;
        }

        if (judgements is not null)
        {
            return judgements.Judge(connection);
        }

        var (findings, verdict, inferred) = JudgementMemo.Compute(connection);
        return connection with { Findings = findings, ClientVerdict = verdict, InferredFacts = inferred };
    }

    /// <summary>
    /// A side waits with data outstanding and nothing comes back: the server's large segments retransmitted and never
    /// acknowledged (MTU black hole seen from the server side), the client's data retransmitted without any answer, or
    /// the client's data acknowledged but never answered before the client gave up (the black hole seen from the client).
    /// </summary>
    private static (bool Stalled, string? Detail, string? Waiting) DetectStall(TcpConnection c, Ending ending, long fileLastTimestamp)
    {
        if (c.SessionReached || c.Rdp.Confirm?.IsFailure == true || c.Rdp.Alerts.Count > 0)
        {
            return (false, null, null);
        }

        if (c.Tcp.FirstEnd is { Reset: true, ByClient: false } && c.Tcp.ServerDataAfterServerReset > 0)
        {
            // Issue 11: a reset with the server's address ended the flow and the server, not knowing, kept
            // retransmitting to a client that answers with resets: a middlebox's reset, not a stall.
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

        long silence = (ending is Ending.Open or Ending.Timeout ? fileLastTimestamp : c.LastTimestamp) - c.Tcp.LastClientDataTimestamp;
        if (noAnswer && c.Tcp.LastClientDataTimestamp >= 0 && !clientUnacked && silence >= StallSilenceMicros
            && (c.Tcp.FirstEnd is { ByClient: true } || ending is Ending.Open or Ending.Timeout)
            && c.Current is Phase.Tls or Phase.X224 or Phase.Mcs or Phase.Credssp)
        {
            return (true, $"The server acknowledged the client's {what} but sent no answer for {silence / 1e6:0.#} s until the client gave up: when the answer is large (ServerHello + Certificate), this is the MTU black-hole signature seen from the client side.", "client");
        }

        return (false, null, null);
    }

    private AnalyzedUdpFlow BuildUdp(UdpFlow u)
    {
        string filter = Filters.Conversation(u.Client, u.Server, "udp");
        IcmpFinding? icmp = u.Icmp is { } i ? new IcmpFinding(i.Frame, i.Kind, null, u.Server.ToString(), $"udp {u.Client} -> {u.Server}", $"frame.number == {i.Frame}") { FileIndex = u.FileIndex } : null;
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

        var anomalies = new List<AnomalyFinding>();
        if (!u.SynAck && u.ServerDatagrams == 0 && icmp is null)
        {
            anomalies.Add(new AnomalyFinding(AnomalyKinds.UdpNoReply, u.SynFrames.ToList(), u.SynFrames.Count, Phase.Udp, "client", "RDP-UDP SYN without SYN+ACK", Filters.Frames(u.SynFrames)));
        }

        if (u.FragmentFrames.Count > 0)
        {
            anomalies.Add(new AnomalyFinding(AnomalyKinds.IpFragment, u.FragmentFrames.ToList(), u.FragmentFrames.Count, Phase.Udp, null, "IP-fragmented RDP-UDP datagram", Filters.Frames(u.FragmentFrames)));
        }

        return new AnalyzedUdpFlow(u.Client.ToString(), u.Server.ToString(), u.SynFrames.ToList(), u.SynAck, u.SynAckFrame, u.UdpVersion,
            u.ClientDatagrams, u.ServerDatagrams, icmp, anomalies, ok, summary, filter)
        {
            FileIndex = u.FileIndex,
        };
    }
}

/// <summary>What building a flow's findings needs from the analyzer, as of the moment the flow ended.</summary>
/// <param name="FileLastTimestamp">Capture time of the file's latest frame then ("the capture ended" for open flows).</param>
/// <param name="LastTimestamp">The latest frame time read then, across files.</param>
internal readonly record struct FlowEnd(long FileLastTimestamp, long LastTimestamp, long OpenGraceMicros, int MaxLiveFlows);

/// <summary>
/// A TCP flow the analyzer has finished and let go of, not yet reduced to its findings. The analyzer no longer touches
/// the connection, so <see cref="Build"/> may run on another thread: the CLI builds the findings on its report writer
/// thread and keeps the reading thread to reading, decoding and flow tracking (issue 16).
/// </summary>
internal sealed class FinishedFlow(TcpConnection connection, FlowEnd end)
{
    /// <summary>The findings; call once (building adds the stall anomalies to the connection's log).</summary>
    /// <param name="judgements">Remembers judgements across the flows one thread builds (null: judge this one afresh).</param>
    public AnalyzedConnection Build(JudgementMemo? judgements = null) => CaptureAnalyzer.BuildConnection(connection, end, judgements);
}
