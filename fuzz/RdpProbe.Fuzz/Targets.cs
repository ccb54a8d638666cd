using System.Buffers;
using System.Net;
using System.Net.Sockets;
using RdpProbe.Analysis;
using RdpProbe.Probe;
using RdpProbe.Protocol;
using RdpProbe.Reports;

namespace RdpProbe.Fuzz;

/// <summary>
/// The fuzz targets: one per parser family, the capture pipeline and the probe against a byte-scripted peer. Each gets
/// the whole input; any exception that escapes is a finding (the parser contract is Done / NeedMoreData / InvalidData,
/// never an exception, and the analyzer and the probe end in a verdict whatever the peer or the capture holds).
/// </summary>
internal static class Targets
{
    public static readonly IReadOnlyDictionary<string, Action<byte[]>> All = new Dictionary<string, Action<byte[]>>(StringComparer.Ordinal)
    {
        ["x224"] = X224Family,
        ["tls"] = TlsFamily,
        ["credssp"] = CredsspFamily,
        ["mcs"] = McsFamily,
        ["security"] = SecurityFamily,
        ["share"] = ShareFamily,
        ["udp"] = UdpFamily,
        ["capture"] = CapturePipeline,
        ["probe"] = ProbeAgainstScriptedPeer,
        ["explain"] = ExplainPayload,
    };

    /// <summary>--explain-frame past TCP: TPKT, X.224/RDP_NEG, TLS records and clear handshake messages, TSRequest/NTLM, hex dump.</summary>
    private static void ExplainPayload(byte[] b) => FrameExplainer.ExplainPayload(b, "TCP 1 -> 2");

    /// <summary>TPKT (RFC 1006), X.224 CR/CC (MS-RDPBCGR 2.2.1.1-2), RDP_NEG_* and the first-bytes sniffer.</summary>
    private static void X224Family(byte[] b)
    {
        TpktHeader.TryReadFrame(b, out _, out _);
        X224.TryReadConnectionRequest(b, out _, out _, out _);
        X224.TryReadConnectionConfirm(b, out _, out _, out _);
        NegotiationMessage.TryRead(b, out _, out _, out _);
        ByteSniffer.Classify(b);
    }

    /// <summary>TLS records and handshake messages (RFC 8446 5.1, 4.1.2-3, 4.4.2) and the X.509 names read from them.</summary>
    private static void TlsFamily(byte[] b)
    {
        TlsRecordHeader.TryReadRecord(b, out _, out _, out _);
        TlsHandshake.TryReadServerHello(b, out _);
        TlsHandshake.TryReadClientHello(b, out _);
        if (TlsHandshake.TryReadFirstCertificate(b, out var certificate) == OperationStatus.Done)
        {
            X509.TryRead(certificate, out _);
            X509.TryReadNames(certificate, out _, out _);
        }

        X509.TryRead(b, out _);
    }

    /// <summary>TSRequest (MS-CSSP 2.2.1), SPNEGO tokens (RFC 4178 §4.2), NTLM CHALLENGE and AV pairs (MS-NLMP 2.2.1.2, 2.2.2.1), TSCredentials, Early User Authorization.</summary>
    private static void CredsspFamily(byte[] b)
    {
        TsRequest.TryReadFrameLength(b, out _, out _, out _);
        TsRequest.TryRead(b, out _, out _, out _);
        Spnego.TryRead(b, out _, out _, out _);
        TsCredentials.TryDecodePassword(b, out _, out _);
        NtlmChallenge.TryRead(b, out _, out _, out _);
        Ntlm.TryReadAvPairs(b, out _, out _);
        EarlyUserAuthorization.TryRead(b, out _, out _, out _);
    }

    /// <summary>MCS Connect Response and domain PDUs (T.125, PER), GCC Conference Create Response and server data (MS-RDPBCGR 2.2.1.4).</summary>
    private static void McsFamily(byte[] b)
    {
        Mcs.TryReadConnectResponse(b, out _, out _);
        Mcs.TryReadDomainPdu(b, out _, out _);
        Gcc.TryReadConferenceCreateResponse(b, out _, out _, out _);
        Gcc.TryReadServerData(b, out _, out _);
    }

