using RdpProbe.Diagnosis;
using RdpProbe.Probe.Phases;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.Probe.Phases;

public sealed class EncryptionLevelMatrixTests
{
    /// <summary>A server that accepts 56-bit and 128-bit, disconnects on 40-bit and resets on FIPS.</summary>
    private static async Task Serve(Stream s, System.Net.Sockets.Socket socket, CancellationToken ct)
    {
        var frame = await ScriptedServer.ReadTpktAsync(s, ct);
        Assert.True(X224.TryGetDataPayload(frame, out var mcs));

        // CS_SECURITY sits at a fixed place in this client's Connect Initial: find it by its block type.
        var bytes = mcs.ToArray();
        int at = Enumerable.Range(0, bytes.Length - 8).First(i => bytes[i] == 0x02 && bytes[i + 1] == 0xC0 && bytes[i + 2] == 12);
        var offered = (EncryptionMethods)BitConverter.ToUInt32(bytes, at + 4);
        switch (offered)
        {
            case EncryptionMethods.Bit40:
                await s.WriteAsync(Mcs.WrapInDataTpdu(Mcs.DisconnectProviderUltimatum(McsDisconnectReason.ProviderInitiated)), ct);
                break;
            case EncryptionMethods.Fips:
                ScriptedServer.Reset(socket);
                break;
            default:
                var pair = Protocol.StandardSecurityTests.NewKey();
                var blocks = Gcc.EncodeServerData(0x00080004, SecurityProtocols.Rdp, offered, EncryptionLevel.ClientCompatible, 1003, [],
                    new byte[32], Protocol.StandardSecurityTests.ProprietaryCertificate((Org.BouncyCastle.Crypto.Parameters.RsaKeyParameters)pair.Public));
                await s.WriteAsync(Mcs.WrapInDataTpdu(Mcs.EncodeConnectResponse(0, Gcc.EncodeConferenceCreateResponse(blocks))), ct);
                break;
        }
    }

    [Fact]
    public async Task One_connection_per_method_and_each_answer_classified()
    {
        var servers = new List<ScriptedServer>();
        try
        {
            var record = new PhaseRecord(Phase.EncryptionLevels);
            var result = await EncryptionLevelMatrix.RunAsync(async ct =>
            {
                var server = ScriptedServer.Start(Serve);
                servers.Add(server);
                return await server.ConnectAsync();
            }, record, CancellationToken.None);

            Assert.Equal(4, servers.Count);
            Assert.Equal([EncryptionMethods.Bit56, EncryptionMethods.Bit128], result.Accepted);
            Assert.Equal(EncryptionSupport.Refused, result.Entries.Single(e => e.Method == EncryptionMethods.Bit40).Support);
            Assert.Equal(EncryptionSupport.Refused, result.Entries.Single(e => e.Method == EncryptionMethods.Fips).Support);
            Assert.Equal(EncryptionLevel.ClientCompatible, result.ServerLevel);
            Assert.Equal(PhaseStatus.Ok, record.Status);
            Assert.Contains("accepted: 56-bit, 128-bit", record.Detail, StringComparison.Ordinal);
            Assert.Contains(record.Messages, m => m.Description.StartsWith("[fips] ", StringComparison.Ordinal));
        }
        finally
        {
            foreach (var server in servers)
            {
                await server.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Connection_failures_are_errors_not_refusals()
    {
        var record = new PhaseRecord(Phase.EncryptionLevels);
        var result = await EncryptionLevelMatrix.RunAsync(_ => throw new IOException("refused"), record, CancellationToken.None);
        Assert.All(result.Entries, e => Assert.Equal(EncryptionSupport.Error, e.Support));
        Assert.Equal(PhaseStatus.Failed, record.Status);
    }
}
