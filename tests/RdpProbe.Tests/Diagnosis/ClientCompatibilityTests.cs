using RdpProbe.Diagnosis;
using RdpProbe.Protocol;
using static RdpProbe.Tests.Diagnosis.ServerFacts;

namespace RdpProbe.Tests.Diagnosis;

public sealed class ClientCompatibilityTests
{
    private static ClientVerdict Evaluate(string profile, SecurityFacts facts)
    {
        Assert.True(ClientProfiles.TryGet(profile, out var p));
        return ClientCompatibility.Evaluate(p, facts);
    }

    public static TheoryData<string> AllProfiles => [.. ClientProfiles.Names];

    // ---- a well-configured NLA server

    [Theory]
    [InlineData("windows11", SecurityProtocols.HybridEx)]
    [InlineData("windows10", SecurityProtocols.HybridEx)]
    [InlineData("windows7", SecurityProtocols.Hybrid)]
    [InlineData("macos", SecurityProtocols.HybridEx)]
    [InlineData("freerdp2", SecurityProtocols.Hybrid)]
    [InlineData("freerdp3", SecurityProtocols.Hybrid)]
    [InlineData("permissive", SecurityProtocols.HybridEx)]
    public void Windows_nla_server_lets_every_client_in_except_tls_1_0_only_windows7(string profile, SecurityProtocols protocol)
    {
        var v = Evaluate(profile, WindowsNla);
        Assert.Equal(protocol, v.Protocol);
        if (profile == "windows7")
        {
            // RDP 7.1 offers TLS 1.0 only, and this server accepts 1.2 only.
            Assert.Equal(Compatibility.Fails, v.Result);
            Assert.Equal(Phase.Tls, v.FailPhase);
            Assert.Equal("no_common_tls_version", v.Reason);
        }
        else
        {
            Assert.Equal(Compatibility.Connects, v.Result);
            Assert.Empty(v.Warnings);
            Assert.True(v.Connected);
        }
    }

    // ---- Standard RDP Security only (issue 10: "FAILED at x224" although real clients fall back)

    [Theory]
    [InlineData("windows11")]
    [InlineData("windows10")]
    [InlineData("windows7")]
    [InlineData("macos")]
    [InlineData("freerdp2")]
    [InlineData("freerdp3")]
    public void Rdp_only_server_real_clients_fall_back_and_connect_insecurely(string profile)
    {
        var v = Evaluate(profile, RdpOnly);
        Assert.Equal(Compatibility.ConnectsInsecurely, v.Result);
        Assert.Equal(SecurityProtocols.Rdp, v.Protocol);
        Assert.Contains(v.Steps, s => s.Contains("ssl_not_allowed_by_server", StringComparison.Ordinal));
        Assert.Contains(v.Steps, s => s.StartsWith("falls back", StringComparison.Ordinal));
    }

    [Fact]
    public void Rdp_only_server_freerdp_tries_tls_alone_before_rdp()
    {
        var v = Evaluate("freerdp2", RdpOnly);
        Assert.Equal(
            [
                "asks for ssl|hybrid; the server refuses with ssl_not_allowed_by_server",
                "falls back: reconnects asking for ssl",
                "asks for ssl; the server refuses with ssl_not_allowed_by_server",
                "falls back: reconnects asking for rdp",
                "asks for rdp; the server selects rdp",
            ],
            v.Steps.Take(5));
        Assert.Empty(v.Warnings);
    }

    [Fact]
    public void Rdp_only_server_windows_warns_about_the_servers_identity()
    {
        var v = Evaluate("windows11", RdpOnly);
        Assert.Contains("the identity of the remote computer cannot be verified", v.Warnings);
    }

    [Fact]
    public void Rdp_only_server_permissive_fails_at_x224_as_the_probe_does_today()
    {
        var v = Evaluate("permissive", RdpOnly);
        Assert.Equal(Compatibility.Fails, v.Result);
        Assert.Equal(Phase.X224, v.FailPhase);
        Assert.Equal("ssl_not_allowed_by_server", v.Reason);
        Assert.Contains("never falls back", v.Steps[^1]);
    }

