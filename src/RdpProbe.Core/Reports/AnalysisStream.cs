using RdpProbe.Analysis;
using RdpProbe.Protocol;

namespace RdpProbe.Reports;

/// <summary>The prose of one distinct verdict, written once per document and referenced by <paramref name="Id"/> from each connection.</summary>
public sealed record VerdictProse(int Id, string Summary, IReadOnlyList<string> Causes, IReadOnlyList<string> Remedies);

/// <summary>What is known only at the end of a streamed analysis: totals, RDP-UDP, ICMP, the verdict prose (the attempt chains went to the sinks as they finished).</summary>
/// <param name="Connections">How many connections were handed to the sinks.</param>
/// <param name="Chains">How many attempt chains were handed to the sinks (<see cref="IAnalysisSink.Chain"/>).</param>
/// <param name="FailedConnections">Failed connections, not counting refused attempts a client replaced by a successful fallback (exit code 20).</param>
/// <param name="Verdicts">Every distinct verdict prose given an id, in the order of the ids.</param>
public sealed record AnalysisSummary(
    IReadOnlyList<string> Files,
    long Packets,
    long Bytes,
    double Seconds,
    int Connections,
    int FailedConnections,
    IReadOnlyList<UdpFlowReport> Udp,
    IReadOnlyList<IcmpReport> Icmp,
    FragmentReport Fragments,
    string? Damage,
    IReadOnlyList<string> Warnings,
    int Chains,
    IReadOnlyList<VerdictProse> Verdicts);

/// <summary>A reader of a streamed analysis: the JSON document, JSON Lines, the terminal view.</summary>
public interface IAnalysisSink
{
    /// <summary>Before the first connection (or before <see cref="End"/> when there is none); not called when no file could be read.</summary>
    void Begin(IReadOnlyList<string> files);

    /// <summary>One finished connection, as soon as its flow ended; <paramref name="index"/> counts from 0 in this order.</summary>
    /// <param name="verdictId">The id of the verdict's prose; null when the table is full (<see cref="AnalysisStream.MaxVerdicts"/>) and the prose goes with the connection.</param>
    /// <param name="newVerdict">The prose, the first time it is seen (before any connection refers to it); null otherwise.</param>
    void Connection(int index, ConnectionReport connection, int? verdictId, VerdictProse? newVerdict);

    /// <summary>
    /// One finished attempt chain (two or more connections of one client to one server, <see cref="AttemptChainStream"/>),
    /// after the connections it names and in the order chains finish, so that nothing the run has finished stays in
    /// memory for the end: a sink that writes chains after the connections keeps them itself (the JSON forms spool them
    /// to a temporary file, <see cref="ChainSpool"/>).
    /// </summary>
    void Chain(ChainReport chain);

    /// <summary>The end of the analysis.</summary>
    void End(AnalysisSummary summary);
}

/// <summary>
/// The analysis as a stream: each connection is turned into its report and handed to the sinks as soon as its flow
/// ends, then forgotten, so memory does not grow with the number of connections (only with live flows, open attempt
/// chains and the distinct verdict texts, both bounded). The "rdpprobe.analysis/1" document
/// (<see cref="CaptureAnalysis.Run"/>) stays for callers that want the whole report as one object.
/// </summary>
public static class AnalysisStream
{
    /// <summary>The streamed document (<see cref="AnalysisJsonWriter"/>).</summary>
    public const string SchemaName = "rdpprobe.analysis/2";

    /// <summary>The JSON Lines form (<see cref="AnalysisJsonLinesWriter"/>).</summary>
    public const string LinesSchemaName = "rdpprobe.analysis-lines/1";

    /// <summary>Distinct verdict texts given an id; past it a verdict's prose is written with its connection.</summary>
    public const int MaxVerdicts = 4096;

    public sealed record Result(AnalysisSummary? Summary, CaptureReadStatus Status, IReadOnlyList<string> Errors);

