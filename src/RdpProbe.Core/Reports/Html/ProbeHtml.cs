using System.Globalization;
using RdpProbe.Diagnosis;
using RdpProbe.Probe;
using RdpProbe.Protocol;
using static RdpProbe.Reports.Html.HtmlPage;

namespace RdpProbe.Reports.Html;

/// <summary>
/// The probe as one HTML page for a ticket: the verdict in plain words, the handshake as a ladder diagram (one arrow per
/// recorded message, phases as named bands, the failed step hatched and labelled), the phase timings, the negotiation,
/// TLS, certificate and NTLM facts, the findings, the client compatibility table and every attempt of a fallback.
/// </summary>
public static class ProbeHtml
{
    /// <summary>The page for one or more probe reports (one per address with --all-addresses).</summary>
    public static string Write(IReadOnlyList<ProbeReport> reports, HtmlProvenance provenance)
    {
        ArgumentNullException.ThrowIfNull(reports);
        ArgumentNullException.ThrowIfNull(provenance);
        string target = reports.Count > 0 ? reports[0].Target.ToString() ?? "" : "";
        var page = new HtmlPage($"rdpprobe: {target}");
        page.El("h1", $"RDP probe of {target}");
        foreach (var report in reports)
        {
            WriteReport(page, report, reports.Count > 1);
        }

        return page.Footer(provenance).ToString();
    }

    /// <summary>
    /// The phase records the ladder draws, in order: the report's, with the earlier attempts' records placed after the
    /// dns record when the client fell back to another request (each attempt is its own connection).
    /// </summary>
    public static IReadOnlyList<(int Attempt, PhaseRecord Record)> LadderRecords(ProbeReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        int last = Math.Max(1, report.Attempts.Count);
        var list = report.Phases.Select(p => (p.Phase == Phase.Dns ? 0 : last, p)).ToList();
        if (report.Attempts.Count > 1)
        {
            int at = list.FindIndex(r => r.Item2.Phase != Phase.Dns);
            var earlier = report.Attempts.Take(report.Attempts.Count - 1)
                .SelectMany((a, i) => a.Phases.Select(p => (i + 1, p)));
            list.InsertRange(at < 0 ? list.Count : at, earlier);
        }

        return list;
    }

    private static void WriteReport(HtmlPage page, ProbeReport report, bool many)
    {
        if (many)
        {
            page.El("h2", $"Address {report.Address}");
        }

        var v = report.Verdict;
        string failedAt = v.Ok ? "" : $" at the {v.Phase.ToReportName()} step ({v.Ending.ToReportName()}{(v.Code is null ? "" : ", " + v.Code)})";
        page.Raw($"<section class=\"verdict {(v.Ok ? "ok" : "fail")}\" id=\"verdict\"><div class=\"word\">{(v.Ok ? "✔ OK" : "✘ FAILED")}{Text(failedAt)}</div><p class=\"summary\">{Text(v.Summary)}</p>");
        if (v.Causes.Count > 0)
        {
            page.Raw("<b>Likely causes</b><ul>" + string.Concat(v.Causes.Select(c => $"<li>{Text(c)}</li>")) + "</ul>");
        }

        if (v.Remedies.Count > 0)
        {
            page.Raw("<b>What to do</b><ul>" + string.Concat(v.Remedies.Select(c => $"<li>{Text(c)}</li>")) + "</ul>");
        }

        if (report.ClientVerdict is { } cv)
        {
            page.Raw($"<p><b>As the client sees it:</b> {Text(cv.Summary)}</p>");
        }

        page.Raw("</section>\n");
        page.Facts([
            ("Target", report.Target.ToString()),
            ("Address", report.Address?.ToString()),
            ("Resolved to", report.ResolvedAddresses.Count > 1 ? string.Join(", ", report.ResolvedAddresses) : null),
            ("Started", report.StartedAt.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture)),
            ("Next step", report.NextStep == NextStep.CredentialsNeeded ? "Give credentials (--user) to test the logon and the session phases." : null),
        ]);

        page.El("h2", "Handshake");
        page.Raw(Ladder(report));
        PhaseTable(page, report);
        Attempts(page, report);
        Findings(page, report.Findings);
        Compatibility(page, report.Compatibility);
        if (LadderRecords(report).Any(r => r.Record.Phase == Phase.X224))
        {
            Negotiation(page, report.Negotiation);
        }

