using System.Buffers;
using System.Net.Sockets;
using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Probe;

/// <summary>
/// The Connection Initiation step (MS-RDPBCGR 1.3.1.1, 2.2.1.1–2.2.1.2) on an open connection: send the X.224
/// Connection Request, read the answer with bounded reads, and either return the decoded Connection Confirm or fail
/// with an ending that says what the server sent instead.
/// </summary>
internal static class X224Exchange
{
    public static X224ConnectionRequest BuildRequest(SecurityProtocols protocols, string? cookie, string? routingToken)
        => new(cookie, cookie is null ? routingToken : null, new NegotiationMessage(NegotiationType.Request, 0, (uint)protocols), null);

    public static async Task<X224ConnectionConfirm> RunAsync(RecordingStream stream, X224ConnectionRequest request, PhaseRecord record, PhaseClock clock, CancellationToken ct)
    {
        byte[] cr = X224.EncodeConnectionRequest(request);
        await stream.WriteAsync(cr, ct).ConfigureAwait(false);
        record.Messages.Add(new WireMessage(Direction.Sent, PhaseClock.Round(clock.ElapsedMs), cr.Length,
            $"X.224 Connection Request{(request.Cookie is null ? string.Empty : $" (cookie {request.Cookie})")}{(request.RoutingToken is null ? string.Empty : " (routing token)")}, RDP_NEG_REQ {FormatProtocols(request.RequestedProtocols ?? SecurityProtocols.Rdp)}"));

        // Bounded: an answer to a CR is at most ByteSniffer.MaxConnectionAnswerLength bytes; banners are cut at the buffer.
        byte[] buffer = new byte[ByteSniffer.MaxConnectionAnswerLength];
        int have = 0;
        while (true)
        {
            int n;
            try
            {
                n = await stream.ReadAsync(buffer.AsMemory(have), ct).ConfigureAwait(false);
            }
            catch (IOException ex) when (ex.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset or SocketError.ConnectionAborted })
            {
                string after = have == 0 ? "without an answer" : $"after {have} bytes of an answer ({ByteSniffer.Hex(buffer.AsSpan(0, have), 16)})";
                throw new PhaseFailedException(Ending.Reset, null, $"the server reset the connection right after the Connection Request, {after}");
            }

            if (n == 0)
            {
                if (have == 0)
                {
                    throw new PhaseFailedException(Ending.Closed, null, "the server closed the connection (FIN) without answering the Connection Request");
                }

                var partial = ByteSniffer.Classify(buffer.AsSpan(0, have));
                if (partial.Kind != SniffKind.NeedMoreData && partial.Kind != SniffKind.X224ConnectionConfirm)
                {
                    return Conclude(stream, buffer.AsSpan(0, have), partial, record, clock);
                }

                throw new PhaseFailedException(Ending.Closed, Codes.Truncated, $"the server closed the connection after {have} bytes of an incomplete answer ({ByteSniffer.Hex(buffer.AsSpan(0, have), 16)})");
            }

            have += n;
            var data = buffer.AsSpan(0, have);
            var sniff = ByteSniffer.Classify(data);
            switch (sniff.Kind)
            {
                case SniffKind.NeedMoreData:
                    continue;
                case SniffKind.X224ConnectionConfirm or SniffKind.McsDisconnectProviderUltimatum or SniffKind.X224Data
                    or SniffKind.X224DisconnectRequest or SniffKind.X224Error or SniffKind.TpktOther:
                    // A TPKT frame: wait for the whole frame (its length is already bounded by the sniffer).
                    int frameLength = (data[2] << 8) | data[3];
                    if (have < frameLength)
                    {
                        continue;
                    }

                    if (sniff.Kind == SniffKind.X224ConnectionConfirm)
                    {
                        var confirm = DecodeConfirm(stream, data[..frameLength], record, clock);

                        // Issue 11: bytes after the Confirm in the same read are the next phase's (a TLS record, or
                        // xrdp's cleartext Disconnect Provider Ultimatum when it cannot use its key); dropping them
                        // turned that ultimatum into "closed before the ServerHello" whenever the two arrived together.
                        stream.PushBack(data[frameLength..]);
                        return confirm;
                    }

                    return Conclude(stream, data[..frameLength], sniff, record, clock);
                default:
                    return Conclude(stream, data, sniff, record, clock);
            }
        }
    }

    private static X224ConnectionConfirm DecodeConfirm(RecordingStream stream, ReadOnlySpan<byte> frame, PhaseRecord record, PhaseClock clock)
    {
        var status = X224.TryReadConnectionConfirm(frame, out var confirm, out _, out var error);
        if (status != OperationStatus.Done || confirm is null)
        {
            record.Messages.Add(new WireMessage(Direction.Received, ArrivalMs(stream, clock), frame.Length, $"malformed X.224 Connection Confirm: {ByteSniffer.Hex(frame, 24)}"));
            throw new PhaseFailedException(Ending.ProtocolViolation, Codes.BadConnectionConfirm,
                $"the Connection Confirm cannot be decoded ({error}): {ByteSniffer.Hex(frame, 24)}");
        }

        record.Messages.Add(new WireMessage(Direction.Received, ArrivalMs(stream, clock), frame.Length, Describe(confirm)));
        return confirm;
    }

    /// <summary>Turns an answer that is not a Connection Confirm into the phase's ending.</summary>
    private static X224ConnectionConfirm Conclude(RecordingStream stream, ReadOnlySpan<byte> data, SniffResult sniff, PhaseRecord record, PhaseClock clock)
    {
        record.Messages.Add(new WireMessage(Direction.Received, ArrivalMs(stream, clock), data.Length, sniff.Description));
        if (sniff.IsOtherProtocol && ServiceFingerprints.Identify(data) is { Kind: not ServiceKind.Rdp } service)
        {
            // Issue 11: the answer itself names the service (the port is added by the sequence).
            record.Service = new ServiceEvidence(service, "the probe's own connection", [$"the probe's own connection got {service.Evidence}"]) { SameConnection = true };
        }

        var (ending, code) = sniff.Kind switch
        {
            SniffKind.McsDisconnectProviderUltimatum => (Ending.Closed, Codes.Sniffed(sniff)),
            SniffKind.X224DisconnectRequest => (Ending.Closed, Codes.X224DisconnectRequest),
            SniffKind.TlsHandshake or SniffKind.TlsAlert or SniffKind.TlsOther or SniffKind.HttpResponse
                or SniffKind.SshBanner or SniffKind.TextBanner => (Ending.NotRdp, Codes.Sniffed(sniff)),
            _ => (Ending.ProtocolViolation, Codes.Sniffed(sniff)),
        };
        throw new PhaseFailedException(ending, code, $"the server answered the Connection Request with {sniff.Description}");
    }

    private static double ArrivalMs(RecordingStream stream, PhaseClock clock) => PhaseClock.Round(clock.MsSinceStart(stream.LastArrival));

    public static string Describe(X224ConnectionConfirm confirm)
    {
        if (confirm.IsLegacy)
        {
            return "X.224 Connection Confirm without negotiation data (legacy: Standard RDP Security)";
        }

        if (confirm.FailureCode is { } failure)
        {
            return $"X.224 Connection Confirm with RDP_NEG_FAILURE {(uint)failure} {failure.ToReportName().ToUpperInvariant()}";
        }

        return $"X.224 Connection Confirm with RDP_NEG_RSP selecting {FormatProtocols(confirm.SelectedProtocol ?? SecurityProtocols.Rdp)}, flags 0x{(byte)confirm.ResponseFlags:x2}{(confirm.ResponseFlags == NegotiationResponseFlags.None ? string.Empty : $" ({confirm.ResponseFlags})")}";
    }

    public static string FormatProtocols(SecurityProtocols protocols) => $"{string.Join("|", protocols.ToReportNames())} (0x{(uint)protocols:x2})";
}
