using System.CommandLine;
using RdpProbe.Analysis;
using RdpProbe.Cli;
using RdpProbe.Reports;
using Spectre.Console.Testing;

namespace RdpProbe.Tests.Analysis;

/// <summary>
/// Attempt chains, findings and the default client's verdict on real xfreerdp 2.11 captures (captures/lab/xfreerdp-*,
/// captures/README.md): a refusal followed by a fallback is one connection that fell back, not a failure.
/// </summary>
public sealed class AttemptChainTests
{
    /// <summary>The lab ports these captures were taken on: the shadow server with Standard RDP Security only, the TLS-1.0-only xrdp.</summary>
    private static readonly AnalyzerOptions LabPorts = new() { Ports = [13392, 13394] };

    private static string Capture(string name) => Path.Combine(TestCaptures.Root, "captures", "lab", name);

    private static int ExitCode(params string[] args)
    {
        var output = new TestConsole();
        output.Profile.Width = 4000;
        var root = new RootCommand();
        root.Subcommands.Add(AnalyzeCommand.Create(output, new TestConsole()));
        return CommandLineHost.RunAsync(root, ["analyze", .. args]).GetAwaiter().GetResult();
    }

    [Fact]
    public void Xfreerdp_fallback_to_standard_rdp_security_is_one_chain_of_three_attempts_that_fell_back()
    {
        var report = TestCaptures.Analyze(LabPorts, Capture("xfreerdp-fallback-rdp-security.pcap"));

        Assert.Equal(3, report.Connections.Count);
        var chain = Assert.Single(report.Chains);
        Assert.Equal([0, 1, 2], chain.Attempts.Select(a => a.Connection));
        Assert.Equal([["ssl", "hybrid"], ["ssl"], ["rdp"]], chain.Attempts.Select(a => a.RequestedProtocols));
        Assert.Equal(["ssl_not_allowed_by_server", "ssl_not_allowed_by_server", null], chain.Attempts.Select(a => a.FailureCode));
        Assert.True(chain.Ok);
        Assert.True(chain.FellBack);
        Assert.StartsWith("The client fell back to Standard RDP Security after ssl_not_allowed_by_server", chain.Summary, StringComparison.Ordinal);

        // The refused attempts are fallbacks, the last one is the connection: nothing failed.
        Assert.Equal([true, true, false], report.Connections.Select(c => c.SupersededByFallback));
        Assert.Equal([1, 1, 1], report.Connections.Select(c => c.ChainId));
        Assert.Equal([0, 1, 2], report.Connections.Select(c => c.AttemptIndex));
        Assert.Equal(0, report.FailedConnections);

        // windows11 falls back the same way and gets Standard RDP Security: the server never authenticates itself.
        var verdict = chain.ClientVerdict!;
        Assert.Equal(("windows11", "connects_insecurely", "rdp"), (verdict.Profile, verdict.Result, verdict.Protocol));
        Assert.True(verdict.Inferred);
        Assert.Contains("Matrix", verdict.InferredFacts);

        // The shadow server announces encryption level none in the clear MCS Connect Response.
        Assert.Contains(chain.Findings, f => f.Code == "encryption_none" && f.Severity == "critical");
        Assert.Contains(chain.Findings, f => f.Code == "standard_rdp_security_accepted");
        Assert.Equal("none", report.Connections[2].StandardSecurity?.EncryptionLevel);
    }

    [Fact]
    public void Zeek_windows_client_fallback_is_one_chain_too()
    {
        // A Windows client of Zeek's test set: refused with ssl_not_allowed_by_server, it reconnects a moment later
        // asking for Standard RDP Security and gets a session.
        string path = TestCaptures.Public("zeek", "rdp-proprietary-encryption.pcap");
        var report = TestCaptures.Analyze(path);
        var chain = Assert.Single(report.Chains);
        Assert.Equal([0, 1], chain.Attempts.Select(a => a.Connection));
        Assert.True(chain.FellBack);
        Assert.Equal("172.21.128.16", chain.Client);
        Assert.Equal("connects_insecurely", chain.ClientVerdict?.Result);
        Assert.True(report.Connections[0].SupersededByFallback);
        Assert.False(report.Connections[0].Verdict.Ok);
        Assert.Equal(0, report.FailedConnections);
        Assert.Equal(ExitCodes.Ok, ExitCode(path));
    }

    [Fact]
    public void Fallen_back_attempts_do_not_make_the_exit_code_20()
    {
        Assert.Equal(ExitCodes.Ok, ExitCode(Capture("xfreerdp-fallback-rdp-security.pcap"), "--port", "13392"));
    }

    [Fact]
    public void Tls_1_0_only_server_shows_the_version_and_fails_for_windows11_at_tls()
    {
        var report = TestCaptures.Analyze(LabPorts, Capture("xfreerdp-tls10-only-xrdp.pcap"));
        var c = Assert.Single(report.Connections);
        Assert.Empty(report.Chains);
        Assert.Equal(1, report.FailedConnections);
        Assert.Equal(("tls1.0", "tls1.3"), (c.Tls?.Version, c.Tls?.ClientMaxVersion));

        // TLS 1.0 sends the certificate in clear: its facts are there.
        var cert = c.Tls!.Certificate!;
        Assert.Equal(("localhost", "rsa", 2048, true), (cert.SubjectCommonName, cert.KeyAlgorithm, cert.KeySize, cert.SelfSigned));

        var verdict = c.ClientVerdict!;
        Assert.Equal(("fails", "tls", "no_common_tls_version"), (verdict.Result, verdict.FailPhase, verdict.Reason));
        Assert.Contains("TlsVersionsAccepted", verdict.InferredFacts);
        Assert.Contains(c.Findings, f => f.Code == "tls_1_2_not_accepted" && f.Affects.Contains("windows11"));
        Assert.Contains(c.Findings, f => f.Code == "tls_legacy_accepted");
        Assert.Contains(c.Findings, f => f.Code == "certificate_self_signed");
        Assert.Equal(ExitCodes.ConnectionFailed, ExitCode(Capture("xfreerdp-tls10-only-xrdp.pcap"), "--port", "13394"));
    }

    [Fact]
    public void Tls_1_3_hides_the_certificate_and_the_credssp_version_so_the_verdict_says_unknown()
    {
        var report = TestCaptures.Analyze(new AnalyzerOptions { Ports = [3389] }, Capture("nla-success.pcap"));
        var c = Assert.Single(report.Connections);
        Assert.Null(c.Tls!.Certificate);
        Assert.Equal("unknown", c.ClientVerdict?.Result);
        Assert.Contains(c.ClientVerdict!.NeedsConnection, n => n.Contains("CredSSP version", StringComparison.Ordinal));
        Assert.DoesNotContain(c.Findings, f => f.Code.StartsWith("certificate_", StringComparison.Ordinal));
        Assert.Null(c.ChainId);
        Assert.False(c.SupersededByFallback);
    }

    [Fact]
    public void A_retry_outside_the_window_is_a_separate_failure()
    {
        var report = CaptureAnalysis.Run([Capture("xfreerdp-fallback-rdp-security.pcap")], new AnalyzerOptions { Ports = [13392], AttemptChainWindow = TimeSpan.FromMicroseconds(-1_000_000) }).Report;
        Assert.Empty(report.Chains);
        Assert.Equal(2, report.FailedConnections);
        Assert.All(report.Connections, c => Assert.Null(c.ChainId));
    }
}
