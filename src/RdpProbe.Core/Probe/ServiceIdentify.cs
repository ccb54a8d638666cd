using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using RdpProbe.Diagnosis;
using RdpProbe.Probe.NetPath;
using RdpProbe.Protocol;

namespace RdpProbe.Probe;

/// <summary>
/// Identifies the service on a port that did not answer an X.224 Connection Request (timeout, close or reset at x224),
/// in the manner of nmap's service detection but bounded to two short connections:
/// <list type="number">
/// <item>connect and wait briefly for a banner (services that speak first: SSH, SMTP, FTP, POP3, IMAP); if none, send an
/// HTTP/1.0 request on the same connection (HTTP servers wait for a whole request line, RFC 9112 §3) and read the answer;</item>
/// <item>when that identified nothing, a second connection sends a TLS ClientHello (RFC 8446 §4.1.2) and reads the
/// answer: a ServerHello or an alert is a TLS server.</item>
/// </list>
/// Every read is bounded in bytes (<see cref="ServiceFingerprints.MaxExamined"/>) and in time; nothing here is
/// retried. The answer is evidence for the x224 record, never the x224 phase's own outcome.
/// </summary>
internal static class ServiceIdentify
{
    /// <summary>How long the first connection waits for a banner before it speaks (services that greet do so at once).</summary>
    public static readonly TimeSpan BannerWait = TimeSpan.FromMilliseconds(1000);

    /// <summary>How long each request waits for its answer.</summary>
    public static readonly TimeSpan AnswerWait = TimeSpan.FromMilliseconds(2000);

    private enum End
    {
        Identified,
        Silence,
        Closed,
        Reset,
        NotKnown,
    }

    private sealed record Answer(byte[] Bytes, End End, double Ms);

    /// <summary>
    /// Runs the identification against <paramref name="endPoint"/>. <paramref name="limit"/> caps every single wait
    /// (the probe's per-phase timeout), so the whole run takes at most two connects plus three waits.
    /// </summary>
    public static async Task<ServiceEvidence> RunAsync(IPEndPoint endPoint, string? hostName, TimeSpan limit, CancellationToken ct)
    {
        var steps = new List<string>();
        TimeSpan bannerWait = Min(BannerWait, limit);
        TimeSpan answerWait = Min(AnswerWait, limit);

        // Connection 1: a banner, else an HTTP request.
        using (var first = await ConnectAsync(endPoint, limit, ct).ConfigureAwait(false))
        {
            if (first is null)
            {
                steps.Add("a second connection could not be opened");
                return new ServiceEvidence(null, "a second connection", steps, endPoint.Port);
            }

            var banner = await ReadAnswerAsync(first, bannerWait, ct).ConfigureAwait(false);
            if (Identified(banner) is { } greeting)
            {
                steps.Add($"a second connection got a banner within {Ms(banner.Ms)}: {greeting.Evidence}");
                return new ServiceEvidence(greeting, "a second connection, waiting without sending anything,", steps, endPoint.Port);
            }

            steps.Add(banner.End switch
            {
                End.Silence => $"a second connection got no banner within {Ms(banner.Ms)}",
                End.Closed => $"a second connection was closed without a word after {Ms(banner.Ms)}",
                End.Reset => $"a second connection was reset after {Ms(banner.Ms)}",
                _ => $"a second connection got {banner.Bytes.Length} bytes of no known protocol ({ByteSniffer.Hex(banner.Bytes, 16)})",
            });

            if (banner.End == End.Silence)
            {
                byte[] request = HttpRequest(hostName ?? endPoint.Address.ToString(), endPoint.Port);
                var http = await SendAndReadAsync(first, request, answerWait, ct).ConfigureAwait(false);
                if (Identified(http) is { } web)
                {
                    steps.Add($"an HTTP request on it got {web.Evidence}");
                    return new ServiceEvidence(web, "a second connection that sent an HTTP request", steps, endPoint.Port);
                }

                steps.Add($"an HTTP request on it got {Outcome(http)}");
            }
        }

        // Connection 2: a TLS ClientHello.
        using (var second = await ConnectAsync(endPoint, limit, ct).ConfigureAwait(false))
        {
            if (second is null)
            {
                steps.Add("a third connection could not be opened");
                return new ServiceEvidence(null, "a third connection", steps, endPoint.Port);
            }

            var tls = await SendAndReadAsync(second, MtuProbe.BuildClientHello(-1), answerWait, ct).ConfigureAwait(false);
            if (Identified(tls) is { } tlsService)
            {
                steps.Add($"a TLS ClientHello on a third connection got {tlsService.Evidence}");
                return new ServiceEvidence(tlsService, "a third connection that sent a TLS ClientHello", steps, endPoint.Port);
            }

            steps.Add($"a TLS ClientHello on a third connection got {Outcome(tls)}");
        }

        return new ServiceEvidence(null, "the identification connections", steps, endPoint.Port);
    }

