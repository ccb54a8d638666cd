using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using RdpProbe.Protocol;

namespace RdpProbe.Probe.NetPath;

/// <summary>Where each test connection stops.</summary>
public enum ConcurrencyStage
{
    /// <summary>Only the TCP handshake: the connection then sits idle, like a client stuck before X.224.</summary>
    TcpHandshake,

    /// <summary>TCP + the X.224 Connection Request: the server has a pending RDP connection to negotiate.</summary>
    X224Request,
}

public enum ConnectionState
{
    /// <summary>Connected (and, for X224Request, the Connection Confirm came back).</summary>
    Accepted,

    /// <summary>RST to the SYN: the listener (or a middlebox) refuses.</summary>
    Refused,

    /// <summary>Connected, then reset or closed by the server before/instead of answering.</summary>
    Dropped,

    /// <summary>No SYN-ACK, or no Connection Confirm, within the timeout: the server stalls.</summary>
    Stalled,

    /// <summary>Not tried: the total time bound ran out first.</summary>
    NotTried,
}

public sealed record ConcurrencyTestOptions
{
    /// <summary>Upper bound on connections (issue 5: bounded in count).</summary>
    public const int MaxConnections = 500;

    public ConcurrencyStage Stage { get; init; } = ConcurrencyStage.X224Request;

    /// <summary>Wait for the SYN-ACK and, at X224Request, for the Connection Confirm.</summary>
    public TimeSpan StepTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Total time bound: connections not started by then are reported as not tried.</summary>
    public TimeSpan TotalTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Creates the sockets (tests create them inside a network namespace).</summary>
    internal Func<AddressFamily, SocketType, ProtocolType, Socket>? SocketFactory { get; init; }
}

public sealed record ConnectionResult(int Index, ConnectionState State, double Ms, string Detail, bool StillOpenAtEnd);

public sealed record ConcurrencyTestResult(
    int Requested,
    int Accepted,
    int Refused,
    int Dropped,
    int Stalled,
    int NotTried,
    int? FirstFailure,
    int OpenAtEnd,
    IReadOnlyList<ConnectionResult> Connections,
    string Verdict);

/// <summary>
/// --concurrency-test N: opens N connections one after another and keeps them all open, each stopped after the TCP
/// handshake or the X.224 request, and records where the server starts refusing, resetting or stalling (a
/// MaxOutstandingConnections-style limit on pending connections). It deliberately loads the server: run it only
/// against servers you own.
/// </summary>
public static class ConcurrencyTest
{
    public static async Task<ConcurrencyTestResult> RunAsync(IPEndPoint target, int connections, ConcurrencyTestOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new ConcurrencyTestOptions();
        if (connections is < 1 or > ConcurrencyTestOptions.MaxConnections)
        {
            throw new ArgumentOutOfRangeException(nameof(connections), $"the concurrency test opens 1..{ConcurrencyTestOptions.MaxConnections} connections");
        }

        var clock = Stopwatch.StartNew();
        var sockets = new List<Socket>(connections);
        var results = new List<ConnectionResult>(connections);
        byte[] request = X224.EncodeConnectionRequest(new X224ConnectionRequest("conctest", null,
            new NegotiationMessage(NegotiationType.Request, 0, (uint)(SecurityProtocols.Ssl | SecurityProtocols.Hybrid)), null));
        try
        {
            for (int i = 0; i < connections; i++)
            {
                if (clock.Elapsed > options.TotalTimeout)
                {
                    results.Add(new ConnectionResult(i + 1, ConnectionState.NotTried, 0, "total time bound reached", false));
                    continue;
                }

                var socket = options.SocketFactory?.Invoke(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp)
                    ?? new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                sockets.Add(socket);
                var (state, ms, detail) = await OpenOneAsync(socket, target, request, options, cancellationToken).ConfigureAwait(false);
                results.Add(new ConnectionResult(i + 1, state, ms, detail, false));
            }

            // Did the server later drop connections it had accepted? A readable socket with nothing to read is closed.
            for (int i = 0; i < sockets.Count; i++)
            {
                var r = results[i];
                bool open = r.State == ConnectionState.Accepted && IsStillOpen(sockets[i]);
                results[i] = r with { StillOpenAtEnd = open };
            }
        }
        finally
        {
            foreach (var s in sockets)
            {
                s.Dispose();
            }
        }

        return Summarise(connections, results, options.Stage);
    }

