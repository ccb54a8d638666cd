using System.Globalization;
using RdpProbe.Protocol;

namespace RdpProbe.Diagnosis;

/// <summary>
/// The security findings of one server, computed from <see cref="SecurityFacts"/> alone: certificate, TLS versions,
/// CredSSP version, NLA, Standard RDP Security and its encryption, clock skew, unverifiable credentials, UDP. Each
/// finding names the client profiles it stops or warns (<see cref="Finding.Affects"/>), computed from the profiles'
/// data rather than written by hand. Codes are stable snake_case words (<see cref="Codes"/>).
/// </summary>
public static class FindingRules
{
    /// <summary>The finding codes this class produces.</summary>
    public static class Codes
    {
        public const string SecurityDowngrade = "security_downgrade";
        public const string EncryptionNone = "encryption_none";
        public const string EncryptionWeak = "encryption_weak";
        public const string StandardRdpSecurityAccepted = "standard_rdp_security_accepted";
        public const string NlaNotRequired = "nla_not_required";
        public const string CertificateExpired = "certificate_expired";
        public const string CertificateNotYetValid = "certificate_not_yet_valid";
        public const string CertificateExpiringSoon = "certificate_expiring_soon";
        public const string CertificateSelfSigned = "certificate_self_signed";
        public const string CertificateNameMismatch = "certificate_name_mismatch";
        public const string CertificateWeakKey = "certificate_weak_key";
        public const string CertificateSha1Signature = "certificate_sha1_signature";
        public const string TlsLegacyAccepted = "tls_legacy_accepted";
        public const string Tls12NotAccepted = "tls_1_2_not_accepted";
        public const string CredSspUnpatched = "credssp_unpatched";
        public const string NtlmClockSkew = "ntlm_clock_skew";
        public const string KerberosFallbackToNtlm = "kerberos_fallback_to_ntlm";
        public const string CredentialsNotVerified = "credentials_not_verified";
        public const string UdpUnreachable = "udp_unreachable";
        public const string AddressUnreachable = "address_unreachable";
    }

    /// <summary>A certificate expiring within this many days is worth a warning.</summary>
    public const int ExpiryWarningDays = 30;

    /// <summary>NIST SP 800-57 Part 1 / SP 800-131A: RSA keys below 2048 bits are not acceptable since 2013.</summary>
    public const int MinimumRsaBits = 2048;

    /// <summary>
    /// Every finding the facts support, most severe first. <paramref name="profiles"/> (default: the real clients)
    /// decide <see cref="Finding.Affects"/>.
    /// </summary>
    public static IReadOnlyList<Finding> Evaluate(SecurityFacts facts, IReadOnlyList<ClientProfile>? profiles = null)
    {
        ArgumentNullException.ThrowIfNull(facts);
        profiles ??= ClientProfiles.RealClients;
        var findings = new List<Finding>();
        StandardSecurity(facts, profiles, findings);
        Certificate(facts, profiles, findings);
        Tls(facts, profiles, findings);
        CredSsp(facts, profiles, findings);
        Credentials(facts, findings);
        KerberosFallback(facts, findings);
        Udp(facts, findings);

        // Stable: severity first, then the order the rules ran in.
        return [.. findings.Select((f, i) => (f, i)).OrderBy(x => x.f.Severity).ThenBy(x => x.i).Select(x => x.f)];
    }

    private static string[] Names(IEnumerable<ClientProfile> profiles) => [.. profiles.Select(p => p.Name)];

