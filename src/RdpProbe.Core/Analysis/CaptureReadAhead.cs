using System.Buffers.Binary;
using SharpPcap.LibPcap;

namespace RdpProbe.Analysis;

/// <summary>
/// Reading ahead: libpcap runs on a thread of its own ("rdpprobe capture reader") and copies each record into one of
/// a few fixed batches; the calling thread analyzes full batches in order. The analyzer sees exactly the frames, lengths
/// and timestamps of the direct read (<see cref="CaptureFileReader.Pump"/> drives both), so its results are the same;
/// only the file's reading (libpcap's read(2) calls and record parsing, about a third of a handshake-heavy analysis)
/// leaves the analysis thread. Memory is bounded: <see cref="Batches"/> batches of <see cref="BatchBytes"/> each, the
/// reader waiting for a free one when the analysis is behind (a frame larger than a batch gets a batch of its own size).
/// </summary>
internal static class CaptureReadAhead
{
    /// <summary>Bytes per batch: larger than libpcap's largest snapshot length (262,144) plus the record header.</summary>
    public const int BatchBytes = 512 * 1024;

    /// <summary>Batches in flight: one being filled, one being analyzed, the rest queued.</summary>
    public const int Batches = 4;

    /// <summary>Per record in a batch: timestamp (8 bytes), captured length (4), length on the wire (4), then the frame.</summary>
    private const int RecordHeader = 16;

    public static CaptureReadResult Read(string path, CaptureFileReaderDevice device, int linkType, CaptureAnalyzer analyzer,
        Action<long>? progress, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var full = new HandOff<Batch>(Batches + 1);
        var free = new HandOff<Batch>(Batches);
        for (int i = 0; i < Batches; i++)
        {
            free.Add(new Batch(BatchBytes));
        }

        CaptureReadResult? outcome = null;
        Exception? readerFailure = null;
        var reader = new Thread(() =>
        {
            try
            {
                var sink = new BatchSink(full, free, stop.Token);
                outcome = CaptureFileReader.Pump(path, device, ref sink);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // The analysis stopped first (cancelled, or it failed): nothing more to hand over.
            }
            catch (Exception e)
            {
                readerFailure = e;
            }
            finally
            {
                full.Complete();
            }
        })
        {
            IsBackground = true,
            Name = "rdpprobe capture reader",
        };
        reader.Start();

        try
        {
            var budget = new YoungGenerationBudget();
            long frames = 0;
            long position = 24;
            while (full.TryTake(out var batch, cancellationToken))
            {
                var data = batch.Data.AsSpan(0, batch.Length);
                while (data.Length > 0)
                {
                    long timestamp = BinaryPrimitives.ReadInt64LittleEndian(data);
                    int captured = BinaryPrimitives.ReadInt32LittleEndian(data[8..]);
                    int wire = BinaryPrimitives.ReadInt32LittleEndian(data[12..]);
                    analyzer.OnFrame(linkType, data.Slice(RecordHeader, captured), wire, timestamp);
                    data = data[(RecordHeader + captured)..];
                    frames++;
                    position += captured + CaptureFileReader.RecordOverhead;
                    if ((frames & (CaptureFileReader.ProgressEveryFrames - 1)) == 0)
                    {
                        progress?.Invoke(position);
                        cancellationToken.ThrowIfCancellationRequested();
                    }

                    if ((frames & (YoungGenerationBudget.EveryFrames - 1)) == 0)
                    {
                        budget.Check();
                    }
                }

                if (batch.Data.Length == BatchBytes)
                {
                    batch.Length = 0;
                    free.Add(batch);
                }
            }

            progress?.Invoke(position);
        }
        finally
        {
            // Whatever ended the analysis (the end of the file, cancellation, an exception from the analyzer or its
            // consumers), the reader thread stops before the device is closed.
            stop.Cancel();
            reader.Join();
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (readerFailure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(readerFailure);
        }

        return outcome ?? throw new InvalidOperationException("the capture reader stopped without an outcome");
    }

    private sealed class Batch(int size)
    {
        public byte[] Data { get; } = new byte[size];

        public int Length { get; set; }
    }

    /// <summary>The reader thread's side: records copied into the current batch, full batches handed over in order.</summary>
    private struct BatchSink(HandOff<Batch> full, HandOff<Batch> free, CancellationToken stop) : CaptureFileReader.IRecordSink
    {
        private Batch? _current;

        public void OnRecord(in PcapRecordHeader record, ReadOnlySpan<byte> frame)
        {
            int need = RecordHeader + frame.Length;
            if (_current is null || _current.Data.Length - _current.Length < need)
            {
                Hand();
                _current = need > BatchBytes ? new Batch(need) : free.TryTake(out var batch, stop) ? batch : throw new OperationCanceledException(stop);
            }

            var target = _current.Data.AsSpan(_current.Length, need);
            BinaryPrimitives.WriteInt64LittleEndian(target, record.TimestampMicros);
            BinaryPrimitives.WriteInt32LittleEndian(target[8..], frame.Length);
            BinaryPrimitives.WriteInt32LittleEndian(target[12..], (int)record.WireLength);
            frame.CopyTo(target[RecordHeader..]);
            _current.Length += need;
        }

        public void OnEnd(long frames) => Hand();

        private void Hand()
        {
            if (_current is { Length: > 0 })
            {
                full.Add(_current, stop);
            }
            else if (_current is not null && _current.Data.Length == BatchBytes)
            {
                free.Add(_current, stop);
            }

            _current = null;
        }
    }
}
