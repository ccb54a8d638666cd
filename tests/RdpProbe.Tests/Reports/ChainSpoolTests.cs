using System.Text.Json;
using RdpProbe.Analysis;
using RdpProbe.Reports;
using RdpProbe.Tests.Analysis;

namespace RdpProbe.Tests.JsonReports;

/// <summary>
/// Issue 16: the streamed documents keep attempt chains in a spool (memory, then a temporary file) until they write
/// them at the end; what comes out must be what serializing the chains there directly gives, byte for byte.
/// </summary>
public sealed class ChainSpoolTests
{
    private static IReadOnlyList<ChainReport> RealChains()
    {
        // Zeek's public capture of a Windows client falling back from TLS to RDP security: one chain of real attempts.
        string file = Path.Combine(TestCaptures.Root, "captures", "public", "zeek", "rdp-proprietary-encryption.pcap");
        var chains = CaptureAnalysis.Run([file], new AnalyzerOptions()).Report.Chains;
        Assert.NotEmpty(chains);
        return chains;
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(1, false)]
    [InlineData(3000, true)] // past the in-memory limit: the spool moves to a temporary file
    [InlineData(3000, false)]
    public void Spooled_chains_are_written_as_the_serializer_writes_them(int copies, bool indented)
    {
        var real = RealChains();
        var chains = Enumerable.Range(0, copies).SelectMany(i => real.Select(c => c with { Id = i + 1, Client = $"10.0.{i / 256}.{i % 256}" })).ToList();
        var json = new StreamJson();
        using var spool = json.CreateChainSpool();
        foreach (var chain in chains)
        {
            spool.Add(chain);
        }

        Assert.Equal(chains.Count, spool.Count);
        if (copies > 1)
        {
            Assert.True(chains.Count * 1000 > ChainSpool.MemoryLimit, "the test must pass the in-memory limit");
        }

        string Write(Action<Utf8JsonWriter, JsonOutput> body)
        {
            using var buffer = new MemoryStream();
            var output = new JsonOutput(buffer);
            using (var writer = json.CreateWriter(output, indented))
            {
                writer.WriteStartObject();
                body(writer, output);
                writer.WriteEndObject();
            }

            output.Drain();
            return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
        }

        string spooled = Write((w, o) => spool.WriteArray(w, "chains", () => o.MaybeFlush(force: true)));
        string direct = Write((w, _) =>
        {
            w.WriteStartArray("chains");
            foreach (var chain in chains)
            {
                JsonSerializer.Serialize(w, chain, json.Chain);
            }

            w.WriteEndArray();
        });
        Assert.Equal(direct, spooled);
        Assert.Contains("\"attempts\"", spooled, StringComparison.Ordinal);

        // Written twice (a sink may be asked again): the same bytes.
        Assert.Equal(spooled, Write((w, _) => spool.WriteArray(w, "chains")));
    }

    [Fact]
    public void Without_a_usable_temporary_directory_the_chains_stay_in_memory_and_are_all_written()
    {
        var real = RealChains();
        var json = new StreamJson();
        string missing = Path.Combine(Path.GetTempPath(), $"rdpprobe-no-such-dir-{Guid.NewGuid():N}");
        using var spool = json.CreateChainSpool(missing);
        for (int i = 0; i < 3000; i++)
        {
            spool.Add(real[0] with { Id = i + 1 });
        }

        Assert.False(Directory.Exists(missing));
        using var buffer = new WriteCountingStream();
        var output = new JsonOutput(buffer);
        using (var writer = json.CreateWriter(output, indented: false))
        {
            writer.WriteStartObject();
            spool.WriteArray(writer, "chains", () => output.MaybeFlush(force: true));
            writer.WriteEndObject();
        }

        output.Drain();

        // Handed to the output as they were copied (memory stays flat), not held to the end: many writes, none large.
        Assert.True(buffer.Writes > 10, $"{buffer.Writes} writes");
        Assert.True(buffer.Largest <= 2 * FlushPolicy.PendingBytes, $"largest write {buffer.Largest} B");
        var chains = JsonDocument.Parse(buffer.ToArray()).RootElement.GetProperty("chains");
        Assert.Equal(3000, chains.GetArrayLength());
        Assert.Equal(3000, chains[2999].GetProperty("id").GetInt32());
    }

    [Fact]
    public void The_temporary_file_is_gone_when_the_spool_is_disposed()
    {
        var real = RealChains();
        var before = Directory.GetFiles(Path.GetTempPath(), "rdpprobe-chains-*.tmp").ToHashSet();
        var spool = new StreamJson().CreateChainSpool();
        for (int i = 0; i < 3000; i++)
        {
            spool.Add(real[0]);
        }

        var during = Directory.GetFiles(Path.GetTempPath(), "rdpprobe-chains-*.tmp").Except(before).ToList();
        Assert.Single(during);
        spool.Dispose();
        Assert.False(File.Exists(during[0]));
    }

    private sealed class WriteCountingStream : MemoryStream
    {
        public int Writes { get; private set; }

        public int Largest { get; private set; }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Writes++;
            Largest = Math.Max(Largest, buffer.Length);
            base.Write(buffer);
        }
    }
}
