using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Analysis;

/// <summary>
/// Several connections that are one attempt of a person to connect: a client that the server refuses retries on a new
/// connection (FreeRDP and mstsc reconnect with a smaller request after RDP_NEG_FAILURE, MS-RDPBCGR 2.2.1.2.2).
/// </summary>
/// <param name="Id">1-based, in the order of the chains' first frames.</param>
/// <param name="Attempts">Indexes into the connections (sorted by first frame), oldest attempt first.</param>
/// <param name="Ok">The last attempt got through.</param>
/// <param name="FellBack">The last attempt got through after the server refused every earlier one with a negotiation failure.</param>
/// <param name="Summary">One sentence: how the chain ended.</param>
/// <param name="Findings">What the findings rules say about the facts of the whole chain.</param>
/// <param name="ClientVerdict">What the default client profile would do, from the facts of the whole chain.</param>
/// <param name="InferredFacts">Facts concluded rather than seen (<see cref="CaptureSecurityFacts"/>).</param>
public sealed record AttemptChain(
    int Id,
    string Client,
    string Server,
    IReadOnlyList<int> Attempts,
    bool Ok,
    bool FellBack,
    string Summary,
    IReadOnlyList<Finding> Findings,
    ClientVerdict? ClientVerdict,
    IReadOnlyList<string> InferredFacts);

/// <summary>
/// Groups connections into attempt chains. A connection joins the chain of the same client address's previous
/// connection to the same server address and port when that one did not get through and the new one starts no later
/// than <see cref="DefaultWindow"/> (or the configured window) after it ended; a successful connection ends its chain.
/// Only chains of two or more connections are reported. The earlier attempts that ended in a negotiation failure of
/// a chain whose last attempt got through are fallbacks, not failures (<see cref="Superseded"/>).
/// Runs once over the finished connections, at the end of the analysis.
/// </summary>
public sealed class AttemptChains
{
    /// <summary>FreeRDP retries at once (the lab capture: within 0.1 s); mstsc within a second. 5 s leaves room for slow links.</summary>
    public static readonly TimeSpan DefaultWindow = TimeSpan.FromSeconds(5);

    private const int MaxSharedTexts = 16_384;

    private readonly List<Entry> _entries = [];
    private readonly Dictionary<string, string> _texts = new(StringComparer.Ordinal);
    private readonly long _windowMicros;

    public AttemptChains(TimeSpan? window = null)
    {
        _windowMicros = (long)(window ?? DefaultWindow).TotalMicroseconds;
    }

    /// <summary>Per connection, in the order the connections were added then sorted by first frame: the chain it belongs to.</summary>
    public sealed record Result(IReadOnlyList<AttemptChain> Chains, IReadOnlyList<(int ChainId, int AttemptIndex, bool Superseded)?> PerConnection);

    /// <summary>
    /// Adds one finished connection. Only connections the server answered at X.224 keep their facts for the chain's
    /// judgement; the others keep their keys alone (a SYN flood or a scan costs a few fields per connection).
    /// </summary>
    public void Add(AnalyzedConnection c)
    {
        ArgumentNullException.ThrowIfNull(c);
        // Frames are numbered per file (the files are read in the order given): file first, then frame.
        _entries.Add(new Entry(((long)c.FileIndex << 32) | (uint)c.FirstFrame, c.FileIndex, c.Client, Share(c.Server), c.StartMicros, c.EndMicros, c.Verdict.Ok, c.FailureCode is not null, Kept(c)));
    }

    /// <summary>
    /// What a chain's judgement needs of a connection: the negotiation, TLS and Standard Security parts and the verdict,
    /// not the per-frame lists; null for a connection the server never answered at X.224.
    /// </summary>
    internal static AnalyzedConnection? Kept(AnalyzedConnection c) =>
        c.SelectedProtocol is null && c.FailureCode is null ? null : c with { Phases = [], Anomalies = [], Credssp = null, Findings = [], ClientVerdict = null };

