using System.Net.Sockets;
using RdpProbe.Protocol;

namespace RdpProbe.Diagnosis;

/// <summary>
/// One code of the vocabulary: why a phase ended as it did, in the form the reports print (<see cref="Word"/>).
/// There is deliberately no conversion from string: a code is one of the <see cref="Codes"/> members or comes from one
/// of its factories over a protocol value, so the probe, the analyzer and the symptom table cannot drift apart.
/// </summary>
public readonly record struct Code
{
    internal Code(string word) => Word = word;

    /// <summary>The report word (snake_case, or the protocol's own name for the protocol families).</summary>
    public string Word { get; }

    public override string ToString() => Word;
}

/// <summary>
/// The vocabulary of codes shared by the live probe, the capture analyzer, the symptom table and every report. Fixed
/// codes are static members grouped by phase; families whose words come from protocol values are factories.
/// </summary>
public static class Codes
{
    // ---- dns
    /// <summary>The name does not resolve (or resolves to no address).</summary>
    public static readonly Code NameNotFound = new("name_not_found");

    // ---- tcp connect (the transport's answer to the SYN)
    /// <summary>ICMP host unreachable or host down while connecting.</summary>
    public static readonly Code HostUnreachable = new("host_unreachable");
    /// <summary>ICMP network unreachable or network down while connecting.</summary>
    public static readonly Code NetworkUnreachable = new("network_unreachable");
    /// <summary>ICMP administratively prohibited while connecting.</summary>
    public static readonly Code AdministrativelyProhibited = new("administratively_prohibited");

    // ---- x224 (MS-RDPBCGR 2.2.1.1 / 2.2.1.2)
    /// <summary>The server closed after part of an answer to the Connection Request.</summary>
    public static readonly Code Truncated = new("truncated");
    /// <summary>A Connection Confirm that cannot be decoded.</summary>
    public static readonly Code BadConnectionConfirm = new("bad_connection_confirm");
    /// <summary>A Connection Confirm selecting a protocol that was not requested.</summary>
    public static readonly Code SelectedNotRequested = new("selected_not_requested");
    /// <summary>A TPKT header whose length cannot be right.</summary>
    public static readonly Code TpktBadLength = new("tpkt_bad_length");
    /// <summary>The server answered with an MCS Disconnect Provider Ultimatum.</summary>
    public static readonly Code McsDisconnectProviderUltimatum = new("mcs_disconnect_provider_ultimatum");
    /// <summary>The server answered with an X.224 Disconnect Request.</summary>
    public static readonly Code X224DisconnectRequest = new("x224_disconnect_request");
    /// <summary>The server accepted TCP and never sent a Connection Confirm (a hung or stopped listener; issue 11).</summary>
    public static readonly Code NoConnectionConfirm = new("no_connection_confirm");

    // ---- x224: a foreign service identified on the port (issue 11; Diagnosis/ForeignService.cs)
    /// <summary>An HTTP server answers on the port (its status line, an HTML page, or its answer to an HTTP request).</summary>
    public static readonly Code ForeignHttp = new("foreign_http");
    /// <summary>An SSH server answers on the port (its identification string, RFC 4253 §4.2).</summary>
    public static readonly Code ForeignSsh = new("foreign_ssh");
    /// <summary>A TLS server answers on the port (a ServerHello or an alert to a ClientHello, or TLS where X.224 was due).</summary>
    public static readonly Code ForeignTls = new("foreign_tls");
    /// <summary>A mail server (SMTP, POP3, IMAP) greets on the port.</summary>
    public static readonly Code ForeignMail = new("foreign_mail");
    /// <summary>An FTP server greets on the port.</summary>
    public static readonly Code ForeignFtp = new("foreign_ftp");
    /// <summary>Another text protocol greets on the port.</summary>
    public static readonly Code ForeignText = new("foreign_text");
    /// <summary>The extra connections that try to identify the service got no banner and no answer to HTTP or TLS.</summary>
    public static readonly Code ServiceUnidentified = new("service_unidentified");

    // ---- tls
    /// <summary>The TLS handshake failed (reset, close, timeout) before any ServerHello.</summary>
    public static readonly Code BeforeServerHello = new("before_server_hello");
    /// <summary>The TLS handshake failed after the ServerHello.</summary>
    public static readonly Code DuringHandshake = new("during_handshake");

