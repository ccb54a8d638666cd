using System.Buffers;
using System.Buffers.Binary;

namespace RdpProbe.Analysis;

/// <summary>How a PDU on an RDP TCP stream is framed (MS-RDPBCGR 2.2.9.1.2 fast-path, RFC 1006 TPKT, RFC 8446 §5.1 TLS).</summary>
internal enum PduFraming : byte
{
    None,
    Tpkt,
    Tls,
    FastPath,
    Preconnection,
}

/// <summary>Receives whole PDUs from a <see cref="PduWalker"/>.</summary>
internal interface IPduSink
{
    /// <summary>Whether the body of the PDU that starts with this header should be copied (decoders need it).</summary>
    bool WantBody(bool fromClient, PduFraming framing, byte type);

    /// <summary>
    /// A PDU ended. <paramref name="body"/> is the whole PDU (header included) when it was copied, empty otherwise;
    /// <paramref name="damaged"/> when capture loss cut into it.
    /// </summary>
    void OnPdu(bool fromClient, PduFraming framing, byte type, int length, ReadOnlySpan<byte> body, bool damaged, int firstFrame, int lastFrame);

    /// <summary>The stream stopped making sense (unknown framing, or capture loss over a header).</summary>
    void OnLostSync(bool fromClient, int frame, string reason);

    /// <summary>
    /// Bytes that start with no known framing where a PDU should begin (issue 11: another protocol's banner or answer):
    /// the rest of the segment from that point, called once, before <see cref="OnLostSync"/>.
    /// </summary>
    void OnUnframed(bool fromClient, ReadOnlySpan<byte> data, int frame);

    /// <summary>The direction ended: no more PDUs come from it.</summary>
    void OnStreamEnd(bool fromClient, int frame);
}

/// <summary>
/// Walks one direction of a reassembled TCP stream PDU by PDU from headers alone. Only PDUs the decoders need are
/// copied (bounded); everything else is skipped by counting, so the steady state of a long session costs a header
/// read per record and no allocation.
/// </summary>
internal sealed class PduWalker : IStreamConsumer
{
    /// <summary>Largest PDU body copied for decoding; TLS records are at most 2^14 + 2048 and TPKT 65535.</summary>
    public const int MaxCopiedPdu = 65535 + 5;

    private readonly bool _fromClient;
    private readonly IPduSink _sink;
    private readonly byte[] _header = new byte[5];
    private int _headerCount;
    private int _headerNeeded;
    private PduFraming _framing;
    private byte _type;
    private int _length;
    private int _remaining;
    private bool _inBody;
    private bool _collecting;
    private bool _damaged;
    private byte[]? _body;
    private int _bodyCount;
    private int _firstFrame;
    private bool _started;

    public PduWalker(bool fromClient, IPduSink sink)
    {
        _fromClient = fromClient;
        _sink = sink;
    }

    public bool Lost { get; private set; }

    /// <summary>Fast-path PDUs are only legal once Standard RDP Security finished the connection sequence.</summary>
    public bool AllowFastPath { get; set; }

    public long PduCount { get; private set; }

    public void Feed(ReadOnlySpan<byte> data, int frame)
    {
        while (data.Length > 0 && !Lost)
        {
            if (!_inBody)
            {
                if (_headerCount == 0)
                {
                    _firstFrame = frame;
                    if (!StartHeader(data, frame))
                    {
                        return;
                    }
                }

                _header[_headerCount++] = data[0];
                data = data[1..];
                if (_framing == PduFraming.FastPath && _headerCount == 2)
                {
                    // Length is one byte, or two when the top bit of the first is set (MS-RDPBCGR 2.2.9.1.2).
                    _headerNeeded = (_header[1] & 0x80) != 0 ? 3 : 2;
                }

                if (_headerCount == _headerNeeded && !FinishHeader(frame))
                {
                    return;
                }

                continue;
            }

            int take = Math.Min(_remaining, data.Length);
            if (_collecting)
            {
                Append(data[..take]);
            }

            _remaining -= take;
            data = data[take..];
            if (_remaining == 0)
            {
                Complete(frame);
            }
        }
    }

    /// <summary>Bytes the capture never saw (a hole the peer acknowledged). Stays in sync only inside a body.</summary>
    public void Gap(int length, int frame)
    {
        if (Lost || length <= 0)
        {
            return;
        }

        if (_inBody && length <= _remaining)
        {
            _damaged = true;
            _remaining -= length;
            if (_collecting)
            {
                // Keep offsets right for the decoder, which checks the damaged flag before trusting content.
                Span<byte> zeros = stackalloc byte[256];
                zeros.Clear();
                int left = length;
                while (left > 0)
                {
                    int n = Math.Min(left, zeros.Length);
                    Append(zeros[..n]);
                    left -= n;
                }
            }

            if (_remaining == 0)
            {
                Complete(frame);
            }

            return;
        }

        Lose(frame, "bytes missing from the capture");
    }

