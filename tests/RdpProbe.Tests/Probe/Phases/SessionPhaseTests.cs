using RdpProbe.Diagnosis;
using RdpProbe.Probe;
using RdpProbe.Probe.Phases;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.Probe.Phases;

public sealed class SessionPhaseTests
{
    private sealed record Outcome(List<PhaseRecord> Records, McsResult? Mcs, ChannelsResult? Channels, LicensingResult? Licensing, CapabilitiesResult? Capabilities)
    {
        public PhaseRecord Last => Records[^1];
    }

    private static async Task<Outcome> Drive(FakeRdpServer fake, CredSspCredentials? credentials = null, bool awaitServer = true)
    {
        await using var server = ScriptedServer.Start(fake.RunAsync);
        await using var stream = await server.ConnectAsync();
        var selected = fake.StandardSecurity ? SecurityProtocols.Rdp : SecurityProtocols.Ssl;
        var session = new RdpSession(stream, selected, selected);
        var records = new List<PhaseRecord>();

        // The engine's own session sequence and phase runner, over the scripted server's plain stream.
        var runner = new PhaseRunner(TimeSpan.FromSeconds(30), CancellationToken.None);
        var outcome = await ConnectionSequence.RunSessionAsync(session, new SessionOptions(credentials, NlaUsed: false), runner, records, wire: null);
        var (mcs, channels, licensing, capabilities) = (outcome.Mcs, outcome.Channels, outcome.Licensing, outcome.Capabilities);

        if (awaitServer)
        {
            await server.Completion;
        }

        return new Outcome(records, mcs, channels, licensing, capabilities);
    }

    [Fact]
    public async Task Tls_session_reaches_demand_active_and_hangs_up_politely()
    {
        var fake = new FakeRdpServer();
        var outcome = await Drive(fake);
        Assert.All(outcome.Records, r => Assert.True(r.Status == PhaseStatus.Ok, $"{r.Phase}: {r.Detail}"));
        Assert.Equal([Phase.Mcs, Phase.Channels, Phase.ClientInfo, Phase.Licensing, Phase.Capabilities], outcome.Records.Select(r => r.Phase));
        Assert.Equal("RDP 10.7", outcome.Mcs!.ServerVersion);
        Assert.Equal((ushort?)1007, outcome.Channels!.UserChannelId);
        Assert.Equal(4, fake.JoinsSeen);
        Assert.Equal(LicensingOutcome.ValidClient, outcome.Licensing!.Outcome);
        Assert.Equal(1920, outcome.Capabilities!.Summary!.DesktopWidth);
        Assert.True(fake.SawDisconnect);
    }

