using System.Buffers;
using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Probe.Phases;

/// <summary>Something the server sent after X.224, as the session phases see it.</summary>
internal abstract record ServerEvent(string Description);

/// <summary>A domain PDU that is not data: Attach User Confirm, Channel Join Confirm.</summary>
internal sealed record McsEvent(McsDomainMessage Message, string Description) : ServerEvent(Description);

/// <summary>MCS Disconnect Provider Ultimatum: the server is hanging up.</summary>
internal sealed record DisconnectEvent(McsDisconnectReason Reason, string Description) : ServerEvent(Description);

internal sealed record LicensingEvent(LicensingMessage Message, string Description) : ServerEvent(Description);

internal sealed record DemandActiveEvent(DemandActivePdu Pdu, string Description) : ServerEvent(Description);

internal sealed record SetErrorInfoEvent(uint Code, string Description) : ServerEvent(Description);

/// <summary>Server Redirection (MS-RDPBCGR 2.2.13): the server (a broker) sends the client elsewhere.</summary>
internal sealed record RedirectionEvent(string Description) : ServerEvent(Description);

/// <summary>Anything else: logged and passed over (auto-detect, other channels, fast-path output, updates).</summary>
internal sealed record OtherEvent(string Description) : ServerEvent(Description);

/// <summary>
/// The RDP connection after X.224 (and TLS / CredSSP), shared by the session phases in order: mcs → channels →
/// security_exchange → client_info → licensing → capabilities. It holds what the phases learn (server data, channel
/// ids, the standard-security cipher) and does the framing: TPKT, X.224 DT, MCS send data, the security header and,
/// with standard RDP security, RC4 with MACs. It never decides an ending; the phases do.
/// </summary>
internal sealed class RdpSession
{
    /// <summary>At most this many server PDUs are read while a phase waits for the one it needs.</summary>
    public const int MaxPdusPerPhase = 128;

    public RdpSession(Stream stream, SecurityProtocols selectedProtocol, SecurityProtocols requestedProtocols)
    {
        Stream = stream;
        SelectedProtocol = selectedProtocol;
        RequestedProtocols = requestedProtocols;
    }

    public Stream Stream { get; }

    public SecurityProtocols SelectedProtocol { get; }

    public SecurityProtocols RequestedProtocols { get; }

    /// <summary>TLS or CredSSP underneath: no RDP encryption, security headers only on some PDUs.</summary>
    public bool EnhancedSecurity => SelectedProtocol != SecurityProtocols.Rdp;

    public ServerGccData? Server { get; internal set; }

    public ServerCertificateInfo? ServerCertificate { get; internal set; }

    public EncryptionMethods Method => Server?.Security?.Method ?? EncryptionMethods.None;

    /// <summary>Standard RDP security with a method other than none: every PDU carries a security header.</summary>
    public bool StandardEncryption => !EnhancedSecurity && Method != EncryptionMethods.None;

    public ushort IoChannelId { get; internal set; } = Mcs.IoChannelId;

    public ushort? UserChannelId { get; internal set; }

    public ushort? MessageChannelId => Server?.MessageChannelId;

    public RdpCipherState? Cipher { get; internal set; }

    /// <summary>Description of the last thing the client sent, so a server error can say what it answered.</summary>
    public string? LastClientMessage { get; private set; }

    /// <summary>A Demand Active that arrived while an earlier phase was reading (servers that skip licensing).</summary>
    internal DemandActivePdu? PendingDemandActive { get; set; }

    /// <summary>The user name the Client Info PDU announced (licensing repeats it).</summary>
    public string ClientUserName { get; internal set; } = "";

    /// <summary>The last Set Error Info code seen, 0 when none.</summary>
    public uint LastErrorInfo { get; internal set; }

    internal async Task SendMcsAsync(PhaseIo io, byte[] mcsPdu, string description)
    {
        await io.SendAsync(Mcs.WrapInDataTpdu(mcsPdu), description).ConfigureAwait(false);
        LastClientMessage = description;
    }

    /// <summary>
    /// Sends data on the I/O channel. With standard encryption the payload goes through the cipher (SEC_ENCRYPT and a
    /// MAC); otherwise a basic security header is added when <paramref name="flags"/> is not None (MS-RDPBCGR
    /// 2.2.8.1.1.2: under TLS only Client Info, licensing and a few others carry one).
    /// </summary>
    internal async Task SendIoAsync(PhaseIo io, SecurityFlags flags, ReadOnlyMemory<byte> payload, string description, bool encrypt = true)
    {
        byte[] data = Cipher is not null && encrypt
            ? Cipher.Protect(flags, payload.Span)
            : flags != SecurityFlags.None || StandardEncryption ? SecurityHeader.Prepend(flags, payload.Span) : payload.ToArray();
        ushort user = UserChannelId ?? throw new InvalidOperationException("no user channel yet: the channels phase runs first");
        await SendMcsAsync(io, Mcs.SendDataRequest(user, IoChannelId, data), description).ConfigureAwait(false);
    }

