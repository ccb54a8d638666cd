using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Probe.Phases;

/// <summary>
/// The kerberos phase (issue 12): what a domain-joined client does before its first CredSSP message when it can use
/// Kerberos — find the realm's KDC, reach it over UDP and TCP, get a TGT (AS exchange, RFC 4120 §3.1) and a service
/// ticket for TERMSRV/&lt;server name&gt; (TGS exchange, §3.3).
/// Evidence comes in two layers. In clear, the probe's own AS-REQ without pre-authentication (no key needed): the
/// KDC's KRB-ERROR says whether the account exists, is disabled or expired, which keys it holds (ETYPE-INFO2) and what
/// time the KDC has (stime, susec). Then MIT krb5 (<see cref="Krb5Native"/>) does the real, pre-authenticated AS
/// exchange with the password and the TGS exchange; its error codes are the KDC's.
/// </summary>
internal static class KerberosPhase
{
    /// <summary>RFC 4120 §1.6 leaves the limit to the realm; MIT's clockskew and Windows' MaxClockSkew default to 5 minutes.</summary>
    public const double MaxSkewSeconds = 300;

    /// <summary>What a Windows 10/11 client asks for without a "Configure encryption types" policy (AES256, AES128, RC4).</summary>
    public static readonly IReadOnlyList<int> WindowsDefaultEtypes = [18, 17, 23];

    /// <summary>Every etype a KDC may hold a key in, to learn the account's keys when the client's list finds none.</summary>
    private static readonly int[] AllEtypes = [18, 17, 20, 19, 23, 16, 26, 25, 3, 1];

    private static readonly TimeSpan UdpWait = TimeSpan.FromMilliseconds(1500);
    private static readonly TimeSpan TcpWait = TimeSpan.FromMilliseconds(2000);
    private static readonly TimeSpan LibraryWait = TimeSpan.FromSeconds(15);

    /// <summary>The phase's budget: its own waits are bounded above (UDP, TCP, the library) plus DNS.</summary>
    public static readonly TimeSpan Budget = TimeSpan.FromSeconds(30);

    /// <summary>The SPN a client would ask a ticket for: TERMSRV/&lt;name as given&gt;; null for a literal address.</summary>
    public static string? SpnFor(ProbeTarget target, KerberosOptions options)
        => options.ServerName is { Length: > 0 } name ? "TERMSRV/" + name
            : target.IsLiteral ? null
            : "TERMSRV/" + target.Host;

