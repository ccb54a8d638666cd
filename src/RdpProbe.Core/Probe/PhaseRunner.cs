using RdpProbe.Diagnosis;

namespace RdpProbe.Probe;

/// <summary>
/// Runs one phase body: under its own timeout, timed (wire, wall and client ms from the connection's recording stream),
/// and with how it ended written to its <see cref="PhaseRecord"/>. Every phase of the probe, the connection sequence and
/// the extra checks alike, runs through here. The user's token (Ctrl+C) is linked in but is never recorded as a
/// timeout: it propagates as <see cref="OperationCanceledException"/> (exit 130).
/// </summary>
internal sealed class PhaseRunner(TimeSpan phaseTimeout, CancellationToken userToken)
{
    /// <summary>The time limit of each phase on its own.</summary>
    public TimeSpan PhaseTimeout { get; } = phaseTimeout;

    /// <summary>The caller's token: cancelling it cancels the probe, it never ends a phase as a timeout.</summary>
    public CancellationToken UserToken { get; } = userToken;

    /// <summary>
    /// Creates the record of <paramref name="phase"/>, appends it to <paramref name="phases"/> (a report lists its phases
    /// in the order they started) and runs <paramref name="body"/> under the per-phase timeout.
    /// </summary>
    public async Task<PhaseRecord> RunAsync(Phase phase, List<PhaseRecord> phases, RecordingStream? wire, Func<PhaseContext, Task> body)
    {
        var record = new PhaseRecord(phase);
        phases.Add(record);
        await RunAsync(record, wire, PhaseTimeout, body).ConfigureAwait(false);
        return record;
    }

    /// <summary>Runs <paramref name="body"/> under the per-phase timeout and records it in <paramref name="record"/>.</summary>
    /// <param name="wire">The connection's stream the phase talks over (through TLS or not), for the wire time; null when
    /// the phase has its own connections (dns, tcp, the extra checks).</param>
    public Task RunAsync(PhaseRecord record, RecordingStream? wire, Func<PhaseContext, Task> body)
        => RunAsync(record, wire, PhaseTimeout, body);

    /// <summary>Runs <paramref name="body"/> under <paramref name="timeout"/> (the extra checks' budgets).</summary>
    public async Task RunAsync(PhaseRecord record, RecordingStream? wire, TimeSpan timeout, Func<PhaseContext, Task> body)
    {
        var clock = new PhaseClock(wire);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(UserToken);
        cts.CancelAfter(timeout);
        var context = new PhaseContext(record, clock, cts.Token);
        try
        {
            await body(context).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (UserToken.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException) when (record.Status != PhaseStatus.Failed)
        {
            // The phase's own timeout, described where the phase stopped when it knows.
            var (code, detail) = context.OnTimeout?.Invoke() ?? (null, $"no answer within {Describe(timeout)}");
            record.Fail(Ending.Timeout, code, detail);
        }
        catch (Exception ex) when (record.Status != PhaseStatus.Failed && TransportErrors.Classify(ex, context.Doing, UserToken) is { } failure)
        {
            failure.ApplyTo(record);
        }
        catch (Exception ex) when (record.Status == PhaseStatus.Failed && (ex is OperationCanceledException || TransportErrors.Classify(ex) is not null))
        {
            // The phase already recorded how it ended (a refusal with the server's code); what broke afterwards is a
            // consequence, and the first, more precise ending stays.
        }
        finally
        {
            Stop(record, clock, context);
        }

        // Phases that record their own failures (the session phases) may have seen the user's Ctrl+C as a timeout.
        UserToken.ThrowIfCancellationRequested();
    }

    private static void Stop(PhaseRecord record, PhaseClock clock, PhaseContext context)
    {
        clock.Stop(record, context.EndAt);
        if (context.WireMs is { } wire && record.WallMs is { } wall)
        {
            record.Ms = PhaseClock.Round(Math.Min(wire, wall));
            record.ClientMs = PhaseClock.Round(wall - record.Ms);
            record.RoundTrips = 1;
        }
        else if (context.AllWire)
        {
            record.Ms = record.WallMs ?? record.Ms;
            record.ClientMs = 0;
        }
    }

    /// <summary>A duration for a detail line: "5 s", "1.5 s", "300 ms".</summary>
    public static string Describe(TimeSpan t) => t.TotalSeconds >= 1 ? $"{t.TotalSeconds:0.#} s" : $"{t.TotalMilliseconds:0} ms";
}

/// <summary>What a phase body gets from the runner (its record, clock and token) and can tell it back.</summary>
internal sealed class PhaseContext(PhaseRecord record, PhaseClock clock, CancellationToken token)
{
    public PhaseRecord Record { get; } = record;

    public PhaseClock Clock { get; } = clock;

    /// <summary>The phase's token: its timeout linked with the user's cancellation.</summary>
    public CancellationToken Token { get; } = token;

    /// <summary>How to describe a timeout where the phase stopped (code and detail); null gives "no answer within …".</summary>
    public Func<(Code? Code, string Detail)>? OnTimeout { get; set; }

    /// <summary>What the phase is doing, appended to a transport failure's detail.</summary>
    public string? Doing { get; set; }

    /// <summary>The whole phase is waiting on the network (dns, tcp, the extra checks' own connections).</summary>
    public bool AllWire { get; set; }

    /// <summary>When the phase's work ended, if earlier than the runner's own end (bookkeeping after it is not the phase's).</summary>
    public long? EndAt { get; set; }

    /// <summary>A wire time measured another way (the kernel's RTT for the TCP handshake).</summary>
    public double? WireMs { get; set; }
}
