using System.Net;
using System.Net.Sockets;
using System.Text;
using RdpProbe.Diagnosis;
using RdpProbe.Probe;
using RdpProbe.Protocol;
using RdpProbe.Reports;
using SessionServer = RdpProbe.Tests.Probe.Phases.FakeRdpServer;

namespace RdpProbe.Tests.Probe;

/// <summary>
/// Issue 17, first item: the password never leaves over a connection that is not encrypted and authenticated as the
/// user asked. A scripted server (no real server here downgrades a TLS request to Standard RDP Security with
/// encryption none) answers the X.224 request with whatever selection the case needs, then plays the session phases;
/// every byte it receives is kept and searched for the password.
/// </summary>
public sealed class PasswordGuardTests
{
    private const string Password = "S3cret-Pa55word!";

    private static readonly ProbeOptions Options = new()
    {
        PhaseTimeout = TimeSpan.FromSeconds(10),
        SecurityMatrix = false,
        TlsVersions = false,
        ClientSimulation = false,
        EncryptionLevels = false,
    };

    /// <summary>Every byte the client sent, as the server read it.</summary>
    private sealed class Recorder(Stream inner) : Stream
    {
        private readonly MemoryStream _seen = new();

        public byte[] Seen
        {
            get
            {
                lock (_seen)
                {
                    return _seen.ToArray();
                }
            }
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            int n = await inner.ReadAsync(buffer, cancellationToken);
            lock (_seen)
            {
                _seen.Write(buffer.Span[..n]);
            }

            return n;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.WriteAsync(buffer, offset, count, cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Flush() => inner.Flush();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    }

    private static async Task<(ProbeReport Report, byte[] Received, SessionServer Session)> ProbeAsync(SecurityProtocols requested, bool noEncryption)
    {
        var session = new SessionServer { StandardSecurity = true, NoEncryption = noEncryption };
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        Recorder? recorder = null;
        var serve = Task.Run(async () =>
        {
            using var socket = await listener.AcceptSocketAsync(stop.Token);
            await using var network = new NetworkStream(socket, ownsSocket: false);
            recorder = new Recorder(network);
            var request = await Phases.ScriptedServer.ReadTpktAsync(recorder, stop.Token);
            Assert.Equal(X224TpduCode.ConnectionRequest, (X224TpduCode)request[5]);

            // RDP_NEG_RSP selecting PROTOCOL_RDP (0), whatever was asked.
            await recorder.WriteAsync(X224.EncodeConnectionConfirm(new X224ConnectionConfirm(0x1234, new NegotiationMessage(NegotiationType.Response, 0, 0))), stop.Token);
            try
            {
                await session.RunAsync(recorder, stop.Token);
            }
            catch (Exception)
            {
                // The probe hangs up before the Client Info PDU in the refusal cases: the script's next read fails.
            }
        });

        var engine = new ProbeEngine(Options with { RequestedProtocols = requested }).WithCredentials("LAB\\probe", Password);
        var report = Assert.Single(await engine.RunAsync(ProbeTarget.Parse($"127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}"), CancellationToken.None));
        await serve.WaitAsync(TimeSpan.FromSeconds(30));
        return (report, recorder!.Seen, session);
    }

    private static bool Contains(byte[] haystack, string secret)
        => haystack.AsSpan().IndexOf(Encoding.Unicode.GetBytes(secret)) >= 0 || haystack.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret)) >= 0;

    [Theory]
    [InlineData(ProbeOptions.DefaultProtocols, false)]
    [InlineData(ProbeOptions.DefaultProtocols, true)]
    [InlineData(SecurityProtocols.Ssl, true)]
    [InlineData(SecurityProtocols.Ssl, false)]
    public async Task A_downgrade_to_standard_security_never_receives_the_password(SecurityProtocols requested, bool noEncryption)
    {
        var (report, received, session) = await ProbeAsync(requested, noEncryption);

        Assert.False(Contains(received, Password), "the server received the password");
        Assert.Null(session.ClientInfoSeen);
        Assert.False(report.Verdict.Ok);
        Assert.Equal(Phase.ClientInfo, report.Verdict.Phase);
        Assert.Equal(Ending.ClientRefused, report.Verdict.Ending);
        Assert.Equal("downgraded_to_standard_security", report.Verdict.Code?.Word);
        Assert.Contains("did not send the password", report.Verdict.Summary);

        var downgrade = Assert.Single(report.Findings, f => f.Code == "security_downgrade");
        Assert.Equal(Severity.Critical, downgrade.Severity);
        Assert.Equal(noEncryption, report.Findings.Any(f => f is { Code: "encryption_none", Severity: Severity.Critical }));

        string json = ProbeJson.Serialize(report);
        Assert.DoesNotContain(Password, json);
        var findings = System.Text.Json.JsonDocument.Parse(json).RootElement.GetProperty("findings").EnumerateArray().ToList();
        Assert.Contains(findings, f => f.GetProperty("code").GetString() == "security_downgrade" && f.GetProperty("severity").GetString() == "critical");
    }

    [Fact]
    public async Task Standard_security_without_encryption_never_receives_the_password_even_when_requested()
    {
        var (report, received, session) = await ProbeAsync(SecurityProtocols.Rdp, noEncryption: true);

        Assert.False(Contains(received, Password), "the server received the password");
        Assert.Null(session.ClientInfoSeen);
        Assert.Equal(Ending.ClientRefused, report.Verdict.Ending);
        Assert.Equal("no_encryption", report.Verdict.Code?.Word);
        Assert.Contains(report.Findings, f => f is { Code: "encryption_none", Severity: Severity.Critical });
        Assert.DoesNotContain(report.Findings, f => f.Code == "security_downgrade");
    }

    [Fact]
    public async Task Standard_security_the_user_asked_for_with_encryption_carries_the_password_encrypted()
    {
        // The control: the guard is not a blanket refusal. Asked for rdp, the server encrypts with 128-bit RC4; the
        // password goes (autologon), and only encrypted: the server decrypted it with the session keys.
        var (report, received, session) = await ProbeAsync(SecurityProtocols.Rdp, noEncryption: false);

        Assert.True(report.Verdict.Ok, report.Verdict.Summary);
        Assert.Equal(Phase.Capabilities, report.Verdict.Phase);
        Assert.Equal(Encoding.Unicode.GetByteCount(Password), session.ClientInfoSeen!.Value.PasswordBytes);
        Assert.False(Contains(received, Password), "the password crossed in clear");
        Assert.DoesNotContain(report.Findings, f => f.Severity == Severity.Critical);
    }
}