    public static async Task<KerberosFacts> RunAsync(KerberosOptions options, ProbeTarget target, CredSspCredentials? credentials, PhaseRecord record, CancellationToken ct)
    {
        var facts = new KerberosFacts();
        var clock = Stopwatch.StartNew();
        facts.Spn = SpnFor(target, options);
        if (facts.Spn is null)
        {
            record.Skip($"{target.Host} is an IP address: there is no service principal TERMSRV/{target.Host}, so clients skip Kerberos and use NTLM (why \"connect by IP\" works around Kerberos failures); give --server-name to test the name");
            return facts;
        }

        if (credentials is null)
        {
            record.Skip("no --user: the kerberos phase needs an account to ask tickets for");
            return facts;
        }

        string configPath = options.ConfigPath ?? KdcLocator.DefaultConfigPath();
        var (user, userRealm) = SplitUser(credentials);
        var config = KdcLocator.ReadConfig(configPath, options.Realm ?? userRealm);
        facts.Config = config?.Path;
        (facts.Realm, facts.RealmSource) = options.Realm is { Length: > 0 } r ? (r, "option")
            : userRealm is not null ? (userRealm, "user_name")
            : config?.DefaultRealm is { } d ? (d, "krb5_conf")
            : (null, null);
        if (facts.Realm is null)
        {
            record.Skip($"no realm known: give --realm (or user@REALM, or default_realm in {configPath})");
            return facts;
        }

        var etypes = config?.PermittedEtypes is { Count: > 0 } policy ? policy : WindowsDefaultEtypes;
        facts.EtypesRequested.AddRange(etypes.Select(Kerberos.EtypeName));

        // ---- which KDC, and how it was found
        var candidates = await LocateAsync(options, config, facts, record, clock, ct).ConfigureAwait(false);
        if (candidates.Count == 0)
        {
            record.Fail(Ending.Unreachable, Codes.KdcNotFound,
                $"no KDC found for realm {facts.Realm}: no --kdc, no kdc = in {configPath}, and {facts.SrvLookup ?? "DNS SRV lookup disabled (dns_lookup_kdc = false)"}");
            return facts;
        }

        // ---- reachability and the KDC's answer in clear (AS-REQ without pre-authentication)
        var request = new KerberosAsRequest(user, facts.Realm, etypes, Nonce(), DateTimeOffset.UtcNow.AddHours(10));
        byte[] asReq = Kerberos.EncodeAsRequest(request);
        KerberosReply? reply = null;
        double? skew = null;
        foreach (var candidate in candidates)
        {
            facts.Kdc = candidate.ToString();
            facts.KdcSource = candidate.Source;
            IPAddress? address = await AddressOfAsync(candidate.Host, ct).ConfigureAwait(false);
            if (address is null)
            {
                facts.Udp = new KdcReachability(false, null, $"{candidate.Host} does not resolve");
                facts.Tcp = facts.Udp;
                continue;
            }

            var endPoint = new IPEndPoint(address, candidate.Port);
            var udp = await ExchangeUdpAsync(endPoint, asReq, record, clock, ct).ConfigureAwait(false);
            var tcp = await ExchangeTcpAsync(endPoint, asReq, record, clock, ct).ConfigureAwait(false);
            facts.Udp = udp.Reach;
            facts.Tcp = tcp.Reach;
            (reply, skew) = tcp.Reply is not null ? (tcp.Reply, tcp.Skew) : (udp.Reply, udp.Skew);
            if (reply is not null)
            {
                break;
            }
        }

        if (reply is null)
        {
            var ending = facts.Tcp?.Detail.Contains("refused", StringComparison.Ordinal) == true ? Ending.Refused : Ending.Timeout;
            record.Fail(ending, Codes.KdcUnreachable,
                $"the KDC {facts.Kdc} ({facts.KdcSource}) did not answer over UDP ({facts.Udp?.Detail}) or TCP ({facts.Tcp?.Detail}): Kerberos cannot be had from here");
            return facts;
        }

        facts.ClockSkewSeconds = skew is { } s ? Math.Round(s, 3) : null;
        facts.KdcAnswer = reply.Error?.Name ?? (reply.Type == KerberosMessageType.AsReply ? "AS-REP" : reply.Type.ToString());
        if (reply.Error is { } error)
        {
            await LearnAccountKeysAsync(error, request, facts, record, clock, ct).ConfigureAwait(false);
            if (ClassifyClearError(error, etypes, facts) is { } failure)
            {
                record.Fail(Ending.AuthFailed, failure.Code, failure.Detail);
                return facts;
            }
        }

        if (facts.ClockSkewSeconds is { } measured && Math.Abs(measured) > MaxSkewSeconds)
        {
            record.Fail(Ending.AuthFailed, Codes.KerberosError(Kerberos.KrbApErrSkew),
                $"clock skew {DescribeSkew(measured)} against the KDC {facts.Kdc} (its stime) exceeds the 5-minute Kerberos limit: "
                + "a pre-authentication timestamp or authenticator this far off is refused with KRB_AP_ERR_SKEW (inferred from the measured skew; MIT clients correct for it from the KDC's time, Windows clients need their clock synchronised)");
            await LibraryAsync(configPath, config, facts, credentials, user, candidates, record, clock, ct).ConfigureAwait(false);
            return facts;
        }

        // ---- the real exchanges, pre-authenticated with the password, by MIT krb5
        if (!Krb5Native.Available())
        {
            record.Skip($"the KDC answered {facts.KdcAnswer}, but libkrb5.so.3 (MIT Kerberos, Debian package libkrb5-3) is not installed here, so the AS and TGS exchanges with the password were not run");
            return facts;
        }

        await LibraryAsync(configPath, config, facts, credentials, user, candidates, record, clock, ct).ConfigureAwait(false);
        if (facts.As is { Ok: false } asFailure)
        {
            int? code = Krb5ErrorOf(asFailure);
            record.Fail(Ending.AuthFailed, code is { } c ? Codes.KerberosError(c) : Codes.KerberosLibrary, AsFailureDetail(asFailure, code, facts));
            return facts;
        }

        if (facts.Tgs is { Ok: false } tgsFailure)
        {
            int? code = Krb5ErrorOf(tgsFailure);
            record.Fail(Ending.AuthFailed, code is { } c ? Codes.KerberosError(c) : Codes.KerberosLibrary, code == Kerberos.KdcErrSPrincipalUnknown
                ? $"Kerberos failed: no SPN {facts.Spn} is registered in {facts.Realm} (the KDC answered KDC_ERR_S_PRINCIPAL_UNKNOWN), so clients fall back to NTLM; connecting by IP works for the same reason — register the SPN (setspn -S {facts.Spn} <server's computer account>)"
                : $"the TGS exchange for {facts.Spn} failed: {tgsFailure.Error ?? "library error"} ({tgsFailure.Message})");
            return facts;
        }

        record.Detail = $"TGT and service ticket for {facts.Spn} from {facts.Kdc} ({facts.KdcSource}); ticket {facts.Tgs?.TicketEtype}, session key {facts.Tgs?.SessionKeyEtype}; clock skew {DescribeSkew(facts.ClockSkewSeconds ?? 0)}";
        return facts;
    }

