using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Probe.Phases;

/// <summary>What the session phases need besides the connection.</summary>
/// <param name="Credentials">Who logs on; null for an anonymous probe.</param>
/// <param name="NlaUsed">CredSSP already delivered the credentials (then the Client Info PDU carries no password).</param>
internal sealed record SessionOptions(CredSspCredentials? Credentials, bool NlaUsed, McsOptions? Mcs = null);

/// <summary>Every session phase's typed result, as far as the sequence got.</summary>
internal sealed class SessionOutcome
{
    public McsResult? Mcs { get; internal set; }
    public ChannelsResult? Channels { get; internal set; }
    public SecurityExchangeResult? SecurityExchange { get; internal set; }
    public ClientInfoResult? ClientInfo { get; internal set; }
    public LicensingResult? Licensing { get; internal set; }
    public CapabilitiesResult? Capabilities { get; internal set; }

    public bool ReachedDemandActive => Capabilities?.ReachedDemandActive == true;
}

/// <summary>
/// The session phases in connection order (MS-RDPBCGR 1.3.1.1 phases 2–9): mcs → channels → security_exchange
/// (standard RDP security with encryption only) → client_info → licensing → capabilities, stopping after the first
/// phase that does not end ok (or a licensing exchange this probe cannot finish).
/// </summary>
internal static class SessionSequence
{
    /// <param name="runPhase">
    /// The engine's wrapper for one phase: it creates the phase's record, applies the per-phase timeout and timing,
    /// runs the body with the record and the phase's token, and returns the record.
    /// </param>
    internal static async Task<SessionOutcome> RunAsync(RdpSession session, SessionOptions options, Func<Phase, Func<PhaseRecord, CancellationToken, Task>, Task<PhaseRecord>> runPhase)
    {
        var outcome = new SessionOutcome();
        static bool Ok(PhaseRecord record) => record.Status == PhaseStatus.Ok;

        if (!Ok(await runPhase(Phase.Mcs, async (r, ct) => outcome.Mcs = await McsPhase.RunAsync(session, options.Mcs ?? new McsOptions(), r, ct).ConfigureAwait(false)).ConfigureAwait(false)))
        {
            return outcome;
        }

        if (!Ok(await runPhase(Phase.Channels, async (r, ct) => outcome.Channels = await ChannelsPhase.RunAsync(session, r, ct).ConfigureAwait(false)).ConfigureAwait(false)))
        {
            return outcome;
        }

        if (session.StandardEncryption)
        {
            var exchange = await runPhase(Phase.SecurityExchange, async (r, ct) => outcome.SecurityExchange = await SecurityExchangePhase.RunAsync(session, r, ct).ConfigureAwait(false)).ConfigureAwait(false);
            if (!Ok(exchange) || outcome.SecurityExchange?.Established != true)
            {
                return outcome;
            }
        }

        if (!Ok(await runPhase(Phase.ClientInfo, async (r, ct) => outcome.ClientInfo = await ClientInfoPhase.RunAsync(session, options.Credentials, options.NlaUsed, r, ct).ConfigureAwait(false)).ConfigureAwait(false)))
        {
            return outcome;
        }

        var licensing = await runPhase(Phase.Licensing, async (r, ct) => outcome.Licensing = await LicensingPhase.RunAsync(session, r, ct).ConfigureAwait(false)).ConfigureAwait(false);
        if (!Ok(licensing) || outcome.Licensing?.CanContinue != true)
        {
            return outcome;
        }

        await runPhase(Phase.Capabilities, async (r, ct) => outcome.Capabilities = await CapabilitiesPhase.RunAsync(session, r, ct).ConfigureAwait(false)).ConfigureAwait(false);
        return outcome;
    }
}
