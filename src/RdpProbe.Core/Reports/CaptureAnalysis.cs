using RdpProbe.Analysis;
using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Reports;

/// <summary>
/// Offline analysis as a report: runs the analyzer over capture files (<see cref="CaptureFiles"/>) and writes its
/// findings as the "rdpprobe.analysis/1" document. The analyzer works in typed facts; the report words are made here.
/// </summary>
public static class CaptureAnalysis
{
    // Report words of the enums, made once: a capture can hold hundreds of thousands of connections.
    private static readonly string[] PhaseWords = Words<Phase>(p => p.ToReportName());
    private static readonly string[] EndingWords = Words<Ending>(e => e.ToReportName());

    public sealed record Result(AnalysisReport Report, CaptureReadStatus Status, IReadOnlyList<string> Errors);

    /// <param name="progress">Called with (bytes read so far across files, total bytes of all files).</param>
    public static Result Run(IReadOnlyList<string> files, AnalyzerOptions options, Action<long, long>? progress = null, CancellationToken cancellationToken = default)
    {
        // Each connection is written as soon as it ends, so only its report stays in memory (as many connections as
        // the capture holds); sorted by first frame as the findings are (a stable sort of the same order).
        // The attempt chains are grouped once, at the end, from the few fields AttemptChains keeps per connection.
        var connections = new List<ConnectionReport>();
        var pool = new ReportPool();
        var chains = new AttemptChains(options.AttemptChainWindow);
        var run = CaptureFiles.Analyze(files, options, progress, cancellationToken, c =>
        {
            connections.Add(Connection(c, pool, files));
            chains.Add(c);
        });
        return new Result(ToReport(run.Findings, connections.OrderBy(c => FileOrder(files, c.File)).ThenBy(c => c.FirstFrame).ToList(), chains.Build()), run.Status, run.Errors);
    }

    /// <summary>The analysis document for <paramref name="f"/>, attempt chains grouped within <paramref name="chainWindow"/> (default <see cref="AttemptChains.DefaultWindow"/>).</summary>
    public static AnalysisReport ToReport(CaptureFindings f, TimeSpan? chainWindow = null)
    {
        var pool = new ReportPool();
        return ToReport(f, Map(f.Connections, c => Connection(c, pool, f.Files)), AttemptChains.Build(f.Connections, chainWindow));
    }

    /// <summary>The name of file <paramref name="index"/> as given; "" when the findings name no files (built in memory).</summary>
    internal static string FileName(IReadOnlyList<string> files, int index) => (uint)index < (uint)files.Count ? files[index] : "";

    private static int FileOrder(IReadOnlyList<string> files, string file)
    {
        for (int i = 0; i < files.Count; i++)
        {
            if (ReferenceEquals(files[i], file) || files[i] == file)
            {
                return i;
            }
        }

        return -1;
    }

    private static AnalysisReport ToReport(CaptureFindings f, IReadOnlyList<ConnectionReport> connections, AttemptChains.Result chains)
    {
        var marked = new List<ConnectionReport>(connections.Count);
        for (int i = 0; i < connections.Count; i++)
        {
            marked.Add(chains.PerConnection[i] is { } at
                ? connections[i] with { ChainId = at.ChainId, AttemptIndex = at.AttemptIndex, SupersededByFallback = at.Superseded }
                : connections[i]);
        }

        return new(AnalysisReport.SchemaName, f.Files, f.Packets, f.Bytes, f.Seconds,
            marked,
            Map(f.Udp, u => Udp(u, f.Files)),
            Map(f.Icmp, i => Icmp(i, f.Files)),
            Fragments(f),
            f.Damage,
            f.Warnings)
        {
            Chains = Map(chains.Chains, ch => Chain(ch, marked)),
            FailedConnections = marked.Count(c => !c.Verdict.Ok && !c.SupersededByFallback),
        };
    }

