using System.Net;
using RdpProbe.Diagnosis;
using RdpProbe.IntegrationTests.Lab;
using RdpProbe.Probe;
using RdpProbe.Probe.Phases;
using RdpProbe.Protocol;
using Xunit.Abstractions;

namespace RdpProbe.IntegrationTests.Phases;

/// <summary>The session phases driven against the real lab servers, from X.224 to Demand Active.</summary>
[Collection(LabCollection.Name)]
public sealed class SessionLabTests(LabFixture lab, ITestOutputHelper output)
{
    private static readonly TimeSpan PhaseTimeout = TimeSpan.FromSeconds(20);

    private static readonly CredSspCredentials Lab = new(LabFixture.Domain, LabFixture.User, LabFixture.Password);

    internal sealed record Run(
        SecurityProtocols Selected,
        List<PhaseRecord> Records,
        CredSspResult? CredSsp,
        McsResult? Mcs,
        ChannelsResult? Channels,
        SecurityExchangeResult? SecurityExchange,
        LicensingResult? Licensing,
        CapabilitiesResult? Capabilities)
    {
        public PhaseRecord? this[Phase phase] => Records.FirstOrDefault(r => r.Phase == phase);

        public PhaseRecord? FirstFailure => Records.FirstOrDefault(r => r.Status == PhaseStatus.Failed);
    }

    private async Task<Run> DriveAsync(IPEndPoint server, SecurityProtocols requested, CredSspCredentials? credentials)
    {
        using var cts = new CancellationTokenSource(PhaseTimeout * 4);
        await using var connection = await LabConnection.OpenAsync(server, requested, cts.Token);
        var records = new List<PhaseRecord>();
        PhaseRecord Start(Phase phase)
        {
            var record = new PhaseRecord(phase);
            records.Add(record);
            return record;
        }

        bool Failed() => records[^1].Status == PhaseStatus.Failed;

        CredSspResult? credssp = null;
        McsResult? mcs = null;
        ChannelsResult? channels = null;
        SecurityExchangeResult? exchange = null;
        LicensingResult? licensing = null;
        CapabilitiesResult? capabilities = null;
        try
        {
            bool nla = connection.Selected is SecurityProtocols.Hybrid or SecurityProtocols.HybridEx;
            if (nla)
            {
                credssp = await CredSspPhase.RunAsync(connection.Stream, connection.SubjectPublicKey, credentials, Start(Phase.Credssp), cts.Token);
                if (Failed() || !credssp.Authenticated)
                {
                    return Finish();
                }

                if (connection.Selected == SecurityProtocols.HybridEx)
                {
                    await EarlyAuthPhase.RunAsync(connection.Stream, Start(Phase.EarlyAuth), cts.Token);
                    if (Failed())
                    {
                        return Finish();
                    }
                }
            }

            var session = new RdpSession(connection.Stream, connection.Selected, requested);
            var runner = new PhaseRunner(PhaseTimeout, cts.Token);
            var outcome = await ConnectionSequence.RunSessionAsync(session, new SessionOptions(credentials, nla), runner, records, wire: null);
            (mcs, channels, exchange, licensing, capabilities) = (outcome.Mcs, outcome.Channels, outcome.SecurityExchange, outcome.Licensing, outcome.Capabilities);
            return Finish();
        }
        finally
        {
            foreach (var record in records)
            {
                PhaseLog.Write(output, record);
            }
        }

        Run Finish() => new(connection.Selected, records, credssp, mcs, channels, exchange, licensing, capabilities);
    }

    private static void AssertDemandActive(Run run)
    {
        Assert.True(run.FirstFailure is null, $"{run.FirstFailure?.Phase}: {run.FirstFailure?.Ending} {run.FirstFailure?.Code} {run.FirstFailure?.Detail}");
        Assert.True(run.Capabilities?.ReachedDemandActive, "no Demand Active");
        Assert.NotNull(run.Capabilities!.Summary!.DesktopWidth);
        Assert.Contains("general", run.Capabilities.Summary.Sets);
    }

    [Fact]
    public async Task Xrdp_tls_reaches_demand_active_without_credentials()
    {
        var run = await DriveAsync(lab.Endpoints.Xrdp, SecurityProtocols.Ssl | SecurityProtocols.Hybrid | SecurityProtocols.HybridEx, null);
        Assert.Equal(SecurityProtocols.Ssl, run.Selected);
        AssertDemandActive(run);
        Assert.Equal(Mcs.IoChannelId, run.Mcs!.IoChannelId);
    }

    [Fact]
    public async Task Xrdp_rdp_security_reaches_demand_active_through_the_security_exchange()
    {
        var run = await DriveAsync(lab.Endpoints.Xrdp, SecurityProtocols.Rdp, null);
        Assert.Equal(SecurityProtocols.Rdp, run.Selected);
        AssertDemandActive(run);
        Assert.True(run.SecurityExchange!.Established);
        Assert.NotNull(run.Mcs!.Certificate);
    }

    [Fact]
    public async Task Shadow_tls_reaches_demand_active()
    {
        var run = await DriveAsync(lab.Endpoints.ShadowTls, SecurityProtocols.Ssl, null);
        AssertDemandActive(run);
    }

    [Fact]
    public async Task Shadow_rdp_security_reaches_demand_active()
    {
        var run = await DriveAsync(lab.Endpoints.ShadowRdp, SecurityProtocols.Rdp, null);
        AssertDemandActive(run);
        output.WriteLine($"shadow RDP-only server encryption: {run.Mcs!.EncryptionMethod} level {run.Mcs.EncryptionLevel}");
    }

    [Fact]
    public async Task Shadow_nla_right_password_reaches_demand_active()
    {
        var run = await DriveAsync(lab.Endpoints.ShadowNla, SecurityProtocols.Ssl | SecurityProtocols.Hybrid | SecurityProtocols.HybridEx, Lab);
        Assert.True(run.CredSsp!.Authenticated);
        AssertDemandActive(run);
    }

    [Fact]
    public async Task Shadow_nla_wrong_password_fails_in_credssp()
    {
        var run = await DriveAsync(lab.Endpoints.ShadowNla, SecurityProtocols.Ssl | SecurityProtocols.Hybrid | SecurityProtocols.HybridEx, Lab with { Password = "not-the-password" });
        Assert.Equal(Phase.Credssp, run.FirstFailure!.Phase);
        Assert.Equal(Ending.AuthFailed, run.FirstFailure.Ending);
    }

    [Fact]
    public async Task Shadow_nla_unknown_user_fails_in_credssp()
    {
        var run = await DriveAsync(lab.Endpoints.ShadowNla, SecurityProtocols.Ssl | SecurityProtocols.Hybrid | SecurityProtocols.HybridEx, Lab with { User = "nobody" });
        Assert.Equal(Phase.Credssp, run.FirstFailure!.Phase);
        Assert.Equal(Ending.AuthFailed, run.FirstFailure.Ending);
    }
}
