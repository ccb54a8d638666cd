namespace RdpProbe.Diagnosis;

/// <summary>What a symptom means: one sentence to act on, the likely causes, what to do.</summary>
public sealed record Explanation(string Summary, IReadOnlyList<string> Causes, IReadOnlyList<string> Remedies);

/// <summary>
/// The symptom → cause knowledge table, keyed by (phase, ending, code). Used by the live probe and by
/// the capture analyzer, so both give the same words for the same observation.
/// Codes are the report words the phases record: RDP_NEG_FAILURE names ("hybrid_required_by_server"), TLS alert names
/// ("protocol_version"), NTSTATUS names ("status_logon_failure"), <see cref="Protocol.SniffResult.Code"/> words
/// ("http_response"), and a few probe words ("before_server_hello").
/// </summary>
public static class Symptoms
{
    private sealed record Entry(Phase? Phase, Ending? Ending, Code? Code, Explanation Explanation);

    private static Entry E(Phase? phase, Ending? ending, Code? code, string summary, string[] causes, string[] remedies)
        => new(phase, ending, code, new Explanation(summary, causes, remedies));

    /// <summary>A key from a protocol family (RDP_NEG_FAILURE, NTSTATUS, TLS alert, Set Error Info, licensing, sniffed answer) by its report word.</summary>
    private static Code Family(string word) => new(word);

