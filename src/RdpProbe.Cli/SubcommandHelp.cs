using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace RdpProbe.Cli;

/// <summary>
/// `rdpprobe analyze --help` and `rdpprobe bench --help` describe that command only: the root's own arguments (the
/// probe's targets) are hidden while a subcommand's help is written, so its usage line does not start with them.
/// </summary>
internal sealed class SubcommandHelp(RootCommand root, HelpAction builtIn) : SynchronousCommandLineAction
{
    public static void Install(RootCommand root)
    {
        var help = root.Options.OfType<HelpOption>().First();
        if (help.Action is HelpAction builtIn)
        {
            help.Action = new SubcommandHelp(root, builtIn);
        }
    }

    /// <summary>As the built-in help: `analyze --help` without files is a request for help, not a usage error.</summary>
    public override bool ClearsParseErrors => true;

    public override int Invoke(ParseResult parseResult)
    {
        ArgumentNullException.ThrowIfNull(parseResult);
        bool subcommand = !ReferenceEquals(parseResult.CommandResult.Command, root);
        var hidden = root.Arguments.Select(a => a.Hidden).ToList();
        try
        {
            foreach (var argument in root.Arguments)
            {
                argument.Hidden |= subcommand;
            }

            return builtIn.Invoke(parseResult);
        }
        finally
        {
            for (int i = 0; i < root.Arguments.Count; i++)
            {
                root.Arguments[i].Hidden = hidden[i];
            }
        }
    }
}