    /// <param name="progress">Called with (bytes read so far across files, total bytes of all files).</param>
    /// <param name="parallel">Write the reports on a second thread while this one reads (when there is a second core).</param>
    public static Result Run(IReadOnlyList<string> files, AnalyzerOptions options, IReadOnlyList<IAnalysisSink> sinks,
        Action<long, long>? progress = null, CancellationToken cancellationToken = default, bool parallel = true)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(sinks);
        var pool = new ReportPool();
        var table = new VerdictTable();
        int chains = 0;
        var chainStream = new AttemptChainStream(ch =>
        {
            var report = Chain(ch, pool, files);
            chains++;
            foreach (var sink in sinks)
            {
                sink.Chain(report);
            }
        }, options.AttemptChainWindow);
        int index = 0;
        int failed = 0;
        bool begun = false;

        void Begin()
        {
            if (!begun)
            {
                begun = true;
                foreach (var sink in sinks)
                {
                    sink.Begin(files);
                }
            }
        }

        void Write(AnalyzedConnection c, AnalyzerClock clock)
        {
            Begin();
            var report = CaptureAnalysis.Connection(c, pool, files);
            if (!report.Verdict.Ok)
            {
                failed++;
            }

            var (id, fresh) = table.Lookup(report.Verdict);
            foreach (var sink in sinks)
            {
                sink.Connection(index, report, id, fresh);
            }

            chainStream.Add(c, index, clock);
            index++;
        }

        CaptureFiles.Result run;
        if (parallel && Environment.ProcessorCount > 1)
        {
            // Three stages on two cores: a reader thread runs libpcap (CaptureReadAhead); this thread decodes frames and
            // tracks flows; a writer thread turns each finished flow into its findings and report and hands it to the
            // sinks, in the order the flows ended (one queue, one consumer). The findings of each flow are built there
            // too: tracking flows stays this thread's only work.
            var judgements = new JudgementMemo();
            using var writer = new OrderedWriter((flow, clock) => Write(flow.Build(judgements), clock));
            run = CaptureFiles.Analyze(files, options, progress, cancellationToken, writer.Post, readAhead: true);
            writer.Complete();
        }
        else
        {
            run = CaptureFiles.Analyze(files, options, progress, cancellationToken, Write);
        }

        chainStream.Flush();
        if (run.Status is CaptureReadStatus.Unreadable or CaptureReadStatus.NoCaptureLibrary)
        {
            return new Result(null, run.Status, run.Errors);
        }

        var f = run.Findings;
        var summary = new AnalysisSummary(
            f.Files, f.Packets, f.Bytes, f.Seconds, index, failed - chainStream.Superseded,
            f.Udp.Select(u => CaptureAnalysis.Udp(u, f.Files)).ToArray(),
            f.Icmp.Select(i => CaptureAnalysis.Icmp(i, f.Files)).ToArray(),
            CaptureAnalysis.Fragments(f),
            f.Damage,
            f.Warnings,
            chains,
            table.All);
        Begin();
        foreach (var sink in sinks)
        {
            sink.End(summary);
        }