    [Fact]
    public void A_client_refusing_standard_security_fails_at_x224()
    {
        var strict = ClientProfiles.FreeRdp2 with { Name = "strict", AcceptsStandardRdpSecurity = false };
        var v = ClientCompatibility.Evaluate(strict, RdpOnly);
        Assert.Equal(Compatibility.Fails, v.Result);
        Assert.Equal("standard_rdp_security_refused", v.Reason);
    }

    // ---- TLS 1.0 only (issue 10: "ok" although xfreerdp fails)

    [Theory]
    [InlineData("windows11", Compatibility.Fails)]
    [InlineData("windows10", Compatibility.ConnectsAfterWarning)]
    [InlineData("windows7", Compatibility.ConnectsAfterWarning)]
    [InlineData("macos", Compatibility.Fails)]
    [InlineData("freerdp2", Compatibility.Fails)]
    [InlineData("freerdp3", Compatibility.Fails)]
    [InlineData("permissive", Compatibility.Connects)]
    public void Tls_1_0_only_server(string profile, Compatibility expected)
    {
        var v = Evaluate(profile, Tls10Only);
        Assert.Equal(expected, v.Result);
        if (expected == Compatibility.Fails)
        {
            Assert.Equal(Phase.Tls, v.FailPhase);
            Assert.Equal("no_common_tls_version", v.Reason);
            Assert.Contains("the server accepts only TLS 1.0", v.Steps[^1]);
        }
    }

    [Fact]
    public void Unchecked_tls_versions_make_the_verdict_unknown_with_a_hint()
    {
        var facts = XrdpNegotiate with { TlsVersionsAccepted = null, NegotiatedTlsVersion = TlsVersion.Tls10 };
        var v = Evaluate("freerdp2", facts);
        Assert.Equal(Compatibility.Unknown, v.Result);
        Assert.Contains(v.NeedsConnection, n => n.Contains("TLS 1.2 or TLS 1.3", StringComparison.Ordinal));

        // The main connection's negotiated version is enough when the client offers it.
        Assert.Equal(Compatibility.ConnectsAfterWarning, Evaluate("windows10", facts).Result);
    }

    [Fact]
    public void A_failed_tls_handshake_of_the_probe_fails_every_client()
    {
        var facts = XrdpNegotiate with
        {
            Failure = new ConnectionFailure(Phase.Tls, Ending.TlsAlert, "handshake_failure"),
            TlsVersionsAccepted = null,
            NegotiatedTlsVersion = null,
            Certificate = null,
        };
        var v = Evaluate("permissive", facts);
        Assert.Equal(Compatibility.Fails, v.Result);
        Assert.Equal(Phase.Tls, v.FailPhase);
        Assert.Equal("handshake_failure", v.Reason);
    }

    // ---- certificates (issue 10: an expired certificate gets "ok" with nothing said)