    /// <summary>
    /// The kerberos failures a Negotiate client answers by falling back to NTLM, because Kerberos cannot be had: no KDC
    /// found or answering, no SPN registered for the server (KDC_ERR_S_PRINCIPAL_UNKNOWN, the reason "connect by IP"
    /// works), an account the KDC does not know (a local account of the server), no encryption type in common, clock
    /// skew. The Negotiate package then drops Kerberos from its list and, with NTLM the only mechanism left, sends NTLM
    /// (FreeRDP 3's winpr Negotiate does the same; "Microsoft Negotiate" on learn.microsoft.com: Kerberos unless it cannot
    /// be used). An account the KDC knows and refuses (wrong password, disabled, expired) is not among them: that logon
    /// fails whatever the mechanism, and the client reports it. Restrict-NTLM policies, Protected Users and Credential
    /// Guard take the fallback away — that client is --auth kerberos.
    /// </summary>
    public static bool NegotiateFallsBack(Code? code)
        => code == Codes.KdcNotFound || code == Codes.KdcUnreachable
            || code == Codes.KerberosError(Kerberos.KdcErrSPrincipalUnknown)
            || code == Codes.KerberosError(Kerberos.KdcErrCPrincipalUnknown)
            || code == Codes.KerberosError(Kerberos.KdcErrEtypeNoSupport)
            || code == Codes.KerberosError(Kerberos.KrbApErrSkew);

