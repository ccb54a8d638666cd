using System.Net;
using Org.BouncyCastle.Tls;
using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Probe;

/// <summary>
/// One connection of the client simulation: the offer (X.224 request, TLS versions, cipher suites), the profiles that
/// send it, the suites actually sent and what the server did.
/// </summary>
/// <param name="Profiles">The profiles whose connection this is (profiles with the same offer share it).</param>
/// <param name="Offer">The X.224 request and the ClientHello's versions and suites as the profiles define them.</param>
/// <param name="Result">What the server did.</param>
/// <param name="Ms">Time of the connection from connect to its end.</param>
public sealed record SimulatedConnection(IReadOnlyList<string> Profiles, ClientOffer Offer, SimulatedHandshake Result, double Ms);

/// <summary>
/// The client_simulation check (issue 10, like testssl.sh's client simulation for RDP): for each client profile whose
/// TLS offer differs from the probe's own (every real client: the probe offers TLS 1.0–1.3 and a wide suite list), a
/// short connection with exactly that profile's X.224 request, then a ClientHello with exactly its TLS versions and
/// cipher suites (<see cref="ClientProfile.TlsCipherSuites"/>). After an RDP_NEG_FAILURE the profile's own fallback
/// request is tried on a new connection, as the client would (MS-RDPBCGR 2.2.1.2.2). One connection per distinct offer,
/// two at a time with the other extra checks, one shared budget. The answers feed <see cref="ClientCompatibility"/>
/// through <see cref="SecurityFacts.ClientHandshakes"/> and the X.224 answers through <see cref="SecurityFacts.Negotiations"/>.
/// </summary>
/// <remarks>
/// The versions and suites are the profile's; the rest of the ClientHello (supported groups, signature algorithms,
/// extension order) is BouncyCastle's. Suites BouncyCastle cannot offer (RC4, DHE-DSS: Windows 7's list) are left out
/// and named in <see cref="SimulatedHandshake.NotOffered"/>, so a refusal is then not taken as conclusive.
/// </remarks>
internal static class ClientSimulationCheck
{
    /// <summary>The profiles the simulation makes connections for: every real client with a modelled suite list, and the chosen one.</summary>
    internal static IReadOnlyList<ClientProfile> Profiles(ProbeOptions options)
    {
        var list = options.SimulateAllClients ? ClientProfiles.RealClients.Where(p => p.TlsCipherSuites.Count > 0).ToList() : [];
        if (options.Client != ClientProfiles.Permissive && options.Client.TlsCipherSuites.Count > 0 && list.All(p => p.Name != options.Client.Name))
        {
            list.Add(options.Client);
        }

        return list;
    }

    public static async Task RunAsync(ProbeReport report, PhaseRecord record, IPEndPoint endPoint, ProbeTarget target, ProbeOptions options, PhaseRunner runner, SemaphoreSlim gate)
    {
        var profiles = Profiles(options);
        TimeSpan budget = (options.PhaseTimeout * 8) + TimeSpan.FromSeconds(1);
        await runner.RunAsync(record, null, budget, async context =>
        {
            context.AllWire = true;
            context.OnTimeout = () => (null, "the client simulation connections did not finish in time");
            var connections = new Dictionary<string, (ClientOffer Offer, List<string> Profiles, Task<(SimulatedHandshake Result, double Ms)> Run)>();
            var order = new List<string>();
            var sync = new object();

            Task<(SimulatedHandshake Result, double Ms)> Connection(ClientOffer offer, string profile)
            {
                lock (sync)
                {
                    if (!connections.TryGetValue(offer.Key, out var entry))
                    {
                        entry = (offer, [], ExtraChecks.Gated(gate, () => HandshakeAsync(offer, endPoint, target, options, context.Token), context.Token));
                        connections[offer.Key] = entry;
                        order.Add(offer.Key);
                    }

                    entry.Profiles.Add(profile);
                    return entry.Run;
                }
            }

            // A profile's walk: its first request, then its fallbacks while the server refuses (bounded by the fallback list).
            async Task<SimulatedHandshake> Walk(ClientProfile profile)
            {
                var request = profile.RequestedProtocols;
                int step = -1;
                SimulatedHandshake last;
                while (true)
                {
                    last = (await Connection(profile.OfferFor(request), profile.Name).ConfigureAwait(false)).Result;
                    if (last.FailureCode is not { } code || profile.FallbackAfter(code, step) is not { } next || next.Step.Retry == SecurityProtocols.Rdp)
                    {
                        // No retry, or a retry for Standard RDP Security alone: no TLS left to try.
                        return last;
                    }

                    (step, var fallback) = next;
                    request = fallback.Retry;
                }
            }

            var results = await Task.WhenAll(profiles.Select(Walk)).ConfigureAwait(false);
            var handshakes = new Dictionary<string, SimulatedHandshake>();
            for (int i = 0; i < profiles.Count; i++)
            {
                handshakes[profiles[i].Name] = results[i];
            }

            var simulated = new List<SimulatedConnection>();
            foreach (var key in order)
            {
                var (offer, users, run) = connections[key];
                var (result, ms) = await run.ConfigureAwait(false);
                var connection = new SimulatedConnection([.. users.Distinct()], offer, result, ms);
                simulated.Add(connection);
                record.Messages.Add(new WireMessage(Direction.Received, ms, 0, $"{string.Join(", ", connection.Profiles)}: {Describe(connection)}"));
            }

            report.ClientSimulation = simulated;
            report.ClientHandshakes = handshakes;
            record.Detail = string.Join("; ", profiles.Select(p => $"{p.Name} {Word(handshakes[p.Name].Outcome)}"));
        }).ConfigureAwait(false);
    }