    private static ChainReport Chain(AttemptChain ch, IReadOnlyList<ConnectionReport> connections) => new(
        ch.Id,
        ch.Client,
        ch.Server,
        Map(ch.Attempts, i => new ChainAttemptReport(
            i,
            connections[i].FirstFrame,
            connections[i].LastFrame,
            connections[i].RequestedProtocols,
            connections[i].SelectedProtocol,
            connections[i].FailureCode,
            connections[i].Verdict.Ok,
            connections[i].SupersededByFallback)),
        ch.Attempts.Min(i => connections[i].FirstFrame),
        ch.Attempts.Max(i => connections[i].LastFrame),
        ch.Ok,
        ch.FellBack,
        ch.Summary,
        Map(ch.Findings, Finding),
        ch.ClientVerdict is { } v ? ClientVerdict(v, ch.InferredFacts) : null)
    {
        File = connections[ch.Attempts[0]].File,
    };

    /// <summary>A finding in the probe document's words: snake_case code, lower-case severity.</summary>
    internal static FindingReport Finding(Finding f) =>
        new(f.Code, f.Severity.ToString().ToLowerInvariant(), f.Title, f.Evidence, f.Remedy, f.Affects);

    /// <summary>
    /// Every profile against the connection's facts (the same <see cref="CaptureSecurityFacts"/> its verdict used), at
    /// report time rather than kept per connection during the analysis; repeated texts go through the pool, and alike
    /// connections share one table (<see cref="CompatibilityMemo"/>).
    /// </summary>
    private static IReadOnlyList<ClientVerdictReport> CompatibilityTable(AnalyzedConnection c, ReportPool pool)
    {
        if (c.ClientVerdict is null)
        {
            return [];
        }

        return pool.Compatibility.Get(c, pool, ComputeCompatibilityTable);
    }

    /// <summary>The table computed, not remembered (what <see cref="CompatibilityMemo"/> must give back).</summary>
    internal static IReadOnlyList<ClientVerdictReport> ComputeCompatibilityTable(AnalyzedConnection c, ReportPool pool)
    {
        var (facts, inferred) = CaptureSecurityFacts.From(c);
        return [.. ClientCompatibility.EvaluateAll(facts).Select(v => ClientVerdict(v, inferred, pool))];
    }

    internal static ClientVerdictReport ClientVerdict(ClientVerdict v, IReadOnlyList<string> inferredFacts, ReportPool? pool = null) => new(
        v.Profile,
        v.Result switch
        {
            Compatibility.Connects => "connects",
            Compatibility.ConnectsAfterWarning => "connects_after_warning",
            Compatibility.ConnectsInsecurely => "connects_insecurely",
            Compatibility.Fails => "fails",
            _ => "unknown",
        },
        v.Protocol is { } p ? string.Join("|", p.ToReportNames()) : null,
        v.FailPhase is { } phase ? Word(phase) : null,
        v.Reason,
        pool is null ? v.Summary : pool.Share(v.Summary)!,
        pool is null ? v.Steps : pool.Share(v.Steps)!,
        pool is null ? v.Warnings : pool.Share(v.Warnings)!,
        pool is null ? v.NeedsConnection : pool.Share(v.NeedsConnection)!,
        pool is null ? inferredFacts : pool.Share(inferredFacts)!,
        inferredFacts.Count > 0);

    /// <summary>The fragment counters, in all and per file.</summary>
    internal static FragmentReport Fragments(CaptureFindings f) =>
        new(f.Fragments.Ipv4, f.Fragments.Ipv6, f.Fragments.Reassembled, f.Fragments.Incomplete)
        {
            PerFile = f.FragmentsPerFile.Select((p, i) => new FileFragmentReport(FileName(f.Files, i), p.Ipv4, p.Ipv6, p.Reassembled, p.Incomplete)).ToArray(),
        };

