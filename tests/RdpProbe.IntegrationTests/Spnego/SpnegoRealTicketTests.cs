using RdpProbe.Diagnosis;
using RdpProbe.IntegrationTests.Lab;
using RdpProbe.Probe;
using RdpProbe.Protocol;
using RdpProbe.Tests.Probe.Phases;

namespace RdpProbe.IntegrationTests.Spnego;

/// <summary>
/// The server side of SPNEGO in CredSSP with REAL Kerberos: the client's ticket for TERMSRV/app01.rdpprobe.test comes
/// from the lab's MIT KDC, and the server is the SCRIPTED FAKE server of the unit tests (<see cref="FakeSpnegoServer"/>,
/// real TLS on loopback). It is scripted because no RDP server installable here takes Kerberos in CredSSP (FreeRDP 2's is
/// NTLM-only: <see cref="Kerberos.KerberosLabTests"/> shows it on the real server); its Kerberos acceptor is MIT krb5
/// itself (NegotiateAuthentication with the service key exported from the lab KDC's database), so the AP-REQ, the
/// AP-REP, the mechListMICs and pubKeyAuth/authInfo under the Kerberos session key are checked for real on both sides.
/// What is scripted is only the server's choice: take Kerberos, choose NTLM, reject.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class SpnegoRealTicketTests(LabFixture lab)
{
    private const string Host = "app01.rdpprobe.test";

    private async Task<(ProbeReport Report, PhaseRecord Credssp)> ProbeAsync(FakeSpnegoServer fake, AuthMechanism auth, string host = Host)
    {
        KerberosLab.UseLabKdc(lab);
        await KerberosLab.UseApp01KeytabAsync(lab);
        await using var server = SpnegoTlsServer.Start(fake.RunAsync);
        var engine = SpnegoTlsServer.Engine(auth, KerberosLab.Realm).WithCredentials("LAB\\probe", LabFixture.Password);
        var report = Assert.Single(await engine.RunAsync(ProbeTarget.Parse($"{host}:{server.Port}"), CancellationToken.None));
        await server.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        return (report, report.Phases.Single(p => p.Phase == Phase.Credssp));
    }

    [Fact]
    public async Task Scripted_server_takes_a_real_lab_ticket_mutual_auth_and_delegation_under_the_kerberos_key()
    {
        var fake = new FakeSpnegoServer(6, SpnegoTlsServer.PublicKey) { Mode = FakeSpnegoServer.Answer.TakeKerberos };
        var (report, credssp) = await ProbeAsync(fake, AuthMechanism.Kerberos);

        Assert.True(credssp.Status == PhaseStatus.Ok, credssp.Detail);
        Assert.Equal(SpnegoMechs.KerberosThenNtlm, fake.Init!.MechTypes);

        // MIT krb5's acceptor decrypted the AP-REQ with TERMSRV/app01's key from the lab KDC: the ticket is real.
        Assert.Equal("probe@RDPPROBE.TEST", fake.KerberosClient);
        Assert.True(fake.ClientMicVerified);
        Assert.True(fake.ClientProofVerified);
        Assert.Equal((TsCredentialType.Password, "LAB", "probe", LabFixture.Password), fake.Delegated);

        var facts = report.CredSsp!;
        Assert.True(facts.Authenticated);
        Assert.Equal("kerberos", facts.Mechanism);
        Assert.Equal("TERMSRV/app01.rdpprobe.test", facts.Spnego!.Spn);
        Assert.Equal("kerberos_accepted", facts.Spnego.ServerChoice);
        Assert.True(facts.Spnego.MutualAuth);
        Assert.Contains("the server took Kerberos", credssp.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scripted_server_chooses_ntlm_over_a_real_ticket_and_negotiate_completes_ntlm()
    {
        var fake = new FakeSpnegoServer(6, SpnegoTlsServer.PublicKey) { Mode = FakeSpnegoServer.Answer.ChooseNtlm };
        var (report, credssp) = await ProbeAsync(fake, AuthMechanism.Negotiate);

        Assert.True(credssp.Status == PhaseStatus.Ok, credssp.Detail);

        // A real AP-REQ was the optimistic token (Kerberos first), and the server named NTLM instead (RFC 4178 §3).
        Assert.True(SpnegoMechs.IsKerberos(fake.Init!.MechTypes[0]));
        Assert.NotNull(fake.Init.MechToken);
        Assert.Null(fake.KerberosClient);
        Assert.True(fake.ClientMicVerified);
        Assert.Equal((TsCredentialType.Password, "LAB", "probe", LabFixture.Password), fake.Delegated);
        var facts = report.CredSsp!;
        Assert.True(facts.Authenticated);
        Assert.Equal("ntlm", facts.Mechanism);
        Assert.Equal("ntlm_chosen", facts.Spnego!.ServerChoice);
        Assert.Null(facts.Spnego.KerberosUnavailable);
        Assert.Contains("the server chose NTLM over the Kerberos ticket for TERMSRV/app01.rdpprobe.test", credssp.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scripted_server_choosing_ntlm_when_kerberos_is_required_is_server_chose_ntlm()
    {
        var fake = new FakeSpnegoServer(6, SpnegoTlsServer.PublicKey) { Mode = FakeSpnegoServer.Answer.ChooseNtlm };
        KerberosLab.UseLabKdc(lab);
        await KerberosLab.UseApp01KeytabAsync(lab);
        await using var server = SpnegoTlsServer.Start(fake.RunAsync);
        var engine = SpnegoTlsServer.Engine(AuthMechanism.Kerberos, KerberosLab.Realm).WithCredentials("LAB\\probe", LabFixture.Password);
        var report = Assert.Single(await engine.RunAsync(ProbeTarget.Parse($"{Host}:{server.Port}"), CancellationToken.None));
        var credssp = report.Phases.Single(p => p.Phase == Phase.Credssp);

        Assert.Equal(Ending.ClientRefused, credssp.Ending);
        Assert.Equal(Codes.ServerChoseNtlm, credssp.Code);
        Assert.True(SpnegoMechs.IsKerberos(fake.Init!.MechTypes[0]));
        Assert.Null(fake.Delegated);
        Assert.Equal("ntlm_chosen", report.CredSsp!.Spnego!.ServerChoice);
        Assert.Contains("chose NTLM over the offered Kerberos ticket", report.Verdict.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scripted_server_rejecting_a_real_ticket_is_spnego_reject()
    {
        var fake = new FakeSpnegoServer(6, SpnegoTlsServer.PublicKey) { Mode = FakeSpnegoServer.Answer.Reject };
        var (report, credssp) = await ProbeAsync(fake, AuthMechanism.Negotiate);

        Assert.Equal(Ending.AuthFailed, credssp.Ending);
        Assert.Equal(Codes.SpnegoReject, credssp.Code);
        Assert.True(SpnegoMechs.IsKerberos(fake.Init!.MechTypes[0]));
        Assert.NotNull(fake.Init.MechToken);
        Assert.False(report.CredSsp!.Authenticated);
        Assert.Equal("rejected", report.CredSsp.Spnego!.ServerChoice);
        Assert.Contains("rejected every authentication mechanism", report.Verdict.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scripted_server_answering_a_real_ticket_with_raw_ntlm_is_named()
    {
        // A server that does not speak SPNEGO: a bare NTLM CHALLENGE where a NegTokenResp belongs.
        var fake = new FakeSpnegoServer(6, SpnegoTlsServer.PublicKey) { Mode = FakeSpnegoServer.Answer.RawNtlm };
        var (_, credssp) = await ProbeAsync(fake, AuthMechanism.Negotiate);

        Assert.True(SpnegoMechs.IsKerberos(fake.Init!.MechTypes[0]));
        Assert.Equal(Ending.ProtocolViolation, credssp.Ending);
        Assert.Contains("raw NTLM message: the server does not speak SPNEGO", credssp.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scripted_server_answering_a_real_ticket_with_a_wrapped_win32_error_is_spnego_not_understood_as_freerdp2_sends_it()
    {
        // The answer FreeRDP 2's real server gives (KerberosLabTests shows it on the real server); here on the scripted one.
        var fake = new FakeSpnegoServer(6, SpnegoTlsServer.PublicKey) { Mode = FakeSpnegoServer.Answer.Win32ErrorCode };
        var (report, credssp) = await ProbeAsync(fake, AuthMechanism.Negotiate);

        Assert.Equal(Ending.AuthFailed, credssp.Ending);
        Assert.Equal(Codes.SpnegoNotUnderstood, credssp.Code);
        Assert.Contains("0xC00700EA, NTSTATUS_FROM_WIN32(234)", credssp.Detail, StringComparison.Ordinal);
        Assert.Equal("not_understood", report.CredSsp!.Spnego!.ServerChoice);
        Assert.Contains("speaks only raw NTLM in CredSSP, as FreeRDP 2 servers do", report.Verdict.Summary, StringComparison.Ordinal);
    }
}
