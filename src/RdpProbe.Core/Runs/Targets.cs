using RdpProbe.Probe;

namespace RdpProbe.Runs;

/// <summary>One line of a targets file: the target, parsed like the command line's, and its line number.</summary>
public sealed record TargetSpec(ProbeTarget Target, int Line)
{
    public override string ToString() => Target.ToString();
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

    public static TargetList Parse(TextReader reader)
    {
        var targets = new List<TargetSpec>();
        var errors = new List<TargetError>();
        int number = 0;
        var buffer = new char[MaxLineLength + 1];
        while (ReadBoundedLine(reader, buffer, out int length) is var ended && (ended != LineEnd.EndOfInput || length > 0))
        {
            number++;
            if (ended == LineEnd.TooLong)
            {
                // The rest may never end (/dev/zero, a binary file without a newline): stop here, holding one line's worth.
                errors.Add(new TargetError(number, new string(buffer, 0, 40) + "…", $"line too long (more than {MaxLineLength} characters)"));
                break;
            }

            string raw = new(buffer, 0, length);

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

            // The same parser as the command line's target: one grammar, one set of error messages.
            if (ProbeTarget.TryParse(line, out var target, out string? reason))
            {
                targets.Add(new TargetSpec(target!, number));
            }
            else
            {
                errors.Add(new TargetError(number, line, reason!));
            }
        }

        return new TargetList(targets, errors);
    }

    /// <summary>Reads a targets file; "-" is standard input.</summary>
    public static TargetList ParseFile(string path)
    {
        using var reader = path == "-" ? new StreamReader(Console.OpenStandardInput()) : new StreamReader(path);
        return Parse(reader);
    }

    private enum LineEnd
    {
        NewLine,
        EndOfInput,
        TooLong,
    }

    /// <summary>
    /// One line into <paramref name="buffer"/> without ever holding more than the buffer: TextReader.ReadLine would
    /// gather a line of any length (hundreds of megabytes from a file without a newline) before it could be refused.
    /// </summary>
    private static LineEnd ReadBoundedLine(TextReader reader, char[] buffer, out int length)
    {
        length = 0;
        while (true)
        {
            int c = reader.Read();
            if (c < 0)
            {
                return LineEnd.EndOfInput;
            }

            if (c == '\n')
            {
                if (length > 0 && buffer[length - 1] == '\r')
                {
                    length--;
                }

                return LineEnd.NewLine;
            }

            if (length == buffer.Length)
            {
                return LineEnd.TooLong;
            }

            buffer[length++] = (char)c;
        }
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
