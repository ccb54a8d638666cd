using RdpProbe.Diagnosis;
using RdpProbe.Probe.Phases;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.Probe.Phases;

public sealed class CredSspAuthenticateTests
{
    private static readonly CredSspCredentials Right = new("LAB", "probe", "Passw0rd!");

    private static async Task<(CredSspResult Result, PhaseRecord Record, FakeCredSspServer Server)> Run(FakeCredSspServer fake, byte[] key, CredSspCredentials credentials, bool awaitServer = true)
    {
        await using var server = ScriptedServer.Start(fake.RunAsync);
        await using var stream = await server.ConnectAsync();
        var record = new PhaseRecord(Phase.Credssp);
        var result = await CredSspPhase.RunAsync(stream, key, credentials, record, CancellationToken.None);
        if (awaitServer)
        {
            await server.Completion;
        }

        return (result, record, fake);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public async Task Every_version_binds_the_key_its_way_and_delegates_the_password(int version)
    {
        var key = FakeCredSspServer.SomeKey();
        key[0] = 0xFF; // the +1 of versions 2-4 must carry into the next byte
        var (result, record, fake) = await Run(new FakeCredSspServer(version, "LAB", "probe", "Passw0rd!", key), key, Right);

        Assert.True(record.Status == PhaseStatus.Ok, record.Detail);
        Assert.Equal(version, result.ServerVersion);
        Assert.True(fake.ClientProofVerified);
        Assert.True(result.ServerPubKeyAuthVerified);
        Assert.True(result.Authenticated);
        Assert.Equal((TsCredentialType.Password, "LAB", "probe", "Passw0rd!"), fake.Delegated);

        // MS-CSSP 2.2.1: clientNonce only from version 5.
        Assert.Equal(version >= 5, fake.AuthenticateRequest!.ClientNonce is not null);
        Assert.Equal(3, record.Messages.Count(m => m.Direction == Direction.Sent));
    }

    [Fact]
    public async Task Error_code_after_authenticate_is_auth_failed_by_name()
    {
        var key = FakeCredSspServer.SomeKey();
        var (result, record, _) = await Run(new FakeCredSspServer(6, "LAB", "probe", "Passw0rd!", key) { Mode = FakeCredSspServer.AfterAuthenticate.ErrorCode, ErrorCode = 0xC000006D }, key, Right);
        Assert.Equal(Ending.AuthFailed, record.Ending);
        Assert.Equal("status_logon_failure", record.Code?.Word);
        Assert.Equal("status_logon_failure", result.ErrorName);
        Assert.False(result.Authenticated);
        Assert.Contains("LAB\\probe", record.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0xC0000072u, "status_account_disabled")]
    [InlineData(0xC0000234u, "status_account_locked_out")]
    [InlineData(0xC0000224u, "status_password_must_change")]
    [InlineData(0xC000015Bu, "status_logon_type_not_granted")]
    public async Task Other_refusals_keep_their_names(uint code, string name)
    {
        var key = FakeCredSspServer.SomeKey();
        var (_, record, _) = await Run(new FakeCredSspServer(6, "LAB", "probe", "Passw0rd!", key) { Mode = FakeCredSspServer.AfterAuthenticate.ErrorCode, ErrorCode = code }, key, Right);
        Assert.Equal(Ending.AuthFailed, record.Ending);
        Assert.Equal(name, record.Code?.Word);
    }

    [Fact]
    public async Task Close_right_after_authenticate_is_inferred_as_auth_failed()
    {
        var key = FakeCredSspServer.SomeKey();
        var (_, record, _) = await Run(new FakeCredSspServer(6, "LAB", "probe", "Passw0rd!", key), key, Right with { Password = "wrong" });
        Assert.Equal(Ending.AuthFailed, record.Ending);
        Assert.Null(record.Code);
        Assert.Contains("wrong password", record.Detail, StringComparison.Ordinal);
        Assert.Contains("no error code", record.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_proof_for_another_key_is_a_protocol_violation()
    {
        var key = FakeCredSspServer.SomeKey();
        var (result, record, _) = await Run(new FakeCredSspServer(6, "LAB", "probe", "Passw0rd!", key) { Mode = FakeCredSspServer.AfterAuthenticate.WrongKeyProof }, key, Right);
        Assert.Equal(Ending.ProtocolViolation, record.Ending);
        Assert.Contains("different TLS public key", record.Detail, StringComparison.Ordinal);
        Assert.False(result.Authenticated);
    }

    [Fact]
    public async Task A_proof_with_a_broken_signature_is_a_protocol_violation()
    {
        var key = FakeCredSspServer.SomeKey();
        var (_, record, _) = await Run(new FakeCredSspServer(3, "LAB", "probe", "Passw0rd!", key) { Mode = FakeCredSspServer.AfterAuthenticate.BadSignature }, key, Right);
        Assert.Equal(Ending.ProtocolViolation, record.Ending);
        Assert.Contains("does not verify", record.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_password_appears_nowhere_in_the_record()
    {
        var key = FakeCredSspServer.SomeKey();
        var (_, record, _) = await Run(new FakeCredSspServer(6, "LAB", "probe", "Passw0rd!", key), key, Right);
        Assert.DoesNotContain("Passw0rd!", record.Detail ?? "", StringComparison.Ordinal);
        Assert.All(record.Messages, m => Assert.DoesNotContain("Passw0rd!", m.Description, StringComparison.Ordinal));
        Assert.DoesNotContain("Passw0rd!", Right.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void User_spec_parsing()
    {
        Assert.Equal(new CredSspCredentials("LAB", "probe", "x"), CredSspCredentials.FromUserSpec("LAB\\probe", "x"));
        Assert.Equal(new CredSspCredentials("", "probe@lab.test", "x"), CredSspCredentials.FromUserSpec("probe@lab.test", "x"));
    }
}
