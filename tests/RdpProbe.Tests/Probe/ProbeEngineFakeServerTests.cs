using System.Net.Sockets;
using System.Text;
using RdpProbe.Diagnosis;
using RdpProbe.Probe;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.Probe;

/// <summary>The failure modes real lab servers cannot show, against a scripted server on loopback.</summary>
public sealed class ProbeEngineFakeServerTests
{
    // Generous: on a loaded machine BouncyCastle's first ClientHello alone can take a second; only the tests that wait
    // for a timeout use Short. These scripts stop after the security handshake, so the session phases are off here;
    // ProbeEngineSessionTests and PasswordGuardTests drive the engine through them.
    private static readonly ProbeOptions Quick = new()
    {
        PhaseTimeout = TimeSpan.FromSeconds(10),
        SecurityMatrix = false,
        TlsVersions = false,
        ClientSimulation = false,
        SessionPhases = false,
    };

    private static readonly ProbeOptions Short = Quick with { PhaseTimeout = TimeSpan.FromSeconds(1) };

    private static async Task<ProbeReport> ProbeAsync(FakeRdpServer server, ProbeOptions? options = null)
    {
        var engine = new ProbeEngine(options ?? Quick);
        var reports = await engine.RunAsync(ProbeTarget.Parse(server.Target), CancellationToken.None);
        return Assert.Single(reports);
    }

    private static FakeRdpServer AnswerCr(byte[] answer, bool thenClose = true) => new(async (socket, ct) =>
    {
        await FakeRdpServer.ReadConnectionRequestAsync(socket, ct);
        await socket.SendAsync(answer, ct);
        if (!thenClose)
        {
            await Task.Delay(Timeout.Infinite, ct);
        }
    });

    private static PhaseRecord X224Of(ProbeReport report) => report.Phases.Single(p => p.Phase == Phase.X224);

    [Fact]
    public async Task Garbage_is_a_protocol_violation()
    {
        await using var server = AnswerCr([0xDE, 0xAD, 0xBE, 0xEF, 0x42]);
        var report = await ProbeAsync(server);
        Assert.Equal(Phase.X224, report.Verdict.Phase);
        Assert.Equal(Ending.ProtocolViolation, report.Verdict.Ending);
        Assert.Equal("garbage", report.Verdict.Code?.Word);
        Assert.Contains("de ad be ef", X224Of(report).Detail);
    }

    [Fact]
    public async Task Oversized_tpkt_length_is_rejected_without_reading_it()
    {
        await using var server = AnswerCr([0x03, 0x00, 0xFF, 0xFF, 0x02, 0xF0, 0x80], thenClose: false);
        var report = await ProbeAsync(server);
        Assert.Equal(Ending.ProtocolViolation, report.Verdict.Ending);
        Assert.Equal("tpkt_bad_length", report.Verdict.Code?.Word);
        Assert.Contains("65535", X224Of(report).Detail);
    }

    [Fact]
    public async Task Silence_is_a_timeout_at_x224()
    {
        await using var server = new FakeRdpServer(async (socket, ct) =>
        {
            await FakeRdpServer.ReadConnectionRequestAsync(socket, ct);
            await Task.Delay(Timeout.Infinite, ct);
        });
        var report = await ProbeAsync(server, Short);
        Assert.Equal(Phase.X224, report.Verdict.Phase);
        Assert.Equal(Ending.Timeout, report.Verdict.Ending);
        Assert.Contains("never answered", report.Verdict.Summary);
    }

    [Fact]
    public async Task Slow_drip_is_bounded_by_the_phase_timeout()
    {
        await using var server = new FakeRdpServer(async (socket, ct) =>
        {
            await FakeRdpServer.ReadConnectionRequestAsync(socket, ct);
            byte[] cc = FakeRdpServer.Confirm(SecurityProtocols.Ssl);
            foreach (byte b in cc)
            {
                await socket.SendAsync(new[] { b }, ct);
                await Task.Delay(400, ct);
            }
        });
        var report = await ProbeAsync(server, Short);
        Assert.Equal(Phase.X224, report.Verdict.Phase);
        Assert.Equal(Ending.Timeout, report.Verdict.Ending);
    }

