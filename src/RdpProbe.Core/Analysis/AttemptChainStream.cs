using RdpProbe.Protocol;

namespace RdpProbe.Analysis;

/// <summary>One attempt of a streamed chain: the connection's index in the order the connections were written and its negotiation facts.</summary>
public readonly record struct ChainAttempt(
    int Connection,
    int File,
    int FirstFrame,
    int LastFrame,
    SecurityProtocols? RequestedProtocols,
    SecurityProtocols? SelectedProtocol,
    NegotiationFailureCode? FailureCode,
    bool Ok,
    bool SupersededByFallback);

/// <summary>A finished attempt chain of the streamed analysis: the chain's judgement and its attempts, oldest first.</summary>
public sealed record StreamedChain(AttemptChain Chain, IReadOnlyList<ChainAttempt> Attempts);

/// <summary>
/// The attempt chains of <see cref="AttemptChains"/>, grouped while the connections stream out of the analyzer (in
/// the order they end) instead of once over every connection at the end. The rule is the same: a connection joins
/// the chain of the same client address's previous failed connection to the same server when it starts no earlier
/// than that one and no later than the window after that one ended; a successful connection ends its chain. State is
/// kept only for chains whose last attempt failed and that can still grow: a chain is finished when a connection
/// gets through, when another connection of the same client and server starts too late to join it, or when the
/// window after its last attempt has passed and no flow still live started inside it (<see cref="AnalyzerClock"/>).
/// Chain ids count in the order chains finish.
/// </summary>
public sealed class AttemptChainStream
{
    private readonly long _windowMicros;
    private readonly Action<StreamedChain> _onChain;
    private readonly Dictionary<(string Client, string Server, int File), Open> _open = [];
    private readonly Queue<(Open Chain, int Length)> _byTail = new();

    public AttemptChainStream(Action<StreamedChain> onChain, TimeSpan? window = null)
    {
        _onChain = onChain;
        _windowMicros = (long)(window ?? AttemptChains.DefaultWindow).TotalMicroseconds;
    }

    /// <summary>Chains of two or more connections finished so far.</summary>
    public int Chains { get; private set; }

    /// <summary>Refused attempts replaced by a successful fallback so far (not counted as failed: exit code 20).</summary>
    public int Superseded { get; private set; }

    /// <summary>Chains still open (their last attempt failed and their window may still admit a connection).</summary>
    public int OpenChains => _open.Count;

    /// <summary>One finished connection, <paramref name="index"/> its position in the written report.</summary>
    public void Add(AnalyzedConnection c, int index, AnalyzerClock clock)
    {
        ArgumentNullException.ThrowIfNull(c);
        ForgetPassed(clock);
        bool ok = c.Verdict.Ok;
        string client = AttemptChains.Address(c.Client);
        var key = (client, c.Server, c.FileIndex);
        Open? chain = null;
        if (_open.Remove(key, out var tail))
        {
            var last = tail.Members[^1];
            if (c.StartMicros - last.End <= _windowMicros && c.StartMicros >= last.Start)
            {
                chain = tail;
            }
            else
            {
                Finish(tail);
            }
        }

        if (chain is null && ok)
        {
            return;
        }

        chain ??= new Open(key);
        chain.Members.Add(new Member(c.FirstFrame, c.FileIndex, c.LastFrame, c.Client, c.Server, c.StartMicros, c.EndMicros, ok, c.FailureCode is not null,
            AttemptChains.Kept(c), index, c.RequestedProtocols, c.SelectedProtocol, c.FailureCode));
        if (ok)
        {
            Finish(chain);
        }
        else
        {
            _open[key] = chain;
            _byTail.Enqueue((chain, chain.Members.Count));
        }
    }

    /// <summary>The end of the capture: every open chain is finished.</summary>
    public void Flush()
    {
        while (_byTail.TryDequeue(out var item))
        {
            if (IsCurrent(item))
            {
                _open.Remove(item.Chain.Key);
                Finish(item.Chain);
            }
        }

        _open.Clear();
    }

    /// <summary>
    /// Finishes the open chains whose window has passed: the capture clock is past it and every flow still live
    /// started after it, so no connection can join them any more. Oldest tails first (the order they were added).
    /// </summary>
    private void ForgetPassed(AnalyzerClock clock)
    {
        long horizon = Math.Min(clock.NowMicros, clock.OldestLiveStartMicros);
        while (_byTail.TryPeek(out var item))
        {
            if (!IsCurrent(item))
            {
                _byTail.Dequeue();
                continue;
            }

            if (item.Chain.Members[^1].End + _windowMicros >= horizon)
            {
                break;
            }

            _byTail.Dequeue();
            _open.Remove(item.Chain.Key);
            Finish(item.Chain);
        }
    }

    /// <summary>The queued entry still names the chain's tail (it was neither extended nor finished since).</summary>
    private bool IsCurrent((Open Chain, int Length) item) =>
        !item.Chain.Finished && item.Chain.Members.Count == item.Length && _open.TryGetValue(item.Chain.Key, out var open) && ReferenceEquals(open, item.Chain);

    private void Finish(Open chain)
    {
        chain.Finished = true;
        var m = chain.Members;
        if (m.Count < 2)
        {
            return;
        }

        int id = ++Chains;
        bool ok = m[^1].Ok;
        var attempts = new ChainAttempt[m.Count];
        var indexes = new List<int>(m.Count);
        var described = new List<(int, int, string, string, long, long, bool, bool, AnalyzedConnection?)>(m.Count);
        for (int k = 0; k < m.Count; k++)
        {
            var a = m[k];
            bool superseded = ok && k < m.Count - 1 && a.Refused;
            if (superseded)
            {
                Superseded++;
            }

            attempts[k] = new ChainAttempt(a.Index, a.File, a.FirstFrame, a.LastFrame, a.Requested, a.Selected, a.Failure, a.Ok, superseded);
            indexes.Add(a.Index);
            described.Add((a.FirstFrame, a.File, a.Client, a.Server, a.Start, a.End, a.Ok, a.Refused, a.Kept));
        }

        _onChain(new StreamedChain(AttemptChains.Describe(id, indexes, described), attempts));
    }

    private sealed class Open((string Client, string Server, int File) key)
    {
        public (string Client, string Server, int File) Key { get; } = key;

        public List<Member> Members { get; } = new(2);

        public bool Finished { get; set; }
    }

    private readonly record struct Member(
        int FirstFrame,
        int File,
        int LastFrame,
        string Client,
        string Server,
        long Start,
        long End,
        bool Ok,
        bool Refused,
        AnalyzedConnection? Kept,
        int Index,
        SecurityProtocols? Requested,
        SecurityProtocols? Selected,
        NegotiationFailureCode? Failure);
}
