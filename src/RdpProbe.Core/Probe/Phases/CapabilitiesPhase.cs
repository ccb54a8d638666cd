using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Probe.Phases;

internal sealed record CapabilitiesResult(DemandActivePdu? DemandActive, CapabilitySummary? Summary)
{
    public bool ReachedDemandActive => DemandActive is not null;
}

/// <summary>
/// The capabilities phase (MS-RDPBCGR 1.3.1.1 phase 9): wait for Demand Active — or a Set Error Info, a Disconnect
/// Provider Ultimatum, a Server Redirection first — summarise the server's capability sets, then hang up politely
/// with a Disconnect Provider Ultimatum instead of confirming.
/// </summary>
internal static class CapabilitiesPhase
{
    internal static async Task<CapabilitiesResult> RunAsync(RdpSession session, PhaseRecord record, CancellationToken ct)
    {
        var io = new PhaseIo(session.Stream, record, ct) { Doing = "waiting for Demand Active" };
        const string when = "while waiting for Demand Active";
        try
        {
            var demand = session.PendingDemandActive;
            session.PendingDemandActive = null;
            for (int i = 0; demand is null && i < RdpSession.MaxPdusPerPhase; i++)
            {
                foreach (var ev in await session.ReadEventsAsync(io, when).ConfigureAwait(false))
                {
                    if (ev is DemandActiveEvent d)
                    {
                        demand = d.Pdu;
                        break;
                    }

                    if (SessionEnd.TryEnd(session, io, ev, when))
                    {
                        return new CapabilitiesResult(null, null);
                    }
                }
            }

            if (demand is null)
            {
                throw new PhaseFailedException(Ending.ProtocolViolation, null, $"{RdpSession.MaxPdusPerPhase} PDUs without Demand Active");
            }

            var summary = Capabilities.Summarize(demand.Capabilities);
            record.Detail = $"Demand Active from \"{demand.SourceDescriptor}\": {summary.Describe()}";
            io.Doing = "disconnecting";
            try
            {
                await session.DisconnectAsync(io).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException)
            {
                // Demand Active arrived, which is what this phase is about; a server already gone changes nothing.
            }

            return new CapabilitiesResult(demand, summary);
        }
        catch (Exception ex)
        {
            io.RecordFailure(ex);
            return new CapabilitiesResult(null, null);
        }
    }
}