    /// <summary>A chain described from its attempts (oldest first), for <see cref="AttemptChainStream"/>.</summary>
    internal static AttemptChain Describe(int id, List<int> indexes, IReadOnlyList<(int FirstFrame, int File, string Client, string Server, long Start, long End, bool Ok, bool Refused, AnalyzedConnection? Kept)> attempts)
    {
        var entries = new List<Entry>(attempts.Count);
        foreach (var a in attempts)
        {
            entries.Add(new Entry(((long)a.File << 32) | (uint)a.FirstFrame, a.File, a.Client, a.Server, a.Start, a.End, a.Ok, a.Refused, a.Kept));
        }

        bool ok = entries[^1].Ok;
        bool fellBack = ok && entries.Take(entries.Count - 1).All(a => a.Refused);
        return Chain(id, indexes, entries, ok, fellBack);
    }

    /// <summary>The chains of <paramref name="connections"/> (already sorted by first frame).</summary>
    public static Result Build(IReadOnlyList<AnalyzedConnection> connections, TimeSpan? window = null)
    {
        ArgumentNullException.ThrowIfNull(connections);
        var chains = new AttemptChains(window);
        foreach (var c in connections)
        {
            chains.Add(c);
        }

        return chains.Build();
    }

    /// <summary>
    /// Groups what was added. Indexes follow a stable sort by first frame, as the report's connections do. Works on
    /// index arrays, and forgets a failed connection once the window after it has passed: a capture of many
    /// connections (a scan) costs a few integers per connection, not a list each.
    /// </summary>
    public Result Build()
    {
        int n = _entries.Count;
        var byFrame = new int[n];
        var byStart = new int[n];
        for (int i = 0; i < n; i++)
        {
            byFrame[i] = byStart[i] = i;
        }

        Array.Sort(byFrame, (a, b) => _entries[a].FirstFrame != _entries[b].FirstFrame ? _entries[a].FirstFrame.CompareTo(_entries[b].FirstFrame) : a.CompareTo(b));
        Array.Sort(byStart, (a, b) => _entries[a].Start != _entries[b].Start ? _entries[a].Start.CompareTo(_entries[b].Start)
            : _entries[a].FirstFrame != _entries[b].FirstFrame ? _entries[a].FirstFrame.CompareTo(_entries[b].FirstFrame) : a.CompareTo(b));
        var position = new int[n];
        for (int p = 0; p < n; p++)
        {
            position[byFrame[p]] = p;
        }

        // Attempts start in order; a chain stays open while its last attempt failed and its window has not passed.
        var next = new int[n];
        var previous = new int[n];
        Array.Fill(next, -1);
        Array.Fill(previous, -1);
        // Each file is its own capture (another vantage point, another day): a chain never joins two files.
        var openByFile = new Dictionary<int, Dictionary<(string Client, string Server), int>>();
        int forgetAbove = MaxSharedTexts;
        foreach (int e in byStart)
        {
            var entry = _entries[e];
            if (!openByFile.TryGetValue(entry.File, out var open))
            {
                open = new Dictionary<(string Client, string Server), int>(SameAddress.Instance);
                openByFile[entry.File] = open;
            }

            var key = (entry.Client, entry.Server);
            if (open.Remove(key, out int last) && entry.Start - _entries[last].End <= _windowMicros && entry.Start >= _entries[last].Start)
            {
                previous[e] = last;
                next[last] = e;
            }

            if (!entry.Ok)
            {
                open[key] = e;

                // The threshold doubles with what is still inside the window, so a dense scan sweeps rarely.
                if (open.Count > forgetAbove)
                {
                    Forget(open, entry.Start);
                    forgetAbove = Math.Max(MaxSharedTexts, open.Count * 2);
                }
            }
        }

        var per = new (int ChainId, int AttemptIndex, bool Superseded)?[n];
        var result = new List<AttemptChain>();
        foreach (int head in byFrame)
        {
            if (previous[head] >= 0 || next[head] < 0)
            {
                continue;
            }

            var members = new List<int>();
            for (int e = head; e >= 0; e = next[e])
            {
                members.Add(e);
            }

            int id = result.Count + 1;
            var attempts = members.ConvertAll(e => _entries[e]);
            bool ok = attempts[^1].Ok;
            bool fellBack = ok && attempts.Take(attempts.Count - 1).All(a => a.Refused);
            for (int k = 0; k < members.Count; k++)
            {
                per[position[members[k]]] = (id, k, ok && k < members.Count - 1 && attempts[k].Refused);
            }

            result.Add(Chain(id, members.ConvertAll(e => position[e]), attempts, ok, fellBack));
        }

        return new Result(result, per);
    }

