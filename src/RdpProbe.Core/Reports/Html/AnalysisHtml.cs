using System.Globalization;
using System.Text;
using static RdpProbe.Reports.Html.HtmlPage;

namespace RdpProbe.Reports.Html;

/// <summary>
/// The offline analysis as one HTML page: a summary (connections, failures by phase, anomalies by kind), a timeline
/// with one bar per connection, and, failed connections first, a bounded number of connections drawn as ladders from
/// the capture (frame numbers, directions, sizes, the phase bands, the anomalies) with the Wireshark filters to copy.
/// The page stays a few MB for a capture of tens of thousands of connections: the timeline is one small rect per
/// connection, the list and the ladders are bounded, and the rest is counted.
/// </summary>
public static class AnalysisHtml
{
    /// <summary>Connections drawn in detail by default.</summary>
    public const int DefaultDetails = 25;

    /// <summary>Rows of the connection list at most.</summary>
    public const int MaxListed = 1000;

    /// <summary>The connections in the order the page shows them: failed first, each group by first frame.</summary>
    public static IReadOnlyList<ConnectionReport> Ordered(AnalysisReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return report.Connections.Where(c => !c.Verdict.Ok).Concat(report.Connections.Where(c => c.Verdict.Ok)).ToList();
    }

    public static string Write(AnalysisReport report, HtmlProvenance provenance, int details = DefaultDetails)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(provenance);
        details = Math.Max(0, details);
        string files = string.Join(", ", report.Files.Select(Path.GetFileName));
        var page = new HtmlPage($"rdpprobe analyze: {files}");
        page.El("h1", report.Files.Count <= 3 ? $"Capture analysis of {files}" : $"Capture analysis of {report.Files.Count} files");
        var ordered = Ordered(report);
        int failed = report.Connections.Count(c => !c.Verdict.Ok);
        page.Raw($"<section class=\"verdict {(failed == 0 ? "ok" : "fail")}\" id=\"verdict\"><div class=\"word\">")
            .Raw(Text(failed == 0 ? $"✔ {report.Connections.Count} RDP connection(s), none failed" : $"✘ {failed} of {report.Connections.Count} RDP connection(s) failed"))
            .Raw("</div></section>\n");
        Summary(page, report);
        page.El("h2", "Timeline of all connections");
        page.Raw(Timeline(report));
        page.El("h2", "Connections in detail");
        var shown = ordered.Take(details).ToList();
        int number = 0;
        foreach (var c in shown)
        {
            Connection(page, c, ++number);
        }

        if (ordered.Count > shown.Count)
        {
            int restFailed = ordered.Skip(shown.Count).Count(c => !c.Verdict.Ok);
            page.El("p", $"{ordered.Count - shown.Count} more connection(s) not drawn ({restFailed} of them failed); see the list above, or write the page with a larger --details.", "muted more");
        }

