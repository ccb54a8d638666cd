using System.Net;
using System.Text.Json;
using AnalyzerOptions = RdpProbe.Analysis.AnalyzerOptions;
using CaptureAnalysis = RdpProbe.Reports.CaptureAnalysis;
using RdpProbe.Diagnosis;
using RdpProbe.Probe;
using RdpProbe.Probe.Phases;
using RdpProbe.Protocol;
using RdpProbe.Reports;
using RdpProbe.Tests.JsonReports;

namespace RdpProbe.Tests.Probe;

public sealed class ProbeJsonTests
{
    private static ProbeReport FullReport()
    {
        var report = new ProbeReport(ProbeTarget.Parse("srv:3389")) { Address = IPAddress.Parse("192.0.2.10"), ResolvedAddresses = [IPAddress.Parse("192.0.2.10")] };
        report.Phases.Add(new PhaseRecord(Phase.Dns) { Ms = 1.5 });
        report.Phases.Add(new PhaseRecord(Phase.Tcp) { Ms = 0.4 });
        var x224 = new PhaseRecord(Phase.X224) { Ms = 1.1, WallMs = 2, ClientMs = 0.9, RoundTrips = 1 };
        x224.Messages.Add(new WireMessage(Direction.Sent, 0.1, 19, "X.224 Connection Request"));
        report.Phases.Add(x224);
        var tls = new PhaseRecord(Phase.Tls) { Ms = 3.0 };
        tls.Fail(Ending.Reset, Codes.BeforeServerHello, "reset");
        report.Phases.Add(tls);
        report.Negotiation.RequestedProtocols = ProbeOptions.DefaultProtocols;
        report.Negotiation.SelectedProtocol = SecurityProtocols.Hybrid;
        report.Negotiation.ResponseFlags = NegotiationResponseFlags.ExtendedClientDataSupported | NegotiationResponseFlags.DynvcGfxProtocolSupported;
        report.Negotiation.Matrix =
        [
            new MatrixEntry(SecurityProtocols.Rdp, SupportStatus.Refused, null, NegotiationFailureCode.HybridRequiredByServer, Ending.NegotiationFailure, new Code("hybrid_required_by_server"), "d", 1),
            new MatrixEntry(SecurityProtocols.Ssl, SupportStatus.Refused, null, NegotiationFailureCode.HybridRequiredByServer, Ending.NegotiationFailure, new Code("hybrid_required_by_server"), "d", 1),
            new MatrixEntry(SecurityProtocols.Hybrid, SupportStatus.Supported, SecurityProtocols.Hybrid, null, Ending.Ok, null, "d", 1),
            new MatrixEntry(SecurityProtocols.RdsTls, SupportStatus.Downgraded, SecurityProtocols.Rdp, null, Ending.Ok, null, "d", 1),
            new MatrixEntry(SecurityProtocols.HybridEx, SupportStatus.Supported, SecurityProtocols.HybridEx, null, Ending.Ok, null, "d", 1),
            new MatrixEntry(SecurityProtocols.RdsAad, SupportStatus.Error, null, null, Ending.Timeout, null, "d", 1),
        ];
        report.Negotiation.NlaRequired = true;
        report.Tls = new TlsFacts
        {
            Version = "tls1.2",
            CipherSuite = "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            Versions = new Dictionary<string, bool?> { ["tls1.0"] = false, ["tls1.1"] = false, ["tls1.2"] = true, ["tls1.3"] = null },
            Certificate = new CertificateInfo("CN=srv", "CN=srv", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddYears(60), 100, true, "rsa", 2048, "sha256RSA", "ab", ["dns:srv"], "01"),
        };
        report.Tls.Alerts.Add(new TlsAlertInfo("server", "fatal", "handshake_failure", 2));
        report.CredSsp = new CredSspFacts { ServerVersion = 6, Ntlm = new NtlmFacts { TargetName = "LAB", NetbiosComputerName = "SRV", ServerTime = DateTimeOffset.UnixEpoch, ClockSkewSeconds = 0.8 } };
        report.Verdict = Verdict.From(report.Phases);
        return report;
    }

    private static JsonElement Parse(ProbeReport report) => JsonDocument.Parse(ProbeJson.Serialize(report)).RootElement;

