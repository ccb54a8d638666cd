using System.Buffers;
using BenchmarkDotNet.Attributes;
using RdpProbe.Protocol;

namespace RdpProbe.Benchmarks.Codecs;

/// <summary>
/// TSRequest DER (MS-CSSP 2.2.1) and NTLM (MS-NLMP 2.2.1) encode/decode: the messages of the credssp phase. Baseline:
/// reading the TSRequest's outer DER length, which the probe does before it buffers a message.
/// </summary>
[Config(typeof(CodecConfig))]
[MemoryDiagnoser]
[BenchmarkCategory("credssp")]
public class CredSspBenchmarks
{
    private byte[] negotiateRequest = [];
    private byte[] challengeRequest = [];
    private byte[] challenge = [];
    private byte[] negotiate = [];
    private NtlmChallenge parsedChallenge = null!;
    private NtlmAuthenticateInput input = null!;

    [GlobalSetup]
    public void Setup()
    {
        negotiate = NtlmNegotiate.Encode();
        negotiateRequest = new TsRequest(TsRequest.MaxVersion, [negotiate]).Encode();
        long now = DateTimeOffset.UtcNow.ToFileTime();
        challenge = NtlmChallenge.Encode(
            NtlmNegotiate.DefaultFlags,
            [1, 2, 3, 4, 5, 6, 7, 8],
            "LAB",
            [
                new(NtlmAvId.NbDomainName, System.Text.Encoding.Unicode.GetBytes("LAB")),
                new(NtlmAvId.NbComputerName, System.Text.Encoding.Unicode.GetBytes("VM")),
                new(NtlmAvId.DnsDomainName, System.Text.Encoding.Unicode.GetBytes("lab.example")),
                new(NtlmAvId.DnsComputerName, System.Text.Encoding.Unicode.GetBytes("vm.lab.example")),
                new(NtlmAvId.Timestamp, BitConverter.GetBytes(now)),
            ],
            new NtlmVersion(6, 1, 7601, 15));
        challengeRequest = new TsRequest(6, [challenge]).Encode();
        NtlmChallenge.TryRead(challenge, out var parsed, out _, out _);
        parsedChallenge = parsed!;
        input = new NtlmAuthenticateInput("LAB", "probe", "Passw0rd!", "BENCH", new byte[8], new byte[16], now);
    }

    [Benchmark(Baseline = true, Description = "TSRequest outer length")]
    public int FrameLength() => TsRequest.TryReadFrameLength(challengeRequest, out _, out int total, out _) == OperationStatus.Done ? total : -1;

    [Benchmark(Description = "TSRequest(NEGOTIATE) encode")]
    public byte[] EncodeNegotiateRequest() => new TsRequest(TsRequest.MaxVersion, [negotiate]).Encode();

    [Benchmark(Description = "TSRequest(CHALLENGE) decode")]
    public int DecodeChallengeRequest() => TsRequest.TryRead(challengeRequest, out var request, out _, out _) == OperationStatus.Done ? request!.NegoTokens.Count : -1;

    [Benchmark(Description = "NTLM NEGOTIATE encode")]
    public byte[] EncodeNegotiate() => NtlmNegotiate.Encode();

    [Benchmark(Description = "NTLM CHALLENGE decode")]
    public int DecodeChallenge() => NtlmChallenge.TryRead(challenge, out var value, out _, out _) == OperationStatus.Done ? value!.AvPairs.Count : -1;

    [Benchmark(Description = "NTLMv2 AUTHENTICATE create (HMAC-MD5, MIC)")]
    public byte[] CreateAuthenticate() => NtlmAuthenticate.Create(negotiate, parsedChallenge, input).Message;
}
