using System.Diagnostics;
using System.Threading.Channels;

namespace RdpProbe.Relay;

/// <summary>Added latency for one direction: a fixed delay plus uniform jitter in [-jitter, +jitter], and optional loss.</summary>
public sealed record DelayProfile(TimeSpan Delay, TimeSpan Jitter, double Loss = 0)
{
    public static readonly DelayProfile None = new(TimeSpan.Zero, TimeSpan.Zero);

    public override string ToString() => $"{Delay.TotalMilliseconds:0.#} ms ± {Jitter.TotalMilliseconds:0.#} ms" + (Loss > 0 ? $", loss {Loss:P1}" : "");
}

/// <summary>
/// One direction of a relay: chunks go in, come out after their delay. Kernel netem is not available on the lab
/// machines, so this is the user-space stand-in. Bounded: at most <c>maxBytes</c> queued; a TCP caller waits (back
/// pressure, like a full socket buffer), a UDP caller drops (like a router queue).
/// </summary>
public sealed class DelayLine : IAsyncDisposable
{
    private readonly DelayProfile _profile;
    private readonly bool _keepOrder;
    private readonly long _maxBytes;
    private readonly Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> _deliver;
    private readonly Channel<(long Due, byte[] Data)> _queue;
    private readonly SemaphoreSlim _space = new(0);
    private readonly Random _random;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _pump;
    private readonly object _gate = new();
    private long _queuedBytes;
    private long _lastDue;

    /// <param name="keepOrder">TCP: a chunk never overtakes an earlier one (jitter only stretches gaps). UDP: datagrams may reorder.</param>
    public DelayLine(DelayProfile profile, bool keepOrder, long maxBytes, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> deliver, int? seed = null)
    {
        _profile = profile;
        _keepOrder = keepOrder;
        _maxBytes = Math.Max(maxBytes, 64 * 1024);
        _deliver = deliver;
        _random = seed is { } s ? new Random(s) : new Random();
        // Unbounded channel, bounded by bytes below; with reordering allowed the pump takes the earliest due item.
        _queue = Channel.CreateUnbounded<(long, byte[])>(new UnboundedChannelOptions { SingleReader = true });
        _pump = Task.Run(PumpAsync);
    }

    public long Dropped { get; private set; }

    public long Forwarded { get; private set; }

    /// <summary>Queues a chunk. Returns false when it was dropped (loss, or a full queue with <paramref name="wait"/> false).</summary>
    public async ValueTask<bool> SendAsync(ReadOnlyMemory<byte> data, bool wait, CancellationToken cancellationToken)
    {
        if (_profile.Loss > 0 && NextDouble() < _profile.Loss)
        {
            Dropped++;
            return false;
        }

        while (true)
        {
            lock (_gate)
            {
                if (_queuedBytes + data.Length <= _maxBytes || _queuedBytes == 0)
                {
                    _queuedBytes += data.Length;
                    long now = Stopwatch.GetTimestamp();
                    double jitterMs = _profile.Jitter > TimeSpan.Zero ? ((NextDouble() * 2) - 1) * _profile.Jitter.TotalMilliseconds : 0;
                    double ms = Math.Max(0, _profile.Delay.TotalMilliseconds + jitterMs);
                    long due = now + (long)(ms * Stopwatch.Frequency / 1000);
                    if (_keepOrder)
                    {
                        due = Math.Max(due, _lastDue);
                    }

                    _lastDue = due;
                    _queue.Writer.TryWrite((due, data.ToArray()));
                    return true;
                }
            }

            if (!wait)
            {
                Dropped++;
                return false;
            }

            await _space.WaitAsync(TimeSpan.FromMilliseconds(50), cancellationToken).ConfigureAwait(false);
        }
    }

    private double NextDouble()
    {
        lock (_random)
        {
            return _random.NextDouble();
        }
    }

    private async Task PumpAsync()
    {
        var pending = new PriorityQueue<byte[], (long Due, long Seq)>();
        long seq = 0;
        var token = _stop.Token;
        try
        {
            while (!token.IsCancellationRequested)
            {
                while (_queue.Reader.TryRead(out var item))
                {
                    pending.Enqueue(item.Data, (item.Due, seq++));
                }

                if (pending.Count == 0)
                {
                    await _queue.Reader.WaitToReadAsync(token).ConfigureAwait(false);
                    continue;
                }

                pending.TryPeek(out _, out var head);
                long wait = head.Due - Stopwatch.GetTimestamp();
                if (wait > 0)
                {
                    // Wake early for a new item (it may be due sooner when reordering is allowed).
                    var waitMs = TimeSpan.FromMilliseconds(wait * 1000.0 / Stopwatch.Frequency);
                    using var early = CancellationTokenSource.CreateLinkedTokenSource(token);
                    var readable = _queue.Reader.WaitToReadAsync(early.Token).AsTask();
                    var delay = Task.Delay(waitMs, early.Token);
                    await Task.WhenAny(readable, delay).ConfigureAwait(false);
                    early.Cancel();
                    try
                    {
                        await Task.WhenAll(readable, delay).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                    }

                    continue;
                }

                var data = pending.Dequeue();
                lock (_gate)
                {
                    _queuedBytes -= data.Length;
                }

                if (_space.CurrentCount == 0)
                {
                    _space.Release();
                }
                await _deliver(data, token).ConfigureAwait(false);
                Forwarded++;
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
    }

    /// <summary>Waits until everything queued went out (bounded by <paramref name="timeout"/>).</summary>
    public async Task DrainAsync(TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (Interlocked.Read(ref _queuedBytes) > 0 && Stopwatch.GetTimestamp() < deadline && !_pump.IsCompleted)
        {
            await Task.Delay(5).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        try
        {
            await _pump.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            // The peer went away while data was in flight: nothing left to deliver.
        }

        _stop.Dispose();
        _space.Dispose();
    }
}
