using System.Diagnostics.CodeAnalysis;

namespace RdpProbe.Reports;

/// <summary>
/// Shares equal texts and word lists between the connection reports of one analysis run, so memory for a capture of
/// many alike connections grows by their distinct facts, not by repeated words. Bounded: past
/// <see cref="MaxEntries"/> distinct values it stops remembering and hands values back as they are.
/// </summary>
internal sealed class ReportPool
{
    public const int MaxEntries = 16_384;

    private readonly Dictionary<string, string> _strings = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IReadOnlyList<string>> _lists = new(StringComparer.Ordinal);

    /// <summary>The compatibility tables of this run, by the facts that decide them.</summary>
    public CompatibilityMemo Compatibility { get; } = new();

    [return: NotNullIfNotNull(nameof(value))]
    public string? Share(string? value)
    {
        if (value is null)
        {
            return null;
        }

        if (_strings.TryGetValue(value, out var shared))
        {
            return shared;
        }

        if (_strings.Count < MaxEntries)
        {
            _strings[value] = value;
        }

        return value;
    }

    [return: NotNullIfNotNull(nameof(list))]
    public IReadOnlyList<string>? Share(IReadOnlyList<string>? list)
    {
        if (list is null || list.Count == 0)
        {
            return list;
        }

        // NUL never occurs in report words, so the joined key is unambiguous.
        string key = string.Join('\0', list);
        if (_lists.TryGetValue(key, out var shared))
        {
            return shared;
        }

        if (_lists.Count < MaxEntries)
        {
            _lists[key] = list;
        }

        return list;
    }
}
