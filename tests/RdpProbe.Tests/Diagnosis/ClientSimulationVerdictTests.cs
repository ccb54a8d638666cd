using RdpProbe.Diagnosis;
using RdpProbe.Protocol;
using static RdpProbe.Tests.Diagnosis.ServerFacts;

namespace RdpProbe.Tests.Diagnosis;

/// <summary>
/// Issue 10 item 3: the client simulation's answers (a connection with a profile's exact request, TLS versions and
/// cipher suites) decide what the per-version facts cannot, and beat them where they disagree.
/// </summary>
public sealed class ClientSimulationVerdictTests
{
    private static SimulatedHandshake Accepted(TlsVersion version, string suite, SecurityProtocols requested = ProbeOptionsRequest)
        => new(SimulatedTlsOutcome.Accepted, requested, SecurityProtocols.Ssl, null, version, suite, $"{version}, {suite}", []);

    private static SimulatedHandshake Refused(string detail, params string[] notOffered)
        => new(SimulatedTlsOutcome.Refused, ProbeOptionsRequest, SecurityProtocols.Ssl, null, null, null, detail, notOffered);

    private const SecurityProtocols ProbeOptionsRequest = SecurityProtocols.Ssl | SecurityProtocols.Hybrid | SecurityProtocols.HybridEx;

    private static SecurityFacts With(SecurityFacts facts, string profile, SimulatedHandshake handshake)
        => facts with { ClientHandshakes = new Dictionary<string, SimulatedHandshake> { [profile] = handshake } };

    [Fact]
    public void Unchecked_versions_are_decided_by_the_simulated_handshake_and_the_hint_goes()
    {
        var facts = XrdpNegotiate with { TlsVersionsAccepted = null, NegotiatedTlsVersion = TlsVersion.Tls10 };
        Assert.Equal(Compatibility.Unknown, ClientCompatibility.Evaluate(ClientProfiles.FreeRdp2, facts).Result);

        var v = ClientCompatibility.Evaluate(ClientProfiles.FreeRdp2, With(facts, "freerdp2", Accepted(TlsVersion.Tls12, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")));
        Assert.Equal(Compatibility.ConnectsAfterWarning, v.Result);
        Assert.Empty(v.NeedsConnection);
        Assert.Contains(v.Steps, s => s.Contains("its own ClientHello", StringComparison.Ordinal) && s.Contains("TLS 1.2 with TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", StringComparison.Ordinal));
    }

    [Fact]
    public void A_refusal_with_a_common_version_is_a_cipher_suite_failure_at_tls()
    {
        // The version check says TLS 1.2 works (with the probe's wide suite list), but this client's own offer was refused.
        var v = ClientCompatibility.Evaluate(ClientProfiles.Windows11, With(XrdpNegotiate, "windows11", Refused("the server sent a fatal TLS alert handshake_failure (40)")));
        Assert.Equal(Compatibility.Fails, v.Result);
        Assert.Equal(Phase.Tls, v.FailPhase);
        Assert.Equal("no_common_cipher_suite", v.Reason);
        Assert.Contains("handshake_failure", string.Join(" ", v.Steps), StringComparison.Ordinal);
    }

    [Fact]
    public void A_refusal_without_a_common_version_stays_no_common_tls_version()
    {
        var v = ClientCompatibility.Evaluate(ClientProfiles.Windows11, With(Tls10Only, "windows11", Refused("protocol_version")));
        Assert.Equal(Compatibility.Fails, v.Result);
        Assert.Equal("no_common_tls_version", v.Reason);
    }

    [Fact]
    public void A_refusal_of_an_offer_that_lacked_suites_the_library_cannot_send_is_not_conclusive()
    {
        // Windows 7 offers RC4, which BouncyCastle cannot: the server might have wanted exactly that suite.
        var facts = XrdpNegotiate with { TlsVersionsAccepted = new Dictionary<TlsVersion, bool?> { [TlsVersion.Tls10] = true, [TlsVersion.Tls12] = true } };
        var v = ClientCompatibility.Evaluate(ClientProfiles.Windows7, With(facts, "windows7", Refused("handshake_failure", "TLS_RSA_WITH_RC4_128_SHA")));
        Assert.Equal(Compatibility.Unknown, v.Result);
        Assert.Contains(v.NeedsConnection, n => n.Contains("TLS_RSA_WITH_RC4_128_SHA", StringComparison.Ordinal));

        // Without a common version the facts decide anyway.
        var none = ClientCompatibility.Evaluate(ClientProfiles.Windows7, With(XrdpNegotiate, "windows7", Refused("protocol_version", "TLS_RSA_WITH_RC4_128_SHA")));
        Assert.Equal(Compatibility.Fails, none.Result);
        Assert.Equal("no_common_tls_version", none.Reason);
    }

    [Fact]
    public void An_accepted_handshake_beats_a_failed_version_check()
    {
        // The per-version connections said no (a flaky server, a middlebox), the client's own ClientHello got through.
        var facts = Tls10Only;
        Assert.Equal(Compatibility.Fails, ClientCompatibility.Evaluate(ClientProfiles.Windows11, facts).Result);
        var v = ClientCompatibility.Evaluate(ClientProfiles.Windows11, With(facts, "windows11", Accepted(TlsVersion.Tls12, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384")));
        Assert.True(v.Connected);
        Assert.Contains(v.Steps, s => s.Contains("TLS 1.2 with TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", StringComparison.Ordinal));
    }

    [Fact]
    public void Another_profiles_handshake_is_not_used()
    {
        var facts = XrdpNegotiate with { TlsVersionsAccepted = null, NegotiatedTlsVersion = TlsVersion.Tls10 };
        var v = ClientCompatibility.Evaluate(ClientProfiles.FreeRdp2, With(facts, "windows11", Accepted(TlsVersion.Tls12, "x")));
        Assert.Equal(Compatibility.Unknown, v.Result);
    }

    [Fact]
    public void Every_real_client_has_a_suite_list_and_every_suite_is_valid_for_one_of_its_versions()
    {
        foreach (var p in ClientProfiles.RealClients)
        {
            Assert.NotEmpty(p.TlsCipherSuites);
            Assert.Equal(p.TlsCipherSuites.Count, p.TlsCipherSuites.Distinct().Count());

            // TLS 1.3 suites (0x13xx, RFC 8446 B.4) only for clients offering TLS 1.3, and none offers only those.
            bool tls13 = p.TlsVersions.Contains(TlsVersion.Tls13);
            Assert.Equal(tls13, p.TlsCipherSuites.Any(s => s >> 8 == 0x13));
            Assert.Contains(p.TlsCipherSuites, s => s >> 8 != 0x13);
        }

        // Offers are keyed by content: Windows 11 and the macOS app send the same, Windows 10 another.
        var request = ClientProfiles.Windows11.RequestedProtocols;
        Assert.Equal(ClientProfiles.Windows11.OfferFor(request).Key, ClientProfiles.MacOs.OfferFor(request).Key);
        Assert.NotEqual(ClientProfiles.Windows11.OfferFor(request).Key, ClientProfiles.Windows10.OfferFor(request).Key);
        Assert.NotEqual(ClientProfiles.FreeRdp2.OfferFor(SecurityProtocols.Ssl).Key, ClientProfiles.FreeRdp2.OfferFor(SecurityProtocols.Ssl | SecurityProtocols.Hybrid).Key);
    }
}
