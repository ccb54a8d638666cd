using System.Net.Sockets;
using System.Text;
using RdpProbe.Diagnosis;
using RdpProbe.Probe;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.Probe;

/// <summary>
/// Issue 11, live: after a timeout or a close at x224 the probe identifies the service on extra connections. The real
/// services (python http.server, openssl s_server, sshd) are in the lab and tested by the integration tests
/// (ForeignServiceLabTests); these scripted servers show what no lab server here can: an SMTP greeting after a
/// silent first connection, a service that says nothing at all, and the switch that turns identification off.
/// </summary>
public sealed class ServiceIdentifyTests
{
    private static readonly ProbeOptions Short = new()
    {
        PhaseTimeout = TimeSpan.FromSeconds(1),
        SecurityMatrix = false,
        TlsVersions = false,
        SessionPhases = false,
    };

    private static async Task<ProbeReport> ProbeAsync(FakeRdpServer server, ProbeOptions options)
    {
        var reports = await new ProbeEngine(options).RunAsync(ProbeTarget.Parse(server.Target), CancellationToken.None);
        return Assert.Single(reports);
    }

    private static PhaseRecord X224Of(ProbeReport report) => report.Phases.Single(p => p.Phase == Phase.X224);

    [Fact]
    public async Task A_mail_server_that_greets_late_is_named_by_its_greeting_on_the_second_connection()
    {
        // The first connection (the probe's) gets silence; later connections get an SMTP greeting at once.
        int connections = 0;
        await using var server = new FakeRdpServer(async (socket, ct) =>
        {
            if (Interlocked.Increment(ref connections) > 1)
            {
                await socket.SendAsync(Encoding.ASCII.GetBytes("220 mx.example.test ESMTP Postfix\r\n"), ct);
            }

            await Task.Delay(Timeout.Infinite, ct);
        });
        var report = await ProbeAsync(server, Short);
        var x224 = X224Of(report);
        Assert.Equal(Ending.Timeout, x224.Ending);
        Assert.Equal(Codes.ForeignMail, x224.Code);
        Assert.Equal(ServiceKind.Smtp, x224.Service!.Service!.Kind);
        Assert.Equal(2, connections);
        Assert.Equal(Codes.ForeignMail, report.Verdict.Code);
        Assert.StartsWith($"Port {server.Port} answers SMTP, not RDP: a mail server listens here", report.Verdict.Summary);
        Assert.Contains("220 mx.example.test ESMTP Postfix", report.Verdict.Summary);
        Assert.StartsWith("wrong port", report.Verdict.Causes[0]);
    }

    [Fact]
    public async Task A_silent_service_is_not_named_and_the_verdict_says_what_remains_possible()
    {
        int connections = 0;
        await using var server = new FakeRdpServer(async (socket, ct) =>
        {
            Interlocked.Increment(ref connections);
            await Task.Delay(Timeout.Infinite, ct);
        });
        var report = await ProbeAsync(server, Short);
        var x224 = X224Of(report);
        Assert.Equal(Ending.Timeout, x224.Ending);
        Assert.Null(x224.Code);
        Assert.NotNull(x224.Service);
        Assert.Null(x224.Service.Service);
        Assert.Equal(3, connections);
        Assert.Equal(3, x224.Service.Steps.Count);
        Assert.Contains("no banner", x224.Service.Steps[0]);
        Assert.Contains("HTTP request", x224.Service.Steps[1]);
        Assert.Contains("TLS ClientHello", x224.Service.Steps[2]);
        Assert.Contains("Identifying the service found nothing", report.Verdict.Summary);
        Assert.StartsWith("still possible, the evidence does not decide", report.Verdict.Causes[0]);
        Assert.Contains(report.Verdict.Causes, c => c.Contains("netstat", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_server_that_answers_tls_to_a_client_hello_is_a_tls_service()
    {
        // Closes on the probe's Connection Request and on the HTTP request; answers a ClientHello with a fatal
        // handshake_failure alert (RFC 8446 §6.2), as TLS stacks with no common cipher do.
        await using var server = new FakeRdpServer(async (socket, ct) =>
        {
            var buffer = new byte[1];
            int n = await socket.ReceiveAsync(buffer, ct);
            if (n == 1 && buffer[0] == 0x16)
            {
                await socket.SendAsync(Convert.FromHexString("15030300020228"), ct);
            }

            socket.Shutdown(SocketShutdown.Send);
            await Task.Delay(500, ct);
        });
        var report = await ProbeAsync(server, Short);
        var x224 = X224Of(report);
        Assert.Equal(Ending.Closed, x224.Ending);
        Assert.Equal(Codes.ForeignTls, x224.Code);
        Assert.Contains("handshake_failure", x224.Service!.Service!.Evidence);
        Assert.Contains("RD Gateway", report.Verdict.Summary);
    }

    [Fact]
    public async Task Identification_can_be_turned_off_and_then_opens_no_extra_connection()
    {
        int connections = 0;
        await using var server = new FakeRdpServer(async (socket, ct) =>
        {
            Interlocked.Increment(ref connections);
            await Task.Delay(Timeout.Infinite, ct);
        });
        var report = await ProbeAsync(server, Short with { IdentifyService = false });
        Assert.Equal(1, connections);
        Assert.Null(X224Of(report).Service);
        // Without identification the attribution step alone speaks: silence after the Connection Request.
        Assert.StartsWith("The server accepted the TCP connection but never answered the X.224 Connection Request (not even with its 19-byte Connection Confirm)", report.Verdict.Summary, StringComparison.Ordinal);
        Assert.DoesNotContain("Identifying the service", report.Verdict.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void The_http_request_is_http_1_0_with_a_host_header()
    {
        Assert.Equal("GET / HTTP/1.0\r\nHost: rdp.example.test:3389\r\nUser-Agent: rdpprobe\r\nAccept: */*\r\n\r\n",
            Encoding.ASCII.GetString(ServiceIdentify.HttpRequest("rdp.example.test", 3389)));
        Assert.StartsWith("GET / HTTP/1.0\r\nHost: [::1]:3389\r\n", Encoding.ASCII.GetString(ServiceIdentify.HttpRequest("::1", 3389)), StringComparison.Ordinal);
    }
}
