using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using RdpProbe.Diagnosis;
using RdpProbe.Probe.Phases;
using RdpProbe.Protocol;

namespace RdpProbe.Probe;

/// <summary>The handshake phases of the sequence: dns, tcp, x224, tls, credssp, early_auth.</summary>
internal sealed partial class ConnectionSequence
{
    /// <summary>The dns phase: the name's addresses, or none when the phase failed (the record says how).</summary>
    /// <param name="resolver">Resolves the name instead of the system resolver (tests, the run layer); null: <see cref="Net.Resolver.System"/>, the one address policy.</param>
    public static async Task<(PhaseRecord Record, IPAddress[] Addresses)> ResolveAsync(ProbeTarget target, PhaseRunner runner, Func<string, CancellationToken, Task<IPAddress[]>>? resolver = null)
    {
        var dns = new PhaseRecord(Phase.Dns);
        IPAddress[] addresses = [];
        await runner.RunAsync(dns, null, async context =>
        {
            context.AllWire = true;
            context.OnTimeout = () => (null, $"the name {target.Host} did not resolve within {PhaseRunner.Describe(runner.PhaseTimeout)}");
            try
            {
                addresses = await (resolver ?? Net.Resolver.System.LookupAsync)(target.Host, context.Token).ConfigureAwait(false);
            }
            catch (SocketException ex)
            {
                throw new PhaseFailedException(Ending.Unreachable, Codes.NameNotFound, $"the name {target.Host} does not resolve ({ex.SocketErrorCode})");
            }

            if (addresses.Length == 0)
            {
                throw new PhaseFailedException(Ending.Unreachable, Codes.NameNotFound, $"the name {target.Host} resolves to no address");
            }

            dns.Detail = $"{target.Host} → {string.Join(", ", addresses.Select(a => a.ToString()))}";
        }).ConfigureAwait(false);
        return (dns, dns.Status == PhaseStatus.Ok ? addresses : []);
    }

    /// <summary>The tcp phase: the connection, or null when it could not be opened.</summary>
    private async Task<ProbeConnection?> TcpAsync(IPEndPoint endPoint)
    {
        await runner.RunAsync(Phase.Tcp, report.Phases, null, async context =>
        {
            context.AllWire = true;
            context.OnTimeout = () => (null, $"no answer to the SYN to {endPoint} within {PhaseRunner.Describe(runner.PhaseTimeout)} (filtered, or the host is down)");
            connection = await ProbeConnection.ConnectAsync(endPoint, context.Token).ConfigureAwait(false);
            context.WireMs = connection.KernelRttMs;
            context.Record.Detail = $"connected to {endPoint} from {connection.LocalEndPoint}" + (context.WireMs is { } rtt ? $", kernel RTT {rtt:0.###} ms" : string.Empty);
        }).ConfigureAwait(false);
        return connection;
    }

    /// <summary>The x224 phase (MS-RDPBCGR 2.2.1.1–2.2.1.2): the protocol the server selected, or null when it did not.</summary>
    private async Task<SecurityProtocols?> X224Async(ProbeConnection open, IPEndPoint endPoint, ProbeTarget target)
    {
        var negotiation = report.Negotiation;
        negotiation.RequestedProtocols = options.RequestedProtocols;
        var request = X224Exchange.BuildRequest(options.RequestedProtocols, options.Cookie, options.RoutingToken);
        var x224 = await runner.RunAsync(Phase.X224, report.Phases, open.Stream, async context =>
        {
            var record = context.Record;
            context.OnTimeout = () => (null, $"the server accepted the connection but sent nothing within {PhaseRunner.Describe(runner.PhaseTimeout)} after the Connection Request");
            X224ConnectionConfirm confirm;
            try
            {
                confirm = await X224Exchange.RunAsync(open.Stream, request, record, context.Clock, context.Token).ConfigureAwait(false);
            }
            catch (PhaseFailedException)
            {
                // What came instead of a Connection Confirm (a DPUM, a banner, garbage) is the negotiation's answer too.
                negotiation.Answer = record.Messages.LastOrDefault(m => m.Direction == Direction.Received)?.Description;
                throw;
            }

            ReportFacts.Negotiation(negotiation, confirm, record);
        }).ConfigureAwait(false);
        await IdentifyServiceAsync(x224, endPoint, target).ConfigureAwait(false);
        return x224.Status == PhaseStatus.Ok ? negotiation.SelectedProtocol ?? SecurityProtocols.Rdp : null;
    }