    [Theory]
    [MemberData(nameof(AllProfiles))]
    public void Expired_certificate_warns_every_real_client(string profile)
    {
        var facts = XrdpNegotiate with { Certificate = GoodSelfSigned with { NotBefore = Now.AddYears(-6), NotAfter = Now.AddYears(-5) } };
        var v = Evaluate(profile, facts);
        if (profile == "permissive")
        {
            Assert.Equal(Compatibility.Connects, v.Result);
            Assert.Contains(v.Steps, s => s.Contains("expired", StringComparison.Ordinal) && s.Contains("does not check", StringComparison.Ordinal));
        }
        else if (profile == "windows7")
        {
            Assert.Equal(Compatibility.Fails, v.Result);   // TLS 1.0 only against TLS 1.2/1.3
        }
        else
        {
            Assert.Equal(Compatibility.ConnectsAfterWarning, v.Result);
            Assert.Contains(v.Warnings, w => w.StartsWith("the certificate expired on 2021-06-01", StringComparison.Ordinal));
            Assert.Contains(v.Warnings, w => w.Contains("self-signed", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void A_client_that_refuses_expired_certificates_fails_at_tls()
    {
        var strict = ClientProfiles.Windows11 with { Name = "strict", ExpiredCertificate = CertificateBehaviour.Refuses };
        var facts = WindowsNla with { Certificate = CaIssued with { NotAfter = Now.AddDays(-1) } };
        var v = ClientCompatibility.Evaluate(strict, facts);
        Assert.Equal(Compatibility.Fails, v.Result);
        Assert.Equal(Phase.Tls, v.FailPhase);
        Assert.Equal("certificate_refused", v.Reason);
    }

    [Fact]
    public void Name_mismatch_warns()
    {
        var v = Evaluate("windows11", WindowsNla with { HostName = "other.example.test" });
        Assert.Equal(Compatibility.ConnectsAfterWarning, v.Result);
        Assert.Equal(["the certificate does not name other.example.test"], v.Warnings);
    }

    [Fact]
    public void An_address_target_is_compared_with_the_certificate_too()
    {
        var byAddress = WindowsNla with { HostName = null, TargetAddress = "192.0.2.10" };
        var v = Evaluate("windows11", byAddress);
        Assert.Equal(Compatibility.ConnectsAfterWarning, v.Result);
        Assert.Equal(["the certificate does not name the address 192.0.2.10"], v.Warnings);

        var withIpSan = byAddress with { Certificate = CaIssued with { IpAddresses = ["192.0.2.10"] } };
        Assert.Equal(Compatibility.Connects, Evaluate("windows11", withIpSan).Result);
        var cnIsTheAddress = byAddress with { Certificate = CaIssued with { SubjectAltNames = [], SubjectCommonName = "192.0.2.10" } };
        Assert.Equal(Compatibility.Connects, Evaluate("freerdp2", cnIsTheAddress).Result);
        Assert.Equal(Compatibility.Connects, Evaluate("permissive", byAddress).Result);
    }

    [Fact]
    public void Small_rsa_key_fails_freerdp_at_its_tls_security_level()
    {
        var facts = WindowsNla with { Certificate = CaIssued with { KeySize = 512 } };
        var v = Evaluate("freerdp2", facts);
        Assert.Equal(Compatibility.Fails, v.Result);
        Assert.Equal("certificate_key_too_small", v.Reason);
        Assert.Contains("OpenSSL security level 1", v.Steps[^1]);
        Assert.Equal(Compatibility.Connects, Evaluate("windows11", facts).Result);
    }

    // ---- CredSSP

    [Theory]
    [InlineData("windows11", Compatibility.Fails)]
    [InlineData("windows10", Compatibility.Fails)]
    [InlineData("windows7", Compatibility.Fails)]
    [InlineData("macos", Compatibility.Fails)]
    [InlineData("freerdp2", Compatibility.Connects)]
    [InlineData("permissive", Compatibility.Connects)]
    public void Unpatched_credssp_server(string profile, Compatibility expected)
    {
        var facts = WindowsNla with { CredSspServerVersion = 3, TlsVersionsAccepted = Versions(TlsVersion.Tls10, TlsVersion.Tls12) };
        var v = Evaluate(profile, facts);
        if (profile == "windows7")
        {
            // Unpatched itself: it takes the old version; with TLS 1.0 available it gets in.
            Assert.Equal(Compatibility.Connects, v.Result);
            return;
        }

        Assert.Equal(expected, v.Result);
        if (expected == Compatibility.Fails)
        {
            Assert.Equal(Phase.Credssp, v.FailPhase);
            Assert.Equal("credssp_version_unpatched", v.Reason);
            Assert.Contains("CVE-2018-0886", v.Steps[^1]);
        }
    }

    [Fact]
    public void Unknown_credssp_version_is_unknown_for_patched_clients_only()
    {
        var facts = WindowsNla with { CredSspServerVersion = null };
        var v = Evaluate("windows11", facts);
        Assert.Equal(Compatibility.Unknown, v.Result);
        Assert.Contains(v.NeedsConnection, n => n.Contains("CredSSP version", StringComparison.Ordinal));
        Assert.Equal(Compatibility.Connects, Evaluate("freerdp2", facts).Result);
    }

    [Fact]
    public void Clock_skew_is_explained_but_does_not_stop_ntlm()
    {
        var v = Evaluate("freerdp2", WindowsNla with { NtlmClockSkewSeconds = 420 });
        Assert.Equal(Compatibility.Connects, v.Result);
        Assert.Contains(v.Steps, s => s.Contains("Kerberos would fail", StringComparison.Ordinal));
    }

    [Fact]
    public void Wrong_credentials_fail_every_client_at_credssp()
    {
        var facts = WindowsNla with { Failure = new ConnectionFailure(Phase.Credssp, Ending.AuthFailed, "STATUS_LOGON_FAILURE"), CredentialsGiven = true };
        foreach (var name in new[] { "windows11", "freerdp2", "permissive" })
        {
            var v = Evaluate(name, facts);
            Assert.Equal(Compatibility.Fails, v.Result);
            Assert.Equal(Phase.Credssp, v.FailPhase);
            Assert.Equal("STATUS_LOGON_FAILURE", v.Reason);
        }
    }

    // ---- downgrades, later failures, unreachable servers

    [Theory]
    [InlineData("windows11")]
    [InlineData("freerdp2")]
    [InlineData("permissive")]
    public void A_server_that_selects_rdp_instead_is_an_insecure_connection(string profile)
    {
        var v = Evaluate(profile, Downgrading);
        Assert.Equal(Compatibility.ConnectsInsecurely, v.Result);
        Assert.Contains(v.Steps, s => s.Contains("selects Standard RDP Security (PROTOCOL_RDP) instead", StringComparison.Ordinal));
    }

    [Fact]
    public void A_session_failure_over_the_same_protocol_is_the_clients_failure_too()
    {
        var facts = XrdpNegotiate with { Failure = new ConnectionFailure(Phase.Licensing, Ending.ServerErrorInfo, "ERRINFO_LICENSE_NO_LICENSE_SERVER") };
        var v = Evaluate("windows10", facts);
        Assert.Equal(Compatibility.Fails, v.Result);
        Assert.Equal(Phase.Licensing, v.FailPhase);
        Assert.Equal("ERRINFO_LICENSE_NO_LICENSE_SERVER", v.Reason);
    }

    [Fact]
    public void A_session_failure_over_another_protocol_needs_a_connection()
    {
        // The probe asked for Standard RDP Security alone and failed at MCS; freerdp2 would end up with TLS.
        var facts = XrdpNegotiate with
        {
            RequestedProtocols = SecurityProtocols.Rdp,
            SelectedProtocol = SecurityProtocols.Rdp,
            Failure = new ConnectionFailure(Phase.Mcs, Ending.Closed, null),
        };
        var rdpClient = ClientCompatibility.Evaluate(ClientProfiles.FreeRdp2 with { RequestedProtocols = SecurityProtocols.Rdp }, facts);
        Assert.Equal(Compatibility.Fails, rdpClient.Result);
        Assert.Equal(Phase.Mcs, rdpClient.FailPhase);

        var v = Evaluate("freerdp2", facts);
        Assert.Equal(Compatibility.Unknown, v.Result);
        Assert.Equal(SecurityProtocols.Ssl, v.Protocol);
        Assert.Contains(v.NeedsConnection, n => n.Contains("mcs succeeds over ssl", StringComparison.Ordinal));
    }

    [Fact]
    public void The_probe_refusing_to_send_a_password_is_not_the_servers_failure()
    {
        var facts = Downgrading with { Failure = new ConnectionFailure(Phase.ClientInfo, Ending.ClientRefused, null) };
        Assert.Equal(Compatibility.ConnectsInsecurely, Evaluate("freerdp2", facts).Result);
    }

    [Theory]
    [MemberData(nameof(AllProfiles))]
    public void An_unreachable_server_fails_every_client_at_tcp(string profile)
    {
        var facts = new SecurityFacts { ObservedAt = Now, Failure = new ConnectionFailure(Phase.Tcp, Ending.Refused, null) };
        var v = Evaluate(profile, facts);
        Assert.Equal(Compatibility.Fails, v.Result);
        Assert.Equal(Phase.Tcp, v.FailPhase);
        Assert.Equal("refused", v.Reason);
    }

    [Fact]
    public void A_server_that_does_not_answer_the_connection_request_fails_every_client_at_x224()
    {
        var facts = new SecurityFacts { ObservedAt = Now, RequestedProtocols = ProbeRequest, Failure = new ConnectionFailure(Phase.X224, Ending.Closed, null) };
        Assert.All(ClientCompatibility.EvaluateAll(facts), v =>
        {
            Assert.Equal(Compatibility.Fails, v.Result);
            Assert.Equal(Phase.X224, v.FailPhase);
        });
    }

    [Fact]
    public void Without_the_matrix_another_request_is_unknown()
    {
        var facts = XrdpNegotiate with { Matrix = null };
        var v = Evaluate("freerdp2", facts);
        Assert.Equal(Compatibility.Unknown, v.Result);
        Assert.Contains(v.NeedsConnection, n => n.Contains("ssl|hybrid", StringComparison.Ordinal));

        // The probe asked exactly what windows11 asks: the main connection's answer is enough.
        Assert.Equal(Compatibility.ConnectsAfterWarning, Evaluate("windows11", facts).Result);
    }

    [Fact]
    public void Predict_takes_the_strongest_supported_protocol()
    {
        Assert.Equal(new ClientCompatibility.NegotiationAnswer(SecurityProtocols.Ssl, null), ClientCompatibility.Predict(XrdpNegotiate, SecurityProtocols.Ssl | SecurityProtocols.Hybrid));
        Assert.Equal(new ClientCompatibility.NegotiationAnswer(SecurityProtocols.Hybrid, null), ClientCompatibility.Predict(WindowsNla, SecurityProtocols.Ssl | SecurityProtocols.Hybrid));
        Assert.Equal(new ClientCompatibility.NegotiationAnswer(null, NegotiationFailureCode.HybridRequiredByServer), ClientCompatibility.Predict(WindowsNla, SecurityProtocols.Ssl));
        Assert.Equal(new ClientCompatibility.NegotiationAnswer(SecurityProtocols.Rdp, null), ClientCompatibility.Predict(Downgrading, SecurityProtocols.Ssl | SecurityProtocols.Hybrid));
    }

    [Fact]
    public void Summaries_read_as_sentences()
    {
        Assert.Equal("freerdp2: connects (hybrid).", Evaluate("freerdp2", WindowsNla).Summary);
        Assert.StartsWith("freerdp2: fails at tls (no_common_tls_version):", Evaluate("freerdp2", Tls10Only).Summary);
        Assert.Equal("windows10: connects after a warning (the certificate is self-signed (not issued by a trusted authority)).", Evaluate("windows10", Tls10Only).Summary);
    }

    [Fact]
    public void The_probes_own_fallback_attempts_answer_the_clients_request_without_the_matrix()
    {
        // The engine retried with PROTOCOL_RDP after SSL_NOT_ALLOWED_BY_SERVER: the main connection is the retry, the
        // refused first request is in Negotiations; no security-layer matrix ran.
        var facts = new SecurityFacts
        {
            ObservedAt = Now,
            RequestedProtocols = SecurityProtocols.Rdp,
            SelectedProtocol = SecurityProtocols.Rdp,
            EncryptionMethod = StandardEncryptionMethod.Bit128,
            Negotiations =
            [
                new ObservedNegotiation(ProbeRequest, null, NegotiationFailureCode.SslNotAllowedByServer),
                new ObservedNegotiation(SecurityProtocols.Rdp, SecurityProtocols.Rdp, null),
            ],
        };

        var windows11 = Evaluate("windows11", facts);
        Assert.Equal(Compatibility.ConnectsInsecurely, windows11.Result);
        Assert.Contains(windows11.Steps, s => s.Contains("ssl_not_allowed_by_server", StringComparison.Ordinal));

        // Without the attempts the same facts cannot tell what the server answers to SSL|HYBRID|HYBRID_EX.
        Assert.Equal(Compatibility.Unknown, Evaluate("windows11", facts with { Negotiations = [] }).Result);

        // FreeRDP 2 asks SSL|HYBRID first, which neither the attempts nor a matrix answered: it cannot be told.
        Assert.Equal(Compatibility.Unknown, Evaluate("freerdp2", facts).Result);
    }
}
