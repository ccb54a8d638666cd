using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using RdpProbe.Diagnosis;

namespace RdpProbe.Probe;

/// <summary>One read or write as it happened on the socket: when (Stopwatch timestamp), which way, how many bytes.</summary>
internal readonly record struct WireEvent(Direction Direction, long Timestamp, int Length);

/// <summary>
/// Wraps the socket stream and stamps every write and every arrival with a Stopwatch time, so phase timings are the
/// moments bytes left and arrived, not the time spent inside a library call. A receive pump keeps
/// one read pending on the socket at all times, so an answer is stamped when it arrives even while the client is still
/// busy (BouncyCastle's key exchange, the JIT). Bounded: at most <see cref="MaxQueuedChunks"/> chunks of at most
/// <see cref="ChunkSize"/> bytes wait for the consumer.
/// </summary>
internal sealed class RecordingStream : Stream
{
    public const int ChunkSize = 16 * 1024;
    public const int MaxQueuedChunks = 64;

    private readonly Stream inner;
    private readonly List<WireEvent> events = [];
    private readonly Channel<Chunk> chunks = Channel.CreateBounded<Chunk>(new BoundedChannelOptions(MaxQueuedChunks) { SingleReader = true, SingleWriter = true });
    private readonly CancellationTokenSource lifetime = new();
    private readonly Task pump;
    private Chunk? current;
    private int currentOffset;
    private byte[]? pushedBack;
    private int pushedBackOffset;

    public RecordingStream(Stream inner)
    {
        this.inner = inner;
        pump = Task.Run(PumpAsync);
    }

    /// <summary>Optional tap on the bytes with their wire time (the TLS phase logs handshake messages through it).
    /// Received bytes are tapped from the pump when they arrive.</summary>
    public Action<Direction, ReadOnlyMemory<byte>, long>? Tap { get; set; }

    public long BytesRead { get; private set; }

    public long BytesWritten { get; private set; }