    /// <summary>"GET / HTTP/1.0" with a Host header (RFC 9112 §3.2): HTTP/1.0 so the server closes after its answer.</summary>
    internal static byte[] HttpRequest(string host, int port)
    {
        string authority = host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[') ? $"[{host}]:{port}" : $"{host}:{port}";
        return Encoding.ASCII.GetBytes($"GET / HTTP/1.0\r\nHost: {authority}\r\nUser-Agent: rdpprobe\r\nAccept: */*\r\n\r\n");
    }

    private static ServiceFingerprint? Identified(Answer answer)
        => answer.Bytes.Length == 0 ? null : ServiceFingerprints.Identify(answer.Bytes) is { Kind: not ServiceKind.Rdp } s ? s : null;

    private static string Outcome(Answer answer) => answer.End switch
    {
        End.Silence when answer.Bytes.Length == 0 => $"no answer within {Ms(answer.Ms)}",
        End.Closed when answer.Bytes.Length == 0 => $"a close without a word after {Ms(answer.Ms)}",
        End.Reset when answer.Bytes.Length == 0 => $"a reset after {Ms(answer.Ms)}",
        _ => $"{answer.Bytes.Length} bytes of no known protocol ({ByteSniffer.Hex(answer.Bytes, 16)})",
    };

    private static string Ms(double ms) => ms.ToString("0", CultureInfo.InvariantCulture) + " ms";

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static async Task<Socket?> ConnectAsync(IPEndPoint endPoint, TimeSpan limit, CancellationToken ct)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(limit);
        try
        {
            await socket.ConnectAsync(endPoint, timeout.Token).ConfigureAwait(false);
            return socket;
        }
        catch (Exception ex) when (ex is SocketException || (ex is OperationCanceledException && !ct.IsCancellationRequested))
        {
            socket.Dispose();
            return null;
        }
    }

    private static async Task<Answer> SendAndReadAsync(Socket socket, byte[] request, TimeSpan wait, CancellationToken ct)
    {
        try
        {
            await socket.SendAsync(request, SocketFlags.None, ct).ConfigureAwait(false);
        }
        catch (SocketException)
        {
            return new Answer([], End.Reset, 0);
        }

        return await ReadAnswerAsync(socket, wait, ct).ConfigureAwait(false);
    }

    /// <summary>Reads until the bytes identify a service, are no known protocol, the peer ends, or <paramref name="wait"/> passes.</summary>
    private static async Task<Answer> ReadAnswerAsync(Socket socket, TimeSpan wait, CancellationToken ct)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ServiceFingerprints.MaxExamined);
        int have = 0;
        var clock = Stopwatch.StartNew();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(wait);
        End end = End.Silence;
        try
        {
            while (have < ServiceFingerprints.MaxExamined)
            {
                int n;
                try
                {
                    n = await socket.ReceiveAsync(buffer.AsMemory(have, ServiceFingerprints.MaxExamined - have), SocketFlags.None, timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    end = End.Silence;
                    break;
                }
                catch (SocketException)
                {
                    end = End.Reset;
                    break;
                }

                if (n == 0)
                {
                    end = End.Closed;
                    break;
                }

                have += n;
                var status = ServiceFingerprints.TryRead(buffer.AsSpan(0, have), out _, out _);
                if (status == OperationStatus.Done)
                {
                    end = End.Identified;
                    break;
                }

                if (status == OperationStatus.InvalidData)
                {
                    end = End.NotKnown;
                    break;
                }
            }

            return new Answer(buffer.AsSpan(0, have).ToArray(), end, clock.Elapsed.TotalMilliseconds);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
