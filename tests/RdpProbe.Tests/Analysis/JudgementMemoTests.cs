using RdpProbe.Analysis;
using RdpProbe.Diagnosis;

namespace RdpProbe.Tests.Analysis;

/// <summary>
/// Issue 16: a connection's findings, client verdict and inferred facts are remembered per run by the facts that decide
/// them (<see cref="JudgementMemo"/>, <see cref="FactsKey"/>); a remembered judgement must be the one judging the
/// connection afresh gives, for every connection of every capture in the repository.
/// </summary>
public sealed class JudgementMemoTests
{
    private static readonly AnalyzerOptions LabPorts = new() { Ports = [.. Enumerable.Range(3380, 20), .. Enumerable.Range(13380, 40)] };

    private static IEnumerable<string> Captures() =>
        Directory.EnumerateFiles(Path.Combine(TestCaptures.Root, "captures"), "*.pcap*", SearchOption.AllDirectories).Order(StringComparer.Ordinal);

    [Fact]
    public void A_remembered_judgement_is_the_computed_one_for_every_connection_in_the_captures()
    {
        // One memo across all files (as a long run would have), each connection judged twice: the second time remembered.
        var memo = new JudgementMemo();
        int judged = 0;
        foreach (string file in Captures())
        {
            var connections = CaptureFiles.Analyze([file], LabPorts).Findings.Connections;
            foreach (var c in connections.Concat(connections))
            {
                if (c.ClientVerdict is null)
                {
                    continue;
                }

                var (findings, verdict, inferred) = JudgementMemo.Compute(c);
                var remembered = memo.Judge(c);
                Assert.Equal(Words(findings, verdict, inferred), Words(remembered.Findings, remembered.ClientVerdict!, remembered.InferredFacts));

                // The analyzer's own memo gave the connection what judging it afresh gives.
                Assert.Equal(Words(findings, verdict, inferred), Words(c.Findings, c.ClientVerdict, c.InferredFacts));
                judged++;
            }
        }

        Assert.True(judged > 40, $"only {judged} judged connections");
        Assert.InRange(memo.Count, 2, judged / 2);
    }

    [Fact]
    public void The_days_a_certificate_finding_names_are_part_of_the_key()
    {
        // A connection with a certificate, seen 10 and 11 days after it expired, and 5 and 6 days before it expires:
        // the findings name the days, so each gets its own judgement.
        var c = Captures().SelectMany(f => CaptureFiles.Analyze([f], LabPorts).Findings.Connections)
            .First(x => x.Tls?.Certificate is not null && x.ClientVerdict is not null);
        var cert = c.Tls!.Certificate!;
        AnalyzedConnection At(DateTimeOffset t) => c with { StartMicros = (t - DateTimeOffset.UnixEpoch).Ticks / 10 };
        var seen = new[] { cert.NotAfter.AddDays(10.5), cert.NotAfter.AddDays(11.5), cert.NotAfter.AddDays(-5.5), cert.NotAfter.AddDays(-6.5) }.Select(At).ToList();

        var memo = new JudgementMemo();
        foreach (var s in seen.Concat(seen))
        {
            var (findings, verdict, inferred) = JudgementMemo.Compute(s);
            var got = memo.Judge(s);
            Assert.Equal(Words(findings, verdict, inferred), Words(got.Findings, got.ClientVerdict!, got.InferredFacts));
        }

        Assert.Equal(4, memo.Count);
        Assert.Contains(JudgementMemo.Compute(seen[0]).Findings, f => f.Evidence.Contains("10 days ago", StringComparison.Ordinal));
        Assert.Contains(JudgementMemo.Compute(seen[1]).Findings, f => f.Evidence.Contains("11 days ago", StringComparison.Ordinal));
    }

    private static List<string> Words(IReadOnlyList<Finding> findings, ClientVerdict verdict, IReadOnlyList<string> inferred) =>
    [
        .. findings.Select(f => string.Join('|', f.Code, f.Severity, f.Title, f.Evidence, f.Remedy, string.Join(';', f.Affects))),
        string.Join('|', verdict.Profile, verdict.Result, verdict.Protocol, verdict.FailPhase, verdict.Reason, string.Join(';', verdict.Steps),
            string.Join(';', verdict.Warnings), string.Join(';', verdict.NeedsConnection)),
        string.Join(';', inferred),
    ];
}
