using System.Globalization;
using RdpProbe.Diagnosis;
using RdpProbe.Probe;
using RdpProbe.Probe.Phases;
using RdpProbe.Protocol;
using RdpProbe.Runs;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace RdpProbe.Cli;

/// <summary>The human view of a probe: phase table with wire timings, what went each way, decoded facts, the verdict.</summary>
internal static class ProbeView
{
    /// <param name="verbose">-v: every message, the matrix tables, the full certificate, CredSSP and session details;
    /// without it the brief view (<see cref="BriefProbeView"/>) that fits one screen for a healthy server.</param>
    public static void Render(IAnsiConsole console, ProbeReport report, CaptureResult? capture = null, bool verbose = true)
    {
        if (!verbose)
        {
            BriefProbeView.Render(console, report, capture);
            return;
        }

        string address = report.Address is null ? string.Empty : $" → {report.Address}";
        console.MarkupLine($"[bold]rdpprobe {Esc(report.Target.Input)}[/]{Esc(address)}");
        if (report.ResolvedAddresses.Count > 1)
        {
            console.MarkupLine($"  resolved to {Esc(string.Join(", ", report.ResolvedAddresses))}");
        }

        console.WriteLine();
        RenderPhases(console, report);
        RenderMessages(console, report);
        RenderNegotiation(console, report);
        RenderTls(console, report);
        RenderCredSsp(console, report);
        RenderSession(console, report);
        CaptureView.Render(console, capture);
        RenderFindings(console, report);
        RenderVerdict(console, report.Verdict);
    }

    internal static void RenderFindings(IAnsiConsole console, ProbeReport report)
    {
        if (report.Findings.Count == 0)
        {
            return;
        }

        var table = new Table().Title("[bold]findings[/]").AddColumns("severity", "finding", "evidence", "what to do");
        foreach (var f in report.Findings)
        {
            string color = f.Severity switch
            {
                Severity.Critical or Severity.High => "red",
                Severity.Medium => "yellow",
                _ => "grey",
            };

            // The severity word is always printed: colour never carries the meaning alone.
            table.AddRow($"[{color}]{f.Severity.ToString().ToUpperInvariant()}[/]", Esc(f.Title), Esc(f.Evidence), Esc(f.Remedy));
        }

        console.Write(table);
        console.WriteLine();
    }

    internal static void RenderPhases(IAnsiConsole console, ProbeReport report)
    {
        var table = new Table().Border(TableBorder.Rounded).Title("phases (ms = time on the wire; client = the probe's own time)");
        table.AddColumn("phase");
        table.AddColumn("result");
        table.AddColumn(new TableColumn("ms").RightAligned());
        table.AddColumn(new TableColumn("client ms").RightAligned());
        table.AddColumn(new TableColumn("RTT").RightAligned());
        table.AddColumn("detail");
        foreach (var p in report.Phases)
        {
            string color = p.FellBackTo is not null ? "yellow" : p.Status switch { PhaseStatus.Ok => "green", PhaseStatus.Skipped => "grey", _ => "red" };
            string result = p.Status == PhaseStatus.Ok ? "ok" : p.Ending.ToReportName() + (p.Code is null ? string.Empty : $" ({p.Code.Value.Word})")
                + (p.FellBackTo is { } to ? $", fell back to {to.ToUpperInvariant()}" : string.Empty);
            table.AddRow(
                Esc(p.Phase.ToReportName()),
                $"[{color}]{Esc(result)}[/]",
                Ms(p.Ms),
                p.ClientMs is { } c ? Ms(c) : "",
                p.RoundTrips?.ToString(CultureInfo.InvariantCulture) ?? "",
                Esc(p.Detail ?? string.Empty));
        }

        console.Write(table);
    }

    private static void RenderMessages(IAnsiConsole console, ProbeReport report)
    {
        foreach (var p in report.Phases.Where(p => p.Messages.Count > 0 && p.Phase < Phase.SecurityMatrix))
        {
            console.MarkupLine($"[bold]{Esc(p.Phase.ToReportName())}[/]");
            foreach (var m in p.Messages)
            {
                string arrow = m.Direction == Direction.Sent ? "→" : "←";
                console.MarkupLine($"  {Ms(m.AtMs),9} ms {arrow} {m.Length,5} B  {Esc(m.Description)}");
            }
        }

        console.WriteLine();
    }

