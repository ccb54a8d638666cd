using System.CommandLine;
using System.Text.Json;
using RdpProbe.Cli;
using Spectre.Console.Testing;
using static RdpProbe.Tests.Analysis.PacketBuilder;

namespace RdpProbe.Tests.Analysis;

/// <summary>The analyze verb end to end with an injected console: output, JSON contract and exit codes.</summary>
public sealed class AnalyzeCommandTests
{
    private static (int Exit, string Out, string Err) Run(params string[] args) => Run(new TestConsole(), args);

    private static (int Exit, string Out, string Err) Run(TestConsole output, params string[] args)
    {
        output.Profile.Width = 4000;
        var errors = new TestConsole();
        var root = new RootCommand();
        root.Subcommands.Add(AnalyzeCommand.Create(output, errors));
        int exit = CommandLineHost.RunAsync(root, ["analyze", .. args]).GetAwaiter().GetResult();
        return (exit, output.Output, errors.Output);
    }

    [Fact]
    public void Failed_connection_exits_20_with_a_verdict_line_and_frame_filters()
    {
        var (exit, output, _) = Run(TestCaptures.Public("ndpi", "rdp_over_tls.pcap"));
        Assert.Equal(ExitCodes.ConnectionFailed, exit);
        Assert.Contains("FAIL #1 91.238.181.21:35888 -> 89.31.79.12:3389", output, StringComparison.Ordinal);
        Assert.Contains("Authentication failed", output, StringComparison.Ordinal);
        Assert.Contains("filter: ip.addr==91.238.181.21 && ip.addr==89.31.79.12 && tcp.port==35888 && tcp.port==3389", output, StringComparison.Ordinal);
        Assert.Contains("frame.number == 14", output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_failed_connection_shows_the_attribution_evidence_and_what_remains_undecided()
    {
        // Issue 11: the bare reset after the NTLM AUTHENTICATE (captures/lab/attrib-reset-after-authenticate.pcap).
        string capture = Path.Combine(TestCaptures.Root, "captures", "lab", "attrib-reset-after-authenticate.pcap");
        var (exit, output, _) = Run(capture, "--port", "15390", "--no-progress");
        Assert.Equal(ExitCodes.ConnectionFailed, exit);
        Assert.Contains("  evidence: the server sent nothing after the client's NTLM AUTHENTICATE; ended by a bare RST with the server's address", output, StringComparison.Ordinal);
        Assert.Contains("  undecided: a middlebox or a crashed server: a capture on the server shows whether the AUTHENTICATE arrived", output, StringComparison.Ordinal);
        Assert.True(output.IndexOf("  evidence:", StringComparison.Ordinal) < output.IndexOf("  likely causes:", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("ndpi", "rdp_over_tls.pcap")]
    [InlineData("ndpi", "rdp3.pcap")]
    public void Without_colours_every_line_is_the_coloured_line_of_a_terminal_less_its_colours(string folder, string file)
    {
        // Without ANSI (a file, a pipe) the connection lines bypass Spectre's markup; the words must stay the same.
        var (_, plain, _) = Run(new TestConsole().SupportsAnsi(false), TestCaptures.Public(folder, file));
        var (_, coloured, _) = Run(new TestConsole().SupportsAnsi(true).EmitAnsiSequences(), TestCaptures.Public(folder, file));
        Assert.Contains("\u001b[", coloured, StringComparison.Ordinal);
        string stripped = System.Text.RegularExpressions.Regex.Replace(coloured, "\u001b\\[[0-9;]*m", "");
        Assert.Contains("#1 ", plain, StringComparison.Ordinal);
        Assert.Equal(plain, stripped);
    }

    [Fact]
    public void All_connections_ok_exits_0()
    {
        var (exit, output, _) = Run(TestCaptures.Public("ndpi", "rdp3.pcap"));
        Assert.Equal(ExitCodes.Ok, exit);
        Assert.Contains("ok   #1", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_follows_the_analysis_schema()
    {
        var (exit, output, _) = Run(TestCaptures.Public("ndpi", "rdp_over_tls.pcap"), "--json");
        Assert.Equal(ExitCodes.ConnectionFailed, exit);
        using var doc = JsonDocument.Parse(output);
        var root = doc.RootElement;
        Assert.Equal("rdpprobe.analysis/2", root.GetProperty("schema").GetString());
        JsonReports.ReportSchemas.AssertValid(JsonReports.ReportSchemas.Analysis2, output);
        Assert.Equal(19, root.GetProperty("packets").GetInt64());
        foreach (var key in new[] { "files", "bytes", "seconds", "connections", "udp", "icmp", "fragments" })
        {
            Assert.True(root.TryGetProperty(key, out _), key);
        }

        var fragments = root.GetProperty("fragments");
        foreach (var key in new[] { "ipv4", "ipv6", "reassembled", "incomplete" })
        {
            Assert.True(fragments.TryGetProperty(key, out _), key);
        }

        var c = root.GetProperty("connections")[0];
        Assert.Equal("91.238.181.21:35888", c.GetProperty("client").GetString());
        Assert.Equal("89.31.79.12:3389", c.GetProperty("server").GetString());
        Assert.Equal("WDeployAd", c.GetProperty("cookie").GetString());
        Assert.Equal(JsonValueKind.Null, c.GetProperty("failureCode").ValueKind);
        Assert.Equal("hybrid", c.GetProperty("selectedProtocol").GetString());
        Assert.Equal("credssp", c.GetProperty("lastPhase").GetString());
        Assert.Equal("reset", c.GetProperty("ending").GetString());
        Assert.Equal("client", c.GetProperty("endedBy").GetString());
        Assert.Equal("server", c.GetProperty("tls").GetProperty("alerts")[0].GetProperty("from").GetString());
        var phase = c.GetProperty("phases")[0];
        Assert.Equal("tcp", phase.GetProperty("name").GetString());
        Assert.Equal(1, phase.GetProperty("firstFrame").GetInt32());
        var verdict = c.GetProperty("verdict");
        Assert.False(verdict.GetProperty("ok").GetBoolean());
        Assert.Equal("credssp", verdict.GetProperty("phase").GetString());
        Assert.Contains(c.GetProperty("anomalies").EnumerateArray(), a => a.GetProperty("kind").GetString() == "tls_alert" && a.GetProperty("frames")[0].GetInt32() == 14);
    }

    [Fact]
    public void No_rdp_exits_21()
    {
        // An HTTP exchange on port 80 only.
        var frames = new[]
        {
            (0.0, Concat(Ethernet(0x0800), Ipv4Tcp("10.0.0.1", 40000, "10.0.0.2", 80, 1, 0, Syn))),
            (0.1, Concat(Ethernet(0x0800), Ipv4Tcp("10.0.0.2", 80, "10.0.0.1", 40000, 100, 2, Syn | Ack))),
        };
        string path = PcapFile.Write(1, frames);
        try
        {
            var (exit, output, _) = Run(path);
            Assert.Equal(ExitCodes.NoRdpConnections, exit);
            Assert.Contains("No RDP connection found", output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Unreadable_input_exits_3_with_one_line()
    {
        string path = Path.GetTempFileName();
        File.WriteAllText(path, "this is not a capture");
        try
        {
            var (exit, output, errors) = Run(path);
            Assert.Equal(ExitCodes.InputUnreadable, exit);
            Assert.Equal("", output);
            Assert.Single(errors.Trim().Split('\n'));
            Assert.StartsWith("rdpprobe: ", errors, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Truncated_capture_exits_4_and_still_prints_results()
    {
        byte[] whole = File.ReadAllBytes(TestCaptures.Public("ndpi", "rdp_over_tls.pcap"));
        string path = Path.GetTempFileName();
        File.WriteAllBytes(path, whole[..3001]);
        try
        {
            var (exit, output, errors) = Run(path, "--json");
            Assert.Equal(ExitCodes.CaptureDamaged, exit);
            Assert.Contains("damaged after frame", errors, StringComparison.Ordinal);
            using var doc = JsonDocument.Parse(output);
            Assert.Equal(1, doc.RootElement.GetProperty("connections").GetArrayLength());
            Assert.Contains("damaged", doc.RootElement.GetProperty("damage").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("--port", "0")]
    [InlineData("--port", "70000")]
    [InlineData("--port", "x")]
    [InlineData("--details", "-1")]
    public void Bad_arguments_exit_2(string option, string value)
    {
        var (exit, _, _) = Run(TestCaptures.Public("ndpi", "rdp.pcap"), option, value);
        Assert.Equal(ExitCodes.Usage, exit);
    }

    [Fact]
    public void Jsonl_prints_a_start_line_the_tables_one_line_per_connection_and_a_summary_line()
    {
        var (exit, output, _) = Run(TestCaptures.Public("ndpi", "rdp_over_tls.pcap"), "--jsonl");
        Assert.Equal(ExitCodes.ConnectionFailed, exit);
        var lines = output.TrimEnd('\n').Split('\n');
        var types = lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("type").GetString()!).ToArray();
        Assert.Equal<string>(["start", "verdict", "compatibility", "connection", "summary"], types);
        foreach (var line in lines)
        {
            JsonReports.ReportSchemas.AssertValid(JsonReports.ReportSchemas.AnalysisLines, line);
        }

        using var summary = JsonDocument.Parse(lines[^1]);
        Assert.Equal(1, summary.RootElement.GetProperty("failedConnections").GetInt32());
    }

    [Fact]
    public void Json_and_jsonl_together_are_a_usage_error()
    {
        var (exit, output, errors) = Run(TestCaptures.Public("ndpi", "rdp_over_tls.pcap"), "--json", "--jsonl");
        Assert.Equal(ExitCodes.Usage, exit);
        Assert.Equal("", output);
        Assert.Equal("rdpprobe: --json and --jsonl: choose one", errors.Trim());
    }

    [Fact]
    public void Extra_port_is_analyzed()
    {
        // The socks5 capture's first TCP flow goes to port 42356; with --port 42356 it is tracked from its SYN.
        var (exit, output, _) = Run(TestCaptures.Public("arkime", "socks5-rdp.pcap"), "--port", "42356", "--json");
        using var doc = JsonDocument.Parse(output);
        var connections = doc.RootElement.GetProperty("connections");
        Assert.True(connections.GetArrayLength() >= 1);
        Assert.Contains(connections.EnumerateArray(), c => c.GetProperty("server").GetString()!.EndsWith(":42356", StringComparison.Ordinal));
        Assert.True(exit is ExitCodes.Ok or ExitCodes.ConnectionFailed);
    }
    [Fact]
    public void Explain_frame_decodes_one_frame_on_the_cold_path()
    {
        var (exit, output, _) = Run(TestCaptures.Public("ndpi", "rdp_over_tls.pcap"), "--explain-frame", "14");
        Assert.Equal(ExitCodes.Ok, exit);
        Assert.StartsWith("frame 14 ", output, StringComparison.Ordinal);
        Assert.Contains("89.31.79.12", output, StringComparison.Ordinal);
        Assert.Contains("TCP", output, StringComparison.Ordinal);

        var (missing, _, errors) = Run(TestCaptures.Public("ndpi", "rdp_over_tls.pcap"), "--explain-frame", "999");
        Assert.Equal(ExitCodes.Usage, missing);
        Assert.Contains("no frame 999", errors, StringComparison.Ordinal);
    }

    [Fact]
    public void Explain_frame_with_several_files_takes_file_colon_n_and_decodes_past_tcp()
    {
        string a = Path.Combine(TestCaptures.Root, "captures", "lab", "nla-bad-password.pcap");
        string b = Path.Combine(TestCaptures.Root, "captures", "lab", "xfreerdp-tls10-only-xrdp.pcap");
        var (ambiguous, _, why) = Run(a, b, "--explain-frame", "4");
        Assert.Equal(ExitCodes.Usage, ambiguous);
        Assert.Contains("FILE:N", why, StringComparison.Ordinal);

        var (exit, output, _) = Run(a, b, "--explain-frame", "xfreerdp-tls10-only-xrdp.pcap:9");
        Assert.Equal(ExitCodes.Ok, exit);
        Assert.StartsWith($"frame 9 of {b} ", output, StringComparison.Ordinal);
        Assert.Contains("handshake: ServerHello", output, StringComparison.Ordinal);
        Assert.Contains("handshake: Certificate", output, StringComparison.Ordinal);
        Assert.Contains("subject CN=localhost", output, StringComparison.Ordinal);

        var (first, cr, _) = Run(a, b, "--explain-frame", $"{a}:4");
        Assert.Equal(ExitCodes.Ok, first);
        Assert.Contains("RDP_NEG_REQ: flags 0x00, requestedProtocols 0x00000003 (ssl, hybrid)", cr, StringComparison.Ordinal);

        var (bad, _, badWhy) = Run(a, "--explain-frame", "x");
        Assert.Equal(ExitCodes.Usage, bad);
        Assert.Contains("give a frame number", badWhy, StringComparison.Ordinal);
    }

    [Fact]
    public void With_several_files_the_view_names_the_file_of_each_connection_and_message()
    {
        string a = Path.Combine(TestCaptures.Root, "captures", "lab", "nla-bad-password.pcap");
        string b = Path.Combine(TestCaptures.Root, "captures", "lab", "rdpeudp-syn-port-unreachable.pcap");
        var (_, output, _) = Run(a, b);
        Assert.Contains($"frames 1-24 in {a}:", output, StringComparison.Ordinal);
        Assert.Contains($"-> 127.0.0.1:3389 in {b}: SYN frames 1 3 5", output.Replace("\u0026", "&", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Contains($"frame 2 in {b}: port_unreachable", output, StringComparison.Ordinal);
        Assert.Contains("(inferred)", output, StringComparison.Ordinal);
    }
}