    private static string Date(DateTimeOffset d) => d.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);

    private static void StandardSecurity(SecurityFacts f, IReadOnlyList<ClientProfile> profiles, List<Finding> findings)
    {
        bool selectedRdp = f.SelectedProtocol == SecurityProtocols.Rdp;

        // Same rule and wording as the probe's own security_downgrade (MS-RDPBCGR 2.2.1.2.1: PROTOCOL_RDP selected
        // although the request asked for Enhanced RDP Security).
        if (selectedRdp && f.RequestedProtocols != SecurityProtocols.Rdp)
        {
            findings.Add(new Finding(
                Codes.SecurityDowngrade,
                Severity.Critical,
                "The server downgraded the connection to Standard RDP Security, which the client did not request.",
                f.LegacyConfirm
                    ? $"the Connection Confirm carried no negotiation data (a legacy answer) to a request for {ClientVerdict.Name(f.RequestedProtocols)}"
                    : $"the Connection Confirm selected PROTOCOL_RDP (0) in answer to a request for {ClientVerdict.Name(f.RequestedProtocols)}",
                "Standard RDP Security has no server authentication and uses RC4: give the server a usable TLS certificate and key "
                + "(a server that cannot load its certificate falls back like this) and set its security layer to TLS/Negotiate "
                + "with NLA; the probe never sends a password over such a connection.")
            {
                Affects = Names(profiles.Where(p => p.AcceptsStandardRdpSecurity && p.WarnsOnStandardRdpSecurity)),
            });
        }

        if (selectedRdp && f.EncryptionMethod == StandardEncryptionMethod.None)
        {
            string level = f.EncryptionLevel switch
            {
                StandardEncryptionLevel.Low => "low",
                StandardEncryptionLevel.ClientCompatible => "client-compatible",
                StandardEncryptionLevel.High => "high",
                StandardEncryptionLevel.Fips => "fips",
                _ => "none",
            };
            findings.Add(new Finding(
                Codes.EncryptionNone,
                Severity.Critical,
                "The session is not encrypted at all: Standard RDP Security with encryption level none.",
                $"the MCS Connect Response's security data announced encryption method none, level {level}",
                "Everything, the Client Info PDU with user name and password included, would cross the network in clear: require TLS "
                + "or NLA on the server, or at least encryption level High."));
        }

        bool rdpAccepted = f.Matrix is { } m && m.TryGetValue(SecurityProtocols.Rdp, out var rdp) && rdp.Support == ProtocolSupport.Supported;
        if (rdpAccepted || selectedRdp)
        {
            findings.Add(new Finding(
                Codes.StandardRdpSecurityAccepted,
                Severity.High,
                "The server accepts Standard RDP Security, which does not authenticate the server.",
                rdpAccepted ? "a request for PROTOCOL_RDP alone was accepted (security-layer matrix)" : "the main connection ran with PROTOCOL_RDP",
                "Set the server's security layer to TLS (Windows: \"Require use of specific security layer for remote (RDP) connections\" = SSL; "
                + "xrdp: security_layer=tls) so that a man in the middle cannot pose as the server.")
            {
                Affects = Names(profiles.Where(p => p.AcceptsStandardRdpSecurity && p.WarnsOnStandardRdpSecurity)),
            });
        }

        // MS-RDPBCGR 5.3.1: Low encrypts only client-to-server traffic; 40- and 56-bit RC4 keys are breakable.
        var weakMethods = new List<StandardEncryptionMethod>();
        if (f.AcceptedEncryptionMethods is { } accepted)
        {
            weakMethods.AddRange(accepted.Where(a => a is StandardEncryptionMethod.Bit40 or StandardEncryptionMethod.Bit56));
        }

        if (selectedRdp && f.EncryptionMethod is StandardEncryptionMethod.Bit40 or StandardEncryptionMethod.Bit56 && !weakMethods.Contains(f.EncryptionMethod.Value))
        {
            weakMethods.Add(f.EncryptionMethod.Value);
        }

        bool lowLevel = f.EncryptionLevel == StandardEncryptionLevel.Low && (selectedRdp || rdpAccepted);
        if (weakMethods.Count > 0 || lowLevel)
        {
            var parts = new List<string>();
            if (weakMethods.Count > 0)
            {
                parts.Add("accepts " + string.Join(", ", weakMethods.Select(MethodName)));
            }

            if (lowLevel)
            {
                parts.Add("encryption level low (only client-to-server traffic is encrypted)");
            }

            findings.Add(new Finding(
                Codes.EncryptionWeak,
                Severity.High,
                "Standard RDP Security is allowed with weak encryption.",
                "the server " + string.Join("; ", parts),
                "Set the encryption level to High or FIPS (Windows: \"Set client connection encryption level\"; xrdp: crypt_level=high), "
                + "better still require TLS."));
        }

        if (f.NlaRequired == false)
        {
            findings.Add(new Finding(
                Codes.NlaNotRequired,
                Severity.Medium,
                "The server does not require Network Level Authentication.",
                "a connection without CredSSP was accepted (security-layer matrix)",
                "Require NLA (Windows: \"Require user authentication for remote connections by using Network Level Authentication\"): "
                + "without it anyone who reaches the port gets a logon screen and a session's worth of server resources before authenticating."));
        }
    }

    private static string MethodName(StandardEncryptionMethod m) => m switch
    {
        StandardEncryptionMethod.Bit40 => "40-bit",
        StandardEncryptionMethod.Bit56 => "56-bit",
        StandardEncryptionMethod.Bit128 => "128-bit",
        StandardEncryptionMethod.Fips => "FIPS",
        _ => "none",
    };

    private static void Certificate(SecurityFacts f, IReadOnlyList<ClientProfile> profiles, List<Finding> findings)
    {
        if (f.Certificate is not { } cert)
        {
            return;
        }

        IEnumerable<ClientProfile> Checking(Func<ClientProfile, CertificateBehaviour> behaviour) => profiles.Where(p => behaviour(p) != CertificateBehaviour.Ignores);

        if (f.ObservedAt > cert.NotAfter)
        {
            findings.Add(new Finding(
                Codes.CertificateExpired,
                Severity.High,
                "The server's TLS certificate has expired.",
                $"notAfter {Date(cert.NotAfter)}, {(int)(f.ObservedAt - cert.NotAfter).TotalDays} days ago; subject {cert.Subject}",
                "Renew the certificate (Windows: it is re-created when a self-signed one expires only after the Remote Desktop service restarts; "
                + "xrdp: the certificate= and key_file= files). Clients warn (mstsc: \"The certificate has expired or is not yet valid\") "
                + "and users learn to click through.")
            {
                Affects = Names(Checking(p => p.ExpiredCertificate)),
            });
        }
        else if (f.ObservedAt < cert.NotBefore)
        {
            findings.Add(new Finding(
                Codes.CertificateNotYetValid,
                Severity.High,
                "The server's TLS certificate is not valid yet.",
                $"notBefore {Date(cert.NotBefore)}; subject {cert.Subject}",
                "Check the server's and the issuer's clocks, or reissue the certificate with a correct start date.")
            {
                Affects = Names(Checking(p => p.ExpiredCertificate)),
            });
        }
        else if (cert.NotAfter - f.ObservedAt <= TimeSpan.FromDays(ExpiryWarningDays))
        {
            findings.Add(new Finding(
                Codes.CertificateExpiringSoon,
                Severity.Medium,
                $"The server's TLS certificate expires within {ExpiryWarningDays} days.",
                $"notAfter {Date(cert.NotAfter)}, in {(int)(cert.NotAfter - f.ObservedAt).TotalDays} days",
                "Renew it before it expires; after that every client shows a certificate warning."));
        }

        if (cert.SelfSigned)
        {
            findings.Add(new Finding(
                Codes.CertificateSelfSigned,
                Severity.Info,
                "The server's TLS certificate is self-signed (usual for RDP, but clients cannot verify it).",
                $"subject and issuer are both {cert.Subject}",
                "Clients show \"The identity of the remote computer cannot be verified\" (mstsc) or ask whether to trust it (xfreerdp) unless "
                + "Kerberos authenticates the server; issue a certificate from a CA the clients trust (Windows: the Remote Desktop "
                + "certificate template via Group Policy) to remove the warning.")
            {
                Affects = Names(Checking(p => p.UntrustedCertificate)),
            });
        }

        if (f.HostName is { } host && !CertificateMatching.Matches(cert, host))
        {
            var names = cert.SubjectAltNames.Count > 0 ? string.Join(", ", cert.SubjectAltNames) : cert.SubjectCommonName ?? "(none)";
            findings.Add(new Finding(
                Codes.CertificateNameMismatch,
                Severity.Medium,
                $"The server's TLS certificate does not name {host}.",
                $"probed as {host}; the certificate names {names}",
                "Issue a certificate with the name users connect to in subjectAltName, or have users connect by the name it carries.")
            {
                Affects = Names(Checking(p => p.NameMismatch)),
            });
        }

        if (cert.KeyAlgorithm.Equals("rsa", StringComparison.OrdinalIgnoreCase) && cert.KeySize is { } bits && bits < MinimumRsaBits)
        {
            var refusing = profiles.Where(p => p.MinimumRsaKeyBits is { } min && bits < min).ToList();
            findings.Add(new Finding(
                Codes.CertificateWeakKey,
                refusing.Count > 0 ? Severity.High : Severity.Medium,
                $"The server's TLS certificate has a {bits}-bit RSA key.",
                $"key {cert.KeyAlgorithm} {bits} bits"
                + (refusing.Count > 0 ? $"; refused by {string.Join(", ", refusing.Select(p => p.Name))} (TLS security level)" : ""),
                $"Issue a certificate with an RSA key of at least {MinimumRsaBits} bits (or ECDSA P-256).")
            {
                Affects = Names(refusing),
            });
        }

        if (cert.SignatureAlgorithm.Contains("sha1", StringComparison.OrdinalIgnoreCase) || cert.SignatureAlgorithm.Contains("md5", StringComparison.OrdinalIgnoreCase))
        {
            findings.Add(new Finding(
                Codes.CertificateSha1Signature,
                cert.SelfSigned ? Severity.Low : Severity.Medium,
                "The server's TLS certificate is signed with SHA-1 (or older).",
                $"signature algorithm {cert.SignatureAlgorithm}" + (cert.SelfSigned ? " (self-signed, so its trust does not rest on this signature)" : ""),
                "Reissue the certificate signed with SHA-256 or better; SHA-1 signatures are no longer accepted by public CAs and current TLS stacks."));
        }
    }

    private static void Tls(SecurityFacts f, IReadOnlyList<ClientProfile> profiles, List<Finding> findings)
    {
        var legacy = new[] { TlsVersion.Tls10, TlsVersion.Tls11 }.Where(v => f.Accepts(v) == true).ToList();
        if (legacy.Count > 0)
        {
            findings.Add(new Finding(
                Codes.TlsLegacyAccepted,
                Severity.Medium,
                $"The server accepts {string.Join(" and ", legacy.Select(ClientCompatibility.TlsName))}.",
                $"a handshake offering only {string.Join(" / ", legacy.Select(ClientCompatibility.TlsName))} succeeded",
                "Disable TLS 1.0 and 1.1 (RFC 8996 deprecates them; Windows: Schannel Protocols registry keys; xrdp: ssl_protocols=TLSv1.2, TLSv1.3)."));
        }

        if (f.Accepts(TlsVersion.Tls12) == false)
        {
            var stopped = profiles.Where(p => p.TlsVersions.All(v => f.Accepts(v) == false)).ToList();
            var accepted = Enum.GetValues<TlsVersion>().Where(v => f.Accepts(v) == true).Select(ClientCompatibility.TlsName).ToList();
            findings.Add(new Finding(
                Codes.Tls12NotAccepted,
                Severity.High,
                "The server does not accept TLS 1.2.",
                $"a handshake offering only TLS 1.2 failed; accepted: {(accepted.Count > 0 ? string.Join(", ", accepted) : "none")}"
                + (stopped.Count > 0 ? $"; no common version with {string.Join(", ", stopped.Select(p => p.Name))}" : ""),
                "Enable TLS 1.2 on the server (Windows 7 / 2008 R2: KB3080079 and the Schannel TLS 1.2 keys; xrdp: ssl_protocols=TLSv1.2, TLSv1.3). "
                + "Current clients offer nothing older.")
            {
                Affects = Names(stopped),
            });
        }
    }

    private static void CredSsp(SecurityFacts f, IReadOnlyList<ClientProfile> profiles, List<Finding> findings)
    {
        if (f.CredSspServerVersion is { } version && version < ClientProfiles.PatchedCredSspVersion)
        {
            findings.Add(new Finding(
                Codes.CredSspUnpatched,
                Severity.High,
                "The server speaks a CredSSP version without the CVE-2018-0886 fix.",
                $"the server's TSRequest carries version {version}; versions {ClientProfiles.PatchedCredSspVersion} and later bind the server's public key with a client nonce (MS-CSSP 3.1.5)",
                "Install the server's updates since March 2018: patched clients (encryption oracle remediation \"Mitigated\", the default) "
                + "refuse it with \"This could be due to CredSSP encryption oracle remediation\". Do not weaken the clients to \"Vulnerable\".")
            {
                Affects = Names(profiles.Where(p => p.MinimumCredSspVersion > version)),
            });
        }

        if (f.NtlmClockSkewSeconds is { } skew && Math.Abs(skew) > ClientCompatibility.KerberosMaxSkewSeconds)
        {
            findings.Add(new Finding(
                Codes.NtlmClockSkew,
                Severity.Medium,
                $"The server's clock is {Math.Abs(skew) / 60:0.#} minutes {(skew > 0 ? "ahead of" : "behind")} this machine's.",
                $"NTLM CHALLENGE timestamp (MS-NLMP 2.2.2.1 MsvAvTimestamp) differs by {skew:0} s",
                "Kerberos allows 5 minutes of skew by default: domain logons to this server fail (KRB_AP_ERR_SKEW) and fall back to NTLM or "
                + "fail where NTLM is blocked. Synchronise the server's time (w32tm / NTP) with the domain."));
        }
    }

    private static void KerberosFallback(SecurityFacts f, List<Finding> findings)
    {
        if (f.KerberosFallback is not { } why)
        {
            return;
        }

        // Issue 12: the logon works over NTLM today, and stops working the day NTLM is restricted for these accounts.
        findings.Add(new Finding(
            Codes.KerberosFallbackToNtlm,
            Severity.Medium,
            "Kerberos could not be had for this server; clients fall back to NTLM.",
            $"the kerberos phase failed with {why.Code}{(why.Spn is null ? "" : " for " + why.Spn)}, and CredSSP went on with NTLM as Negotiate does",
            "This connection works only while NTLM is allowed: a Restrict NTLM policy or membership of Protected Users takes the "
            + "fallback away and the logon fails at CredSSP (0x904 / 0x7); Credential Guard stops NTLM from using the signed-in "
            + "credentials, so single sign-on prompts. Fix the Kerberos failure named in the kerberos phase (register the SPN, open the KDC's "
            + "port 88, synchronise the clocks, align encryption types)."));
    }

    private static void Credentials(SecurityFacts f, List<Finding> findings)
    {
        bool nla = f.SelectedProtocol is SecurityProtocols.Hybrid or SecurityProtocols.HybridEx;
        if (f.CredentialsGiven && f.CredentialsVerified != true && !nla && f.SelectedProtocol is not null)
        {
            findings.Add(new Finding(
                Codes.CredentialsNotVerified,
                Severity.Medium,
                "The credentials given were not checked: the server does not use NLA, so nothing verifies them before the session.",
                $"the server selected {ClientVerdict.Name(f.SelectedProtocol)}, not CredSSP (HYBRID); the probe never sends a password outside CredSSP",
                "A real client would only learn whether the password works at the logon screen. Require NLA on the server to have them "
                + "checked during the handshake."));
        }
    }

    private static void Udp(SecurityFacts f, List<Finding> findings)
    {
        if (f.Udp is { } udp && udp != UdpReachability.Reachable)
        {
            string what = udp switch
            {
                UdpReachability.PortUnreachable => "the host answered ICMP port unreachable (nothing listens on the UDP port)",
                UdpReachability.HostUnreachable => "ICMP host or network unreachable",
                UdpReachability.Silence => "no answer to any RDP-UDP SYN (filtered, or the server does not run RDP-UDP)",
                _ => "something answered, but not with an RDP-UDP SYN+ACK",
            };
            findings.Add(new Finding(
                Codes.UdpUnreachable,
                Severity.Low,
                "RDP over UDP is not reachable: sessions fall back to TCP only.",
                what,
                "Allow UDP to the RDP port (3389) through the firewalls, and enable the RDP UDP transport on the server, for better "
                + "interactivity on lossy or long links; TCP works without it."));
        }
    }

    /// <summary>
    /// A name whose first address does not answer while a later one does: clients try the addresses in the resolver's
    /// order (RFC 6724 sorting; mstsc and FreeRDP walk getaddrinfo's list) and wait for each dead one first. Not a fact
    /// of the server's security, so the engine adds it itself from the addresses it walked.
    /// </summary>
    /// <param name="dead">The first address, which did not answer.</param>
    /// <param name="ending">How it ended at tcp: refused, timeout or unreachable.</param>
    /// <param name="ms">How long the probe waited for it, when measured.</param>
    /// <param name="answered">The address that answered.</param>
    /// <param name="alsoDead">Further dead addresses between the two.</param>
    public static Finding AddressUnreachable(System.Net.IPAddress dead, Ending ending, double? ms, System.Net.IPAddress answered, IReadOnlyList<System.Net.IPAddress> alsoDead)
    {
        ArgumentNullException.ThrowIfNull(dead);
        ArgumentNullException.ThrowIfNull(answered);
        ArgumentNullException.ThrowIfNull(alsoDead);
        string how = ending switch
        {
            Ending.Refused => "refused the connection (TCP reset)",
            Ending.Unreachable => "is unreachable (no route)",
            _ => "did not answer the SYN",
        };
        string waited = ms is { } t ? string.Create(CultureInfo.InvariantCulture, $" after {t:0} ms") : "";
        string others = alsoDead.Count > 0 ? $", nor did {string.Join(", ", alsoDead)}" : "";
        return new Finding(
            Codes.AddressUnreachable,
            Severity.Medium,
            $"The first address {dead} does not answer; clients wait for it before trying {answered}.",
            $"tcp to {dead} {how}{waited}{others}; {answered} answered and was probed",
            "Remove the dead address from DNS (or make the server listen on it, e.g. IPv6 as well as IPv4): every client loses "
            + "that wait, a whole connect timeout when the address is filtered, which is why \"use the IP instead of the name\" seems to help.")
        {
            Affects = [.. ClientProfiles.RealClients.Select(p => p.Name)],
        };
    }
}
