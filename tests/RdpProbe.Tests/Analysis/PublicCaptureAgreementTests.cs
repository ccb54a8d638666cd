using System.Text.RegularExpressions;
using RdpProbe.Reports;

namespace RdpProbe.Tests.Analysis;

/// <summary>
/// The analyzer against the public captures, checked against what Zeek (rdp.log baselines) and nDPI (expected
/// outputs) say about the same traffic where the two overlap: cookie, security protocol, negotiation failure,
/// Standard RDP Security encryption, RDP-UDP handshake success or failure.
/// </summary>
public sealed class PublicCaptureAgreementTests
{
    /// <summary>Rows of a Zeek rdp.log baseline, as field-name → value maps.</summary>
    private static List<Dictionary<string, string>> ZeekLog(string test, string log)
    {
        string path = Path.Combine(Path.GetDirectoryName(TestCaptures.Public("zeek", "rdp-x509.pcap"))!, "baseline", test, log);
        string[] fields = [];
        var rows = new List<Dictionary<string, string>>();
        foreach (var line in File.ReadLines(path))
        {
            if (line.StartsWith("#fields", StringComparison.Ordinal))
            {
                fields = line.Split('\t')[1..];
            }
            else if (!line.StartsWith('#') && line.Length > 0)
            {
                var values = line.Split('\t');
                rows.Add(fields.Zip(values).ToDictionary(x => x.First, x => x.Second));
            }
        }

        return rows;
    }

