using RdpProbe.Diagnosis;
using RdpProbe.Protocol;
using static RdpProbe.Diagnosis.FindingRules.Codes;
using static RdpProbe.Tests.Diagnosis.ServerFacts;

namespace RdpProbe.Tests.Diagnosis;

public sealed class FindingRulesTests
{
    private static IReadOnlyList<Finding> Evaluate(SecurityFacts facts) => FindingRules.Evaluate(facts);

    private static Finding Single(SecurityFacts facts, string code) => Assert.Single(Evaluate(facts), f => f.Code == code);

    private static void None(SecurityFacts facts, string code) => Assert.DoesNotContain(Evaluate(facts), f => f.Code == code);

    [Fact]
    public void A_well_configured_nla_server_has_no_findings()
    {
        Assert.Empty(Evaluate(WindowsNla));
    }

    [Fact]
    public void Xrdp_defaults_give_nla_not_required_standard_rdp_accepted_and_self_signed_only()
    {
        var codes = Evaluate(XrdpNegotiate).Select(f => f.Code).ToList();
        Assert.Equal([StandardRdpSecurityAccepted, NlaNotRequired, CertificateSelfSigned], codes);
    }

    [Fact]
    public void Findings_are_ordered_most_severe_first()
    {
        var facts = Downgrading with { EncryptionMethod = StandardEncryptionMethod.None, EncryptionLevel = StandardEncryptionLevel.None };
        var severities = Evaluate(facts).Select(f => f.Severity).ToList();
        Assert.Equal(severities.OrderBy(s => s), severities);
        Assert.Equal(Severity.Critical, severities[0]);
    }

    // ---- the two codes the engine produces today, same rules

    [Fact]
    public void Downgrade_to_standard_security_is_critical_security_downgrade()
    {
        var f = Single(Downgrading, SecurityDowngrade);
        Assert.Equal(Severity.Critical, f.Severity);
        Assert.Contains("selected PROTOCOL_RDP (0)", f.Evidence);
        Assert.Contains("ssl|hybrid|hybrid_ex", f.Evidence);
        Assert.Contains("windows11", f.Affects);
        Assert.DoesNotContain("permissive", f.Affects);
    }

    [Fact]
    public void Legacy_confirm_says_so_in_the_downgrade_evidence()
    {
        var f = Single(Downgrading with { LegacyConfirm = true }, SecurityDowngrade);
        Assert.Contains("no negotiation data", f.Evidence);
    }

    [Fact]
    public void Requesting_rdp_alone_is_no_downgrade()
    {
        None(Downgrading with { RequestedProtocols = SecurityProtocols.Rdp }, SecurityDowngrade);
    }

    [Fact]
    public void No_encryption_with_standard_security_is_critical_encryption_none()
    {
        var f = Single(Downgrading with { EncryptionMethod = StandardEncryptionMethod.None, EncryptionLevel = StandardEncryptionLevel.None }, EncryptionNone);
        Assert.Equal(Severity.Critical, f.Severity);
        Assert.Equal("the MCS Connect Response's security data announced encryption method none, level none", f.Evidence);
    }

    [Fact]
    public void Encryption_method_none_under_tls_is_not_a_finding()
    {
        // Over TLS the server announces method none, as MS-RDPBCGR 2.2.1.4.3 prescribes for Enhanced RDP Security: TLS encrypts.
        None(XrdpNegotiate with { EncryptionMethod = StandardEncryptionMethod.None }, EncryptionNone);
    }

    // ---- standard security

    [Fact]
    public void Weak_methods_accepted_give_encryption_weak()
    {
        var f = Single(RdpOnly with { AcceptedEncryptionMethods = [StandardEncryptionMethod.Bit40, StandardEncryptionMethod.Bit56, StandardEncryptionMethod.Bit128] }, EncryptionWeak);
        Assert.Equal(Severity.High, f.Severity);
        Assert.Contains("40-bit, 56-bit", f.Evidence);
    }

    [Fact]
    public void Level_low_gives_encryption_weak()
    {
        var f = Single(Downgrading with { EncryptionLevel = StandardEncryptionLevel.Low }, EncryptionWeak);
        Assert.Contains("level low", f.Evidence);
    }

    [Fact]
    public void Only_128_bit_is_not_weak()
    {
        None(RdpOnly, EncryptionWeak);
    }

