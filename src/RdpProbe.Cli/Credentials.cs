using System.CommandLine;
using RdpProbe.Probe;

namespace RdpProbe.Cli;

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
    {
        if (user is null)
        {
            return engine;
        }

        string? password = PasswordSource.Get(user, io.Error, out string? error);
        if (password is null)
        {
            io.Error.WriteLine($"rdpprobe: {error ?? "--user needs a password"}");
            return null;
        }

        return engine.WithCredentials(user, password);
    }
}
