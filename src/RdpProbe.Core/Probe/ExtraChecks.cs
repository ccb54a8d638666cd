using System.Net;
using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Probe;

/// <summary>
/// The checks after the main connection, each on connections of its own and each recorded as one phase after the
/// connection sequence: security_matrix (<see cref="SecurityMatrixCheck"/>), tls_versions (<see cref="TlsVersionsCheck"/>)
/// and encryption_levels (<see cref="EncryptionLevelsCheck"/>).
/// </summary>
internal static class ExtraChecks
{
    /// <summary>
    /// At most two extra connections at a time: xrdp listens with a backlog of 2, and more SYNs at once are dropped and
    /// retried a second later; a probe should not look like a flood either.
    /// </summary>
    private const int MaxExtraConnections = 2;

    public static async Task RunAsync(ProbeReport report, IPEndPoint endPoint, ProbeTarget target, ProbeOptions options, PhaseRunner runner)
    {
        bool tcpOk = report.Phases.Any(p => p.Phase == Phase.Tcp && p.Status == PhaseStatus.Ok);
        if (!tcpOk)
        {
            return;
        }

        using var gate = new SemaphoreSlim(MaxExtraConnections);
        var tasks = new List<Task>();
        PhaseRecord? matrix = null;
        PhaseRecord? versions = null;
        if (options.SecurityMatrix)
        {
            matrix = new PhaseRecord(Phase.SecurityMatrix);
            tasks.Add(SecurityMatrixCheck.RunAsync(report, matrix, endPoint, options, runner, gate));
        }

        // A TLS step offering every version that got no ServerHello at all (silence, a reset, a close: a black hole or a
        // middlebox) would end the same way for each single version: nothing to learn, and "not accepted" would mislead.
        bool tlsSelected = report.Negotiation.SelectedProtocol is { } selected && selected != SecurityProtocols.Rdp
            && report.Phases.Any(p => p.Phase == Phase.X224 && p.Status == PhaseStatus.Ok)
            && !report.Phases.Any(p => p.Phase == Phase.Tls && (p.Ending == Ending.Timeout || p.Code == Codes.BeforeServerHello));
        if (options.TlsVersions && tlsSelected)
        {
            versions = new PhaseRecord(Phase.TlsVersions);
            tasks.Add(TlsVersionsCheck.RunAsync(report, versions, endPoint, target, options, runner, gate));
        }

        // Client simulation (issue 10): worth connections only when the server may do TLS for a client's request. Not
        // when the first request asked for TLS and the server said SSL_NOT_ALLOWED_BY_SERVER (it does Standard RDP
        // Security only, MS-RDPBCGR 2.2.1.2.2) or selected PROTOCOL_RDP anyway (a server that supports TLS selects it
        // when asked, 3.3.5.3.1); nor when it never answered the Connection Request.
        PhaseRecord? simulation = null;
        bool x224Answered = report.Phases.Any(p => p.Phase == Phase.X224 && (p.Status == PhaseStatus.Ok || p.Ending == Ending.NegotiationFailure));
        var first = report.Attempts.Count > 0 ? report.Attempts[0] : null;
        var firstRequest = first?.RequestedProtocols ?? report.Negotiation.RequestedProtocols;
        bool askedTls = (firstRequest & (SecurityProtocols.Ssl | SecurityProtocols.Hybrid | SecurityProtocols.HybridEx | SecurityProtocols.RdsTls)) != 0;
        var firstSelected = first is null ? report.Negotiation.SelectedProtocol : first.SelectedProtocol;
        var firstFailure = first is null ? report.Negotiation.FailureCode : first.FailureCode;
        bool noTls = askedTls && (firstFailure == NegotiationFailureCode.SslNotAllowedByServer || firstSelected == SecurityProtocols.Rdp);
        if (options.ClientSimulation && x224Answered && !noTls && ClientSimulationCheck.Profiles(options).Count > 0)
        {
            simulation = new PhaseRecord(Phase.ClientSimulation);
            tasks.Add(ClientSimulationCheck.RunAsync(report, simulation, endPoint, target, options, runner, gate));
        }

        await Task.WhenAll(tasks).ConfigureAwait(false);
        if (matrix is not null)
        {
            report.Phases.Add(matrix);
        }

        if (versions is not null)
        {
            report.Phases.Add(versions);
        }

        if (simulation is not null)
        {
            report.Phases.Add(simulation);
        }

        // Standard RDP security is on offer when the main connection selected it or the matrix saw PROTOCOL_RDP
        // supported: then which RC4 key sizes / FIPS the server takes is the next question (rdp-sec-check's).
        bool rdpSecurity = report.Negotiation.SelectedProtocol == SecurityProtocols.Rdp
            || report.Negotiation.Matrix?.Any(e => e.Protocol == SecurityProtocols.Rdp && e.Status == SupportStatus.Supported) == true;
        if (options.EncryptionLevels && rdpSecurity)
        {
            var levels = new PhaseRecord(Phase.EncryptionLevels);
            await EncryptionLevelsCheck.RunAsync(report, levels, endPoint, options, runner).ConfigureAwait(false);
            report.Phases.Add(levels);
        }
    }

    /// <summary>Runs <paramref name="work"/> once <paramref name="gate"/> lets another connection open.</summary>
    public static async Task<T> Gated<T>(SemaphoreSlim gate, Func<Task<T>> work, CancellationToken ct)
    {
        await gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            return await work().ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }
}