    [Fact]
    public async Task Half_close_without_an_answer_is_closed()
    {
        await using var server = new FakeRdpServer(async (socket, ct) =>
        {
            await FakeRdpServer.ReadConnectionRequestAsync(socket, ct);
            socket.Shutdown(SocketShutdown.Send);
            await Task.Delay(2000, ct);
        });
        var report = await ProbeAsync(server);
        Assert.Equal(Ending.Closed, report.Verdict.Ending);
        Assert.Null(report.Verdict.Code);
        Assert.Contains("without answering", X224Of(report).Detail);
    }

    [Fact]
    public async Task Half_close_after_part_of_a_confirm_is_closed_truncated()
    {
        await using var server = new FakeRdpServer(async (socket, ct) =>
        {
            await FakeRdpServer.ReadConnectionRequestAsync(socket, ct);
            await socket.SendAsync(FakeRdpServer.Confirm(SecurityProtocols.Ssl).AsMemory(0, 7), ct);
            socket.Shutdown(SocketShutdown.Send);
            await Task.Delay(2000, ct);
        });
        var report = await ProbeAsync(server);
        Assert.Equal(Ending.Closed, report.Verdict.Ending);
        Assert.Equal("truncated", report.Verdict.Code?.Word);
    }

    [Fact]
    public async Task Http_banner_is_not_rdp()
    {
        await using var server = AnswerCr(Encoding.ASCII.GetBytes("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"));
        var report = await ProbeAsync(server);
        Assert.Equal(Ending.NotRdp, report.Verdict.Ending);
        Assert.Equal("http_response", report.Verdict.Code?.Word);
        Assert.Contains("HTTP/1.1 400 Bad Request", X224Of(report).Detail);
    }

    [Fact]
    public async Task Ssh_banner_sent_on_connect_is_not_rdp()
    {
        await using var server = new FakeRdpServer(async (socket, ct) =>
        {
            await socket.SendAsync(Encoding.ASCII.GetBytes("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"), ct);
            await Task.Delay(3000, ct);
        });
        var report = await ProbeAsync(server);
        Assert.Equal(Ending.NotRdp, report.Verdict.Ending);
        Assert.Equal("ssh_banner", report.Verdict.Code?.Word);
        Assert.Contains("SSH", report.Verdict.Summary);
    }

    [Fact]
    public async Task Tls_record_instead_of_a_confirm_is_not_rdp()
    {
        // A TLS server answering the CR bytes with an alert record: fatal (2) decode_error (50).
        await using var server = AnswerCr([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32]);
        var report = await ProbeAsync(server);
        Assert.Equal(Ending.NotRdp, report.Verdict.Ending);
        Assert.Equal("tls_alert", report.Verdict.Code?.Word);
        Assert.Contains("decode_error", X224Of(report).Detail);
    }

    [Fact]
    public async Task Xrdp_style_dpum_is_an_orderly_refusal()
    {
        await using var server = AnswerCr(ByteSniffer.XrdpDisconnectProviderUltimatum.ToArray());
        var report = await ProbeAsync(server);
        Assert.Equal(Phase.X224, report.Verdict.Phase);
        Assert.Equal(Ending.Closed, report.Verdict.Ending);
        Assert.Equal("mcs_disconnect_provider_ultimatum", report.Verdict.Code?.Word);
        Assert.Contains("Disconnect Provider Ultimatum", report.Negotiation.Answer);
    }

    [Fact]
    public async Task An_ultimatum_in_the_same_segment_as_the_confirm_is_still_the_unusable_key()
    {
        // Issue 11: xrdp with a key it cannot use selects TLS and fails at once, so its Disconnect Provider Ultimatum
        // can reach the probe in the same read as the Connection Confirm (then a FIN). The bytes after the Confirm
        // belong to the TLS phase; dropped, the verdict became "closed before the ServerHello" (lab: 1 run in ~10).
        await using var server = AnswerCr([.. FakeRdpServer.Confirm(SecurityProtocols.Ssl), .. ByteSniffer.XrdpDisconnectProviderUltimatum]);
        var report = await ProbeAsync(server);
        Assert.Equal((Phase.Tls, Ending.ProtocolViolation, "mcs_disconnect_provider_ultimatum"), (report.Verdict.Phase, report.Verdict.Ending, report.Verdict.Code?.Word));
        Assert.StartsWith("The server selected TLS in its Connection Confirm, then sent a cleartext MCS Disconnect Provider Ultimatum", report.Verdict.Summary);
        Assert.Equal(PhaseStatus.Ok, X224Of(report).Status);
    }