    /// <summary>The JSON / view word of an outcome ("accepted", "refused", "no_tls", "unknown").</summary>
    public static string Word(SimulatedTlsOutcome outcome) => PhaseNames.SnakeCase(outcome.ToString());

    internal static string Describe(SimulatedConnection c)
    {
        string request = string.Join("|", c.Offer.RequestedProtocols.ToReportNames());
        string tls = $"{string.Join("/", c.Offer.Versions.Select(ClientCompatibility.TlsName))}, {c.Offer.CipherSuites.Count} suites";
        return c.Result.Outcome switch
        {
            SimulatedTlsOutcome.Accepted => $"asked {request}, offered {tls}: accepted ({c.Result.Detail})",
            SimulatedTlsOutcome.Refused => $"asked {request}, offered {tls}: refused ({c.Result.Detail})",
            _ => $"asked {request}: {c.Result.Detail}",
        };
    }

    private static ProtocolVersion Bc(TlsVersion v) => v switch
    {
        TlsVersion.Tls10 => ProtocolVersion.TLSv10,
        TlsVersion.Tls11 => ProtocolVersion.TLSv11,
        TlsVersion.Tls12 => ProtocolVersion.TLSv12,
        _ => ProtocolVersion.TLSv13,
    };

    private static TlsVersion? FromBc(ProtocolVersion? v)
        => v is null ? null
            : v.Equals(ProtocolVersion.TLSv13) ? TlsVersion.Tls13
            : v.Equals(ProtocolVersion.TLSv12) ? TlsVersion.Tls12
            : v.Equals(ProtocolVersion.TLSv11) ? TlsVersion.Tls11
            : v.Equals(ProtocolVersion.TLSv10) ? TlsVersion.Tls10
            : null;

    /// <param name="ct">The check's token (its budget and the user's): its cancellation propagates, a single timeout does not.</param>
    private static async Task<(SimulatedHandshake Result, double Ms)> HandshakeAsync(ClientOffer offer, IPEndPoint endPoint, ProbeTarget target, ProbeOptions options, CancellationToken ct)
    {
        var record = new PhaseRecord(Phase.ClientSimulation);
        var clock = new PhaseClock(null);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(options.PhaseTimeout * 2);
        int[] offerable = ProbeTlsClient.Offerable(offer.CipherSuites);
        IReadOnlyList<string> notOffered = [.. offer.CipherSuites.Where(s => !offerable.Contains(s)).Select(ProbeTlsClient.CipherSuiteName)];
        SecurityProtocols? selected = null;
        TlsMessageLog? log = null;

        SimulatedHandshake Result(SimulatedTlsOutcome outcome, string detail, NegotiationFailureCode? failure = null, TlsVersion? version = null, string? suite = null)
            => new(outcome, offer.RequestedProtocols, selected, failure, version, suite, detail, notOffered);

        double Ms() => PhaseClock.Round(clock.ElapsedMs);
        try
        {
            await using var connection = await ProbeConnection.ConnectAsync(endPoint, timeout.Token).ConfigureAwait(false);
            var request = X224Exchange.BuildRequest(offer.RequestedProtocols, options.Cookie, options.RoutingToken);
            var confirm = await X224Exchange.RunAsync(connection.Stream, request, record, clock, timeout.Token).ConfigureAwait(false);
            if (confirm.FailureCode is { } failure)
            {
                return (Result(SimulatedTlsOutcome.NoTls, $"the server refused the request with {failure.ToReportName()}", failure), Ms());
            }

            selected = confirm.IsLegacy ? SecurityProtocols.Rdp : confirm.SelectedProtocol ?? SecurityProtocols.Rdp;
            if (selected == SecurityProtocols.Rdp)
            {
                return (Result(SimulatedTlsOutcome.NoTls, "the server selected Standard RDP Security (no TLS)"), Ms());
            }

            if (offerable.Length == 0)
            {
                return (Result(SimulatedTlsOutcome.Unknown, "none of the profile's cipher suites can be offered by RdpProbe's TLS library"), Ms());
            }

            log = new TlsMessageLog(record, clock);
            connection.Stream.Tap = log.Observe;
            var versions = offer.Versions.OrderDescending().Select(Bc).ToArray();
            var client = new ProbeTlsClient(versions, target.IsLiteral ? null : target.Host, clock.Start, offerable);
            var session = await TlsSession.HandshakeAsync(connection.Stream, client, log, timeout.Token).ConfigureAwait(false);
            await session.CloseAsync(timeout.Token).ConfigureAwait(false);
            string suite = ProbeTlsClient.CipherSuiteName(client.SelectedCipherSuite ?? 0);
            var version = FromBc(client.ServerVersion);
            return (Result(SimulatedTlsOutcome.Accepted, $"{(version is { } v ? ClientCompatibility.TlsName(v) : client.VersionName)}, {suite}", version: version, suite: suite), Ms());
        }
        catch (PhaseFailedException ex) when (log is not null)
        {
            // The server turned this ClientHello down: an alert, a close or a reset after it.
            return (Result(ex.Ending == Ending.Timeout ? SimulatedTlsOutcome.Unknown : SimulatedTlsOutcome.Refused, ex.Message), Ms());
        }
        catch (PhaseFailedException ex)
        {
            return (Result(SimulatedTlsOutcome.Unknown, $"could not test: {ex.Message}"), Ms());
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return (Result(SimulatedTlsOutcome.Unknown, "no answer in time"), Ms());
        }
        catch (Exception ex) when (TransportErrors.Classify(ex, userToken: ct) is { } failure)
        {
            return (Result(log is null ? SimulatedTlsOutcome.Unknown : SimulatedTlsOutcome.Refused, $"{(log is null ? "could not test: " : "")}{failure.Detail}"), Ms());
        }
    }
}
