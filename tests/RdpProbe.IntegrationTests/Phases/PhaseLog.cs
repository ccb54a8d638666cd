using RdpProbe.Diagnosis;
using Xunit.Abstractions;

namespace RdpProbe.IntegrationTests.Phases;

/// <summary>Writes a phase record to the test output, so a failing run shows what went over the wire.</summary>
internal static class PhaseLog
{
    public static void Write(ITestOutputHelper output, PhaseRecord record)
    {
        output.WriteLine($"{record.Phase.ToReportName()}: {record.Status} / {record.Ending.ToReportName()} code={record.Code?.Word ?? "-"} {record.Detail}");
        foreach (var m in record.Messages)
        {
            output.WriteLine($"  {m.AtMs,8:F1} ms {(m.Direction == Direction.Sent ? "->" : "<-")} {m.Length,6} B  {m.Description}");
        }
    }
}