    private static void RenderNegotiation(IAnsiConsole console, ProbeReport report)
    {
        var n = report.Negotiation;
        if (!report.Phases.Any(p => p.Phase == Phase.X224))
        {
            return;
        }

        console.MarkupLine($"[bold]negotiation[/]  requested {Esc(string.Join("|", n.RequestedProtocols.ToReportNames()))}"
            + (n.SelectedProtocol is { } s ? $", selected [bold]{Esc(s.ToReportName())}[/]" : string.Empty)
            + (n.FailureCode is { } f ? $", refused [red]{Esc(f.ToReportName())}[/] ({(uint)f})" : string.Empty)
            + (n.Downgraded ? " [yellow](downgraded)[/]" : string.Empty)
            + (n.ResponseFlags != NegotiationResponseFlags.None ? $", flags {Esc(n.ResponseFlags.ToString())}" : string.Empty));

        if (n.Matrix is { } matrix)
        {
            var table = new Table().Border(TableBorder.Rounded).Title("security-layer matrix (one connection per protocol)");
            table.AddColumn("requested");
            table.AddColumn("result");
            table.AddColumn("server answer");
            table.AddColumn(new TableColumn("ms").RightAligned());
            foreach (var e in matrix)
            {
                string color = e.Status switch { SupportStatus.Supported => "green", SupportStatus.Downgraded => "yellow", SupportStatus.Refused => "grey", _ => "red" };
                table.AddRow(Esc(e.Protocol.ToReportName()), $"[{color}]{e.Status.ToString().ToLowerInvariant()}[/]", Esc(e.Detail), Ms(e.Ms));
            }

            console.Write(table);
            string nla = n.NlaRequired switch { true => "[bold]required[/]", false => "not required", null => "unknown" };
            console.MarkupLine($"NLA (CredSSP) {nla}");
        }

        if (n.EncryptionLevels is { } levels)
        {
            var table = new Table().Border(TableBorder.Rounded).Title("standard RDP security: encryption methods (one connection each)");
            table.AddColumn("offered");
            table.AddColumn("result");
            table.AddColumn("server answer");
            foreach (var e in levels.Entries)
            {
                string color = e.Support switch { EncryptionSupport.Accepted => "green", EncryptionSupport.NoEncryption => "yellow", EncryptionSupport.Refused => "grey", _ => "red" };
                table.AddRow(Esc(e.MethodName), $"[{color}]{Esc(PhaseNames.SnakeCase(e.Support.ToString()))}[/]", Esc(e.Detail));
            }

            console.Write(table);
        }

        console.WriteLine();
    }

    private static void RenderTls(IAnsiConsole console, ProbeReport report)
    {
        if (report.Tls is not { } tls)
        {
            return;
        }

        console.MarkupLine($"[bold]tls[/]  {Esc(tls.Version ?? "-")}  {Esc(tls.CipherSuite ?? "-")}");
        if (tls.Versions is { } versions)
        {
            console.MarkupLine("  accepts: " + string.Join("  ", versions.Select(v => $"{Esc(v.Key)} {(v.Value is null ? "[grey]?[/]" : v.Value.Value ? "[green]yes[/]" : "[red]no[/]")}")));
        }

        foreach (var alert in tls.Alerts)
        {
            console.MarkupLine($"  alert from {Esc(alert.From)} at {Ms(alert.AtMs)} ms: {Esc(alert.Level)} {Esc(alert.Description)}");
        }

        if (tls.Certificate is { } c)
        {
            string days = c.DaysLeft < 0 ? $"[red]expired {-c.DaysLeft} days ago[/]" : c.DaysLeft < 30 ? $"[yellow]{c.DaysLeft} days left[/]" : $"{c.DaysLeft} days left";
            console.MarkupLine($"  certificate  subject {Esc(c.Subject)}");
            console.MarkupLine($"               issuer  {Esc(c.Issuer)}{(c.SelfSigned ? " (self-signed)" : string.Empty)}");
            console.MarkupLine($"               valid   {c.NotBefore:yyyy-MM-dd} .. {c.NotAfter:yyyy-MM-dd}, {days}");
            console.MarkupLine($"               key     {Esc(c.KeyAlgorithm)} {c.KeySize?.ToString(CultureInfo.InvariantCulture) ?? "?"} bits, signed {Esc(c.SignatureAlgorithm)}");
            if (c.San.Count > 0)
            {
                console.MarkupLine($"               SAN     {Esc(string.Join(", ", c.San))}");
            }

            console.MarkupLine($"               sha256  {Esc(c.Sha256)}");
        }

        console.WriteLine();
    }