    /// <summary>Drops the open chains whose window has passed before <paramref name="now"/>: nothing can join them any more.</summary>
    private void Forget(Dictionary<(string Client, string Server), int> open, long now)
    {
        foreach (var (key, last) in open)
        {
            if (now - _entries[last].End > _windowMicros)
            {
                open.Remove(key);
            }
        }
    }

    private static AttemptChain Chain(int id, List<int> indexes, List<Entry> attempts, bool ok, bool fellBack)
    {
        var final = attempts[^1];
        var earlier = attempts.Take(attempts.Count - 1).Select(a => a.Connection).OfType<AnalyzedConnection>().ToList();
        string codes = string.Join(", ", earlier.Select(e => e.FailureCode?.ToReportName()).OfType<string>().Distinct());
        string finalSummary = final.Connection?.Verdict.Summary ?? "";
        string summary = fellBack
            ? $"The client fell back to {ProtocolWords(final.Connection?.SelectedProtocol)} after {codes} (attempt {attempts.Count} of {attempts.Count}): {finalSummary}"
            : ok
                ? $"The client got through on attempt {attempts.Count} after {attempts.Count - 1} failed attempt(s): {finalSummary}"
                : $"All {attempts.Count} attempts failed; the last: {finalSummary}";

        IReadOnlyList<Finding> findings = [];
        ClientVerdict? verdict = null;
        IReadOnlyList<string> inferred = [];
        if (final.Connection is { } last)
        {
            var (facts, inf) = CaptureSecurityFacts.From(last, earlier);
            findings = FindingRules.Evaluate(facts);
            verdict = ClientCompatibility.Evaluate(CaptureSecurityFacts.DefaultProfile, facts);
            inferred = inf;
        }

        return new AttemptChain(id, Address(attempts[0].Client), final.Server, indexes, ok, fellBack, summary, findings, verdict, inferred);
    }

    /// <summary>The protocol a client ended up with, in words (MS-RDPBCGR 2.2.1.2.1 selectedProtocol).</summary>
    private static string ProtocolWords(SecurityProtocols? protocol) => protocol switch
    {
        null or SecurityProtocols.Rdp => "Standard RDP Security",
        SecurityProtocols.Ssl => "TLS (PROTOCOL_SSL)",
        SecurityProtocols.Hybrid => "CredSSP (PROTOCOL_HYBRID)",
        SecurityProtocols.HybridEx => "CredSSP with Early User Authorization (PROTOCOL_HYBRID_EX)",
        { } p => string.Join("|", p.ToReportNames()),
    };

    /// <summary>One copy of each address text (a capture has few clients and servers, many connections); bounded.</summary>
    private string Share(string text)
    {
        if (_texts.TryGetValue(text, out var shared))
        {
            return shared;
        }

        if (_texts.Count < MaxSharedTexts)
        {
            _texts[text] = text;
        }

        return text;
    }

    /// <summary>"10.0.0.1:50000" → "10.0.0.1", "[::1]:50000" → "[::1]": a client's source port changes per connection.</summary>
    internal static string Address(string endpoint)
    {
        int colon = endpoint.LastIndexOf(':');
        return colon > 0 ? endpoint[..colon] : endpoint;
    }

    /// <summary>
    /// Compares the client by address alone (the text before the last ':'), so that each entry keeps the connection's
    /// own endpoint text instead of a copy of its address.
    /// </summary>
    private sealed class SameAddress : IEqualityComparer<(string Client, string Server)>
    {
        public static readonly SameAddress Instance = new();

        public bool Equals((string Client, string Server) x, (string Client, string Server) y) =>
            string.Equals(x.Server, y.Server, StringComparison.Ordinal) && AddressOf(x.Client).SequenceEqual(AddressOf(y.Client));

        public int GetHashCode((string Client, string Server) key) =>
            HashCode.Combine(string.GetHashCode(AddressOf(key.Client), StringComparison.Ordinal), StringComparer.Ordinal.GetHashCode(key.Server));

        private static ReadOnlySpan<char> AddressOf(string endpoint)
        {
            int colon = endpoint.LastIndexOf(':');
            return colon > 0 ? endpoint.AsSpan(0, colon) : endpoint;
        }
    }

    /// <param name="Client">The client's endpoint (address:port) as the connection has it.</param>
    private readonly record struct Entry(long FirstFrame, int File, string Client, string Server, long Start, long End, bool Ok, bool Refused, AnalyzedConnection? Connection);
}
