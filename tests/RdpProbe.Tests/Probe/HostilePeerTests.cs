using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using RdpProbe.Diagnosis;
using RdpProbe.Probe;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.Probe;

/// <summary>The memory bounds below are process-wide allocation counts: measured with nothing else running.</summary>
[CollectionDefinition(nameof(HostilePeerTests), DisableParallelization = true)]
public sealed class HostilePeerCollection;

/// <summary>
/// Hostile peers (issue 17): each answer must end in the right verdict within the phase timeout and with bounded
/// memory. Garbage, half-close, slow drip, an unrequested protocol and the oversized TPKT's verdict are pinned in
/// <see cref="ProbeEngineFakeServerTests"/>; here are the rest, and the time and memory bounds.
/// </summary>
[Collection(nameof(HostilePeerTests))]
public sealed class HostilePeerTests
{
    /// <summary>Generous: the probe's own work (a TLS handshake, the report) is a few megabytes at most.</summary>
    private const long MemoryBound = 32L * 1024 * 1024;

    private static readonly ProbeOptions Short = new()
    {
        PhaseTimeout = TimeSpan.FromSeconds(2),
        SecurityMatrix = false,
        TlsVersions = false,
        ClientSimulation = false,
        EncryptionLevels = false,
        SessionPhases = false,
    };