    /// <summary>Arrival time of the chunk the last read took bytes from.</summary>
    public long LastArrival { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <summary>A copy of the events so far (the pump adds to them from another thread).</summary>
    public WireEvent[] SnapshotEvents()
    {
        lock (events)
        {
            return [.. events];
        }
    }

    private void AddEvent(WireEvent e)
    {
        lock (events)
        {
            events.Add(e);
        }
    }

    private async Task PumpAsync()
    {
        byte[] buffer = new byte[ChunkSize];
        try
        {
            while (true)
            {
                int n = await inner.ReadAsync(buffer, lifetime.Token).ConfigureAwait(false);
                long at = Stopwatch.GetTimestamp();
                AddEvent(new WireEvent(Direction.Received, at, n));
                if (n == 0)
                {
                    await chunks.Writer.WriteAsync(new Chunk([], at, null), lifetime.Token).ConfigureAwait(false);
                    return;
                }

                byte[] data = buffer.AsSpan(0, n).ToArray();
                Tap?.Invoke(Direction.Received, data, at);
                await chunks.Writer.WriteAsync(new Chunk(data, at, null), lifetime.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (lifetime.IsCancellationRequested)
        {
            chunks.Writer.TryComplete();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or System.Net.Sockets.SocketException)
        {
            // A reset or a broken socket: hand it to the reader in order, after the bytes that came before it.
            await chunks.Writer.WriteAsync(new Chunk([], Stopwatch.GetTimestamp(), ExceptionDispatchInfo.Capture(ex)), CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Hands bytes a parser read past the end of its message back to the stream: the next reads return them first.
    /// A server may send its next PDU in the same segment as the last one (xrdp's Connection Confirm and, right behind
    /// it, a cleartext Disconnect Provider Ultimatum): they belong to the next phase, not to the one that read them.
    /// </summary>
    public void PushBack(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }

        if (pushedBack is not null)
        {
            throw new InvalidOperationException("bytes pushed back earlier have not been read yet");
        }

        pushedBack = data.ToArray();
        pushedBackOffset = 0;
        BytesRead -= data.Length;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (pushedBack is { } back)
        {
            int taken = Math.Min(buffer.Length, back.Length - pushedBackOffset);
            back.AsSpan(pushedBackOffset, taken).CopyTo(buffer.Span);
            pushedBackOffset += taken;
            if (pushedBackOffset >= back.Length)
            {
                pushedBack = null;
            }

            BytesRead += taken;
            return taken;
        }

        if (current is null || currentOffset >= current.Data.Length)
        {
            if (current is { Data.Length: 0, Error: null })
            {
                return 0; // end of stream already seen
            }

            if (!await chunks.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false) || !chunks.Reader.TryRead(out current))
            {
                current = new Chunk([], Stopwatch.GetTimestamp(), null);
                return 0;
            }

            currentOffset = 0;
            LastArrival = current.At;
            if (current.Error is { } error)
            {
                current = new Chunk([], current.At, null);
                error.Throw();
            }

            if (current.Data.Length == 0)
            {
                return 0;
            }
        }

        int n = Math.Min(buffer.Length, current.Data.Length - currentOffset);
        current.Data.AsSpan(currentOffset, n).CopyTo(buffer.Span);
        currentOffset += n;
        BytesRead += n;
        return n;
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        long at = Stopwatch.GetTimestamp();
        Tap?.Invoke(Direction.Sent, buffer, at);
        AddEvent(new WireEvent(Direction.Sent, at, buffer.Length));
        BytesWritten += buffer.Length;
        await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    // The probe is async all the way; synchronous I/O on the socket would block a thread past the phase timeout.
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("use ReadAsync");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("use WriteAsync");

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            lifetime.Cancel();
            inner.Dispose();
            try
            {
                pump.Wait(TimeSpan.FromSeconds(1));
            }
            catch (AggregateException)
            {
                // The pump only ends; its errors were handed to the reader.
            }

            lifetime.Dispose();
        }

        base.Dispose(disposing);
    }

    private sealed record Chunk(byte[] Data, long At, ExceptionDispatchInfo? Error);
}

/// <summary>
/// Times one phase from the wire events of a <see cref="RecordingStream"/>: wire time (from each flight the client sent
/// to the first bytes that came back: network plus server), the client's own time (the rest of the wall time), and
/// round trips (send→receive turns).
/// </summary>
internal sealed class PhaseClock
{
    private readonly RecordingStream? stream;
    private readonly long start;

    public PhaseClock(RecordingStream? stream)
    {
        this.stream = stream;
        start = Stopwatch.GetTimestamp();
    }

    public long Start => start;

    /// <summary>Milliseconds since the phase began.</summary>
    public double ElapsedMs => Stopwatch.GetElapsedTime(start).TotalMilliseconds;

    public double MsSinceStart(long timestamp) => Stopwatch.GetElapsedTime(start, timestamp).TotalMilliseconds;

    /// <summary>Fills Ms (wire), WallMs, ClientMs and RoundTrips of <paramref name="record"/>.</summary>
    public void Stop(PhaseRecord record, long? endAt = null)
    {
        long end = endAt ?? Stopwatch.GetTimestamp();
        double wall = Stopwatch.GetElapsedTime(start, end).TotalMilliseconds;
        double wire = 0;
        int roundTrips = 0;
        if (stream is not null)
        {
            long? waitingSince = null;
            foreach (var e in stream.SnapshotEvents())
            {
                if (e.Timestamp < start || e.Timestamp > end)
                {
                    continue;
                }

                if (e.Direction == Direction.Sent)
                {
                    waitingSince ??= e.Timestamp;
                }
                else if (waitingSince is { } since)
                {
                    wire += Stopwatch.GetElapsedTime(since, e.Timestamp).TotalMilliseconds;
                    roundTrips++;
                    waitingSince = null;
                }
            }

            // Still waiting when the phase ended (timeout, silence): that wait was on the wire too.
            if (waitingSince is { } open)
            {
                wire += Stopwatch.GetElapsedTime(open, end).TotalMilliseconds;
            }
        }

        wire = Math.Min(wire, wall);
        record.Ms = Round(wire);
        record.WallMs = Round(wall);
        record.ClientMs = Round(wall - wire);
        record.RoundTrips = roundTrips;
    }

    public static double Round(double ms) => Math.Round(ms, 3);
}
