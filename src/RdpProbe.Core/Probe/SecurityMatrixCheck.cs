using System.Net;
using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Probe;

/// <summary>
/// The security_matrix check: one short connection per protocol (2 RTT each), two at a time. supported = selected what
/// was asked; downgraded = selected something else (xrdp asked HYBRID selects RDP); refused = RDP_NEG_FAILURE or a
/// disconnect; error = no usable answer. NLA is required only when RDP and SSL are both refused with a failure code and
/// HYBRID(_EX) works.
/// </summary>
internal static class SecurityMatrixCheck
{
    private static readonly SecurityProtocols[] Protocols =
        [SecurityProtocols.Rdp, SecurityProtocols.Ssl, SecurityProtocols.Hybrid, SecurityProtocols.RdsTls, SecurityProtocols.HybridEx, SecurityProtocols.RdsAad];

    public static async Task RunAsync(ProbeReport report, PhaseRecord record, IPEndPoint endPoint, ProbeOptions options, PhaseRunner runner, SemaphoreSlim gate)
    {
        // Each connection has its own timeout; the budget only bounds the whole check (6 connections, 2 at a time).
        TimeSpan budget = (options.PhaseTimeout * 6) + TimeSpan.FromSeconds(1);
        await runner.RunAsync(record, null, budget, async context =>
        {
            context.AllWire = true;
            context.OnTimeout = () => (null, "the matrix connections did not finish in time");
            var entries = await Task.WhenAll(Protocols.Select(p => ExtraChecks.Gated(gate, () => EntryAsync(p, endPoint, options, context.Token), context.Token))).ConfigureAwait(false);
            foreach (var entry in entries)
            {
                record.Messages.Add(new WireMessage(Direction.Received, entry.Ms, 0, $"{entry.Protocol.ToReportName()}: {entry.Status.ToString().ToLowerInvariant()} — {entry.Detail}"));
            }

            report.Negotiation.Matrix = entries;
            report.Negotiation.NlaRequired = NlaRequired(entries);
            if (entries.All(e => e.Status == SupportStatus.Error))
            {
                var first = entries[0];
                throw new PhaseFailedException(first.Ending, first.Code, $"no matrix connection got an answer: {first.Detail}");
            }

            record.Detail = string.Join(", ", entries.Select(e => $"{e.Protocol.ToReportName()} {e.Status.ToString().ToLowerInvariant()}"))
                + $"; NLA {(report.Negotiation.NlaRequired == true ? "required" : "not required")}";
        }).ConfigureAwait(false);
    }

    internal static bool? NlaRequired(IReadOnlyList<MatrixEntry> entries)
    {
        MatrixEntry? Get(SecurityProtocols p) => entries.FirstOrDefault(e => e.Protocol == p);
        var rdp = Get(SecurityProtocols.Rdp);
        var ssl = Get(SecurityProtocols.Ssl);
        if (rdp is null || ssl is null || rdp.Status == SupportStatus.Error || ssl.Status == SupportStatus.Error)
        {
            return null;
        }

        bool nonNlaRefused = rdp is { Status: SupportStatus.Refused, FailureCode: not null } && ssl is { Status: SupportStatus.Refused, FailureCode: not null };
        bool nlaWorks = entries.Any(e => e.Protocol is SecurityProtocols.Hybrid or SecurityProtocols.HybridEx && e.Status == SupportStatus.Supported);
        return nonNlaRefused && nlaWorks;
    }

    /// <param name="ct">The check's token (its budget and the user's): its cancellation propagates, a single timeout does not.</param>
    private static async Task<MatrixEntry> EntryAsync(SecurityProtocols protocol, IPEndPoint endPoint, ProbeOptions options, CancellationToken ct)
    {
        var record = new PhaseRecord(Phase.X224);
        var clock = new PhaseClock(null);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(options.PhaseTimeout);
        try
        {
            await using var connection = await ProbeConnection.ConnectAsync(endPoint, timeout.Token).ConfigureAwait(false);
            var request = X224Exchange.BuildRequest(protocol, options.Cookie, options.RoutingToken);
            var confirm = await X224Exchange.RunAsync(connection.Stream, request, record, clock, timeout.Token).ConfigureAwait(false);
            double ms = PhaseClock.Round(clock.ElapsedMs);
            if (confirm.FailureCode is { } failure)
            {
                return new MatrixEntry(protocol, SupportStatus.Refused, null, failure, Ending.NegotiationFailure, Codes.NegotiationFailure(failure),
                    $"RDP_NEG_FAILURE {(uint)failure} {failure.ToReportName()}", ms);
            }

            var selected = confirm.IsLegacy ? SecurityProtocols.Rdp : confirm.SelectedProtocol ?? SecurityProtocols.Rdp;
            return selected == protocol
                ? new MatrixEntry(protocol, SupportStatus.Supported, selected, null, Ending.Ok, null, $"selected {selected.ToReportName()}", ms)
                : new MatrixEntry(protocol, SupportStatus.Downgraded, selected, null, Ending.Ok, null, $"selected {selected.ToReportName()} instead", ms);
        }
        catch (PhaseFailedException ex)
        {
            // A disconnect in place of a Connection Confirm is the server's way of saying no (xrdp's DPUM for RDSAAD).
            var status = ex.Ending == Ending.Closed && (ex.Code == Codes.McsDisconnectProviderUltimatum || ex.Code == Codes.X224DisconnectRequest)
                ? SupportStatus.Refused : SupportStatus.Error;
            return new MatrixEntry(protocol, status, null, null, ex.Ending, ex.Code, ex.Message, PhaseClock.Round(clock.ElapsedMs));
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return new MatrixEntry(protocol, SupportStatus.Error, null, null, Ending.Timeout, null, $"no answer within {PhaseRunner.Describe(options.PhaseTimeout)}", PhaseClock.Round(clock.ElapsedMs));
        }
        catch (Exception ex) when (TransportErrors.Classify(ex, userToken: ct) is { } failure)
        {
            return new MatrixEntry(protocol, SupportStatus.Error, null, null, failure.Ending, failure.Code, failure.Detail, PhaseClock.Round(clock.ElapsedMs));
        }
    }
}
