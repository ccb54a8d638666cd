using RdpProbe.Diagnosis;
using RdpProbe.Probe.Phases;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.Probe.Phases;

public sealed class EarlyAuthPhaseTests
{
    private static async Task<(EarlyAuthResult Result, PhaseRecord Record)> Run(byte[]? answer, bool closeFirst = false)
    {
        await using var server = ScriptedServer.Start(async (s, ct) =>
        {
            if (!closeFirst && answer is not null)
            {
                await s.WriteAsync(answer, ct);
            }
        });
        await using var stream = await server.ConnectAsync();
        var record = new PhaseRecord(Phase.EarlyAuth);
        var result = await EarlyAuthPhase.RunAsync(stream, record, CancellationToken.None);
        return (result, record);
    }

    [Fact]
    public async Task Success_is_ok()
    {
        var (result, record) = await Run(EarlyUserAuthorization.Encode(EarlyUserAuthorizationResult.Success));
        Assert.Equal(PhaseStatus.Ok, record.Status);
        Assert.True(result.Authorized);
        Assert.Single(record.Messages);
    }

    [Fact]
    public async Task Access_denied_is_access_denied()
    {
        var (result, record) = await Run([0x05, 0x00, 0x00, 0x00]);
        Assert.Equal(Ending.AccessDenied, record.Ending);
        Assert.Equal("authz_access_denied", record.Code?.Word);
        Assert.Contains("password is right", record.Detail, StringComparison.Ordinal);
        Assert.False(result.Authorized);
    }

    [Fact]
    public async Task Unknown_value_is_a_protocol_violation()
    {
        var (_, record) = await Run([0x07, 0x00, 0x00, 0x00]);
        Assert.Equal(Ending.ProtocolViolation, record.Ending);
    }

    [Fact]
    public async Task Close_before_the_result_is_closed()
    {
        var (result, record) = await Run([0x00, 0x00]);
        Assert.Equal(Ending.Closed, record.Ending);
        Assert.Null(result.Result);
    }

    [Fact]
    public void Codec_every_prefix_and_bad_value()
    {
        byte[] ok = [0, 0, 0, 0];
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(System.Buffers.OperationStatus.NeedMoreData, EarlyUserAuthorization.TryRead(ok.AsSpan(0, i), out _, out int used, out _));
            Assert.Equal(0, used);
        }

        Assert.Equal(System.Buffers.OperationStatus.InvalidData, EarlyUserAuthorization.TryRead([1, 0, 0, 0], out _, out _, out var error));
        Assert.Equal(DecodeError.BadValue, error);
    }

    [Fact]
    public async Task After_credssp_over_the_same_connection_access_denied_is_reported()
    {
        var key = FakeCredSspServer.SomeKey();
        var fake = new FakeCredSspServer(6, "LAB", "probe", "Passw0rd!", key) { EarlyAuthorization = EarlyUserAuthorization.Encode(EarlyUserAuthorizationResult.AccessDenied) };
        await using var server = ScriptedServer.Start(fake.RunAsync);
        await using var stream = await server.ConnectAsync();
        var credssp = new PhaseRecord(Phase.Credssp);
        var result = await CredSspPhase.RunAsync(stream, key, new CredSspCredentials("LAB", "probe", "Passw0rd!"), credssp, CancellationToken.None);
        Assert.True(result.Authenticated);
        var early = new PhaseRecord(Phase.EarlyAuth);
        await EarlyAuthPhase.RunAsync(stream, early, CancellationToken.None);
        Assert.Equal(PhaseStatus.Ok, credssp.Status);
        Assert.Equal(Ending.AccessDenied, early.Ending);
    }
}
