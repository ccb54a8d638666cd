using System.Net;
using System.Net.Sockets;
using Org.BouncyCastle.Tls;
using RdpProbe.Diagnosis;
using RdpProbe.Probe.Phases;
using RdpProbe.Protocol;

namespace RdpProbe.Probe;

/// <summary>
/// The live probe: an explicit sequence of phases (dns → tcp → x224 → tls → credssp → …), each producing a
/// <see cref="PhaseRecord"/>, then the extra checks (security-layer matrix, TLS versions) and the verdict.
/// Every phase has its own timeout; the caller's token (Ctrl+C) cancels everything and is never turned into a timeout.
/// </summary>
public sealed class ProbeEngine(ProbeOptions options)
{
    /// <summary>Who to log on as (issue 3); null probes without credentials. Kept out of <see cref="ProbeOptions"/> so
    /// options can be printed and serialised without a password ever coming along.</summary>
    internal CredSspCredentials? Credentials { get; init; }

    /// <summary>Probe as this user; the password stays inside the credentials object (its ToString hides it).</summary>
    public ProbeEngine WithCredentials(string userSpec, string password)
        => new(Options) { Credentials = CredSspCredentials.FromUserSpec(userSpec, password) };

    private static readonly SecurityProtocols[] MatrixProtocols =
        [SecurityProtocols.Rdp, SecurityProtocols.Ssl, SecurityProtocols.Hybrid, SecurityProtocols.RdsTls, SecurityProtocols.HybridEx, SecurityProtocols.RdsAad];

    private static readonly (string Name, ProtocolVersion Version)[] TlsVersionChecks =
        [("tls1.0", ProtocolVersion.TLSv10), ("tls1.1", ProtocolVersion.TLSv11), ("tls1.2", ProtocolVersion.TLSv12), ("tls1.3", ProtocolVersion.TLSv13)];

    private const int MaxExtraConnections = 2;

    public ProbeOptions Options { get; } = options;