    // Texts and lists that repeat from connection to connection (server, cookie, verdict words) are shared through
    // the pool: a capture of many similar connections then keeps one copy of each instead of one per connection.
    internal static ConnectionReport Connection(AnalyzedConnection c, ReportPool pool, IReadOnlyList<string> files) => new(
        c.Client,
        pool.Share(c.Server),
        c.FirstFrame,
        c.LastFrame,
        pool.Share(c.Cookie),
        c.RoutingToken,
        pool.Share(c.RequestedProtocols?.ToReportNames()),
        c.SelectedProtocol?.ToReportName(),
        c.FailureCode?.ToReportName(),
        c.Tls is { } tls ? Tls(tls) : null,
        c.Credssp is { } cs ? new CredsspReport(cs.LastRound, Map(cs.Flights, Flight), cs.ErrorSizedAnswer, cs.EarlyAuthPlaintextBytes, cs.Inferred) : null,
        c.StandardSecurity is { } ss ? StandardSecurity(ss) : null,
        Map(c.Phases, p => new PhaseReportEntry(Word(p.Phase), p.Status, p.FirstFrame, p.LastFrame, p.Inferred)),
        Word(c.LastPhase),
        Word(c.Ending),
        c.EndedBy,
        Map(c.Anomalies, a => Anomaly(a, FileName(files, c.FileIndex))),
        Verdict(c.Verdict, pool),
        c.Filter,
        c.StartedBeforeCapture,
        c.ClientBytes,
        c.ServerBytes,
        c.Packets)
    {
        File = FileName(files, c.FileIndex),
        Findings = Map(c.Findings, Finding),
        ClientVerdict = c.ClientVerdict is { } v ? ClientVerdict(v, c.InferredFacts) : null,
        Compatibility = CompatibilityTable(c, pool),
    };

    private static TlsReport Tls(TlsFindings t) => new(
        t.Version is { } v ? TlsNames.VersionName(v) : null,
        t.ClientMaxVersion is { } max ? TlsNames.VersionName(max) : null,
        t.OfferedVersions is { } offered ? Map(offered, TlsNames.VersionName) : null,
        t.CipherSuite is { } suite ? TlsHandshake.CipherSuiteName(suite) : null,
        t.ServerName,
        t.CertificateSubject,
        t.CertificateIssuer,
        Map(t.Alerts, a => new TlsAlertReport(
            a.Frame,
            a.FromClient ? "client" : "server",
            a.Alert is { } al ? (al.Level == TlsAlertLevel.Fatal ? "fatal" : "warning") : null,
            a.Alert is { } named ? TlsNames.AlertName(named.Description) : null,
            a.Alert is null) { Inferred = a.Inferred }),
        t.ClientHelloFrame,
        t.ServerHelloFrame)
    {
        Certificate = t.Certificate is { } cert
            ? new CertificateReport(cert.NotBefore, cert.NotAfter, cert.SelfSigned, cert.KeyAlgorithm, cert.KeySize, cert.SignatureAlgorithm,
                cert.SubjectCommonName, cert.SubjectAltNames, cert.IpAddresses)
            : null,
    };

    private static FlightReport Flight(FlightFinding f) =>
        new(f.FromClient ? "client" : "server", f.Label, f.Records, f.Bytes, f.FirstRecordLength, f.PlaintextEstimate, f.FirstFrame, f.LastFrame);

    private static StandardSecurityReport StandardSecurity(StandardSecurityFindings s) => new(
        s.ClientEncryptionMethods is { } cm ? EncryptionMethodNames(cm) : null,
        s.EncryptionMethod is { } m ? EncryptionMethodNames(m) : null,
        s.EncryptionLevel is { } l ? EncryptionLevelName(l) : null,
        s.McsResult,
        s.LicensingResult,
        s.SecurityExchangeSeen,
        s.ClientInfoSeen);

    private static AnomalyReport Anomaly(AnomalyFinding a, string file) =>
        new(a.Kind, a.Frames, a.Count, a.Phase is { } p ? Word(p) : null, a.From, a.Detail, a.Filter) { File = file, Inferred = a.Inferred };

    internal static IcmpReport Icmp(IcmpFinding i, IReadOnlyList<string> files) =>
        new(i.Frame, i.Kind, i.Mtu, i.About, i.Quoted, i.Filter) { File = FileName(files, i.FileIndex) };