    // ---- credssp
    /// <summary>The server closed after the client's NEGOTIATE without an answer.</summary>
    public static readonly Code AfterNegotiate = new("after_negotiate");
    /// <summary>A bare TCP reset right after the NTLM AUTHENTICATE, without the alert and FIN of a rejected logon (issue 11).</summary>
    public static readonly Code ResetAfterAuthenticate = new("reset_after_authenticate");

    // ---- kerberos (issue 12; RFC 4120)
    /// <summary>No KDC found for the realm: no --kdc, none in krb5.conf, no DNS SRV record.</summary>
    public static readonly Code KdcNotFound = new("kdc_not_found");
    /// <summary>The KDC answered neither over UDP nor over TCP.</summary>
    public static readonly Code KdcUnreachable = new("kdc_unreachable");
    /// <summary>MIT krb5 failed with an error that is not one of the KDC's.</summary>
    public static readonly Code KerberosLibrary = new("kerberos_library_error");

    // ---- credssp with SPNEGO (issue 12; RFC 4178, MS-SPNG)
    /// <summary>The server answered the SPNEGO token with negState reject (RFC 4178 §4.2.2): no offered mechanism is acceptable.</summary>
    public static readonly Code SpnegoReject = new("spnego_reject");
    /// <summary>With --auth kerberos: the server chose NTLM, which the client may not use (Restrict NTLM, Protected Users).</summary>
    public static readonly Code ServerChoseNtlm = new("server_chose_ntlm");
    /// <summary>With --auth kerberos: no Kerberos token could be had (no ticket for the SPN, no KDC, wrong password).</summary>
    public static readonly Code KerberosUnavailable = new("kerberos_unavailable");
    /// <summary>With --auth kerberos against a literal IP address: there is no TERMSRV/&lt;name&gt; service principal to ask a ticket for.</summary>
    public static readonly Code KerberosNoSpn = new("kerberos_no_spn");
    /// <summary>The server's Kerberos AP-REP or its SPNEGO mechListMIC did not verify (RFC 4121 §4.1, RFC 4178 §5).</summary>
    public static readonly Code KerberosMutualAuthFailed = new("kerberos_mutual_auth_failed");
    /// <summary>
    /// The server closed or reset right after the client's SPNEGO token, or answered it with an NTSTATUS_FROM_WIN32
    /// errorCode (FreeRDP 2): it does not speak SPNEGO in CredSSP.
    /// </summary>
    public static readonly Code SpnegoNotUnderstood = new("spnego_not_understood");

    // ---- early user authorization (MS-RDPBCGR 2.2.10.2)
    /// <summary>The Early User Authorization Result said access denied.</summary>
    public static readonly Code AuthzAccessDenied = new("authz_access_denied");

    // ---- after the security handshake
    /// <summary>The server redirected the client (a connection broker).</summary>
    public static readonly Code ServerRedirection = new("server_redirection");

    // ---- the client's own refusals (the probe refused to expose the password; a client profile refuses)
    /// <summary>Standard RDP Security selected although TLS or CredSSP was requested.</summary>
    public static readonly Code DowngradedToStandardSecurity = new("downgraded_to_standard_security");
    /// <summary>Standard RDP Security with no encryption: the password would cross in clear.</summary>
    public static readonly Code NoEncryption = new("no_encryption");
    /// <summary>The client refuses the TLS version the server offers.</summary>
    public static readonly Code TlsVersionRefusedByClient = new("tls_version_refused_by_client");
    /// <summary>The server turned down this client's own ClientHello although a TLS version is common: none of its cipher suites (client simulation).</summary>
    public static readonly Code CipherSuitesRefusedForClient = new("no_common_cipher_suite");
    /// <summary>The client refuses the certificate's key.</summary>
    public static readonly Code CertificateKeyRefusedByClient = new("certificate_key_refused_by_client");
    /// <summary>The client refuses the certificate.</summary>
    public static readonly Code CertificateRefusedByClient = new("certificate_refused_by_client");
    /// <summary>The client refuses the server's CredSSP version.</summary>
    public static readonly Code CredSspVersionRefusedByClient = new("credssp_version_refused_by_client");
    /// <summary>The client refuses Standard RDP Security.</summary>
    public static readonly Code StandardSecurityRefusedByClient = new("standard_security_refused_by_client");