    [Fact]
    public async Task Reset_after_the_request_is_reset()
    {
        await using var server = new FakeRdpServer(async (socket, ct) =>
        {
            await FakeRdpServer.ReadConnectionRequestAsync(socket, ct);
            FakeRdpServer.Reset(socket);
        });
        var report = await ProbeAsync(server);
        Assert.Equal(Phase.X224, report.Verdict.Phase);
        Assert.Equal(Ending.Reset, report.Verdict.Ending);
    }

    [Fact]
    public async Task Failure_code_is_decoded_by_name()
    {
        await using var server = AnswerCr(FakeRdpServer.Failure(NegotiationFailureCode.SslCertNotOnServer));
        var report = await ProbeAsync(server);
        Assert.Equal(Ending.NegotiationFailure, report.Verdict.Ending);
        Assert.Equal("ssl_cert_not_on_server", report.Verdict.Code?.Word);
        Assert.Equal(NegotiationFailureCode.SslCertNotOnServer, report.Negotiation.FailureCode);
        Assert.Contains(report.Verdict.Remedies, r => r.Contains("MachineKeys", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Selecting_an_unrequested_protocol_is_a_violation()
    {
        await using var server = AnswerCr(FakeRdpServer.Confirm(SecurityProtocols.RdsAad));
        var report = await ProbeAsync(server);
        Assert.Equal(Ending.ProtocolViolation, report.Verdict.Ending);
        Assert.Equal(Codes.SelectedNotRequested, report.Verdict.Code);
    }

    [Fact]
    public async Task Legacy_confirm_means_standard_rdp_security_and_no_tls()
    {
        await using var server = AnswerCr(X224.EncodeConnectionConfirm(new X224ConnectionConfirm(0, null)));
        var report = await ProbeAsync(server);
        Assert.True(report.Verdict.Ok);
        Assert.True(report.Negotiation.Legacy);
        Assert.Equal(SecurityProtocols.Rdp, report.Negotiation.SelectedProtocol);
        Assert.True(report.Negotiation.Downgraded);
        Assert.DoesNotContain(report.Phases, p => p.Phase == Phase.Tls);
    }

    [Fact]
    public async Task Request_carries_cookie_and_requested_protocols()
    {
        X224ConnectionRequest? seen = null;
        await using var server = new FakeRdpServer(async (socket, ct) =>
        {
            byte[] cr = await FakeRdpServer.ReadConnectionRequestAsync(socket, ct);
            X224.TryReadConnectionRequest(cr, out var request, out _, out _);
            seen ??= request; // the main connection comes first; extra checks may follow
            await socket.SendAsync(FakeRdpServer.Confirm(SecurityProtocols.Rdp), ct);
        });
        await ProbeAsync(server, Quick with { Cookie = "alice", RequestedProtocols = SecurityProtocols.Ssl | SecurityProtocols.Hybrid, EncryptionLevels = false });
        Assert.NotNull(seen);
        Assert.Equal("alice", seen!.Cookie);
        Assert.Equal(SecurityProtocols.Ssl | SecurityProtocols.Hybrid, seen.RequestedProtocols);
    }

    [Fact]
    public async Task Close_after_client_hello_is_tls_closed_before_server_hello()
    {
        await using var server = new FakeRdpServer(async (socket, ct) =>
        {
            await FakeRdpServer.ReadConnectionRequestAsync(socket, ct);
            await socket.SendAsync(FakeRdpServer.Confirm(SecurityProtocols.Ssl), ct);
            await FakeRdpServer.ReadSomeAsync(socket, ct);
            socket.Shutdown(SocketShutdown.Both);
        });
        var report = await ProbeAsync(server);
        Assert.Equal(Phase.Tls, report.Verdict.Phase);
        Assert.Equal(Ending.Closed, report.Verdict.Ending);
        Assert.Equal(Codes.BeforeServerHello, report.Verdict.Code);
        Assert.Contains("no common TLS version", report.Verdict.Summary);
        var tls = report.Phases.Single(p => p.Phase == Phase.Tls);
        Assert.Contains(tls.Messages, m => m.Direction == Direction.Sent && m.Description == "ClientHello");
    }

    [Fact]
    public async Task Reset_after_client_hello_is_tls_reset()
    {
        await using var server = new FakeRdpServer(async (socket, ct) =>
        {
            await FakeRdpServer.ReadConnectionRequestAsync(socket, ct);
            await socket.SendAsync(FakeRdpServer.Confirm(SecurityProtocols.Ssl), ct);
            await FakeRdpServer.ReadSomeAsync(socket, ct);
            FakeRdpServer.Reset(socket);
        });
        var report = await ProbeAsync(server);
        Assert.Equal(Phase.Tls, report.Verdict.Phase);
        Assert.Equal(Ending.Reset, report.Verdict.Ending);
        Assert.Equal(Codes.BeforeServerHello, report.Verdict.Code);
    }

    [Fact]
    public async Task Tls_alert_from_the_server_is_named()
    {
        await using var server = new FakeRdpServer(async (socket, ct) =>
        {
            await FakeRdpServer.ReadConnectionRequestAsync(socket, ct);
            await socket.SendAsync(FakeRdpServer.Confirm(SecurityProtocols.Ssl), ct);
            await FakeRdpServer.ReadSomeAsync(socket, ct);
            await socket.SendAsync(new byte[] { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 70 }, ct); // fatal protocol_version
            await Task.Delay(2000, ct);
        });
        var report = await ProbeAsync(server);
        Assert.Equal(Ending.TlsAlert, report.Verdict.Ending);
        Assert.Equal("protocol_version", report.Verdict.Code?.Word);
        Assert.Contains(report.Tls!.Alerts, a => a is { From: "server", Description: "protocol_version", Level: "fatal" });
    }

    [Fact]
    public async Task Non_tls_answer_to_the_client_hello_is_a_protocol_violation()
    {
        await using var server = new FakeRdpServer(async (socket, ct) =>
        {
            await FakeRdpServer.ReadConnectionRequestAsync(socket, ct);
            await socket.SendAsync(FakeRdpServer.Confirm(SecurityProtocols.Ssl), ct);
            await FakeRdpServer.ReadSomeAsync(socket, ct);
            await socket.SendAsync(Encoding.ASCII.GetBytes("HTTP/1.0 400 Bad Request\r\n\r\n"), ct);
            await Task.Delay(2000, ct);
        });
        var report = await ProbeAsync(server);
        Assert.Equal(Phase.Tls, report.Verdict.Phase);
        Assert.Equal(Ending.ProtocolViolation, report.Verdict.Ending);
        Assert.Equal("http_response", report.Verdict.Code?.Word);
    }

    [Fact]
    public async Task Silence_after_client_hello_is_tls_timeout()
    {
        await using var server = new FakeRdpServer(async (socket, ct) =>
        {
            await FakeRdpServer.ReadConnectionRequestAsync(socket, ct);
            await socket.SendAsync(FakeRdpServer.Confirm(SecurityProtocols.Hybrid), ct);
            await Task.Delay(Timeout.Infinite, ct);
        });
        var report = await ProbeAsync(server, Quick with { PhaseTimeout = TimeSpan.FromSeconds(3) });
        Assert.Equal(Phase.Tls, report.Verdict.Phase);
        Assert.Equal(Ending.Timeout, report.Verdict.Ending);
        Assert.Equal(Codes.BeforeServerHello, report.Verdict.Code);
        Assert.Contains("MTU", report.Verdict.Summary);
    }

    [Fact]
    public async Task Matrix_tells_supported_refused_downgraded_and_nla_required()
    {
        // An NLA-only server: HYBRID (and HYBRID_EX) selected, everything else refused with code 5.
        await using var server = new FakeRdpServer(async (socket, ct) =>
        {
            byte[] cr = await FakeRdpServer.ReadConnectionRequestAsync(socket, ct);
            X224.TryReadConnectionRequest(cr, out var request, out _, out _);
            var asked = request!.RequestedProtocols ?? SecurityProtocols.Rdp;
            byte[] answer = asked switch
            {
                SecurityProtocols.Hybrid or SecurityProtocols.HybridEx => FakeRdpServer.Confirm(asked),
                SecurityProtocols.RdsTls => FakeRdpServer.Confirm(SecurityProtocols.Hybrid),
                SecurityProtocols.RdsAad => ByteSniffer.XrdpDisconnectProviderUltimatum.ToArray(),
                SecurityProtocols.Rdp or SecurityProtocols.Ssl => FakeRdpServer.Failure(NegotiationFailureCode.HybridRequiredByServer),
                _ => FakeRdpServer.Confirm(SecurityProtocols.Hybrid),
            };
            await socket.SendAsync(answer, ct);
            await Task.Delay(500, ct);
        });
        var report = await ProbeAsync(server, Quick with { SecurityMatrix = true, RequestedProtocols = SecurityProtocols.Rdp });
        var matrix = report.Negotiation.Matrix!;
        Assert.Equal(SupportStatus.Refused, matrix.Single(e => e.Protocol == SecurityProtocols.Rdp).Status);
        Assert.Equal(NegotiationFailureCode.HybridRequiredByServer, matrix.Single(e => e.Protocol == SecurityProtocols.Ssl).FailureCode);
        Assert.Equal(SupportStatus.Supported, matrix.Single(e => e.Protocol == SecurityProtocols.Hybrid).Status);
        Assert.Equal(SupportStatus.Supported, matrix.Single(e => e.Protocol == SecurityProtocols.HybridEx).Status);
        var rdstls = matrix.Single(e => e.Protocol == SecurityProtocols.RdsTls);
        Assert.Equal(SupportStatus.Downgraded, rdstls.Status);
        Assert.Equal(SecurityProtocols.Hybrid, rdstls.Selected);
        Assert.Equal(SupportStatus.Refused, matrix.Single(e => e.Protocol == SecurityProtocols.RdsAad).Status);
        Assert.True(report.Negotiation.NlaRequired);
        Assert.Contains(report.Phases, p => p.Phase == Phase.SecurityMatrix && p.Status == PhaseStatus.Ok);
    }

    [Fact]
    public void Nla_is_not_required_when_rdp_is_merely_downgraded()
    {
        MatrixEntry E(SecurityProtocols p, SupportStatus s, NegotiationFailureCode? code = null)
            => new(p, s, null, code, Ending.Ok, null, "", 0);
        Assert.False(SecurityMatrixCheck.NlaRequired([
            E(SecurityProtocols.Rdp, SupportStatus.Supported), E(SecurityProtocols.Ssl, SupportStatus.Supported),
            E(SecurityProtocols.Hybrid, SupportStatus.Downgraded)]));
        Assert.True(SecurityMatrixCheck.NlaRequired([
            E(SecurityProtocols.Rdp, SupportStatus.Refused, NegotiationFailureCode.SslRequiredByServer),
            E(SecurityProtocols.Ssl, SupportStatus.Refused, NegotiationFailureCode.HybridRequiredByServer),
            E(SecurityProtocols.HybridEx, SupportStatus.Supported)]));
        Assert.Null(SecurityMatrixCheck.NlaRequired([E(SecurityProtocols.Rdp, SupportStatus.Error), E(SecurityProtocols.Ssl, SupportStatus.Supported)]));
    }

    [Fact]
    public async Task Closed_port_is_refused_at_tcp()
    {
        int port;
        using (var probe = new TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        }

        var reports = await new ProbeEngine(Quick).RunAsync(ProbeTarget.Parse($"127.0.0.1:{port}"), CancellationToken.None);
        var report = Assert.Single(reports);
        Assert.Equal(Phase.Tcp, report.Verdict.Phase);
        Assert.Equal(Ending.Refused, report.Verdict.Ending);
        Assert.Single(report.Phases);
    }

    [Fact]
    public async Task Cancellation_by_the_user_propagates_instead_of_becoming_a_timeout()
    {
        await using var server = new FakeRdpServer(async (socket, ct) =>
        {
            await FakeRdpServer.ReadConnectionRequestAsync(socket, ct);
            await Task.Delay(Timeout.Infinite, ct);
        });
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var engine = new ProbeEngine(Quick with { PhaseTimeout = TimeSpan.FromSeconds(30) });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => engine.RunAsync(ProbeTarget.Parse(server.Target), cts.Token));
    }

    [Fact]
    public async Task Localhost_name_goes_through_dns_and_reports_the_address()
    {
        await using var server = AnswerCr(FakeRdpServer.Confirm(SecurityProtocols.Rdp));
        var reports = await new ProbeEngine(Quick).RunAsync(ProbeTarget.Parse($"localhost:{server.Port}"), CancellationToken.None);
        var report = reports[0];
        Assert.Equal(Phase.Dns, report.Phases[0].Phase);
        Assert.Equal(PhaseStatus.Ok, report.Phases[0].Status);
        Assert.NotNull(report.Address);
        Assert.Contains(report.Address!, report.ResolvedAddresses);
    }
}