    [Fact]
    public void Every_contract_key_is_present()
    {
        var root = Parse(FullReport());
        Assert.Equal("rdpprobe.probe/1", root.GetProperty("schema").GetString());
        foreach (string key in new[] { "input", "host", "port", "address" })
        {
            Assert.True(root.GetProperty("target").TryGetProperty(key, out _), key);
        }

        var phase = root.GetProperty("phases")[0];
        foreach (string key in new[] { "name", "status", "ms", "ending" })
        {
            Assert.True(phase.TryGetProperty(key, out _), key);
        }

        var negotiation = root.GetProperty("negotiation");
        foreach (string key in new[] { "requestedProtocols", "selectedProtocol", "failureCode", "support", "nlaRequired" })
        {
            Assert.True(negotiation.TryGetProperty(key, out _), key);
        }

        var tls = root.GetProperty("tls");
        foreach (string key in new[] { "version", "cipherSuite", "versions", "certificate" })
        {
            Assert.True(tls.TryGetProperty(key, out _), key);
        }

        foreach (string key in new[] { "subject", "issuer", "notBefore", "notAfter", "selfSigned", "keyAlgorithm", "keySize", "sha256", "san" })
        {
            Assert.True(tls.GetProperty("certificate").TryGetProperty(key, out _), key);
        }

        var credssp = root.GetProperty("credssp");
        Assert.True(credssp.TryGetProperty("serverVersion", out _));
        Assert.True(credssp.TryGetProperty("errorCode", out _));
        foreach (string key in new[] { "targetName", "netbiosComputerName", "netbiosDomainName", "dnsComputerName", "dnsDomainName", "productVersion", "serverTime", "clockSkewSeconds" })
        {
            Assert.True(credssp.GetProperty("ntlm").TryGetProperty(key, out _), key);
        }

        foreach (string key in new[] { "ok", "phase", "ending", "code", "summary", "causes", "remedies" })
        {
            Assert.True(root.GetProperty("verdict").TryGetProperty(key, out _), key);
        }
    }

    [Fact]
    public void Values_use_the_contract_words()
    {
        var root = Parse(FullReport());
        Assert.Equal(["dns", "tcp", "x224", "tls"], root.GetProperty("phases").EnumerateArray().Select(p => p.GetProperty("name").GetString()!));
        var tlsPhase = root.GetProperty("phases")[3];
        Assert.Equal("failed", tlsPhase.GetProperty("status").GetString());
        Assert.Equal("reset", tlsPhase.GetProperty("ending").GetString());
        Assert.Equal(3.0, tlsPhase.GetProperty("ms").GetDouble());

        var negotiation = root.GetProperty("negotiation");
        Assert.Equal(["ssl", "hybrid", "hybrid_ex"], negotiation.GetProperty("requestedProtocols").EnumerateArray().Select(p => p.GetString()!));
        Assert.Equal("hybrid", negotiation.GetProperty("selectedProtocol").GetString());
        var support = negotiation.GetProperty("support");
        Assert.Equal("refused", support.GetProperty("rdp").GetString());
        Assert.Equal("supported", support.GetProperty("hybrid_ex").GetString());
        Assert.Equal("downgraded", support.GetProperty("rdstls").GetString());
        Assert.Equal("error", support.GetProperty("rdsaad").GetString());
        Assert.True(negotiation.GetProperty("nlaRequired").GetBoolean());

        var versions = root.GetProperty("tls").GetProperty("versions");
        Assert.True(versions.GetProperty("tls1.2").GetBoolean());
        Assert.Equal(JsonValueKind.Null, versions.GetProperty("tls1.3").ValueKind);
        Assert.Equal("rsa", root.GetProperty("tls").GetProperty("certificate").GetProperty("keyAlgorithm").GetString());

        var verdict = root.GetProperty("verdict");
        Assert.False(verdict.GetProperty("ok").GetBoolean());
        Assert.Equal("tls", verdict.GetProperty("phase").GetString());
        Assert.Equal("reset", verdict.GetProperty("ending").GetString());
        Assert.Equal("before_server_hello", verdict.GetProperty("code").GetString());
    }