    /// <summary>Sends a payload on the I/O channel exactly as given (it carries its own security header: Security Exchange PDU).</summary>
    internal async Task SendIoRawAsync(PhaseIo io, ReadOnlyMemory<byte> payload, string description)
    {
        ushort user = UserChannelId ?? throw new InvalidOperationException("no user channel yet: the channels phase runs first");
        await SendMcsAsync(io, Mcs.SendDataRequest(user, IoChannelId, payload.Span), description).ConfigureAwait(false);
    }

    /// <summary>MCS Disconnect Provider Ultimatum (rn-user-requested): the polite way to hang up before activation.</summary>
    internal Task DisconnectAsync(PhaseIo io)
        => SendMcsAsync(io, Mcs.DisconnectProviderUltimatum(McsDisconnectReason.UserRequested), "MCS Disconnect Provider Ultimatum (rn-user-requested)");

    /// <summary>
    /// Reads one frame and turns it into events (one TPKT can carry several Share Control PDUs). Each frame is logged
    /// once with what it held. Malformed frames end the phase as a protocol violation.
    /// </summary>
    internal async Task<IReadOnlyList<ServerEvent>> ReadEventsAsync(PhaseIo io, string what)
    {
        var (fastPath, frame) = await io.ReadRdpFrameAsync(what).ConfigureAwait(false);
        List<ServerEvent> events;
        if (fastPath)
        {
            events = [new OtherEvent("fast-path output (passed over)")];
        }
        else if (!X224.TryGetDataPayload(frame, out var mcs))
        {
            io.Received(frame.Length, "a TPKT frame that is not an X.224 Data TPDU");
            throw new PhaseFailedException(Ending.ProtocolViolation, null, $"{what}: the server sent a TPKT frame that is not an X.224 Data TPDU (bytes {PhaseIo.Hex(frame)})");
        }
        else
        {
            events = Decode(mcs, what);
        }

        io.Received(frame.Length, string.Join("; ", events.Select(e => e.Description)));
        return events;
    }

    private List<ServerEvent> Decode(ReadOnlySpan<byte> mcs, string what)
    {
        if (Mcs.TryReadDomainPdu(mcs, out var message, out var error) != OperationStatus.Done)
        {
            throw new PhaseFailedException(Ending.ProtocolViolation, null, $"{what}: not an MCS domain PDU ({PhaseIo.Describe(error)}; bytes {PhaseIo.Hex(mcs)})");
        }

        switch (message!.Type)
        {
            case McsDomainPduType.DisconnectProviderUltimatum:
                return [new DisconnectEvent(message.Reason, $"MCS Disconnect Provider Ultimatum ({Mcs.ReasonName(message.Reason)})")];
            case McsDomainPduType.SendDataIndication:
                break;
            default:
                return [new McsEvent(message, DescribeDomain(message))];
        }

        var data = message.Data!;
        if (message.ChannelId != IoChannelId && message.ChannelId != MessageChannelId)
        {
            return [new OtherEvent($"{data.Length} bytes on channel {message.ChannelId} (passed over)")];
        }

        return DecodeIoData(data, what);
    }

    private static string DescribeDomain(McsDomainMessage m) => m.Type switch
    {
        McsDomainPduType.AttachUserConfirm => $"Attach User Confirm ({Mcs.ResultName(m.Result)}, user channel {m.Initiator})",
        McsDomainPduType.ChannelJoinConfirm => $"Channel Join Confirm for {m.RequestedChannelId} ({Mcs.ResultName(m.Result)})",
        _ => Mcs.DescribeType(m.Type),
    };

