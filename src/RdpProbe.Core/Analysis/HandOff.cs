namespace RdpProbe.Analysis;

/// <summary>
/// A bounded queue from one producer thread to one consumer thread whose waits block at once instead of spinning.
/// The analysis runs three threads (capture reader, flow tracker, report writer) on as few as two cores: a thread
/// that spins while it waits (as <c>BlockingCollection</c>'s <c>SemaphoreSlim</c> does) takes the core another stage
/// needs. Here a waiting side sleeps on the monitor and is woken only when it is waiting, so a hand-over costs a lock
/// and, at most, one wake-up. With <paramref name="wakeBatch"/> above one a waiting consumer is woken only once that
/// many items wait (or the queue is full or completed), and otherwise looks again every <see cref="StragglerWaitMs"/>:
/// one wake-up per batch instead of one per item, an item waiting at most that long.
/// <see cref="Complete"/> ends it: the consumer drains what is left, then gets false.
/// </summary>
internal sealed class HandOff<T>(int capacity, int wakeBatch = 1)
{
    /// <summary>How long a consumer with <c>wakeBatch</c> above one sleeps before it takes fewer items than a batch.</summary>
    public const int StragglerWaitMs = 50;

    private readonly Queue<T> _items = new(capacity);
    private readonly object _gate = new();
    private bool _completed;
    private bool _consumerWaiting;
    private bool _producerWaiting;

    /// <summary>Adds <paramref name="item"/>, waiting while the queue is full.</summary>
    /// <exception cref="InvalidOperationException">The queue was completed (the consumer stopped).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while waiting.</exception>
    public void Add(T item, CancellationToken cancellationToken = default)
    {
        using var registration = cancellationToken.CanBeCanceled ? cancellationToken.Register(WakeAll) : default;
        lock (_gate)
        {
            while (_items.Count >= capacity && !_completed)
            {
                cancellationToken.ThrowIfCancellationRequested();
                _producerWaiting = true;
                Monitor.Wait(_gate);
                _producerWaiting = false;
            }

            cancellationToken.ThrowIfCancellationRequested();
            if (_completed)
            {
                throw new InvalidOperationException("the hand-over was completed");
            }

            _items.Enqueue(item);
            if (_consumerWaiting && (_items.Count >= wakeBatch || _items.Count >= capacity))
            {
                Monitor.Pulse(_gate);
            }
        }
    }

    /// <summary>Takes the oldest item, waiting while the queue is empty; false once it is completed and drained.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while waiting.</exception>
    public bool TryTake(out T item, CancellationToken cancellationToken = default)
    {
        using var registration = cancellationToken.CanBeCanceled ? cancellationToken.Register(WakeAll) : default;
        lock (_gate)
        {
            while (_items.Count == 0 && !_completed)
            {
                cancellationToken.ThrowIfCancellationRequested();
                _consumerWaiting = true;
                Monitor.Wait(_gate, wakeBatch > 1 ? StragglerWaitMs : Timeout.Infinite);
                _consumerWaiting = false;
            }

            if (_items.Count == 0)
            {
                item = default!;
                return false;
            }

            item = _items.Dequeue();
            if (_producerWaiting)
            {
                Monitor.Pulse(_gate);
            }

            return true;
        }
    }

    /// <summary>No more items: a waiting consumer drains the rest and stops; a waiting or later producer gets an exception.</summary>
    public void Complete()
    {
        lock (_gate)
        {
            _completed = true;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Items waiting now (for tests: the bound holds).</summary>
    internal int CountForTests
    {
        get
        {
            lock (_gate)
            {
                return _items.Count;
            }
        }
    }

    public bool IsCompleted
    {
        get
        {
            lock (_gate)
            {
                return _completed;
            }
        }
    }

    private void WakeAll()
    {
        lock (_gate)
        {
            Monitor.PulseAll(_gate);
        }
    }
}
