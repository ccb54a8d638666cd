using RdpProbe.Diagnosis;
using RdpProbe.Probe;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.Diagnosis;

public sealed class SecurityFactsFromTests
{
    private static readonly DateTimeOffset Start = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    private static ProbeReport TlsReport(string target)
    {
        var report = new ProbeReport(ProbeTarget.Parse(target)) { StartedAt = Start };
        report.Phases.Add(new PhaseRecord(Phase.Tcp));
        report.Phases.Add(new PhaseRecord(Phase.X224));
        report.Phases.Add(new PhaseRecord(Phase.Tls));
        report.Negotiation.RequestedProtocols = SecurityProtocols.Ssl | SecurityProtocols.Hybrid | SecurityProtocols.HybridEx;
        report.Negotiation.SelectedProtocol = SecurityProtocols.Ssl;
        report.Negotiation.NlaRequired = false;
        report.Negotiation.Matrix =
        [
            new MatrixEntry(SecurityProtocols.Rdp, SupportStatus.Supported, SecurityProtocols.Rdp, null, Ending.Ok, null, "", 1),
            new MatrixEntry(SecurityProtocols.Hybrid, SupportStatus.Downgraded, SecurityProtocols.Rdp, null, Ending.Ok, null, "", 1),
            new MatrixEntry(SecurityProtocols.RdsAad, SupportStatus.Refused, null, NegotiationFailureCode.SslNotAllowedByServer, Ending.NegotiationFailure, new Code("ssl_not_allowed_by_server"), "", 1),
            new MatrixEntry(SecurityProtocols.HybridEx, SupportStatus.Error, null, null, Ending.Timeout, null, "", 1),
        ];
        report.Tls = new TlsFacts
        {
            Version = "tls1.2",
            CipherSuite = "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            Versions = new Dictionary<string, bool?> { ["tls1.0"] = false, ["tls1.1"] = null, ["tls1.2"] = true, ["tls1.3"] = true },
            Certificate = new CertificateInfo("CN=rdp.example.test, O=Example", "CN=Example CA", Start.AddDays(-10), Start.AddDays(20), 20, false,
                "rsa", 2048, "sha256RSA", "00", ["dns:rdp.example.test", "ip:192.0.2.1"], "01"),
        };
        return report;
    }

    [Fact]
    public void Maps_negotiation_matrix_tls_and_certificate()
    {
        var facts = SecurityFactsFrom.Report(TlsReport("rdp.example.test:3389"));
        Assert.Equal(Start, facts.ObservedAt);
        Assert.Equal("rdp.example.test", facts.HostName);
        Assert.Equal(SecurityProtocols.Ssl, facts.SelectedProtocol);
        Assert.True(facts.TlsSelected);
        Assert.False(facts.NlaRequired);
        Assert.Equal(new ProtocolOutcome(ProtocolSupport.Supported, SecurityProtocols.Rdp), facts.Matrix![SecurityProtocols.Rdp]);
        Assert.Equal(ProtocolSupport.Downgraded, facts.Matrix[SecurityProtocols.Hybrid].Support);
        Assert.Equal(NegotiationFailureCode.SslNotAllowedByServer, facts.Matrix[SecurityProtocols.RdsAad].FailureCode);
        Assert.Equal(ProtocolSupport.Error, facts.Matrix[SecurityProtocols.HybridEx].Support);
        Assert.Equal(TlsVersion.Tls12, facts.NegotiatedTlsVersion);
        Assert.Equal(false, facts.Accepts(TlsVersion.Tls10));
        Assert.Null(facts.Accepts(TlsVersion.Tls11));
        Assert.Equal(true, facts.Accepts(TlsVersion.Tls13));
        var cert = facts.Certificate!;
        Assert.Equal("rdp.example.test", cert.SubjectCommonName);
        Assert.Equal(["rdp.example.test"], cert.SubjectAltNames);
        Assert.Equal(2048, cert.KeySize);
        Assert.Null(facts.Failure);
        Assert.Null(facts.Udp);
        Assert.False(facts.CredentialsGiven);

        // Facts flow into the rules: expiring in 20 days, name matches.
        var codes = FindingRules.Evaluate(facts).Select(f => f.Code).ToList();
        Assert.Contains(FindingRules.Codes.CertificateExpiringSoon, codes);
        Assert.DoesNotContain(FindingRules.Codes.CertificateNameMismatch, codes);
    }