    /// <summary>Standard RDP security (MS-RDPBCGR 2.2.1.4.3, 5.3.3): the server certificate and the RSA step that uses it; licensing (MS-RDPELE).</summary>
    private static void SecurityFamily(byte[] b)
    {
        if (StandardSecurity.TryReadServerCertificate(b, out var key, out _) == OperationStatus.Done)
        {
            // A random like the probe's: RSA refuses 0 and 1 as input, which a real 32-byte random never is.
            StandardSecurity.EncryptClientRandom(ClientRandom, key!);
        }

        SecurityHeader.TryRead(b, out _, out _);
        Licensing.TryRead(b, out _, out _);
        Licensing.TryReadErrorAlert(b, out _);
        Licensing.TryReadLicenseRequest(b, out _);
    }

    private static readonly byte[] ClientRandom = [.. Enumerable.Range(1, 32).Select(i => (byte)(i * 37))];

    /// <summary>Share Control / Share Data headers, Demand Active and capability sets (MS-RDPBCGR 2.2.1.13, 2.2.7).</summary>
    private static void ShareFamily(byte[] b)
    {
        ShareControl.TryRead(b, out _, out _, out _);
        ShareControl.TryReadDemandActive(b, out _, out _);
        ShareControl.TryReadData(b, out _, out _);
        int count = b.Length > 0 ? b[0] : 0;
        Capabilities.TryReadSets(b.AsSpan(Math.Min(1, b.Length)), count, out _, out _);
    }

    /// <summary>RDP-UDP SYN / SYN+ACK datagrams (MS-RDPEUDP 2.2.2).</summary>
    private static void UdpFamily(byte[] b)
    {
        RdpUdpFecHeader.TryRead(b, out _, out _);
        RdpeUdp.TryReadSyn(b, out _, out _, out _);
    }

    private static readonly string CapturePath = Path.Combine(Path.GetTempPath(), $"rdpprobe-fuzz-{Environment.ProcessId}.pcap");

    /// <summary>
    /// The whole offline path: the input is a capture file, read by the real reader (SharpPcap), decoded, reassembled,
    /// turned into conversations and verdicts, and written as the JSON report.
    /// </summary>
    private static void CapturePipeline(byte[] b)
    {
        File.WriteAllBytes(CapturePath, b);
        var result = CaptureAnalysis.Run([CapturePath], new AnalyzerOptions { MaxLiveFlows = 64 });
        using var sink = Stream.Null;
        result.Report.WriteJson(sink);
    }

    // Made on first use: instrumented code (RdpProbe.Core) may only run inside Fuzzer.Run, once SharpFuzz has set up
    // the coverage map, so nothing of it is touched by a static initializer here.
    private static ProbeOptions? probeOptions;

    private static ProbeOptions ProbeOptions => probeOptions ??= new()
    {
        PhaseTimeout = TimeSpan.FromSeconds(2),
        SecurityMatrix = false,
        TlsVersions = false,
        ClientSimulation = false,
        EncryptionLevels = false,
        SessionPhases = false,

        // The scripted peer answers one connection; identification's extra connections (banner wait, HTTP request,
        // TLS ClientHello) would each wait out a timeout, 5 s per input. Its parser is fuzzed on its own
        // (ParserRobustnessTests: ServiceFingerprints).
        IdentifyService = false,
    };

    /// <summary>
    /// The probe against a peer whose answer to the X.224 Connection Request is the input (then it closes): the probe
    /// must reach a verdict, whatever the bytes.
    /// </summary>
    private static void ProbeAgainstScriptedPeer(byte[] b)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var peer = Task.Run(async () =>
        {
            using var socket = await listener.AcceptSocketAsync(stop.Token);
            var header = new byte[4];
            int got = 0;
            while (got < 4)
            {
                int n = await socket.ReceiveAsync(header.AsMemory(got), stop.Token);
                if (n == 0)
                {
                    return;
                }

                got += n;
            }

            var rest = new byte[Math.Max(0, ((header[2] << 8) | header[3]) - 4)];
            got = 0;
            while (got < rest.Length)
            {
                int n = await socket.ReceiveAsync(rest.AsMemory(got), stop.Token);
                if (n == 0)
                {
                    return;
                }

                got += n;
            }

            await socket.SendAsync(b, stop.Token);
            socket.Shutdown(SocketShutdown.Send);
        });

        var reports = new ProbeEngine(ProbeOptions).RunAsync(ProbeTarget.Parse($"127.0.0.1:{port}"), CancellationToken.None).GetAwaiter().GetResult();
        if (reports.Count == 0 || reports[0].Verdict is null)
        {
            throw new InvalidOperationException("the probe ended without a verdict");
        }

        try
        {
            peer.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException e) when (e.InnerException is SocketException or OperationCanceledException or IOException)
        {
            // The peer's own socket errors (the probe closed first) are not findings.
        }
    }
}