    [Fact]
    public void Rdp_accepted_in_the_matrix_is_standard_rdp_security_accepted()
    {
        var f = Single(RdpOnly, StandardRdpSecurityAccepted);
        Assert.Equal(Severity.High, f.Severity);
        Assert.Contains("matrix", f.Evidence);
        None(WindowsNla, StandardRdpSecurityAccepted);
    }

    [Fact]
    public void Nla_not_required_only_when_known()
    {
        Assert.Equal(Severity.Medium, Single(XrdpNegotiate, NlaNotRequired).Severity);
        None(XrdpNegotiate with { NlaRequired = null }, NlaNotRequired);
        None(WindowsNla, NlaNotRequired);
    }

    // ---- certificate

    [Fact]
    public void Expired_certificate()
    {
        var facts = XrdpNegotiate with { Certificate = GoodSelfSigned with { NotBefore = Now.AddYears(-6), NotAfter = Now.AddYears(-5) } };
        var f = Single(facts, CertificateExpired);
        Assert.Equal(Severity.High, f.Severity);
        Assert.Contains("days ago", f.Evidence);
        Assert.Contains("windows11", f.Affects);
        Assert.Contains("freerdp2", f.Affects);
        None(facts, CertificateExpiringSoon);
    }

    [Fact]
    public void Not_yet_valid_certificate()
    {
        var facts = XrdpNegotiate with { Certificate = GoodSelfSigned with { NotBefore = Now.AddDays(2) } };
        Assert.Equal(Severity.High, Single(facts, CertificateNotYetValid).Severity);
        None(facts, CertificateExpired);
    }

    [Theory]
    [InlineData(29, true)]
    [InlineData(30, true)]
    [InlineData(31, false)]
    public void Expiring_within_30_days(int daysLeft, bool expected)
    {
        var facts = XrdpNegotiate with { Certificate = GoodSelfSigned with { NotAfter = Now.AddDays(daysLeft) } };
        Assert.Equal(expected, Evaluate(facts).Any(f => f.Code == CertificateExpiringSoon));
    }

    [Fact]
    public void Self_signed_is_info_and_says_what_clients_show()
    {
        var f = Single(XrdpNegotiate, CertificateSelfSigned);
        Assert.Equal(Severity.Info, f.Severity);
        Assert.Contains("cannot be verified", f.Remedy);
        Assert.DoesNotContain("permissive", f.Affects);
        None(WindowsNla, CertificateSelfSigned);
    }

    [Theory]
    [InlineData("rdp.example.test", false)]
    [InlineData("RDP.Example.Test.", false)]
    [InlineData("pc1.desktops.example.test", false)]
    [InlineData("a.pc1.desktops.example.test", true)]
    [InlineData("other.example.test", true)]
    public void Name_mismatch_only_when_probed_by_name(string host, bool mismatch)
    {
        var facts = WindowsNla with { HostName = host };
        Assert.Equal(mismatch, Evaluate(facts).Any(f => f.Code == CertificateNameMismatch));
    }

    [Fact]
    public void Name_mismatch_uses_the_cn_only_without_subject_alt_names()
    {
        Assert.DoesNotContain(Evaluate(XrdpNegotiate with { HostName = "rdp.example.test" }), f => f.Code == CertificateNameMismatch);
        var f = Single(XrdpNegotiate with { HostName = "other.example.test" }, CertificateNameMismatch);
        Assert.Contains("rdp.example.test", f.Evidence);
        None(XrdpNegotiate with { HostName = null }, CertificateNameMismatch);
    }

    [Theory]
    [InlineData(512, Severity.High, true)]
    [InlineData(1024, Severity.Medium, false)]
    [InlineData(2048, null, false)]
    public void Small_rsa_keys(int bits, Severity? severity, bool freerdpRefuses)
    {
        var facts = XrdpNegotiate with { Certificate = GoodSelfSigned with { KeySize = bits } };
        var f = Evaluate(facts).SingleOrDefault(x => x.Code == CertificateWeakKey);
        Assert.Equal(severity, f?.Severity);
        Assert.Equal(freerdpRefuses, f?.Affects.Contains("freerdp2") == true);
    }

    [Fact]
    public void Sha1_signature()
    {
        Assert.Equal(Severity.Medium, Single(WindowsNla with { Certificate = CaIssued with { SignatureAlgorithm = "sha1RSA" } }, CertificateSha1Signature).Severity);
        Assert.Equal(Severity.Low, Single(XrdpNegotiate with { Certificate = GoodSelfSigned with { SignatureAlgorithm = "sha1RSA" } }, CertificateSha1Signature).Severity);
        None(XrdpNegotiate, CertificateSha1Signature);
    }