    /// <summary>
    /// Issue 11: when the x224 phase got no Connection Confirm, name what holds the port. Bytes that came on the probe's
    /// own connection (X224Exchange put them in the record) are evidence enough; after a timeout, close or reset with
    /// nothing said, <see cref="ServiceIdentify"/> asks on up to two extra connections.
    /// </summary>
    private async Task IdentifyServiceAsync(PhaseRecord x224, IPEndPoint endPoint, ProbeTarget target)
    {
        if (x224.Status != PhaseStatus.Failed)
        {
            return;
        }

        if (x224.Service is { } own)
        {
            x224.Service = own with { Port = endPoint.Port };
            return;
        }

        if (!options.IdentifyService || x224.Ending is not (Ending.Timeout or Ending.Closed or Ending.Reset) || (x224.Code is { } code && code != Codes.Truncated))
        {
            return;
        }

        var evidence = await ServiceIdentify.RunAsync(endPoint, target.IsLiteral ? null : target.Host, runner.PhaseTimeout, runner.UserToken).ConfigureAwait(false);
        x224.Service = evidence;
        if (evidence.IsForeign)
        {
            x224.Code = ForeignService.CodeOf(evidence.Service);
        }
    }

    /// <summary>The tls phase: the handshake over the X.224 connection; true when it completed.</summary>
    private async Task<bool> TlsAsync(ProbeConnection open, ProbeTarget target)
    {
        var facts = report.Tls = new TlsFacts();
        var record = await runner.RunAsync(Phase.Tls, report.Phases, open.Stream, async context =>
        {
            var log = new TlsMessageLog(context.Record, context.Clock);
            context.OnTimeout = () => TlsSession.DescribeTimeout(log);
            var client = new ProbeTlsClient(ProbeTlsClient.AllVersions, target.IsLiteral ? null : target.Host, context.Clock.Start)
            {
                CollectKeyLog = options.TlsKeyLogPath is not null,
            };
            open.Stream.Tap = log.Observe;
            try
            {
                tls = await TlsSession.HandshakeAsync(open.Stream, client, log, context.Token).ConfigureAwait(false);

                // The phase ends with the handshake: a NewSessionTicket arriving later is not part of it.
                context.EndAt = Stopwatch.GetTimestamp();
            }
            finally
            {
                log.Enabled = false;
                open.Stream.Tap = null;
                facts.Alerts.AddRange(client.Alerts);
                ReportFacts.Tls(facts, client);
                await WriteKeyLogAsync(client).ConfigureAwait(false);
            }

            context.Record.Detail = $"{facts.Version} {facts.CipherSuite}" + (facts.Certificate is { } cert ? $", certificate {cert.Subject}" : string.Empty);
        }).ConfigureAwait(false);
        return tls is not null && record.Status == PhaseStatus.Ok;
    }

    /// <summary>
    /// The kerberos phase (issue 12): KDC, AS and TGS exchanges for TERMSRV/name, with the KDC and not the server; true
    /// when ok or skipped (a target given by address, no user, no realm: then clients go straight to NTLM).
    /// </summary>
    private async Task<bool> KerberosAsync(ProbeTarget target)
    {
        var record = new PhaseRecord(Phase.Kerberos);
        report.Phases.Add(record);
        await runner.RunAsync(record, null, KerberosPhase.Budget, async context =>
        {
            context.OnTimeout = () => (Codes.KdcUnreachable, $"the Kerberos exchanges did not finish within {PhaseRunner.Describe(KerberosPhase.Budget)}");
            context.AllWire = true;
            report.Kerberos = await KerberosPhase.RunAsync(options.Kerberos!, target, credentials, context.Record, context.Token).ConfigureAwait(false);
        }).ConfigureAwait(false);
        if (record.Status == PhaseStatus.Failed && CredSspAuthFor(options, credentials, target).Mechanism == AuthMechanism.Negotiate
            && KerberosPhase.NegotiateFallsBack(record.Code))
        {
            // Kerberos cannot be had, and a Negotiate client goes on with NTLM: the failure is evidence, the verdict is
            // what NTLM meets next (issue 12). --auth kerberos (no NTLM fallback) stops here.
            record.FellBackTo = "ntlm";
        }

        return record.Status != PhaseStatus.Failed || record.FellBackTo is not null;
    }

