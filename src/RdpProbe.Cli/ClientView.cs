using System.Globalization;
using RdpProbe.Diagnosis;
using RdpProbe.Probe;
using RdpProbe.Protocol;
using Spectre.Console;

namespace RdpProbe.Cli;

/// <summary>
/// The client's side of the human view: what the chosen --client gets, what every profile gets (the compatibility
/// table), each connection of a fallback, each address of the walk, whom the findings affect, and the next step.
/// Kept within 80 columns: the tables wrap their last column.
/// </summary>
internal static class ClientView
{
    public static void Render(IAnsiConsole console, ProbeReport report)
    {
        RenderVerdict(console, report, report.ClientVerdict);
        RenderCompatibility(console, report.Compatibility);
        RenderAttempts(console, report.Attempts);
        RenderAddressAttempts(console, report.AddressAttempts);
        RenderAffects(console, report.Findings);
        RenderNextStep(console, report.NextStep);
    }

    /// <summary>"Windows 11: connects after a certificate warning — …".</summary>
    internal static string VerdictLine(ClientVerdict verdict)
    {
        string name = DisplayName(verdict.Profile);
        return verdict.Result switch
        {
            Compatibility.Connects => $"{name}: connects ({ProtocolName(verdict.Protocol)})",
            Compatibility.ConnectsAfterWarning => $"{name}: connects after a certificate warning — {string.Join("; ", verdict.Warnings)}",
            Compatibility.ConnectsInsecurely => $"{name}: connects insecurely — Standard RDP Security, the server is not authenticated",
            Compatibility.Fails => $"{name}: fails at {verdict.FailPhase?.ToReportName() ?? "?"} because {verdict.Reason ?? "?"}",
            _ => $"{name}: cannot tell — needs {string.Join("; ", verdict.NeedsConnection)}",
        };
    }

    /// <summary>The table cell: how it connects, or where and why it fails.</summary>
    internal static string How(ClientVerdict verdict) => verdict.Result switch
    {
        Compatibility.Connects => ProtocolName(verdict.Protocol),
        Compatibility.ConnectsAfterWarning => $"{ProtocolName(verdict.Protocol)}, after: {string.Join("; ", verdict.Warnings)}",
        Compatibility.ConnectsInsecurely => $"{ProtocolName(verdict.Protocol)}, no server authentication",
        Compatibility.Fails => $"fails at {verdict.FailPhase?.ToReportName() ?? "?"} because {verdict.Reason ?? "?"}",
        _ => $"needs {string.Join("; ", verdict.NeedsConnection)}",
    };

    internal static string ResultWord(Compatibility result) => result switch
    {
        Compatibility.Connects => "connects",
        Compatibility.ConnectsAfterWarning => "warning",
        Compatibility.ConnectsInsecurely => "insecure",
        Compatibility.Fails => "FAILS",
        _ => "unknown",
    };

    internal static string DisplayName(string profile) => ClientProfiles.TryGet(profile, out var p) ? p.DisplayName : profile;

    private static string ProtocolName(SecurityProtocols? protocol) => protocol is { } p ? string.Join("|", p.ToReportNames()) : "no protocol";

    private static void RenderVerdict(IAnsiConsole console, ProbeReport report, ClientVerdict? verdict)
    {
        if (verdict is null)
        {
            return;
        }

        string color = verdict.Result switch
        {
            Compatibility.Connects => "green",
            Compatibility.Fails => "red",
            _ => "yellow",
        };
        console.WriteLine();
        console.MarkupLine($"[bold]client[/]  [{color}]{Esc(VerdictLine(verdict))}[/]");
        if (verdict.Profile == ClientProfiles.Permissive.Name)
        {
            console.MarkupLine("  (permissive: accepts whatever the server offers; no real client is this lenient)");
        }
        else if (report.Attempts.Count > 1)
        {
            console.MarkupLine($"  after {report.Attempts.Count.ToString(CultureInfo.InvariantCulture)} connections: the client's own fallback, as below");
        }
    }