    /// <summary>
    /// A kerberos verdict in the names of this probe: the symptom table speaks of TERMSRV/&lt;name&gt; and of "the
    /// clocks"; the report says which SPN and how far apart they were measured.
    /// </summary>
    public static Verdict Specialise(Verdict verdict, KerberosFacts? facts)
    {
        if (verdict.Phase != Phase.Kerberos || facts is null)
        {
            return verdict;
        }

        string spn = facts.Spn ?? "TERMSRV/<name>";
        // Kerberos' port is 88 (RFC 4120 §7.2); the KDC the phase tried may listen elsewhere (the lab's does).
        string port = (facts.Kdc is { } kdc ? KdcLocator.Parse(kdc, "report")?.Port : null)?.ToString(CultureInfo.InvariantCulture) ?? "88";
        string Fill(string text) => text.Replace("TERMSRV/<name>", spn, StringComparison.Ordinal).Replace("<REALM>", facts.Realm ?? "<REALM>", StringComparison.Ordinal)
            .Replace("<kdc-port>", port, StringComparison.Ordinal);
        string summary = Fill(verdict.Summary);
        if (verdict.Code == Codes.KerberosError(Kerberos.KrbApErrSkew) && facts.ClockSkewSeconds is { } skew)
        {
            summary += $" Measured: the KDC {facts.Kdc} is {DescribeSkew(Math.Abs(skew))} {(skew > 0 ? "ahead of" : "behind")} this machine.";
        }
        else if (verdict.Code == Codes.KerberosError(Kerberos.KdcErrEtypeNoSupport) && facts.AccountEtypes.Count > 0)
        {
            summary += $" The account's keys: {string.Join(", ", facts.AccountEtypes)}; the client allows {string.Join(", ", facts.EtypesRequested)}.";
        }
        else if (verdict.Code == Codes.KdcUnreachable && facts.Kdc is not null)
        {
            summary += $" KDC {facts.Kdc} ({facts.KdcSource}): UDP {facts.Udp?.Detail}; TCP {facts.Tcp?.Detail}.";
        }

        return verdict with { Summary = summary, Causes = verdict.Causes.Select(Fill).ToList(), Remedies = verdict.Remedies.Select(Fill).ToList() };
    }

    /// <summary>"7 min 12 s", "-3 s" (the KDC ahead is positive).</summary>
    public static string DescribeSkew(double seconds)
    {
        double abs = Math.Abs(seconds);
        string sign = seconds < 0 && abs >= 0.05 ? "-" : string.Empty;
        int whole = (int)Math.Round(abs);
        return whole >= 60 ? $"{sign}{whole / 60} min {whole % 60} s" : string.Create(CultureInfo.InvariantCulture, $"{sign}{abs:0.#} s");
    }

    private static (string User, string? Realm) SplitUser(CredSspCredentials credentials)
    {
        // user@REALM is a Kerberos principal (RFC 4120 §6.2); DOMAIN\user's NetBIOS domain is not a realm.
        int at = credentials.User.LastIndexOf('@');
        return at > 0 && at < credentials.User.Length - 1 ? (credentials.User[..at], credentials.User[(at + 1)..].ToUpperInvariant()) : (credentials.User, null);
    }

    private static async Task<List<KdcCandidate>> LocateAsync(KerberosOptions options, Krb5Config? config, KerberosFacts facts, PhaseRecord record, Stopwatch clock, CancellationToken ct)
    {
        var list = new List<KdcCandidate>();
        if (options.Kdc is { Length: > 0 } given)
        {
            if (KdcLocator.Parse(given, "option") is { } kdc)
            {
                list.Add(kdc);
            }
        }
        else if (config is { Kdcs.Count: > 0 } && (options.Realm is null || string.Equals(options.Realm, facts.Realm, StringComparison.Ordinal)))
        {
            list.AddRange(config.Kdcs.Select(k => KdcLocator.Parse(k, "krb5_conf " + config.Path)).OfType<KdcCandidate>());
        }
        else if (config is null || config.DnsLookupKdc || options.DnsServer is not null)
        {
            double at = clock.Elapsed.TotalMilliseconds;
            record.Messages.Add(new WireMessage(Direction.Sent, Round(at), 0, $"DNS SRV _kerberos._udp/_tcp.{facts.Realm}{(options.DnsServer is { } dns ? " @" + dns : string.Empty)}"));
            var (found, detail) = await KdcLocator.LookupSrvAsync(facts.Realm!, options.DnsServer, ct).ConfigureAwait(false);
            facts.SrvLookup = detail;
            record.Messages.Add(new WireMessage(Direction.Received, Round(clock.Elapsed.TotalMilliseconds), 0, detail));
            list.AddRange(found);
        }

        facts.KdcCandidates.AddRange(list.Select(c => $"{c} ({c.Source})"));
        return list;
    }

