using System.Globalization;
using RdpProbe.Diagnosis;
using RdpProbe.Probe;
using RdpProbe.Probe.Phases;
using RdpProbe.Protocol;

namespace RdpProbe.Reports;

// The "rdpprobe.probe/1" document: docs/REPORTS.md describes every key, docs/schemas/probe.schema.json checks them.
// Names are a contract: keep them, add freely (a rename bumps the schema id). Absent facts are null.
#pragma warning disable SA1402 // several small records in one file: the whole document shape in one place

public sealed record ProbeJsonDocument(
    string Schema,
    ToolInfo Tool,
    ProbeJsonTarget Target,
    IReadOnlyList<ProbeJsonPhase> Phases,
    ProbeJsonNegotiation Negotiation,
    ProbeJsonTls? Tls,
    ProbeJsonCredSsp? Credssp,
    ProbeJsonSession? Session,
    ProbeJsonVerdict Verdict,
    string StartedAt,
    ProbeJsonCapture? Capture,
    IReadOnlyList<ProbeJsonFinding> Findings,
    ProbeJsonClientVerdict? ClientVerdict,
    IReadOnlyList<ProbeJsonClientVerdict> Compatibility,
    IReadOnlyList<ProbeJsonAttempt> Attempts,
    IReadOnlyList<ProbeJsonAddressAttempt> AddressAttempts);

/// <summary>One finding: severity critical | high | medium | low | info; affects = the client profiles it stops or warns.</summary>
public sealed record ProbeJsonFinding(string Code, string Severity, string Title, string Evidence, string Remedy, IReadOnlyList<string> Affects);

/// <summary>
/// What one client profile gets: result connects | connects_after_warning | connects_insecurely | fails | unknown.
/// </summary>
public sealed record ProbeJsonClientVerdict(
    string Profile,
    string DisplayName,
    string Result,
    string? Protocol,
    string? FailPhase,
    string? Reason,
    string Summary,
    IReadOnlyList<string> Steps,
    IReadOnlyList<string> Warnings,
    IReadOnlyList<string> NeedsConnection);

/// <summary>How one connection (attempt) ended: the verdict of its own phase records.</summary>
public sealed record ProbeJsonOutcome(bool Ok, string Phase, string Ending, string? Code);

/// <summary>One connection of the sequence to the probed address (more than one after a client fallback).</summary>
public sealed record ProbeJsonAttempt(
    IReadOnlyList<string> RequestedProtocols,
    string? SelectedProtocol,
    string? FailureCode,
    ProbeJsonOutcome Outcome,
    string? FallbackReason,
    bool PasswordWithheld,
    IReadOnlyList<ProbeJsonPhase> Phases);

/// <summary>One address of the name's walk, in the order it was tried.</summary>
public sealed record ProbeJsonAddressAttempt(string Address, bool Answered, string Phase, string Ending, string? Code, string? Detail, double? Ms);

/// <summary>--capture: the pcap file, how many packets it holds, and the analyzer's report of it (a whole rdpprobe.analysis/1 document).</summary>
public sealed record ProbeJsonCapture(string File, string Interface, int Packets, int Dropped, AnalysisReport Analysis);

public sealed record ProbeJsonTarget(string Input, string Host, int Port, string? Address, IReadOnlyList<string> Addresses);

public sealed record ProbeJsonMessage(string Direction, double AtMs, int Length, string Description);

public sealed record ProbeJsonPhase(
    string Name,
    string Status,
    double Ms,
    string Ending,
    string? Code,
    string? Detail,
    double? WallMs,
    double? ClientMs,
    int? RoundTrips,
    IReadOnlyList<ProbeJsonMessage> Messages);

public sealed record ProbeJsonMatrixEntry(string Status, string? Selected, string? FailureCode, string Ending, string? Code, string Detail, double Ms);

public sealed record ProbeJsonNegotiation(
    IReadOnlyList<string> RequestedProtocols,
    string? SelectedProtocol,
    string? FailureCode,
    IReadOnlyDictionary<string, string>? Support,
    bool? NlaRequired,
    IReadOnlyList<string> ResponseFlags,
    bool Legacy,
    bool Downgraded,
    string? Answer,
    IReadOnlyDictionary<string, ProbeJsonMatrixEntry>? SupportDetail,
    ProbeJsonEncryptionLevels? EncryptionLevels);

/// <summary>The encryption_levels check: method name ("40-bit", "56-bit", "128-bit", "fips") → accepted | refused | no_encryption | error.</summary>
public sealed record ProbeJsonEncryptionLevels(IReadOnlyDictionary<string, string> Methods, string? ServerLevel);

