using System.Net;
using RdpProbe.Diagnosis;
using RdpProbe.Probe.Phases;
using RdpProbe.Protocol;

namespace RdpProbe.Probe;

/// <summary>
/// The encryption_levels check, when the server accepts standard RDP security: one connection per encryption method
/// (40, 56, 128-bit, FIPS), each offering that method alone (the matrix itself is <see cref="EncryptionLevelMatrix"/>).
/// </summary>
internal static class EncryptionLevelsCheck
{
    public static async Task RunAsync(ProbeReport report, PhaseRecord record, IPEndPoint endPoint, ProbeOptions options, PhaseRunner runner)
    {
        TimeSpan budget = (options.PhaseTimeout * 2 * EncryptionLevelMatrix.Methods.Count) + TimeSpan.FromSeconds(1);
        await runner.RunAsync(record, null, budget, async context =>
        {
            context.AllWire = true;
            context.OnTimeout = () => (null, "the encryption-level connections did not finish in time");
            report.Negotiation.EncryptionLevels = await EncryptionLevelMatrix.RunAsync(c => ConnectStandardSecurityAsync(endPoint, options, c), record, context.Token).ConfigureAwait(false);
            if (record.Status == PhaseStatus.Failed)
            {
                throw new PhaseFailedException(record.Ending, record.Code, record.Detail ?? "no encryption-level connection got an answer");
            }
        }).ConfigureAwait(false);
    }

    /// <summary>A new connection whose X.224 exchange selected PROTOCOL_RDP; the caller owns (and disposes) the stream.</summary>
    private static async Task<Stream> ConnectStandardSecurityAsync(IPEndPoint endPoint, ProbeOptions options, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(options.PhaseTimeout);
        var connection = await ProbeConnection.ConnectAsync(endPoint, timeout.Token).ConfigureAwait(false);
        try
        {
            var request = X224Exchange.BuildRequest(SecurityProtocols.Rdp, options.Cookie, options.RoutingToken);
            var confirm = await X224Exchange.RunAsync(connection.Stream, request, new PhaseRecord(Phase.X224), new PhaseClock(null), timeout.Token).ConfigureAwait(false);
            if (confirm.FailureCode is { } failure)
            {
                throw new PhaseFailedException(Ending.NegotiationFailure, Codes.NegotiationFailure(failure), $"RDP_NEG_FAILURE {failure.ToReportName()}");
            }

            return connection.Stream;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