    private static readonly Entry[] Table =
    [
        // ---- everything ok
        E(null, Ending.Ok, null,
            "Every phase the probe ran succeeded: the server is reachable and speaks RDP as far as the probe went.",
            [], []),

        // ---- dns
        E(Phase.Dns, Ending.Unreachable, Codes.NameNotFound,
            "The host name does not resolve, so no client can even start connecting.",
            ["the name is misspelt or not registered in DNS", "the client uses a DNS server (VPN split DNS) that does not know the name"],
            ["check the name with nslookup against the DNS server the client uses", "try the server's IP address directly"]),
        E(Phase.Dns, Ending.Timeout, null,
            "The DNS lookup did not finish in time.",
            ["the DNS server is unreachable or slow (VPN not connected, firewall blocking UDP/TCP 53)"],
            ["check the client's DNS settings and reachability of its DNS server", "try the server's IP address directly"]),

        // ---- tcp
        E(Phase.Tcp, Ending.Refused, null,
            "The host answered the TCP connection attempt with a reset: nothing is listening on this port.",
            ["Remote Desktop is disabled or the TermService service is stopped", "RDP listens on another port (PortNumber in the RDP-Tcp registry key)", "a host firewall rejects (not drops) the connection", "wrong host or port"],
            ["check that Remote Desktop is enabled and TermService is running", "check the listener port on the server (netstat -an | findstr LISTEN)", "check the host firewall rules for this port"]),
        E(Phase.Tcp, Ending.Timeout, null,
            "The TCP connection attempt was not answered at all: the port is filtered or the host is down.",
            ["a firewall or security group silently drops the SYN", "the host is down or the address is wrong", "a VPN route is missing, so packets go nowhere"],
            ["check firewalls / network security groups along the path for TCP to this port", "check that the host is up and the address is right (ping, traceroute)", "test from a machine on the server's own network"]),
        E(Phase.Tcp, Ending.Unreachable, null,
            "The network reported the host as unreachable: there is no route to it.",
            ["no route to the network (VPN down, missing route)", "a router answers with ICMP host/network unreachable", "the address family (IPv6/IPv4) is not routed here"],
            ["check the route to the server (ip route get / route print) and the VPN state", "try the other address family or the IP address the name should resolve to"]),
        E(Phase.Tcp, Ending.Reset, null,
            "The TCP connection was reset while it was being set up.",
            ["a firewall or load balancer resets the connection", "the listener is overloaded"],
            ["check firewalls and load balancers in front of the server"]),

        // ---- x224: the server's negotiation failure codes (MS-RDPBCGR 2.2.1.2.2)
        E(Phase.X224, Ending.NegotiationFailure, Family("ssl_required_by_server"),
            "The server requires Enhanced Security (TLS or CredSSP) but the client offered only Standard RDP Security.",
            ["the client is configured for RDP security only (e.g. /sec:rdp, an old client)", "server SecurityLayer is set to SSL or Negotiate with UserAuthentication"],
            ["let the client offer TLS and CredSSP (default mstsc settings)", "if the server should accept legacy clients, set its security layer to Negotiate"]),
        E(Phase.X224, Ending.NegotiationFailure, Family("ssl_not_allowed_by_server"),
            "The server only allows Standard RDP Security and refused the TLS/CredSSP the client asked for.",
            ["the server's security layer is set to \"RDP Security Layer\" (SecurityLayer = 0)", "a FreeRDP/xrdp server configured for RDP security only"],
            ["set the server's security layer to Negotiate or SSL (Group Policy: Require use of specific security layer)", "or let the client offer PROTOCOL_RDP (less secure)"]),
        E(Phase.X224, Ending.NegotiationFailure, Family("ssl_cert_not_on_server"),
            "The server cannot start TLS: its RDP certificate is missing or its private key is unreadable.",
            ["the Remote Desktop certificate was deleted or expired and not regenerated", "the private key's file permissions (MachineKeys) are broken, so TermService cannot read it", "a certificate set by Group Policy/thumbprint no longer exists"],
            ["delete the RDP certificate in the 'Remote Desktop' certificate store and restart TermService so it is regenerated", "on Azure VMs: rename C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys and restart TermService (documented Microsoft fix)", "check that NETWORK SERVICE can read the key of the configured certificate"]),
        E(Phase.X224, Ending.NegotiationFailure, Family("inconsistent_flags"),
            "The server rejected the requested protocols as inconsistent with the security already in effect.",
            ["the client used the CredSSP Direct Approach with requested protocols that do not match"],
            ["use the default negotiation (SSL|HYBRID|HYBRID_EX) without the Direct Approach"]),
        E(Phase.X224, Ending.NegotiationFailure, Family("hybrid_required_by_server"),
            "The server requires Network Level Authentication (CredSSP) and the client did not offer it.",
            ["NLA is required on the server (UserAuthentication = 1) and the client offered only TLS or RDP security", "CredSSP is disabled on the client (old client, /sec:tls, enablecredsspsupport:i:0 in the .rdp file)"],
            ["let the client offer CredSSP (enablecredsspsupport:i:1; mstsc does by default)", "or, if the server must accept non-NLA clients, clear 'Require user authentication ... Network Level Authentication' on the server"]),
        E(Phase.X224, Ending.NegotiationFailure, Family("ssl_with_user_auth_required_by_server"),
            "The server demands TLS with client-certificate authentication, which the client did not offer.",
            ["the server is configured to require TLS client certificates"],
            ["use a client that supports client-certificate authentication, or relax the server's policy"]),
        E(Phase.X224, Ending.NegotiationFailure, null,
            "The server refused the requested security protocols with an unknown failure code.",
            ["server policy does not allow any of the requested protocols"],
            ["run the security-layer matrix (default) to see which protocols the server accepts"]),

        // ---- x224: answers that are not a Connection Confirm
        E(Phase.X224, Ending.NotRdp, Family("http_response"),
            "An HTTP server answered on this port, not an RDP listener.",
            ["wrong port (a web server or RD Gateway/RD Web on 443)", "a proxy or port forward points to the wrong service"],
            ["check the port; RD Gateway on 443 needs a gateway-aware client, not a direct RDP connection", "fix the port forward / NAT rule"]),
        E(Phase.X224, Ending.NotRdp, Family("ssh_banner"),
            "An SSH server answered on this port, not an RDP listener.",
            ["wrong port or a port forward to the wrong service"],
            ["check the port and the NAT/port-forward rule"]),
        E(Phase.X224, Ending.NotRdp, Family("tls_handshake"),
            "The server answered the X.224 Connection Request with TLS: it is a TLS service, not an RDP listener.",
            ["wrong port (HTTPS, RD Gateway)", "a TLS-terminating load balancer or proxy in front of the server"],
            ["check the port and what listens there", "point the client at the RDP listener itself"]),
        E(Phase.X224, Ending.NotRdp, Family("tls_alert"),
            "The server answered the X.224 Connection Request with a TLS alert: it expects TLS first, not RDP.",
            ["a TLS service or TLS-terminating proxy on this port"],
            ["check the port and what listens there"]),
        E(Phase.X224, Ending.NotRdp, Family("tls_other"),
            "The server answered with a TLS record: it is a TLS service, not an RDP listener.",
            ["a TLS service or TLS-terminating proxy on this port"],
            ["check the port and what listens there"]),
        E(Phase.X224, Ending.NotRdp, Family("text_banner"),
            "A text protocol (SMTP, FTP, a proxy...) answered on this port, not an RDP listener.",
            ["wrong port or a port forward to the wrong service"],
            ["check the port and the NAT/port-forward rule"]),
        E(Phase.X224, Ending.NotRdp, null,
            "Something other than an RDP listener answered on this port.",
            ["wrong port or a port forward to the wrong service"],
            ["check the port and the NAT/port-forward rule"]),
        E(Phase.X224, Ending.Closed, Codes.McsDisconnectProviderUltimatum,
            "The server answered the Connection Request with an MCS Disconnect Provider Ultimatum instead of a Connection Confirm: it refuses the requested protocols without a failure code.",
            ["the server does not support any requested protocol and says so by disconnecting (xrdp does this, e.g. for RDSAAD)", "the server's session limit or policy refuses new connections"],
            ["request a protocol the server supports (see the security-layer matrix)", "check the server's logs (xrdp.log) for the reason"]),
        E(Phase.X224, Ending.Closed, Codes.X224DisconnectRequest,
            "The server answered the Connection Request with an X.224 Disconnect Request.",
            ["the listener refuses the connection (policy, overload)"],
            ["check the server's event log / logs"]),
        E(Phase.X224, Ending.Closed, null,
            "The server closed the connection right after the X.224 Connection Request without answering.",
            ["a load balancer or firewall drops connections without the expected cookie or routing token", "another service on the port that does not understand RDP", "the listener is overloaded or TermService is wedged (MaxOutstandingConnections)", "the endpoint expects a Preconnection PDU (Hyper-V VM console) first"],
            ["send the user name as the load-balancer cookie (mstshash) or the load balancer's routing token in the Connection Request", "restart TermService if the server accepts TCP but never answers", "check what service listens on the port"]),
        E(Phase.X224, Ending.Reset, null,
            "The connection was reset right after the X.224 Connection Request.",
            ["an IPS, firewall or load balancer kills the connection on the RDP request or cookie", "another service on the port", "the listener is overloaded"],
            ["check IPS/firewall logs for this flow", "if a load balancer is in front, send the user name cookie (mstshash) or its routing token in the Connection Request", "check the server's RDP listener"]),
        E(Phase.X224, Ending.Timeout, null,
            "The server accepted the TCP connection but never answered the X.224 Connection Request.",
            ["TermService is hung or overloaded (connections accepted by the kernel, never served)", "a proxy or port forward accepted the connection but cannot reach the server", "a service that waits for the client (not RDP)"],
            ["restart the Remote Desktop Services service on the server", "check port forwards / proxies in front of the server", "check what listens on the port"]),
        E(Phase.X224, Ending.ProtocolViolation, Codes.SelectedNotRequested,
            "The server selected a security protocol the client did not request, which a real client rejects.",
            ["a broken or non-standard RDP server or proxy"],
            ["check the server software and any RDP proxy in front of it"]),
        E(Phase.X224, Ending.ProtocolViolation, Codes.TpktBadLength,
            "The server sent a TPKT header with an impossible length where a Connection Confirm was due.",
            ["not an RDP server, or a broken one"],
            ["check what listens on the port"]),
        E(Phase.X224, Ending.ProtocolViolation, null,
            "The server's answer to the Connection Request is not a valid X.224 Connection Confirm.",
            ["not an RDP server, a broken one, or a proxy that mangles the stream"],
            ["check what listens on the port and any proxy in front of it"]),

        // ---- tls
        E(Phase.Tls, Ending.Reset, Codes.BeforeServerHello,
            "The connection was reset right after the TLS ClientHello: a TLS policy or a middlebox refuses the handshake.",
            ["a firewall/IPS/SSL-inspection device resets TLS it does not like", "the server's TLS policy (Schannel) has no version or cipher in common and resets", "the server's certificate key is unusable at handshake time"],
            ["check firewalls and SSL inspection between client and server", "enable TLS 1.2 on the server (Windows 2008 R2/2012: KB3080079 and the SCHANNEL registry keys)", "see which TLS versions the server accepts (tls_versions check)"]),
        E(Phase.Tls, Ending.Closed, Codes.BeforeServerHello,
            "The server closed the connection after the ClientHello without a ServerHello: no common TLS version or cipher suite.",
            ["TLS 1.2 disabled on the server or only TLS 1.0 enabled while the client requires 1.2 (2008 R2 without KB3080079)", "cipher suites restricted by Group Policy / FIPS mode so none match", "the server's RDP certificate key cannot be used"],
            ["enable TLS 1.2 on the server and in its SCHANNEL settings", "compare the server's cipher-suite order policy with the client's", "regenerate the RDP certificate if its key is unreadable"]),
        E(Phase.Tls, Ending.Timeout, Codes.BeforeServerHello,
            "The ClientHello got no answer: the server's TLS flight never arrived, typical of an MTU black hole (or a hung server).",
            ["path MTU smaller than the server's segments while ICMP 'fragmentation needed' is blocked (VPN, PPPoE, GRE/IPsec tunnel)", "a middlebox that swallows TLS", "the server's TLS stack is hung"],
            ["lower the MTU on the VPN/tunnel adapter or clamp the TCP MSS on the router", "allow ICMP type 3 code 4 (IPv6: type 2) through firewalls", "test with a smaller MTU to confirm"]),
        E(Phase.Tls, Ending.Reset, null,
            "The connection was reset during the TLS handshake.",
            ["a middlebox or the server aborts the handshake (certificate, cipher or policy problem)"],
            ["check firewalls/SSL inspection and the server's Schannel event log"]),
        E(Phase.Tls, Ending.Closed, null,
            "The server closed the connection during the TLS handshake.",
            ["the server's TLS stack rejected something in the handshake (Schannel often closes without an alert)"],
            ["check the server's System event log for Schannel errors"]),
        E(Phase.Tls, Ending.Timeout, null,
            "The TLS handshake stalled: part of the server's answer never arrived.",
            ["an MTU black hole on the path (large segments dropped)", "a middlebox holding the connection"],
            ["lower the MTU/MSS on the tunnel or allow ICMP fragmentation-needed"]),
        E(Phase.Tls, Ending.TlsAlert, Family("protocol_version"),
            "The TLS handshake failed with a protocol_version alert: client and server have no TLS version in common.",
            ["the server accepts only versions the client disabled (e.g. TLS 1.0 only) or the reverse", "TLS 1.2 not enabled on an old server"],
            ["enable TLS 1.2 on the server", "see which versions the server accepts (tls_versions check)"]),
        E(Phase.Tls, Ending.TlsAlert, Family("handshake_failure"),
            "The TLS handshake failed with a handshake_failure alert: no shared cipher suite, signature algorithm or group.",
            ["cipher suites restricted on the server (Group Policy SSL Cipher Suite Order, FIPS mode)", "a certificate key type the client cannot use"],
            ["align the server's cipher-suite policy with what clients offer", "check the certificate's key type and size"]),
        E(Phase.Tls, Ending.TlsAlert, Family("internal_error"),
            "The server aborted the TLS handshake with internal_error: its TLS stack failed (certificate key or crypto provider).",
            ["the server cannot use its certificate's private key", "a broken crypto provider on the server"],
            ["regenerate the RDP certificate and check its key permissions", "check the server's Schannel event log"]),
        E(Phase.Tls, Ending.TlsAlert, Family("insufficient_security"),
            "The TLS handshake failed with insufficient_security: the peer requires stronger ciphers than offered.",
            ["cipher policy mismatch"],
            ["align cipher-suite policies"]),
        E(Phase.Tls, Ending.TlsAlert, null,
            "The TLS handshake ended with a TLS alert.",
            ["see the alert's description: certificate, version or cipher problems"],
            ["check the server's Schannel event log and TLS policy"]),
        E(Phase.Tls, Ending.ProtocolViolation, null,
            "The server sent something that is not valid TLS after selecting a TLS-based protocol.",
            ["a broken server or a proxy that does not pass TLS through"],
            ["check proxies between client and server"]),

        // ---- credssp (MS-CSSP; NTSTATUS values per MS-ERREF 2.3)
        E(Phase.Credssp, null, Family("status_logon_failure"),
            "The server rejected the credentials (STATUS_LOGON_FAILURE): wrong user name or password.",
            ["wrong user name, domain or password"],
            ["check the user name (DOMAIN\\user or user@domain) and password"]),
        E(Phase.Credssp, null, Family("status_wrong_password"),
            "The server rejected the password (STATUS_WRONG_PASSWORD).",
            ["wrong password"],
            ["check the password"]),
        E(Phase.Credssp, null, Family("status_no_such_user"),
            "The server does not know this account (STATUS_NO_SUCH_USER).",
            ["the user name or domain is wrong"],
            ["check the user name and domain"]),
        E(Phase.Credssp, null, Family("status_account_restriction"),
            "The credentials are right but the account is restricted (STATUS_ACCOUNT_RESTRICTION).",
            ["blank password not allowed for network logon", "logon hours or workstation restrictions"],
            ["set a password or relax the account restrictions"]),
        E(Phase.Credssp, null, Family("status_invalid_logon_hours"),
            "The account may not log on at this time (STATUS_INVALID_LOGON_HOURS).",
            ["logon hours restriction"], ["adjust the account's logon hours"]),
        E(Phase.Credssp, null, Family("status_invalid_workstation"),
            "The account may not log on from this workstation (STATUS_INVALID_WORKSTATION).",
            ["'log on to' workstation restriction"], ["adjust the account's workstation list"]),
        E(Phase.Credssp, null, Family("status_password_expired"),
            "The account's password has expired (STATUS_PASSWORD_EXPIRED).",
            ["expired password; NLA cannot change it"], ["change the password (e.g. via another logon), or temporarily disable NLA to change it at logon"]),
        E(Phase.Credssp, null, Family("status_password_must_change"),
            "The user must change the password before logging on (STATUS_PASSWORD_MUST_CHANGE).",
            ["'user must change password at next logon' is set; NLA cannot change it"], ["change the password first, or clear the flag"]),
        E(Phase.Credssp, null, Family("status_account_disabled"),
            "The account is disabled (STATUS_ACCOUNT_DISABLED).",
            ["disabled account"], ["enable the account"]),
        E(Phase.Credssp, null, Family("status_account_expired"),
            "The account has expired (STATUS_ACCOUNT_EXPIRED).",
            ["expired account"], ["extend the account's expiry date"]),
        E(Phase.Credssp, null, Family("status_account_locked_out"),
            "The account is locked out (STATUS_ACCOUNT_LOCKED_OUT).",
            ["too many failed logons"], ["unlock the account and find the source of the failed logons"]),
        E(Phase.Credssp, null, Family("status_logon_type_not_granted"),
            "The account lacks the right to log on this way (STATUS_LOGON_TYPE_NOT_GRANTED).",
            ["'Access this computer from the network' or 'Allow log on through Remote Desktop Services' not granted, or a deny right"],
            ["grant the logon right (add the user to Remote Desktop Users) and check deny rights"]),
        E(Phase.Credssp, null, Family("status_access_denied"),
            "The server denied access during CredSSP (STATUS_ACCESS_DENIED).",
            ["policy denies this user"], ["check the server's security policy for this user"]),
        E(Phase.Credssp, null, Family("status_no_logon_servers"),
            "The server could not reach a domain controller to check the credentials (STATUS_NO_LOGON_SERVERS).",
            ["the server has no connectivity to a DC"], ["fix the server's DC connectivity or use a local account"]),
        E(Phase.Credssp, null, Family("status_trusted_relationship_failure"),
            "The server's domain trust is broken (STATUS_TRUSTED_RELATIONSHIP_FAILURE).",
            ["broken computer account secure channel"], ["repair the secure channel (Test-ComputerSecureChannel -Repair) or rejoin the domain"]),
        E(Phase.Credssp, null, Family("status_time_difference_at_dc"),
            "The clocks differ too much for authentication (STATUS_TIME_DIFFERENCE_AT_DC).",
            ["clock skew between client, server and DC"], ["synchronise the clocks (w32tm /resync)"]),
        E(Phase.Credssp, Ending.Closed, Codes.AfterNegotiate,
            "The server closed the connection after the client's first CredSSP message: it does not accept this CredSSP/NTLM token.",
            ["NTLM is blocked by policy (Restrict NTLM) and only Kerberos is allowed", "CredSSP version or encryption-oracle policy mismatch"],
            ["use Kerberos (connect by the server's FQDN from a domain-joined client)", "check the server's 'Restrict NTLM' and CredSSP policies"]),
        E(Phase.Credssp, Ending.Closed, null,
            "The server closed the connection during CredSSP.",
            ["authentication failed without an error code (CredSSP v2 servers, wrong password on FreeRDP)", "CredSSP encryption-oracle remediation policy mismatch"],
            ["check the credentials", "check the server's Security event log (4625) and CredSSP policies"]),
        E(Phase.Credssp, Ending.AuthFailed, null,
            "The server rejected the credentials during CredSSP.",
            ["wrong user name, domain or password, or an account problem"],
            ["check the credentials and the server's Security event log (event 4625)"]),
        E(Phase.Credssp, null, null,
            "CredSSP (Network Level Authentication) did not complete.",
            ["NTLM/CredSSP policy, a broken server, or the network"],
            ["check the server's Security and System event logs"]),

        // ---- early user authorization (MS-RDPBCGR 2.2.10.2)
        E(Phase.EarlyAuth, Ending.AccessDenied, null,
            "The password is right but this account may not log on over Remote Desktop (Early User Authorization: access denied).",
            ["the user is not in Remote Desktop Users / lacks 'Allow log on through Remote Desktop Services'", "'Deny log on through Remote Desktop Services' applies"],
            ["add the user to Remote Desktop Users or grant the right by Group Policy", "check deny rights"]),

        // ---- after the security handshake (issue 3)
        E(Phase.Mcs, null, null,
            "The server dropped the connection at the MCS Connect Initial (basic settings exchange).",
            ["the server rejected the client's GCC data (encryption method vs server encryption level, FIPS, channels, desktop size)", "an MTU black hole on this larger PDU"],
            ["check the server's encryption level policy and the client's settings", "lower the MTU/MSS if large segments are dropped"]),
        E(null, Ending.ServerErrorInfo, Family("server_denied_connection"),
            "The server refused the session after logon (Set Error Info 0x7 SERVER_DENIED_CONNECTION — the Windows client's 'extended error 0x7').",
            ["the session manager refused: connections disabled for this user or listener, single-session or session-limit policy, deny rules"],
            ["check 'Allow users to connect remotely', session limits and the user's RDS permissions", "check the server's TerminalServices event logs"]),
        E(null, Ending.ServerErrorInfo, Family("server_insufficient_privileges"),
            "The server refused the session because the user lacks the right to connect (Set Error Info 0x9).",
            ["the user is not in Remote Desktop Users and not an administrator", "the RDP-Tcp listener permissions exclude the user"],
            ["add the user to Remote Desktop Users or fix the listener's permissions"]),
        E(null, Ending.ServerErrorInfo, Family("server_fresh_credentials_required"),
            "The server wants freshly typed credentials and refused saved ones (Set Error Info 0xA).",
            ["Group Policy 'Always prompt for password upon connection' is set"],
            ["type the password at the prompt instead of using saved credentials"]),
        E(null, Ending.ServerErrorInfo, Family("license_no_license_server"),
            "The server could not reach a Remote Desktop license server (Set Error Info 0x101).",
            ["no RD license server configured, or it is unreachable from the session host"],
            ["configure the license server (RD Licensing Diagnoser) and check its reachability"]),
        E(null, Ending.ServerErrorInfo, Family("license_no_license"),
            "No Remote Desktop client access license is available (Set Error Info 0x102).",
            ["all CALs are in use or none are installed; the grace period may have ended"],
            ["install or free RDS CALs on the license server"]),
        E(null, Ending.ServerErrorInfo, Codes.ServerRedirection,
            "The server redirected the client to another server (a connection broker).",
            ["an RD Connection Broker or load balancer sends the client to the session host"],
            ["probe the target server named in the redirection, or use a client that follows redirections"]),
        E(Phase.Licensing, Ending.ServerErrorInfo, Family("err_no_license_server"),
            "The server ended licensing because it could not reach a license server.",
            ["no RD license server reachable from the session host"],
            ["configure the license server and check its reachability"]),
        E(Phase.Mcs, Ending.NegotiationFailure, null,
            "The server refused the MCS Connect Initial (the basic settings exchange).",
            ["the client's GCC data is not acceptable: encryption methods vs the server's encryption level, FIPS, desktop size, channels"],
            ["check the server's encryption level and the client's settings"]),
        E(Phase.Licensing, null, null,
            "The connection failed during RDS licensing.",
            ["no license server, no CAL available, or the RDSH grace period expired"],
            ["configure an RD license server and CALs (Licensing Diagnoser on the server)"]),
        E(null, Ending.ServerErrorInfo, null,
            "The server ended the connection with a Set Error Info code.",
            ["see the code's meaning"],
            ["check the server's TerminalServices event logs"]),

        // ---- generic fallbacks by ending
        E(null, Ending.Refused, null, "The peer refused the connection.", ["nothing listening or a firewall rejects"], ["check the listener and firewalls"]),
        E(null, Ending.Timeout, null, "The peer did not answer in time.", ["packets dropped on the path or a hung server"], ["check the path and the server"]),
        E(null, Ending.Reset, null, "The connection was reset.", ["the server or a middlebox aborted the connection"], ["check firewalls and the server's logs"]),
        E(null, Ending.Closed, null, "The peer closed the connection.", ["the server ended the connection"], ["check the server's logs"]),
        E(null, Ending.Unreachable, null, "The host is unreachable.", ["no route to the host"], ["check routing and VPN state"]),
        E(null, Ending.ProtocolViolation, null, "The peer broke the protocol.", ["a broken server or a proxy in the path"], ["check what listens on the port"]),
        E(null, Ending.NotRdp, null, "The peer is not an RDP server.", ["wrong port or wrong service"], ["check the port"]),
        E(null, Ending.TlsAlert, null, "The TLS handshake ended with an alert.", ["version, cipher or certificate problem"], ["check TLS policy on both sides"]),
        E(null, Ending.AuthFailed, null, "Authentication failed.", ["wrong credentials or an account problem"], ["check the credentials"]),
        E(null, Ending.AccessDenied, null, "Access was denied.", ["the account is not allowed to connect"], ["check the account's rights"]),
        E(null, Ending.NegotiationFailure, null, "The server refused the negotiation.", ["security policy mismatch"], ["compare client and server security settings"]),
        // ---- the probe refused to expose the password (issue 17): nothing secret was sent
        E(Phase.ClientInfo, Ending.ClientRefused, Codes.DowngradedToStandardSecurity,
            "The server answered a request for TLS/NLA with Standard RDP Security; a client that asked for TLS disconnects here, and RdpProbe did not send the password.",
            ["the server could not load its TLS certificate or key and fell back to RDP security (xrdp: unreadable cert.pem/key.pem; Windows: a broken certificate in the MachineKeys store)", "the server's security layer is set to RDP Security Layer", "something in the path rewrites the negotiation (a downgrade attack)"],
            ["fix the server's certificate and set its security layer to Negotiate or TLS with NLA", "request only PROTOCOL_RDP (Standard RDP Security) if you accept no server authentication and RC4"]),
        E(Phase.ClientInfo, Ending.ClientRefused, Codes.NoEncryption,
            "The server accepted the connection without any encryption: the password would cross the network in clear, so RdpProbe did not send it.",
            ["the server's encryption level is None (MinEncryptionLevel / xrdp crypt_level=none)", "the server offers only Standard RDP Security without encryption"],
            ["require TLS or NLA on the server", "set the encryption level to High (Client Compatible at least)"]),

        // ---- the chosen client (--client, issue 10) refuses what the server offers, although the probe got through
        E(Phase.Tls, Ending.ClientRefused, Codes.TlsVersionRefusedByClient,
            "The server's TLS versions are ones this client no longer offers: it ends the handshake where RdpProbe's permissive client got through.",
            ["the server accepts only TLS 1.0/1.1 (an old Windows Server without the TLS 1.2 update, xrdp ssl_protocols limited to TLSv1)", "current Windows ships TLS 1.0 and 1.1 disabled in Schannel; OpenSSL 3 at security level 1 (FreeRDP's default) refuses them"],
            ["enable TLS 1.2 on the server (Windows Server 2008 R2/2012: KB3080079 and the TLS 1.2 Schannel keys; xrdp: ssl_protocols=TLSv1.2, TLSv1.3)", "do not re-enable TLS 1.0 on the clients"]),
        E(Phase.Tls, Ending.ClientRefused, Codes.CertificateKeyRefusedByClient,
            "The server's certificate key is too small for this client's TLS stack: it ends the handshake.",
            ["an old self-signed certificate with an RSA key below 1024 bits", "OpenSSL security level 1 or higher on the client"],
            ["give the server a certificate with an RSA key of at least 2048 bits"]),
        E(Phase.Tls, Ending.ClientRefused, Codes.CertificateRefusedByClient,
            "This client refuses the server's certificate outright (no warning it could accept).",
            ["the certificate is expired, self-signed or names another host, and the client's policy does not allow continuing"],
            ["give the server a valid certificate from an authority the clients trust, naming the host they connect to"]),
        E(Phase.Credssp, Ending.ClientRefused, Codes.CredSspVersionRefusedByClient,
            "The server speaks an unpatched CredSSP version that this client refuses (CVE-2018-0886, \"CredSSP encryption oracle remediation\").",
            ["the server lacks the March 2018 CredSSP update", "the client's encryption oracle remediation policy is \"Mitigated\" or \"Force Updated Clients\" (the default)"],
            ["install the server's updates since March 2018", "do not set the clients to \"Vulnerable\""]),
        E(Phase.X224, Ending.ClientRefused, Codes.StandardSecurityRefusedByClient,
            "The server offers only Standard RDP Security, which this client does not run.",
            ["the server's security layer is RDP Security Layer, or it fell back to it for lack of a usable certificate"],
            ["give the server a TLS certificate and set its security layer to Negotiate or TLS with NLA"]),
        E(null, Ending.ClientRefused, null,
            "The client stopped: what the server offered is something it refuses.",
            ["the server's security settings are below what the client accepts"],
            ["compare the server's security settings with the client's"]),

        E(null, Ending.Skipped, null, "The phase was skipped.", [], []),
    ];