public sealed record ProbeJsonCertificate(
    string Subject,
    string Issuer,
    string NotBefore,
    string NotAfter,
    int DaysLeft,
    bool SelfSigned,
    string KeyAlgorithm,
    int? KeySize,
    string SignatureAlgorithm,
    string Sha256,
    IReadOnlyList<string> San,
    string SerialNumber);

public sealed record ProbeJsonAlert(string From, string Level, string Description, double AtMs);

public sealed record ProbeJsonTls(
    string? Version,
    string? CipherSuite,
    IReadOnlyDictionary<string, bool?>? Versions,
    ProbeJsonCertificate? Certificate,
    int ChainLength,
    IReadOnlyList<ProbeJsonAlert> Alerts);

public sealed record ProbeJsonNtlm(
    string? TargetName,
    string? NetbiosComputerName,
    string? NetbiosDomainName,
    string? DnsComputerName,
    string? DnsDomainName,
    string? DnsTreeName,
    string? ProductVersion,
    string? ServerTime,
    double? ClockSkewSeconds,
    string? NegotiateFlags);

public sealed record ProbeJsonCredSsp(int? ServerVersion, string? ErrorCode, ProbeJsonNtlm? Ntlm, bool Authenticated);

public sealed record ProbeJsonSession(
    string? McsResult,
    string? ServerVersion,
    string? EncryptionMethod,
    string? EncryptionLevel,
    int? IoChannelId,
    int? MessageChannelId,
    IReadOnlyList<int> ChannelIds,
    int? UserChannelId,
    IReadOnlyList<string> JoinedChannels,
    string? ServerCertificate,
    string? Licensing,
    string? DemandActive,
    string? ErrorInfo);

public sealed record ProbeJsonVerdict(bool Ok, string Phase, string Ending, string? Code, string Summary, IReadOnlyList<string> Causes, IReadOnlyList<string> Remedies);

#pragma warning restore SA1402

/// <summary>Maps a <see cref="ProbeReport"/> to the JSON contract.</summary>
public static class ProbeJson
{
    public const string Schema = "rdpprobe.probe/1";

    /// <summary>The six protocols of the matrix in the order of their requestedProtocols bits (MS-RDPBCGR 2.2.1.1.1).</summary>
    private static readonly SecurityProtocols[] SupportOrder =
        [SecurityProtocols.Rdp, SecurityProtocols.Ssl, SecurityProtocols.Hybrid, SecurityProtocols.RdsTls, SecurityProtocols.HybridEx, SecurityProtocols.RdsAad];

    /// <param name="capture">--capture: the run's capture and its analysis (the run layer holds it, not the probe).</param>
    public static ProbeJsonDocument ToDocument(ProbeReport report, ProbeJsonCapture? capture = null)
    {
        var n = report.Negotiation;
        return new ProbeJsonDocument(
            Schema,
            ToolInfo.Current,
            new ProbeJsonTarget(report.Target.Input, report.Target.Host, report.Target.Port, report.Address?.ToString(),
                report.ResolvedAddresses.Select(a => a.ToString()).ToList()),
            report.Phases.Select(ToPhase).ToList(),
            new ProbeJsonNegotiation(
                n.RequestedProtocols.ToReportNames(),
                n.SelectedProtocol?.ToReportName(),
                n.FailureCode?.ToReportName(),
                n.Matrix is null ? null : SupportOrder.Where(p => n.Matrix.Any(e => e.Protocol == p))
                    .ToDictionary(p => p.ToReportName(), p => n.Matrix.First(e => e.Protocol == p).Status.ToString().ToLowerInvariant()),
                n.NlaRequired,
                FlagNames(n.ResponseFlags),
                n.Legacy,
                n.Downgraded,
                n.Answer,
                n.Matrix is null ? null : n.Matrix.ToDictionary(e => e.Protocol.ToReportName(), e => new ProbeJsonMatrixEntry(
                    e.Status.ToString().ToLowerInvariant(), e.Selected?.ToReportName(), e.FailureCode?.ToReportName(), e.Ending.ToReportName(), e.Code?.Word, e.Detail, e.Ms)),
                n.EncryptionLevels is not { } levels ? null : new ProbeJsonEncryptionLevels(
                    levels.Entries.ToDictionary(e => e.MethodName, e => PhaseNames.SnakeCase(e.Support.ToString())),
                    levels.ServerLevel is { } level ? Gcc.LevelName(level) : null)),
            report.Tls is null ? null : ToTls(report.Tls),
            report.CredSsp is null ? null : ToCredSsp(report.CredSsp),
            report.Session is not { } x ? null : new ProbeJsonSession(x.McsResult, x.ServerVersion, x.EncryptionMethod, x.EncryptionLevel,
                x.IoChannelId, x.MessageChannelId, x.ChannelIds.Select(c => (int)c).ToList(), x.UserChannelId, x.JoinedChannels,
                x.ServerCertificate, x.Licensing, x.DemandActive, x.ErrorInfo),
            ToVerdict(report.Verdict),
            Iso(report.StartedAt),
            capture,
            report.Findings.Select(f => new ProbeJsonFinding(f.Code, f.Severity.ToString().ToLowerInvariant(), f.Title, f.Evidence, f.Remedy, f.Affects)).ToList(),
            report.ClientVerdict is { } cv ? ToClientVerdict(cv) : null,
            report.Compatibility.Select(ToClientVerdict).ToList(),
            report.Attempts.Select(a => new ProbeJsonAttempt(
                a.RequestedProtocols.ToReportNames(),
                a.SelectedProtocol?.ToReportName(),
                a.FailureCode?.ToReportName(),
                new ProbeJsonOutcome(a.Outcome.Ok, a.Outcome.Phase.ToReportName(), a.Outcome.Ending.ToReportName(), a.Outcome.Code?.Word),
                a.FallbackReason,
                a.PasswordWithheld,
                a.Phases.Select(ToPhase).ToList())).ToList(),
            report.AddressAttempts.Select(a => new ProbeJsonAddressAttempt(
                a.Address.ToString(), a.Answered, a.Phase.ToReportName(), a.Ending.ToReportName(), a.Code, a.Detail, a.Ms)).ToList());
    }

