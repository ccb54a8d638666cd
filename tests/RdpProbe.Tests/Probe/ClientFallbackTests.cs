using System.Net;
using System.Net.Sockets;
using System.Text;
using RdpProbe.Diagnosis;
using RdpProbe.Probe;
using RdpProbe.Protocol;
using SessionServer = RdpProbe.Tests.Probe.Phases.FakeRdpServer;

namespace RdpProbe.Tests.Probe;

/// <summary>
/// Issue 10, fallback like real clients: a scripted server that allows only Standard RDP Security answers every request
/// with TLS or NLA in it with RDP_NEG_FAILURE ssl_not_allowed_by_server (MS-RDPBCGR 2.2.1.2.2) and a request for
/// PROTOCOL_RDP alone with Standard RDP Security and the session phases. The engine retries on a new connection the
/// way the chosen profile does, records every attempt and judges the outcome as that client.
/// </summary>
public sealed class ClientFallbackTests
{
    private const string Password = "Fallback-Pa55!";

    private static readonly ProbeOptions Options = new()
    {
        PhaseTimeout = TimeSpan.FromSeconds(10),
        SecurityMatrix = false,
        TlsVersions = false,
        ClientSimulation = false,
        EncryptionLevels = false,
    };

    /// <summary>The rdp-only server: every connection's request, and the bytes the client sent on the one that ran the session.</summary>
    private sealed class RdpOnlyServer : IAsyncDisposable
    {
        private readonly TcpListener listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource stop = new(TimeSpan.FromSeconds(60));
        private readonly Task loop;
        private readonly List<Task> connections = [];
        private readonly MemoryStream received = new();

        public RdpOnlyServer()
        {
            listener.Start();
            loop = Task.Run(async () =>
            {
                for (int i = 0; i < 8; i++)
                {
                    Socket socket;
                    try
                    {
                        socket = await listener.AcceptSocketAsync(stop.Token);
                    }
                    catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
                    {
                        return;
                    }

                    lock (connections)
                    {
                        connections.Add(Task.Run(() => ServeAsync(socket)));
                    }
                }
            });
        }

        public List<SecurityProtocols> Requests { get; } = [];

        public SessionServer Session { get; } = new() { StandardSecurity = true };

        public string Target => $"127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}";

        public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

        public byte[] Received
        {
            get
            {
                lock (received)
                {
                    return received.ToArray();
                }
            }
        }

        private async Task ServeAsync(Socket socket)
        {
            using var owned = socket;
            await using var network = new NetworkStream(socket, ownsSocket: false);
            try
            {
                var frame = await Phases.ScriptedServer.ReadTpktAsync(network, stop.Token);
                X224.TryReadConnectionRequest(frame, out var request, out _, out _);
                var asked = request!.RequestedProtocols ?? SecurityProtocols.Rdp;
                lock (Requests)
                {
                    Requests.Add(asked);
                }

                if (asked != SecurityProtocols.Rdp)
                {
                    await network.WriteAsync(FakeRdpServer.Failure(NegotiationFailureCode.SslNotAllowedByServer), stop.Token);
                    return;
                }

                await network.WriteAsync(FakeRdpServer.Confirm(SecurityProtocols.Rdp), stop.Token);
                var recorder = new Recorder(network, received);
                await Session.RunAsync(recorder, stop.Token);
                var sink = new byte[4096];
                while (await network.ReadAsync(sink, stop.Token) > 0)
                {
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException)
            {
            }
        }

        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            listener.Stop();
            await loop;
            Task[] all;
            lock (connections)
            {
                all = [.. connections];
            }

            await Task.WhenAll(all).WaitAsync(TimeSpan.FromSeconds(10));
            stop.Dispose();
        }
    }