    // ---- TLS

    [Fact]
    public void Tls_1_0_only_gives_legacy_accepted_and_1_2_not_accepted()
    {
        var legacy = Single(Tls10Only, TlsLegacyAccepted);
        Assert.Equal(Severity.Medium, legacy.Severity);
        Assert.Contains("TLS 1.0", legacy.Title);

        var no12 = Single(Tls10Only, Tls12NotAccepted);
        Assert.Equal(Severity.High, no12.Severity);
        Assert.Contains("accepted: TLS 1.0", no12.Evidence);
        Assert.Equal(["windows11", "macos", "freerdp2", "freerdp3"], no12.Affects);
    }

    [Fact]
    public void Tls_findings_need_the_version_check()
    {
        var notChecked = XrdpNegotiate with { TlsVersionsAccepted = null, NegotiatedTlsVersion = TlsVersion.Tls12 };
        None(notChecked, Tls12NotAccepted);
        None(notChecked, TlsLegacyAccepted);
    }

    [Fact]
    public void Tls_1_1_accepted_is_legacy_too()
    {
        var f = Single(XrdpNegotiate with { TlsVersionsAccepted = Versions(TlsVersion.Tls11, TlsVersion.Tls12) }, TlsLegacyAccepted);
        Assert.Contains("TLS 1.1", f.Title);
    }

    // ---- CredSSP, NTLM

    [Theory]
    [InlineData(2, true)]
    [InlineData(4, true)]
    [InlineData(5, false)]
    [InlineData(6, false)]
    public void CredSsp_before_version_5_is_unpatched(int version, bool expected)
    {
        var found = Evaluate(WindowsNla with { CredSspServerVersion = version }).SingleOrDefault(f => f.Code == CredSspUnpatched);
        Assert.Equal(expected, found is not null);
        if (found is not null)
        {
            Assert.Equal(Severity.High, found.Severity);
            Assert.Contains("CVE-2018-0886", found.Title);
            Assert.Equal(["windows11", "windows10", "macos"], found.Affects);
        }
    }

    [Theory]
    [InlineData(420.0, true)]
    [InlineData(-420.0, true)]
    [InlineData(299.0, false)]
    public void Ntlm_clock_skew_over_five_minutes(double skew, bool expected)
    {
        var found = Evaluate(WindowsNla with { NtlmClockSkewSeconds = skew }).SingleOrDefault(f => f.Code == NtlmClockSkew);
        Assert.Equal(expected, found is not null);
        if (found is not null)
        {
            Assert.Contains(skew > 0 ? "ahead" : "behind", found.Title);
            Assert.Contains("7 minutes", found.Title);
        }
    }

    // ---- credentials, UDP

    [Fact]
    public void Credentials_given_to_a_server_without_nla_are_not_verified()
    {
        var f = Single(XrdpNegotiate with { CredentialsGiven = true }, CredentialsNotVerified);
        Assert.Equal(Severity.Medium, f.Severity);
        Assert.Contains("selected ssl", f.Evidence);
        None(XrdpNegotiate, CredentialsNotVerified);
        None(WindowsNla with { CredentialsGiven = true, CredentialsVerified = true }, CredentialsNotVerified);
    }

    [Theory]
    [InlineData(UdpReachability.PortUnreachable, true)]
    [InlineData(UdpReachability.Silence, true)]
    [InlineData(UdpReachability.HostUnreachable, true)]
    [InlineData(UdpReachability.UnexpectedReply, true)]
    [InlineData(UdpReachability.Reachable, false)]
    public void Udp_unreachable_when_checked(UdpReachability udp, bool expected)
    {
        var found = Evaluate(WindowsNla with { Udp = udp }).SingleOrDefault(f => f.Code == UdpUnreachable);
        Assert.Equal(expected, found is not null);
        Assert.Equal(expected ? Severity.Low : null, found?.Severity);
    }

    [Fact]
    public void Every_code_is_stable_snake_case()
    {
        var codes = typeof(FindingRules.Codes).GetFields().Select(f => (string)f.GetRawConstantValue()!).ToList();
        Assert.Equal(20, codes.Count);
        Assert.All(codes, c => Assert.Matches("^[a-z0-9]+(_[a-z0-9]+)*$", c));
        Assert.Equal(codes.Count, codes.Distinct().Count());
    }
}
