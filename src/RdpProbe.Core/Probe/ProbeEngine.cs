using System.Net;
using RdpProbe.Diagnosis;
using RdpProbe.Probe.Phases;
using RdpProbe.Protocol;

namespace RdpProbe.Probe;

/// <summary>
/// The live probe: for each address, the connection sequence (<see cref="ConnectionSequence"/>: dns → tcp → x224 → tls
/// → credssp → early_auth → the session phases), retried on new connections the way the chosen client
/// (<see cref="ProbeOptions.Client"/>) falls back, then the extra checks on connections of their own
/// (<see cref="ExtraChecks"/>), the findings (<see cref="FindingRules"/>) and the verdict as that client sees it
/// (<see cref="ClientJudgement"/>). Every phase runs through one <see cref="PhaseRunner"/> with its own timeout; the
/// caller's token (Ctrl+C) cancels everything and is never turned into a timeout.
/// </summary>
/// <remarks>
/// Fallback (issue 10): after an RDP_NEG_FAILURE (MS-RDPBCGR 2.2.1.2.2) the probe does what the profile's client does
/// (<see cref="ClientProfile.FallbackAfter"/>): a new connection with the next request, each recorded in
/// <see cref="ProbeReport.Attempts"/>. An explicit request (<see cref="ProbeOptions.ProtocolsForced"/>, --protocols) is
/// never retried with another one: the user asked to see the answer to that request.
/// The password on a fallback: a retry that asks for Standard RDP Security alone runs the session without the password
/// (an anonymous Client Info PDU, as without credentials). A real client sends it there after the user accepted
/// "the identity of the remote computer cannot be verified" (mstsc) or silently (FreeRDP), RC4-encrypted under a key
/// nothing authenticates (MS-RDPBCGR 5.3): a man in the middle gets it. The probe has no user to accept that warning,
/// so it never decides so on the user's behalf; --protocols rdp is how the user says yes (then the password guard,
/// Phases/PasswordGuard.cs, lets it go encrypted and still refuses encryption none).
/// </remarks>
public sealed class ProbeEngine(ProbeOptions options)
{
    /// <summary>Who to log on as (issue 3); null probes without credentials. Kept out of <see cref="ProbeOptions"/> so
    /// options can be printed and serialised without a password ever coming along.</summary>
    internal CredSspCredentials? Credentials { get; init; }

    /// <summary>Name resolution (tests give a name several addresses); null uses the system resolver.</summary>
    internal Func<string, CancellationToken, Task<IPAddress[]>>? Resolver { get; init; }

    public ProbeOptions Options { get; } = options;

    /// <summary>Probe as this user; the password stays inside the credentials object (its ToString hides it).</summary>
    public ProbeEngine WithCredentials(string userSpec, string password)
        => new(Options) { Credentials = CredSspCredentials.FromUserSpec(userSpec, password), Resolver = Resolver };

    /// <summary>
    /// Resolves the target (dns phase for names) and probes it: with AllAddresses each address; otherwise the addresses
    /// in turn until one answers at tcp, as clients do (<see cref="ProbeReport.AddressAttempts"/>).
    /// </summary>
    public async Task<IReadOnlyList<ProbeReport>> RunAsync(ProbeTarget target, CancellationToken ct)
    {
        if (target.Address is { } literal)
        {
            return [await ProbeAddressAsync(target, literal, [literal], null, ct).ConfigureAwait(false)];
        }

        var (dns, addresses) = await ConnectionSequence.ResolveAsync(target, new PhaseRunner(Options.PhaseTimeout, ct), Resolver).ConfigureAwait(false);
        if (addresses.Length == 0)
        {
            var failed = new ProbeReport(target);
            failed.Phases.Add(dns);
            ClientJudgement.Apply(failed, Options, Credentials is not null);
            return [failed];
        }

        if (Options.AllAddresses)
        {
            var reports = new List<ProbeReport>();
            foreach (var address in addresses)
            {
                reports.Add(await ProbeAddressAsync(target, address, addresses, dns, ct).ConfigureAwait(false));
            }

            return reports;
        }

        return [await WalkAddressesAsync(target, addresses, dns, ct).ConfigureAwait(false)];
    }

