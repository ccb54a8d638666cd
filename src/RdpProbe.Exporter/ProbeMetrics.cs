using System.Globalization;
using System.Text;
using RdpProbe.Diagnosis;
using RdpProbe.Probe;
using RdpProbe.Protocol;

namespace RdpProbe.Exporter;

/// <summary>How one /probe request ended: a finished report, or the scrape's deadline / an error before there was one.</summary>
/// <param name="Report">The probe's report; null when the deadline passed or the probe threw.</param>
/// <param name="Seconds">Wall time of the whole probe.</param>
/// <param name="DeadlineExceeded">The probe was stopped because the scrape's deadline passed.</param>
/// <param name="Error">What went wrong when there is no report (one line, no secrets).</param>
/// <param name="CheckedUdp">The module asked for the RDP-UDP check.</param>
public sealed record ProbeOutcome(ProbeReport? Report, double Seconds, bool DeadlineExceeded, string? Error, bool CheckedUdp)
{
    public bool Success => Report is { Verdict.Ok: true };
}

/// <summary>
/// The series of one /probe answer. Naming follows Prometheus' conventions: base units (_seconds, _timestamp_seconds),
/// _info series carry text as labels with the value 1, every name prefixed rdp_probe_. Label values are always drawn
/// from closed sets the tool defines (phase, ending, protocol, TLS version, severity) or the server's certificate,
/// never from the request, so a scrape cannot create unbounded series.
/// </summary>
public static class ProbeMetrics
{
    /// <summary>The phases of the connection sequence (MS-RDPBCGR 1.3.1.1), the enum-style series' label values.</summary>
    private static readonly Phase[] SequencePhases = [.. Enum.GetValues<Phase>().Where(p => p < Phase.SecurityMatrix)];

    public static IReadOnlyList<MetricFamily> From(ProbeOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        var families = new List<MetricFamily>
        {
            new MetricFamily("rdp_probe_success", MetricType.Gauge, "Whether the probe reached the end of the connection sequence without failing (1) or not (0).")
                .Add(outcome.Success ? 1 : 0),
            new MetricFamily("rdp_probe_duration_seconds", MetricType.Gauge, "Wall time of the whole probe, extra checks included.")
                .Add(Math.Round(outcome.Seconds, 6)),
            new MetricFamily("rdp_probe_deadline_exceeded", MetricType.Gauge, "Whether the probe was stopped because the scrape's timeout was reached.")
                .Add(outcome.DeadlineExceeded ? 1 : 0),
        };

        if (outcome.Report is not { } report)
        {
            return families;
        }

        var ran = report.Phases.Where(p => p.Status != PhaseStatus.Skipped).ToList();
        var durations = new MetricFamily("rdp_probe_phase_duration_seconds", MetricType.Gauge, "Wall time of each phase that ran (connection sequence and extra checks).");
        foreach (var phase in ran.GroupBy(p => p.Phase))
        {
            // A phase can appear twice (the dns record and a fallback's tcp): the last run is the one the verdict rests on.
            var last = phase.Last();
            durations.Add(Math.Round((last.WallMs ?? last.Ms) / 1000.0, 6), ("phase", phase.Key.ToReportName()));
        }

        families.Add(durations);

        var verdict = report.Verdict;
        var failedEnum = new MetricFamily("rdp_probe_failed_phase", MetricType.Gauge, "Enum-style: 1 for the phase the probe failed at, 0 for the other phases.");
        var phases = SequencePhases.Concat(ran.Select(p => p.Phase).Where(p => p >= Phase.SecurityMatrix)).Distinct();
        foreach (var phase in phases)
        {
            failedEnum.Add(!verdict.Ok && verdict.Phase == phase ? 1 : 0, ("phase", phase.ToReportName()));
        }

        families.Add(failedEnum);
        if (!verdict.Ok)
        {
            families.Add(new MetricFamily("rdp_probe_failed_phase_info", MetricType.Gauge, "The phase the probe failed at, how it ended there and the peer's code, if any.")
                .Add(1, ("phase", verdict.Phase.ToReportName()), ("ending", verdict.Ending.ToReportName()), ("code", verdict.Code?.Word ?? "")));
        }

        var negotiation = report.Negotiation;
        if (negotiation.SelectedProtocol is { } selected)
        {
            families.Add(new MetricFamily("rdp_probe_selected_protocol_info", MetricType.Gauge, "The security protocol the server selected in its X.224 Connection Confirm (MS-RDPBCGR 2.2.1.2.1).")
                .Add(1, ("protocol", selected.ToReportName())));
        }

        if (negotiation.FailureCode is { } failure)
        {
            families.Add(new MetricFamily("rdp_probe_negotiation_failure_info", MetricType.Gauge, "The server's RDP_NEG_FAILURE code (MS-RDPBCGR 2.2.1.2.2).")
                .Add(1, ("code", failure.ToReportName())));
        }

        if (negotiation.NlaRequired is { } nla)
        {
            families.Add(new MetricFamily("rdp_probe_nla_required", MetricType.Gauge, "Whether the server refuses every request without Network Level Authentication (needs extra_checks).")
                .Add(nla ? 1 : 0));
        }

        if (report.Tls is { } tls)
        {
            if (tls.Version is { } version)
            {
                families.Add(new MetricFamily("rdp_probe_tls_version_info", MetricType.Gauge, "The TLS version and cipher suite of the probe's connection.")
                    .Add(1, ("version", version), ("cipher", tls.CipherSuite ?? "")));
            }

            if (tls.Versions is { Count: > 0 } versions)
            {
                var accepted = new MetricFamily("rdp_probe_tls_version_accepted", MetricType.Gauge, "Whether the server accepts each TLS version offered alone (needs extra_checks).");
                foreach (var (name, ok) in versions.OrderBy(v => v.Key, StringComparer.Ordinal))
                {
                    if (ok is { } value)
                    {
                        accepted.Add(value ? 1 : 0, ("version", name));
                    }
                }

                families.Add(accepted);
            }

            if (tls.Certificate is { } cert)
            {
                families.Add(new MetricFamily("rdp_probe_tls_cert_not_after_timestamp_seconds", MetricType.Gauge, "The server certificate's notAfter, in seconds since the Unix epoch.")
                    .Add(cert.NotAfter.ToUnixTimeSeconds()));
                families.Add(new MetricFamily("rdp_probe_tls_cert_not_before_timestamp_seconds", MetricType.Gauge, "The server certificate's notBefore, in seconds since the Unix epoch.")
                    .Add(cert.NotBefore.ToUnixTimeSeconds()));
                // "Days left" in the base unit Prometheus asks for (promtool's lint rejects a _days name); dashboards
                // divide by 86400.
                families.Add(new MetricFamily("rdp_probe_tls_cert_remaining_seconds", MetricType.Gauge, "Seconds from the probe until the server certificate expires (negative once expired); /86400 for days left.")
                    .Add(Math.Round((cert.NotAfter - report.StartedAt).TotalSeconds)));
                families.Add(new MetricFamily("rdp_probe_tls_cert_info", MetricType.Gauge, "The server certificate's subject, issuer, serial number and whether it is self-signed.")
                    .Add(1, ("subject", cert.Subject), ("issuer", cert.Issuer), ("serial_number", cert.SerialNumber), ("self_signed", cert.SelfSigned ? "true" : "false")));
            }
        }

        if (report.CredSsp is { } credssp)
        {
            if (credssp.ServerVersion is { } credsspVersion)
            {
                families.Add(new MetricFamily("rdp_probe_credssp_version", MetricType.Gauge, "The version field of the server's TSRequest (MS-CSSP 2.2.1).")
                    .Add(credsspVersion));
            }

            if (credssp.Ntlm?.ClockSkewSeconds is { } skew)
            {
                families.Add(new MetricFamily("rdp_probe_ntlm_clock_skew_seconds", MetricType.Gauge, "Server time (NTLM CHALLENGE MsvAvTimestamp, MS-NLMP 2.2.2.1) minus the exporter's clock.")
                    .Add(Math.Round(skew, 3)));
            }
        }

        if (outcome.CheckedUdp)
        {
            var udp = report.Phases.LastOrDefault(p => p.Phase == Phase.Udp && p.Status != PhaseStatus.Skipped);
            if (udp is not null)
            {
                families.Add(new MetricFamily("rdp_probe_udp_reachable", MetricType.Gauge, "Whether the server answered the RDP-UDP SYN with a SYN+ACK (MS-RDPEUDP 3.1.5.1).")
                    .Add(udp.Status == PhaseStatus.Ok ? 1 : 0));
            }
        }

        var findings = new MetricFamily("rdp_probe_findings", MetricType.Gauge, "Number of findings of each severity.");
        foreach (var severity in Enum.GetValues<Severity>())
        {
            findings.Add(report.Findings.Count(f => f.Severity == severity), ("severity", severity.ToString().ToLowerInvariant()));
        }

        families.Add(findings);
        families.Add(new MetricFamily("rdp_probe_fallback_attempts", MetricType.Gauge, "Connections the client's fallback needed beyond the first (MS-RDPBCGR 2.2.1.2.2 retries).")
            .Add(Math.Max(0, report.Attempts.Count - 1)));
        return families;
    }

