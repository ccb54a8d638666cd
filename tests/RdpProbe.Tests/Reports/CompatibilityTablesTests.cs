using RdpProbe.Reports;

namespace RdpProbe.Tests.JsonReports;

/// <summary>The streamed documents' table of distinct compatibility tables: one id per distinct table, bounded.</summary>
public sealed class CompatibilityTablesTests
{
    private static IReadOnlyList<ClientVerdictReport> Table(string summary) =>
    [
        new("windows11", "fails", "ssl", "tls", "tls_version", summary, ["asks for ssl"], [], [], [], false),
        new("freerdp3", "connects", "ssl", null, null, "freerdp3: connects (ssl).", ["asks for ssl"], [], [], [], false),
    ];

    /// <summary>With the serializer settings the writers use (<see cref="StreamJson"/>).</summary>
    private static CompatibilityTables New() => new(new StreamJson().Profiles);

    [Fact]
    public void Alike_tables_share_one_id_whether_or_not_they_are_the_same_instance()
    {
        var tables = New();
        var first = Table("windows11: fails (TLS 1.0 only).");
        var (id, fresh) = tables.Lookup(first);
        Assert.Equal(1, id);
        Assert.Same(first, fresh!.Profiles);

        Assert.Equal((1, (CompatibilityTable?)null), tables.Lookup(first));
        Assert.Equal((1, (CompatibilityTable?)null), tables.Lookup(Table("windows11: fails (TLS 1.0 only).")));

        var (other, otherFresh) = tables.Lookup(Table("windows11: fails (no TLS 1.2)."));
        Assert.Equal(2, other);
        Assert.NotNull(otherFresh);
        Assert.Equal([1, 2], tables.All.Select(t => t.Id));
    }

    [Fact]
    public void No_table_has_no_id_and_past_the_bound_a_connection_keeps_its_own()
    {
        var tables = New();
        Assert.Equal((null, (CompatibilityTable?)null), tables.Lookup([]));
        for (int i = 0; i < CompatibilityTables.Max; i++)
        {
            Assert.Equal(i + 1, tables.Lookup(Table($"summary {i}")).Id);
        }

        Assert.Equal((null, (CompatibilityTable?)null), tables.Lookup(Table("one too many")));
        Assert.Equal(CompatibilityTables.Max, tables.All.Count);

        // Known tables keep their ids once the table of tables is full.
        Assert.Equal(7, tables.Lookup(Table("summary 6")).Id);
    }
}
