using System.Buffers;
using System.Diagnostics;
using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Probe.Phases;

/// <summary>
/// The stream side of one phase: sends and bounded reads with the phase's clock, and the phase's ending when something
/// goes wrong (what the transport did is classified by <see cref="TransportErrors"/>, as for every phase). Phase
/// functions read only through this so every read is bounded in size and honours the token even over streams whose
/// async reads ignore it.
/// </summary>
internal sealed class PhaseIo
{
    /// <summary>No PDU this probe waits for is larger; anything claiming more is a protocol violation.</summary>
    public const int MaxPduLength = 64 * 1024;

    private readonly Stream _stream;
    private readonly CancellationToken _ct;
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public PhaseIo(Stream stream, PhaseRecord record, CancellationToken ct)
    {
        _stream = stream;
        Record = record;
        _ct = ct;
    }

    public PhaseRecord Record { get; }

    /// <summary>The phase's cancellation (its timeout and the user's Ctrl+C), for work that is not socket I/O.</summary>
    public CancellationToken Token => _ct;

    /// <summary>When the last complete read finished, in ms since the phase began.</summary>
    public double LastReceivedAtMs { get; private set; }

    public double ElapsedMs => _clock.Elapsed.TotalMilliseconds;

    /// <summary>What the phase was doing, for the failure detail ("waiting for the answer to NEGOTIATE").</summary>
    public string Doing { get; set; } = "starting";

    public async Task SendAsync(ReadOnlyMemory<byte> data, string description)
    {
        double at = ElapsedMs;
        await _stream.WriteAsync(data, _ct).AsTask().WaitAsync(_ct).ConfigureAwait(false);
        await _stream.FlushAsync(_ct).WaitAsync(_ct).ConfigureAwait(false);
        Record.Messages.Add(new WireMessage(Direction.Sent, at, data.Length, description));
    }

    public void Received(int length, string description)
        => Record.Messages.Add(new WireMessage(Direction.Received, LastReceivedAtMs, length, description));

    /// <summary>Reads exactly <paramref name="count"/> bytes; the peer closing first ends the phase as Closed.</summary>
    public async Task<byte[]> ReadExactAsync(int count, string what)
    {
        var buffer = new byte[count];
        await FillAsync(buffer, 0, what).ConfigureAwait(false);
        LastReceivedAtMs = ElapsedMs;
        return buffer;
    }

    /// <summary>Reads one DER SEQUENCE (a TSRequest): tag and length first, then exactly the announced body.</summary>
    public async Task<byte[]> ReadDerSequenceAsync(string what)
    {
        var head = new byte[5];
        int have = 0;
        while (true)
        {
            var status = TsRequest.TryReadFrameLength(head.AsSpan(0, have), out _, out int total, out var error);
            if (status == OperationStatus.Done)
            {
                var frame = new byte[total];
                head.AsSpan(0, Math.Min(have, total)).CopyTo(frame);
                await FillAsync(frame, have, what).ConfigureAwait(false);
                LastReceivedAtMs = ElapsedMs;
                return frame;
            }

            if (status == OperationStatus.InvalidData)
            {
                throw new PhaseFailedException(Ending.ProtocolViolation, null, $"{what}: not a DER TSRequest ({Describe(error)}; first bytes {Hex(head.AsSpan(0, have))})");
            }

            await FillAsync(head.AsMemory(0, have + 1), have, what).ConfigureAwait(false);
            have++;
        }
    }

    /// <summary>Reads one TPKT frame (RFC 1006 §6), header included; the length is checked before the body is read.</summary>
    public async Task<byte[]> ReadTpktFrameAsync(string what)
    {
        var header = new byte[TpktHeader.Size];
        await FillAsync(header, 0, what).ConfigureAwait(false);
        var status = TpktHeader.TryRead(header, out var tpkt, out _, out var error);
        if (status != OperationStatus.Done)
        {
            throw new PhaseFailedException(Ending.ProtocolViolation, null, $"{what}: not a TPKT frame ({Describe(error)}; first bytes {Hex(header)})");
        }

        var frame = new byte[tpkt.Length];
        header.CopyTo(frame, 0);
        await FillAsync(frame, TpktHeader.Size, what).ConfigureAwait(false);
        LastReceivedAtMs = ElapsedMs;
        return frame;
    }