    public void End(int frame)
    {
        Release();
        _sink.OnStreamEnd(_fromClient, frame);
    }

    public void Release()
    {
        if (_body is not null)
        {
            ArrayPool<byte>.Shared.Return(_body);
            _body = null;
        }
    }

    private bool StartHeader(ReadOnlySpan<byte> data, int frame)
    {
        byte first = data[0];
        if (first == 0x03)
        {
            _framing = PduFraming.Tpkt;
            _headerNeeded = 4;
        }
        else if (first is >= 20 and <= 24)
        {
            _framing = PduFraming.Tls;
            _headerNeeded = 5;
        }
        else if (AllowFastPath && (first & 0x03) == 0)
        {
            _framing = PduFraming.FastPath;
            _headerNeeded = 2;
        }
        else if (!_started && _fromClient && first is >= 16 and < 0xFF)
        {
            // RDP_PRECONNECTION_PDU (MS-RDPEPS 2.2.1.1): little-endian cbSize first, sent before the X.224 CR.
            _framing = PduFraming.Preconnection;
            _headerNeeded = 4;
        }
        else
        {
            _sink.OnUnframed(_fromClient, data, frame);
            Lose(frame, $"unexpected byte 0x{first:x2} where a TPKT, TLS or fast-path header should start");
            return false;
        }

        _started = true;
        return true;
    }

    private bool FinishHeader(int frame)
    {
        int length;
        switch (_framing)
        {
            case PduFraming.Tpkt:
                length = BinaryPrimitives.ReadUInt16BigEndian(_header.AsSpan(2));
                if (_header[1] != 0 || length < 7)
                {
                    Lose(frame, "invalid TPKT header");
                    return false;
                }

                _type = 0;
                break;
            case PduFraming.Tls:
                length = BinaryPrimitives.ReadUInt16BigEndian(_header.AsSpan(3)) + 5;
                if (_header[1] != 3 || length > 5 + 16384 + 2048)
                {
                    Lose(frame, "invalid TLS record header");
                    return false;
                }

                _type = _header[0];
                break;
            case PduFraming.FastPath:
                length = _headerNeeded == 3 ? ((_header[1] & 0x7F) << 8) | _header[2] : _header[1];
                if (length < _headerNeeded)
                {
                    Lose(frame, "invalid fast-path length");
                    return false;
                }

                _type = _header[0];
                break;
            case PduFraming.Preconnection:
                length = (int)BinaryPrimitives.ReadUInt32LittleEndian(_header);
                if (length is < 16 or > 8192)
                {
                    Lose(frame, "first client bytes are neither X.224, TLS nor a preconnection PDU");
                    return false;
                }

                _type = 0;
                break;
            default:
                return false;
        }

        _length = length;
        _remaining = length - _headerNeeded;
        _inBody = true;
        _damaged = false;
        _collecting = _sink.WantBody(_fromClient, _framing, _type);
        _bodyCount = 0;
        if (_collecting)
        {
            Append(_header.AsSpan(0, _headerNeeded));
        }

        if (_remaining == 0)
        {
            Complete(frame);
        }

        return true;
    }

    private void Append(ReadOnlySpan<byte> data)
    {
        int needed = _bodyCount + data.Length;
        if (needed > MaxCopiedPdu)
        {
            _damaged = true;
            return;
        }

        if (_body is null || _body.Length < needed)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, Math.Min(_length, MaxCopiedPdu)));
            if (_body is not null)
            {
                _body.AsSpan(0, _bodyCount).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(_body);
            }

            _body = bigger;
        }

        data.CopyTo(_body.AsSpan(_bodyCount));
        _bodyCount += data.Length;
    }

    private void Complete(int frame)
    {
        PduCount++;
        var body = _collecting && _body is not null ? _body.AsSpan(0, _bodyCount) : default;
        _inBody = false;
        _headerCount = 0;
        _sink.OnPdu(_fromClient, _framing, _type, _length, body, _damaged, _firstFrame, frame);

        // Give the copy back at once: thousands of flows can be live, and a buffer held per flow would drain the pool.
        Release();
    }

    private void Lose(int frame, string reason)
    {
        Lost = true;
        _sink.OnLostSync(_fromClient, frame, reason);
    }
}
