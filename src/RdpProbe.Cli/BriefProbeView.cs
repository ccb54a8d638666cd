using RdpProbe.Diagnosis;
using RdpProbe.Probe;
using RdpProbe.Protocol;
using RdpProbe.Runs;
using Spectre.Console;

namespace RdpProbe.Cli;

/// <summary>
/// The default human view: the phase table, the messages of a phase that failed, the negotiation and the certificate
/// in one line each, the findings and the verdict — a healthy server fits one screen. -v shows <see cref="ProbeView"/>'s
/// full detail.
/// </summary>
internal static class BriefProbeView
{
    public static void Render(IAnsiConsole console, ProbeReport report, CaptureResult? capture)
    {
        string address = report.Address is null ? string.Empty : $" → {report.Address}";
        console.MarkupLine($"[bold]rdpprobe {Esc(report.Target.Input)}[/]{Esc(address)}");
        ProbeView.RenderPhases(console, report);
        RenderFailedMessages(console, report);
        if (NegotiationLine(report) is { } negotiation)
        {
            console.MarkupLine(negotiation);
        }

        if (CertificateLine(report) is { } certificate)
        {
            console.MarkupLine(certificate);
        }

        console.WriteLine();
        CaptureView.Render(console, capture);
        ProbeView.RenderFindings(console, report);
        ProbeView.RenderVerdict(console, report.Verdict);
        console.MarkupLine("[grey](every message, the matrix and the full certificate: -v)[/]");
    }

    /// <summary>What went each way in the phases that did not end ok: the evidence behind the verdict.</summary>
    private static void RenderFailedMessages(IAnsiConsole console, ProbeReport report)
    {
        foreach (var p in report.Phases.Where(p => p.Status == PhaseStatus.Failed && p.Messages.Count > 0))
        {
            console.MarkupLine($"[bold]{Esc(p.Phase.ToReportName())}[/]");
            foreach (var m in p.Messages)
            {
                string arrow = m.Direction == Direction.Sent ? "→" : "←";
                console.MarkupLine($"  {ProbeView.Ms(m.AtMs),9} ms {arrow} {m.Length,5} B  {Esc(m.Description)}");
            }
        }
    }

    internal static string? NegotiationLine(ProbeReport report)
    {
        if (!report.Phases.Any(p => p.Phase == Phase.X224))
        {
            return null;
        }

        var n = report.Negotiation;
        string nla = n.NlaRequired switch { true => ", NLA required", false => ", NLA not required", null => string.Empty };
        return $"[bold]negotiation[/]  requested {Esc(string.Join("|", n.RequestedProtocols.ToReportNames()))}"
            + (n.SelectedProtocol is { } s ? $", selected [bold]{Esc(s.ToReportName())}[/]" : string.Empty)
            + (n.FailureCode is { } f ? $", refused [red]{Esc(f.ToReportName())}[/]" : string.Empty)
            + (n.Downgraded ? " [yellow](downgraded)[/]" : string.Empty)
            + nla;
    }

    internal static string? CertificateLine(ProbeReport report)
    {
        if (report.Tls is not { } tls)
        {
            return null;
        }

        string line = $"[bold]tls[/]  {Esc(tls.Version ?? "-")}";
        if (tls.Certificate is { } c)
        {
            string days = c.DaysLeft < 0 ? $"[red]expired {-c.DaysLeft} days ago[/]" : c.DaysLeft < 30 ? $"[yellow]{c.DaysLeft} days left[/]" : $"{c.DaysLeft} days left";
            line += $", certificate {Esc(c.Subject)}{(c.SelfSigned ? " (self-signed)" : string.Empty)}, {days}";
        }

        return line;
    }

    private static string Esc(string text) => Markup.Escape(text);
}
