using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace RdpProbe.Reports;

/// <summary>One distinct client-compatibility table of a streamed document, referenced by <paramref name="Id"/> from each connection.</summary>
public sealed record CompatibilityTable(int Id, IReadOnlyList<ClientVerdictReport> Profiles);

/// <summary>
/// The distinct compatibility tables of one streamed document. A connection's table is seven profiles' verdicts with
/// their summaries and steps (≈ 4 KB of JSON, a third of a handshake's object), and connections alike in the facts
/// that decide it share it word for word: the streamed forms write each distinct table once and give connections its
/// id. Tables are told apart by their JSON (what a reader of the document would compare); the table the analysis
/// shares between alike connections (<see cref="CompatibilityMemo"/>) is recognised by reference first, so a table is
/// serialized for comparison about once. At most <see cref="Max"/> tables get an id; past that a connection carries
/// its own table, so the document's tables stay bounded whatever the capture holds.
/// </summary>
internal sealed class CompatibilityTables(JsonTypeInfo<IReadOnlyList<ClientVerdictReport>> profiles)
{
    /// <summary>Distinct tables given an id; the same bound as the verdict texts (<see cref="AnalysisStream.MaxVerdicts"/>).</summary>
    public const int Max = AnalysisStream.MaxVerdicts;

    /// <summary>Table instances remembered by reference (a cache in front of the comparison by JSON; bounded).</summary>
    private const int MaxInstances = 4 * Max;

    private readonly Dictionary<IReadOnlyList<ClientVerdictReport>, CompatibilityTable> _byInstance = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<string, CompatibilityTable> _byJson = new(StringComparer.Ordinal);
    private readonly List<CompatibilityTable> _all = [];

    public IReadOnlyList<CompatibilityTable> All => _all;

    /// <summary>
    /// The id of <paramref name="table"/> and, the first time it is met, the table itself. Null id: the connection has
    /// no table (its server never answered the X.224 request), or <see cref="Max"/> tables already have an id.
    /// </summary>
    public (int? Id, CompatibilityTable? Fresh) Lookup(IReadOnlyList<ClientVerdictReport> table)
    {
        if (table.Count == 0)
        {
            return (null, null);
        }

        if (_byInstance.TryGetValue(table, out var known))
        {
            return (known.Id, null);
        }

        string json = JsonSerializer.Serialize(table, profiles);
        if (_byJson.TryGetValue(json, out known))
        {
            Remember(table, known);
            return (known.Id, null);
        }

        if (_all.Count >= Max)
        {
            return (null, null);
        }

        var fresh = new CompatibilityTable(_all.Count + 1, table);
        _byJson[json] = fresh;
        _all.Add(fresh);
        Remember(table, fresh);
        return (fresh.Id, fresh);
    }

    private void Remember(IReadOnlyList<ClientVerdictReport> instance, CompatibilityTable table)
    {
        if (_byInstance.Count < MaxInstances)
        {
            _byInstance[instance] = table;
        }
    }
}
