using RdpProbe.Analysis;
using RdpProbe.Reports;
using RdpProbe.Tests.Analysis;

namespace RdpProbe.Tests.JsonReports;

/// <summary>
/// Issue 16: the compatibility table is remembered per run by the facts that decide it (<see cref="CompatibilityMemo"/>);
/// a remembered table must be the table computing it gives, for every connection of every capture in the repository.
/// </summary>
public sealed class CompatibilityMemoTests
{
    private static IEnumerable<string> Captures() =>
        Directory.EnumerateFiles(Path.Combine(TestCaptures.Root, "captures"), "*.pcap*", SearchOption.AllDirectories).Order(StringComparer.Ordinal);

    [Fact]
    public void A_remembered_table_is_the_computed_table_for_every_connection_in_the_captures()
    {
        // Lab captures use the lab's ports; one pool (one memo) across all files, as a long run would have.
        var options = new AnalyzerOptions { Ports = [.. Enumerable.Range(3380, 20), .. Enumerable.Range(13380, 40)] };
        var pool = new ReportPool();
        int tables = 0;
        foreach (string file in Captures())
        {
            var findings = CaptureFiles.Analyze([file], options).Findings;
            foreach (var c in findings.Connections.Concat(findings.Connections))
            {
                var remembered = CaptureAnalysis.Connection(c, pool, findings.Files).Compatibility;
                var computed = c.ClientVerdict is null ? [] : CaptureAnalysis.ComputeCompatibilityTable(c, new ReportPool());
                var (want, got) = (Words(computed), Words(remembered));
                Assert.True(want.SequenceEqual(got), $"{file} frame {c.FirstFrame}:\n{string.Join('\n', want.Except(got))}\n--- remembered:\n{string.Join('\n', got.Except(want))}");
                tables += remembered.Count > 0 ? 1 : 0;
            }
        }

        Assert.True(tables > 20, $"only {tables} connections with a table");
        Assert.InRange(pool.Compatibility.Count, 2, tables);
    }

    [Fact]
    public void The_same_certificate_seen_after_it_expired_gets_its_own_table()
    {
        var pool = new ReportPool();
        var options = new AnalyzerOptions { Ports = [.. Enumerable.Range(3380, 20), .. Enumerable.Range(13380, 40)] };
        // A connection whose table the certificate's validity changes (one that gets as far as judging the certificate).
        var seen = Captures()
            .SelectMany(f => CaptureFiles.Analyze([f], options).Findings.Connections)
            .Where(c => c.Tls?.Certificate is not null && c.ClientVerdict is not null)
            .Select(c => (
                Valid: c with { StartMicros = Micros(c.Tls!.Certificate!.NotBefore.AddDays(1)) },
                Expired: c with { StartMicros = Micros(c.Tls!.Certificate!.NotAfter.AddDays(1)) }))
            .First(p => !Words(CaptureAnalysis.ComputeCompatibilityTable(p.Valid, new ReportPool()))
                .SequenceEqual(Words(CaptureAnalysis.ComputeCompatibilityTable(p.Expired, new ReportPool()))));

        var validTable = CaptureAnalysis.Connection(seen.Valid, pool, []).Compatibility;
        var expiredTable = CaptureAnalysis.Connection(seen.Expired, pool, []).Compatibility;
        Assert.Equal(Words(CaptureAnalysis.ComputeCompatibilityTable(seen.Valid, new ReportPool())), Words(validTable));
        Assert.Equal(Words(CaptureAnalysis.ComputeCompatibilityTable(seen.Expired, new ReportPool())), Words(expiredTable));
        Assert.Equal(2, pool.Compatibility.Count);
    }

    private static long Micros(DateTimeOffset t) => (t - DateTimeOffset.UnixEpoch).Ticks / 10;

    /// <summary>What a reader of the report sees of a table (records compare their lists by reference).</summary>
    private static List<string> Words(IReadOnlyList<ClientVerdictReport> table) =>
        [.. table.Select(v => string.Join('|', v.Profile, v.Result, v.Protocol, v.FailPhase, v.Reason, v.Summary, string.Join(';', v.Steps),
            string.Join(';', v.Warnings), string.Join(';', v.NeedsConnection), string.Join(';', v.InferredFacts), v.Inferred))];
}
