using RdpProbe.Diagnosis;
using RdpProbe.Probe.Phases;
using RdpProbe.Protocol;
using RdpProbe.Tests.Protocol;

namespace RdpProbe.Tests.Probe.Phases;

public sealed class CredSspPhaseTests
{
    private static readonly byte[] NoKey = new byte[270];

    private static async Task<(CredSspResult Result, PhaseRecord Record)> RunAgainst(ScriptedServer server, CancellationToken ct = default)
    {
        await using var stream = await server.ConnectAsync();
        var record = new PhaseRecord(Phase.Credssp);
        var result = await CredSspPhase.RunAsync(stream, NoKey, null, record, ct);
        return (result, record);
    }

    /// <summary>A CHALLENGE whose MsvAvTimestamp is one hour behind now, so the skew is known.</summary>
    private static byte[] ChallengeAnHourBehind()
    {
        var pairs = new List<NtlmAvPair>
        {
            Ntlm.StringPair(NtlmAvId.NbDomainName, "LAB"),
            Ntlm.StringPair(NtlmAvId.NbComputerName, "SHADOW"),
            Ntlm.StringPair(NtlmAvId.DnsComputerName, "shadow.lab.test"),
            new(NtlmAvId.Timestamp, BitConverter.GetBytes(DateTimeOffset.UtcNow.AddHours(-1).ToFileTime())),
        };
        return NtlmChallenge.Encode((NtlmNegotiateFlags)0xE2898235, Convert.FromHexString("0123456789ABCDEF"), "LAB", pairs, new NtlmVersion(10, 0, 17763, 15));
    }

    [Fact]
    public async Task Decodes_the_challenge_and_stops_cleanly_without_credentials()
    {
        TsRequest? seen = null;
        await using var server = ScriptedServer.Start(async (s, ct) =>
        {
            seen = await ScriptedServer.ReadTsRequestAsync(s, ct);
            await s.WriteAsync(new TsRequest(6, [ChallengeAnHourBehind()]).Encode(), ct);
        });

        var (result, record) = await RunAgainst(server);
        await server.Completion;

        Assert.Equal(PhaseStatus.Ok, record.Status);
        Assert.Equal(6, seen!.Version);
        Assert.Equal(TsRequestTests.Negotiate, seen.FirstNegoToken);
        Assert.Equal(6, result.ServerVersion);
        Assert.Null(result.ErrorCode);
        Assert.False(result.Authenticated);
        var ntlm = result.Ntlm!;
        Assert.Equal("SHADOW", ntlm.NetbiosComputerName);
        Assert.Equal("LAB", ntlm.NetbiosDomainName);
        Assert.Equal("shadow.lab.test", ntlm.DnsComputerName);
        Assert.Equal("LAB", ntlm.TargetName);
        Assert.Equal("10.0.17763", ntlm.ProductVersion);
        Assert.Equal(17763, ntlm.ProductBuild);
        Assert.InRange(ntlm.ClockSkewSeconds!.Value, -3600 - 300, -3600 + 300);
        Assert.Equal([Direction.Sent, Direction.Received], record.Messages.Select(m => m.Direction));
        Assert.Equal(TsRequestTests.NegotiateRequest.Length, record.Messages[0].Length);
        Assert.Contains("CHALLENGE from SHADOW", record.Messages[1].Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Error_code_is_auth_failed_with_the_ntstatus_name()
    {
        await using var server = ScriptedServer.Start(async (s, ct) =>
        {
            await ScriptedServer.ReadTsRequestAsync(s, ct);
            await s.WriteAsync(new TsRequest(6, [], ErrorCode: 0xC000006D).Encode(), ct);
        });

        var (result, record) = await RunAgainst(server);

        Assert.Equal(Ending.AuthFailed, record.Ending);
        Assert.Equal(PhaseStatus.Failed, record.Status);
        Assert.Equal("status_logon_failure", record.Code?.Word);
        Assert.Equal(0xC000006Du, result.ErrorCode);
        Assert.Equal("status_logon_failure", result.ErrorName);
    }

    [Fact]
    public async Task Server_closing_is_closed()
    {
        await using var server = ScriptedServer.Start(async (s, ct) => await ScriptedServer.ReadTsRequestAsync(s, ct));
        var (_, record) = await RunAgainst(server);
        Assert.Equal(Ending.Closed, record.Ending);
        Assert.Contains("NEGOTIATE", record.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Server_reset_is_reset()
    {
        await using var server = ScriptedServer.Start(async (s, socket, ct) =>
        {
            await ScriptedServer.ReadTsRequestAsync(s, ct);
            ScriptedServer.Reset(socket);
        });
        var (_, record) = await RunAgainst(server);
        Assert.Equal(Ending.Reset, record.Ending);
    }

    [Fact]
    public async Task Silence_is_a_timeout_and_nothing_is_thrown()
    {
        await using var server = ScriptedServer.Start(async (s, ct) =>
        {
            await ScriptedServer.ReadTsRequestAsync(s, ct);
            await Task.Delay(Timeout.Infinite, ct);
        });
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var (_, record) = await RunAgainst(server, cts.Token);
        Assert.Equal(Ending.Timeout, record.Ending);
    }

    [Theory]
    [InlineData("485454502F312E3120343030", "not a DER TSRequest")]          // "HTTP/1.1 400"
    [InlineData("3083FFFFFF", "not a DER TSRequest")]                         // 16 MiB announced
    [InlineData("3005A003020100", "not a valid TSRequest")]                   // version 0
    [InlineData("3007A003020106A100", "not a valid TSRequest")]               // empty negoTokens field
    public async Task Garbage_and_oversized_lengths_are_protocol_violations(string hex, string detail)
    {
        await using var server = ScriptedServer.Start(async (s, ct) =>
        {
            await ScriptedServer.ReadTsRequestAsync(s, ct);
            await s.WriteAsync(Convert.FromHexString(hex), ct);
        });
        var (_, record) = await RunAgainst(server);
        Assert.Equal(Ending.ProtocolViolation, record.Ending);
        Assert.Contains(detail, record.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_that_is_not_a_challenge_is_a_protocol_violation()
    {
        await using var server = ScriptedServer.Start(async (s, ct) =>
        {
            await ScriptedServer.ReadTsRequestAsync(s, ct);
            await s.WriteAsync(new TsRequest(6, [[0xA1, 0x03, 0x30, 0x01, 0x00]]).Encode(), ct);
        });
        var (result, record) = await RunAgainst(server);
        Assert.Equal(Ending.ProtocolViolation, record.Ending);
        Assert.Contains("SPNEGO", record.Detail, StringComparison.Ordinal);
        Assert.Equal(6, result.ServerVersion);
    }
}
