using RdpProbe.Diagnosis;
using RdpProbe.IntegrationTests.Lab;
using RdpProbe.Probe.Phases;
using RdpProbe.Protocol;
using Xunit.Abstractions;

namespace RdpProbe.IntegrationTests.Phases;

[Collection(LabCollection.Name)]
public sealed class CredSspLabTests(LabFixture lab, ITestOutputHelper output)
{
    private static readonly TimeSpan PhaseTimeout = TimeSpan.FromSeconds(15);

    private async Task<(CredSspResult Result, PhaseRecord Record, LabConnection Connection)> RunAsync(CredSspCredentials? credentials)
    {
        using var cts = new CancellationTokenSource(PhaseTimeout);
        var connection = await LabConnection.OpenAsync(lab.Endpoints.ShadowNla, SecurityProtocols.Ssl | SecurityProtocols.Hybrid | SecurityProtocols.HybridEx, cts.Token);
        var record = new PhaseRecord(Phase.Credssp);
        var result = await CredSspPhase.RunAsync(connection.Stream, connection.SubjectPublicKey, credentials, record, cts.Token);
        PhaseLog.Write(output, record);
        return (result, record, connection);
    }

    [Fact]
    public async Task Without_credentials_the_challenge_names_the_server()
    {
        var (result, record, connection) = await RunAsync(null);
        await using var _ = connection;
        Assert.True(record.Status == PhaseStatus.Ok, record.Detail);
        Assert.Equal(6, result.ServerVersion);
        Assert.NotNull(result.Ntlm!.NetbiosComputerName);
        Assert.NotNull(result.Ntlm.ProductVersion);
        Assert.False(result.Authenticated);
    }

    [Fact]
    public async Task Right_password_authenticates()
    {
        var (result, record, connection) = await RunAsync(new CredSspCredentials(LabFixture.Domain, LabFixture.User, LabFixture.Password));
        await using var _ = connection;
        Assert.True(record.Status == PhaseStatus.Ok, record.Detail);
        Assert.True(result.ServerPubKeyAuthVerified);
        Assert.True(result.Authenticated);
        Assert.Equal(6, result.ServerVersion);
        output.WriteLine($"selected protocol: {connection.Selected}");
        if (connection.Selected == SecurityProtocols.HybridEx)
        {
            var early = new PhaseRecord(Phase.EarlyAuth);
            var authorization = await EarlyAuthPhase.RunAsync(connection.Stream, early, CancellationToken.None);
            PhaseLog.Write(output, early);
            Assert.True(authorization.Authorized, early.Detail);
        }
    }

    [Fact]
    public async Task Wrong_password_is_auth_failed()
    {
        var (result, record, connection) = await RunAsync(new CredSspCredentials(LabFixture.Domain, LabFixture.User, "wrong"));
        await using var _ = connection;
        Assert.Equal(Ending.AuthFailed, record.Ending);
        Assert.False(result.Authenticated);
    }
}