    private static void RenderCompatibility(IAnsiConsole console, IReadOnlyList<ClientVerdict> verdicts)
    {
        if (verdicts.Count == 0)
        {
            return;
        }

        var table = new Table().Title("[bold]compatibility[/]").AddColumns("client", "result", "how / why not");
        foreach (var v in verdicts)
        {
            table.AddRow(Esc(v.Profile), Esc(ResultWord(v.Result)), Esc(How(v)));
        }

        console.Write(table);
    }

    private static void RenderAttempts(IAnsiConsole console, IReadOnlyList<ProbeAttempt> attempts)
    {
        if (attempts.Count <= 1)
        {
            return;
        }

        var table = new Table().Title("[bold]connections (client fallback)[/]").AddColumns("#", "requested", "how it ended");
        int i = 0;
        foreach (var a in attempts)
        {
            table.AddRow((++i).ToString(CultureInfo.InvariantCulture), Esc(ProtocolName(a.RequestedProtocols)), Esc(AttemptEnding(a)));
        }

        console.Write(table);
    }

    /// <summary>"refused: ssl_not_allowed_by_server; the client retried" or "server selected rdp; ok; password withheld ...".</summary>
    internal static string AttemptEnding(ProbeAttempt a)
    {
        var parts = new List<string>();
        var o = a.Outcome;
        if (a.FailureCode is { } code)
        {
            parts.Add($"refused: {code.ToReportName()}");
        }
        else
        {
            if (a.SelectedProtocol is { } selected)
            {
                parts.Add($"server selected {selected.ToReportName()}");
            }

            parts.Add(o.Ok ? "ok" : $"{o.Phase.ToReportName()} {o.Ending.ToReportName()}{(o.Code is { } c ? $" ({c.Word})" : string.Empty)}");
        }

        if (a.FallbackReason is { } reason)
        {
            parts.Add(a.FailureCode is { } refused && refused.ToReportName() == reason ? "fell back" : $"fell back: {reason}");
        }

        if (a.PasswordWithheld)
        {
            parts.Add("password withheld (no server authentication)");
        }

        return string.Join("; ", parts);
    }

    private static void RenderAddressAttempts(IAnsiConsole console, IReadOnlyList<AddressAttempt> attempts)
    {
        if (attempts.Count <= 1)
        {
            return;
        }

        var table = new Table().Title("[bold]addresses tried[/]").AddColumns("address", "result", "detail");
        foreach (var a in attempts)
        {
            string ms = a.Ms is { } t ? $" after {t.ToString("0", CultureInfo.InvariantCulture)} ms" : string.Empty;
            string result = a.Answered ? "answered" : $"{a.Phase.ToReportName()} {a.Ending.ToReportName()}{ms}";
            table.AddRow(Esc(a.Address.ToString()), Esc(result), Esc(a.Detail ?? string.Empty));
        }

        console.Write(table);
    }

    private static void RenderAffects(IAnsiConsole console, IReadOnlyList<Finding> findings)
    {
        var affecting = findings.Where(f => f.Affects.Count > 0).ToList();
        if (affecting.Count == 0)
        {
            return;
        }

        console.MarkupLine("[bold]findings that change what clients do[/]");
        foreach (var f in affecting)
        {
            console.MarkupLine($"  {Esc(f.Severity.ToString().ToUpperInvariant())} {Esc(f.Code)}: affects {Esc(string.Join(", ", f.Affects))}");
        }
    }

    private static void RenderNextStep(IAnsiConsole console, NextStep step)
    {
        if (step == NextStep.CredentialsNeeded)
        {
            console.MarkupLine("[bold]next step[/]  give --user DOMAIN\\user (password from RDPPROBE_PASSWORD) to test the credentials and go on to Demand Active");
        }
    }

    private static string Esc(string text) => Markup.Escape(text);
}
