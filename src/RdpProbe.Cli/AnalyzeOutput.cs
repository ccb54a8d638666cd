using RdpProbe.Reports;
using Spectre.Console;

namespace RdpProbe.Cli;

/// <summary>Human view of an analysis: one line per connection with its verdict, then details with frames and filters.</summary>
internal static class AnalyzeOutput
{
    public static void Render(IAnsiConsole console, AnalysisReport report, int details)
    {
        // Frame numbers count per file (as Wireshark numbers each file): with several files every frame says its file.
        bool many = report.Files.Count > 1;
        string In(string file) => many ? $" in {file}" : "";
        int failed = report.Connections.Count(c => !c.Verdict.Ok && !c.SupersededByFallback);
        console.MarkupLine(Markup.Escape(
            $"{report.Files.Count} file(s), {report.Packets} packets, {report.Bytes} bytes, {report.Seconds:0.###} s: " +
            $"{report.Connections.Count} RDP connection(s), {failed} failed; {report.Udp.Count} RDP-UDP flow(s)"));
        if (report.Damage is not null)
        {
            console.MarkupLine($"[yellow]{Markup.Escape(report.Damage)}[/]");
        }

        if (report.Connections.Count == 0 && report.Udp.Count == 0)
        {
            console.MarkupLine("No RDP connection found (TCP 3389, the --port list, or an X.224 Connection Request on any port).");
        }

        console.WriteLine();
        for (int i = 0; i < report.Connections.Count; i++)
        {
            var c = report.Connections[i];
            string tag = c.Verdict.Ok ? "[green]ok  [/]" : c.SupersededByFallback ? "[yellow]FELL[/]" : "[red]FAIL[/]";
            string ended = c.EndedBy is null ? c.Ending : c.Ending is "closed" or "reset" or "refused" ? $"{c.Ending} by {c.EndedBy}" : $"{c.Ending}, ended by {c.EndedBy}";
            console.MarkupLine($"{tag} #{i + 1} {Markup.Escape($"{c.Client} -> {c.Server}  {c.LastPhase}, {ended}, frames {c.FirstFrame}-{c.LastFrame}{In(c.File)}: {c.Verdict.Summary}")}");
        }

        foreach (var ch in report.Chains)
        {
            string tag = ch.Ok ? "[green]ok  [/]" : "[red]FAIL[/]";
            string attempts = string.Join(", ", ch.Attempts.Select(a => $"#{a.Connection + 1}"));
            console.MarkupLine($"{tag} {Markup.Escape($"attempt chain {ch.Id}: {ch.Client} -> {ch.Server}, {ch.Attempts.Count} attempts ({attempts}){In(ch.File)}: {ch.Summary}")}");
            if (ch.ClientVerdict is { } cv)
            {
                Line(console, $"     client verdict: {cv.Summary}{(cv.Inferred ? " (inferred)" : "")}");
            }
        }

        foreach (var u in report.Udp)
        {
            string tag = u.Verdict.Ok ? "[green]ok  [/]" : "[red]UDP [/]";
            console.MarkupLine($"{tag} {Markup.Escape($"udp {u.Client} -> {u.Server}: {u.Verdict.Summary}")}");
        }

        // Failed connections first, then ok ones, up to `details`, shown in capture order. Two passes instead of a sort
        // of every connection: a capture can hold hundreds of thousands of them.
        var shown = new List<(ConnectionReport c, int i)>();
        foreach (bool ok in new[] { false, true })
        {
            for (int i = 0; i < report.Connections.Count && shown.Count < details; i++)
            {
                if (report.Connections[i].Verdict.Ok == ok)
                {
                    shown.Add((report.Connections[i], i));
                }
            }
        }

        shown.Sort((a, b) => a.i.CompareTo(b.i));
        foreach (var (c, i) in shown)
        {
            console.WriteLine();
            RenderDetails(console, c, i + 1, many);
        }

        if (report.Connections.Count > shown.Count)
        {
            console.WriteLine();
            console.MarkupLine(Markup.Escape($"({report.Connections.Count - shown.Count} more connection(s) not shown in detail; use --details N or --json)"));
        }

        if (report.Udp.Count > 0)
        {
            console.WriteLine();
            console.MarkupLine("[bold]RDP-UDP[/]");
            foreach (var u in report.Udp)
            {
                Line(console, $"{u.Client} -> {u.Server}{In(u.File)}: SYN frames {string.Join(' ', u.SynFrames)}, SYN+ACK {(u.SynAck ? $"frame {u.SynAckFrame}" : "none")}{(u.UdpVersion is null ? "" : $", RDPEUDP {u.UdpVersion}")}");
                Line(console, $"  {u.Verdict.Summary}");
                Line(console, $"  filter: {u.Filter}");
            }
        }

        if (report.Icmp.Count > 0)
        {
            console.WriteLine();
            console.MarkupLine("[bold]ICMP[/]");
            foreach (var m in report.Icmp)
            {
                Line(console, $"frame {m.Frame}{In(m.File)}: {m.Kind}{(m.Mtu is { } mtu ? $" (MTU {mtu})" : "")} about {m.About}, quoting {m.Quoted}   filter: {m.Filter}");
            }
        }

        var f = report.Fragments;
        if (f.Ipv4 + f.Ipv6 > 0)
        {
            console.WriteLine();
            Line(console, $"IP fragments: {f.Ipv4} IPv4, {f.Ipv6} IPv6; {f.Reassembled} datagram(s) reassembled, {f.Incomplete} incomplete.   filter: ip.flags.mf==1 || ip.frag_offset>0 || ipv6.fragment");
            if (many)
            {
                foreach (var pf in f.PerFile.Where(pf => pf.Ipv4 + pf.Ipv6 > 0))
                {
                    Line(console, $"  {pf.File}: {pf.Ipv4} IPv4, {pf.Ipv6} IPv6; {pf.Reassembled} reassembled, {pf.Incomplete} incomplete");
                }
            }
        }
    }

