using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.Diagnosis;

public sealed class SymptomsTests
{
    [Theory]
    [InlineData(NegotiationFailureCode.SslRequiredByServer, "Enhanced Security")]
    [InlineData(NegotiationFailureCode.SslNotAllowedByServer, "Standard RDP Security")]
    [InlineData(NegotiationFailureCode.SslCertNotOnServer, "certificate")]
    [InlineData(NegotiationFailureCode.InconsistentFlags, "inconsistent")]
    [InlineData(NegotiationFailureCode.HybridRequiredByServer, "Network Level Authentication")]
    [InlineData(NegotiationFailureCode.SslWithUserAuthRequiredByServer, "client-certificate")]
    public void Every_negotiation_failure_code_has_its_own_explanation(NegotiationFailureCode code, string expected)
    {
        var e = Symptoms.Explain(Phase.X224, Ending.NegotiationFailure, Codes.NegotiationFailure(code));
        Assert.Contains(expected, e.Summary);
        Assert.NotEmpty(e.Causes);
        Assert.NotEmpty(e.Remedies);
    }

    [Fact]
    public void Certificate_missing_points_at_regeneration_and_machinekeys()
    {
        var e = Symptoms.Explain(Phase.X224, Ending.NegotiationFailure, new Code("ssl_cert_not_on_server"));
        Assert.Contains(e.Remedies, r => r.Contains("MachineKeys", StringComparison.Ordinal));
        Assert.Contains(e.Remedies, r => r.Contains("regenerated", StringComparison.Ordinal));
    }

    [Fact]
    public void Reset_after_client_hello_blames_tls_policy_or_a_middlebox()
    {
        var e = Symptoms.Explain(Phase.Tls, Ending.Reset, Codes.BeforeServerHello);
        Assert.Contains("ClientHello", e.Summary);
        Assert.Contains("middlebox", e.Summary);
    }

    [Fact]
    public void Close_after_client_hello_says_no_common_version_and_enable_tls12()
    {
        var e = Symptoms.Explain(Phase.Tls, Ending.Closed, Codes.BeforeServerHello);
        Assert.Contains("no common TLS version", e.Summary);
        Assert.Contains(e.Remedies, r => r.Contains("TLS 1.2", StringComparison.Ordinal));
    }

    [Fact]
    public void Silence_after_client_hello_suggests_an_mtu_black_hole()
    {
        Assert.Contains("MTU", Symptoms.Explain(Phase.Tls, Ending.Timeout, Codes.BeforeServerHello).Summary);
    }

    [Theory]
    [InlineData("protocol_version", "no TLS version in common")]
    [InlineData("handshake_failure", "cipher suite")]
    public void Tls_alerts_are_explained(string alert, string expected)
        => Assert.Contains(expected, Symptoms.Explain(Phase.Tls, Ending.TlsAlert, new Code(alert)).Summary);

    [Theory]
    [InlineData(Ending.Refused, "nothing is listening")]
    [InlineData(Ending.Timeout, "filtered")]
    [InlineData(Ending.Unreachable, "no route")]
    public void Tcp_endings_are_told_apart(Ending ending, string expected)
        => Assert.Contains(expected, Symptoms.Explain(Phase.Tcp, ending, null).Summary);

    [Theory]
    [InlineData("http_response", "HTTP")]
    [InlineData("ssh_banner", "SSH")]
    [InlineData("tls_handshake", "TLS")]
    public void Not_rdp_names_what_answered(string code, string expected)
        => Assert.Contains(expected, Symptoms.Explain(Phase.X224, Ending.NotRdp, new Code(code)).Summary);

    [Fact]
    public void Xrdp_dpum_is_explained()
        => Assert.Contains("Disconnect Provider Ultimatum", Symptoms.Explain(Phase.X224, Ending.Closed, new Code("mcs_disconnect_provider_ultimatum")).Summary);

    [Theory]
    [InlineData("status_logon_failure", "wrong user name or password")]
    [InlineData("STATUS_ACCOUNT_LOCKED_OUT", "locked out")]
    [InlineData("status_password_must_change", "change the password")]
    public void Credssp_ntstatus_codes_match_with_any_ending(string code, string expected)
    {
        Assert.Contains(expected, Symptoms.Explain(Phase.Credssp, Ending.AuthFailed, new Code(code)).Summary);
        Assert.Contains(expected, Symptoms.Explain(Phase.Credssp, Ending.Closed, new Code(code)).Summary);
    }

    [Fact]
    public void Errinfo_prefix_is_ignored()
    {
        var a = Symptoms.Explain(Phase.Capabilities, Ending.ServerErrorInfo, new Code("errinfo_server_denied_connection"));
        var b = Symptoms.Explain(Phase.ClientInfo, Ending.ServerErrorInfo, new Code("server_denied_connection"));
        Assert.Equal(a, b);
        Assert.Contains("0x7", a.Summary);
    }

    [Fact]
    public void Ok_is_ok_in_every_phase()
    {
        foreach (var phase in Enum.GetValues<Phase>())
        {
            var e = Symptoms.Explain(phase, Ending.Ok, null);
            Assert.StartsWith("Every phase", e.Summary);
            Assert.Empty(e.Causes);
        }
    }

    [Fact]
    public void Every_phase_and_ending_gets_a_real_sentence()
    {
        foreach (var phase in Enum.GetValues<Phase>())
        {
            foreach (var ending in Enum.GetValues<Ending>())
            {
                var e = Symptoms.Explain(phase, ending, new Code("no_such_code"));
                Assert.False(string.IsNullOrWhiteSpace(e.Summary));
                Assert.EndsWith(".", e.Summary);
            }
        }
    }

    [Fact]
    public void Unknown_code_falls_back_to_the_phase_and_ending()
    {
        Assert.Equal(
            Symptoms.Explain(Phase.X224, Ending.NegotiationFailure, null),
            Symptoms.Explain(Phase.X224, Ending.NegotiationFailure, new Code("unknown_failure_code_99")));
    }

    [Fact]
    public void Table_keys_are_unique()
    {
        var keys = Symptoms.Keys.ToList();
        Assert.Equal(keys.Count, keys.Distinct().Count());
    }
}
