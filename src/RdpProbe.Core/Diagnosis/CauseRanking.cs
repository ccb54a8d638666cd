using RdpProbe.Protocol;

namespace RdpProbe.Diagnosis;

/// <summary>
/// Ranks and de-duplicates a verdict's causes with the attribution evidence (<see cref="Attribution"/>): the first cause
/// is the most likely one given who ended the connection and how, the verdict states the evidence that ranks it, and
/// where the evidence cannot decide it says which possibilities remain and what would tell them apart.
/// </summary>
public static class CauseRanking
{
    private const string MiddleboxReset = "a middlebox (IPS, firewall, SSL inspection, load balancer) reset the connection on this message";

    /// <summary>The verdict with its summary, causes and remedies ranked by <paramref name="a"/>; an ok verdict is returned unchanged but for the attribution.</summary>
    public static Verdict Apply(Verdict v, Attribution a)
    {
        ArgumentNullException.ThrowIfNull(v);
        ArgumentNullException.ThrowIfNull(a);
        if (v.Ok)
        {
            return v with { Attribution = a };
        }

        var r = Rule(v, a);
        var causes = Dedupe(r.Lead.Concat(r.DropTable ? [] : v.Causes.Where(c => !r.Contradicts(c))));
        var remedies = Dedupe(r.Remedies.Concat(r.DropTable ? [] : v.Remedies));
        return v with
        {
            Summary = r.Summary ?? v.Summary,
            Code = r.Code ?? v.Code,
            Causes = causes,
            Remedies = remedies,
            Attribution = a,
            Evidence = a.Evidence(),
            Undecided = r.Undecided,
            Inferred = v.Inferred || r.Inferred,
        };
    }

    /// <summary>What one rule decides: a summary (null: keep), the leading causes, remedies first, and what remains open.</summary>
    private sealed record Ranked(string? Summary, string[] Lead, string[] Remedies, string[] Undecided, bool DropTable = false, bool Inferred = false, Code? Code = null)
    {
        /// <summary>Table causes the evidence rules out (matched by key words).</summary>
        public string[] RuledOut { get; init; } = [];

        public bool Contradicts(string cause) => RuledOut.Any(w => cause.Contains(w, StringComparison.OrdinalIgnoreCase));
    }

    private static readonly Ranked Keep = new(null, [], [], []);