    // ---- path checks (udp, mtu)
    /// <summary>ICMP port unreachable for the UDP probe.</summary>
    public static readonly Code IcmpPortUnreachable = new("icmp_port_unreachable");
    /// <summary>ICMP host unreachable for the UDP probe.</summary>
    public static readonly Code IcmpHostUnreachable = new("icmp_host_unreachable");
    /// <summary>ICMP network unreachable for the UDP probe.</summary>
    public static readonly Code IcmpNetUnreachable = new("icmp_net_unreachable");
    /// <summary>Large segments vanish without ICMP fragmentation needed.</summary>
    public static readonly Code MtuBlackHole = new("mtu_black_hole");

    // ---- the capture analyzer's own observations
    /// <summary>The client's first bytes are not RDP.</summary>
    public static readonly Code NotRdp = new("not_rdp");
    /// <summary>A Disconnect Provider Ultimatum seen in a capture.</summary>
    public static readonly Code DisconnectProviderUltimatum = new("disconnect_provider_ultimatum");
    /// <summary>The server answered the SYN with a reset (capture).</summary>
    public static readonly Code Refused = new("refused");
    /// <summary>The handshake stalled: data stopped flowing mid-phase (capture, inferred).</summary>
    public static readonly Code Stall = new("stall");
    /// <summary>The client did not offer NLA although the server requires it.</summary>
    public static readonly Code NlaNotOffered = new("nla_not_offered");
    /// <summary>The Early User Authorization Result said access denied (capture).</summary>
    public static readonly Code AccessDenied = new("access_denied");
    /// <summary>CredSSP ended in an authentication failure (capture).</summary>
    public static readonly Code AuthFailed = new("auth_failed");
    /// <summary>CredSSP ended with a TSRequest errorCode (capture).</summary>
    public static readonly Code CredSspError = new("credssp_error");

    // ---- families named by protocol values
    /// <summary>An RDP_NEG_FAILURE failureCode (MS-RDPBCGR 2.2.1.2.2).</summary>
    public static Code NegotiationFailure(NegotiationFailureCode code) => new(code.ToReportName());

    /// <summary>A KDC error code (RFC 4120 §7.5.9) by its name in lower case: kdc_err_preauth_failed, krb_ap_err_skew ….</summary>
    public static Code KerberosError(int code) => new(Kerberos.ErrorName(code).ToLowerInvariant());

    /// <summary>A TLS alert description (RFC 8446 6).</summary>
    public static Code TlsAlert(TlsAlertDescription description) => new(TlsNames.AlertName(description));

    /// <summary>An NTSTATUS value (MS-ERREF 2.3).</summary>
    public static Code NtStatus(uint status) => new(Protocol.NtStatus.Name(status));

    /// <summary>A Set Error Info errorInfo value (MS-RDPBCGR 2.2.5.1.1).</summary>
    public static Code ErrorInfo(uint errorInfo) => new(Protocol.ErrorInfo.Name(errorInfo));

    /// <summary>A licensing error alert (MS-RDPELE 2.2.2.7.1).</summary>
    internal static Code License(LicenseErrorAlert alert) => new(alert.Name);

    /// <summary>An MCS result (T.125 Result enumeration).</summary>
    public static Code McsResult(int result) => new(Mcs.ResultName(result));

    /// <summary>An MCS Connect Response result as the capture analyzer reports it, by number ("mcs_result_N").</summary>
    public static Code McsResultNumber(int result) => new(FormattableString.Invariant($"mcs_result_{result}"));

    /// <summary>An MCS Disconnect Provider Ultimatum reason (T.125 Reason enumeration).</summary>
    internal static Code McsDisconnect(McsDisconnectReason reason) => new(Mcs.ReasonName(reason));

    /// <summary>What a non-RDP answer looks like (<see cref="SniffResult.Code"/>).</summary>
    public static Code Sniffed(SniffResult sniff) => new(sniff.Code);

    /// <summary>A client profile's failure reason with no refusal code of its own (<see cref="ClientVerdict.Reason"/>).</summary>
    public static Code ClientReason(string reason) => new(reason);

    /// <summary>A socket error with no better name, in the runtime's own spelling.</summary>
    public static Code Socket(SocketError error) => new(error.ToString());

    /// <summary>Every fixed member, for tests and documentation.</summary>
    public static IReadOnlyList<Code> Fixed { get; } = typeof(Codes)
        .GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
        .Where(f => f.FieldType == typeof(Code))
        .Select(f => (Code)f.GetValue(null)!)
        .ToList();
}
