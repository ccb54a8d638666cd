using System.Reflection;
using System.Text.Json;
using RdpProbe.Reports;

namespace RdpProbe.Tests.JsonReports;

/// <summary>
/// The streamed forms write a connection as <see cref="StreamedConnection"/> (a type of its own for the serializer's
/// fast path): it must keep every key of the whole report's <see cref="ConnectionReport"/>, in its order and with its
/// type, apart from the three documented changes — a key added to ConnectionReport and not here fails this test.
/// </summary>
public sealed class StreamedConnectionTests
{
    private static readonly string[] ChainKeys = [nameof(ConnectionReport.ChainId), nameof(ConnectionReport.AttemptIndex), nameof(ConnectionReport.SupersededByFallback)];

    private static List<PropertyInfo> Keys(Type type) =>
        [.. type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.Name != "EqualityContract")];

    [Fact]
    public void A_streamed_connection_has_the_keys_of_the_whole_reports_connection_in_its_order()
    {
        var whole = Keys(typeof(ConnectionReport)).Where(p => !ChainKeys.Contains(p.Name)).ToList();
        var streamed = Keys(typeof(StreamedConnection));

        var expected = whole.Select(p => p.Name switch
        {
            nameof(ConnectionReport.Compatibility) => nameof(StreamedConnection.CompatibilityId),
            _ => p.Name,
        }).Append(nameof(StreamedConnection.Compatibility));
        Assert.Equal(expected, streamed.Select(p => p.Name));

        foreach (var p in whole.Where(p => p.Name is not (nameof(ConnectionReport.Verdict) or nameof(ConnectionReport.Compatibility))))
        {
            Assert.Equal(p.PropertyType, streamed.Single(s => s.Name == p.Name).PropertyType);
        }
    }

    [Fact]
    public void A_verdict_by_reference_keeps_every_key_of_the_verdict_but_its_prose()
    {
        // The prose (shared, by id) goes after the id; what is this connection's own (evidence, undecided) comes last.
        var prose = new[] { nameof(VerdictReport.Summary), nameof(VerdictReport.Causes), nameof(VerdictReport.Remedies) };
        var own = new[] { nameof(VerdictReport.Evidence), nameof(VerdictReport.Undecided) };
        var verdict = Keys(typeof(VerdictReport)).Select(p => p.Name).Where(n => !prose.Contains(n) && !own.Contains(n));
        Assert.Equal(verdict.Append(nameof(VerdictRef.Id)).Concat(prose).Concat(own), Keys(typeof(VerdictRef)).Select(p => p.Name));
    }

    [Fact]
    public void A_failed_verdict_keeps_its_evidence_and_what_it_could_not_decide_and_an_ok_one_writes_neither()
    {
        var failed = new VerdictReport(false, "tls", "reset", null, "s", ["c"], ["r"], false)
        {
            Evidence = "RST from the server 2 ms after the ClientHello (frame 7)",
            Undecided = ["a firewall or the server itself: a capture on the server tells"],
        };
        var json = JsonSerializer.Serialize(VerdictRef.From(failed, 3), StreamedConnectionContext.Default.VerdictRef);
        using (var doc = JsonDocument.Parse(json))
        {
            Assert.Equal(failed.Evidence, doc.RootElement.GetProperty("evidence").GetString());
            Assert.Equal(failed.Undecided[0], doc.RootElement.GetProperty("undecided")[0].GetString());
            Assert.Equal(3, doc.RootElement.GetProperty("id").GetInt32());
            Assert.False(doc.RootElement.TryGetProperty("summary", out _));
        }

        var ok = new VerdictReport(true, "session", "ok", null, "s", [], [], false);
        using var okDoc = JsonDocument.Parse(JsonSerializer.Serialize(VerdictRef.From(ok, 0), StreamedConnectionContext.Default.VerdictRef));
        Assert.False(okDoc.RootElement.TryGetProperty("evidence", out _));
        Assert.False(okDoc.RootElement.TryGetProperty("undecided", out _));
    }
}
