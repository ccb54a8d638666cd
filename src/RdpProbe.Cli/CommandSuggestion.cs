using System.CommandLine;

namespace RdpProbe.Cli;

/// <summary>
/// A mistyped subcommand (<c>rdpprobe analyse</c>, <c>rdpprobe version</c>) would otherwise be taken as a host name and
/// looked up in DNS. A bare first word — no dot, no colon, not an option — that is within edit distance 2 of a command
/// (or of the words "version" and "help") is a usage error that names the closest command instead.
/// </summary>
internal static class CommandSuggestion
{
    private const int MaxDistance = 2;

    /// <summary>The usage message for <paramref name="args"/>, or null when the first word is not a near miss.</summary>
    public static string? For(RootCommand root, IReadOnlyList<string> args)
    {
        if (args.Count == 0 || args[0] is not { Length: > 0 } word || word.StartsWith('-') || word.Contains('.') || word.Contains(':')
            || word.Contains('[') || char.IsDigit(word[0]))
        {
            return null;
        }

        var commands = root.Subcommands.SelectMany(c => c.Aliases.Prepend(c.Name)).ToList();
        if (commands.Contains(word, StringComparer.Ordinal))
        {
            return null;
        }

        // Words that name root options rather than commands.
        var candidates = commands.Select(c => (Word: c, Suggestion: $"rdpprobe {c}"))
            .Append((Word: "version", Suggestion: "rdpprobe --version"))
            .Append((Word: "help", Suggestion: "rdpprobe --help"));
        var best = candidates
            .Select(c => (c.Suggestion, Distance: Distance(word.ToLowerInvariant(), c.Word)))
            .Where(c => c.Distance <= MaxDistance)
            .OrderBy(c => c.Distance)
            .FirstOrDefault();
        return best.Suggestion is null
            ? null
            : $"'{word}' is not a command; did you mean '{best.Suggestion}'? (to probe a host of that name, give its port: {word}:3389)";
    }

    /// <summary>Levenshtein distance (insertions, deletions, substitutions), two rows.</summary>
    internal static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j] + 1, current[j - 1] + 1));
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