        Tls(page, report.Tls);
        CredSsp(page, report.CredSsp);
        Session(page, report.Session);
        Addresses(page, report.AddressAttempts);
    }

    private static string Ladder(ProbeReport report)
    {
        var records = LadderRecords(report);
        var verdict = report.Verdict;
        var bands = new List<LadderBand>();
        int attempt = 0;
        int messages = 0;
        foreach (var (number, record) in records)
        {
            var rows = new List<LadderRow>();
            if (report.Attempts.Count > 1 && number != attempt && number > 0)
            {
                attempt = number;
                var a = report.Attempts[number - 1];
                string asked = string.Join("|", a.RequestedProtocols.ToReportNames());
                rows.Add(new LadderNote($"Attempt {number} of {report.Attempts.Count}: new connection requesting {asked}" + (a.FallbackReason is null ? "" : $" — refused ({a.FallbackReason}), the client retries"), "separator"));
            }

            bool failedHere = record.Status == PhaseStatus.Failed;
            for (int i = 0; i < record.Messages.Count; i++)
            {
                var m = record.Messages[i];
                messages++;
                bool lastOfFailed = failedHere && i == record.Messages.Count - 1;
                rows.Add(new LadderArrow(m.Direction == Direction.Sent, m.Description,
                    $"{m.Length.ToString(CultureInfo.InvariantCulture)} B · +{Num(m.AtMs, "0.0")} ms in phase", lastOfFailed));
            }

            if (record.Messages.Count == 0)
            {
                rows.Add(new LadderNote(record.Detail ?? (record.Status == PhaseStatus.Skipped ? "not run" : "no message on the wire"), "note"));
            }

            if (failedHere)
            {
                string why = $"Failed here: {record.Ending.ToReportName()}{(record.Code is null ? "" : " (" + record.Code + ")")}"
                    + (record.FellBackTo is { } to ? $"; the client falls back to {to.ToUpperInvariant()} and goes on" : "");
                if (record.Phase == verdict.Phase && !verdict.Ok)
                {
                    why += " — " + verdict.Summary;
                }
                else if (record.Detail is not null && record.Messages.Count > 0)
                {
                    why += " — " + record.Detail;
                }

                rows.Add(new LadderNote(why, "fail"));
            }

            string status = record.Status switch { PhaseStatus.Failed => "failed", PhaseStatus.Skipped => "skipped", _ => "ok" };
            bands.Add(new LadderBand(record.Phase.ToReportName(), status, rows, record.Phase >= Phase.SecurityMatrix ? "extra check, own connections" : null));
        }

        string client = "client (rdpprobe)";
        string server = $"server {report.Address?.ToString() ?? report.Target.ToString()}";
        return LadderSvg.Render(bands, client, server, $"Ladder diagram: {messages} message(s) in {bands.Count} phase record(s); time is measured from the start of each phase.");
    }

    private static void PhaseTable(HtmlPage page, ProbeReport report)
    {
        page.El("h3", "Phases and timings");
        page.Table(
            ["Phase", "Status", "Ending", "Wire ms", "Client ms", "Wall ms", "Round trips", "Code", "Detail"],
            report.Phases.Select(p => (IReadOnlyList<string?>)[
                p.Phase.ToReportName(),
                BadgeCell(p.Status switch { PhaseStatus.Failed => "fail", PhaseStatus.Skipped => "skip", _ => "ok" }, p.Status.ToString().ToLowerInvariant()),
                p.Ending.ToReportName(),
                Num(p.Ms, "0.0"),
                p.ClientMs is { } c ? Num(c, "0.0") : "",
                p.WallMs is { } w ? Num(w, "0.0") : "",
                p.RoundTrips?.ToString(CultureInfo.InvariantCulture) ?? "",
                p.Code?.Word,
                p.Detail]),
            "phases");
        page.Raw("<p class=\"muted\">Wire: time waiting for the network and the server. Client: the probe's own work (crypto, scheduling). Wall: both.</p>");
    }

    private static void Attempts(HtmlPage page, ProbeReport report)
    {
        if (report.Attempts.Count < 2)
        {
            return;
        }

        page.El("h3", "Attempts (the client fell back)");
        page.Table(
            ["#", "Requested", "Server answer", "Outcome", "Why the next attempt"],
            report.Attempts.Select((a, i) => (IReadOnlyList<string?>)[
                (i + 1).ToString(CultureInfo.InvariantCulture),
                string.Join("|", a.RequestedProtocols.ToReportNames()),
                a.FailureCode is { } f ? $"refused: {f.ToReportName()}" : a.SelectedProtocol is { } s ? $"selected {s.ToReportName()}" : "no answer",
                BadgeCell(a.Outcome.Ok ? "ok" : "fail", a.Outcome.Ok ? "ok" : $"{a.Outcome.Phase.ToReportName()}: {a.Outcome.Ending.ToReportName()}"),
                (a.FallbackReason ?? "") + (a.PasswordWithheld ? " (password withheld)" : "")]));
    }

    private static void Findings(HtmlPage page, IReadOnlyList<Finding> findings)
    {
        page.El("h2", "Findings");
        if (findings.Count == 0)
        {
            page.El("p", "No findings.", "muted");
            return;
        }

        foreach (var f in findings)
        {
            string sev = f.Severity.ToString().ToLowerInvariant();
            page.Raw($"<div class=\"finding {sev}\"><p>{Badge(sev, f.Severity.ToString().ToUpperInvariant())} <b>{Text(f.Title)}</b> <code>{Text(f.Code)}</code></p>"
                + $"<p><b>Evidence:</b> {Text(f.Evidence)}</p><p><b>Remedy:</b> {Text(f.Remedy)}</p>"
                + (f.Affects.Count > 0 ? $"<p><b>Affects:</b> {Text(string.Join(", ", f.Affects))}</p>" : "") + "</div>\n");
        }
    }

    private static void Compatibility(HtmlPage page, IReadOnlyList<ClientVerdict> table)
    {
        if (table.Count == 0)
        {
            return;
        }

        page.El("h2", "Client compatibility");
        page.Table(
            ["Client", "Result", "Protocol", "Fails at", "Reason", "Warnings / missing facts"],
            table.Select(c => (IReadOnlyList<string?>)[
                c.Profile,
                BadgeCell(c.Result switch
                {
                    Diagnosis.Compatibility.Connects => "ok",
                    Diagnosis.Compatibility.Fails => "fail",
                    Diagnosis.Compatibility.Unknown => "info",
                    _ => "warn",
                }, ResultWords(c.Result)),
                c.Protocol is { } p ? string.Join("|", p.ToReportNames()) : "",
                c.FailPhase?.ToReportName(),
                c.Reason,
                string.Join("; ", c.Warnings.Concat(c.NeedsConnection))]),
            "compatibility");
    }

    private static string ResultWords(Diagnosis.Compatibility result) => result switch
    {
        Diagnosis.Compatibility.Connects => "connects",
        Diagnosis.Compatibility.ConnectsAfterWarning => "connects after a warning",
        Diagnosis.Compatibility.ConnectsInsecurely => "connects insecurely",
        Diagnosis.Compatibility.Fails => "fails",
        _ => "cannot tell",
    };

    private static void Negotiation(HtmlPage page, NegotiationFacts n)
    {
        page.El("h2", "Negotiation");
        page.Facts([
            ("Requested", string.Join("|", n.RequestedProtocols.ToReportNames())),
            ("Selected", n.SelectedProtocol?.ToReportName()),
            ("Refused with", n.FailureCode?.ToReportName()),
            ("Legacy server", n.Legacy ? "yes (no negotiation data: Standard RDP Security)" : null),
            ("Downgraded", n.Downgraded ? "yes: the server selected a protocol outside the request" : null),
            ("NLA required", n.NlaRequired is { } nla ? (nla ? "yes" : "no") : null),
            ("Server answer", n.Answer),
        ]);
        if (n.Matrix is { Count: > 0 } matrix)
        {
            page.El("h3", "Security-layer matrix (one connection per protocol)");
            page.Table(
                ["Protocol", "Result", "Selected", "Failure code", "Detail", "ms"],
                matrix.Select(m => (IReadOnlyList<string?>)[
                    m.Protocol.ToReportName(),
                    BadgeCell(m.Status switch { SupportStatus.Supported => "ok", SupportStatus.Refused => "skip", _ => "warn" }, m.Status.ToString().ToLowerInvariant()),
                    m.Selected?.ToReportName(),
                    m.FailureCode?.ToReportName(),
                    m.Detail,
                    Num(m.Ms, "0.0")]));
        }
    }

    private static void Tls(HtmlPage page, TlsFacts? tls)
    {
        if (tls is null)
        {
            return;
        }

        page.El("h2", "TLS");
        page.Facts([("Version", tls.Version), ("Cipher suite", tls.CipherSuite), ("Chain length", tls.ChainLength > 0 ? tls.ChainLength.ToString(CultureInfo.InvariantCulture) : null)]);
        if (tls.Versions is { Count: > 0 } versions)
        {
            page.Table(["TLS version", "Accepted"], versions.Select(kv => (IReadOnlyList<string?>)[
                kv.Key,
                kv.Value switch { true => BadgeCell("ok", "accepted"), false => BadgeCell("skip", "refused"), _ => "not checked" }]));
        }

        if (tls.Alerts.Count > 0)
        {
            page.Table(["Alert from", "Level", "Description", "at ms"], tls.Alerts.Select(a => (IReadOnlyList<string?>)[a.From, a.Level, a.Description, Num(a.AtMs, "0.0")]));
        }

        if (tls.Certificate is { } c)
        {
            page.El("h3", "Certificate");
            page.Facts([
                ("Subject", c.Subject),
                ("Issuer", c.Issuer),
                ("Self-signed", c.SelfSigned ? "yes" : "no"),
                ("Valid", $"{c.NotBefore:yyyy-MM-dd} to {c.NotAfter:yyyy-MM-dd} ({c.DaysLeft} days left{(c.DaysLeft < 0 ? ": EXPIRED" : "")})"),
                ("Key", c.KeySize is { } bits ? $"{c.KeyAlgorithm} {bits} bits" : c.KeyAlgorithm),
                ("Signature", c.SignatureAlgorithm),
                ("Subject alternative names", c.San.Count > 0 ? string.Join(", ", c.San) : "none"),
                ("Serial", c.SerialNumber),
                ("SHA-256", c.Sha256),
            ]);
        }
    }

    private static void CredSsp(HtmlPage page, CredSspFacts? credssp)
    {
        if (credssp is null)
        {
            return;
        }

        page.El("h2", "CredSSP and NTLM");
        page.Facts([
            ("CredSSP server version", credssp.ServerVersion?.ToString(CultureInfo.InvariantCulture)),
            ("Error code", credssp.ErrorCode),
            ("Authenticated", credssp.Authenticated ? "yes" : "no (no credentials given, or refused)"),
        ]);
        if (credssp.Ntlm is { } n)
        {
            page.Facts([
                ("NTLM target name", n.TargetName),
                ("NetBIOS computer", n.NetbiosComputerName),
                ("NetBIOS domain", n.NetbiosDomainName),
                ("DNS computer", n.DnsComputerName),
                ("DNS domain", n.DnsDomainName),
                ("DNS tree", n.DnsTreeName),
                ("Product version", n.ProductVersion),
                ("Server time", n.ServerTime?.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture)),
                ("Clock skew", n.ClockSkewSeconds is { } skew ? $"{Num(skew, "0.0")} s" : null),
                ("Negotiate flags", n.NegotiateFlags),
            ]);
        }
    }

    private static void Session(HtmlPage page, SessionFacts? s)
    {
        if (s is null)
        {
            return;
        }

        page.El("h2", "Session");
        page.Facts([
            ("MCS result", s.McsResult),
            ("Server version", s.ServerVersion),
            ("Encryption", s.EncryptionMethod is null ? null : $"{s.EncryptionMethod} / {s.EncryptionLevel}"),
            ("Joined channels", s.JoinedChannels.Count > 0 ? string.Join(", ", s.JoinedChannels) : null),
            ("Server certificate", s.ServerCertificate),
            ("Licensing", s.Licensing),
            ("Demand Active", s.DemandActive),
            ("Error info", s.ErrorInfo),
        ]);
    }

    private static void Addresses(HtmlPage page, IReadOnlyList<AddressAttempt> addresses)
    {
        if (addresses.Count < 2)
        {
            return;
        }

        page.El("h3", "Addresses tried");
        page.Table(["Address", "Answered", "Ended at", "Detail", "ms"], addresses.Select(a => (IReadOnlyList<string?>)[
            a.Address.ToString(),
            BadgeCell(a.Answered ? "ok" : "fail", a.Answered ? "yes" : "no"),
            $"{a.Phase.ToReportName()}: {a.Ending.ToReportName()}{(a.Code is null ? "" : " " + a.Code)}",
            a.Detail,
            a.Ms is { } ms ? Num(ms, "0.0") : ""]));
    }
}