    [Fact]
    public void An_address_target_has_no_host_name()
    {
        var facts = SecurityFactsFrom.Report(TlsReport("127.0.0.1:3389"));
        Assert.Null(facts.HostName);
        Assert.Equal("127.0.0.1", facts.TargetAddress);
        Assert.Equal(["192.0.2.1"], facts.Certificate!.IpAddresses);
        Assert.Null(SecurityFactsFrom.Report(TlsReport("rdp.example.test")).TargetAddress);
    }

    [Fact]
    public void Maps_the_first_failed_connection_phase_not_an_extra_check()
    {
        var report = TlsReport("127.0.0.1");
        var matrix = new PhaseRecord(Phase.SecurityMatrix);
        matrix.Fail(Ending.Timeout);
        report.Phases.Insert(0, matrix);
        var credssp = new PhaseRecord(Phase.Credssp);
        credssp.Fail(Ending.AuthFailed, new Code("STATUS_LOGON_FAILURE"));
        report.Phases.Add(credssp);
        report.CredSsp = new CredSspFacts { ServerVersion = 6, Ntlm = new NtlmFacts { ClockSkewSeconds = 419.3 } };

        var facts = SecurityFactsFrom.Report(report, credentialsGiven: true);
        Assert.Equal(new ConnectionFailure(Phase.Credssp, Ending.AuthFailed, "STATUS_LOGON_FAILURE"), facts.Failure);
        Assert.Equal(6, facts.CredSspServerVersion);
        Assert.Equal(419.3, facts.NtlmClockSkewSeconds);
        Assert.True(facts.CredentialsGiven);
        Assert.False(facts.CredentialsVerified);
    }

    [Theory]
    [InlineData(null, null, UdpReachability.Reachable)]
    [InlineData(Ending.Refused, "icmp_port_unreachable", UdpReachability.PortUnreachable)]
    [InlineData(Ending.Timeout, null, UdpReachability.Silence)]
    [InlineData(Ending.Unreachable, "icmp_host_unreachable", UdpReachability.HostUnreachable)]
    [InlineData(Ending.NotRdp, null, UdpReachability.UnexpectedReply)]
    public void Maps_the_udp_check(Ending? ending, string? code, UdpReachability expected)
    {
        var report = TlsReport("127.0.0.1");
        var udp = new PhaseRecord(Phase.Udp);
        if (ending is { } e)
        {
            udp.Fail(e, code is null ? null : new Code(code));
        }

        report.Phases.Add(udp);
        Assert.Equal(expected, SecurityFactsFrom.Report(report).Udp);
    }

    [Fact]
    public void Maps_standard_security_session_facts()
    {
        var report = new ProbeReport(ProbeTarget.Parse("127.0.0.1")) { StartedAt = Start };
        report.Negotiation.RequestedProtocols = SecurityProtocols.Ssl;
        report.Negotiation.SelectedProtocol = SecurityProtocols.Rdp;
        report.Negotiation.Legacy = true;
        report.Session = new SessionFacts { EncryptionMethod = "none", EncryptionLevel = "client-compatible" };

        var facts = SecurityFactsFrom.Report(report);
        Assert.Equal(StandardEncryptionMethod.None, facts.EncryptionMethod);
        Assert.Equal(StandardEncryptionLevel.ClientCompatible, facts.EncryptionLevel);
        Assert.True(facts.LegacyConfirm);
        Assert.Null(facts.Matrix);
        Assert.Null(facts.TlsVersionsAccepted);
        Assert.Null(facts.Certificate);

        var codes = FindingRules.Evaluate(facts).Select(f => f.Code).ToList();
        Assert.Equal([FindingRules.Codes.SecurityDowngrade, FindingRules.Codes.EncryptionNone, FindingRules.Codes.StandardRdpSecurityAccepted], codes);
    }
}
