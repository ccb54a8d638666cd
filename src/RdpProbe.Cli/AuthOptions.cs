using System.CommandLine;
using System.CommandLine.Parsing;
using RdpProbe.Probe;

namespace RdpProbe.Cli;

/// <summary>--auth (issue 12): the mechanism CredSSP authenticates with.</summary>
internal static class AuthOptions
{
    public static Option<AuthMechanism?> CreateAuth() => new("--auth")
    {
        Description = "CredSSP authentication: negotiate (SPNEGO, Kerberos for TERMSRV/<host> first, NTLM if the server chooses it or no ticket can be had), kerberos (no NTLM fallback), ntlm (raw NTLM) [default: negotiate when --realm is given, else ntlm]",
        HelpName = "negotiate|kerberos|ntlm",
        CustomParser = Auth,
    };

    /// <summary>negotiate | kerberos | ntlm (any case); anything else is a usage error naming the three.</summary>
    public static AuthMechanism? Auth(ArgumentResult result)
    {
        if (result.Tokens.Count == 0)
        {
            return null;
        }

        string text = result.Tokens[0].Value;
        if (AuthMechanisms.TryParse(text, out var mechanism))
        {
            return mechanism;
        }

        result.AddError($"--auth: unknown mechanism '{CliText.Printable(text)}'; expected negotiate, kerberos or ntlm");
        return null;
    }
}
