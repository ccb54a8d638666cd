using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using RdpProbe.Diagnosis;
using RdpProbe.Probe;
using RdpProbe.Protocol;
using RdpProbe.Reports;
using RdpProbe.Tests.Probe;
using SessionServer = RdpProbe.Tests.Probe.Phases.FakeRdpServer;

namespace RdpProbe.Tests.JsonReports;

/// <summary>
/// The probe document the real engine writes, against scripted servers on loopback, validated against
/// docs/schemas/probe.schema.json: one case per way a connection ends, so the schema's enums and null-or-object
/// branches meet real output, and cases that break the document to show the schema catches it.
/// </summary>
public sealed class ProbeSchemaTests
{
    private const string Password = "Schema-Test-Pa55!";

    private static readonly ProbeOptions Quick = new()
    {
        PhaseTimeout = TimeSpan.FromSeconds(10),
        SecurityMatrix = false,
        TlsVersions = false,
        ClientSimulation = false,
        EncryptionLevels = false,
        SessionPhases = false,
    };

    private static async Task<string> ProbeJsonAsync(FakeRdpServer server, ProbeOptions options, bool withCredentials = false)
    {
        var engine = new ProbeEngine(options);
        if (withCredentials)
        {
            engine = engine.WithCredentials("LAB\\probe", Password);
        }

        var report = Assert.Single(await engine.RunAsync(ProbeTarget.Parse(server.Target), CancellationToken.None));
        return ProbeJson.Serialize(report);
    }

    private static FakeRdpServer AnswerCr(byte[] answer) => new(async (socket, ct) =>
    {
        await FakeRdpServer.ReadConnectionRequestAsync(socket, ct);
        await socket.SendAsync(answer, ct);
        await Task.Delay(500, ct);
    });