    private static async Task<IPAddress?> AddressOfAsync(string host, CancellationToken ct)
    {
        if (IPAddress.TryParse(host, out var literal))
        {
            return literal;
        }

        try
        {
            var addresses = await Dns.GetHostAddressesAsync(host, ct).ConfigureAwait(false);
            return addresses.FirstOrDefault();
        }
        catch (SocketException)
        {
            return null;
        }
    }

    private sealed record Attempt(KdcReachability Reach, KerberosReply? Reply, double? Skew);

    private static async Task<Attempt> ExchangeUdpAsync(IPEndPoint endPoint, byte[] asReq, PhaseRecord record, Stopwatch clock, CancellationToken ct)
    {
        using var socket = new Socket(endPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
        wait.CancelAfter(UdpWait);
        double sentAt = clock.Elapsed.TotalMilliseconds;
        try
        {
            await socket.ConnectAsync(endPoint, wait.Token).ConfigureAwait(false);
            await socket.SendAsync(asReq, SocketFlags.None, wait.Token).ConfigureAwait(false);
            record.Messages.Add(new WireMessage(Direction.Sent, Round(sentAt), asReq.Length, $"AS-REQ (UDP {endPoint}, no pre-authentication)"));
            byte[] buffer = new byte[Kerberos.MaxMessageLength];
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None, wait.Token).ConfigureAwait(false);
            return Decode(buffer.AsSpan(0, n), sentAt, clock, record, $"UDP {endPoint}");
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return new Attempt(new KdcReachability(false, null, $"no answer over UDP within {PhaseRunner.Describe(UdpWait)}"), null, null);
        }
        catch (SocketException e)
        {
            // ICMP port unreachable arrives as ConnectionRefused on a connected UDP socket.
            return new Attempt(new KdcReachability(false, null, e.SocketErrorCode == SocketError.ConnectionRefused ? "UDP port unreachable (ICMP)" : "UDP " + e.SocketErrorCode), null, null);
        }
    }