    /// <summary>The debug=true answer: the probe's log (phases, verdict, findings) followed by the metrics it produced.</summary>
    public static string DebugText(string target, ProbeModule module, ProbeOutcome outcome, TimeSpan deadline)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(outcome);
        var text = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        text.Append(inv, $"Probing {target} with module {module.Name} (client {module.Client.Name}, deadline {deadline.TotalSeconds:0.###}s)\n");
        if (outcome.Report is { } report)
        {
            text.Append(inv, $"Address: {report.Address?.ToString() ?? "-"}\n");
            foreach (var phase in report.Phases)
            {
                text.Append(inv, $"  {phase.Phase.ToReportName(),-18} {phase.Status.ToString().ToLowerInvariant(),-7} {phase.Ending.ToReportName(),-20} {(phase.WallMs ?? phase.Ms),9:0.0} ms");
                if (phase.Code is { } code)
                {
                    text.Append(inv, $"  [{code}]");
                }

                if (phase.Detail is { } detail)
                {
                    text.Append("  ").Append(detail.ReplaceLineEndings(" "));
                }

                text.Append('\n');
            }

            var v = report.Verdict;
            text.Append(inv, $"Verdict: {(v.Ok ? "ok" : "failed")} at {v.Phase.ToReportName()} ({v.Ending.ToReportName()}{(v.Code is { } c ? ", " + c : "")}): {v.Summary}\n");
            foreach (var finding in report.Findings)
            {
                text.Append(inv, $"Finding [{finding.Severity.ToString().ToLowerInvariant()}] {finding.Code}: {finding.Title}\n");
            }
        }
        else
        {
            text.Append(outcome.DeadlineExceeded ? "Deadline exceeded before the probe finished.\n" : $"Probe error: {outcome.Error}\n");
        }

        text.Append(inv, $"Probe {(outcome.Success ? "succeeded" : "failed")} in {outcome.Seconds:0.000}s\n\nMetrics that would have been returned:\n");
        text.Append(Exposition.Write(From(outcome)));
        return text.ToString();
    }
}
