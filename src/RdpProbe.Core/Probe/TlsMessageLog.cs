using System.Buffers;
using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Probe;

/// <summary>
/// Follows the TLS records going each way on the socket and names the handshake messages in them with their time
/// (RFC 8446 §4, RFC 5246 §7.4). Messages after ChangeCipherSpec or inside TLS 1.3 application_data records are
/// encrypted and logged as such. Bounded: keeps at most one record's worth of bytes per direction.
/// </summary>
internal sealed class TlsMessageLog(PhaseRecord record, PhaseClock clock)
{
    private readonly DirectionState sent = new();
    private readonly DirectionState received = new();

    /// <summary>The first bytes the server sent in this phase (up to 16), for classifying non-TLS answers.</summary>
    public byte[]? FirstReceived { get; private set; }

    public bool ServerHelloSeen { get; private set; }

    /// <summary>The phase's record (the handshake attributes its ending there, issue 11).</summary>
    public PhaseRecord Record => record;

    public int ServerBytes { get; private set; }

    /// <summary>Stop logging (after the handshake: application data is CredSSP's business).</summary>
    public bool Enabled { get; set; } = true;

    public void Observe(Direction direction, ReadOnlyMemory<byte> bytes, long timestamp)
    {
        lock (record.Messages)
        {
            ObserveLocked(direction, bytes, timestamp);
        }
    }

    private void ObserveLocked(Direction direction, ReadOnlyMemory<byte> bytes, long timestamp)
    {
        if (!Enabled)
        {
            return;
        }

        if (direction == Direction.Received)
        {
            ServerBytes += bytes.Length;
            FirstReceived ??= bytes.Span[..Math.Min(16, bytes.Length)].ToArray();
        }

        var state = direction == Direction.Sent ? sent : received;
        if (state.Broken)
        {
            return;
        }

        state.Pending.AddRange(bytes.Span);
        while (true)
        {
            var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(state.Pending);
            var status = TlsRecordHeader.TryReadRecord(span, out var header, out var fragment, out _);
            if (status == OperationStatus.NeedMoreData)
            {
                return;
            }

            if (status != OperationStatus.Done)
            {
                state.Broken = true;
                state.Pending.Clear();
                Add(direction, timestamp, span.Length, $"{span.Length} bytes that are not a TLS record: {ByteSniffer.Hex(span, 16)}");
                return;
            }

            Describe(direction, timestamp, state, header, fragment);
            state.Pending.RemoveRange(0, TlsRecordHeader.Size + header.Length);
        }
    }

    private void Describe(Direction direction, long timestamp, DirectionState state, TlsRecordHeader header, ReadOnlySpan<byte> fragment)
    {
        int size = TlsRecordHeader.Size + header.Length;
        switch (header.ContentType)
        {
            case TlsContentType.ChangeCipherSpec:
                Add(direction, timestamp, size, "ChangeCipherSpec");
                state.Encrypted = true;
                break;
            case TlsContentType.Alert when !state.Encrypted && TlsAlert.TryRead(fragment, out var alert, out _) == OperationStatus.Done:
                Add(direction, timestamp, size, $"Alert {alert.Level.ToString().ToLowerInvariant()} {TlsNames.AlertName(alert.Description)}");
                break;
            case TlsContentType.Alert:
                Add(direction, timestamp, size, "encrypted Alert");
                break;
            case TlsContentType.Handshake when !state.Encrypted:
                DescribeHandshake(direction, timestamp, state, fragment);
                break;
            case TlsContentType.Handshake:
                Add(direction, timestamp, size, "encrypted handshake message (Finished)");
                break;
            case TlsContentType.ApplicationData:
                Add(direction, timestamp, size, "encrypted record (TLS 1.3 handshake or application data)");
                break;
            default:
                Add(direction, timestamp, size, $"{header.ContentType} record");
                break;
        }
    }

    private void DescribeHandshake(Direction direction, long timestamp, DirectionState state, ReadOnlySpan<byte> fragment)
    {
        // A handshake message may span records (large certificate chains): skip its continuation bytes.
        if (state.Continuation > 0)
        {
            int skip = Math.Min(state.Continuation, fragment.Length);
            state.Continuation -= skip;
            fragment = fragment[skip..];
        }

        while (fragment.Length >= TlsHandshakeHeader.Size)
        {
            TlsHandshakeHeader.TryRead(fragment, out var message, out _);
            int total = TlsHandshakeHeader.Size + message.Length;
            if (message.Type == TlsHandshakeType.ServerHello && direction == Direction.Received)
            {
                ServerHelloSeen = true;
            }

            Add(direction, timestamp, total, HandshakeName(message.Type) + (total > fragment.Length ? " (continues in the next record)" : string.Empty));
            if (total > fragment.Length)
            {
                state.Continuation = total - fragment.Length;
                return;
            }

            fragment = fragment[total..];
        }
    }

    private void Add(Direction direction, long timestamp, int length, string description)
        => record.Messages.Add(new WireMessage(direction, PhaseClock.Round(clock.MsSinceStart(timestamp)), length, description));

    private static string HandshakeName(TlsHandshakeType type) => type switch
    {
        TlsHandshakeType.ClientHello => "ClientHello",
        TlsHandshakeType.ServerHello => "ServerHello",
        TlsHandshakeType.Certificate => "Certificate",
        TlsHandshakeType.ServerKeyExchange => "ServerKeyExchange",
        TlsHandshakeType.CertificateRequest => "CertificateRequest",
        TlsHandshakeType.ServerHelloDone => "ServerHelloDone",
        TlsHandshakeType.ClientKeyExchange => "ClientKeyExchange",
        TlsHandshakeType.CertificateVerify => "CertificateVerify",
        TlsHandshakeType.Finished => "Finished",
        TlsHandshakeType.NewSessionTicket => "NewSessionTicket",
        TlsHandshakeType.CertificateStatus => "CertificateStatus",
        TlsHandshakeType.EncryptedExtensions => "EncryptedExtensions",
        TlsHandshakeType.HelloRequest => "HelloRequest",
        _ => $"handshake message type {(byte)type}",
    };

    private sealed class DirectionState
    {
        public List<byte> Pending { get; } = [];

        public bool Encrypted { get; set; }

        public bool Broken { get; set; }

        public int Continuation { get; set; }
    }
}