    private static Ranked Rule(Verdict v, Attribution a)
    {
        // ---- a fatal TLS alert the CLIENT sent: the client refused what the server offered (RFC 8446 6.2)
        if (v.Phase == Phase.Tls && a.What == LastBytes.TlsAlert && a.LastSender == Party.Client && a.Alert is { } alert)
        {
            string name = TlsNames.AlertName(alert.Description);
            string after = a.AfterServerHello ? "after the server's ServerHello" : "before any ServerHello";
            string lead = alert.Description switch
            {
                TlsAlertDescription.BadCertificate or TlsAlertDescription.UnknownCa or TlsAlertDescription.CertificateUnknown
                    or TlsAlertDescription.CertificateExpired or TlsAlertDescription.UnsupportedCertificate
                    => "the client does not accept the server's certificate (untrusted, expired, wrong name or too weak a key)",
                TlsAlertDescription.DecryptError or TlsAlertDescription.BadRecordMac
                    => "the client could not verify the server's handshake (a broken server TLS stack or something rewriting the bytes)",
                TlsAlertDescription.UnexpectedMessage or TlsAlertDescription.DecodeError or TlsAlertDescription.RecordOverflow
                    => "the server sent TLS data the client could not accept (malformed or out of order: a broken server, or a proxy that does not pass TLS through)",
                _ when a.AfterServerHello
                    => "the client refuses the TLS version or parameters the server chose (e.g. a server limited to TLS 1.0/1.1 and a client whose OpenSSL or Schannel no longer allows them)",
                _ => "the client's TLS stack refused to continue",
            };
            return new Ranked(
                $"The client ended the TLS handshake with a fatal {name} alert {after}: the client refused what the server offered; the server did not abort.",
                [lead],
                a.AfterServerHello && alert.Description is not (TlsAlertDescription.BadCertificate or TlsAlertDescription.UnknownCa or TlsAlertDescription.CertificateUnknown or TlsAlertDescription.CertificateExpired)
                    ? ["check which TLS versions the server accepts (tls_versions check) and enable TLS 1.2 on it", "do not lower the client's TLS security level except to confirm the cause"]
                    : ["give the server a certificate the clients accept"],
                [],
                DropTable: true);
        }

        // ---- a cleartext MCS Disconnect Provider Ultimatum where the ServerHello was due (T.125 11.15; MS-RDPBCGR 5.3.1)
        if (v.Phase == Phase.Tls && a.What == LastBytes.McsPdu && a.LastSender == Party.Server)
        {
            return new Ranked(
                "The server selected TLS in its Connection Confirm, then sent a cleartext MCS Disconnect Provider Ultimatum instead of a ServerHello: it cannot use its TLS certificate or private key.",
                ["the server's certificate or private key is unusable: the key does not belong to the certificate, the files are unreadable (xrdp certificate= / key_file=), or on Windows TermService cannot read the private key in MachineKeys"],
                ["give the server a certificate whose private key it can read (xrdp: a matching cert.pem/key.pem readable by the xrdp user; Windows: delete the Remote Desktop certificate and restart TermService, or fix the MachineKeys permissions)"],
                [],
                DropTable: false,
                Code: Codes.McsDisconnectProviderUltimatum)
            {
                RuledOut = ["proxy", "broken server"],
            };
        }

        // ---- a reset right after the NTLM AUTHENTICATE: not a rejection (a rejected logon ends with an encrypted alert and a FIN)
        if (v.Phase == Phase.Credssp && a.BareServerReset
            && (v.Code == Codes.ResetAfterAuthenticate || a.WhatDetail?.Contains("AUTHENTICATE", StringComparison.Ordinal) == true))
        {
            string proof = a.ServerSentAfterReset ? " The server kept sending after the reset, so the reset did not come from it." : string.Empty;
            return new Ranked(
                "The connection was reset right after the client's NTLM AUTHENTICATE, without the encrypted TLS alert and FIN a server sends when it rejects a password: a middlebox most likely cut the connection; nothing shows the credentials were wrong." + proof,
                [MiddleboxReset, "the server's process aborted right after the AUTHENTICATE (a crash, not a logon failure)"],
                ["check IPS/firewall/SSL-inspection logs for this flow (signatures on NTLM or CredSSP)", "probe from the server's own network to see whether the logon succeeds without the middlebox"],
                a.ServerSentAfterReset
                    ? []
                    : ["a middlebox or a crashed server: a capture on the server shows whether the AUTHENTICATE arrived and whether the server itself sent the RST; a wrong password would log event 4625 on the server and end with an encrypted alert and a FIN"],
                DropTable: true,
                Inferred: !a.ServerSentAfterReset,
                Code: Codes.ResetAfterAuthenticate);
        }

        // ---- a reset on the MCS Connect Initial: an active refusal, not an MTU black hole (a black hole stalls)
        if (v.Phase == Phase.Mcs && a.End == EndedHow.Reset && a.EndedBy != Party.Client)
        {
            string proof = a.ServerSentAfterReset ? " The server kept sending after the reset: a middlebox sent it." : string.Empty;
            return new Ranked(
                "The connection was reset right after the MCS Connect Initial: something actively refused it (a reset is not an MTU black hole, which stalls)." + proof,
                a.ServerSentAfterReset
                    ? [MiddleboxReset]
                    : [MiddleboxReset, "the server aborted on the Connect Initial's GCC data (encryption methods vs its encryption level, FIPS, channels, desktop size)"],
                ["check IPS/firewall logs for this flow", "check the server's logs for a refused Connect Initial and its encryption level policy"],
                a.ServerSentAfterReset
                    ? []
                    : ["a middlebox or the server: a client-side capture shows whether the server keeps sending after the reset (then a middlebox sent it); the server's log shows whether it saw the Connect Initial"],
                // The lead names both possibilities; the table's rows for a reset here say the same in other words.
                DropTable: true)
            {
                RuledOut = ["MTU", "black hole"],
            };
        }

        // ---- any other reset the server kept sending after
        if (a.End == EndedHow.Reset && a.ServerSentAfterReset)
        {
            return new Ranked(
                v.Summary + " The server kept sending after the reset, so a middlebox sent it.",
                [MiddleboxReset],
                ["check IPS/firewall logs for this flow"],
                [])
            {
                RuledOut = ["MTU", "black hole"],
            };
        }

        // ---- silence: a hung listener vs an MTU black hole
        if (a.End == EndedHow.Silence || v.Ending == Ending.Timeout)
        {
            if (v.Phase == Phase.X224 && a.What == LastBytes.Nothing)
            {
                return new Ranked(
                    "The server accepted the TCP connection but never answered the X.224 Connection Request (not even with its 19-byte Connection Confirm): the listener is hung, stopped or not an RDP service; an MTU black hole cannot swallow a 19-byte answer.",
                    ["the RDP listener is hung or stopped (TermService wedged, a process suspended), while the kernel still accepts connections", "a proxy or port forward accepted the connection but cannot reach the server", "a service that waits for something else from the client (not RDP)"],
                    ["restart the Remote Desktop Services service (or the xrdp process) on the server", "check port forwards / proxies in front of the server", "check what listens on the port"],
                    [],
                    DropTable: true,
                    Code: v.Code == Codes.Stall ? Codes.NoConnectionConfirm : v.Code);
            }

            if (a.MtuCheckBlackHole && v.Phase is Phase.Tls or Phase.Credssp or Phase.Mcs)
            {
                // Measured on the same path (small segments pass, large ones vanish): nothing left to decide.
                return new Ranked(
                    "The server's answer never arrived and the MTU check (--mtu) found the path drops the server's large segments while small ones pass: an MTU black hole (ICMP fragmentation-needed not getting through), not a hung server"
                        + (v.Phase == Phase.Tls ? " or a TLS version or cipher problem." : "."),
                    ["path MTU black hole: full-size segments dropped and ICMP fragmentation-needed filtered (VPN, PPPoE, GRE, IPsec)"],
                    ["lower the MTU on the VPN/tunnel adapter or clamp the TCP MSS on the router", "allow ICMP type 3 code 4 (IPv6: type 2) through firewalls"],
                    [],
                    DropTable: true);
            }

            if (a.ServerTailOnly || a.ServerBytesMissing is > 0 || a.LargeSegmentsUnacknowledged)
            {
                string seen = a.ServerTailOnly
                    ? "only the tail of the server's flight arrived"
                    : a.LargeSegmentsUnacknowledged ? "the server's large segments were never acknowledged" : "server data was sent that never arrived";
                return new Ranked(
                    $"The server answered but {seen}, and the client gave up: an MTU black hole (large packets dropped on the path, ICMP fragmentation-needed not getting through), not a TLS version or cipher problem.",
                    ["path MTU black hole: full-size segments dropped and ICMP fragmentation-needed filtered (VPN, PPPoE, GRE, IPsec)"],
                    ["lower the MTU on the VPN/tunnel adapter or clamp the TCP MSS on the router", "allow ICMP type 3 code 4 (IPv6: type 2) through firewalls", "confirm with the MTU check (--mtu)"],
                    [],
                    Inferred: true)
                {
                    RuledOut = ["version", "cipher", "hung", "ClientHello", "certificate"],
                };
            }

            if (v.Phase is Phase.Tls or Phase.Mcs && a.What == LastBytes.Nothing)
            {
                return Keep with
                {
                    Undecided = ["an MTU black hole or a hung server: the server's large segments retransmitted in a server-side capture, or the MTU check (--mtu) failing above some size, point to the black hole; a server that answers nothing at all, even to small requests, is hung"],
                };
            }
        }

        // ---- a silent downgrade to Standard RDP Security (MS-RDPBCGR 2.2.1.2.1 selectedProtocol = PROTOCOL_RDP)
        if (v.Code == Codes.DowngradedToStandardSecurity)
        {
            return Keep with
            {
                Lead = ["the server could not load its TLS certificate or key and fell back to Standard RDP Security (xrdp: unreadable or missing cert.pem/key.pem; Windows: a broken certificate in the MachineKeys store)"],
            };
        }

        // ---- a bare reset with no further evidence: the server or a middlebox
        if (a.BareServerReset && v.Phase > Phase.Tcp)
        {
            return Keep with
            {
                Undecided = ["the server or a middlebox sent the reset: a capture where the server keeps sending after the reset (or a server-side capture without the RST) shows a middlebox"],
            };
        }

        return Keep;
    }

