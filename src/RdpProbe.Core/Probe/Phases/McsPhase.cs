using System.Buffers;
using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Probe.Phases;

/// <summary>What the client offers in its MCS Connect Initial.</summary>
internal sealed record McsOptions(
    EncryptionMethods EncryptionMethods = EncryptionMethods.All,
    IReadOnlyList<ClientChannel>? Channels = null,
    ushort DesktopWidth = 1024,
    ushort DesktopHeight = 768,
    string ClientName = "RDPPROBE")
{
    public IReadOnlyList<ClientChannel> StaticChannels => Channels ?? ClientChannel.Defaults;
}

/// <summary>The MCS Connect Response as decoded (MS-RDPBCGR 2.2.1.4).</summary>
internal sealed record McsResult(
    int? Result,
    ServerGccData? Server,
    ServerCertificateInfo? Certificate)
{
    public string? ResultName => Result is { } r ? Mcs.ResultName(r) : null;

    public string? ServerVersion => Server?.Core?.VersionName;

    public EncryptionMethods? EncryptionMethod => Server?.Security?.Method;

    public EncryptionLevel? EncryptionLevel => Server?.Security?.Level;

    public ushort? IoChannelId => Server?.Network?.IoChannelId;

    public IReadOnlyList<ushort> ChannelIds => Server?.Network?.ChannelIds ?? [];

    public uint? MultitransportFlags => Server?.MultitransportFlags;

    public bool Ok => Result == 0 && Server is not null;
}

/// <summary>
/// The mcs phase (Basic Settings Exchange, MS-RDPBCGR 1.3.1.1 phase 2): MCS Connect Initial carrying the GCC
/// Conference Create Request with the client blocks, and the server's Connect Response.
/// </summary>
internal static class McsPhase
{
    internal static async Task<McsResult> RunAsync(RdpSession session, McsOptions options, PhaseRecord record, CancellationToken ct)
    {
        var io = new PhaseIo(session.Stream, record, ct);
        try
        {
            var settings = new ClientGccSettings(session.SelectedProtocol, options.EncryptionMethods, options.StaticChannels,
                options.DesktopWidth, options.DesktopHeight, options.ClientName);
            byte[] connectInitial = Mcs.EncodeConnectInitial(Gcc.EncodeConferenceCreateRequest(Gcc.EncodeClientData(settings)));
            io.Doing = "sending the MCS Connect Initial";
            string channels = string.Join(",", options.StaticChannels.Select(c => c.Name));
            await session.SendMcsAsync(io, connectInitial,
                $"MCS Connect Initial (serverSelectedProtocol {ProtocolName(session.SelectedProtocol)}, encryption {Gcc.MethodName(options.EncryptionMethods)}, channels {channels}, errinfo PDUs wanted)").ConfigureAwait(false);

            io.Doing = "waiting for the MCS Connect Response";
            const string when = "after the MCS Connect Initial";
            byte[] frame;
            try
            {
                (_, frame) = await io.ReadRdpFrameAsync(when, allowFastPath: false).ConfigureAwait(false);
            }
            catch (PhaseFailedException e) when (e.Ending == Ending.Closed)
            {
                throw new PhaseFailedException(Ending.Closed, null,
                    "the server closed the connection after the MCS Connect Initial: it rejected the client settings (serverSelectedProtocol not what it negotiated, no acceptable encryption method, channels)");
            }

            return Decode(session, io, frame);
        }
        catch (Exception ex)
        {
            io.RecordFailure(ex);
            return new McsResult(null, session.Server, session.ServerCertificate);
        }
    }

