using System.Net;
using RdpProbe.Diagnosis;
using RdpProbe.Net;
using RdpProbe.Probe.Phases;

namespace RdpProbe.Probe;

/// <summary>
/// The live probe: for each address, the connection sequence (<see cref="ConnectionSequence"/>: dns → tcp → x224 → tls
/// → credssp → early_auth → the session phases), then the extra checks on connections of their own
/// (<see cref="ExtraChecks"/>), the security findings and the verdict. Every phase runs through one
/// <see cref="PhaseRunner"/> with its own timeout; the caller's token (Ctrl+C) cancels everything and is never turned
/// into a timeout.
/// </summary>
public sealed class ProbeEngine(ProbeOptions options)
{
    /// <summary>Who to log on as (issue 3); null probes without credentials. Kept out of <see cref="ProbeOptions"/> so
    /// options can be printed and serialised without a password ever coming along.</summary>
    internal CredSspCredentials? Credentials { get; init; }

    public ProbeOptions Options { get; } = options;

    /// <summary>Probe as this user; the password stays inside the credentials object (its ToString hides it).</summary>
    public ProbeEngine WithCredentials(string userSpec, string password)
        => new(Options) { Credentials = CredSspCredentials.FromUserSpec(userSpec, password) };

    /// <summary>Resolves the target (dns phase for names) and probes the first address, or each with AllAddresses
    /// (the one address policy, <see cref="Resolver"/>).</summary>
    public async Task<IReadOnlyList<ProbeReport>> RunAsync(ProbeTarget target, CancellationToken ct)
    {
        var resolution = await Resolver.System.ResolveAsync(target.HostPort, Options.PhaseTimeout, ct).ConfigureAwait(false);
        if (!resolution.Ok)
        {
            var failed = new ProbeReport(target);
            failed.Phases.Add(resolution.Dns!);
            failed.Verdict = Verdict.From(failed.Phases);
            return [failed];
        }

        var reports = new List<ProbeReport>();
        foreach (var address in Resolver.Choose(resolution.Addresses, Options.AllAddresses))
        {
            reports.Add(await ProbeAddressAsync(target, address, resolution.Addresses, resolution.Dns, ct).ConfigureAwait(false));
        }

        return reports;
    }

    /// <summary>Probes one address: the connection sequence on one socket, then the extra checks on their own sockets.</summary>
    public async Task<ProbeReport> ProbeAddressAsync(ProbeTarget target, IPAddress address, IReadOnlyList<IPAddress> resolved, PhaseRecord? dns, CancellationToken ct)
    {
        var report = new ProbeReport(target) { Address = address, ResolvedAddresses = resolved };
        if (dns is not null)
        {
            report.Phases.Add(dns);
        }

        var runner = new PhaseRunner(Options.PhaseTimeout, ct);
        var endPoint = new IPEndPoint(address, target.Port);
        await new ConnectionSequence(Options, Credentials, report, runner).RunAsync(endPoint, target).ConfigureAwait(false);
        await ExtraChecks.RunAsync(report, endPoint, target, Options, runner).ConfigureAwait(false);
        SecurityFindings.Add(report);
        report.Verdict = Verdict.From(report.Phases);

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
