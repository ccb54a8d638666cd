using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Probe.Phases;

/// <summary>One Channel Join and how the server answered it.</summary>
internal sealed record ChannelJoin(ushort ChannelId, string Name, int? Result)
{
    public string ResultName => Result is { } r ? Mcs.ResultName(r) : "no answer";

    public bool Joined => Result == 0;
}

/// <summary>The channels phase outcome: the user channel the server gave, and every join.</summary>
internal sealed record ChannelsResult(ushort? UserChannelId, IReadOnlyList<ChannelJoin> Joins)
{
    public bool Ok => UserChannelId is not null && Joins.Count > 0 && Joins.All(j => j.Result is not null);
}

/// <summary>
/// The channels phase (Channel Connection, MS-RDPBCGR 1.3.1.1 phase 3): Erect Domain, Attach User → user channel,
/// then one Channel Join per channel: the user channel, the I/O channel, each static channel, the message channel.
/// </summary>
internal static class ChannelsPhase
{
    internal static async Task<ChannelsResult> RunAsync(RdpSession session, PhaseRecord record, CancellationToken ct)
    {
        var io = new PhaseIo(session.Stream, record, ct);
        var joins = new List<ChannelJoin>();
        ushort? user = null;
        try
        {
            io.Doing = "sending Erect Domain and Attach User";
            await session.SendMcsAsync(io, Mcs.ErectDomainRequest(), "MCS Erect Domain Request").ConfigureAwait(false);
            await session.SendMcsAsync(io, Mcs.AttachUserRequest(), "MCS Attach User Request").ConfigureAwait(false);
            io.Doing = "waiting for the Attach User Confirm";
            var attach = await WaitForAsync(session, io, McsDomainPduType.AttachUserConfirm, "after the Attach User Request").ConfigureAwait(false);
            if (attach is null)
            {
                return new ChannelsResult(null, joins);
            }

            if (attach.Result != 0)
            {
                io.Record.Fail(Ending.NegotiationFailure, Codes.McsResult(attach.Result), $"the server refused Attach User: {Mcs.ResultName(attach.Result)}");
                return new ChannelsResult(null, joins);
            }

            user = attach.Initiator;
            session.UserChannelId = user;

            var wanted = new List<(ushort Id, string Name)> { (user.Value, "user"), (session.IoChannelId, "I/O") };
            var ids = session.Server?.Network?.ChannelIds ?? [];
            for (int i = 0; i < ids.Count; i++)
            {
                wanted.Add((ids[i], $"static channel {i + 1}"));
            }

            if (session.MessageChannelId is { } message)
            {
                wanted.Add((message, "message"));
            }

            foreach (var (id, name) in wanted)
            {
                io.Doing = $"joining the {name} channel {id}";
                await session.SendMcsAsync(io, Mcs.ChannelJoinRequest(user.Value, id), $"MCS Channel Join Request for the {name} channel {id}").ConfigureAwait(false);
                var confirm = await WaitForAsync(session, io, McsDomainPduType.ChannelJoinConfirm, $"after the Channel Join Request for channel {id}").ConfigureAwait(false);
                if (confirm is null)
                {
                    joins.Add(new ChannelJoin(id, name, null));
                    return new ChannelsResult(user, joins);
                }

                joins.Add(new ChannelJoin(id, name, confirm.Result));

                // Without the user and I/O channels nothing else can happen; a refused static channel is only noted.
                if (confirm.Result != 0 && (name is "user" or "I/O"))
                {
                    io.Record.Fail(Ending.NegotiationFailure, Codes.McsResult(confirm.Result), $"the server refused to join the {name} channel {id}: {Mcs.ResultName(confirm.Result)}");
                    return new ChannelsResult(user, joins);
                }
            }

            var refused = joins.Where(j => !j.Joined).Select(j => $"{j.ChannelId} ({j.ResultName})").ToList();
            io.Record.Detail = $"user channel {user}, joined {joins.Count(j => j.Joined)} of {joins.Count} channels" +
                (refused.Count > 0 ? $"; refused: {string.Join(", ", refused)}" : "");
        }
        catch (Exception ex)
        {
            io.RecordFailure(ex);
        }

        return new ChannelsResult(user, joins);
    }

    /// <summary>Reads until the wanted domain PDU; server errors and disconnects end the phase on the record.</summary>
    private static async Task<McsDomainMessage?> WaitForAsync(RdpSession session, PhaseIo io, McsDomainPduType wanted, string when)
    {
        for (int i = 0; i < RdpSession.MaxPdusPerPhase; i++)
        {
            foreach (var ev in await session.ReadEventsAsync(io, when).ConfigureAwait(false))
            {
                if (ev is McsEvent { Message: var m } && m.Type == wanted)
                {
                    return m;
                }

                if (SessionEnd.TryEnd(session, io, ev, when))
                {
                    return null;
                }
            }
        }

        throw new PhaseFailedException(Ending.ProtocolViolation, null, $"{when}: {RdpSession.MaxPdusPerPhase} PDUs without the {Mcs.DescribeType(wanted)}");
    }
}

/// <summary>The server PDUs that end any session phase: Set Error Info, Disconnect Provider Ultimatum, Server Redirection.</summary>
internal static class SessionEnd
{
    /// <summary>True when <paramref name="ev"/> ended the phase (the record says how).</summary>
    internal static bool TryEnd(RdpSession session, PhaseIo io, ServerEvent ev, string when)
    {
        string after = session.LastClientMessage is { } last ? $" (the server's answer to: {last})" : "";
        switch (ev)
        {
            case SetErrorInfoEvent { Code: not ErrorInfo.None } error:
                io.Record.Fail(Ending.ServerErrorInfo, Codes.ErrorInfo(error.Code),
                    $"the server sent Set Error Info 0x{error.Code:X} {ErrorInfo.Name(error.Code)} {when}{after}: {ErrorInfo.Meaning(error.Code)}");
                return true;
            case DisconnectEvent disconnect:
                string code = Mcs.ReasonName(disconnect.Reason);
                string errorInfo = session.LastErrorInfo != ErrorInfo.None ? $" after Set Error Info {ErrorInfo.Name(session.LastErrorInfo)}" : " without a Set Error Info";
                io.Record.Fail(Ending.Closed, Codes.McsDisconnect(disconnect.Reason), $"the server disconnected (MCS Disconnect Provider Ultimatum {code}){errorInfo} {when}{after}");
                return true;
            case RedirectionEvent:
                io.Record.Fail(Ending.ServerErrorInfo, Codes.ServerRedirection,
                    $"the server sent a Server Redirection PDU {when}: it is a connection broker or farm member sending the client to another server");
                return true;
            default:
                return false;
        }
    }
}
