using System.Buffers;
using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using RdpProbe.Protocol;

namespace RdpProbe.Benchmarks.Codecs;

/// <summary>
/// Walking the TLS record headers (RFC 8446 §5.1) of a server's first flight: ServerHello, Certificate,
/// ServerKeyExchange, ServerHelloDone as four records, ~3 KiB, the shape the probe's TLS log and the analyzer see.
/// Baseline: a hand-written loop reading the 5-byte header with no validation (the floor of the walk).
/// </summary>
[Config(typeof(CodecConfig))]
[MemoryDiagnoser]
[BenchmarkCategory("tls-record")]
public class TlsRecordBenchmarks
{
    private byte[] flight = [];

    [GlobalSetup]
    public void Setup()
    {
        int[] bodies = [90, 2400, 330, 4];
        byte[] types = [2, 11, 12, 14];
        var buffer = new List<byte>();
        for (int i = 0; i < bodies.Length; i++)
        {
            int length = bodies[i] + TlsHandshakeHeader.Size;
            buffer.AddRange([(byte)TlsContentType.Handshake, 0x03, 0x03, (byte)(length >> 8), (byte)length]);
            buffer.AddRange([types[i], 0, (byte)(bodies[i] >> 8), (byte)bodies[i]]);
            buffer.AddRange(new byte[bodies[i]]);
        }

        flight = [.. buffer];
    }

    [Benchmark(Baseline = true, Description = "raw header loop (no checks)")]
    public int RawWalk()
    {
        int count = 0;
        ReadOnlySpan<byte> s = flight;
        while (s.Length >= 5)
        {
            int length = BinaryPrimitives.ReadUInt16BigEndian(s[3..]);
            s = s[(5 + length)..];
            count++;
        }

        return count;
    }

    [Benchmark(Description = "TlsRecordHeader.TryRead walk")]
    public int HeaderWalk()
    {
        int count = 0;
        ReadOnlySpan<byte> s = flight;
        while (TlsRecordHeader.TryRead(s, out var header, out int consumed) == OperationStatus.Done)
        {
            s = s[(consumed + header.Length)..];
            count++;
        }

        return count;
    }

    [Benchmark(Description = "record + handshake header walk")]
    public int RecordAndHandshakeWalk()
    {
        int count = 0;
        ReadOnlySpan<byte> s = flight;
        while (TlsRecordHeader.TryReadRecord(s, out var header, out var fragment, out _) == OperationStatus.Done)
        {
            if (TlsHandshakeHeader.TryRead(fragment, out var hs, out _) == OperationStatus.Done)
            {
                count += (int)hs.Type;
            }

            s = s[(TlsRecordHeader.Size + header.Length)..];
        }

        return count;
    }
}