    /// <summary>X.224 answered with PROTOCOL_RDP, then the scripted session phases (MCS to Demand Active) on the same socket.</summary>
    private static FakeRdpServer StandardSecurityServer(SessionServer session) => new(async (socket, ct) =>
    {
        await FakeRdpServer.ReadConnectionRequestAsync(socket, ct);
        await socket.SendAsync(X224.EncodeConnectionConfirm(new X224ConnectionConfirm(0x1234, new NegotiationMessage(NegotiationType.Response, 0, 0))), ct);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        try
        {
            await session.RunAsync(stream, ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The probe may hang up before the script's next read (refusals); the document is what is tested.
        }
    });

    private static void AssertValid(string json) => ReportSchemas.AssertValid(ReportSchemas.Probe, json);

    [Fact]
    public async Task Garbage_answer_protocol_violation_matches_the_schema()
    {
        await using var server = AnswerCr([0xDE, 0xAD, 0xBE, 0xEF, 0x42]);
        string json = await ProbeJsonAsync(server, Quick);
        AssertValid(json);
        Assert.Equal("protocol_violation", JsonNode.Parse(json)!["verdict"]!["ending"]!.GetValue<string>());
    }

    [Fact]
    public async Task Negotiation_failure_matches_the_schema()
    {
        await using var server = AnswerCr(FakeRdpServer.Failure(NegotiationFailureCode.HybridRequiredByServer));
        string json = await ProbeJsonAsync(server, Quick);
        AssertValid(json);
        Assert.Equal("hybrid_required_by_server", JsonNode.Parse(json)!["negotiation"]!["failureCode"]!.GetValue<string>());
    }

    [Fact]
    public async Task Tls_alert_matches_the_schema()
    {
        await using var server = new FakeRdpServer(async (socket, ct) =>
        {
            await FakeRdpServer.ReadConnectionRequestAsync(socket, ct);
            await socket.SendAsync(FakeRdpServer.Confirm(SecurityProtocols.Ssl), ct);
            await FakeRdpServer.ReadSomeAsync(socket, ct);
            await socket.SendAsync(new byte[] { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 40 }, ct); // fatal handshake_failure
            await Task.Delay(2000, ct);
        });
        string json = await ProbeJsonAsync(server, Quick);
        AssertValid(json);
        var tls = JsonNode.Parse(json)!["tls"]!;
        Assert.Equal("handshake_failure", tls["alerts"]![0]!["description"]!.GetValue<string>());
    }

    [Fact]
    public async Task Security_matrix_of_an_nla_only_server_matches_the_schema()
    {
        await using var server = new FakeRdpServer(async (socket, ct) =>
        {
            byte[] cr = await FakeRdpServer.ReadConnectionRequestAsync(socket, ct);
            X224.TryReadConnectionRequest(cr, out var request, out _, out _);
            var asked = request!.RequestedProtocols ?? SecurityProtocols.Rdp;
            byte[] answer = asked switch
            {
                SecurityProtocols.Hybrid or SecurityProtocols.HybridEx => FakeRdpServer.Confirm(asked),
                SecurityProtocols.RdsTls => FakeRdpServer.Confirm(SecurityProtocols.Hybrid),
                SecurityProtocols.Rdp or SecurityProtocols.Ssl => FakeRdpServer.Failure(NegotiationFailureCode.HybridRequiredByServer),
                _ => ByteSniffer.XrdpDisconnectProviderUltimatum.ToArray(),
            };
            await socket.SendAsync(answer, ct);
            await Task.Delay(500, ct);
        });
        string json = await ProbeJsonAsync(server, Quick with { SecurityMatrix = true, RequestedProtocols = SecurityProtocols.Rdp });
        AssertValid(json);
        var negotiation = JsonNode.Parse(json)!["negotiation"]!;
        Assert.Equal("downgraded", negotiation["support"]!["rdstls"]!.GetValue<string>());
        Assert.Equal("refused", negotiation["supportDetail"]!["ssl"]!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Refused_port_matches_the_schema()
    {
        // A port that was just listening and is closed now: the kernel answers the SYN with a RST.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var report = Assert.Single(await new ProbeEngine(Quick).RunAsync(ProbeTarget.Parse($"127.0.0.1:{port}"), CancellationToken.None));
        string json = ProbeJson.Serialize(report);
        AssertValid(json);
        var root = JsonNode.Parse(json)!;
        Assert.Equal("refused", root["verdict"]!["ending"]!.GetValue<string>());
        Assert.Null(root["tls"]);
    }

    [Fact]
    public async Task Whole_standard_security_session_with_credentials_matches_the_schema()
    {
        var session = new SessionServer { StandardSecurity = true };
        await using var server = StandardSecurityServer(session);
        string json = await ProbeJsonAsync(server, Quick with { SessionPhases = true, RequestedProtocols = SecurityProtocols.Rdp }, withCredentials: true);
        AssertValid(json);
        var root = JsonNode.Parse(json)!;
        Assert.True(root["verdict"]!["ok"]!.GetValue<bool>(), json);
        Assert.NotNull(root["session"]);
        Assert.Contains(root["phases"]!.AsArray(), p => p!["name"]!.GetValue<string>() == "capabilities");
    }

    [Fact]
    public async Task Server_error_info_matches_the_schema()
    {
        var session = new SessionServer { StandardSecurity = true, AfterChannels = SessionServer.Ending.SetErrorInfoThenDisconnect };
        await using var server = StandardSecurityServer(session);
        string json = await ProbeJsonAsync(server, Quick with { SessionPhases = true, RequestedProtocols = SecurityProtocols.Rdp });
        AssertValid(json);
        Assert.False(JsonNode.Parse(json)!["verdict"]!["ok"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Downgrade_with_critical_findings_matches_the_schema()
    {
        var session = new SessionServer { StandardSecurity = true, NoEncryption = true };
        await using var server = StandardSecurityServer(session);
        string json = await ProbeJsonAsync(server, Quick with { SessionPhases = true }, withCredentials: true);
        AssertValid(json);
        var root = JsonNode.Parse(json)!;
        Assert.Equal("client_refused", root["verdict"]!["ending"]!.GetValue<string>());
        Assert.Contains(root["findings"]!.AsArray(), f => f!["code"]!.GetValue<string>() == "security_downgrade" && f["severity"]!.GetValue<string>() == "critical");
        Assert.DoesNotContain(Password, json);
    }

    [Fact]
    public async Task Client_fallback_with_attempts_and_compatibility_matches_the_schema()
    {
        // A Standard-RDP-Security-only server: SSL_NOT_ALLOWED_BY_SERVER to an Enhanced request, PROTOCOL_RDP to the
        // client's retry (MS-RDPBCGR 5.4.2.1), then the session phases on that connection.
        var session = new SessionServer { StandardSecurity = true };
        await using var server = new FakeRdpServer(async (socket, ct) =>
        {
            byte[] cr = await FakeRdpServer.ReadConnectionRequestAsync(socket, ct);
            X224.TryReadConnectionRequest(cr, out var request, out _, out _);
            if ((request!.RequestedProtocols ?? SecurityProtocols.Rdp) != SecurityProtocols.Rdp)
            {
                await socket.SendAsync(FakeRdpServer.Failure(NegotiationFailureCode.SslNotAllowedByServer), ct);
                await Task.Delay(300, ct);
                return;
            }

            await socket.SendAsync(X224.EncodeConnectionConfirm(new X224ConnectionConfirm(0x1234, new NegotiationMessage(NegotiationType.Response, 0, 0))), ct);
            await using var stream = new NetworkStream(socket, ownsSocket: false);
            try
            {
                await session.RunAsync(stream, ct);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The probe may hang up first; the document is what is tested.
            }
        });
        string json = await ProbeJsonAsync(server, Quick with { SessionPhases = true }, withCredentials: true);
        AssertValid(json);
        var root = JsonNode.Parse(json)!;
        var attempts = root["attempts"]!.AsArray();
        Assert.True(attempts.Count >= 2, json);
        Assert.Equal("ssl_not_allowed_by_server", attempts[0]!["failureCode"]!.GetValue<string>());
        Assert.NotNull(attempts[0]!["fallbackReason"]);
        Assert.Equal(["rdp"], attempts[^1]!["requestedProtocols"]!.AsArray().Select(p => p!.GetValue<string>()));
        Assert.NotEmpty(attempts[^1]!["phases"]!.AsArray());
        var verdict = root["clientVerdict"]!;
        Assert.Equal("windows11", verdict["profile"]!.GetValue<string>());
        Assert.Equal("Windows 11", verdict["displayName"]!.GetValue<string>());
        Assert.Equal(ClientProfiles.All.Count, root["compatibility"]!.AsArray().Count);
        Assert.Contains(root["compatibility"]!.AsArray(), v => v!["profile"]!.GetValue<string>() == "permissive");
        Assert.All(root["findings"]!.AsArray(), f => Assert.NotNull(f!["affects"]));
        Assert.Empty(root["addressAttempts"]!.AsArray());
    }

    [Fact]
    public async Task The_client_view_keys_are_checked()
    {
        var root = (JsonObject)await RealDocumentAsync();
        root["clientVerdict"]!["result"] = "connects_sometimes";
        Assert.NotEmpty(ReportSchemas.Errors(ReportSchemas.Probe, root.ToJsonString()));
        root = (JsonObject)await RealDocumentAsync();
        root["compatibility"]![0]!["profile"] = "windows95";
        Assert.NotEmpty(ReportSchemas.Errors(ReportSchemas.Probe, root.ToJsonString()));
        root = (JsonObject)await RealDocumentAsync();
        ((JsonObject)root["attempts"]![0]!).Remove("outcome");
        Assert.NotEmpty(ReportSchemas.Errors(ReportSchemas.Probe, root.ToJsonString()));
    }

    // ---- the schema rejects what breaks the contract (so the tests above can fail) ----

    private static async Task<JsonNode> RealDocumentAsync()
    {
        await using var server = AnswerCr(FakeRdpServer.Failure(NegotiationFailureCode.SslCertNotOnServer));
        string json = await ProbeJsonAsync(server, Quick);
        AssertValid(json);
        return JsonNode.Parse(json)!;
    }

    [Theory]
    [InlineData("tool")]
    [InlineData("schema")]
    [InlineData("verdict")]
    [InlineData("findings")]
    [InlineData("startedAt")]
    [InlineData("clientVerdict")]
    [InlineData("compatibility")]
    [InlineData("attempts")]
    [InlineData("addressAttempts")]
    public async Task A_document_without_a_required_key_fails(string key)
    {
        var root = (JsonObject)await RealDocumentAsync();
        Assert.True(root.Remove(key));
        Assert.NotEmpty(ReportSchemas.Errors(ReportSchemas.Probe, root.ToJsonString()));
    }

    [Fact]
    public async Task A_phase_without_its_ending_fails()
    {
        var root = await RealDocumentAsync();
        Assert.True(((JsonObject)root["phases"]![0]!).Remove("ending"));
        Assert.Contains(ReportSchemas.Errors(ReportSchemas.Probe, root.ToJsonString()), e => e.StartsWith("/phases/0", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_snake_case_key_instead_of_camel_case_fails()
    {
        var root = (JsonObject)await RealDocumentAsync();
        var startedAt = root["startedAt"]!.DeepClone();
        root.Remove("startedAt");
        root["started_at"] = startedAt;
        Assert.NotEmpty(ReportSchemas.Errors(ReportSchemas.Probe, root.ToJsonString()));
    }

    [Theory]
    [InlineData("/verdict/ending", "exploded")]
    [InlineData("/phases/0/name", "handshake")]
    [InlineData("/phases/0/status", "failure")]
    [InlineData("/schema", "rdpprobe.probe/9")]
    [InlineData("/tool/name", "mstsc")]
    [InlineData("/negotiation/failureCode", "cert_missing")]
    public async Task A_word_outside_the_enum_fails(string pointer, string word)
    {
        var root = await RealDocumentAsync();
        string[] path = pointer.Trim('/').Split('/');
        var parent = root;
        foreach (string step in path[..^1])
        {
            parent = int.TryParse(step, out int i) ? parent[i]! : parent[step]!;
        }

        parent[path[^1]] = word;
        Assert.NotEmpty(ReportSchemas.Errors(ReportSchemas.Probe, root.ToJsonString()));
    }

    [Fact]
    public async Task A_number_where_a_string_belongs_fails()
    {
        var root = await RealDocumentAsync();
        root["target"]!["port"] = "3389";
        Assert.NotEmpty(ReportSchemas.Errors(ReportSchemas.Probe, root.ToJsonString()));
    }

    [Fact]
    public void The_targets_line_of_a_target_that_could_not_be_probed_matches_and_needs_its_error()
    {
        const string line = """{"schema":"rdpprobe.probe/1","target":"nowhere.invalid:3389","error":"does not resolve"}""";
        ReportSchemas.AssertValid(ReportSchemas.Probe, line);
        var root = JsonNode.Parse(line)!.AsObject();
        root.Remove("error");
        Assert.NotEmpty(ReportSchemas.Errors(ReportSchemas.Probe, root.ToJsonString()));
    }
}