    internal static void RenderDetails(IAnsiConsole console, ConnectionReport c, int number, bool many)
    {
        console.MarkupLine($"[bold]Connection #{number}[/] {Markup.Escape($"{c.Client} -> {c.Server}, {(many ? $"{c.File} " : "")}frames {c.FirstFrame}-{c.LastFrame}, {c.Packets} packets{(c.StartedBeforeCapture ? ", started before the capture" : "")}")}");
        Line(console, $"  filter: {c.Filter}");
        if (c.Cookie is not null || c.RoutingToken is not null || c.RequestedProtocols is not null)
        {
            string token = c.Cookie is not null ? $"cookie \"{c.Cookie}\"" : c.RoutingToken is not null ? $"routing token \"{c.RoutingToken}\"" : "no cookie";
            string answer = c.FailureCode is not null ? $"failure {c.FailureCode}" : c.SelectedProtocol is not null ? $"selected {c.SelectedProtocol}" : "no answer";
            Line(console, $"  x224: {token}, requested {string.Join(",", c.RequestedProtocols ?? [])} -> {answer}");
        }

        if (c.Tls is { } tls)
        {
            var parts = new List<string>();
            if (tls.Version is not null)
            {
                parts.Add(tls.Version);
            }

            if (tls.CipherSuite is not null)
            {
                parts.Add(tls.CipherSuite);
            }

            if (tls.ClientMaxVersion is not null)
            {
                parts.Add($"client offered up to {tls.ClientMaxVersion}");
            }

            if (tls.CertificateSubject is not null)
            {
                parts.Add($"certificate {tls.CertificateSubject}");
            }

            if (tls.ClientHelloFrame is { } chf)
            {
                parts.Add($"ClientHello frame {chf}");
            }

            if (tls.ServerHelloFrame is { } shf)
            {
                parts.Add($"ServerHello frame {shf}");
            }

            Line(console, $"  tls: {string.Join(", ", parts)}");
            foreach (var a in tls.Alerts)
            {
                string what = a.Inferred
                    ? "inferred from the record length (a TLS 1.3 application-data record the size of an alert; level and description not visible)"
                    : a.Encrypted ? "encrypted (level and description not visible)" : $"{a.Level} {a.Description}";
                Line(console, $"  tls alert from {a.From} in frame {a.Frame}: {what}");
            }
        }

        if (c.Credssp is { } cs)
        {
            string flights = string.Join(" -> ", cs.Flights.Select(x => $"{x.From} {x.Label} {x.Bytes} B{(x.PlaintextEstimate is { } p ? $" (~{p} B plain)" : "")}"));
            Line(console, $"  credssp (inferred from record sizes): {flights}");
        }

        if (c.StandardSecurity is { } s)
        {
            Line(console, $"  standard RDP security: client methods {s.ClientEncryptionMethods ?? "?"}, server method {s.EncryptionMethod ?? "?"}, level {s.EncryptionLevel ?? "?"}{(s.McsResult is { } r ? $", MCS result {r}" : "")}{(s.LicensingResult is null ? "" : $", licensing {s.LicensingResult}")}");
        }

        Line(console, "  phases: " + string.Join(", ", c.Phases.Select(p => $"{p.Name} {p.FirstFrame}-{p.LastFrame} {p.Status}{(p.Inferred ? " (inferred)" : "")}")));
        console.MarkupLine($"  verdict: {(c.Verdict.Ok ? "[green]" : "[red]")}{Markup.Escape(c.Verdict.Summary)}[/]{(c.Verdict.Inferred ? " (inferred)" : "")}");
        if (c.Verdict.Evidence is { } evidence)
        {
            // Issue 11: who sent the last bytes and how the connection ended, which ranks the first cause.
            Line(console, $"  evidence: {evidence}");
        }

        if (c.Verdict.Causes.Count > 0)
        {
            Line(console, $"  likely causes: {string.Join("; ", c.Verdict.Causes)}");
        }

        if (c.Verdict.Undecided is { Count: > 0 } undecided)
        {
            Line(console, $"  undecided: {string.Join("; ", undecided)}");
        }

        if (c.Verdict.Remedies.Count > 0)
        {
            Line(console, $"  what to do: {string.Join("; ", c.Verdict.Remedies)}");
        }

        if (c.ClientVerdict is { } cv)
        {
            Line(console, $"  client verdict: {cv.Summary}{(cv.Inferred ? " (inferred)" : "")}");
        }

        // The whole compatibility table, one line per profile, as the probe's view shows it.
        if (c.Compatibility.Count > 0)
        {
            Line(console, "  compatibility:");
            foreach (var v in c.Compatibility)
            {
                Line(console, $"    {v.Profile,-10} {CompatibilityCell(v)}");
            }
        }

        foreach (var f in c.Findings)
        {
            Line(console, $"  finding {f.Severity} {f.Code}: {f.Title}");
        }

        foreach (var a in c.Anomalies)
        {
            string frames = string.Join(' ', a.Frames) + (a.Count > a.Frames.Count ? " ..." : "");
            Line(console, $"  {a.Kind}{(a.Inferred ? " (inferred)" : "")}{(a.Count > 1 ? $" x{a.Count}" : "")}{(a.From is null ? "" : $" from {a.From}")}{(a.Phase is null ? "" : $" in {a.Phase}")}{(a.Detail is null ? "" : $" ({a.Detail})")}: frames {frames}   filter: {a.Filter}");
        }
    }

    internal static void Line(IAnsiConsole console, string text) => console.MarkupLine(Markup.Escape(text));

    /// <summary>One profile's row: the result and how it connects, or where and why it fails, or what is missing.</summary>
    internal static string CompatibilityCell(ClientVerdictReport v) => v.Result switch
    {
        "connects" => $"connects ({v.Protocol})",
        "connects_after_warning" => $"connects after a warning ({v.Protocol}): {string.Join("; ", v.Warnings)}",
        "connects_insecurely" => $"connects insecurely ({v.Protocol}, no server authentication)",
        "fails" => $"FAILS at {v.FailPhase} because {v.Reason}",
        _ => $"cannot tell: needs {string.Join("; ", v.NeedsConnection)}",
    } + (v.Inferred ? " (inferred)" : "");
}
