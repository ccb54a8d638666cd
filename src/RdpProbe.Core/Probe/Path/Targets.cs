using System.Globalization;
using System.Net;

namespace RdpProbe.Probe.NetPath;

/// <summary>One line of a targets file.</summary>
public sealed record TargetSpec(string Host, int Port, int Line)
{
    public override string ToString() => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}

/// <summary>A line that could not be read, with its number, for a one-line error.</summary>
public sealed record TargetError(int Line, string Text, string Reason);

public sealed record TargetList(IReadOnlyList<TargetSpec> Targets, IReadOnlyList<TargetError> Errors);

/// <summary>The result of one target: its report, or the exception that escaped the probe (the run goes on).</summary>
public sealed record TargetOutcome<T>(TargetSpec Target, T? Report, string? Error, double Ms);

/// <summary>
/// --targets FILE (issue 5 "many targets"): host[:port] per line, '#' comments, run with a concurrency limit on async
/// I/O (a SemaphoreSlim, no thread per target), one JSON line per target written as each one finishes.
/// </summary>
public static class Targets
{
    public const int MaxTargets = 100_000;
    public const int MaxConcurrency = 256;
    private const int MaxLineLength = 1024;

    public static TargetList Parse(TextReader reader, int defaultPort = 3389)
    {
        var targets = new List<TargetSpec>();
        var errors = new List<TargetError>();
        int number = 0;
        while (reader.ReadLine() is { } raw)
        {
            number++;
            if (raw.Length > MaxLineLength)
            {
                errors.Add(new TargetError(number, raw[..40] + "…", "line too long"));
                continue;
            }

            string line = raw;
            int hash = line.IndexOf('#', StringComparison.Ordinal);
            if (hash >= 0)
            {
                line = line[..hash];
            }

            line = line.Trim();
            if (line.Length == 0)
            {
                continue;
            }

            if (targets.Count >= MaxTargets)
            {
                errors.Add(new TargetError(number, line, $"more than {MaxTargets} targets"));
                break;
            }

            if (TryParseTarget(line, defaultPort, out string host, out int port, out string? reason))
            {
                targets.Add(new TargetSpec(host, port, number));
            }
            else
            {
                errors.Add(new TargetError(number, line, reason!));
            }
        }

        return new TargetList(targets, errors);
    }

    public static TargetList ParseFile(string path, int defaultPort = 3389)
    {
        using var reader = new StreamReader(path);
        return Parse(reader, defaultPort);
    }

    /// <summary>host, host:port, IPv4, [IPv6], [IPv6]:port or a bare IPv6 address (more than one ':' and no brackets).</summary>
    public static bool TryParseTarget(string text, int defaultPort, out string host, out int port, out string? reason)
    {
        host = string.Empty;
        port = defaultPort;
        reason = null;
        if (text.Any(char.IsWhiteSpace))
        {
            reason = "one host[:port] per line";
            return false;
        }

        string? portText = null;
        if (text.StartsWith('['))
        {
            int close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                reason = "missing ']'";
                return false;
            }

            host = text[1..close];
            string rest = text[(close + 1)..];
            if (rest.Length > 0)
            {
                if (rest[0] != ':')
                {
                    reason = "expected ':' after ']'";
                    return false;
                }

                portText = rest[1..];
            }

            if (!IPAddress.TryParse(host, out _))
            {
                reason = "not an IPv6 address inside [ ]";
                return false;
            }
        }
        else if (text.Count(c => c == ':') > 1)
        {
            host = text;
            if (!IPAddress.TryParse(host, out _))
            {
                reason = "not an address (write IPv6 with a port as [addr]:port)";
                return false;
            }
        }
        else
        {
            int colon = text.IndexOf(':', StringComparison.Ordinal);
            host = colon < 0 ? text : text[..colon];
            portText = colon < 0 ? null : text[(colon + 1)..];
            if (host.Length == 0 || Uri.CheckHostName(host) == UriHostNameType.Unknown)
            {
                reason = "not a host name or address";
                return false;
            }
        }

        if (portText is not null)
        {
            if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
            {
                reason = "port must be 1..65535";
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Runs <paramref name="probe"/> for every target, at most <paramref name="concurrency"/> at a time, and writes one
    /// JSON line per target (<paramref name="toJsonLine"/>) to <paramref name="jsonLines"/> as it finishes. Results come
    /// back in file order. A probe that throws is recorded as that target's error; cancellation stops the run.
    /// </summary>
    public static async Task<IReadOnlyList<TargetOutcome<T>>> RunAsync<T>(
        IReadOnlyList<TargetSpec> targets,
        Func<TargetSpec, CancellationToken, Task<T>> probe,
        int concurrency,
        TextWriter? jsonLines = null,
        Func<TargetOutcome<T>, string>? toJsonLine = null,
        IProgress<(int Done, int Total)>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(probe);
        if (concurrency is < 1 or > MaxConcurrency)
        {
            throw new ArgumentOutOfRangeException(nameof(concurrency), $"concurrency must be 1..{MaxConcurrency}");
        }

        if (jsonLines is not null && toJsonLine is null)
        {
            throw new ArgumentException("JSON Lines output needs a serialiser", nameof(toJsonLine));
        }

        var results = new TargetOutcome<T>[targets.Count];
        using var gate = new SemaphoreSlim(concurrency, concurrency);
        var writeLock = new SemaphoreSlim(1, 1);
        int done = 0;

        async Task RunOne(int index)
        {
            // Wait for a slot before doing anything: no more than `concurrency` probes exist at once.
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var target = targets[index];
                long start = System.Diagnostics.Stopwatch.GetTimestamp();
                TargetOutcome<T> outcome;
                try
                {
                    var report = await probe(target, cancellationToken).ConfigureAwait(false);
                    outcome = new TargetOutcome<T>(target, report, null, System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    outcome = new TargetOutcome<T>(target, default, ex.Message, System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                }

                results[index] = outcome;
                if (jsonLines is not null)
                {
                    string line = toJsonLine!(outcome);
                    await writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
                    try
                    {
                        await jsonLines.WriteLineAsync(line.AsMemory(), cancellationToken).ConfigureAwait(false);
                        await jsonLines.FlushAsync(cancellationToken).ConfigureAwait(false);
                    }
                    finally
                    {
                        writeLock.Release();
                    }
                }

                progress?.Report((Interlocked.Increment(ref done), targets.Count));
            }
            finally
            {
                gate.Release();
            }
        }

        var tasks = new Task[targets.Count];
        for (int i = 0; i < targets.Count; i++)
        {
            tasks[i] = RunOne(i);
        }

        try
        {
            await Task.WhenAll(tasks).ConfigureAwait(false);
        }
        finally
        {
            writeLock.Dispose();
        }

        return results;
    }
}
