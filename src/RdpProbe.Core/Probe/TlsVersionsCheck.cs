using System.Net;
using Org.BouncyCastle.Tls;
using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Probe;

/// <summary>
/// The tls_versions check: one connection per TLS version, each offering only that version after the same X.224
/// request as the main connection. A version is accepted when the handshake completes, not accepted when the server
/// turns the ClientHello down (an alert, a close, a reset), unknown when nothing could be learnt.
/// </summary>
internal static class TlsVersionsCheck
{
    private static readonly (string Name, ProtocolVersion Version)[] Versions =
        [("tls1.0", ProtocolVersion.TLSv10), ("tls1.1", ProtocolVersion.TLSv11), ("tls1.2", ProtocolVersion.TLSv12), ("tls1.3", ProtocolVersion.TLSv13)];

    public static async Task RunAsync(ProbeReport report, PhaseRecord record, IPEndPoint endPoint, ProbeTarget target, ProbeOptions options, PhaseRunner runner, SemaphoreSlim gate)
    {
        TimeSpan budget = (options.PhaseTimeout * 8) + TimeSpan.FromSeconds(1);
        await runner.RunAsync(record, null, budget, async context =>
        {
            context.AllWire = true;
            context.OnTimeout = () => (null, "the TLS version connections did not finish in time");
            var results = await Task.WhenAll(Versions.Select(v => ExtraChecks.Gated(gate, () => VersionAsync(v.Version, endPoint, target, options, context.Token), context.Token))).ConfigureAwait(false);
            var versions = new Dictionary<string, bool?>();
            for (int i = 0; i < Versions.Length; i++)
            {
                versions[Versions[i].Name] = results[i].Accepted;
                record.Messages.Add(new WireMessage(Direction.Received, results[i].Ms, 0, $"{Versions[i].Name}: {results[i].Detail}"));
            }

            report.Tls ??= new TlsFacts();
            report.Tls.Versions = versions;
            record.Detail = string.Join(", ", versions.Select(v => $"{v.Key} {(v.Value is null ? "unknown" : v.Value.Value ? "yes" : "no")}"));
        }).ConfigureAwait(false);
    }

    /// <param name="ct">The check's token (its budget and the user's): its cancellation propagates, a single timeout does not.</param>
    private static async Task<(bool? Accepted, string Detail, double Ms)> VersionAsync(ProtocolVersion version, IPEndPoint endPoint, ProbeTarget target, ProbeOptions options, CancellationToken ct)
    {
        var record = new PhaseRecord(Phase.TlsVersions);
        var clock = new PhaseClock(null);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(options.PhaseTimeout * 2);
        TlsMessageLog? log = null;
        try
        {
            await using var connection = await ProbeConnection.ConnectAsync(endPoint, timeout.Token).ConfigureAwait(false);
            var request = X224Exchange.BuildRequest(options.RequestedProtocols, options.Cookie, options.RoutingToken);
            var confirm = await X224Exchange.RunAsync(connection.Stream, request, record, clock, timeout.Token).ConfigureAwait(false);
            if (confirm.SelectedProtocol is null or SecurityProtocols.Rdp)
            {
                return (null, "the server did not select a TLS-based protocol on this connection", PhaseClock.Round(clock.ElapsedMs));
            }

            log = new TlsMessageLog(record, clock);
            connection.Stream.Tap = log.Observe;
            var client = new ProbeTlsClient([version], target.IsLiteral ? null : target.Host, clock.Start);
            var session = await TlsSession.HandshakeAsync(connection.Stream, client, log, timeout.Token).ConfigureAwait(false);
            await session.CloseAsync(timeout.Token).ConfigureAwait(false);
            return (true, $"accepted ({ProbeTlsClient.CipherSuiteName(client.SelectedCipherSuite ?? 0)})", PhaseClock.Round(clock.ElapsedMs));
        }
        catch (PhaseFailedException ex) when (log is not null)
        {
            // The server turned this version down: an alert, a close or a reset after the ClientHello.
            return (ex.Ending == Ending.Timeout ? null : false, $"not accepted: {ex.Message}", PhaseClock.Round(clock.ElapsedMs));
        }
        catch (PhaseFailedException ex)
        {
            return (null, $"could not test: {ex.Message}", PhaseClock.Round(clock.ElapsedMs));
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return (null, "no answer in time (unknown)", PhaseClock.Round(clock.ElapsedMs));
        }
        catch (Exception ex) when (TransportErrors.Classify(ex, userToken: ct) is { } failure)
        {
            return (log is null ? null : false, $"{(log is null ? "could not test" : "not accepted")}: {failure.Detail}", PhaseClock.Round(clock.ElapsedMs));
        }
    }
}
