using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.Diagnosis;

public sealed class ClientProfilesTests
{
    [Fact]
    public void Profile_names_are_the_documented_ones_and_unique()
    {
        Assert.Equal(["windows11", "windows10", "windows7", "macos", "freerdp2", "freerdp3", "permissive"], ClientProfiles.Names);
        Assert.DoesNotContain(ClientProfiles.Permissive, ClientProfiles.RealClients);
        Assert.Equal(6, ClientProfiles.RealClients.Count);
    }

    [Theory]
    [InlineData("FreeRDP2", "freerdp2")]
    [InlineData("windows11", "windows11")]
    public void Lookup_ignores_case(string name, string expected)
    {
        Assert.True(ClientProfiles.TryGet(name, out var profile));
        Assert.Equal(expected, profile.Name);
    }

    [Fact]
    public void Unknown_names_are_not_found()
    {
        Assert.False(ClientProfiles.TryGet("mstsc95", out var profile));
        Assert.Null(profile);
    }

    [Fact]
    public void Permissive_is_todays_probe()
    {
        var p = ClientProfiles.Permissive;
        Assert.Equal(SecurityProtocols.Ssl | SecurityProtocols.Hybrid | SecurityProtocols.HybridEx, p.RequestedProtocols);
        Assert.Equal(Enum.GetValues<TlsVersion>(), p.TlsVersions);
        Assert.Empty(p.Fallbacks);
        Assert.Equal(0, p.MinimumCredSspVersion);
        Assert.Equal(CertificateBehaviour.Ignores, p.UntrustedCertificate);
        Assert.Equal(CertificateBehaviour.Ignores, p.ExpiredCertificate);
        Assert.Equal(CertificateBehaviour.Ignores, p.NameMismatch);
    }

    [Fact]
    public void Freerdp_defaults()
    {
        var p = ClientProfiles.FreeRdp2;
        Assert.Equal(SecurityProtocols.Ssl | SecurityProtocols.Hybrid, p.RequestedProtocols);
        Assert.Equal([SecurityProtocols.Ssl, SecurityProtocols.Rdp], p.Fallbacks.Select(f => f.Retry));
        Assert.All(p.Fallbacks, f => Assert.Null(f.OnlyAfter));
        Assert.Equal([TlsVersion.Tls12, TlsVersion.Tls13], p.TlsVersions);
        Assert.Equal(1, p.TlsSecurityLevel);
        Assert.Equal(1024, p.MinimumRsaKeyBits);
        Assert.Equal("freerdp3", ClientProfiles.FreeRdp3.Name);
        Assert.NotEmpty(ClientProfiles.FreeRdp3.Unverified);
    }

    [Fact]
    public void Windows_clients_fall_back_only_after_ssl_not_allowed()
    {
        foreach (var p in new[] { ClientProfiles.Windows11, ClientProfiles.Windows10, ClientProfiles.Windows7 })
        {
            var step = Assert.Single(p.Fallbacks);
            Assert.Equal(SecurityProtocols.Rdp, step.Retry);
            Assert.True(step.AppliesTo(NegotiationFailureCode.SslNotAllowedByServer));
            Assert.False(step.AppliesTo(NegotiationFailureCode.HybridRequiredByServer));
        }
    }

    [Fact]
    public void Patched_windows_requires_credssp_5_unpatched_windows7_does_not()
    {
        Assert.Equal(5, ClientProfiles.Windows11.MinimumCredSspVersion);
        Assert.Equal(5, ClientProfiles.Windows10.MinimumCredSspVersion);
        Assert.Equal(0, ClientProfiles.Windows7.MinimumCredSspVersion);
        Assert.Equal([TlsVersion.Tls10], ClientProfiles.Windows7.TlsVersions);
        Assert.False(ClientProfiles.Windows7.RequestedProtocols.HasFlag(SecurityProtocols.HybridEx));
        Assert.DoesNotContain(TlsVersion.Tls10, ClientProfiles.Windows11.TlsVersions);
        Assert.Contains(TlsVersion.Tls10, ClientProfiles.Windows10.TlsVersions);
    }

    [Fact]
    public void FallbackAfter_walks_the_steps_in_order_and_then_gives_up()
    {
        var freerdp = ClientProfiles.FreeRdp2;
        Assert.Equal((0, freerdp.Fallbacks[0]), freerdp.FallbackAfter(NegotiationFailureCode.SslNotAllowedByServer));
        Assert.Equal((1, freerdp.Fallbacks[1]), freerdp.FallbackAfter(NegotiationFailureCode.SslNotAllowedByServer, 0));
        Assert.Null(freerdp.FallbackAfter(NegotiationFailureCode.SslNotAllowedByServer, 1));

        Assert.Null(ClientProfiles.Windows11.FallbackAfter(NegotiationFailureCode.HybridRequiredByServer));
        Assert.Equal(SecurityProtocols.Rdp, ClientProfiles.Windows11.FallbackAfter(NegotiationFailureCode.SslNotAllowedByServer)?.Step.Retry);
        Assert.Null(ClientProfiles.Permissive.FallbackAfter(NegotiationFailureCode.SslNotAllowedByServer));
    }
}