    /// <summary>The words of <see cref="Compatibility"/> in the JSON ("connects_after_warning").</summary>
    public static string ResultWord(Compatibility result) => PhaseNames.SnakeCase(result.ToString());

    public static ProbeJsonClientVerdict ToClientVerdict(ClientVerdict v) => new(
        v.Profile,
        ClientProfiles.TryGet(v.Profile, out var profile) ? profile.DisplayName : v.Profile,
        ResultWord(v.Result),
        v.Protocol is { } p ? string.Join("|", p.ToReportNames()) : null,
        v.FailPhase?.ToReportName(),
        v.Reason,
        v.Summary,
        v.Steps,
        v.Warnings,
        v.NeedsConnection);

    public static ProbeJsonVerdict ToVerdict(Verdict v)
        => new(v.Ok, v.Phase.ToReportName(), v.Ending.ToReportName(), v.Code?.Word, v.Summary, v.Causes, v.Remedies);

    private static ProbeJsonPhase ToPhase(PhaseRecord p) => new(
        p.Phase.ToReportName(),
        p.Status.ToString().ToLowerInvariant(),
        p.Ms,
        p.Ending.ToReportName(),
        p.Code?.Word,
        p.Detail,
        p.WallMs,
        p.ClientMs,
        p.RoundTrips,
        p.Messages.Select(m => new ProbeJsonMessage(m.Direction == Direction.Sent ? "sent" : "received", m.AtMs, m.Length, m.Description)).ToList());

    private static ProbeJsonTls ToTls(TlsFacts t) => new(
        t.Version,
        t.CipherSuite,
        t.Versions,
        t.Certificate is not { } c ? null : new ProbeJsonCertificate(c.Subject, c.Issuer, Iso(c.NotBefore), Iso(c.NotAfter), c.DaysLeft, c.SelfSigned,
            c.KeyAlgorithm, c.KeySize, c.SignatureAlgorithm, c.Sha256, c.San, c.SerialNumber),
        t.ChainLength,
        t.Alerts.Select(a => new ProbeJsonAlert(a.From, a.Level, a.Description, a.AtMs)).ToList());

    private static ProbeJsonCredSsp ToCredSsp(CredSspFacts c) => new(
        c.ServerVersion,
        c.ErrorCode,
        c.Ntlm is not { } n ? null : new ProbeJsonNtlm(n.TargetName, n.NetbiosComputerName, n.NetbiosDomainName, n.DnsComputerName, n.DnsDomainName,
            n.DnsTreeName, n.ProductVersion, n.ServerTime is { } t ? Iso(t) : null, n.ClockSkewSeconds, n.NegotiateFlags),
        c.Authenticated);

    private static IReadOnlyList<string> FlagNames(NegotiationResponseFlags flags)
    {
        var names = new List<string>();
        foreach (var flag in Enum.GetValues<NegotiationResponseFlags>())
        {
            if (flag != NegotiationResponseFlags.None && flags.HasFlag(flag))
            {
                names.Add(System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(flag.ToString()));
            }
        }

        return names;
    }

    private static string Iso(DateTimeOffset t) => t.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public static string Serialize(ProbeReport report, ProbeJsonCapture? capture = null)
        => System.Text.Json.JsonSerializer.Serialize(ToDocument(report, capture), JsonReportContext.Relaxed.ProbeJsonDocument);
}