    /// <summary>Keeps every byte the client sent.</summary>
    private sealed class Recorder(Stream inner, MemoryStream seen) : Stream
    {
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            int n = await inner.ReadAsync(buffer, cancellationToken);
            lock (seen)
            {
                seen.Write(buffer.Span[..n]);
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

    private static async Task<ProbeReport> ProbeAsync(RdpOnlyServer server, ProbeOptions options, bool withCredentials = false)
    {
        var engine = new ProbeEngine(options);
        if (withCredentials)
        {
            engine = engine.WithCredentials("LAB\\probe", Password);
        }

        return Assert.Single(await engine.RunAsync(ProbeTarget.Parse(server.Target), CancellationToken.None));
    }

    [Fact]
    public async Task Windows11_falls_back_to_standard_security_and_connects_insecurely()
    {
        await using var server = new RdpOnlyServer();
        var report = await ProbeAsync(server, Options);

        Assert.Equal([ProbeOptions.DefaultProtocols, SecurityProtocols.Rdp], server.Requests);
        Assert.Equal(2, report.Attempts.Count);
        var first = report.Attempts[0];
        Assert.Equal(ProbeOptions.DefaultProtocols, first.RequestedProtocols);
        Assert.Equal(NegotiationFailureCode.SslNotAllowedByServer, first.FailureCode);
        Assert.Equal("ssl_not_allowed_by_server", first.FallbackReason);
        Assert.False(first.Outcome.Ok);
        Assert.Equal(Phase.X224, first.Outcome.Phase);
        Assert.Equal([Phase.Tcp, Phase.X224], first.Phases.Select(p => p.Phase));

        var last = report.Attempts[1];
        Assert.Equal(SecurityProtocols.Rdp, last.RequestedProtocols);
        Assert.Equal(SecurityProtocols.Rdp, last.SelectedProtocol);
        Assert.Null(last.FallbackReason);
        Assert.True(last.Outcome.Ok);

        // The report's phases are the final attempt's: the refused first connection is in Attempts only.
        Assert.Equal(last.Phases, report.Phases);
        Assert.Equal(SecurityProtocols.Rdp, report.Negotiation.RequestedProtocols);
        Assert.Null(report.Negotiation.FailureCode);

        Assert.True(report.Verdict.Ok, report.Verdict.Summary);
        Assert.Equal(Phase.Capabilities, report.Verdict.Phase);
        Assert.Contains("Windows 11 connects with Standard RDP Security after the server refused ssl|hybrid|hybrid_ex (ssl_not_allowed_by_server)", report.Verdict.Summary);
        Assert.Contains("no server authentication, RC4", report.Verdict.Summary);

        Assert.Equal(Compatibility.ConnectsInsecurely, report.ClientVerdict!.Result);
        Assert.Equal("windows11", report.ClientVerdict.Profile);
        Assert.Equal(ClientProfiles.All.Count, report.Compatibility.Count);
        Assert.Equal(Compatibility.Fails, report.Compatibility.Single(v => v.Profile == "permissive").Result);

        // Asking for PROTOCOL_RDP and getting it is no downgrade; that the server accepts it is the finding.
        Assert.Contains(report.Findings, f => f.Code == FindingRules.Codes.StandardRdpSecurityAccepted);
        Assert.DoesNotContain(report.Findings, f => f.Code == FindingRules.Codes.SecurityDowngrade);
    }

    [Fact]
    public async Task Freerdp2_retries_with_tls_alone_and_then_standard_security()
    {
        await using var server = new RdpOnlyServer();
        var report = await ProbeAsync(server, Options with { Client = ClientProfiles.FreeRdp2 });

        Assert.Equal([SecurityProtocols.Ssl | SecurityProtocols.Hybrid, SecurityProtocols.Ssl, SecurityProtocols.Rdp], server.Requests);
        Assert.Equal([SecurityProtocols.Ssl | SecurityProtocols.Hybrid, SecurityProtocols.Ssl, SecurityProtocols.Rdp], report.Attempts.Select(a => a.RequestedProtocols));
        Assert.True(report.Verdict.Ok, report.Verdict.Summary);
        Assert.Contains("FreeRDP 2 connects with Standard RDP Security", report.Verdict.Summary);
        Assert.Equal(Compatibility.ConnectsInsecurely, report.ClientVerdict!.Result);
    }

    [Fact]
    public async Task The_permissive_profile_never_falls_back_and_fails_at_x224_as_before()
    {
        await using var server = new RdpOnlyServer();
        var report = await ProbeAsync(server, Options with { Client = ClientProfiles.Permissive });

        Assert.Single(server.Requests);
        Assert.Single(report.Attempts);
        Assert.False(report.Verdict.Ok);
        Assert.Equal(Phase.X224, report.Verdict.Phase);
        Assert.Equal(Ending.NegotiationFailure, report.Verdict.Ending);
        Assert.Equal("ssl_not_allowed_by_server", report.Verdict.Code?.Word);
        Assert.Equal(Compatibility.Fails, report.ClientVerdict!.Result);
    }

    [Fact]
    public async Task Protocols_given_explicitly_are_never_retried_with_another_request()
    {
        await using var server = new RdpOnlyServer();
        var forced = Options with { RequestedProtocols = ProbeOptions.DefaultProtocols };
        Assert.True(forced.ProtocolsForced);
        Assert.False(Options.ProtocolsForced);
        var report = await ProbeAsync(server, forced);

        Assert.Equal([ProbeOptions.DefaultProtocols], server.Requests);
        Assert.Single(report.Attempts);
        Assert.False(report.Verdict.Ok);
        Assert.Equal("ssl_not_allowed_by_server", report.Verdict.Code?.Word);

        // The profile is judged as configured to ask for exactly that: without its fallback it gives up too.
        Assert.Equal(Compatibility.Fails, report.ClientVerdict!.Result);
        Assert.Equal(Phase.X224, report.ClientVerdict.FailPhase);
    }

    [Fact]
    public async Task The_password_is_not_sent_over_a_fallback_to_standard_security()
    {
        await using var server = new RdpOnlyServer();
        var report = await ProbeAsync(server, Options, withCredentials: true);

        Assert.Equal(2, report.Attempts.Count);
        Assert.True(report.Attempts[1].PasswordWithheld);
        Assert.False(report.Attempts[0].PasswordWithheld);
        Assert.Equal(0, server.Session.ClientInfoSeen!.Value.PasswordBytes);
        var received = server.Received;
        Assert.True(received.AsSpan().IndexOf(Encoding.Unicode.GetBytes(Password)) < 0);
        Assert.True(received.AsSpan().IndexOf(Encoding.UTF8.GetBytes(Password)) < 0);

        Assert.True(report.Verdict.Ok, report.Verdict.Summary);
        Assert.Contains("The credentials were not checked", report.Verdict.Summary);
        Assert.Contains("requesting only PROTOCOL_RDP", report.Verdict.Summary);
        Assert.Contains(report.Findings, f => f.Code == FindingRules.Codes.CredentialsNotVerified);
    }

    [Fact]
    public async Task Standard_security_asked_for_explicitly_still_carries_the_password_encrypted()
    {
        // The control: --protocols rdp is the user's yes, and the guard lets the password go RC4-encrypted (autologon);
        // it is still not checked in the handshake, and the verdict says so.
        await using var server = new RdpOnlyServer();
        var report = await ProbeAsync(server, Options with { RequestedProtocols = SecurityProtocols.Rdp }, withCredentials: true);

        Assert.Single(report.Attempts);
        Assert.False(report.Attempts[0].PasswordWithheld);
        Assert.Equal(Encoding.Unicode.GetByteCount(Password), server.Session.ClientInfoSeen!.Value.PasswordBytes);
        Assert.True(report.Verdict.Ok, report.Verdict.Summary);
        Assert.Contains("The credentials were not checked: without NLA", report.Verdict.Summary);
        Assert.Contains("Windows 11 connects with Standard RDP Security: no server authentication, RC4", report.Verdict.Summary);
        Assert.Contains(report.Findings, f => f.Code == FindingRules.Codes.CredentialsNotVerified);
    }
}
