using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using RdpProbe.Diagnosis;
using RdpProbe.Probe.NetPath;
using RdpProbe.Protocol;

namespace RdpProbe.IntegrationTests.NetPath;

/// <summary>
/// A small handshake run from inside the client namespace — TCP, X.224, TLS up to the server's first bytes — giving
/// the phase records Repeat summarises. (The probe engine makes its own sockets in the root namespace, which cannot
/// reach the namespace lab; this helper can.)
/// </summary>
internal static class HandshakeRun
{
    public static async Task<IReadOnlyList<PhaseRecord>> RunAsync(IPEndPoint target, string clientNamespace, CancellationToken ct)
    {
        var records = new List<PhaseRecord>();
        using var socket = NetNamespace.RunIn(clientNamespace, () => new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp));
        var buffer = new byte[16 * 1024];

        var tcp = Start(Phase.Tcp, records, out var clock);
        using (var cts = Timeout(ct))
        {
            try
            {
                await socket.ConnectAsync(target, cts.Token);
                tcp.Ms = clock.Elapsed.TotalMilliseconds;
            }
            catch (SocketException ex)
            {
                tcp.Fail(ex.SocketErrorCode == SocketError.ConnectionRefused ? Ending.Refused : Ending.Unreachable, detail: ex.SocketErrorCode.ToString());
                return records;
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                tcp.Fail(Ending.Timeout);
                return records;
            }
        }

        var x224 = Start(Phase.X224, records, out clock);
        var request = new X224ConnectionRequest("repeat", null, new NegotiationMessage(NegotiationType.Request, 0, 0x0B), null);
        if (!await ExchangeAsync(socket, X224.EncodeConnectionRequest(request), buffer, x224, clock, ct,
            have => X224.TryReadConnectionConfirm(buffer.AsSpan(0, have), out _, out _, out _) == OperationStatus.Done))
        {
            return records;
        }

        var tls = Start(Phase.Tls, records, out clock);
        await ExchangeAsync(socket, MtuProbe.BuildClientHello(-1), buffer, tls, clock, ct, have => have >= 5);
        return records;
    }

    private static PhaseRecord Start(Phase phase, List<PhaseRecord> records, out Stopwatch clock)
    {
        var record = new PhaseRecord(phase);
        records.Add(record);
        clock = Stopwatch.StartNew();
        return record;
    }

    private static CancellationTokenSource Timeout(CancellationToken ct)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(TimeSpan.FromSeconds(3));
        return cts;
    }

    /// <summary>Sends, then reads until <paramref name="complete"/> says the answer is there; records how it ended.</summary>
    private static async Task<bool> ExchangeAsync(Socket socket, byte[] send, byte[] buffer, PhaseRecord record, Stopwatch clock, CancellationToken ct, Func<int, bool> complete)
    {
        using var cts = Timeout(ct);
        try
        {
            await socket.SendAsync(send, SocketFlags.None, cts.Token);
            int have = 0;
            while (!complete(have))
            {
                int n = await socket.ReceiveAsync(buffer.AsMemory(have), SocketFlags.None, cts.Token);
                if (n == 0)
                {
                    record.Fail(Ending.Closed);
                    return false;
                }

                have += n;
            }

            record.Ms = clock.Elapsed.TotalMilliseconds;
            return true;
        }
        catch (SocketException ex)
        {
            record.Fail(ex.SocketErrorCode == SocketError.ConnectionReset ? Ending.Reset : Ending.Closed, detail: ex.SocketErrorCode.ToString());
            return false;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            record.Fail(Ending.Timeout);
            return false;
        }
    }
}
