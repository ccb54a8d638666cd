using BenchmarkDotNet.Attributes;
using RdpProbe.Protocol;

namespace RdpProbe.Benchmarks.Codecs;

/// <summary>
/// X.224 Connection Request write and Connection Confirm read (MS-RDPBCGR 2.2.1.1 / 2.2.1.2). Baseline: the TPKT
/// header read every frame pays before anything else (the floor for a frame parser).
/// </summary>
[Config(typeof(CodecConfig))]
[MemoryDiagnoser]
[BenchmarkCategory("x224")]
public class X224Benchmarks
{
    private readonly byte[] destination = new byte[X224.MaxConnectionRequestLength];
    private X224ConnectionRequest request = null!;
    private byte[] confirm = [];

    [GlobalSetup]
    public void Setup()
    {
        request = new X224ConnectionRequest("probe", null, new NegotiationMessage(NegotiationType.Request, 0, (uint)(SecurityProtocols.Ssl | SecurityProtocols.Hybrid | SecurityProtocols.HybridEx)), null);
        confirm = X224.EncodeConnectionConfirm(new X224ConnectionConfirm(0x1234, new NegotiationMessage(NegotiationType.Response, 0x1F, (uint)SecurityProtocols.Hybrid)));
    }

    [Benchmark(Baseline = true, Description = "TPKT header read")]
    public int ReadTpkt() => Protocol.TpktHeader.TryRead(confirm, out var header, out _) == System.Buffers.OperationStatus.Done ? header.Length : -1;

    [Benchmark(Description = "CR write (span)")]
    public int WriteRequest() => X224.WriteConnectionRequest(destination, request);

    [Benchmark(Description = "CR encode (byte[])")]
    public byte[] EncodeRequest() => X224.EncodeConnectionRequest(request);

    [Benchmark(Description = "CC read (RDP_NEG_RSP)")]
    public int ReadConfirm() => X224.TryReadConnectionConfirm(confirm, out var cc, out _, out _) == System.Buffers.OperationStatus.Done ? (int)(cc!.SelectedProtocol ?? 0) : -1;
}