        return new Result(summary, run.Status, run.Errors);
    }

    /// <summary>
    /// One consumer thread draining a bounded queue of finished connections, in order. The producer blocks when the
    /// queue is full (memory stays bounded when the output is slower than the analysis); an exception of the consumer
    /// (a closed pipe, a full disk) stops it and is thrown again on the producer's next post or at completion.
    /// </summary>
    private sealed class OrderedWriter : IDisposable
    {
        private const int Capacity = 1024;

        /// <summary>Finished flows handed to the writer per wake-up (a straggler waits at most <see cref="HandOff{T}.StragglerWaitMs"/>).</summary>
        private const int WakeBatch = 32;
        private readonly HandOff<(FinishedFlow Flow, AnalyzerClock Clock)> _queue = new(Capacity, WakeBatch);
        private readonly Thread _thread;
        private System.Runtime.ExceptionServices.ExceptionDispatchInfo? _failure;

        public OrderedWriter(Action<FinishedFlow, AnalyzerClock> write)
        {
            _thread = new Thread(() =>
            {
                try
                {
                    while (_queue.TryTake(out var next))
                    {
                        write(next.Flow, next.Clock);
                    }
                }
                catch (Exception e)
                {
                    _failure = System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e);
                    _queue.Complete();
                }
            })
            {
                IsBackground = true,
                Name = "rdpprobe analysis writer",
            };
            _thread.Start();
        }

        public void Post(FinishedFlow flow, AnalyzerClock clock)
        {
            _failure?.Throw();
            try
            {
                _queue.Add((flow, clock));
            }
            catch (InvalidOperationException) when (_failure is not null)
            {
                _failure.Throw();
            }
        }

        public void Complete()
        {
            _queue.Complete();
            _thread.Join();
            _failure?.Throw();
        }

        public void Dispose()
        {
            _queue.Complete();
            _thread.Join();
        }
    }

    private static ChainReport Chain(StreamedChain streamed, ReportPool pool, IReadOnlyList<string> files)
    {
        var ch = streamed.Chain;
        var attempts = streamed.Attempts.Select(a => new ChainAttemptReport(
            a.Connection,
            a.FirstFrame,
            a.LastFrame,
            pool.Share(a.RequestedProtocols?.ToReportNames()),
            a.SelectedProtocol?.ToReportName(),
            a.FailureCode?.ToReportName(),
            a.Ok,
            a.SupersededByFallback)).ToArray();
        return new ChainReport(
            ch.Id,
            ch.Client,
            ch.Server,
            attempts,
            attempts.Min(a => a.FirstFrame),
            attempts.Max(a => a.LastFrame),
            ch.Ok,
            ch.FellBack,
            ch.Summary,
            ch.Findings.Select(CaptureAnalysis.Finding).ToArray(),
            ch.ClientVerdict is { } v ? CaptureAnalysis.ClientVerdict(v, ch.InferredFacts) : null)
        {
            File = CaptureAnalysis.FileName(files, streamed.Attempts[0].File),
        };
    }

    /// <summary>
    /// Distinct verdict prose (summary, causes, remedies) → id. Equal texts are usually the same objects (the report
    /// pool shares them), so the reference comparison answers first; bounded by <see cref="MaxVerdicts"/>.
    /// </summary>
    private sealed class VerdictTable
    {
        private readonly Dictionary<Key, VerdictProse> _ids = new(KeyComparer.Instance);
        private readonly List<VerdictProse> _all = [];

        public IReadOnlyList<VerdictProse> All => _all;

        public (int? Id, VerdictProse? Fresh) Lookup(VerdictReport v)
        {
            var key = new Key(v.Summary, v.Causes, v.Remedies);
            if (_ids.TryGetValue(key, out var known))
            {
                return (known.Id, null);
            }

            if (_all.Count >= MaxVerdicts)
            {
                return (null, null);
            }

            var prose = new VerdictProse(_all.Count + 1, v.Summary, v.Causes, v.Remedies);
            _ids[key] = prose;
            _all.Add(prose);
            return (prose.Id, prose);
        }

        private readonly record struct Key(string Summary, IReadOnlyList<string> Causes, IReadOnlyList<string> Remedies);

        private sealed class KeyComparer : IEqualityComparer<Key>
        {
            public static readonly KeyComparer Instance = new();

            public bool Equals(Key x, Key y) =>
                string.Equals(x.Summary, y.Summary, StringComparison.Ordinal) && Same(x.Causes, y.Causes) && Same(x.Remedies, y.Remedies);

            public int GetHashCode(Key key) => HashCode.Combine(
                string.GetHashCode(key.Summary, StringComparison.Ordinal), key.Causes.Count, key.Remedies.Count,
                key.Causes.Count > 0 ? string.GetHashCode(key.Causes[0], StringComparison.Ordinal) : 0);

            private static bool Same(IReadOnlyList<string> a, IReadOnlyList<string> b)
            {
                if (ReferenceEquals(a, b))
                {
                    return true;
                }

                if (a.Count != b.Count)
                {
                    return false;
                }

                for (int i = 0; i < a.Count; i++)
                {
                    if (!string.Equals(a[i], b[i], StringComparison.Ordinal))
                    {
                        return false;
                    }
                }

                return true;
            }
        }
    }
}