    /// <summary>
    /// The addresses in the resolver's order until one answers at tcp (refused, timeout and unreachable move on, like
    /// mstsc and FreeRDP walking getaddrinfo's list): that one's report, with every address tried; when none answers,
    /// the first address's report (the tcp failure is then the verdict).
    /// </summary>
    private async Task<ProbeReport> WalkAddressesAsync(ProbeTarget target, IPAddress[] addresses, PhaseRecord dns, CancellationToken ct)
    {
        var tried = new List<AddressAttempt>();
        ProbeReport? first = null;
        ProbeReport? answered = null;
        foreach (var address in addresses)
        {
            var report = await ProbeAddressAsync(target, address, addresses, dns, ct).ConfigureAwait(false);
            first ??= report;
            var tcp = report.Phases.FirstOrDefault(p => p.Phase == Phase.Tcp);
            bool dead = tcp is { Status: PhaseStatus.Failed, Ending: Ending.Refused or Ending.Timeout or Ending.Unreachable };
            tried.Add(dead
                ? new AddressAttempt(address, false, Phase.Tcp, tcp!.Ending, tcp.Code?.Word, tcp.Detail, tcp.WallMs ?? tcp.Ms)
                : new AddressAttempt(address, true, report.Verdict.Phase, report.Verdict.Ending, report.Verdict.Code?.Word, tcp?.Detail, tcp?.WallMs ?? tcp?.Ms));
            if (!dead)
            {
                answered = report;
                break;
            }
        }

        var chosen = answered ?? first!;
        chosen.AddressAttempts = tried;
        if (answered is not null && tried.Count > 1)
        {
            chosen.Findings.Add(FindingRules.AddressUnreachable(tried[0].Address, tried[0].Ending, tried[0].Ms, answered.Address!, [.. tried.Skip(1).SkipLast(1).Select(t => t.Address)]));
            Sort(chosen.Findings);
        }

        return chosen;
    }

    /// <summary>
    /// Probes one address: the connection sequence on one socket (again on a new one for each fallback the client
    /// would make), then the extra checks on their own sockets, the findings and the client's verdict.
    /// </summary>
    public async Task<ProbeReport> ProbeAddressAsync(ProbeTarget target, IPAddress address, IReadOnlyList<IPAddress> resolved, PhaseRecord? dns, CancellationToken ct)
    {
        var runner = new PhaseRunner(Options.PhaseTimeout, ct);
        var endPoint = new IPEndPoint(address, target.Port);
        var profile = Options.Client;
        var attempts = new List<ProbeAttempt>();
        var request = Options.RequestedProtocols;
        int fallbackIndex = -1;
        bool withhold = false;
        var startedAt = DateTimeOffset.UtcNow;
        while (true)
        {
            // Each attempt fills a report of its own (negotiation, TLS, session facts); the last one is returned.
            var report = new ProbeReport(target) { Address = address, ResolvedAddresses = resolved, StartedAt = startedAt };
            if (dns is not null)
            {
                report.Phases.Add(dns);
            }

            var attemptOptions = Options with { RequestedProtocols = request };
            var credentials = withhold ? null : Credentials;
            await new ConnectionSequence(attemptOptions, credentials, report, runner).RunAsync(endPoint, target).ConfigureAwait(false);
            var phases = report.Phases.Where(p => p.Phase != Phase.Dns).ToList();
            var attempt = new ProbeAttempt(request, phases, report.Negotiation.SelectedProtocol, report.Negotiation.FailureCode, Verdict.From(phases), null)
            {
                PasswordWithheld = withhold && Credentials is not null,
            };

            // MS-RDPBCGR 2.2.1.2.2: an RDP_NEG_FAILURE ends the connection; the client may reconnect with another request.
            bool refused = phases.Any(p => p is { Phase: Phase.X224, Status: PhaseStatus.Failed, Ending: Ending.NegotiationFailure });
            if (refused && !Options.ProtocolsForced && report.Negotiation.FailureCode is { } code && profile.FallbackAfter(code, fallbackIndex) is { } next)
            {
                attempts.Add(attempt with { FallbackReason = code.ToReportName() });
                (fallbackIndex, var step) = next;
                request = step.Retry;
                withhold = request == SecurityProtocols.Rdp;
                continue;
            }

            attempts.Add(attempt);
            report.Attempts = attempts;
            await ExtraChecks.RunAsync(report, endPoint, target, attemptOptions, runner).ConfigureAwait(false);
            ClientJudgement.Apply(report, Options, Credentials is not null);

            // NLA without credentials ends, correctly, after the NTLM challenge; the next step is the user's to take.
            if (report.Verdict is { Ok: true, Phase: Phase.Credssp } && Credentials is null && Options.SessionPhases)
            {
                report.NextStep = NextStep.CredentialsNeeded;
                report.Verdict = report.Verdict with
                {
                    Summary = report.Verdict.Summary
                        + (report.Negotiation.NlaRequired == true ? " The server requires" : " The server chose")
                        + " Network Level Authentication: credentials are needed to test the logon and go on to Demand Active.",
                };
            }

            return report;
        }
    }

    /// <summary>Most severe first, stable within a severity.</summary>
    internal static void Sort(List<Finding> findings)
    {
        var sorted = findings.Select((f, i) => (f, i)).OrderBy(x => x.f.Severity).ThenBy(x => x.i).Select(x => x.f).ToList();
        findings.Clear();
        findings.AddRange(sorted);
    }
}
