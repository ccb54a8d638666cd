using System.Buffers;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using RdpProbe.Protocol;

namespace RdpProbe.IntegrationTests.Lab;

/// <summary>
/// Proves the lab itself with raw sockets and the shared X.224 codec: if these fail, a probe test failing against
/// the lab says nothing about the probe.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class LabSelfTests(LabFixture lab)
{
    private static readonly TimeSpan IoTimeout = TimeSpan.FromSeconds(10);

    public static TheoryData<string> ServerNames => ["xrdp", "shadow-nla", "shadow-tls", "shadow-rdp"];

    [Theory]
    [MemberData(nameof(ServerNames))]
    public async Task EveryServerPortAcceptsTcp(string server)
    {
        var endpoint = EndpointOf(server);
        using var socket = await ConnectAsync(endpoint);
        Assert.True(socket.Connected);
        Assert.Equal(endpoint, socket.RemoteEndPoint);
    }

    [Fact]
    public async Task ClosedPortRefusesTheConnection()
    {
        var error = await Assert.ThrowsAsync<SocketException>(() => ConnectAsync(lab.Endpoints.ClosedPort));
        Assert.Equal(SocketError.ConnectionRefused, error.SocketErrorCode);
    }

    [Fact]
    public async Task NlaServerRefusesPlainRdpWithHybridRequired()
    {
        var confirm = await NegotiateAsync(lab.Endpoints.ShadowNla, SecurityProtocols.Rdp);
        Assert.True(confirm.IsFailure);
        Assert.Equal(NegotiationFailureCode.HybridRequiredByServer, confirm.FailureCode);
    }

    [Fact]
    public async Task NlaServerSelectsHybridWhenOffered()
    {
        var confirm = await NegotiateAsync(lab.Endpoints.ShadowNla, SecurityProtocols.Ssl | SecurityProtocols.Hybrid);
        Assert.Equal(SecurityProtocols.Hybrid, confirm.SelectedProtocol);
    }

    [Fact]
    public async Task TlsOnlyServerRefusesPlainRdpWithSslRequired()
    {
        var confirm = await NegotiateAsync(lab.Endpoints.ShadowTls, SecurityProtocols.Rdp);
        Assert.True(confirm.IsFailure);
        Assert.Equal(NegotiationFailureCode.SslRequiredByServer, confirm.FailureCode);
    }

    [Fact]
    public async Task RdpOnlyServerRefusesTlsWithSslNotAllowed()
    {
        var confirm = await NegotiateAsync(lab.Endpoints.ShadowRdp, SecurityProtocols.Ssl);
        Assert.True(confirm.IsFailure);
        Assert.Equal(NegotiationFailureCode.SslNotAllowedByServer, confirm.FailureCode);
    }

    [Fact]
    public async Task XrdpSelectsSslWhenOfferedSslHybridAndHybridEx()
    {
        var confirm = await NegotiateAsync(lab.Endpoints.Xrdp, SecurityProtocols.Ssl | SecurityProtocols.Hybrid | SecurityProtocols.HybridEx);
        Assert.False(confirm.IsFailure);
        Assert.Equal(SecurityProtocols.Ssl, confirm.SelectedProtocol);
    }

    [Fact]
    public async Task XrdpCompletesATlsHandshakeAfterSelectingSsl()
    {
        using var socket = await ConnectAsync(lab.Endpoints.Xrdp);
        var confirm = await ExchangeConnectionRequestAsync(socket, SecurityProtocols.Ssl);
        Assert.Equal(SecurityProtocols.Ssl, confirm.SelectedProtocol);

        await using var tls = await StartTlsAsync(socket, CancellationToken.None);
        Assert.True(tls.IsAuthenticated);
        Assert.True(tls.SslProtocol is SslProtocols.Tls12 or SslProtocols.Tls13, $"negotiated {tls.SslProtocol}");
    }

    [Fact]
    public async Task ResetFaultResetsTheFirstLargeClientSegment()
    {
        int port = lab.Endpoints.ShadowTls.Port;
        using (Faults.ResetAtClientHello(port))
        {
            Assert.Contains(Faults.InstalledRules(), rule => rule.Contains($"--dport {port}", StringComparison.Ordinal) && rule.Contains("tcp-reset", StringComparison.Ordinal));

            using var socket = await ConnectAsync(lab.Endpoints.ShadowTls);
            // The X.224 exchange is below 200 bytes, so it passes; the 300-byte write stands in for a ClientHello.
            var confirm = await ExchangeConnectionRequestAsync(socket, SecurityProtocols.Ssl);
            Assert.Equal(SecurityProtocols.Ssl, confirm.SelectedProtocol);

            var payload = new byte[300];
            payload[0] = 0x16;
            var error = await Assert.ThrowsAsync<SocketException>(async () =>
            {
                using var cts = new CancellationTokenSource(IoTimeout);
                await socket.SendAsync(payload, SocketFlags.None, cts.Token);
                var buffer = new byte[4096];
                // The RST arrives for the segment just sent; the next receive reports it.
                while (await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token) > 0)
                {
                }
            });
            Assert.Equal(SocketError.ConnectionReset, error.SocketErrorCode);
        }

        Assert.DoesNotContain(Faults.InstalledRules(), rule => rule.Contains($"--dport {port}", StringComparison.Ordinal) && rule.Contains("tcp-reset", StringComparison.Ordinal));

        // The RST went to the client only; removing the fault also closes the server's orphaned end, after which
        // the shadow server serves new connections through TLS again.
        using var after = await ConnectAsync(lab.Endpoints.ShadowTls);
        Assert.Equal(SecurityProtocols.Ssl, (await ExchangeConnectionRequestAsync(after, SecurityProtocols.Ssl)).SelectedProtocol);
        await using var tlsAfter = await StartTlsAsync(after, CancellationToken.None);
        Assert.True(tlsAfter.IsAuthenticated);
    }

    [Fact]
    public async Task BlackholeFaultStallsTheTlsHandshakeUntilRemoved()
    {
        int port = lab.Endpoints.ShadowTls.Port;
        using (Faults.DropLargeServerSegments(port))
        {
            using var socket = await ConnectAsync(lab.Endpoints.ShadowTls);
            var confirm = await ExchangeConnectionRequestAsync(socket, SecurityProtocols.Ssl);
            Assert.Equal(SecurityProtocols.Ssl, confirm.SelectedProtocol);

            // The server's flight (ServerHello + certificate) exceeds 1000 bytes and is dropped, so the handshake
            // can only end by our cancellation: it never completes and is never refused.
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            {
                await using var tls = await StartTlsAsync(socket, cts.Token);
            });
        }

        using var after = await ConnectAsync(lab.Endpoints.ShadowTls);
        Assert.Equal(SecurityProtocols.Ssl, (await ExchangeConnectionRequestAsync(after, SecurityProtocols.Ssl)).SelectedProtocol);
        await using var tlsAfter = await StartTlsAsync(after, CancellationToken.None);
        Assert.True(tlsAfter.IsAuthenticated);
    }

    [Fact]
    public async Task ClosedUdpPortAnswersUnreachableAndDropFaultSilencesIt()
    {
        // The closed TCP port has no UDP listener either; a connected UDP socket surfaces the ICMP port unreachable.
        int port = lab.Endpoints.ClosedPort.Port;
        using (var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            await udp.ConnectAsync(lab.Endpoints.ClosedPort);
            await udp.SendAsync(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF }, SocketFlags.None);
            using var cts = new CancellationTokenSource(IoTimeout);
            var error = await Assert.ThrowsAsync<SocketException>(async () => await udp.ReceiveAsync(new byte[64], SocketFlags.None, cts.Token));
            Assert.Equal(SocketError.ConnectionRefused, error.SocketErrorCode);
        }

        using (Faults.DropUdp(port))
        using (var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            await udp.ConnectAsync(lab.Endpoints.ClosedPort);
            await udp.SendAsync(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF }, SocketFlags.None);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await udp.ReceiveAsync(new byte[64], SocketFlags.None, cts.Token));
        }
    }

    private IPEndPoint EndpointOf(string server) => server switch
    {
        "xrdp" => lab.Endpoints.Xrdp,
        "shadow-nla" => lab.Endpoints.ShadowNla,
        "shadow-tls" => lab.Endpoints.ShadowTls,
        "shadow-rdp" => lab.Endpoints.ShadowRdp,
        _ => throw new ArgumentOutOfRangeException(nameof(server), server, "unknown lab server"),
    };

    private static async Task<Socket> ConnectAsync(IPEndPoint endpoint)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var cts = new CancellationTokenSource(IoTimeout);
            await socket.ConnectAsync(endpoint, cts.Token);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static async Task<X224ConnectionConfirm> NegotiateAsync(IPEndPoint endpoint, SecurityProtocols requested)
    {
        using var socket = await ConnectAsync(endpoint);
        return await ExchangeConnectionRequestAsync(socket, requested);
    }

    /// <summary>Sends an X.224 CR with an RDP_NEG_REQ (MS-RDPBCGR 2.2.1.1) and reads the whole CC (2.2.1.2).</summary>
    private static async Task<X224ConnectionConfirm> ExchangeConnectionRequestAsync(Socket socket, SecurityProtocols requested)
    {
        using var cts = new CancellationTokenSource(IoTimeout);
        var request = new X224ConnectionRequest("probe", null, new NegotiationMessage(NegotiationType.Request, 0, (uint)requested), null);
        await socket.SendAsync(X224.EncodeConnectionRequest(request), SocketFlags.None, cts.Token);

        var buffer = new byte[512];
        int filled = 0;
        while (true)
        {
            var status = X224.TryReadConnectionConfirm(buffer.AsSpan(0, filled), out var confirm, out _, out var error);
            if (status == OperationStatus.Done)
            {
                return confirm!;
            }

            Assert.True(status == OperationStatus.NeedMoreData, $"invalid Connection Confirm ({error}): {Convert.ToHexString(buffer, 0, filled)}");
            Assert.True(filled < buffer.Length, "Connection Confirm larger than 512 bytes");
            int read = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, cts.Token);
            Assert.True(read > 0, $"server closed after {filled} bytes: {Convert.ToHexString(buffer, 0, filled)}");
            filled += read;
        }
    }

    private static async Task<SslStream> StartTlsAsync(Socket socket, CancellationToken cancellationToken)
    {
        // The lab servers use self-signed certificates; the point here is that the handshake completes.
        var tls = new SslStream(new NetworkStream(socket, ownsSocket: false), leaveInnerStreamOpen: false, (_, _, _, _) => true);
        try
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            cts.CancelAfter(IoTimeout);
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "lab" }, cts.Token);
            return tls;
        }
        catch
        {
            await tls.DisposeAsync();
            throw;
        }
    }
}
