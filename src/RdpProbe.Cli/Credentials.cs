using System.CommandLine;
using RdpProbe.Probe;

namespace RdpProbe.Cli;

/// <summary>Where the password for <paramref name="user"/> comes from; null with <paramref name="error"/> when it cannot be had.</summary>
internal delegate string? PasswordLookup(string user, out string? error);

/// <summary>The --user option of probe and bench, and where its password comes from (never an argument).</summary>
internal static class Credentials
{
    public static Option<string?> CreateOption(string description) => new("--user")
    {
        Description = description,
        CustomParser = OptionParsers.User,
    };

    /// <summary>
    /// The engine with the user's credentials when --user was given (password from RDPPROBE_PASSWORD or a no-echo
    /// prompt); null with the usage error written when no password can be had.
    /// </summary>
    public static ProbeEngine? Apply(ProbeEngine engine, string? user, CliIo io)
        => Apply(engine, user, io, user is null ? null : (string u, out string? e) => PasswordSource.Get(u, io.Error, out e));

    /// <summary>The same with the password source given (tests: no environment, no terminal).</summary>
    internal static ProbeEngine? Apply(ProbeEngine engine, string? user, CliIo io, PasswordLookup? lookup)
    {
        if (user is null || lookup is null)
        {
            return engine;
        }

        string? password = lookup(user, out string? error);
        if (password is null)
        {
            io.Error.WriteLine($"rdpprobe: {error ?? "--user needs a password"}");
            return null;
        }

        return engine.WithCredentials(user, password);
    }
}
