using System.Buffers;
using BenchmarkDotNet.Attributes;
using RdpProbe.Protocol;

namespace RdpProbe.Benchmarks.Codecs;

/// <summary>
/// MCS Connect-Initial / Connect-Response (T.125, BER) carrying GCC Conference Create (T.124, PER) and the RDP user
/// data blocks (MS-RDPBCGR 2.2.1.3 / 2.2.1.4). Baseline: reading the Connect-Response's BER envelope alone.
/// </summary>
[Config(typeof(CodecConfig))]
[MemoryDiagnoser]
[BenchmarkCategory("mcs-gcc")]
public class McsGccBenchmarks
{
    private ClientGccSettings settings = null!;
    private byte[] response = [];
    private byte[] gccResponse = [];
    private byte[] serverData = [];

    [GlobalSetup]
    public void Setup()
    {
        settings = new ClientGccSettings(SecurityProtocols.Hybrid, EncryptionMethods.None, ClientChannel.Defaults);
        serverData = Gcc.EncodeServerData(0x00080004, SecurityProtocols.Hybrid, EncryptionMethods.None, EncryptionLevel.None, 1003, [1004, 1005, 1006, 1007]);
        gccResponse = Gcc.EncodeConferenceCreateResponse(serverData);
        response = Mcs.EncodeConnectResponse(0, gccResponse);
    }

    [Benchmark(Baseline = true, Description = "MCS Connect-Response read (BER)")]
    public int ReadConnectResponse() => Mcs.TryReadConnectResponse(response, out var value, out _) == OperationStatus.Done ? value!.UserData.Length : -1;

    [Benchmark(Description = "GCC CC-Response read (PER)")]
    public int ReadConferenceCreateResponse() => Gcc.TryReadConferenceCreateResponse(gccResponse, out var data, out _, out _) == OperationStatus.Done ? data!.Length : -1;

    [Benchmark(Description = "server data blocks parse")]
    public int ReadServerData() => Gcc.TryReadServerData(serverData, out var value, out _) == OperationStatus.Done ? value!.Network!.ChannelIds.Count : -1;

    [Benchmark(Description = "Connect-Response → server data (whole answer)")]
    public int ReadWholeAnswer()
    {
        if (Mcs.TryReadConnectResponse(response, out var mcs, out _) != OperationStatus.Done
            || Gcc.TryReadConferenceCreateResponse(mcs!.UserData, out var data, out _, out _) != OperationStatus.Done
            || Gcc.TryReadServerData(data, out var server, out _) != OperationStatus.Done)
        {
            return -1;
        }

        return server!.Network!.ChannelIds.Count;
    }

    [Benchmark(Description = "Connect-Initial write (client data + GCC + MCS)")]
    public byte[] WriteConnectInitial() => Mcs.EncodeConnectInitial(Gcc.EncodeConferenceCreateRequest(Gcc.EncodeClientData(settings)));
}