    /// <summary>The credssp phase (HYBRID / HYBRID_EX): NEGOTIATE → CHALLENGE, and with credentials the logon; true when ok.</summary>
    private async Task<bool> CredSspAsync(ProbeConnection open, ProbeTarget target)
    {
        var auth = CredSspAuthFor(options, credentials, target);
        if (auth.Spn is not null && report.Kerberos is { } kerberos && KerberosPhase.LibraryConfig(kerberos) is { } krb5Conf)
        {
            // The ticket for CredSSP comes from the KDC the kerberos phase used and judged, not from whatever the
            // user's own krb5.conf names (which --kdc overrides).
            auth = auth with { Krb5Conf = krb5Conf };
        }

        if (report.Phases.LastOrDefault(p => p.Phase == Phase.Kerberos) is { FellBackTo: not null, Code: { } reason })
        {
            // The kerberos phase already failed to get the ticket: CredSSP does not ask the library again (a KDC that
            // does not answer would cost its timeouts twice); it goes straight to NTLM, as the client does.
            auth = auth with { KerberosUnavailable = reason.Word };
        }

        var credssp = await runner.RunAsync(Phase.Credssp, report.Phases, open.Stream, async context =>
        {
            var record = context.Record;
            context.OnTimeout = () => (null, "the server did not answer the CredSSP TSRequest in time");
            var result = await CredSspPhase.RunAsync(tls!, report.Tls?.ServerSubjectPublicKey ?? [], credentials, record, auth, context.Token).ConfigureAwait(false);
            report.CredSsp = ReportFacts.CredSsp(result);
            if (record is { Status: PhaseStatus.Failed, Ending: Ending.Closed, Code: null } && result.ServerVersion is null)
            {
                // Closed before any TSRequest came back: the server did not take the first CredSSP message.
                record.Code = Codes.AfterNegotiate;
            }
        }).ConfigureAwait(false);
        return credssp.Status == PhaseStatus.Ok;
    }

    /// <summary>
    /// CredSSP's mechanism for this target (issue 12): --auth, else negotiate when a realm is known (--realm) and NTLM
    /// otherwise; the SPN is TERMSRV/&lt;name as given&gt; (--server-name for a target given as an address, as in the
    /// kerberos phase), none for a literal IP without one.
    /// </summary>
    internal static CredSspAuth CredSspAuthFor(ProbeOptions options, CredSspCredentials? credentials, ProbeTarget target)
    {
        // Only a realm the user named (--realm) switches the default: a user given as user@domain alone does not make
        // a workgroup probe start with Kerberos, but it names the principal's realm when Kerberos is asked for.
        string? realm = string.IsNullOrEmpty(options.Realm) ? null : options.Realm.ToUpperInvariant();
        var mechanism = AuthMechanisms.Default(options.Auth, realm);
        return mechanism == AuthMechanism.Ntlm
            ? CredSspAuth.Ntlm
            : new CredSspAuth(mechanism, options.Kerberos is { } kerberos ? KerberosPhase.SpnFor(target, kerberos) : KerberosContext.SpnFor(target.Host, target.IsLiteral), realm ?? KerberosContext.RealmOf(credentials));
    }

    /// <summary>The early_auth phase (HYBRID_EX, after CredSSP sent the credentials): MS-RDPBCGR 2.2.10.2; true when ok.</summary>
    private async Task<bool> EarlyAuthAsync(ProbeConnection open)
    {
        var earlyAuth = await runner.RunAsync(Phase.EarlyAuth, report.Phases, open.Stream, async context =>
        {
            context.OnTimeout = () => (null, "no Early User Authorization Result arrived after the credentials");
            await EarlyAuthPhase.RunAsync(tls!, context.Record, context.Token).ConfigureAwait(false);
        }).ConfigureAwait(false);
        return earlyAuth.Status == PhaseStatus.Ok;
    }

    private async Task WriteKeyLogAsync(ProbeTlsClient client)
    {
        if (options.TlsKeyLogPath is { } path && client.KeyLogLines.Count > 0)
        {
            await File.AppendAllLinesAsync(path, client.KeyLogLines).ConfigureAwait(false);
        }
    }
}
