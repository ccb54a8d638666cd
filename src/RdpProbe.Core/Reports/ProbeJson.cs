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
    IReadOnlyList<ProbeJsonAddressAttempt> AddressAttempts,
    IReadOnlyList<ProbeJsonSimulatedConnection> ClientSimulation)
{
    /// <summary>The kerberos phase's evidence (issue 12); null when the phase did not run.</summary>
    public ProbeJsonKerberos? Kerberos { get; init; }
}

/// <summary>
/// One connection of the client simulation: the profiles whose offer it is, the X.224 request, the ClientHello's
/// versions and suites (notOffered: the profile's suites the TLS library cannot send), and what the server did:
/// outcome accepted | refused | no_tls | unknown.
/// </summary>
public sealed record ProbeJsonSimulatedConnection(
    IReadOnlyList<string> Profiles,
    IReadOnlyList<string> RequestedProtocols,
    IReadOnlyList<string> TlsVersions,
    IReadOnlyList<string> CipherSuites,
    IReadOnlyList<string> NotOffered,
    string Outcome,
    string? SelectedProtocol,
    string? FailureCode,
    string? Version,
    string? CipherSuite,
    string Detail,
    double Ms);

/// <summary>The kerberos phase: realm, SPN, KDC and how it was found, reachability, clock skew, etypes, AS and TGS.</summary>
public sealed record ProbeJsonKerberos(
    string? Realm,
    string? RealmSource,
    string? Spn,
    string? Config,
    string? Kdc,
    string? KdcSource,
    IReadOnlyList<string> KdcCandidates,
    string? SrvLookup,
    ProbeJsonKdcReach? Udp,
    ProbeJsonKdcReach? Tcp,
    double? ClockSkewSeconds,
    string? KdcAnswer,
    IReadOnlyList<string> EtypesRequested,
    IReadOnlyList<string> AccountEtypes,
    ProbeJsonKerberosExchange? As,
    ProbeJsonKerberosExchange? Tgs);

public sealed record ProbeJsonKdcReach(bool Reachable, double? Ms, string Detail);

public sealed record ProbeJsonKerberosExchange(bool Ok, string? Error, string? Message, string? TicketEtype, string? SessionKeyEtype, double Ms);

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
    IReadOnlyList<ProbeJsonMessage> Messages,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] ProbeJsonService? Service = null,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? FellBackTo = null);

/// <summary>x224 only (issue 11): the service identified on the port, or the steps that identified none.</summary>
public sealed record ProbeJsonService(string? Kind, string? Name, string? Product, string? Evidence, string Source, int? Port, IReadOnlyList<string> Steps)
{
    public static ProbeJsonService? From(ServiceEvidence? e) => e is null ? null : new(
        e.Service is { } s ? System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(s.Kind.ToString()) : null,
        e.Service?.Name, e.Service?.Product, e.Service?.Evidence, e.Source, e.Port, e.Steps);
}

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

public sealed record ProbeJsonCredSsp(int? ServerVersion, string? ErrorCode, ProbeJsonNtlm? Ntlm, bool Authenticated,
    string Auth = "ntlm", string? Mechanism = null, ProbeJsonSpnego? Spnego = null);

/// <summary>credssp.spnego (issue 12): what the SPNEGO exchange offered and what the server did with it.</summary>
public sealed record ProbeJsonSpnego(
    IReadOnlyList<string> Offered,
    string? Spn,
    string? KerberosUnavailable,
    string? NegState,
    string? SupportedMech,
    string? ServerChoice,
    bool MutualAuth);

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

public sealed record ProbeJsonVerdict(bool Ok, string Phase, string Ending, string? Code, string Summary, IReadOnlyList<string> Causes, IReadOnlyList<string> Remedies)
{
    /// <summary>The attribution evidence that ranks the first cause (issue 11); null when not attributed.</summary>
    public string? Evidence { get; init; }

    /// <summary>Possibilities the evidence cannot decide between, and what would tell them apart.</summary>
    public IReadOnlyList<string>? Undecided { get; init; }
}

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
                a.Address.ToString(), a.Answered, a.Phase.ToReportName(), a.Ending.ToReportName(), a.Code, a.Detail, a.Ms)).ToList(),
            report.ClientSimulation.Select(ToSimulated).ToList())
        {
            Kerberos = report.Kerberos is { } k ? ToKerberos(k) : null,
        };
    }

    /// <summary>The report's TLS version words ("tls1.2").</summary>
    public static string TlsWord(TlsVersion v) => v switch
    {
        TlsVersion.Tls10 => "tls1.0",
        TlsVersion.Tls11 => "tls1.1",
        TlsVersion.Tls12 => "tls1.2",
        _ => "tls1.3",
    };

    private static ProbeJsonSimulatedConnection ToSimulated(SimulatedConnection c) => new(
        c.Profiles,
        c.Offer.RequestedProtocols.ToReportNames(),
        c.Offer.Versions.Select(TlsWord).ToList(),
        c.Offer.CipherSuites.Select(CipherSuiteNames.Get).ToList(),
        c.Result.NotOffered,
        ClientSimulationCheck.Word(c.Result.Outcome),
        c.Result.Selected?.ToReportName(),
        c.Result.FailureCode?.ToReportName(),
        c.Result.Version is { } v ? TlsWord(v) : null,
        c.Result.CipherSuite,
        c.Result.Detail,
        c.Ms);

    private static ProbeJsonKerberos ToKerberos(KerberosFacts k) => new(
        k.Realm, k.RealmSource, k.Spn, k.Config, k.Kdc, k.KdcSource, [.. k.KdcCandidates], k.SrvLookup,
        k.Udp is { } u ? new ProbeJsonKdcReach(u.Reachable, u.Ms, u.Detail) : null,
        k.Tcp is { } t ? new ProbeJsonKdcReach(t.Reachable, t.Ms, t.Detail) : null,
        k.ClockSkewSeconds, k.KdcAnswer, [.. k.EtypesRequested], [.. k.AccountEtypes],
        k.As is { } a ? new ProbeJsonKerberosExchange(a.Ok, a.Error, a.Message, a.TicketEtype, a.SessionKeyEtype, a.Ms) : null,
        k.Tgs is { } g ? new ProbeJsonKerberosExchange(g.Ok, g.Error, g.Message, g.TicketEtype, g.SessionKeyEtype, g.Ms) : null);

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
        => new(v.Ok, v.Phase.ToReportName(), v.Ending.ToReportName(), v.Code?.Word, v.Summary, v.Causes, v.Remedies)
        {
            Evidence = v.Evidence,
            Undecided = v.Undecided.Count > 0 ? v.Undecided : null,
        };

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
        p.Messages.Select(m => new ProbeJsonMessage(m.Direction == Direction.Sent ? "sent" : "received", m.AtMs, m.Length, m.Description)).ToList(),
        ProbeJsonService.From(p.Service),
        p.FellBackTo);

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
        c.Authenticated,
        c.Auth,
        c.Mechanism,
        c.Spnego is not { } s ? null : new ProbeJsonSpnego(s.Offered, s.Spn, s.KerberosUnavailable, s.NegState, s.SupportedMech, s.ServerChoice, s.MutualAuth));

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
