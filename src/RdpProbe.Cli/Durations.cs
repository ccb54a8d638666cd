using System.Globalization;

namespace RdpProbe.Cli;

/// <summary>Durations on the command line: "5s", "1500ms", "2.5" (seconds), "1m".</summary>
internal static class Durations
{
    public static bool TryParse(string text, string option, TimeSpan min, TimeSpan max, out TimeSpan value, out string? error)
    {
        value = default;
        error = null;
        string t = text.Trim().ToLowerInvariant();
        double factor = 1000;
        if (t.EndsWith("ms", StringComparison.Ordinal))
        {
            factor = 1;
            t = t[..^2];
        }
        else if (t.EndsWith('s'))
        {
            t = t[..^1];
        }
        else if (t.EndsWith('m'))
        {
            factor = 60_000;
            t = t[..^1];
        }

        if (!double.TryParse(t, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double number) || double.IsNaN(number))
        {
            error = $"{option} {text}: not a duration (examples: 1500ms, 5s, 2.5, 1m)";
            return false;
        }

        double ms = number * factor;
        if (ms < min.TotalMilliseconds || ms > max.TotalMilliseconds)
        {
            error = $"{option} {text}: must be between {Show(min)} and {Show(max)}";
            return false;
        }

        value = TimeSpan.FromMilliseconds(ms);
        return true;
    }

    private static string Show(TimeSpan span) => span.TotalMilliseconds < 1000 || span.TotalMilliseconds % 1000 != 0
        ? $"{span.TotalMilliseconds:0}ms"
        : span.TotalSeconds < 60 || span.TotalSeconds % 60 != 0 ? $"{span.TotalSeconds:0}s" : $"{span.TotalMinutes:0}m";
}
