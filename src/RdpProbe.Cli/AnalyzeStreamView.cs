using RdpProbe.Reports;
using Spectre.Console;

namespace RdpProbe.Cli;

/// <summary>
/// The human view of a streamed analysis: one line per connection as soon as it ended, one per attempt chain as soon as
/// it finished (after its connections), then, at the end, RDP-UDP, the details of up to N connections (failed ones
/// first), ICMP, fragments and the totals. Holds at most 2×N connection reports (the candidates for details), whatever
/// the size of the capture.
/// </summary>
internal sealed class AnalyzeStreamView(IAnsiConsole console, int details) : IAnalysisSink
{
    private readonly List<(ConnectionReport Connection, int Index)> _failed = [];
    private readonly List<(ConnectionReport Connection, int Index)> _ok = [];

    /// <summary>
    /// No colours (a file or a pipe): the per-connection lines go straight to the writer. Spectre's markup renders the
    /// same characters there but costs ≈ 20 KB of segments per line: a 12,000-connection capture ran 1.26 s instead of
    /// 0.49 s, with 139 MiB instead of 94 (bench/RESULTS-analyzer.md).
    /// </summary>
    private readonly TextWriter? _plain = console.Profile.Capabilities.Ansi ? null : console.Profile.Out.Writer;
    private bool _anyLine;
    private bool _many;

    public void Begin(IReadOnlyList<string> files) => _many = files.Count > 1;

    /// <summary>Frame numbers count per file: with several files every frame says its file.</summary>
    private string In(string file) => _many ? $" in {file}" : "";

    public void Connection(int index, ConnectionReport c, int? verdictId, VerdictProse? newVerdict)
    {
        string ended = c.EndedBy is null ? c.Ending : c.Ending is "closed" or "reset" or "refused" ? $"{c.Ending} by {c.EndedBy}" : $"{c.Ending}, ended by {c.EndedBy}";
        string line = $"#{index + 1} {c.Client} -> {c.Server}  {c.LastPhase}, {ended}, frames {c.FirstFrame}-{c.LastFrame}{In(c.File)}: {c.Verdict.Summary}";
        if (_plain is not null)
        {
            _plain.WriteLine(c.Verdict.Ok ? $"ok   {line}" : $"FAIL {line}");
        }
        else
        {
            console.MarkupLine($"{(c.Verdict.Ok ? "[green]ok  [/]" : "[red]FAIL[/]")} {Markup.Escape(line)}");
        }

        _anyLine = true;
        var keep = c.Verdict.Ok ? _ok : _failed;
        if (keep.Count < details)
        {
            keep.Add((c, index));
        }
    }

    public void Chain(ChainReport ch)
    {
        string tag = ch.Ok ? (ch.FellBack ? "[yellow]FELL[/]" : "[green]ok  [/]") : "[red]FAIL[/]";
        string attempts = string.Join(", ", ch.Attempts.Select(a => $"#{a.Connection + 1}{(a.SupersededByFallback ? " (replaced by the fallback, not counted as failed)" : "")}"));
        console.MarkupLine($"{tag} {Markup.Escape($"attempt chain {ch.Id}: {ch.Client} -> {ch.Server}, {ch.Attempts.Count} attempts ({attempts}){In(ch.File)}: {ch.Summary}")}");
        if (ch.ClientVerdict is { } cv)
        {
            AnalyzeOutput.Line(console, $"     client verdict: {cv.Summary}{(cv.Inferred ? " (inferred)" : "")}");
        }

        _anyLine = true;
    }

    public void End(AnalysisSummary summary)
    {
        foreach (var u in summary.Udp)
        {
            string tag = u.Verdict.Ok ? "[green]ok  [/]" : "[red]UDP [/]";
            console.MarkupLine($"{tag} {Markup.Escape($"udp {u.Client} -> {u.Server}: {u.Verdict.Summary}")}");
            _anyLine = true;
        }

        var shown = _failed.Concat(_ok).Take(details).OrderBy(x => x.Index).ToList();
        foreach (var (c, i) in shown)
        {
            console.WriteLine();
            AnalyzeOutput.RenderDetails(console, c, i + 1, _many);
        }

        if (summary.Connections > shown.Count)
        {
            console.WriteLine();
            console.MarkupLine(Markup.Escape($"({summary.Connections - shown.Count} more connection(s) not shown in detail; use --details N or --json)"));
        }

        if (summary.Udp.Count > 0)
        {
            console.WriteLine();
            console.MarkupLine("[bold]RDP-UDP[/]");
            foreach (var u in summary.Udp)
            {
                AnalyzeOutput.Line(console, $"{u.Client} -> {u.Server}{In(u.File)}: SYN frames {string.Join(' ', u.SynFrames)}, SYN+ACK {(u.SynAck ? $"frame {u.SynAckFrame}" : "none")}{(u.UdpVersion is null ? "" : $", RDPEUDP {u.UdpVersion}")}");
                AnalyzeOutput.Line(console, $"  {u.Verdict.Summary}");
                AnalyzeOutput.Line(console, $"  filter: {u.Filter}");
            }
        }

        if (summary.Icmp.Count > 0)
        {
            console.WriteLine();
            console.MarkupLine("[bold]ICMP[/]");
            foreach (var m in summary.Icmp)
            {
                AnalyzeOutput.Line(console, $"frame {m.Frame}{In(m.File)}: {m.Kind}{(m.Mtu is { } mtu ? $" (MTU {mtu})" : "")} about {m.About}, quoting {m.Quoted}   filter: {m.Filter}");
            }
        }

        var f = summary.Fragments;
        if (f.Ipv4 + f.Ipv6 > 0)
        {
            console.WriteLine();
            AnalyzeOutput.Line(console, $"IP fragments: {f.Ipv4} IPv4, {f.Ipv6} IPv6; {f.Reassembled} datagram(s) reassembled, {f.Incomplete} incomplete.   filter: ip.flags.mf==1 || ip.frag_offset>0 || ipv6.fragment");
            if (_many)
            {
                foreach (var pf in f.PerFile.Where(pf => pf.Ipv4 + pf.Ipv6 > 0))
                {
                    AnalyzeOutput.Line(console, $"  {pf.File}: {pf.Ipv4} IPv4, {pf.Ipv6} IPv6; {pf.Reassembled} reassembled, {pf.Incomplete} incomplete");
                }
            }
        }

        if (_anyLine || shown.Count > 0)
        {
            console.WriteLine();
        }

        if (summary.Connections == 0 && summary.Udp.Count == 0)
        {
            console.MarkupLine("No RDP connection found (TCP 3389, the --port list, or an X.224 Connection Request on any port).");
        }

        console.MarkupLine(Markup.Escape(
            $"{summary.Files.Count} file(s), {summary.Packets} packets, {summary.Bytes} bytes, {summary.Seconds:0.###} s: " +
            $"{summary.Connections} RDP connection(s), {summary.FailedConnections} failed; {summary.Udp.Count} RDP-UDP flow(s)"));
        if (summary.Damage is not null)
        {
            console.MarkupLine($"[yellow]{Markup.Escape(summary.Damage)}[/]");
        }
    }
}