    private static readonly Lazy<X509Certificate2> Certificate = new(() =>
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=hostile.test", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var ephemeral = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null);
    });

    private sealed record Outcome(ProbeReport Report, TimeSpan Elapsed, long Allocated);

    /// <summary>Runs the probe against <paramref name="script"/> (called after the Connection Request was read).</summary>
    private static async Task<Outcome> ProbeAsync(Func<Socket, NetworkStream, CancellationToken, Task> script, ProbeOptions? options = null)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var serve = Task.Run(async () =>
        {
            using var socket = await listener.AcceptSocketAsync(stop.Token);
            await using var network = new NetworkStream(socket, ownsSocket: false);
            try
            {
                await FakeRdpServer.ReadConnectionRequestAsync(socket, stop.Token);
                await script(socket, network, stop.Token);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or AuthenticationException)
            {
                // The probe hung up first: what the test checks is the probe's side.
            }
        });

        // Warm the engine's code paths so JIT and first-use allocations are not counted against the peer's case.
        GC.Collect();
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var clock = Stopwatch.StartNew();
        var reports = await new ProbeEngine(options ?? Short).RunAsync(ProbeTarget.Parse($"127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}"), CancellationToken.None);
        clock.Stop();
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        await stop.CancelAsync();
        await serve.WaitAsync(TimeSpan.FromSeconds(30));
        return new Outcome(Assert.Single(reports), clock.Elapsed, allocated);
    }

    private static void AssertBounded(Outcome outcome, TimeSpan within)
    {
        Assert.True(outcome.Elapsed < within, $"took {outcome.Elapsed}");
        Assert.True(outcome.Allocated < MemoryBound, $"allocated {outcome.Allocated:N0} bytes");
    }

    private static async Task HoldAsync(NetworkStream stream, CancellationToken ct)
    {
        var sink = new byte[4096];
        while (await stream.ReadAsync(sink, ct) > 0)
        {
        }
    }

    private static string Describe(ProbeReport r) => $"{r.Verdict.Phase} {r.Verdict.Ending} {r.Verdict.Code}: {r.Verdict.Summary}";

    [Fact]
    public async Task Tpkt_announcing_65535_bytes_then_silence_ends_at_once_without_reading_them()
    {
        var outcome = await ProbeAsync(async (socket, stream, ct) =>
        {
            await stream.WriteAsync(new byte[] { 0x03, 0x00, 0xFF, 0xFF, 0x02, 0xF0, 0x80 }, ct);
            await HoldAsync(stream, ct);
        });

        Assert.Equal(Ending.ProtocolViolation, outcome.Report.Verdict.Ending);
        AssertBounded(outcome, TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task Garbage_after_a_valid_connection_confirm_is_a_tls_protocol_violation()
    {
        var outcome = await ProbeAsync(async (socket, stream, ct) =>
        {
            // In the same segment as the confirm, before the client even sent its ClientHello: the X.224 reader must
            // leave these bytes to the TLS phase, which sees no TLS record in them (RFC 8446 5.1 content types).
            byte[] garbage = [.. Enumerable.Repeat<byte[]>([0xDE, 0xAD, 0xBE, 0xEF], 500).SelectMany(b => b)];
            await stream.WriteAsync((byte[])[.. FakeRdpServer.Confirm(SecurityProtocols.Ssl), .. garbage], ct);
            await HoldAsync(stream, ct);
        });

        var report = outcome.Report;
        Assert.True(report.Phases.Single(p => p.Phase == Phase.X224).Status == PhaseStatus.Ok, Describe(report));
        Assert.Equal(Phase.Tls, report.Verdict.Phase);
        Assert.Equal(Ending.ProtocolViolation, report.Verdict.Ending);
        Assert.Equal("garbage", report.Verdict.Code?.Word);

        // What the peer sent, not an alert the client raised.
        Assert.Contains("de ad be ef", report.Phases.Single(p => p.Phase == Phase.Tls).Detail, StringComparison.Ordinal);
        AssertBounded(outcome, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Fifty_megabyte_flood_instead_of_a_confirm_is_read_no_further_than_its_first_bytes()
    {
        long sent = 0;
        var outcome = await ProbeAsync(async (socket, stream, ct) =>
        {
            var chunk = new byte[64 * 1024];
            new Random(17).NextBytes(chunk);
            chunk[0] = 0x03;
            chunk[1] = 0x00;
            while (sent < 50L * 1024 * 1024)
            {
                await stream.WriteAsync(chunk, ct);
                sent += chunk.Length;
            }
        });

        Assert.Equal(Phase.X224, outcome.Report.Verdict.Phase);
        Assert.Equal(Ending.ProtocolViolation, outcome.Report.Verdict.Ending);
        AssertBounded(outcome, TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Fifty_megabyte_flood_after_a_tls_confirm_is_bounded()
    {
        var outcome = await ProbeAsync(async (socket, stream, ct) =>
        {
            await stream.WriteAsync(FakeRdpServer.Confirm(SecurityProtocols.Ssl), ct);

            // A TLS record header announcing a handshake record, then 50 MB that never make sense.
            var chunk = new byte[64 * 1024];
            new Random(18).NextBytes(chunk);
            chunk[0] = 0x16;
            chunk[1] = 0x03;
            chunk[2] = 0x03;
            for (int i = 0; i < 800; i++)
            {
                await stream.WriteAsync(chunk, ct);
            }
        });

        Assert.Equal(Phase.Tls, outcome.Report.Verdict.Phase);
        Assert.False(outcome.Report.Verdict.Ok);
        AssertBounded(outcome, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Unknown_failure_code_is_a_negotiation_failure_that_shows_the_code()
    {
        var outcome = await ProbeAsync(async (socket, stream, ct) =>
        {
            await stream.WriteAsync(X224.EncodeConnectionConfirm(new X224ConnectionConfirm(0x1234, new NegotiationMessage(NegotiationType.Failure, 0, 0x4242))), ct);
            await HoldAsync(stream, ct);
        });

        var report = outcome.Report;
        Assert.Equal(Phase.X224, report.Verdict.Phase);
        Assert.Equal(Ending.NegotiationFailure, report.Verdict.Ending);
        Assert.Equal("unknown_failure_code_16962", report.Verdict.Code?.Word);
        Assert.Contains("RDP_NEG_FAILURE 16962", report.Phases.Single(p => p.Phase == Phase.X224).Detail, StringComparison.Ordinal);
        AssertBounded(outcome, TimeSpan.FromSeconds(2));
    }

    /// <summary>After TLS, the server answers the client's first TSRequest (MS-CSSP 2.2.1) with <paramref name="answer"/>.</summary>
    private static Task<Outcome> CredsspAnswerAsync(byte[] answer) => ProbeAsync(CredsspScript(answer), Short with { PhaseTimeout = TimeSpan.FromSeconds(10) });

    private static Func<Socket, NetworkStream, CancellationToken, Task> CredsspScript(byte[] answer) => async (socket, stream, ct) =>
    {
        await stream.WriteAsync(FakeRdpServer.Confirm(SecurityProtocols.Hybrid), ct);
        await using var tls = new SslStream(stream, leaveInnerStreamOpen: true);
        await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = Certificate.Value }, ct);
        var negotiate = new byte[4096];
        _ = await tls.ReadAsync(negotiate, ct);
        await tls.WriteAsync(answer, ct);
        await tls.FlushAsync(ct);
        var sink = new byte[4096];
        while (await tls.ReadAsync(sink, ct) > 0)
        {
        }
    };

    [Fact]
    public async Task Credssp_answer_announcing_two_gigabytes_is_a_violation_without_allocating_them()
    {
        // SEQUENCE with a 4-byte length of 0x7FFFFFFF, then the start of a TSRequest version.
        var outcome = await CredsspAnswerAsync([0x30, 0x84, 0x7F, 0xFF, 0xFF, 0xFF, 0xA0, 0x03, 0x02, 0x01, 0x06]);

        Assert.True(outcome.Report.Verdict.Phase == Phase.Credssp, Describe(outcome.Report) + " | " + string.Join(" / ", outcome.Report.Phases.Select(p => $"{p.Phase} {p.Status} {p.Detail}")));
        Assert.True(outcome.Report.Verdict.Ending == Ending.ProtocolViolation, Describe(outcome.Report) + " | " + outcome.Report.Phases.Single(p => p.Phase == Phase.Credssp).Detail);
        Assert.Equal(Ending.ProtocolViolation, outcome.Report.Verdict.Ending);
        AssertBounded(outcome, TimeSpan.FromSeconds(9));
    }

    [Fact]
    public async Task Credssp_answer_nested_thousands_deep_is_a_violation()
    {
        // 4,000 nested [0] constructed tags inside the SEQUENCE: well-formed DER, absurd structure.
        const int depth = 4000;
        var inner = new List<byte> { 0x02, 0x01, 0x06 };
        for (int i = 0; i < depth; i++)
        {
            int length = inner.Count;
            inner.InsertRange(0, [0xA0, 0x82, (byte)(length >> 8), (byte)length]);
        }

        int total = inner.Count;
        byte[] answer = [0x30, 0x83, (byte)(total >> 16), (byte)(total >> 8), (byte)total, .. inner];
        var outcome = await CredsspAnswerAsync(answer);

        Assert.Equal(Phase.Credssp, outcome.Report.Verdict.Phase);
        Assert.Equal(Ending.ProtocolViolation, outcome.Report.Verdict.Ending);
        AssertBounded(outcome, TimeSpan.FromSeconds(10));
    }
}