        // The long list comes last so that the drawn connections are not pushed far down the page.
        List(page, ordered);
        Udp(page, report);
        return page.Footer(provenance).ToString();
    }

    private static void Summary(HtmlPage page, AnalysisReport report)
    {
        page.El("h2", "Summary");
        page.Facts([
            ("Files", string.Join(", ", report.Files)),
            ("Packets", report.Packets.ToString("N0", CultureInfo.InvariantCulture)),
            ("Bytes", report.Bytes.ToString("N0", CultureInfo.InvariantCulture)),
            ("Duration", $"{Num(report.Seconds, "0.000")} s"),
            ("RDP connections", report.Connections.Count.ToString(CultureInfo.InvariantCulture)),
            ("RDP-UDP flows", report.Udp.Count > 0 ? report.Udp.Count.ToString(CultureInfo.InvariantCulture) : null),
            ("ICMP errors", report.Icmp.Count > 0 ? report.Icmp.Count.ToString(CultureInfo.InvariantCulture) : null),
            ("Damage", report.Damage),
            ("Warnings", report.Warnings.Count > 0 ? string.Join("; ", report.Warnings) : null),
        ]);
        var byPhase = report.Connections.Where(c => !c.Verdict.Ok).GroupBy(c => (c.Verdict.Phase, c.Verdict.Ending)).OrderByDescending(g => g.Count()).ToList();
        if (byPhase.Count > 0)
        {
            page.El("h3", "Failures by phase");
            page.Table(["Phase", "Ending", "Connections"], byPhase.Select(g => (IReadOnlyList<string?>)[g.Key.Phase, g.Key.Ending, g.Count().ToString(CultureInfo.InvariantCulture)]), "by-phase");
        }

        var anomalies = report.Connections.SelectMany(c => c.Anomalies.Select(a => (c, a))).GroupBy(x => x.a.Kind)
            .Select(g => (Kind: g.Key, Count: g.Sum(x => (long)x.a.Count), Connections: g.Select(x => x.c).Distinct().Count())).OrderByDescending(x => x.Count).ToList();
        if (anomalies.Count > 0)
        {
            page.El("h3", "Anomalies by kind");
            page.Table(["Kind", "Times seen", "In connections"], anomalies.Select(a => (IReadOnlyList<string?>)[a.Kind, a.Count.ToString(CultureInfo.InvariantCulture), a.Connections.ToString(CultureInfo.InvariantCulture)]), "by-kind");
        }
    }

    /// <summary>The ending with its code, the code left out when it only repeats the ending ("refused").</summary>
    private static string Ending(VerdictReport v) => v.Code is null || v.Code == v.Ending ? v.Ending : $"{v.Ending}, {v.Code}";

    private static string Outcome(ConnectionReport c) => c.Verdict.Ok ? "ok" : c.Ending == "open" ? "open" : "failed";

    /// <summary>
    /// One bar per connection over the capture's frame numbers. Few connections get a labelled row each; many are
    /// packed into lanes (a connection takes the first lane free at its first frame). Failed bars are hatched and
    /// open ones dotted, so the outcome does not rest on colour.
    /// </summary>
    private static string Timeline(AnalysisReport report)
    {
        var conns = report.Connections;
        if (conns.Count == 0)
        {
            return "<p class=\"muted\">No RDP connection in the capture.</p>";
        }

        const int width = 900;
        const int left = 10;
        const int plot = width - 20;
        long first = conns.Min(c => c.FirstFrame);
        long last = Math.Max(first + 1, conns.Max(c => c.LastFrame));
        double scale = plot / (double)(last - first);
        bool labelled = conns.Count <= 40;
        int[] lane = new int[conns.Count];
        int lanes;
        if (labelled)
        {
            for (int i = 0; i < lane.Length; i++)
            {
                lane[i] = i;
            }

            lanes = conns.Count;
        }
        else
        {
            // Greedy interval packing; the ends of the lanes in use, reused when free.
            var ends = new List<int>();
            var order = Enumerable.Range(0, conns.Count).OrderBy(i => conns[i].FirstFrame).ToArray();
            foreach (int i in order)
            {
                int free = ends.FindIndex(e => e < conns[i].FirstFrame);
                if (free < 0)
                {
                    ends.Add(conns[i].LastFrame);
                    free = ends.Count - 1;
                }
                else
                {
                    ends[free] = conns[i].LastFrame;
                }

                lane[i] = free;
            }

            lanes = ends.Count;
        }

        double rowHeight = labelled ? 20 : Math.Clamp(600.0 / lanes, 2, 10);
        int top = 8;
        int height = top + (int)Math.Ceiling(lanes * rowHeight) + 40;
        var s = new StringBuilder(1024 + (conns.Count * 90));
        s.Append("<figure><svg class=\"timeline\" role=\"img\" viewBox=\"0 0 ").Append(width).Append(' ').Append(height).Append("\" xmlns=\"http://www.w3.org/2000/svg\">")
         .Append("<title>One bar per connection, over the capture's frame numbers</title><defs>")
         .Append("<pattern id=\"tl-fail\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#c62828\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#ffffff\" stroke-width=\"2\"/></pattern>")
         .Append("<pattern id=\"tl-open\" width=\"5\" height=\"5\" patternUnits=\"userSpaceOnUse\"><rect width=\"5\" height=\"5\" fill=\"#b0bec5\"/><circle cx=\"2.5\" cy=\"2.5\" r=\"1.2\" fill=\"#37474f\"/></pattern></defs>");
        for (int i = 0; i < conns.Count; i++)
        {
            var c = conns[i];
            string outcome = Outcome(c);
            string fill = outcome switch { "ok" => "#2e7d32", "open" => "url(#tl-open)", _ => "url(#tl-fail)" };
            double x = left + ((c.FirstFrame - first) * scale);
            double w = Math.Max(2, (c.LastFrame - c.FirstFrame) * scale);
            double y = top + (lane[i] * rowHeight);
            s.Append("<rect class=\"conn-bar ").Append(outcome).Append("\" x=\"").Append(Num(x, "0.#")).Append("\" y=\"").Append(Num(y, "0.#"))
             .Append("\" width=\"").Append(Num(w, "0.#")).Append("\" height=\"").Append(Num(Math.Max(1.5, rowHeight - (labelled ? 6 : 1)), "0.#")).Append("\" fill=\"").Append(fill).Append('"');
            if (labelled)
            {
                s.Append("><title>").Append(Text($"{c.Client} → {c.Server}: {(c.Verdict.Ok ? "ok" : $"failed at {c.Verdict.Phase} ({c.Verdict.Ending})")}, frames {c.FirstFrame}–{c.LastFrame}")).Append("</title></rect>");
                string word = outcome == "ok" ? "✔ ok" : outcome == "open" ? "… open" : $"✘ {c.Verdict.Phase}: {c.Verdict.Ending}";
                // The label goes right of the bar unless it would run off the edge, then left of it.
                string label = $"{c.Client} {word}";
                double tx = x + w + 4 + (label.Length * 6.2) > width ? x - 4 : x + w + 4;
                s.Append("<text x=\"").Append(Num(tx, "0.#")).Append("\" y=\"").Append(Num(y + 11, "0.#")).Append("\" font-size=\"11\"").Append(tx < x ? " text-anchor=\"end\"" : "").Append('>')
                 .Append(Text(label)).Append("</text>");
            }
            else
            {
                s.Append("/>");
            }
        }

        int axisY = top + (int)Math.Ceiling(lanes * rowHeight) + 14;
        s.Append("<text x=\"").Append(left).Append("\" y=\"").Append(axisY).Append("\" font-size=\"11\">frame ").Append(first).Append("</text>")
         .Append("<text x=\"").Append(width - 10).Append("\" y=\"").Append(axisY).Append("\" font-size=\"11\" text-anchor=\"end\">frame ").Append(last).Append("</text>");
        // Legend: the pattern and the word together.
        int ly = axisY + 16;
        s.Append("<rect x=\"").Append(left).Append("\" y=\"").Append(ly - 9).Append("\" width=\"18\" height=\"10\" fill=\"#2e7d32\"/><text x=\"").Append(left + 22).Append("\" y=\"").Append(ly).Append("\" font-size=\"11\">ok (solid)</text>")
         .Append("<rect x=\"").Append(left + 110).Append("\" y=\"").Append(ly - 9).Append("\" width=\"18\" height=\"10\" fill=\"url(#tl-fail)\"/><text x=\"").Append(left + 132).Append("\" y=\"").Append(ly).Append("\" font-size=\"11\">failed (hatched)</text>")
         .Append("<rect x=\"").Append(left + 250).Append("\" y=\"").Append(ly - 9).Append("\" width=\"18\" height=\"10\" fill=\"url(#tl-open)\"/><text x=\"").Append(left + 272).Append("\" y=\"").Append(ly).Append("\" font-size=\"11\">still open at the end (dotted)</text>");
        s.Append("</svg><figcaption>").Append(Text(labelled
            ? $"{conns.Count} connection(s), one row each, placed by frame number."
            : $"{conns.Count} connections packed into {lanes} lane(s) (a connection takes the first free lane), placed by frame number.")).Append("</figcaption></figure>\n");
        return s.ToString();
    }

    private static void List(HtmlPage page, IReadOnlyList<ConnectionReport> ordered)
    {
        page.El("h2", "Connections");
        page.Table(
            ["#", "Client", "Server", "Outcome", "Frames", "Packets"],
            ordered.Take(MaxListed).Select((c, i) => (IReadOnlyList<string?>)[
                (i + 1).ToString(CultureInfo.InvariantCulture),
                c.Client,
                c.Server,
                BadgeCell(c.Verdict.Ok ? "ok" : Outcome(c) == "open" ? "warn" : "fail", c.Verdict.Ok ? "ok" : $"{c.Verdict.Phase}: {Ending(c.Verdict)}"),
                $"{c.FirstFrame}–{c.LastFrame}",
                c.Packets.ToString(CultureInfo.InvariantCulture)]),
            "connections");
        if (ordered.Count > MaxListed)
        {
            page.El("p", $"{ordered.Count - MaxListed} more connection(s) not listed.", "muted");
        }
    }

    private static void Connection(HtmlPage page, ConnectionReport c, int number)
    {
        var v = c.Verdict;
        page.Raw($"<section class=\"conn {(v.Ok ? "ok" : "failed")}\">");
        page.El("h3", $"#{number} {c.Client} → {c.Server} (frames {c.FirstFrame}–{c.LastFrame})");
        string word = v.Ok ? "✔ OK" : $"✘ FAILED at the {v.Phase} step ({Ending(v)})";
        page.Raw($"<div class=\"verdict {(v.Ok ? "ok" : "fail")}\"><div class=\"word\">{Text(word)}</div><p>{Text(v.Summary)}{(v.Inferred ? " <i>(inferred from record sizes and timing)</i>" : "")}</p>");
        if (v.Remedies.Count > 0)
        {
            page.Raw("<ul>" + string.Concat(v.Remedies.Select(r => $"<li>{Text(r)}</li>")) + "</ul>");
        }

        page.Raw("</div>");
        page.Raw(Ladder(c));
        page.Facts([
            ("Requested", c.RequestedProtocols is { } r ? string.Join("|", r) : null),
            ("Selected", c.SelectedProtocol),
            ("Refused with", c.FailureCode),
            ("Cookie", c.Cookie),
            ("TLS", c.Tls is { } t && $"{t.Version} {t.CipherSuite}".Trim() is { Length: > 0 } tls ? tls : null),
            ("SNI", c.Tls?.ServerName),
            ("Certificate subject", c.Tls?.CertificateSubject),
            ("Certificate issuer", c.Tls?.CertificateIssuer),
            ("Ended by", c.EndedBy),
            ("Bytes client / server", $"{c.ClientBytes} / {c.ServerBytes}"),
        ]);
        page.Raw("<p><b>Wireshark filter for this connection</b> (click to select, then copy):</p><code class=\"filter\">").Raw(Text(c.Filter)).Raw("</code>");
        if (c.Anomalies.Count > 0)
        {
            page.Table(["Anomaly", "Count", "Phase", "From", "Frames", "Filter"], c.Anomalies.Select(a => (IReadOnlyList<string?>)[
                a.Kind, a.Count.ToString(CultureInfo.InvariantCulture), a.Phase, a.From, string.Join(" ", a.Frames), RawCell + $"<code class=\"filter\">{Text(a.Filter)}</code>"]), "anomalies");
        }

        page.Raw("</section>\n");
    }

    /// <summary>The ladder drawn from what the analysis kept: phase spans, the TLS hellos and alerts, the CredSSP flights, the anomalies.</summary>
    internal static string Ladder(ConnectionReport c)
    {
        var events = LadderEvents(c);
        var bands = new List<LadderBand>();
        foreach (var phase in c.Phases)
        {
            var rows = events.Where(e => e.Phase == phase.Name).OrderBy(e => e.Frame).Select(e => e.Row).ToList();
            if (rows.Count == 0)
            {
                rows.Add(new LadderNote($"frames {phase.FirstFrame}–{phase.LastFrame}{(phase.Inferred ? " (inferred)" : "")}", "note"));
            }

            bool failedHere = !c.Verdict.Ok && phase.Name == c.Verdict.Phase;
            if (failedHere)
            {
                rows.Add(new LadderNote($"Failed here: {Ending(c.Verdict)} — {c.Verdict.Summary}", "fail"));
            }

            bands.Add(new LadderBand($"{phase.Name} {phase.FirstFrame}–{phase.LastFrame}", failedHere ? "failed" : phase.Status == "ok" ? "ok" : phase.Status, rows));
        }

        if (bands.Count == 0)
        {
            bands.Add(new LadderBand(c.Verdict.Phase, c.Verdict.Ok ? "ok" : "failed", [new LadderNote(c.Verdict.Summary, c.Verdict.Ok ? "note" : "fail")]));
        }

        return LadderSvg.Render(bands, $"client {c.Client}", $"server {c.Server}", $"Ladder from the capture: frames {c.FirstFrame}–{c.LastFrame}; arrows are the messages the analyzer decoded or inferred, triangles the anomalies.");
    }

    private sealed record Event(string Phase, int Frame, LadderRow Row);

    private static List<Event> LadderEvents(ConnectionReport c)
    {
        var list = new List<Event>();
        string PhaseOf(int frame, string fallback) => c.Phases.FirstOrDefault(p => frame >= p.FirstFrame && frame <= p.LastFrame)?.Name ?? fallback;
        var tcp = c.Phases.FirstOrDefault(p => p.Name == "tcp");
        if (tcp is not null && !c.StartedBeforeCapture)
        {
            list.Add(new Event("tcp", tcp.FirstFrame, new LadderArrow(true, "SYN", $"frame {tcp.FirstFrame}")));
        }

        var x224 = c.Phases.FirstOrDefault(p => p.Name == "x224");
        if (x224 is not null)
        {
            list.Add(new Event("x224", x224.FirstFrame, new LadderArrow(true, $"X.224 Connection Request{(c.RequestedProtocols is { } r ? " (" + string.Join("|", r) + ")" : "")}", $"frame {x224.FirstFrame}")));
            if (c.SelectedProtocol is not null || c.FailureCode is not null)
            {
                list.Add(new Event("x224", x224.LastFrame, new LadderArrow(false,
                    c.FailureCode is { } f ? $"X.224 Connection Confirm: refused ({f})" : $"X.224 Connection Confirm (selected {c.SelectedProtocol})",
                    $"frame {x224.LastFrame}", c.FailureCode is not null)));
            }
        }

        if (c.Tls is { } tls)
        {
            if (tls.ClientHelloFrame is { } ch)
            {
                list.Add(new Event(PhaseOf(ch, "tls"), ch, new LadderArrow(true, $"TLS ClientHello{(tls.ClientMaxVersion is null ? "" : " (up to " + tls.ClientMaxVersion + ")")}", $"frame {ch}")));
            }

            if (tls.ServerHelloFrame is { } sh)
            {
                list.Add(new Event(PhaseOf(sh, "tls"), sh, new LadderArrow(false, $"TLS ServerHello{(tls.Version is null ? "" : " (" + tls.Version + ")")}", $"frame {sh}")));
            }

            foreach (var a in tls.Alerts)
            {
                list.Add(new Event(PhaseOf(a.Frame, "tls"), a.Frame, new LadderArrow(a.From == "client",
                    a.Encrypted ? "TLS alert (encrypted)" : $"TLS alert: {a.Level} {a.Description}", $"frame {a.Frame}", a.Level == "fatal")));
            }
        }

        if (c.Credssp is { } cs)
        {
            foreach (var f in cs.Flights)
            {
                list.Add(new Event(PhaseOf(f.FirstFrame, "credssp"), f.FirstFrame, new LadderArrow(f.From == "client", f.Label,
                    $"{f.Bytes} B in {f.Records} record(s) · frames {f.FirstFrame}–{f.LastFrame}")));
            }
        }

        foreach (var a in c.Anomalies)
        {
            int frame = a.Frames.Count > 0 ? a.Frames[0] : c.LastFrame;
            string frames = string.Join(" ", a.Frames.Take(8)) + (a.Frames.Count > 8 ? " …" : "");
            string text = $"{a.Kind}{(a.Count > 1 ? " ×" + a.Count : "")}{(a.From is null ? "" : " from " + a.From)} — frame(s) {frames}{(a.Detail is null ? "" : ": " + a.Detail)}";
            list.Add(new Event(a.Phase ?? PhaseOf(frame, c.LastPhase), frame, new LadderNote(text, "anomaly", a.From switch { "client" => true, "server" => false, _ => null })));
        }

        return list;
    }

    private static void Udp(HtmlPage page, AnalysisReport report)
    {
        if (report.Udp.Count == 0 && report.Icmp.Count == 0)
        {
            return;
        }

        if (report.Udp.Count > 0)
        {
            page.El("h2", "RDP-UDP flows");
            page.Table(["Client", "Server", "Outcome", "Summary", "Filter"], report.Udp.Take(MaxListed).Select(u => (IReadOnlyList<string?>)[
                u.Client, u.Server, BadgeCell(u.Verdict.Ok ? "ok" : "fail", u.Verdict.Ok ? "ok" : "failed"), u.Verdict.Summary, RawCell + $"<code class=\"filter\">{Text(u.Filter)}</code>"]));
        }

        if (report.Icmp.Count > 0)
        {
            page.El("h2", "ICMP errors");
            page.Table(["Frame", "Kind", "MTU", "About", "Filter"], report.Icmp.Take(MaxListed).Select(i => (IReadOnlyList<string?>)[
                i.Frame.ToString(CultureInfo.InvariantCulture), i.Kind, i.Mtu?.ToString(CultureInfo.InvariantCulture), i.About, RawCell + $"<code class=\"filter\">{Text(i.Filter)}</code>"]));
        }
    }
}