    private static void RenderCredSsp(IAnsiConsole console, ProbeReport report)
    {
        if (report.CredSsp is not { } c)
        {
            return;
        }

        console.MarkupLine($"[bold]credssp[/]  server version {c.ServerVersion?.ToString(CultureInfo.InvariantCulture) ?? "?"}{(c.ErrorCode is null ? string.Empty : $", error [red]{Esc(c.ErrorCode)}[/]")}");
        if (c.Ntlm is { } n)
        {
            console.MarkupLine($"  NTLM  target {Esc(n.TargetName ?? "-")}, computer {Esc(n.NetbiosComputerName ?? "-")} ({Esc(n.DnsComputerName ?? "-")}), domain {Esc(n.NetbiosDomainName ?? "-")} ({Esc(n.DnsDomainName ?? "-")})");
            console.MarkupLine($"        OS version {Esc(n.ProductVersion ?? "-")}, server time {n.ServerTime?.ToString("u", CultureInfo.InvariantCulture) ?? "-"}, clock skew {n.ClockSkewSeconds?.ToString("0.0", CultureInfo.InvariantCulture) ?? "-"} s");
        }

        console.WriteLine();
    }

    private static void RenderSession(IAnsiConsole console, ProbeReport report)
    {
        if (report.Session is not { } s)
        {
            return;
        }

        console.MarkupLine($"[bold]session[/]  MCS {Esc(s.McsResult ?? "-")}, server {Esc(s.ServerVersion ?? "-")}, encryption {Esc(s.EncryptionMethod ?? "-")} / level {Esc(s.EncryptionLevel ?? "-")}");
        if (s.JoinedChannels.Count > 0)
        {
            console.MarkupLine($"  channels  user {s.UserChannelId?.ToString(CultureInfo.InvariantCulture) ?? "-"}, I/O {s.IoChannelId?.ToString(CultureInfo.InvariantCulture) ?? "-"}; joined {Esc(string.Join(", ", s.JoinedChannels))}");
        }

        if (s.ServerCertificate is not null)
        {
            console.MarkupLine($"  server certificate  {Esc(s.ServerCertificate)}");
        }

        if (s.Licensing is not null)
        {
            console.MarkupLine($"  licensing  {Esc(s.Licensing)}");
        }

        if (s.DemandActive is not null)
        {
            console.MarkupLine($"  Demand Active  {Esc(s.DemandActive)}");
        }

        if (s.ErrorInfo is not null)
        {
            console.MarkupLine($"  Set Error Info  [red]{Esc(s.ErrorInfo)}[/]");
        }

        console.WriteLine();
    }

    internal static void RenderVerdict(IAnsiConsole console, Verdict v)
    {
        string color = v.Ok ? "green" : "red";
        var rows = new List<IRenderable>
        {
            new Markup($"[bold {color}]{(v.Ok ? "OK" : "FAILED")}[/] at [bold]{Esc(v.Phase.ToReportName())}[/]: {Esc(v.Ending.ToReportName())}{(v.Code is null ? string.Empty : $" ({Esc(v.Code.Value.Word)})")}"),
            new Markup(Esc(v.Summary)),
        };
        if (!v.Ok && v.Evidence is not null)
        {
            // Issue 11: who sent the last bytes and how the connection ended, which ranks the first cause.
            rows.Add(new Markup($"[bold]evidence[/]: {Esc(v.Evidence)}"));
        }

        if (v.Causes.Count > 0)
        {
            rows.Add(Text.Empty);
            rows.Add(new Markup("[bold]likely causes[/]"));
            rows.Add(Bullets(v.Causes));
        }

        if (v.Undecided.Count > 0)
        {
            rows.Add(new Markup("[bold]undecided (what would tell them apart)[/]"));
            rows.Add(Bullets(v.Undecided));
        }

        if (v.Remedies.Count > 0)
        {
            rows.Add(new Markup("[bold]what to do[/]"));
            rows.Add(Bullets(v.Remedies.Select(RemedyFlags.With).ToList()));
        }

        console.Write(new Panel(new Rows(rows)).Header("verdict").BorderColor(v.Ok ? Color.Green : Color.Red));
    }

    /// <summary>A bulleted list whose wrapped lines hang under the text, not under the bullet (readable at 80 columns).</summary>
    private static Grid Bullets(IEnumerable<string> items)
    {
        var grid = new Grid();
        grid.AddColumn(new GridColumn().NoWrap().Padding(2, 0, 1, 0));
        grid.AddColumn(new GridColumn().Padding(0, 0, 0, 0));
        foreach (var item in items)
        {
            grid.AddRow(new Text("•"), new Markup(Esc(item)));
        }

        return grid;
    }

    internal static string Ms(double ms) => ms.ToString(ms < 10 ? "0.00" : "0.0", CultureInfo.InvariantCulture);

    private static string Esc(string text) => Markup.Escape(text);
}