    [Fact]
    public void Absent_facts_are_null_not_missing()
    {
        var report = new ProbeReport(ProbeTarget.Parse("127.0.0.1:1")) { Address = IPAddress.Loopback };
        var tcp = new PhaseRecord(Phase.Tcp);
        tcp.Fail(Ending.Refused, null, "refused");
        report.Phases.Add(tcp);
        report.Verdict = Verdict.From(report.Phases);
        var root = Parse(report);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("tls").ValueKind);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("credssp").ValueKind);
        var negotiation = root.GetProperty("negotiation");
        Assert.Equal(JsonValueKind.Null, negotiation.GetProperty("selectedProtocol").ValueKind);
        Assert.Equal(JsonValueKind.Null, negotiation.GetProperty("failureCode").ValueKind);
        Assert.Equal(JsonValueKind.Null, negotiation.GetProperty("support").ValueKind);
        Assert.Equal(JsonValueKind.Null, negotiation.GetProperty("nlaRequired").ValueKind);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("verdict").GetProperty("code").ValueKind);
        Assert.Equal("refused", root.GetProperty("verdict").GetProperty("ending").GetString());
    }

    [Fact]
    public void Text_is_not_html_escaped()
    {
        string json = ProbeJson.Serialize(FullReport());
        Assert.DoesNotContain("\\u0027", json);
    }

    [Fact]
    public void Schema_comes_first_then_the_tool_that_wrote_it()
    {
        var keys = Parse(FullReport()).EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(["schema", "tool"], keys.Take(2));
        var tool = Parse(FullReport()).GetProperty("tool");
        Assert.Equal("rdpprobe", tool.GetProperty("name").GetString());
        Assert.Equal(ToolInfo.Current.Version, tool.GetProperty("version").GetString());
        Assert.False(string.IsNullOrWhiteSpace(ToolInfo.Current.Version));
        Assert.Equal(["name", "version"], tool.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public void Every_key_is_camel_case()
    {
        // Map keys that are data (protocol and TLS version words, encryption method names) keep their report
        // spelling; every other key is camelCase (docs/REPORTS.md, "Naming and values"), the capture's analysis too.
        Assert.Empty(ReportSchemas.NonCamelCaseKeys(JsonDocument.Parse(RichJson()).RootElement));
        var snake = System.Text.Json.Nodes.JsonNode.Parse(RichJson())!;
        snake["tls"]!["cipher_suite"] = "x";
        Assert.Equal(["/tls/cipher_suite"], ReportSchemas.NonCamelCaseKeys(JsonDocument.Parse(snake.ToJsonString()).RootElement));
    }

    /// <summary>The full report plus what the scripted servers of the schema tests do not produce: encryption levels and a session.</summary>
    private static ProbeReport RichReport()
    {
        var report = FullReport();
        report.Negotiation.EncryptionLevels = new EncryptionMatrixResult(
        [
            new EncryptionLevelEntry(EncryptionMethods.Bit40, EncryptionSupport.Refused, null, null, "refused"),
            new EncryptionLevelEntry(EncryptionMethods.Bit128, EncryptionSupport.Accepted, EncryptionMethods.Bit128, EncryptionLevel.ClientCompatible, "accepted"),
            new EncryptionLevelEntry(EncryptionMethods.Fips, EncryptionSupport.Error, null, null, "timeout"),
        ]);
        report.Session = new SessionFacts { McsResult = "rt-successful", EncryptionMethod = "128-bit", EncryptionLevel = "client-compatible", IoChannelId = 1003, ChannelIds = [1004, 1005], UserChannelId = 1007, JoinedChannels = ["rdpdr"], Licensing = "valid_client" };
        report.Findings.Add(new Finding("security_downgrade", Severity.Critical, "t", "e", "r"));
        return report;
    }

    /// <summary>The rich report's document with a --capture section holding the analyzer's real report of a lab capture.</summary>
    private static string RichJson()
    {
        string pcap = Path.Combine(ReportSchemas.RepositoryRoot, "captures", "lab", "reset-at-clienthello.pcap");
        var analysis = CaptureAnalysis.Run([pcap], new AnalyzerOptions { Ports = [3388, 3389, 3390, 3391, 3397] }).Report;
        var document = ProbeJson.ToDocument(RichReport()) with { Capture = new ProbeJsonCapture(pcap, "lo", (int)analysis.Packets, 0, analysis) };
        return JsonSerializer.Serialize(document, JsonReportContext.Relaxed.ProbeJsonDocument);
    }

    [Fact]
    public void Full_and_rich_reports_match_the_schema()
    {
        ReportSchemas.AssertValid(ReportSchemas.Probe, ProbeJson.Serialize(FullReport()));
        string rich = RichJson();
        ReportSchemas.AssertValid(ReportSchemas.Probe, rich);
        var capture = JsonDocument.Parse(rich).RootElement.GetProperty("capture").GetProperty("analysis");
        Assert.Equal(AnalysisReport.SchemaName, capture.GetProperty("schema").GetString());
    }

    [Fact]
    public void The_capture_section_is_checked_against_the_analysis_schema()
    {
        var root = System.Text.Json.Nodes.JsonNode.Parse(RichJson())!;
        root["capture"]!["analysis"]!.AsObject().Remove("connections");
        Assert.Contains(ReportSchemas.Errors(ReportSchemas.Probe, root.ToJsonString()), e => e.StartsWith("/capture/analysis", StringComparison.Ordinal));
    }
}
