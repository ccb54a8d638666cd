using System.CommandLine;
using System.CommandLine.Parsing;
using RdpProbe.Diagnosis;

namespace RdpProbe.Cli;

/// <summary>
/// --client (whose view the verdict takes: a <see cref="ClientProfile"/>) and --fail-on (the least severe finding that
/// changes the exit code).
/// </summary>
internal static class ClientOptions
{
    /// <summary>The severity words --fail-on accepts, most severe first.</summary>
    public static IReadOnlyList<string> SeverityWords { get; } = [.. Enum.GetValues<Severity>().Select(s => s.ToString().ToLowerInvariant())];

    public static Option<ClientProfile> CreateClient() => new("--client")
    {
        Description = $"Judge the server as this client would: {string.Join(", ", ClientProfiles.Names)} (default windows11; permissive = accept whatever the server offers)",
        HelpName = "profile",
        CustomParser = Client,
    };

    public static Option<Severity?> CreateFailOn() => new("--fail-on")
    {
        Description = $"Exit with {ExitCodes.Findings} when a finding is at least this severe: {string.Join("|", SeverityWords)} (default: findings do not change the exit code)",
        HelpName = "severity",
        CustomParser = FailOn,
    };

    /// <summary>A profile name from <see cref="ClientProfiles.All"/>; the error lists them.</summary>
    public static ClientProfile Client(ArgumentResult result)
    {
        if (result.Tokens.Count == 0)
        {
            return ClientProfiles.Windows11;
        }

        string name = result.Tokens[0].Value;
        if (ClientProfiles.TryGet(name.ToLowerInvariant(), out var profile))
        {
            return profile;
        }

        result.AddError($"--client: unknown profile '{name}'; expected one of {string.Join(", ", ClientProfiles.Names)}");
        return ClientProfiles.Windows11;
    }

    /// <summary>critical | high | medium | low | info.</summary>
    public static Severity? FailOn(ArgumentResult result)
    {
        if (result.Tokens.Count == 0)
        {
            return null;
        }

        string word = result.Tokens[0].Value;
        foreach (var severity in Enum.GetValues<Severity>())
        {
            if (string.Equals(severity.ToString(), word, StringComparison.OrdinalIgnoreCase))
            {
                return severity;
            }
        }

        result.AddError($"--fail-on: unknown severity '{word}'; expected one of {string.Join(", ", SeverityWords)}");
        return null;
    }
}
