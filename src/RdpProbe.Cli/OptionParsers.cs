using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using RdpProbe.Probe;
using RdpProbe.Protocol;

namespace RdpProbe.Cli;

/// <summary>
/// Typed command-line values: System.CommandLine custom parsers that turn a token into a target, a duration, a
/// protocol set or a bounded count, and report a one-line usage error (exit code 2) otherwise.
/// </summary>
internal static class OptionParsers
{
    /// <summary>
    /// The option's value, or <paramref name="fallback"/> when it was not given. Used instead of a DefaultValueFactory
    /// for typed values whose default the help should show as the user writes it ("5s", not "00:00:05"); the
    /// descriptions say the default.
    /// </summary>
    public static T ValueOr<T>(this ParseResult parse, Option<T> option, T fallback)
        => parse.GetResult(option) is null ? fallback : parse.GetValue(option)!;

    /// <summary>HOST[:PORT] through the one target parser; no token gives null (the command decides whether that is allowed).</summary>
    public static ProbeTarget? Target(ArgumentResult result)
    {
        if (result.Tokens.Count == 0)
        {
            return null;
        }

        if (!ProbeTarget.TryParse(result.Tokens[0].Value, out var target, out string? error))
        {
            result.AddError(error!);
        }

        return target;
    }

    /// <summary>Every HOST[:PORT] given on the command line, in order; each bad one is an error that names it.</summary>
    public static ProbeTarget[] Targets(ArgumentResult result)
    {
        var targets = new List<ProbeTarget>(result.Tokens.Count);
        foreach (var token in result.Tokens)
        {
            if (ProbeTarget.TryParse(token.Value, out var target, out string? error))
            {
                targets.Add(target!);
            }
            else
            {
                result.AddError(error!);
            }
        }

        return [.. targets];
    }

    /// <summary>"5s", "1500ms", "2.5" (seconds), "1m" between <paramref name="min"/> and <paramref name="max"/>.</summary>
    public static Func<ArgumentResult, TimeSpan> Duration(string option, TimeSpan fallback, TimeSpan min, TimeSpan max) => result =>
    {
        if (result.Tokens.Count == 0)
        {
            return fallback;
        }

        if (!Durations.TryParse(result.Tokens[0].Value, option, min, max, out var value, out string? error))
        {
            result.AddError(error!);
        }

        return value;
    };

    /// <summary>The per-phase time limit: between 100 ms and 10 minutes.</summary>
    public static Func<ArgumentResult, TimeSpan> PhaseTimeout { get; } = Duration("--timeout", ProbeOptions.DefaultTimeout, TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(10));

    /// <summary>A count in [<paramref name="min"/>, <paramref name="max"/>]; <paramref name="outOfRange"/> formats the error for a number outside.</summary>
    public static Func<ArgumentResult, int> Count(string option, int fallback, int min, int max, Func<int, string> outOfRange) => result =>
    {
        if (result.Tokens.Count == 0)
        {
            return fallback;
        }

        string text = result.Tokens[0].Value;
        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value))
        {
            result.AddError($"{option} {text}: not a whole number");
            return fallback;
        }

        if (value < min || value > max)
        {
            result.AddError(outOfRange(value));
        }

        return value;
    };

    /// <summary>The same for an option whose absence means "not this mode".</summary>
    public static Func<ArgumentResult, int?> OptionalCount(string option, int min, int max, Func<int, string> outOfRange)
    {
        var parse = Count(option, 0, min, max, outOfRange);
        return result => result.Tokens.Count == 0 ? null : parse(result);
    }

    /// <summary>--protocols rdp,ssl,hybrid,hybrid_ex,rdstls,rdsaad (MS-RDPBCGR 2.2.1.1.1 requestedProtocols).</summary>
    public static SecurityProtocols Protocols(ArgumentResult result)
    {
        if (result.Tokens.Count == 0)
        {
            return ProbeOptions.DefaultProtocols;
        }

        if (!TryParseProtocols(result.Tokens[0].Value, out var protocols, out string? error))
        {
            result.AddError(error!);
        }

        return protocols;
    }

    internal static bool TryParseProtocols(string text, out SecurityProtocols protocols, out string? error)
    {
        protocols = SecurityProtocols.Rdp;
        error = null;
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0)
        {
            error = "--protocols: give at least one of rdp, ssl, hybrid, hybrid_ex, rdstls, rdsaad";
            return false;
        }

        foreach (string part in parts)
        {
            if (!SecurityProtocolNames.TryParseReportName(part, out var protocol))
            {
                error = $"--protocols: unknown protocol '{part}' (use rdp, ssl, hybrid, hybrid_ex, rdstls, rdsaad)";
                return false;
            }

            protocols |= protocol;
        }

        return true;
    }

    /// <summary>
    /// A cookie or routing token: it ends in CR LF and the whole Connection Request must fit one X.224 TPDU (LI is one
    /// byte, MS-RDPBCGR 2.2.1.1), so printable ASCII only and a bounded length.
    /// </summary>
    public static string? Token(ArgumentResult result, int prefix)
    {
        if (result.Tokens.Count == 0)
        {
            return null;
        }

        string value = result.Tokens[0].Value;
        if (value.Any(c => c is '\r' or '\n' || c > 0x7E || c < 0x20))
        {
            result.AddError("cookie / routing token: printable ASCII only, no line breaks");
        }
        else if (prefix + value.Length > 200)
        {
            result.AddError("cookie / routing token too long (the Connection Request is at most 259 bytes)");
        }

        return value;
    }

    /// <summary>--user: DOMAIN\user, user@domain or user; never a password.</summary>
    public static string? User(ArgumentResult result)
    {
        if (result.Tokens.Count == 0)
        {
            return null;
        }

        string value = result.Tokens[0].Value;
        if (string.IsNullOrWhiteSpace(value) || value.Any(char.IsControl))
        {
            result.AddError("--user: expected DOMAIN\\user, user@domain or user");
        }

        return value;
    }
}