    /// <summary>Resolves the target (dns phase for names) and probes the first address, or each with AllAddresses.</summary>
    public async Task<IReadOnlyList<ProbeReport>> RunAsync(ProbeTarget target, CancellationToken ct)
    {
        if (target.Address is { } literal)
        {
            return [await ProbeAddressAsync(target, literal, [literal], null, ct).ConfigureAwait(false)];
        }

        var dns = new PhaseRecord(Phase.Dns);
        IPAddress[] addresses = [];
        await RunPhaseAsync(dns, null, Options.PhaseTimeout, async context =>
        {
            context.AllWire = true;
            context.OnTimeout = () => (null, $"the name {target.Host} did not resolve within {Seconds(Options.PhaseTimeout)}");
            try
            {
                addresses = await Dns.GetHostAddressesAsync(target.Host, context.Token).ConfigureAwait(false);
            }
            catch (SocketException ex)
            {
                throw new PhaseFailedException(Ending.Unreachable, Symptoms.NameNotFound, $"the name {target.Host} does not resolve ({ex.SocketErrorCode})");
            }

            if (addresses.Length == 0)
            {
                throw new PhaseFailedException(Ending.Unreachable, Symptoms.NameNotFound, $"the name {target.Host} resolves to no address");
            }

            dns.Detail = $"{target.Host} → {string.Join(", ", addresses.Select(a => a.ToString()))}";
        }, ct).ConfigureAwait(false);

        if (dns.Status != PhaseStatus.Ok)
        {
            var failed = new ProbeReport(target);
            failed.Phases.Add(dns);
            failed.Verdict = Verdict.From(failed.Phases);
            return [failed];
        }

        var chosen = Options.AllAddresses ? addresses : addresses[..1];
        var reports = new List<ProbeReport>();
        foreach (var address in chosen)
        {
            reports.Add(await ProbeAddressAsync(target, address, addresses, dns, ct).ConfigureAwait(false));
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

        var endPoint = new IPEndPoint(address, target.Port);
        ProbeConnection? connection = null;
        TlsSession? tls = null;
        try
        {
            // ---- tcp
            var tcp = Add(report, Phase.Tcp);
            await RunPhaseAsync(tcp, null, Options.PhaseTimeout, async context =>
            {
                context.AllWire = true;
                context.OnTimeout = () => (null, $"no answer to the SYN to {endPoint} within {Seconds(Options.PhaseTimeout)} (filtered, or the host is down)");
                connection = await ProbeConnection.ConnectAsync(endPoint, context.Token).ConfigureAwait(false);
                context.WireMs = connection.KernelRttMs;
                tcp.Detail = $"connected to {endPoint} from {connection.LocalEndPoint}" + (context.WireMs is { } rtt ? $", kernel RTT {rtt:0.###} ms" : string.Empty);
            }, ct).ConfigureAwait(false);
            if (connection is null)
            {
                return Finish(report);
            }

            // ---- x224
            var x224 = Add(report, Phase.X224);
            var negotiation = report.Negotiation;
            negotiation.RequestedProtocols = Options.RequestedProtocols;
            var request = X224Exchange.BuildRequest(Options.RequestedProtocols, Options.Cookie, Options.RoutingToken);
            await RunPhaseAsync(x224, connection.Stream, Options.PhaseTimeout, async context =>
            {
                context.OnTimeout = () => (null, $"the server accepted the connection but sent nothing within {Seconds(Options.PhaseTimeout)} after the Connection Request");
                X224ConnectionConfirm confirm;
                try
                {
                    confirm = await X224Exchange.RunAsync(connection.Stream, request, x224, context.Clock, context.Token).ConfigureAwait(false);
                }
                catch (PhaseFailedException ex)
                {
                    negotiation.Answer = x224.Messages.LastOrDefault(m => m.Direction == Direction.Received)?.Description;
                    throw new PhaseFailedException(ex.Ending, ex.Code, ex.Message);
                }

                ApplyConfirm(negotiation, confirm, x224);
            }, ct).ConfigureAwait(false);

            SecurityProtocols? selected = x224.Status == PhaseStatus.Ok ? negotiation.SelectedProtocol ?? SecurityProtocols.Rdp : null;
            bool tlsBased = selected is { } s && s != SecurityProtocols.Rdp;

            // ---- tls
            if (tlsBased)
            {
                var tlsRecord = Add(report, Phase.Tls);
                var facts = report.Tls = new TlsFacts();
                await RunPhaseAsync(tlsRecord, connection.Stream, Options.PhaseTimeout, async context =>
                {
                    var log = new TlsMessageLog(tlsRecord, context.Clock);
                    context.OnTimeout = () => TlsSession.DescribeTimeout(log);
                    var client = new ProbeTlsClient(ProbeTlsClient.AllVersions, target.IsLiteral ? null : target.Host, context.Clock.Start)
                    {
                        CollectKeyLog = Options.TlsKeyLogPath is not null,
                    };
                    connection.Stream.Tap = log.Observe;
                    try
                    {
                        tls = await TlsSession.HandshakeAsync(connection.Stream, client, log, context.Token).ConfigureAwait(false);

                        // The phase ends with the handshake: a NewSessionTicket arriving later is not part of it.
                        context.EndAt = System.Diagnostics.Stopwatch.GetTimestamp();
                    }
                    finally
                    {
                        log.Enabled = false;
                        connection.Stream.Tap = null;
                        facts.Alerts.AddRange(client.Alerts);
                        FillTlsFacts(facts, client);
                        await WriteKeyLogAsync(client).ConfigureAwait(false);
                    }

                    tlsRecord.Detail = $"{facts.Version} {facts.CipherSuite}" + (facts.Certificate is { } cert ? $", certificate {cert.Subject}" : string.Empty);
                }, ct).ConfigureAwait(false);
            }

            // ---- credssp (HYBRID / HYBRID_EX): NEGOTIATE → CHALLENGE without credentials; the codecs' phase does the work.
            if (tls is not null && selected is SecurityProtocols.Hybrid or SecurityProtocols.HybridEx)
            {
                var credssp = Add(report, Phase.Credssp);
                await RunPhaseAsync(credssp, connection.Stream, Options.PhaseTimeout, async context =>
                {
                    context.OnTimeout = () => (null, "the server did not answer the CredSSP TSRequest in time");
                    var result = await CredSspPhase.RunAsync(tls, report.Tls?.ServerSubjectPublicKey ?? [], Credentials, credssp, context.Token).ConfigureAwait(false);
                    report.CredSsp = ToFacts(result);
                    if (credssp is { Status: PhaseStatus.Failed, Ending: Ending.Closed, Code: null } && result.ServerVersion is null)
                    {
                        // Closed before any TSRequest came back: the server did not take the first CredSSP message.
                        credssp.Code = Symptoms.AfterNegotiate;
                    }
                }, ct).ConfigureAwait(false);
            }

            // ---- early_auth (HYBRID_EX only, after CredSSP sent the credentials): MS-RDPBCGR 2.2.10.2.
            if (tls is not null && selected == SecurityProtocols.HybridEx && Credentials is not null
                && report.CredSsp is { Authenticated: true } && report.Phases.Last().Status == PhaseStatus.Ok)
            {
                var earlyAuth = Add(report, Phase.EarlyAuth);
                await RunPhaseAsync(earlyAuth, connection.Stream, Options.PhaseTimeout, async context =>
                {
                    context.OnTimeout = () => (null, "no Early User Authorization Result arrived after the credentials");
                    await EarlyAuthPhase.RunAsync(tls, earlyAuth, context.Token).ConfigureAwait(false);
                }, ct).ConfigureAwait(false);
            }

            // ---- the session phases (MS-RDPBCGR 1.3.1.1 phases 2–9): mcs → channels → [security_exchange] → client_info →
            // licensing → capabilities, over TLS or, with standard RDP security, the raw stream. They need an ok security
            // handshake; with NLA selected they also need credentials (without them CredSSP stops after the challenge).
            bool handshakeOk = report.Phases.All(p => p.Status != PhaseStatus.Failed);
            bool nla = selected is SecurityProtocols.Hybrid or SecurityProtocols.HybridEx;
            if (Options.SessionPhases && selected is { } protocol && handshakeOk && (!tlsBased || tls is not null)
                && (!nla || report.CredSsp is { Authenticated: true }))
            {
                await RunSessionAsync(report, connection.Stream, tls, protocol, nla, ct).ConfigureAwait(false);
            }
        }
        finally
        {
            if (tls is not null)
            {
                using var closing = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                await tls.CloseAsync(closing.Token).ConfigureAwait(false);
            }

            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }

        await RunExtraChecksAsync(report, endPoint, target, ct).ConfigureAwait(false);
        AddSecurityFindings(report);
        Finish(report);

        // NLA without credentials ends, correctly, after the NTLM challenge; say how to go further.
        if (report.Verdict is { Ok: true, Phase: Phase.Credssp } && Credentials is null && Options.SessionPhases)
        {
            report.Verdict = report.Verdict with
            {
                Summary = report.Verdict.Summary
                    + (report.Negotiation.NlaRequired == true ? " The server requires" : " The server chose")
                    + " Network Level Authentication: give --user DOMAIN\\user (password from RDPPROBE_PASSWORD) to test the credentials and go on to Demand Active.",
            };
        }

        return report;
    }

    /// <summary>What the main connection showed about the security of the connection itself (issue 17: a downgrade and a
    /// clear-text session are critical, whatever the verdict says about reachability).</summary>
    private static void AddSecurityFindings(ProbeReport report)
    {
        var n = report.Negotiation;
        if (n.SelectedProtocol == SecurityProtocols.Rdp && n.RequestedProtocols != SecurityProtocols.Rdp)
        {
            report.Findings.Add(new Finding(
                "security_downgrade",
                Severity.Critical,
                "The server downgraded the connection to Standard RDP Security, which the client did not request.",
                n.Legacy
                    ? $"the Connection Confirm carried no negotiation data (a legacy answer) to a request for {X224Exchange.FormatProtocols(n.RequestedProtocols)}"
                    : $"the Connection Confirm selected PROTOCOL_RDP (0) in answer to a request for {X224Exchange.FormatProtocols(n.RequestedProtocols)}",
                "Standard RDP Security has no server authentication and uses RC4: give the server a usable TLS certificate and key "
                + "(a server that cannot load its certificate falls back like this) and set its security layer to TLS/Negotiate "
                + "with NLA; the probe never sends a password over such a connection."));
        }

        if (report.Session is { EncryptionMethod: "none" } && n.SelectedProtocol == SecurityProtocols.Rdp)
        {
            report.Findings.Add(new Finding(
                "encryption_none",
                Severity.Critical,
                "The session is not encrypted at all: Standard RDP Security with encryption level none.",
                $"the MCS Connect Response's security data announced encryption method none, level {report.Session.EncryptionLevel ?? "none"}",
                "Everything, the Client Info PDU with user name and password included, would cross the network in clear: require TLS "
                + "or NLA on the server, or at least encryption level High."));
        }
    }

    private static ProbeReport Finish(ProbeReport report)
    {
        report.Verdict = Verdict.From(report.Phases);
        return report;
    }

    private static PhaseRecord Add(ProbeReport report, Phase phase)
    {
        var record = new PhaseRecord(phase);
        report.Phases.Add(record);
        return record;
    }

    /// <summary>Runs the session phases in order, stopping at the first that does not end ok.</summary>
    private async Task RunSessionAsync(ProbeReport report, RecordingStream raw, TlsSession? tls, SecurityProtocols selected, bool nla, CancellationToken ct)
    {
        Stream stream = tls is not null ? tls : raw;
        var session = new RdpSession(stream, selected, Options.RequestedProtocols);
        var facts = report.Session = new SessionFacts();

        async Task<bool> Step(Phase phase, string waiting, Func<PhaseRecord, CancellationToken, Task> body)
        {
            var record = Add(report, phase);
            await RunPhaseAsync(record, raw, Options.PhaseTimeout, async context =>
            {
                context.OnTimeout = () => (null, $"no answer in time {waiting}");
                await body(record, context.Token).ConfigureAwait(false);
            }, ct).ConfigureAwait(false);
            return record.Status != PhaseStatus.Failed;
        }

        McsResult? mcs = null;
        if (!await Step(Phase.Mcs, "to the MCS Connect Initial", async (record, token) =>
            {
                mcs = await McsPhase.RunAsync(session, new McsOptions(), record, token).ConfigureAwait(false);
            }).ConfigureAwait(false))
        {
            FillSession(facts, session, mcs);
            return;
        }

        FillSession(facts, session, mcs);
        if (!await Step(Phase.Channels, "while joining the channels", async (record, token) =>
            {
                var channels = await ChannelsPhase.RunAsync(session, record, token).ConfigureAwait(false);
                facts.UserChannelId = channels.UserChannelId;
                facts.JoinedChannels = channels.Joins.Select(j => $"{j.Name} {j.ChannelId}" + (j.Result is { } r && r != 0 ? $" (result {r})" : string.Empty)).ToList();
            }).ConfigureAwait(false))
        {
            return;
        }

        if (session.StandardEncryption)
        {
            bool established = false;
            if (!await Step(Phase.SecurityExchange, "after the Security Exchange PDU", async (record, token) =>
                {
                    var exchange = await SecurityExchangePhase.RunAsync(session, record, token).ConfigureAwait(false);
                    established = exchange.Established;
                    facts.ServerCertificate = exchange.CertificateDescription;
                }).ConfigureAwait(false) || !established)
            {
                return;
            }
        }

        if (!await Step(Phase.ClientInfo, "after the Client Info PDU", (record, token) => ClientInfoPhase.RunAsync(session, Credentials, nla, record, token)).ConfigureAwait(false))
        {
            return;
        }

        bool canContinue = false;
        if (!await Step(Phase.Licensing, "during licensing", async (record, token) =>
            {
                var licensing = await LicensingPhase.RunAsync(session, record, token).ConfigureAwait(false);
                canContinue = licensing.CanContinue;
                facts.Licensing = System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(licensing.Outcome.ToString())
                    + (licensing.Alert is { } alert && !alert.IsValidClient ? $" ({alert.Name})" : string.Empty);
            }).ConfigureAwait(false) || !canContinue)
        {
            return;
        }

        await Step(Phase.Capabilities, "while waiting for Demand Active", async (record, token) =>
        {
            var capabilities = await CapabilitiesPhase.RunAsync(session, record, token).ConfigureAwait(false);
            facts.DemandActive = capabilities.Summary?.Describe();
        }).ConfigureAwait(false);

        if (session.LastErrorInfo != 0)
        {
            facts.ErrorInfo = $"0x{session.LastErrorInfo:x8}";
        }
    }

    private static void FillSession(SessionFacts facts, RdpSession session, McsResult? mcs)
    {
        if (mcs is null)
        {
            return;
        }

        facts.McsResult = mcs.ResultName;
        facts.ServerVersion = mcs.ServerVersion;
        facts.EncryptionMethod = mcs.EncryptionMethod is { } m ? Gcc.MethodName(m) : null;
        facts.EncryptionLevel = mcs.EncryptionLevel is { } l ? Gcc.LevelName(l) : null;
        facts.IoChannelId = mcs.IoChannelId;
        facts.ChannelIds = mcs.ChannelIds;
        facts.MessageChannelId = session.MessageChannelId;
    }

    private static CredSspFacts ToFacts(CredSspResult result) => new()
    {
        ServerVersion = result.ServerVersion,
        Authenticated = result.Authenticated,
        ErrorCode = result.ErrorName,
        Ntlm = result.Ntlm is not { } n ? null : new NtlmFacts
        {
            TargetName = n.TargetName,
            NetbiosComputerName = n.NetbiosComputerName,
            NetbiosDomainName = n.NetbiosDomainName,
            DnsComputerName = n.DnsComputerName,
            DnsDomainName = n.DnsDomainName,
            DnsTreeName = n.DnsTreeName,
            ProductVersion = n.ProductVersion,
            ServerTime = n.ServerTime,
            ClockSkewSeconds = n.ClockSkewSeconds,
            NegotiateFlags = $"0x{(uint)n.NegotiateFlags:x8}",
        },
    };

    private static void ApplyConfirm(NegotiationFacts negotiation, X224ConnectionConfirm confirm, PhaseRecord x224)
    {
        negotiation.Answer = X224Exchange.Describe(confirm);
        negotiation.Legacy = confirm.IsLegacy;
        negotiation.ResponseFlags = confirm.ResponseFlags;
        if (confirm.FailureCode is { } failure)
        {
            negotiation.FailureCode = failure;
            throw new PhaseFailedException(Ending.NegotiationFailure, failure.ToReportName(),
                $"the server refused {X224Exchange.FormatProtocols(negotiation.RequestedProtocols)} with RDP_NEG_FAILURE {(uint)failure} ({failure.ToReportName().ToUpperInvariant()})");
        }

        var selected = confirm.IsLegacy ? SecurityProtocols.Rdp : confirm.SelectedProtocol ?? SecurityProtocols.Rdp;
        negotiation.SelectedProtocol = selected;
        if (selected == SecurityProtocols.Rdp)
        {
            // PROTOCOL_RDP is always possible for a server; selecting it when it was not asked for is a downgrade, not a violation.
            negotiation.Downgraded = negotiation.RequestedProtocols != SecurityProtocols.Rdp;
            x224.Detail = confirm.IsLegacy
                ? "legacy Connection Confirm without negotiation data: Standard RDP Security"
                : negotiation.Downgraded ? "the server downgraded to Standard RDP Security (PROTOCOL_RDP)" : "selected rdp";
            return;
        }

        // MS-RDPBCGR 2.2.1.2.1: selectedProtocol must be one of the requested protocols.
        if (((uint)selected & ~(uint)negotiation.RequestedProtocols) != 0 || BitCount((uint)selected) != 1)
        {
            throw new PhaseFailedException(Ending.ProtocolViolation, Symptoms.SelectedNotRequested,
                $"the server selected {X224Exchange.FormatProtocols(selected)}, which the client did not request ({X224Exchange.FormatProtocols(negotiation.RequestedProtocols)})");
        }

        x224.Detail = $"selected {selected.ToReportName()}";
    }

    private static int BitCount(uint value) => System.Numerics.BitOperations.PopCount(value);

    private static void FillTlsFacts(TlsFacts facts, ProbeTlsClient client)
    {
        if (client.ServerVersion is not null)
        {
            facts.Version = client.VersionName;
        }

        if (client.SelectedCipherSuite is { } suite)
        {
            facts.CipherSuite = ProbeTlsClient.CipherSuiteName(suite);
        }

        facts.ChainLength = client.ServerCertificates.Count;
        if (client.ServerCertificates.Count > 0)
        {
            byte[] leaf = client.ServerCertificates[0];
            try
            {
                var x509 = X509.Read(leaf);
                facts.Certificate = new CertificateInfo(x509.Subject, x509.Issuer, x509.NotBefore, x509.NotAfter,
                    (int)Math.Floor((x509.NotAfter - DateTimeOffset.UtcNow).TotalDays), x509.SelfSigned, x509.KeyAlgorithm, x509.KeySize,
                    x509.SignatureAlgorithm, x509.Sha256, x509.SubjectAltNames, x509.SerialNumber);
                facts.ServerSubjectPublicKey = x509.SubjectPublicKey;
            }
            catch (System.Security.Cryptography.CryptographicException)
            {
                // An unparsable certificate is a fact too: it stays null and the handshake result speaks for itself.
            }
        }
    }

    private async Task WriteKeyLogAsync(ProbeTlsClient client)
    {
        if (Options.TlsKeyLogPath is { } path && client.KeyLogLines.Count > 0)
        {
            await File.AppendAllLinesAsync(path, client.KeyLogLines).ConfigureAwait(false);
        }
    }

    // ---------------------------------------------------------------- extra checks

    private async Task RunExtraChecksAsync(ProbeReport report, IPEndPoint endPoint, ProbeTarget target, CancellationToken ct)
    {
        bool tcpOk = report.Phases.Any(p => p.Phase == Phase.Tcp && p.Status == PhaseStatus.Ok);
        if (!tcpOk)
        {
            return;
        }

        // At most two extra connections at a time: xrdp listens with a backlog of 2, and more SYNs at once are dropped
        // and retried a second later; a probe should not look like a flood either.
        using var gate = new SemaphoreSlim(MaxExtraConnections);
        var tasks = new List<Task>();
        PhaseRecord? matrix = null;
        PhaseRecord? versions = null;
        if (Options.SecurityMatrix)
        {
            matrix = new PhaseRecord(Phase.SecurityMatrix);
            tasks.Add(RunMatrixAsync(report, matrix, endPoint, gate, ct));
        }

        // A TLS step offering every version that got no ServerHello at all (silence, a reset, a close: a black hole or a
        // middlebox) would end the same way for each single version: nothing to learn, and "not accepted" would mislead.
        bool tlsSelected = report.Negotiation.SelectedProtocol is { } selected && selected != SecurityProtocols.Rdp
            && report.Phases.Any(p => p.Phase == Phase.X224 && p.Status == PhaseStatus.Ok)
            && !report.Phases.Any(p => p.Phase == Phase.Tls && (p.Ending == Ending.Timeout || p.Code == Symptoms.BeforeServerHello));
        if (Options.TlsVersions && tlsSelected)
        {
            versions = new PhaseRecord(Phase.TlsVersions);
            tasks.Add(RunTlsVersionsAsync(report, versions, endPoint, target, gate, ct));
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

        // Standard RDP security is on offer when the main connection selected it or the matrix saw PROTOCOL_RDP
        // supported: then which RC4 key sizes / FIPS the server takes is the next question (rdp-sec-check's).
        bool rdpSecurity = report.Negotiation.SelectedProtocol == SecurityProtocols.Rdp
            || report.Negotiation.Matrix?.Any(e => e.Protocol == SecurityProtocols.Rdp && e.Status == SupportStatus.Supported) == true;
        if (Options.EncryptionLevels && rdpSecurity)
        {
            var levels = new PhaseRecord(Phase.EncryptionLevels);
            await RunEncryptionLevelsAsync(report, levels, endPoint, ct).ConfigureAwait(false);
            report.Phases.Add(levels);
        }
    }

    /// <summary>One connection per encryption method (40, 56, 128-bit, FIPS), each offering that method alone.</summary>
    private async Task RunEncryptionLevelsAsync(ProbeReport report, PhaseRecord record, IPEndPoint endPoint, CancellationToken ct)
    {
        TimeSpan budget = (Options.PhaseTimeout * 2 * EncryptionLevelMatrix.Methods.Count) + TimeSpan.FromSeconds(1);
        await RunPhaseAsync(record, null, budget, async context =>
        {
            context.AllWire = true;
            context.OnTimeout = () => (null, "the encryption-level connections did not finish in time");
            report.Negotiation.EncryptionLevels = await EncryptionLevelMatrix.RunAsync(c => ConnectStandardSecurityAsync(endPoint, c), record, context.Token).ConfigureAwait(false);
            if (record.Status == PhaseStatus.Failed)
            {
                throw new PhaseFailedException(record.Ending, record.Code, record.Detail ?? "no encryption-level connection got an answer");
            }
        }, ct).ConfigureAwait(false);
    }

    /// <summary>A new connection whose X.224 exchange selected PROTOCOL_RDP; the caller owns (and disposes) the stream.</summary>
    private async Task<Stream> ConnectStandardSecurityAsync(IPEndPoint endPoint, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(Options.PhaseTimeout);
        var connection = await ProbeConnection.ConnectAsync(endPoint, timeout.Token).ConfigureAwait(false);
        try
        {
            var request = X224Exchange.BuildRequest(SecurityProtocols.Rdp, Options.Cookie, Options.RoutingToken);
            var confirm = await X224Exchange.RunAsync(connection.Stream, request, new PhaseRecord(Phase.X224), new PhaseClock(null), timeout.Token).ConfigureAwait(false);
            if (confirm.FailureCode is { } failure)
            {
                throw new PhaseFailedException(Ending.NegotiationFailure, failure.ToReportName(), $"RDP_NEG_FAILURE {failure.ToReportName()}");
            }

            return connection.Stream;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// One short connection per protocol, all at once (2 RTT each). supported = selected what was asked; downgraded =
    /// selected something else (xrdp asked HYBRID selects RDP); refused = RDP_NEG_FAILURE or a disconnect; error = no
    /// usable answer. NLA is required only when RDP and SSL are both refused with a failure code and HYBRID(_EX) works.
    /// </summary>
    private async Task RunMatrixAsync(ProbeReport report, PhaseRecord record, IPEndPoint endPoint, SemaphoreSlim gate, CancellationToken ct)
    {
        // Each connection has its own timeout; the budget only bounds the whole check (6 connections, 2 at a time).
        TimeSpan budget = (Options.PhaseTimeout * 6) + TimeSpan.FromSeconds(1);
        MatrixEntry[] entries = [];
        await RunPhaseAsync(record, null, budget, async context =>
        {
            context.AllWire = true;
            context.OnTimeout = () => (null, "the matrix connections did not finish in time");
            entries = await Task.WhenAll(MatrixProtocols.Select(p => Gated(gate, () => MatrixEntryAsync(p, endPoint, context.Token), context.Token))).ConfigureAwait(false);
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
        }, ct).ConfigureAwait(false);
    }

    private static async Task<T> Gated<T>(SemaphoreSlim gate, Func<Task<T>> work, CancellationToken ct)
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

    private async Task<MatrixEntry> MatrixEntryAsync(SecurityProtocols protocol, IPEndPoint endPoint, CancellationToken ct)
    {
        var record = new PhaseRecord(Phase.X224);
        var clock = new PhaseClock(null);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(Options.PhaseTimeout);
        try
        {
            await using var connection = await ProbeConnection.ConnectAsync(endPoint, timeout.Token).ConfigureAwait(false);
            var request = X224Exchange.BuildRequest(protocol, Options.Cookie, Options.RoutingToken);
            var confirm = await X224Exchange.RunAsync(connection.Stream, request, record, clock, timeout.Token).ConfigureAwait(false);
            double ms = PhaseClock.Round(clock.ElapsedMs);
            if (confirm.FailureCode is { } failure)
            {
                return new MatrixEntry(protocol, SupportStatus.Refused, null, failure, Ending.NegotiationFailure, failure.ToReportName(),
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
            var status = ex.Ending == Ending.Closed && ex.Code is "mcs_disconnect_provider_ultimatum" or "x224_disconnect_request"
                ? SupportStatus.Refused : SupportStatus.Error;
            return new MatrixEntry(protocol, status, null, null, ex.Ending, ex.Code, ex.Message, PhaseClock.Round(clock.ElapsedMs));
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return new MatrixEntry(protocol, SupportStatus.Error, null, null, Ending.Timeout, null, $"no answer within {Seconds(Options.PhaseTimeout)}", PhaseClock.Round(clock.ElapsedMs));
        }
        catch (Exception ex) when (MapTransport(ex) is { } mapped)
        {
            return new MatrixEntry(protocol, SupportStatus.Error, null, null, mapped.Ending, mapped.Code, mapped.Detail, PhaseClock.Round(clock.ElapsedMs));
        }
    }

    /// <summary>One connection per TLS version, each offering only that version after the same X.224 request.</summary>
    private async Task RunTlsVersionsAsync(ProbeReport report, PhaseRecord record, IPEndPoint endPoint, ProbeTarget target, SemaphoreSlim gate, CancellationToken ct)
    {
        TimeSpan budget = (Options.PhaseTimeout * 8) + TimeSpan.FromSeconds(1);
        await RunPhaseAsync(record, null, budget, async context =>
        {
            context.AllWire = true;
            context.OnTimeout = () => (null, "the TLS version connections did not finish in time");
            var results = await Task.WhenAll(TlsVersionChecks.Select(v => Gated(gate, () => TlsVersionAsync(v.Version, endPoint, target, context.Token), context.Token))).ConfigureAwait(false);
            var versions = new Dictionary<string, bool?>();
            for (int i = 0; i < TlsVersionChecks.Length; i++)
            {
                versions[TlsVersionChecks[i].Name] = results[i].Accepted;
                record.Messages.Add(new WireMessage(Direction.Received, results[i].Ms, 0, $"{TlsVersionChecks[i].Name}: {results[i].Detail}"));
            }

            report.Tls ??= new TlsFacts();
            report.Tls.Versions = versions;
            record.Detail = string.Join(", ", versions.Select(v => $"{v.Key} {(v.Value is null ? "unknown" : v.Value.Value ? "yes" : "no")}"));
        }, ct).ConfigureAwait(false);
    }

    private async Task<(bool? Accepted, string Detail, double Ms)> TlsVersionAsync(ProtocolVersion version, IPEndPoint endPoint, ProbeTarget target, CancellationToken ct)
    {
        var record = new PhaseRecord(Phase.TlsVersions);
        var clock = new PhaseClock(null);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(Options.PhaseTimeout * 2);
        TlsMessageLog? log = null;
        try
        {
            await using var connection = await ProbeConnection.ConnectAsync(endPoint, timeout.Token).ConfigureAwait(false);
            var request = X224Exchange.BuildRequest(Options.RequestedProtocols, Options.Cookie, Options.RoutingToken);
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
        catch (Exception ex) when (MapTransport(ex) is { } mapped)
        {
            return (log is null ? null : false, $"{(log is null ? "could not test" : "not accepted")}: {mapped.Detail}", PhaseClock.Round(clock.ElapsedMs));
        }
    }

    // ---------------------------------------------------------------- the phase runner

    /// <summary>
    /// Runs one phase body under its own timeout and records how it ended. The caller's token is linked: when the
    /// user cancels, the cancellation propagates (exit 130) instead of being recorded as a timeout.
    /// </summary>
    private static async Task RunPhaseAsync(PhaseRecord record, RecordingStream? stream, TimeSpan timeout, Func<PhaseContextWithToken, Task> body, CancellationToken ct)
    {
        var clock = new PhaseClock(stream);
        var context = new PhaseContextWithToken(record, clock);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        context.Token = cts.Token;
        try
        {
            await body(context).ConfigureAwait(false);

            // Phases that record their own failures (the codecs' phases) may have seen the user's Ctrl+C as a timeout.
            ct.ThrowIfCancellationRequested();
        }
        catch (PhaseFailedException ex)
        {
            record.Fail(ex.Ending, ex.Code, ex.Message);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            var (code, detail) = context.OnTimeout?.Invoke() ?? (null, $"no answer within {Seconds(timeout)}");
            record.Fail(Ending.Timeout, code, detail);
        }
        catch (Exception ex) when (!ct.IsCancellationRequested && MapTransport(ex) is { } mapped)
        {
            record.Fail(mapped.Ending, mapped.Code, mapped.Detail);
        }
        finally
        {
            clock.Stop(record, context.EndAt);
            if (context.WireMs is { } wire && record.WallMs is { } wall)
            {
                record.Ms = PhaseClock.Round(Math.Min(wire, wall));
                record.ClientMs = PhaseClock.Round(wall - record.Ms);
                record.RoundTrips = 1;
            }
            else if (context.AllWire)
            {
                record.Ms = record.WallMs ?? record.Ms;
                record.ClientMs = 0;
            }
        }
    }

    internal static (Ending Ending, string? Code, string Detail)? MapTransport(Exception ex)
        => ex is OperationCanceledException || TransportErrors.Classify(ex) is not { } f ? null : (f.Ending, f.Code, f.Detail);

    private static string Seconds(TimeSpan t) => t.TotalSeconds >= 1 ? $"{t.TotalSeconds:0.#} s" : $"{t.TotalMilliseconds:0} ms";

    /// <summary>What a phase body can tell the runner: its token, and how to describe a timeout where it stopped.</summary>
    private sealed class PhaseContextWithToken(PhaseRecord record, PhaseClock clock)
    {
        public PhaseRecord Record { get; } = record;

        public PhaseClock Clock { get; } = clock;

        public CancellationToken Token { get; set; }

        public Func<(string? Code, string Detail)>? OnTimeout { get; set; }

        public bool AllWire { get; set; }

        /// <summary>When the phase's work ended, if earlier than the runner's own end (bookkeeping after it is not the phase's).</summary>
        public long? EndAt { get; set; }

        /// <summary>A wire time measured another way (the kernel's RTT for the TCP handshake).</summary>
        public double? WireMs { get; set; }
    }
}
