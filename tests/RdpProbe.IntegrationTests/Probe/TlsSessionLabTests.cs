using Org.BouncyCastle.Tls;
using RdpProbe.Diagnosis;
using RdpProbe.IntegrationTests.Lab;
using RdpProbe.Probe;
using RdpProbe.Protocol;

namespace RdpProbe.IntegrationTests.Probe;

/// <summary>The TLS step on its own against xrdp, pinned to TLS 1.2: handshake messages in the clear, CLIENT_RANDOM key log.</summary>
[Collection(LabCollection.Name)]
public sealed class TlsSessionLabTests(LabFixture lab)
{
    [Fact]
    public async Task Tls12_handshake_logs_each_message_and_the_master_secret()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await using var connection = await ProbeConnection.ConnectAsync(lab.Endpoints.Xrdp, cts.Token);
        var x224 = new PhaseRecord(Phase.X224);
        var confirm = await X224Exchange.RunAsync(connection.Stream, X224Exchange.BuildRequest(SecurityProtocols.Ssl, null, null), x224, new PhaseClock(connection.Stream), cts.Token);
        Assert.Equal(SecurityProtocols.Ssl, confirm.SelectedProtocol);

        var record = new PhaseRecord(Phase.Tls);
        var clock = new PhaseClock(connection.Stream);
        var log = new TlsMessageLog(record, clock);
        connection.Stream.Tap = log.Observe;
        var client = new ProbeTlsClient([ProtocolVersion.TLSv12], null, clock.Start) { CollectKeyLog = true };
        var session = await RdpProbe.Probe.TlsSession.HandshakeAsync(connection.Stream, client, log, cts.Token);
        connection.Stream.Tap = null;

        Assert.Equal("tls1.2", client.VersionName);
        Assert.True(client.HandshakeComplete);
        string[] received = record.Messages.Where(m => m.Direction == Direction.Received).Select(m => m.Description).ToArray();
        Assert.Contains("ServerHello", received);
        Assert.Contains("Certificate", received);
        Assert.Contains("ServerHelloDone", received);
        string[] sent = record.Messages.Where(m => m.Direction == Direction.Sent).Select(m => m.Description).ToArray();
        Assert.Equal("ClientHello", sent[0]);
        Assert.Contains("ClientKeyExchange", sent);
        Assert.Contains("ChangeCipherSpec", sent);

        // CLIENT_RANDOM <32-byte client random> <48-byte master secret>, read without consuming the secret: the
        // connection still works afterwards (a clean close_notify exchange).
        string line = Assert.Single(client.KeyLogLines);
        string[] parts = line.Split(' ');
        Assert.Equal("CLIENT_RANDOM", parts[0]);
        Assert.Equal(64, parts[1].Length);
        Assert.Equal(96, parts[2].Length);
        await session.CloseAsync(cts.Token);
    }
}
