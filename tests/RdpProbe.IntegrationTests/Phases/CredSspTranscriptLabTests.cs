using System.Buffers;
using RdpProbe.Diagnosis;
using RdpProbe.IntegrationTests.Lab;
using RdpProbe.Probe.Phases;
using RdpProbe.Protocol;
using Xunit.Abstractions;

namespace RdpProbe.IntegrationTests.Phases;

/// <summary>
/// Records a real CredSSP exchange with the FreeRDP NLA server with fixed client randoms and checks that it replays:
/// the same inputs give the same AUTHENTICATE, and the server's recorded pubKeyAuth verifies offline. The unit test
/// CredSspTranscriptTests pins one such recording.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class CredSspTranscriptLabTests(LabFixture lab, ITestOutputHelper output)
{
    internal static readonly CredSspRandomness Fixed = new(
        Convert.FromHexString("0102030405060708"),
        Convert.FromHexString("A0A1A2A3A4A5A6A7A8A9AAABACADAEAF"),
        Enumerable.Range(0x40, 32).Select(i => (byte)i).ToArray());

    private static List<byte[]> SplitDer(byte[] bytes)
    {
        var frames = new List<byte[]>();
        int offset = 0;
        while (offset < bytes.Length)
        {
            Assert.Equal(OperationStatus.Done, TsRequest.TryReadFrameLength(bytes.AsSpan(offset), out _, out int total, out _));
            frames.Add(bytes[offset..(offset + total)]);
            offset += total;
        }

        return frames;
    }

    [Fact]
    public async Task Live_exchange_with_fixed_randoms_replays_byte_for_byte()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await using var connection = await LabConnection.OpenAsync(lab.Endpoints.ShadowNla, SecurityProtocols.Ssl | SecurityProtocols.Hybrid, cts.Token);
        var recorder = new RecordingStream(connection.Stream);
        var credentials = new CredSspCredentials(LabFixture.Domain, LabFixture.User, LabFixture.Password);
        var record = new PhaseRecord(Phase.Credssp);
        var result = await CredSspPhase.RunAsync(recorder, connection.SubjectPublicKey, credentials, record, Fixed, cts.Token);
        Assert.True(result.Authenticated, record.Detail);

        var sent = SplitDer(recorder.Sent.ToArray());
        var received = SplitDer(recorder.Received.ToArray());
        Assert.Equal(3, sent.Count);
        Assert.Equal(2, received.Count);
        output.WriteLine($"key {Convert.ToHexString(connection.SubjectPublicKey)}");
        for (int i = 0; i < 3; i++)
        {
            output.WriteLine($"c2s {Convert.ToHexString(sent[i])}");
            if (i < 2)
            {
                output.WriteLine($"s2c {Convert.ToHexString(received[i])}");
            }
        }

        var replay = CredSspReplay.Run(connection.SubjectPublicKey, received, credentials, Fixed);
        Assert.Equal(sent[1], replay.Authenticate);
        Assert.True(replay.ServerProofVerified);
        Assert.Equal(sent[2], replay.AuthInfo);
    }
}

/// <summary>Replays a recorded exchange offline against the client code path.</summary>
internal static class CredSspReplay
{
    internal sealed record Outcome(byte[] Authenticate, bool ServerProofVerified, byte[] AuthInfo);

    public static Outcome Run(byte[] serverKey, IReadOnlyList<byte[]> serverFrames, CredSspCredentials credentials, CredSspRandomness randomness)
    {
        var stream = new ScriptStream(serverFrames);
        var record = new PhaseRecord(Phase.Credssp);
        var result = CredSspPhase.RunAsync(stream, serverKey, credentials, record, randomness, CancellationToken.None).GetAwaiter().GetResult();
        var sent = new List<byte[]>();
        var bytes = stream.Written.ToArray();
        int offset = 0;
        while (offset < bytes.Length)
        {
            TsRequest.TryReadFrameLength(bytes.AsSpan(offset), out _, out int total, out _);
            sent.Add(bytes[offset..(offset + total)]);
            offset += total;
        }

        return new Outcome(sent[1], result.ServerPubKeyAuthVerified, sent.Count > 2 ? sent[2] : []);
    }

    /// <summary>Serves the recorded server frames one read at a time and keeps what the client writes.</summary>
    private sealed class ScriptStream(IReadOnlyList<byte[]> frames) : Stream
    {
        private readonly MemoryStream _toRead = new(frames.SelectMany(f => f).ToArray());

        public MemoryStream Written { get; } = new();

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => _toRead.Read(buffer, offset, count);

        public override void Write(byte[] buffer, int offset, int count) => Written.Write(buffer, offset, count);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
