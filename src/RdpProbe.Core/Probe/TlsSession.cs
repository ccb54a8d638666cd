using System.Net.Sockets;
using Org.BouncyCastle.Tls;
using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Probe;

/// <summary>
/// Drives BouncyCastle's TLS client in non-blocking mode (OfferInput / ReadOutput) over the recording stream, so every
/// flight is awaited asynchronously with the phase's token and timed on the wire. After the handshake it is the
/// <see cref="Stream"/> CredSSP and later phases talk through.
/// </summary>
internal sealed class TlsSession : Stream
{
    private const int ReadChunk = 16 * 1024 + 2048 + 5;

    private readonly RecordingStream net;
    private readonly TlsClientProtocol protocol;
    private readonly byte[] readBuffer = new byte[ReadChunk];

    private TlsSession(RecordingStream net, TlsClientProtocol protocol, ProbeTlsClient client)
    {
        this.net = net;
        this.protocol = protocol;
        Client = client;
    }

    public ProbeTlsClient Client { get; }

    /// <summary>
    /// Runs the handshake. Failures become <see cref="PhaseFailedException"/>: tls_alert (with who sent it), closed,
    /// reset or protocol_violation, each coded before_server_hello / during_handshake where that matters.
    /// </summary>
    public static async Task<TlsSession> HandshakeAsync(RecordingStream net, ProbeTlsClient client, TlsMessageLog log, CancellationToken ct)
    {
        var protocol = new TlsClientProtocol();
        var session = new TlsSession(net, protocol, client);

        // The first bytes handed to TLS. Usually the log saw them too, but bytes that came in the same segment as the
        // X.224 Connection Confirm were received before this phase started observing (a hostile peer's garbage right
        // after a valid confirm): without them a non-TLS answer would pass for an alert the client raised.
        byte[]? firstOffered = null;
        try
        {
            protocol.Connect(client);
            await session.FlushOutputAsync(ct).ConfigureAwait(false);
            bool sniffed = false;
            while (protocol.IsHandshaking)
            {
                int n = await net.ReadAsync(session.readBuffer, ct).ConfigureAwait(false);
                if (n == 0)
                {
                    throw new PhaseFailedException(Ending.Closed, Stage(log),
                        log.ServerHelloSeen ? "the server closed the connection (FIN) during the TLS handshake"
                            : "the server closed the connection (FIN) after the ClientHello without sending a ServerHello");
                }

                if (!sniffed)
                {
                    // Issue 11: look at the server's first bytes BEFORE the TLS stack does. A server that selected TLS
                    // and then cannot use its certificate (xrdp) sends a cleartext MCS Disconnect Provider Ultimatum
                    // here; handed to the TLS stack it would become the probe's own unexpected_message alert.
                    n = await session.SniffFirstBytesAsync(n, log, ct).ConfigureAwait(false);
                    sniffed = true;
                }

                firstOffered ??= session.readBuffer.AsSpan(0, Math.Min(n, 16)).ToArray();
                try
                {
                    protocol.OfferInput(session.readBuffer, 0, n);
                }
                finally
                {
                    // Our next flight, or the alert BouncyCastle raised: send it before judging.
                    await session.TryFlushAsync(ct).ConfigureAwait(false);
                }
            }

            return session;
        }
        catch (TlsFatalAlertReceived ex)
        {
            string name = TlsNames.AlertName((TlsAlertDescription)ex.AlertDescription);
            log.Record.Attribution = new Attribution(Party.Server, LastBytes.TlsAlert, EndedHow.Alert, Party.Server)
            {
                Alert = new TlsAlert(TlsAlertLevel.Fatal, (TlsAlertDescription)ex.AlertDescription),
                AfterServerHello = log.ServerHelloSeen,
                TlsSelected = true,
            };
            throw new PhaseFailedException(Ending.TlsAlert, Codes.TlsAlert((TlsAlertDescription)ex.AlertDescription), $"the server sent a fatal TLS alert {name} ({ex.AlertDescription}) {(log.ServerHelloSeen ? "during the handshake" : "in answer to the ClientHello")}");
        }
        catch (TlsFatalAlert ex)
        {
            string name = TlsNames.AlertName((TlsAlertDescription)ex.AlertDescription);
            if ((log.FirstReceived ?? firstOffered) is { } first && ByteSniffer.Classify(first) is { Kind: not (SniffKind.TlsHandshake or SniffKind.TlsAlert or SniffKind.TlsOther or SniffKind.NeedMoreData) } sniff)
            {
                throw new PhaseFailedException(Ending.ProtocolViolation, Codes.Sniffed(sniff), $"the server answered the ClientHello with {sniff.Description}, not TLS");
            }

            log.Record.Attribution = new Attribution(Party.Client, LastBytes.TlsAlert, EndedHow.Alert, Party.Client)
            {
                Alert = new TlsAlert(TlsAlertLevel.Fatal, (TlsAlertDescription)ex.AlertDescription),
                AfterServerHello = log.ServerHelloSeen,
                TlsSelected = true,
            };
            throw new PhaseFailedException(Ending.TlsAlert, Codes.TlsAlert((TlsAlertDescription)ex.AlertDescription), $"the client aborted the handshake with a fatal {name} alert: {ex.Message}");
        }
        catch (IOException ex) when (ex.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset or SocketError.ConnectionAborted })
        {
            throw new PhaseFailedException(Ending.Reset, Stage(log),
                log.ServerHelloSeen ? "the connection was reset during the TLS handshake" : "the connection was reset right after the ClientHello, before any ServerHello");
        }
    }

    /// <summary>
    /// The server's first bytes after the ClientHello, classified before the TLS stack sees them (ByteSniffer): reads on
    /// (bounded: <see cref="SniffLimit"/> bytes) while the prefix is too short to tell, returns how many bytes the read
    /// buffer now holds, and ends the phase when they are not TLS (MS-RDPBCGR 5.4.5.1: after PROTOCOL_SSL is selected the
    /// next bytes are the server's TLS records).
    /// </summary>
    private async Task<int> SniffFirstBytesAsync(int n, TlsMessageLog log, CancellationToken ct)
    {
        var sniff = ByteSniffer.Classify(readBuffer.AsSpan(0, n));
        while (sniff.Kind == SniffKind.NeedMoreData && n < SniffLimit)
        {
            int more = await net.ReadAsync(readBuffer.AsMemory(n, SniffLimit - n), ct).ConfigureAwait(false);
            if (more == 0)
            {
                break;
            }

            n += more;
            sniff = ByteSniffer.Classify(readBuffer.AsSpan(0, n));
        }

        if (sniff.Kind is SniffKind.TlsHandshake or SniffKind.TlsAlert or SniffKind.TlsOther or SniffKind.NeedMoreData)
        {
            return n;
        }

        bool mcs = sniff.Kind == SniffKind.McsDisconnectProviderUltimatum;
        log.Record.Messages.Add(new WireMessage(Direction.Received, log.Record.Messages.Count > 0 ? log.Record.Messages[^1].AtMs : 0, n, sniff.Description));
        log.Record.Attribution = new Attribution(Party.Server, mcs ? LastBytes.McsPdu : sniff.Kind is SniffKind.X224Data or SniffKind.X224DisconnectRequest or SniffKind.X224Error or SniffKind.X224ConnectionConfirm ? LastBytes.X224 : LastBytes.Foreign,
            EndedHow.Open, Party.Client)
        {
            WhatDetail = mcs ? "Disconnect Provider Ultimatum" : sniff.Description,
            TlsSelected = true,
        };
        string what = mcs ? "a cleartext MCS Disconnect Provider Ultimatum (X.224 Data TPDU)" : sniff.Description;
        throw new PhaseFailedException(Ending.ProtocolViolation, Codes.Sniffed(sniff), $"the server answered the ClientHello with {what} instead of a ServerHello, not TLS");
    }

    /// <summary>How many first bytes the sniffer may wait for before the TLS stack decides (a TLS record header is 5).</summary>
    private const int SniffLimit = 64;

    /// <summary>What a phase timeout means at this point of the handshake (the engine owns the timeout itself).</summary>
    public static (Code? Code, string Detail) DescribeTimeout(TlsMessageLog log) => log.ServerHelloSeen
        ? (Codes.DuringHandshake, "the TLS handshake stalled after the ServerHello")
        : (Codes.BeforeServerHello, $"no ServerHello arrived after the ClientHello ({log.ServerBytes} bytes from the server)");

    private static Code Stage(TlsMessageLog log) => log.ServerHelloSeen ? Codes.DuringHandshake : Codes.BeforeServerHello;

    private async Task FlushOutputAsync(CancellationToken ct)
    {
        int available;
        while ((available = protocol.GetAvailableOutputBytes()) > 0)
        {
            byte[] output = new byte[available];
            int n = protocol.ReadOutput(output, 0, available);
            await net.WriteAsync(output.AsMemory(0, n), ct).ConfigureAwait(false);
        }
    }

    private async Task TryFlushAsync(CancellationToken ct)
    {
        try
        {
            await FlushOutputAsync(ct).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The peer is gone; the read side reports how.
        }
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <summary>Reads decrypted application data; 0 when the server closed (close_notify or FIN).</summary>
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            int available = protocol.GetAvailableInputBytes();
            if (available > 0)
            {
                int take = Math.Min(available, buffer.Length);
                byte[] plain = new byte[take];
                int n = protocol.ReadInput(plain, 0, take);
                plain.AsSpan(0, n).CopyTo(buffer.Span);
                return n;
            }

            if (protocol.IsClosed)
            {
                return 0;
            }

            int got = await net.ReadAsync(readBuffer, cancellationToken).ConfigureAwait(false);
            if (got == 0)
            {
                return 0;
            }

            try
            {
                protocol.OfferInput(readBuffer, 0, got);
            }
            finally
            {
                await TryFlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        protocol.WriteApplicationData(buffer.ToArray(), 0, buffer.Length);
        await FlushOutputAsync(cancellationToken).ConfigureAwait(false);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("use ReadAsync");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("use WriteAsync");

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>Sends close_notify when the connection is still up; the socket itself belongs to the connection.</summary>
    public async Task CloseAsync(CancellationToken ct)
    {
        try
        {
            if (!protocol.IsClosed)
            {
                protocol.Close();
                await FlushOutputAsync(ct).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or TlsException or OperationCanceledException or ObjectDisposedException)
        {
            // Best effort: the peer may already be gone.
        }
    }
}