    private static async Task<(ConnectionState State, double Ms, string Detail)> OpenOneAsync(Socket socket, IPEndPoint target, byte[] request, ConcurrencyTestOptions options, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(options.StepTimeout);
        try
        {
            await socket.ConnectAsync(target, cts.Token).ConfigureAwait(false);
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return (ConnectionState.Refused, clock.Elapsed.TotalMilliseconds, "RST to SYN");
        }
        catch (SocketException ex)
        {
            return (ConnectionState.Refused, clock.Elapsed.TotalMilliseconds, $"connect failed: {ex.SocketErrorCode}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (ConnectionState.Stalled, clock.Elapsed.TotalMilliseconds, "no SYN-ACK");
        }

        if (options.Stage == ConcurrencyStage.TcpHandshake)
        {
            return (ConnectionState.Accepted, clock.Elapsed.TotalMilliseconds, "TCP established");
        }

        byte[] buffer = ArrayPool<byte>.Shared.Rent(1024);
        try
        {
            await socket.SendAsync(request, SocketFlags.None, cts.Token).ConfigureAwait(false);
            int have = 0;
            while (true)
            {
                var status = X224.TryReadConnectionConfirm(buffer.AsSpan(0, have), out var cc, out _, out _);
                if (status == OperationStatus.Done)
                {
                    string answer = cc!.IsFailure ? $"Connection Confirm with RDP_NEG_FAILURE {cc.FailureCode}" : "Connection Confirm";
                    return (ConnectionState.Accepted, clock.Elapsed.TotalMilliseconds, answer);
                }

                if (status == OperationStatus.InvalidData || have >= 1024)
                {
                    // Something answered, but not with a CC (xrdp answers some requests with an MCS disconnect): the
                    // server is responsive, which is what this test measures.
                    return (ConnectionState.Accepted, clock.Elapsed.TotalMilliseconds, "answered without a Connection Confirm");
                }

                int n = await socket.ReceiveAsync(buffer.AsMemory(have, 1024 - have), SocketFlags.None, cts.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    return (ConnectionState.Dropped, clock.Elapsed.TotalMilliseconds, "closed after the X.224 request");
                }

                have += n;
            }
        }
        catch (SocketException ex)
        {
            return (ConnectionState.Dropped, clock.Elapsed.TotalMilliseconds, ex.SocketErrorCode == SocketError.ConnectionReset ? "reset after the X.224 request" : $"socket error {ex.SocketErrorCode}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (ConnectionState.Stalled, clock.Elapsed.TotalMilliseconds, "no Connection Confirm");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static bool IsStillOpen(Socket socket)
    {
        try
        {
            // Readable with zero bytes available means FIN or RST arrived.
            return !(socket.Poll(0, SelectMode.SelectRead) && socket.Available == 0);
        }
        catch (SocketException)
        {
            return false;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    internal static ConcurrencyTestResult Summarise(int requested, IReadOnlyList<ConnectionResult> results, ConcurrencyStage stage)
    {
        int Count(ConnectionState s) => results.Count(r => r.State == s);
        int accepted = Count(ConnectionState.Accepted);
        int refused = Count(ConnectionState.Refused);
        int dropped = Count(ConnectionState.Dropped);
        int stalled = Count(ConnectionState.Stalled);
        int notTried = Count(ConnectionState.NotTried);
        int openAtEnd = results.Count(r => r.StillOpenAtEnd);
        var firstFailure = results.FirstOrDefault(r => r.State is ConnectionState.Refused or ConnectionState.Dropped or ConnectionState.Stalled);
        string stageText = stage == ConcurrencyStage.TcpHandshake ? "after the TCP handshake" : "after the X.224 request";
        string verdict;
        if (firstFailure is null)
        {
            verdict = $"The server took all {accepted} pending connections (held {stageText}); {openAtEnd} were still open at the end"
                + (notTried > 0 ? $"; {notTried} not tried within the time bound." : ".");
            if (openAtEnd < accepted)
            {
                verdict += $" It closed {accepted - openAtEnd} of them while later ones were opened: it limits or times out pending connections.";
            }
        }
        else
        {
            string how = firstFailure.State switch
            {
                ConnectionState.Refused => "refuses new connections (RST to SYN)",
                ConnectionState.Dropped => "resets or closes new connections",
                _ => "stops answering new connections",
            };
            int before = firstFailure.Index - 1;
            verdict = $"With {before} connections pending ({stageText}) the server {how}: from connection #{firstFailure.Index} on, "
                + $"{refused} refused, {dropped} dropped, {stalled} stalled of {requested}. A limit on outstanding connections "
                + "(MaxOutstandingConnections, a firewall connection limit or a full listen backlog) makes real clients fail the same way under load or a scan.";
        }

        return new ConcurrencyTestResult(requested, accepted, refused, dropped, stalled, notTried, firstFailure?.Index, openAtEnd, results, verdict);
    }
}