    /// <summary>
    /// Data on the I/O channel. With standard encryption every PDU starts with a security header (decrypt when
    /// SEC_ENCRYPT). Under TLS only licensing (and PDUs this client never asks for) have one; as FreeRDP does, a header
    /// is taken as such only when its flags say licensing and a well-formed licensing preamble follows, otherwise
    /// the bytes are Share Control PDUs.
    /// </summary>
    private List<ServerEvent> DecodeIoData(byte[] data, string what)
    {
        ReadOnlySpan<byte> rest = data;
        SecurityFlags flags = SecurityFlags.None;
        if (StandardEncryption)
        {
            if (SecurityHeader.TryRead(rest, out var header, out _) != OperationStatus.Done)
            {
                throw new PhaseFailedException(Ending.ProtocolViolation, null, $"{what}: a PDU too short for its security header");
            }

            flags = header.Flags;
            rest = rest[SecurityHeader.BasicSize..];
            if ((flags & SecurityFlags.Encrypt) != 0)
            {
                if (Cipher is null)
                {
                    throw new PhaseFailedException(Ending.ProtocolViolation, null, $"{what}: the server sent an encrypted PDU before the security exchange");
                }

                if (!Cipher.TryUnprotect(flags, rest, out var plain))
                {
                    throw new PhaseFailedException(Ending.ProtocolViolation, null, $"{what}: a PDU from the server does not decrypt (its MAC is wrong): the session keys differ");
                }

                rest = plain;
            }
        }
        else if (rest.Length >= SecurityHeader.BasicSize + LicensePreamble.HeaderSize)
        {
            var candidate = (SecurityFlags)System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(rest);
            bool licensing = (candidate & SecurityFlags.LicensePacket) != 0 && Licensing.TryRead(rest[SecurityHeader.BasicSize..], out _, out _) == OperationStatus.Done;

            // Auto-detect, multitransport and heartbeat PDUs also carry a header, but only come when the client asked
            // for them in its core data; this client does not, so no other header is guessed at.
            if (licensing)
            {
                flags = candidate;
                rest = rest[SecurityHeader.BasicSize..];
            }
        }

        if ((flags & SecurityFlags.LicensePacket) != 0)
        {
            if (Licensing.TryRead(rest, out var license, out var error) != OperationStatus.Done)
            {
                throw new PhaseFailedException(Ending.ProtocolViolation, null, $"{what}: a malformed licensing PDU ({PhaseIo.Describe(error)})");
            }

            return [new LicensingEvent(license!, DescribeLicensing(license!))];
        }

        if ((flags & SecurityFlags.RedirectionPacket) != 0)
        {
            return [new RedirectionEvent("Server Redirection PDU (standard security)")];
        }

        if ((flags & SecurityFlags.AutodetectRequest) != 0)
        {
            return [new OtherEvent("auto-detect request (passed over)")];
        }

        if ((flags & SecurityFlags.TransportRequest) != 0)
        {
            return [new OtherEvent("Initiate Multitransport Request (passed over)")];
        }

        if ((flags & SecurityFlags.Heartbeat) != 0)
        {
            return [new OtherEvent("heartbeat")];
        }

        return DecodeShareControl(rest, what);
    }

    private List<ServerEvent> DecodeShareControl(ReadOnlySpan<byte> rest, string what)
    {
        var events = new List<ServerEvent>();
        while (rest.Length > 0 && events.Count < 32)
        {
            var status = ShareControl.TryRead(rest, out var pdu, out int used, out var error);
            if (status != OperationStatus.Done)
            {
                throw new PhaseFailedException(Ending.ProtocolViolation, null,
                    $"{what}: a malformed Share Control PDU ({(status == OperationStatus.NeedMoreData ? "truncated" : PhaseIo.Describe(error))}; bytes {PhaseIo.Hex(rest)})");
            }

            rest = rest[used..];
            events.Add(Classify(pdu!, what));
        }

        return events;
    }

    private ServerEvent Classify(ShareControlPdu pdu, string what)
    {
        if (pdu.IsFlow)
        {
            return new OtherEvent("flow PDU");
        }

        switch (pdu.Type)
        {
            case ShareControlPduType.DemandActive:
                if (ShareControl.TryReadDemandActive(pdu.Body, out var demand, out var error) != OperationStatus.Done)
                {
                    throw new PhaseFailedException(Ending.ProtocolViolation, null, $"{what}: a malformed Demand Active PDU ({PhaseIo.Describe(error)})");
                }

                return new DemandActiveEvent(demand!, $"Demand Active (share 0x{demand!.ShareId:X8}, {demand.Capabilities.Count} capability sets)");
            case ShareControlPduType.DeactivateAll:
                return new OtherEvent("Deactivate All");
            case ShareControlPduType.ServerRedirect:
                return new RedirectionEvent("Server Redirection PDU");
            case ShareControlPduType.Data:
                if (ShareControl.TryReadData(pdu.Body, out var data, out _) != OperationStatus.Done)
                {
                    throw new PhaseFailedException(Ending.ProtocolViolation, null, $"{what}: a Share Data PDU shorter than its header");
                }

                if (data!.Type == ShareDataPduType.SetErrorInfo && ShareControl.TryReadErrorInfo(data.Payload, out uint code))
                {
                    LastErrorInfo = code == ErrorInfo.None ? LastErrorInfo : code;
                    return new SetErrorInfoEvent(code, $"Set Error Info {ErrorInfo.Name(code)} (0x{code:X8})");
                }

                return new OtherEvent($"Share Data PDU type 0x{(byte)data.Type:X2} ({data.Type})");
            default:
                return new OtherEvent($"Share Control PDU type {(int)pdu.Type}");
        }
    }

    private static string DescribeLicensing(LicensingMessage message)
    {
        if (message.Preamble.Type == LicenseMessageType.ErrorAlert && Licensing.TryReadErrorAlert(message.Body, out var alert))
        {
            return $"licensing error alert {alert!.Name} ({alert.StateTransitionName})";
        }

        return $"licensing {message.Preamble.Type} (v{message.Preamble.Version}, {message.Preamble.Size} bytes)";
    }
}