    private static async Task<Attempt> ExchangeTcpAsync(IPEndPoint endPoint, byte[] asReq, PhaseRecord record, Stopwatch clock, CancellationToken ct)
    {
        using var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
        wait.CancelAfter(TcpWait);
        try
        {
            await socket.ConnectAsync(endPoint, wait.Token).ConfigureAwait(false);
            double sentAt = clock.Elapsed.TotalMilliseconds;
            byte[] framed = Kerberos.FrameForTcp(asReq);
            await socket.SendAsync(framed, SocketFlags.None, wait.Token).ConfigureAwait(false);
            record.Messages.Add(new WireMessage(Direction.Sent, Round(sentAt), framed.Length, $"AS-REQ (TCP {endPoint}, no pre-authentication)"));
            byte[] buffer = new byte[Kerberos.TcpLengthSize + Kerberos.MaxMessageLength];
            int have = 0;
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer.AsMemory(have), SocketFlags.None, wait.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    return new Attempt(new KdcReachability(true, Round(clock.Elapsed.TotalMilliseconds - sentAt), "the KDC closed the TCP connection without an answer"), null, null);
                }

                have += n;
                var status = Kerberos.TryReadTcpLength(buffer.AsSpan(0, have), out int length, out _);
                if (status == OperationStatus.InvalidData)
                {
                    return new Attempt(new KdcReachability(true, null, "not a Kerberos answer over TCP"), null, null);
                }

                if (status == OperationStatus.Done && have >= Kerberos.TcpLengthSize + length)
                {
                    return Decode(buffer.AsSpan(Kerberos.TcpLengthSize, length), sentAt, clock, record, $"TCP {endPoint}");
                }
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return new Attempt(new KdcReachability(false, null, $"no answer over TCP within {PhaseRunner.Describe(TcpWait)}"), null, null);
        }
        catch (SocketException e)
        {
            return new Attempt(new KdcReachability(false, null, e.SocketErrorCode == SocketError.ConnectionRefused ? "TCP connection refused" : "TCP " + e.SocketErrorCode), null, null);
        }
    }

    private static Attempt Decode(ReadOnlySpan<byte> message, double sentAt, Stopwatch clock, PhaseRecord record, string via)
    {
        double receivedAt = clock.Elapsed.TotalMilliseconds;
        var now = DateTimeOffset.UtcNow;
        double rtt = Round(receivedAt - sentAt);
        if (Kerberos.TryReadReply(message, out var reply, out _, out _) != OperationStatus.Done || reply is null)
        {
            record.Messages.Add(new WireMessage(Direction.Received, Round(receivedAt), message.Length, $"not a Kerberos reply ({via})"));
            return new Attempt(new KdcReachability(true, rtt, $"answered over {via.Split(' ')[0]} with something that is not Kerberos"), null, null);
        }

        string what = reply.Error is { } e
            ? $"KRB-ERROR {e.Name}" + (e.EtypeInfo.Count > 0 ? $" (ETYPE-INFO2 {string.Join(", ", e.EtypeInfo.Select(i => Kerberos.EtypeName(i.Etype)))})" : string.Empty)
            : "AS-REP (the account does not require pre-authentication)";
        record.Messages.Add(new WireMessage(Direction.Received, Round(receivedAt), message.Length, $"{what} ({via})"));

        // The KDC's stime/susec against this machine's clock at the middle of the round trip.
        double? skew = reply.Error is { } err ? (err.ServerTime - now.AddMilliseconds(-rtt / 2)).TotalSeconds : null;
        return new Attempt(new KdcReachability(true, rtt, $"answered over {via.Split(' ')[0]} in {rtt} ms"), reply, skew);
    }

    /// <summary>When the client's etypes found no key, ask again with every etype: ETYPE-INFO2 then lists the account's keys.</summary>
    private static async Task LearnAccountKeysAsync(KerberosError error, KerberosAsRequest request, KerberosFacts facts, PhaseRecord record, Stopwatch clock, CancellationToken ct)
    {
        facts.AccountEtypes.AddRange(error.EtypeInfo.Select(i => Kerberos.EtypeName(i.Etype)).Distinct());
        bool keysMissing = error.ErrorCode == Kerberos.KdcErrEtypeNoSupport
            || (error.ErrorCode == Kerberos.KdcErrPreauthRequired && error.EtypeInfo.Count == 0);
        if (!keysMissing || facts.Kdc is null || KdcLocator.Parse(facts.Kdc, "again") is not { } kdc || !IPAddress.TryParse(kdc.Host, out var address))
        {
            return;
        }

        byte[] again = Kerberos.EncodeAsRequest(request with { Etypes = AllEtypes, Nonce = Nonce() });
        var attempt = await ExchangeTcpAsync(new IPEndPoint(address, kdc.Port), again, record, clock, ct).ConfigureAwait(false);
        if (attempt.Reply?.Error is { } wide)
        {
            facts.AccountEtypes.Clear();
            facts.AccountEtypes.AddRange(wide.EtypeInfo.Select(i => Kerberos.EtypeName(i.Etype)).Distinct());
        }
    }

    private static (Code Code, string Detail)? ClassifyClearError(KerberosError error, IReadOnlyList<int> etypes, KerberosFacts facts)
    {
        string account = $"{SplitName(error, facts)}@{facts.Realm}";
        switch (error.ErrorCode)
        {
            case Kerberos.KdcErrPreauthRequired when error.EtypeInfo.Count > 0:
                return null;
            case Kerberos.KdcErrPreauthRequired when facts.AccountEtypes.Any(name => etypes.Any(e => Kerberos.EtypeName(e) == name)):
                return null;
            case Kerberos.KdcErrPreauthRequired or Kerberos.KdcErrEtypeNoSupport:
                string keys = facts.AccountEtypes.Count > 0 ? string.Join(", ", facts.AccountEtypes) : "none the KDC would name";
                return (Codes.KerberosError(Kerberos.KdcErrEtypeNoSupport),
                    $"KDC_ERR_ETYPE_NOSUPP: {account} has keys only in {keys}, and the client policy allows {string.Join(", ", etypes.Select(Kerberos.EtypeName))} "
                    + $"(the KDC answered {error.Name}{(error.ErrorCode == Kerberos.KdcErrPreauthRequired ? " with no key it may use" : string.Empty)}): an RC4-only account under an AES-only policy — reset the account's password so the KDC stores AES keys (or allow RC4 for it: msDS-SupportedEncryptionTypes)");
            case Kerberos.KdcErrCPrincipalUnknown:
                return (Codes.KerberosError(error.ErrorCode), $"KDC_ERR_C_PRINCIPAL_UNKNOWN: the KDC {facts.Kdc} does not know {account} (wrong user name or realm)");
            case Kerberos.KdcErrClientRevoked:
                return (Codes.KerberosError(error.ErrorCode), $"KDC_ERR_CLIENT_REVOKED: {account} is disabled or locked out");
            case Kerberos.KdcErrKeyExpired:
                return (Codes.KerberosError(error.ErrorCode), $"KDC_ERR_KEY_EXPIRED: the password of {account} has expired and must be changed");
            case 0:
                return null;
            default:
                return (Codes.KerberosError(error.ErrorCode), $"the KDC answered {error.Name}{(error.Text is { Length: > 0 } t ? $" (\"{t}\")" : string.Empty)}");
        }
    }

    private static string SplitName(KerberosError error, KerberosFacts facts) => error.ClientName ?? "the account";

    private static async Task LibraryAsync(string configPath, Krb5Config? config, KerberosFacts facts, CredSspCredentials credentials, string user,
        IReadOnlyList<KdcCandidate> candidates, PhaseRecord record, Stopwatch clock, CancellationToken ct)
    {
        if (!Krb5Native.Available())
        {
            return;
        }

        // A krb5.conf for this call only: the realm, the KDC the phase reached (so the library talks to the same one),
        // and the client's enctype policy. No secret in it.
        string directory = Directory.CreateTempSubdirectory("rdpprobe-krb5-").FullName;
        string file = Path.Combine(directory, "krb5.conf");
        try
        {
            await File.WriteAllTextAsync(file, LibraryConfig(facts), ct).ConfigureAwait(false);
            _ = config;
            _ = configPath;
            string client = $"{user}@{facts.Realm}";
            string service = $"{facts.Spn}@{facts.Realm}";
            double at = clock.Elapsed.TotalMilliseconds;
            record.Messages.Add(new WireMessage(Direction.Sent, Round(at), 0, $"AS exchange for {client} with the password (MIT krb5, pre-authenticated)"));
            var work = Task.Run(() => Krb5Native.GetTickets(file, client, credentials.Password, service), CancellationToken.None);
            var done = await Task.WhenAny(work, Task.Delay(LibraryWait, ct)).ConfigureAwait(false);
            ct.ThrowIfCancellationRequested();
            if (done != work)
            {
                facts.As = new KerberosExchange(false, null, $"MIT krb5 did not finish within {PhaseRunner.Describe(LibraryWait)}", null, null, LibraryWait.TotalMilliseconds);
                return;
            }

            var (asResult, tgsResult) = await work.ConfigureAwait(false);
            facts.As = ToExchange(asResult);
            record.Messages.Add(new WireMessage(Direction.Received, Round(at + asResult.Ms), 0, asResult.Ok
                ? $"TGT krbtgt/{facts.Realm} (ticket {facts.As.TicketEtype}, session key {facts.As.SessionKeyEtype})"
                : $"AS exchange failed: {facts.As.Error ?? facts.As.Message}"));
            if (tgsResult is not null)
            {
                facts.Tgs = ToExchange(tgsResult);
                double tgsAt = at + asResult.Ms;
                record.Messages.Add(new WireMessage(Direction.Sent, Round(tgsAt), 0, $"TGS exchange for {service}"));
                record.Messages.Add(new WireMessage(Direction.Received, Round(tgsAt + tgsResult.Ms), 0, tgsResult.Ok
                    ? $"service ticket {service} (ticket {facts.Tgs.TicketEtype}, session key {facts.Tgs.SessionKeyEtype})"
                    : $"TGS exchange failed: {facts.Tgs.Error ?? facts.Tgs.Message}"));
            }
        }
        finally
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
                // A temporary directory left behind holds no secret.
            }
        }
    }

    /// <summary>
    /// A krb5.conf for MIT krb5 naming what the phase found: the realm, the KDC it reached (so the library talks to the
    /// same one) and the client's enctype policy. No secret in it. Null until a KDC was chosen.
    /// </summary>
    public static string? LibraryConfig(KerberosFacts facts)
    {
        if (facts.Realm is null || facts.Kdc is null)
        {
            return null;
        }

        string etypes = string.Join(' ', facts.EtypesRequested);
        return string.Join('\n',
            "[libdefaults]",
            $"    default_realm = {facts.Realm}",
            "    dns_lookup_kdc = false",
            "    dns_lookup_realm = false",
            "    dns_canonicalize_hostname = false",
            "    rdns = false",
            $"    permitted_enctypes = {etypes}",
            $"    default_tkt_enctypes = {etypes}",
            $"    default_tgs_enctypes = {etypes}",
            "[realms]",
            $"    {facts.Realm} = {{",
            $"        kdc = {facts.Kdc}",
            "    }",
            string.Empty);
    }

    private static KerberosExchange ToExchange(Krb5Result r) => new(
        r.Ok,
        r.KdcError is { } k ? Kerberos.ErrorName(k) : null,
        r.Message,
        r.TicketEtype is { } t ? Kerberos.EtypeName(t) : null,
        r.SessionKeyEtype is { } s ? Kerberos.EtypeName(s) : null,
        Round(r.Ms));

    private static int? Krb5ErrorOf(KerberosExchange exchange)
        => exchange.Error is { } name ? Enumerable.Range(0, 128).Cast<int?>().FirstOrDefault(c => Kerberos.ErrorName(c!.Value) == name) : null;

    private static string AsFailureDetail(KerberosExchange failure, int? code, KerberosFacts facts) => code switch
    {
        Kerberos.KdcErrPreauthFailed => $"KDC_ERR_PREAUTH_FAILED: the KDC {facts.Kdc} rejected the pre-authentication: the password is wrong",
        Kerberos.KdcErrKeyExpired => "KDC_ERR_KEY_EXPIRED: the password has expired and must be changed",
        Kerberos.KdcErrClientRevoked => "KDC_ERR_CLIENT_REVOKED: the account is disabled or locked out",
        Kerberos.KrbApErrSkew => "KRB_AP_ERR_SKEW: the clocks of this machine and the KDC differ by more than the allowed skew",
        Kerberos.KdcErrEtypeNoSupport => "KDC_ERR_ETYPE_NOSUPP: the account has no key in an encryption type the client allows",
        _ => $"the AS exchange failed: {failure.Error ?? "library error"} ({failure.Message})",
    };

    private static uint Nonce() => BitConverter.ToUInt32(RandomNumberGenerator.GetBytes(4)) & 0x7FFFFFFF;

    private static double Round(double ms) => Math.Round(ms, 3);
}
