using System.Net;
using RdpProbe.Diagnosis;
using RdpProbe.IntegrationTests.Lab;
using RdpProbe.Probe.Phases;
using RdpProbe.Protocol;
using Xunit.Abstractions;

namespace RdpProbe.IntegrationTests.Phases;

[Collection(LabCollection.Name)]
public sealed class EncryptionLevelLabTests(LabFixture lab, ITestOutputHelper output)
{
    private static Func<CancellationToken, Task<Stream>> Connect(IPEndPoint server) => async ct =>
    {
        var connection = await LabConnection.OpenAsync(server, SecurityProtocols.Rdp, ct);
        return connection.Stream;
    };

    private async Task<(EncryptionMatrixResult Result, PhaseRecord Record)> RunAsync(IPEndPoint server)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var record = new PhaseRecord(Phase.EncryptionLevels);
        var result = await EncryptionLevelMatrix.RunAsync(Connect(server), record, cts.Token);
        PhaseLog.Write(output, record);
        foreach (var e in result.Entries)
        {
            output.WriteLine($"{e.MethodName}: {e.Support} {e.Detail}");
        }

        return (result, record);
    }

    [Fact]
    public async Task Xrdp_accepts_only_what_its_high_level_allows()
    {
        var (result, record) = await RunAsync(lab.Endpoints.Xrdp);
        Assert.Equal(PhaseStatus.Ok, record.Status);
        Assert.Equal(4, result.Entries.Count);
        Assert.Contains(EncryptionMethods.Bit128, result.Accepted);
        Assert.Equal(EncryptionLevel.High, result.ServerLevel);
        Assert.DoesNotContain(result.Entries, e => e.Support == EncryptionSupport.Error);
    }

    [Fact]
    public async Task Shadow_rdp_server_encrypts_nothing()
    {
        var (result, _) = await RunAsync(lab.Endpoints.ShadowRdp);
        Assert.All(result.Entries, e => Assert.Equal(EncryptionSupport.NoEncryption, e.Support));
    }

    [Fact]
    public async Task A_tls_only_server_refuses_standard_security_as_an_error_per_method()
    {
        var (result, record) = await RunAsync(lab.Endpoints.ShadowTls);
        Assert.All(result.Entries, e => Assert.Equal(EncryptionSupport.Error, e.Support));
        Assert.Equal(PhaseStatus.Failed, record.Status);
    }
}