    private static McsResult Decode(RdpSession session, PhaseIo io, byte[] frame)
    {
        if (!X224.TryGetDataPayload(frame, out var mcs))
        {
            io.Received(frame.Length, "not an X.224 Data TPDU");
            throw new PhaseFailedException(Ending.ProtocolViolation, null, $"the answer to the MCS Connect Initial is not an X.224 Data TPDU (bytes {PhaseIo.Hex(frame)})");
        }

        // xrdp and others answer a refused connect with a Disconnect Provider Ultimatum instead of a response.
        if (mcs.Length >= 1 && mcs[0] >> 2 == (byte)McsDomainPduType.DisconnectProviderUltimatum &&
            Mcs.TryReadDomainPdu(mcs, out var dpum, out _) == OperationStatus.Done)
        {
            string reason = Mcs.ReasonName(dpum!.Reason);
            io.Received(frame.Length, $"MCS Disconnect Provider Ultimatum ({reason})");
            throw new PhaseFailedException(Ending.Closed, Codes.McsDisconnect(dpum.Reason), $"the server answered the MCS Connect Initial with a Disconnect Provider Ultimatum ({reason}): it rejected the client settings");
        }

        if (Mcs.TryReadConnectResponse(mcs, out var response, out var error) != OperationStatus.Done)
        {
            io.Received(frame.Length, "not an MCS Connect Response");
            throw new PhaseFailedException(Ending.ProtocolViolation, null, $"the answer to the MCS Connect Initial is not an MCS Connect Response ({PhaseIo.Describe(error)})");
        }

        if (response!.Result != 0)
        {
            io.Received(frame.Length, $"MCS Connect Response {response.ResultName}");
            io.Record.Fail(Ending.NegotiationFailure, Codes.McsResult(response.Result), $"the server refused the MCS connection: {response.ResultName}");
            return new McsResult(response.Result, null, null);
        }

        if (Gcc.TryReadConferenceCreateResponse(response.UserData, out var serverData, out _, out error) != OperationStatus.Done ||
            Gcc.TryReadServerData(serverData, out var server, out error) != OperationStatus.Done)
        {
            io.Received(frame.Length, "MCS Connect Response with malformed GCC data");
            throw new PhaseFailedException(Ending.ProtocolViolation, null, $"the GCC Conference Create Response is malformed ({PhaseIo.Describe(error)})");
        }

        session.Server = server;
        if (server!.Network is { } network)
        {
            session.IoChannelId = network.IoChannelId;
        }

        var security = server.Security;
        ServerCertificateInfo? certificate = null;
        if (!session.EnhancedSecurity && security is { Method: not EncryptionMethods.None })
        {
            if (security.ServerCertificate is null || security.ServerRandom is null)
            {
                io.Received(frame.Length, "MCS Connect Response without server random or certificate");
                throw new PhaseFailedException(Ending.ProtocolViolation, null, "standard RDP security was selected but the server sent no server random or certificate");
            }

            if (StandardSecurity.TryReadServerCertificate(security.ServerCertificate, out certificate, out error) != OperationStatus.Done)
            {
                io.Received(frame.Length, "MCS Connect Response with a malformed server certificate");
                throw new PhaseFailedException(Ending.ProtocolViolation, null, $"the server's RDP certificate is malformed ({PhaseIo.Describe(error)})");
            }

            session.ServerCertificate = certificate;
        }

        string description = Describe(server, certificate);
        io.Received(frame.Length, $"MCS Connect Response rt-successful: {description}");

        // SC_CORE echoes the protocols the client asked for in X.224; a difference means something rewrote the request.
        string echo = "";
        if (server.Core?.ClientRequestedProtocols is { } echoed && echoed != (uint)session.RequestedProtocols)
        {
            echo = $"; the server saw requested protocols 0x{echoed:X} but the client sent 0x{(uint)session.RequestedProtocols:X} (something between rewrote the X.224 request)";
        }

        io.Record.Detail = description + echo;
        return new McsResult(0, server, certificate);
    }

    private static string Describe(ServerGccData server, ServerCertificateInfo? certificate)
    {
        var parts = new List<string>();
        if (server.Core is { } core)
        {
            parts.Add($"server {core.VersionName}");
        }

        if (server.Security is { } security)
        {
            parts.Add($"encryption {Gcc.MethodName(security.Method)} level {Gcc.LevelName(security.Level)}");
        }

        if (certificate is not null)
        {
            parts.Add(certificate.Describe());
        }

        if (server.Network is { } network)
        {
            parts.Add($"I/O channel {network.IoChannelId}, static channels [{string.Join(",", network.ChannelIds)}]");
        }

        if (server.MessageChannelId is { } message)
        {
            parts.Add($"message channel {message}");
        }

        if (server.MultitransportFlags is { } flags)
        {
            parts.Add($"multitransport 0x{flags:X}");
        }

        return string.Join(", ", parts);
    }

    internal static string ProtocolName(SecurityProtocols protocol) => protocol switch
    {
        SecurityProtocols.Rdp => "rdp",
        SecurityProtocols.Ssl => "ssl",
        SecurityProtocols.Hybrid => "hybrid",
        SecurityProtocols.RdsTls => "rdstls",
        SecurityProtocols.HybridEx => "hybrid_ex",
        SecurityProtocols.RdsAad => "rdsaad",
        _ => $"0x{(uint)protocol:X}",
    };
}