    /// <summary>
    /// Reads one frame of the RDP stream after X.224: a TPKT frame (slow path) or a fast-path PDU (MS-RDPBCGR 2.2.9.1.2:
    /// low two bits of the first byte 0, length in one or two bytes with the top bit as the flag).
    /// </summary>
    public async Task<(bool FastPath, byte[] Frame)> ReadRdpFrameAsync(string what, bool allowFastPath = true)
    {
        var first = new byte[2];
        await FillAsync(first, 0, what).ConfigureAwait(false);
        if (first[0] == TpktHeader.Version3)
        {
            var header = new byte[TpktHeader.Size];
            first.CopyTo(header, 0);
            await FillAsync(header, 2, what).ConfigureAwait(false);
            var status = TpktHeader.TryRead(header, out var tpkt, out _, out var error);
            if (status != OperationStatus.Done)
            {
                throw new PhaseFailedException(Ending.ProtocolViolation, null, $"{what}: bad TPKT header ({Describe(error)}; bytes {Hex(header)})");
            }

            var frame = new byte[tpkt.Length];
            header.CopyTo(frame, 0);
            await FillAsync(frame, TpktHeader.Size, what).ConfigureAwait(false);
            LastReceivedAtMs = ElapsedMs;
            return (false, frame);
        }

        if (allowFastPath && (first[0] & 0x03) == 0)
        {
            int length = first[1];
            int headerLength = 2;
            byte third = 0;
            if ((length & 0x80) != 0)
            {
                third = (await ReadExactAsync(1, what).ConfigureAwait(false))[0];
                length = ((length & 0x7F) << 8) | third;
                headerLength = 3;
            }

            if (length < headerLength)
            {
                throw new PhaseFailedException(Ending.ProtocolViolation, null, $"{what}: fast-path length {length} is shorter than its header");
            }

            var frame = new byte[length];
            first.CopyTo(frame, 0);
            if (headerLength == 3)
            {
                frame[2] = third;
            }

            await FillAsync(frame, headerLength, what).ConfigureAwait(false);
            LastReceivedAtMs = ElapsedMs;
            return (true, frame);
        }

        throw new PhaseFailedException(Ending.ProtocolViolation, null, $"{what}: {(allowFastPath ? "neither a TPKT frame nor a fast-path PDU" : "not a TPKT frame")} (first bytes {Hex(first)})");
    }

    private Task FillAsync(byte[] buffer, int offset, string what) => FillAsync(buffer.AsMemory(), offset, what);

    private async Task FillAsync(Memory<byte> buffer, int offset, string what)
    {
        while (offset < buffer.Length)
        {
            // WaitAsync: some TLS streams run reads synchronously underneath and never look at the token.
            int n = await _stream.ReadAsync(buffer[offset..], _ct).AsTask().WaitAsync(_ct).ConfigureAwait(false);
            if (n == 0)
            {
                string got = offset == 0 ? "" : $" (after {offset} of {buffer.Length} bytes)";
                throw new PhaseFailedException(Ending.Closed, null, $"the server closed the connection {what}{got}");
            }

            offset += n;
        }
    }

    /// <summary>
    /// Turns what went wrong into the record's ending. Every exception is recorded: peer behaviour must never escape a
    /// phase as an exception (the engine checks the user's own Ctrl+C token itself).
    /// </summary>
    public void RecordFailure(Exception ex)
    {
        // Whatever the transport did is classified once, for every phase alike; anything else here is a decoder
        // tripping over hostile bytes, and the type name (never a message that might echo input) says which.
        var failure = TransportErrors.Classify(ex, Doing)
            ?? new PhaseFailure(Ending.ProtocolViolation, null, $"could not decode the server's answer {Doing} ({ex.GetType().Name})");
        failure.ApplyTo(Record);
    }

    public static string Describe(DecodeError error) => error switch
    {
        DecodeError.BadVersion => "bad version",
        DecodeError.LengthTooSmall => "length too small",
        DecodeError.LengthTooLarge => "length too large",
        DecodeError.LengthMismatch => "lengths disagree",
        DecodeError.UnexpectedType => "unexpected type",
        DecodeError.Truncated => "truncated",
        DecodeError.BadValue => "bad value",
        _ => "malformed",
    };

    /// <summary>A short escaped excerpt of bad bytes (at most 16) for a one-line detail.</summary>
    public static string Hex(ReadOnlySpan<byte> bytes)
        => bytes.IsEmpty ? "(none)" : Convert.ToHexString(bytes[..Math.Min(16, bytes.Length)]).ToLowerInvariant() + (bytes.Length > 16 ? "…" : "");
}