    /// <summary>Zeek escapes a backslash as "\\" and writes "(empty)" for an empty string and "-" for unset.</summary>
    private static string? ZeekString(string value) => value switch
    {
        "-" => null,
        "(empty)" => null,
        _ => value.Replace(@"\\", @"\"),
    };

    public static TheoryData<string, string> ZeekRdpTraces => new()
    {
        { "rdp-proprietary-encryption.pcap", "rdp-proprietary-encryption" },
        { "rdp-to-ssl.pcap", "rdp-to-ssl" },
        { "rdp-no-cookie-mstshash.pcap", "rdp-no-cookie-msthash" },
        { "rdp-x509.pcap", "rdp-x509" },
        { "rdp-unknown-keyboard.pcap", "rdp-unknown-keyboard" },
    };

    [Theory]
    [MemberData(nameof(ZeekRdpTraces))]
    public void Cookie_security_protocol_result_and_encryption_agree_with_zeek(string capture, string baseline)
    {
        var report = TestCaptures.Analyze(TestCaptures.Public("zeek", capture));
        var rows = ZeekLog(baseline, "rdp.log");
        Assert.Equal(rows.Count, report.Connections.Count);
        foreach (var row in rows)
        {
            var c = Assert.Single(report.Connections, c => c.Client == $"{row["id.orig_h"]}:{row["id.orig_p"]}" && c.Server == $"{row["id.resp_h"]}:{row["id.resp_p"]}");
            Assert.Equal(ZeekString(row["cookie"]), c.Cookie);

            string result = row["result"];
            if (result is "encrypted")
            {
                // Zeek stops at TLS: the selected protocol was an enhanced-security one.
                Assert.Contains(c.SelectedProtocol, new[] { "ssl", "hybrid", "hybrid_ex" });
            }
            else if (result is "Success")
            {
                Assert.Equal("rdp", c.SelectedProtocol);
                Assert.Equal(0, c.StandardSecurity?.McsResult);
            }
            else if (result != "-")
            {
                Assert.Equal(result.ToLowerInvariant(), c.FailureCode);
            }

            string security = row["security_protocol"];
            if (security != "-")
            {
                Assert.Equal(security.ToLowerInvariant(), c.SelectedProtocol);
            }

            if (row["encryption_level"] != "-")
            {
                Assert.Equal(row["encryption_level"].ToLowerInvariant().Replace(' ', '_'), c.StandardSecurity?.EncryptionLevel);
                Assert.Equal(row["encryption_method"], c.StandardSecurity?.EncryptionMethod);
            }
        }
    }

    [Theory]
    [InlineData("rdpeudp-handshake-fail.pcap", "rdpeudp-handshake-fail")]
    [InlineData("rdpeudp-handshake-success.pcap", "rdpeudp-handshake-success")]
    [InlineData("rdpeudp2-handshake-success.pcap", "rdpeudp2-handshake-success")]
    public void Rdp_udp_handshake_agrees_with_zeek(string capture, string baseline)
    {
        var report = TestCaptures.Analyze(TestCaptures.Public("zeek", capture));
        string events = File.ReadAllText(Path.Combine(Path.GetDirectoryName(TestCaptures.Public("zeek", capture))!, "baseline", baseline, "out"));
        var udp = Assert.Single(report.Udp);
        Assert.Empty(report.Connections);
        bool zeekSynAck = events.Contains("rdpeudp_synack", StringComparison.Ordinal);
        Assert.Equal(zeekSynAck, udp.SynAck);
        Assert.Equal(zeekSynAck, udp.Verdict.Ok);

        // Zeek's rdpeudp_established carries 1 for RDPEUDP and 2 for RDPEUDP2 (uUdpVer 0x0101 in the SYNEX payload).
        var established = Regex.Match(events, @"rdpeudp_established, .*\], (\d)");
        if (established.Success)
        {
            Assert.Equal(established.Groups[1].Value == "2", udp.UdpVersion == "v3");
        }

        if (!zeekSynAck)
        {
            Assert.Equal([1, 2, 3], udp.SynFrames);
            Assert.Contains("no answer", udp.Verdict.Summary, StringComparison.Ordinal);
        }
    }

    /// <summary>nDPI's flow lines: "UDP a:p <-> b:p [VLAN: n][proto: 88/RDP]..." or "TCP ... [proto: 91.88/TLS.RDP]".</summary>
    private static List<(string Proto, string A, string B)> NdpiRdpFlows(string capture)
    {
        string path = Path.Combine(Path.GetDirectoryName(TestCaptures.Public("ndpi", capture))!, "expected", capture + ".out");
        var flows = new List<(string, string, string)>();
        foreach (var line in File.ReadLines(path))
        {
            var m = Regex.Match(line, @"^\s*\d+\s+(TCP|UDP) (\S+) <-> (\S+) .*\[proto: [\d.]+/[A-Za-z.]*RDP\]");
            if (m.Success)
            {
                flows.Add((m.Groups[1].Value, m.Groups[2].Value, m.Groups[3].Value));
            }
        }

        return flows;
    }

    [Theory]
    [InlineData("rdp.pcap")]
    [InlineData("rdp3.pcap")]
    [InlineData("rdp_over_tls.pcap")]
    [InlineData("rdp2.pcap")]
    public void Rdp_flows_agree_with_ndpi(string capture)
    {
        var report = TestCaptures.Analyze(TestCaptures.Public("ndpi", capture));
        var flows = NdpiRdpFlows(capture);
        Assert.NotEmpty(flows);
        var tcp = flows.Where(f => f.Proto == "TCP").ToList();
        Assert.Equal(tcp.Count, report.Connections.Count);
        foreach (var (_, a, b) in tcp)
        {
            Assert.Contains(report.Connections, c => (c.Client == a && c.Server == b) || (c.Client == b && c.Server == a));
        }

        // Every RDP-UDP flow the analyzer judges is one nDPI calls RDP; flows whose handshake is not in the
        // capture (nDPI's mid-flow VLAN 1308 flow in rdp2.pcap) are not judged.
        foreach (var u in report.Udp)
        {
            Assert.Contains(flows, f => f.Proto == "UDP" && ((f.A == u.Client && f.B == u.Server) || (f.A == u.Server && f.B == u.Client)));
        }
    }

    [Fact]
    public void Ndpi_hybrid_ex_capture_shows_the_whole_credssp_exchange_and_the_early_authorization_result()
    {
        var c = Assert.Single(TestCaptures.Analyze(TestCaptures.Public("ndpi", "rdp.pcap")).Connections);
        Assert.Equal(["ssl", "hybrid", "hybrid_ex"], c.RequestedProtocols);
        Assert.Equal("hybrid_ex", c.SelectedProtocol);
        Assert.Equal("tls1.2", c.Tls?.Version);
        Assert.Equal("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", c.Tls?.CipherSuite);
        Assert.Equal("early_auth", c.LastPhase);
        Assert.Equal("open", c.Ending);
        Assert.Equal(4, c.Credssp?.EarlyAuthPlaintextBytes);
        Assert.False(c.Credssp?.ErrorSizedAnswer);
        Assert.Equal(["negotiate", "challenge", "authenticate", "pubKeyAuth", "authInfo", "early_user_authorization_result"], c.Credssp!.Flights.Select(f => f.Label));
    }

    [Fact]
    public void Ndpi_nla_failure_capture_is_an_authentication_failure_after_authenticate()
    {
        var c = Assert.Single(TestCaptures.Analyze(TestCaptures.Public("ndpi", "rdp_over_tls.pcap")).Connections);
        Assert.Equal("WDeployAd", c.Cookie);
        Assert.Equal("hybrid", c.SelectedProtocol);
        Assert.Equal("CN=topsalon", c.Tls?.CertificateSubject);
        Assert.Equal("credssp", c.LastPhase);
        Assert.Equal("authenticate", c.Credssp?.LastRound);
        Assert.False(c.Verdict.Ok);
        Assert.Equal("auth_failed", c.Verdict.Code);
        var alert = Assert.Single(c.Tls!.Alerts);
        Assert.Equal("server", alert.From);
        Assert.True(alert.Encrypted);
        Assert.Equal("reset", c.Ending);
        Assert.Equal("client", c.EndedBy);
    }

    [Fact]
    public void Standard_security_sequence_is_decoded_in_clear_up_to_licensing()
    {
        var c = Assert.Single(TestCaptures.Analyze(TestCaptures.Public("ndpi", "rdp3.pcap")).Connections);
        Assert.Equal("Administr", c.Cookie);
        Assert.Equal("rdp", c.SelectedProtocol);
        Assert.Equal("client_compatible", c.StandardSecurity?.EncryptionLevel);
        Assert.Equal("128bit", c.StandardSecurity?.EncryptionMethod);
        Assert.True(c.StandardSecurity?.SecurityExchangeSeen);
        Assert.True(c.StandardSecurity?.ClientInfoSeen);
        Assert.Equal(["tcp", "x224", "mcs", "channels", "security_exchange", "client_info", "licensing", "capabilities"], c.Phases.Select(p => p.Name));
        Assert.True(c.Verdict.Ok);
    }

    [Fact]
    public void Suricata_legacy_capture_without_negotiation_request()
    {
        var report = TestCaptures.Analyze(TestCaptures.Public("suricata-verify", "RDP-003.pcap"));
        var c = Assert.Single(report.Connections);
        Assert.Equal("A70067", c.Cookie);
        Assert.Equal(["rdp"], c.RequestedProtocols);
        Assert.Equal("rdp", c.SelectedProtocol);
        Assert.Equal("56bit", c.StandardSecurity?.EncryptionMethod);
        Assert.Equal("client_compatible", c.StandardSecurity?.EncryptionLevel);
        Assert.True(c.Verdict.Ok);
    }

    [Fact]
    public void Rdp_behind_a_socks_proxy_is_found_by_its_connection_request_on_another_port()
    {
        var report = TestCaptures.Analyze(TestCaptures.Public("arkime", "socks5-rdp.pcap"));
        var c = Assert.Single(report.Connections);
        Assert.EndsWith(":42356", c.Server, StringComparison.Ordinal);
        Assert.Equal(["rdp"], c.RequestedProtocols);
        Assert.Equal("rdp", c.SelectedProtocol);
    }

    [Fact]
    public void Fuzzed_negotiation_is_reported_as_not_rdp_not_a_crash()
    {
        var c = Assert.Single(TestCaptures.Analyze(TestCaptures.Public("zeek", "rdp-invalid-length.pcap")).Connections);
        Assert.False(c.Verdict.Ok);
        Assert.Equal("not_rdp", c.Verdict.Code);
    }
}