    private static readonly Explanation Unknown = new("The probe stopped at this phase.", [], []);

    /// <summary>
    /// Looks up a symptom: exact (phase, ending, code), then (phase, any ending, code), then (phase, ending), then
    /// (any phase, ending, code), then (any phase, ending). Codes compare case-insensitively; an "errinfo_" prefix is ignored.
    /// </summary>
    public static Explanation Explain(Phase phase, Ending ending, Code? code)
    {
        if (ending == Ending.Ok)
        {
            return Find(e => e.Phase is null && e.Ending == Ending.Ok)!;
        }

        string? c = Normalize(code);
        return Find(e => e.Phase == phase && e.Ending == ending && c is not null && e.Code?.Word == c)
            ?? Find(e => e.Phase == phase && e.Ending is null && c is not null && e.Code?.Word == c)
            ?? Find(e => e.Phase == phase && e.Ending == ending && e.Code is null)
            ?? Find(e => e.Phase is null && e.Ending == ending && c is not null && e.Code?.Word == c)
            ?? Find(e => e.Phase == phase && e.Ending is null && e.Code is null)
            ?? Find(e => e.Phase is null && e.Ending == ending && e.Code is null)
            ?? Unknown;
    }

    /// <summary>Every (phase, ending, code) key in the table, for tests and documentation.</summary>
    internal static IEnumerable<(Phase? Phase, Ending? Ending, Code? Code)> Keys => Table.Select(e => (e.Phase, e.Ending, e.Code));

    private static Explanation? Find(Func<Entry, bool> predicate) => Array.Find(Table, e => predicate(e))?.Explanation;

    private static string? Normalize(Code? code)
    {
        if (code is not { } known || string.IsNullOrWhiteSpace(known.Word))
        {
            return null;
        }

        string c = known.Word.Trim().ToLowerInvariant();
        return c.StartsWith("errinfo_", StringComparison.Ordinal) ? c["errinfo_".Length..] : c;
    }
}