    [Fact]
    public async Task Standard_security_encrypts_client_info_with_the_password_and_decrypts_demand_active()
    {
        var fake = new FakeRdpServer { StandardSecurity = true };
        var outcome = await Drive(fake, new CredSspCredentials("LAB", "probe", "Passw0rd!"));
        Assert.All(outcome.Records, r => Assert.True(r.Status == PhaseStatus.Ok, $"{r.Phase}: {r.Detail}"));
        Assert.Contains(outcome.Records, r => r.Phase == Phase.SecurityExchange);
        Assert.Equal(("LAB", "probe", 18), (fake.ClientInfoSeen!.Value.Domain, fake.ClientInfoSeen.Value.User, fake.ClientInfoSeen.Value.PasswordBytes));
        Assert.True(fake.ClientInfoSeen.Value.Flags.HasFlag(ClientInfoFlags.Autologon));
        Assert.NotNull(outcome.Mcs!.Certificate);
        Assert.True(outcome.Capabilities!.ReachedDemandActive);
        Assert.All(outcome.Records.SelectMany(r => r.Messages), m => Assert.DoesNotContain("Passw0rd!", m.Description, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Set_error_info_0x7_right_after_the_channels_is_named_with_the_message_it_answered()
    {
        var outcome = await Drive(new FakeRdpServer { AfterChannels = FakeRdpServer.Ending.SetErrorInfoThenDisconnect });
        var licensing = outcome.Last;
        Assert.Equal(Phase.Licensing, licensing.Phase);
        Assert.Equal(Ending.ServerErrorInfo, licensing.Ending);
        Assert.Equal("errinfo_server_denied_connection", licensing.Code?.Word);
        Assert.Contains("Client Info PDU", licensing.Detail, StringComparison.Ordinal);
        Assert.Contains("refused the connection", licensing.Detail, StringComparison.Ordinal);
        Assert.Contains(licensing.Messages, m => m.Description.Contains("Set Error Info errinfo_server_denied_connection (0x00000007)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task License_error_alert_is_named()
    {
        var outcome = await Drive(new FakeRdpServer { AfterChannels = FakeRdpServer.Ending.LicenseErrorThenDisconnect });
        Assert.Equal(Ending.ServerErrorInfo, outcome.Last.Ending);
        Assert.Equal("err_no_license_server", outcome.Last.Code?.Word);
        Assert.Contains("st_total_abort", outcome.Last.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Garbage_after_client_info_is_a_protocol_violation()
    {
        var outcome = await Drive(new FakeRdpServer { AfterChannels = FakeRdpServer.Ending.Garbage });
        Assert.Equal(Phase.Licensing, outcome.Last.Phase);
        Assert.Equal(Ending.ProtocolViolation, outcome.Last.Ending);
    }

    [Fact]
    public async Task A_licensed_host_answering_with_a_platform_challenge_stops_the_probe_with_what_it_wants()
    {
        var fake = new FakeRdpServer { AfterChannels = FakeRdpServer.Ending.LicenseRequestThenPlatformChallenge };
        var outcome = await Drive(fake);
        Assert.True(fake.NewLicenseRequestSeen);
        Assert.Equal(Phase.Licensing, outcome.Last.Phase);
        Assert.Equal(PhaseStatus.Ok, outcome.Last.Status);
        Assert.Equal(LicensingOutcome.LicenseRequested, outcome.Licensing!.Outcome);
        Assert.False(outcome.Licensing.CanContinue);
        Assert.Equal("A02", outcome.Licensing.Request!.ProductId);
        Assert.Contains("Platform Challenge", outcome.Last.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_that_skips_licensing_still_reaches_demand_active()
    {
        var outcome = await Drive(new FakeRdpServer { AfterChannels = FakeRdpServer.Ending.DemandActiveWithoutLicensing });
        Assert.Equal(LicensingOutcome.Skipped, outcome.Licensing!.Outcome);
        Assert.True(outcome.Capabilities!.ReachedDemandActive);
    }

    [Fact]
    public async Task Server_redirection_is_reported()
    {
        var outcome = await Drive(new FakeRdpServer { AfterChannels = FakeRdpServer.Ending.Redirection });
        Assert.Equal(Ending.ServerErrorInfo, outcome.Last.Ending);
        Assert.Equal("server_redirection", outcome.Last.Code?.Word);
    }

    [Fact]
    public async Task Fast_path_frames_with_two_byte_lengths_are_read_whole()
    {
        byte[] fastPath = [0x00, 0x81, 0x05, .. new byte[0x105 - 3]];
        byte[] tpkt = Mcs.WrapInDataTpdu(Mcs.DisconnectProviderUltimatum(McsDisconnectReason.UserRequested));
        byte[] both = [.. fastPath, .. tpkt];
        await using var server = ScriptedServer.Start(async (s, ct) => await s.WriteAsync(both, ct));
        await using var stream = await server.ConnectAsync();
        var io = new PhaseIo(stream, new PhaseRecord(Phase.Capabilities), CancellationToken.None);
        var first = await io.ReadRdpFrameAsync("test");
        Assert.True(first.FastPath);
        Assert.Equal(0x105, first.Frame.Length);
        var second = await io.ReadRdpFrameAsync("test");
        Assert.False(second.FastPath);
        Assert.Equal(tpkt, second.Frame);
    }

    private static async Task<PhaseRecord> McsAgainst(byte[] answer)
    {
        await using var server = ScriptedServer.Start(async (s, ct) =>
        {
            await ScriptedServer.ReadTpktAsync(s, ct);
            await s.WriteAsync(answer, ct);
        });
        await using var stream = await server.ConnectAsync();
        var record = new PhaseRecord(Phase.Mcs);
        await McsPhase.RunAsync(new RdpSession(stream, SecurityProtocols.Ssl, SecurityProtocols.Ssl), new McsOptions(), record, CancellationToken.None);
        return record;
    }

    [Fact]
    public async Task Disconnect_instead_of_connect_response_is_closed_with_the_reason()
    {
        var record = await McsAgainst(Convert.FromHexString("0300000902F0802180"));
        Assert.Equal(Ending.Closed, record.Ending);
        Assert.Equal("rn-user-requested", record.Code?.Word);
    }

    [Fact]
    public async Task Refused_connect_response_is_a_negotiation_failure()
    {
        var record = await McsAgainst(Mcs.WrapInDataTpdu(Mcs.EncodeConnectResponse(8, [])));
        Assert.Equal(Ending.NegotiationFailure, record.Ending);
        Assert.Equal("rt-parameters-unacceptable", record.Code?.Word);
    }

    [Theory]
    [InlineData("0300000F02F0807F668400FFFFFF00")]  // BER length of 16 MiB inside a 15-byte frame
    [InlineData("0300000902F080FFFF")]              // not MCS at all
    [InlineData("485454502F312E31")]               // HTTP
    [InlineData("0300000302F080")]                  // TPKT length below the minimum
    public async Task Garbage_and_oversized_lengths_after_connect_initial_are_protocol_violations(string hex)
    {
        var record = await McsAgainst(Convert.FromHexString(hex));
        Assert.Equal(Ending.ProtocolViolation, record.Ending);
    }

    [Fact]
    public async Task Close_after_connect_initial_says_the_settings_were_rejected()
    {
        await using var server = ScriptedServer.Start(async (s, ct) => await ScriptedServer.ReadTpktAsync(s, ct));
        await using var stream = await server.ConnectAsync();
        var record = new PhaseRecord(Phase.Mcs);
        await McsPhase.RunAsync(new RdpSession(stream, SecurityProtocols.Ssl, SecurityProtocols.Ssl), new McsOptions(), record, CancellationToken.None);
        Assert.Equal(Ending.Closed, record.Ending);
        Assert.Contains("rejected the client settings", record.Detail, StringComparison.Ordinal);
    }
}
