using RdpProbe.Diagnosis;

namespace RdpProbe.Cli;

/// <summary>
/// --fail-on for runs over several probes (--repeat, --targets, several targets): every probe was ok, but findings at
/// or above the threshold make the exit code <see cref="ExitCodes.Findings"/>. One line on standard error says which
/// (standard output keeps the table or the JSON), bounded to a few findings.
/// </summary>
internal static class FailOnView
{
    private const int MaxListed = 5;

    public static int Report(CliIo io, Severity threshold, IEnumerable<(string Target, Finding Finding)> found)
    {
        var list = found.ToList();
        var shown = list.Take(MaxListed).Select(x => $"{x.Target} {x.Finding.Code} ({x.Finding.Severity.ToString().ToLowerInvariant()})");
        string more = list.Count > MaxListed ? $" and {list.Count - MaxListed} more" : string.Empty;
        io.Error.WriteLine(CliText.Printable($"rdpprobe: findings at or above --fail-on {threshold.ToString().ToLowerInvariant()}: {string.Join(", ", shown)}{more}", 600));
        return ExitCodes.Findings;
    }
}
