using System.Text;
using System.Text.Json;
using RdpProbe.Cli;
using RdpProbe.IntegrationTests.Lab;
using Spectre.Console.Testing;

namespace RdpProbe.IntegrationTests.Probe;

/// <summary>
/// Issue 17, first item, against the real servers: the password given with --user is never sent over a connection
/// that is not encrypted as the user asked, and it appears in nothing the tool writes — stdout (human and JSON),
/// stderr, the TLS key log, and the pcap of the probe's own packets (which holds every byte the server received).
/// </summary>
[Collection(LabCollection.Name)]
public sealed class SecretLeakLabTests(LabFixture lab)
{
    private sealed record Run(int Exit, string Out, string Err, byte[] Pcap, byte[] KeyLog);

    private static async Task<Run> RunAsync(bool json, params string[] args)
    {
        string pcap = Path.Combine(Path.GetTempPath(), $"rdpprobe-secret-{Guid.NewGuid():N}.pcap");
        string keyLog = Path.Combine(Path.GetTempPath(), $"rdpprobe-secret-{Guid.NewGuid():N}.keys");
        var output = new StringWriter();
        var error = new StringWriter();
        Environment.SetEnvironmentVariable("RDPPROBE_PASSWORD", LabFixture.Password);
        try
        {
            string[] all = [.. args, "--user", $"{LabFixture.Domain}\\{LabFixture.User}", "--capture", pcap, "--tls-keylog", keyLog,
                "--no-matrix", "--no-tls-versions", "--no-encryption-levels", .. (json ? new[] { "--json" } : [])];
            var console = new TestConsole { EmitAnsiSequences = false }.Width(200);
            int exit = await RdpProbeApp.RunAsync(all, new CliIo(output, error, console));

            // The human view goes to the console, the JSON to the output writer: both are stdout for a user.
            return new Run(exit, output + console.Output, error.ToString(),
                File.Exists(pcap) ? await File.ReadAllBytesAsync(pcap) : [],
                File.Exists(keyLog) ? await File.ReadAllBytesAsync(keyLog) : []);
        }
        finally
        {
            Environment.SetEnvironmentVariable("RDPPROBE_PASSWORD", null);
            File.Delete(pcap);
            File.Delete(keyLog);
        }
    }

    private static void AssertNoSecret(Run run)
    {
        foreach (var encoding in new Encoding[] { Encoding.UTF8, Encoding.Unicode, Encoding.BigEndianUnicode })
        {
            byte[] secret = encoding.GetBytes(LabFixture.Password);
            Assert.True(run.Pcap.AsSpan().IndexOf(secret) < 0, $"the password ({encoding.EncodingName}) is in the capture: it crossed the network in clear");
            Assert.True(run.KeyLog.AsSpan().IndexOf(secret) < 0, "the password is in the key log");
        }

        Assert.DoesNotContain(LabFixture.Password, run.Out);
        Assert.DoesNotContain(LabFixture.Password, run.Err);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Xrdp_downgrading_a_hybrid_request_never_receives_the_password(bool json)
    {
        // Asked for HYBRID only, xrdp selects PROTOCOL_RDP (LAB.md): a downgrade.
        var run = await RunAsync(json, lab.Endpoints.Xrdp.ToString(), "--protocols", "hybrid");

        Assert.True(run.Exit == ExitCodes.RdpSession, run.Err + run.Out);
        Assert.NotEmpty(run.Pcap);
        AssertNoSecret(run);
        if (json)
        {
            var root = JsonDocument.Parse(run.Out).RootElement;
            Assert.Equal("client_refused", root.GetProperty("verdict").GetProperty("ending").GetString());
            Assert.Equal("downgraded_to_standard_security", root.GetProperty("verdict").GetProperty("code").GetString());
            Assert.Contains(root.GetProperty("findings").EnumerateArray(),
                f => f.GetProperty("code").GetString() == "security_downgrade" && f.GetProperty("severity").GetString() == "critical");

            // The Client Info PDU never left: the phase sent nothing.
            var clientInfo = root.GetProperty("phases").EnumerateArray().Single(p => p.GetProperty("name").GetString() == "client_info");
            Assert.Empty(clientInfo.GetProperty("messages").EnumerateArray());
        }
        else
        {
            Assert.Contains("CRITICAL", run.Out);
            Assert.Contains("did not send the password", run.Out);
        }
    }

    [Fact]
    public async Task Shadow_server_without_encryption_never_receives_the_password()
    {
        // The FreeRDP shadow server with /sec:rdp announces encryption method none.
        var run = await RunAsync(true, lab.Endpoints.ShadowRdp.ToString(), "--protocols", "rdp");

        Assert.True(run.Exit == ExitCodes.RdpSession, run.Err + run.Out);
        AssertNoSecret(run);
        var root = JsonDocument.Parse(run.Out).RootElement;
        Assert.Equal("no_encryption", root.GetProperty("verdict").GetProperty("code").GetString());
        Assert.Equal("none", root.GetProperty("session").GetProperty("encryptionMethod").GetString());
        Assert.Contains(root.GetProperty("findings").EnumerateArray(), f => f.GetProperty("code").GetString() == "encryption_none");
    }

    [Theory]
    [InlineData("xrdp")]
    [InlineData("nla")]
    public async Task Over_tls_and_nla_the_password_is_sent_but_appears_in_nothing_the_tool_writes(string server)
    {
        // xrdp over TLS: the password goes in the Client Info PDU inside TLS; the NLA server: inside CredSSP's
        // TSCredentials. Either way only encrypted bytes are on the wire, and the key log holds keys, not secrets.
        var endPoint = server == "xrdp" ? lab.Endpoints.Xrdp : lab.Endpoints.ShadowNla;
        var run = await RunAsync(true, endPoint.ToString());

        Assert.True(run.Exit == ExitCodes.Ok, run.Err + run.Out);
        Assert.NotEmpty(run.KeyLog);
        Assert.NotEmpty(run.Pcap);
        AssertNoSecret(run);
        Assert.DoesNotContain(JsonDocument.Parse(run.Out).RootElement.GetProperty("findings").EnumerateArray(),
            f => f.GetProperty("severity").GetString() == "critical");
    }
}