    /// <summary>
    /// Causes or remedies without duplicates: the same words twice, or one cause whose key words all appear in an earlier
    /// one ("wrong user name or password" after "wrong user name, domain or password"), keep only the earlier.
    /// </summary>
    public static IReadOnlyList<string> Dedupe(IEnumerable<string> items)
    {
        var kept = new List<string>();
        var keys = new List<HashSet<string>>();
        foreach (var item in items)
        {
            if (string.IsNullOrWhiteSpace(item))
            {
                continue;
            }

            var words = KeyWords(item);
            bool duplicate = keys.Any(k => k.SetEquals(words) || (words.Count >= 3 && (words.IsSubsetOf(k) || k.IsSubsetOf(words)))
                || (words.Count >= 3 && Jaccard(k, words) >= 0.6));
            if (!duplicate)
            {
                kept.Add(item);
                keys.Add(words);
            }
        }

        return kept;
    }

    private static readonly HashSet<string> Stop = new(StringComparer.Ordinal)
    {
        "a", "an", "the", "or", "and", "of", "on", "in", "to", "is", "its", "it", "for", "by", "with", "this", "that", "at", "as", "e", "g", "eg",
    };

    private static HashSet<string> KeyWords(string text)
    {
        var words = new HashSet<string>(StringComparer.Ordinal);
        foreach (var raw in text.ToLowerInvariant().Split([' ', ',', '.', ';', ':', '(', ')', '/', '\'', '"', '…'], StringSplitOptions.RemoveEmptyEntries))
        {
            if (!Stop.Contains(raw))
            {
                words.Add(raw);
            }
        }

        return words;
    }

    private static double Jaccard(HashSet<string> a, HashSet<string> b)
    {
        int inter = a.Count(b.Contains);
        int union = a.Count + b.Count - inter;
        return union == 0 ? 1 : (double)inter / union;
    }
}