    internal static UdpFlowReport Udp(AnalyzedUdpFlow u, IReadOnlyList<string> files) => new(
        u.Client,
        u.Server,
        u.SynFrames,
        u.SynAck,
        u.SynAckFrame,
        UdpVersionName(u.UdpVersion),
        u.ClientDatagrams,
        u.ServerDatagrams,
        u.Icmp is { } i ? Icmp(i, files) : null,
        Map(u.Anomalies, a => Anomaly(a, FileName(files, u.FileIndex))),
        new UdpVerdictReport(u.Ok, u.Summary),
        u.Filter)
    {
        File = FileName(files, u.FileIndex),
    };

    /// <summary>The shared verdict in report words: snake_case phase and ending names.</summary>
    internal static VerdictReport Verdict(Verdict v) =>
        new(v.Ok, Word(v.Phase), Word(v.Ending), v.Code?.Word, v.Summary, v.Causes, v.Remedies, v.Inferred)
        {
            Evidence = v.Ok ? null : v.Evidence,
            Undecided = v.Undecided.Count > 0 ? v.Undecided : null,
        };

    private static VerdictReport Verdict(Verdict v, ReportPool pool) =>
        new(v.Ok, Word(v.Phase), Word(v.Ending), v.Code?.Word, pool.Share(v.Summary), pool.Share(v.Causes), pool.Share(v.Remedies), v.Inferred)
        {
            Evidence = v.Ok ? null : v.Evidence,
            Undecided = v.Undecided.Count > 0 ? pool.Share(v.Undecided) : null,
        };

    internal static string Word(Phase phase) => (uint)phase < (uint)PhaseWords.Length ? PhaseWords[(int)phase] ?? phase.ToReportName() : phase.ToReportName();

    private static string Word(Ending ending) => (uint)ending < (uint)EndingWords.Length ? EndingWords[(int)ending] ?? ending.ToReportName() : ending.ToReportName();

    /// <summary>The word of each enum value, indexed by the value.</summary>
    private static string[] Words<T>(Func<T, string> word)
        where T : struct, Enum
    {
        var values = Enum.GetValues<T>();
        var words = new string[values.Max(v => Convert.ToInt32(v, System.Globalization.CultureInfo.InvariantCulture)) + 1];
        foreach (var v in values)
        {
            words[Convert.ToInt32(v, System.Globalization.CultureInfo.InvariantCulture)] = word(v);
        }

        return words;
    }

    /// <summary>Maps into an array: one allocation per list, none for an empty one.</summary>
    private static TOut[] Map<TIn, TOut>(IReadOnlyList<TIn> items, Func<TIn, TOut> map)
    {
        if (items.Count == 0)
        {
            return [];
        }

        var result = new TOut[items.Count];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = map(items[i]);
        }

        return result;
    }

    /// <summary>uUdpVer, MS-RDPEUDP 2.2.2.9: RDPUDP_PROTOCOL_VERSION_1/2/3.</summary>
    private static string? UdpVersionName(ushort? version) => version switch
    {
        null => null,
        0x0001 => "v1",
        0x0002 => "v2",
        0x0101 => "v3",
        var v => $"0x{v:x4}",
    };

    /// <summary>encryptionMethod bits, MS-RDPBCGR 2.2.1.3.3.</summary>
    internal static string EncryptionMethodNames(uint methods)
    {
        if (methods == 0)
        {
            return "none";
        }

        var names = new List<string>();
        if ((methods & 0x01) != 0)
        {
            names.Add("40bit");
        }

        if ((methods & 0x02) != 0)
        {
            names.Add("128bit");
        }

        if ((methods & 0x08) != 0)
        {
            names.Add("56bit");
        }

        if ((methods & 0x10) != 0)
        {
            names.Add("fips");
        }

        return names.Count == 0 ? $"0x{methods:x}" : string.Join(",", names);
    }

    /// <summary>encryptionLevel, MS-RDPBCGR 2.2.1.4.3.</summary>
    internal static string EncryptionLevelName(uint level) => level switch
    {
        0 => "none",
        1 => "low",
        2 => "client_compatible",
        3 => "high",
        4 => "fips",
        _ => $"0x{level:x}",
    };
}
