using System.CommandLine;

namespace RdpProbe.Cli;

/// <summary>The command tree and its entry point; Program.cs and the CLI tests both go through here.</summary>
internal static class RdpProbeApp
{
    public static RootCommand BuildRoot(CliIo io)
    {
        var root = new RootCommand("rdpprobe — walks the RDP handshake step by step and names the phase that fails");
        ProbeCommand.Configure(root, io);
        // The process's own streams by default; a caller's writers (the in-process CLI tests) get the output instead.
        root.Subcommands.Add(ReferenceEquals(io.Out, Console.Out)
            ? AnalyzeCommand.Create()
            : AnalyzeCommand.Create(AnalyzeCommand.CreateConsole(io.Out), AnalyzeCommand.CreateConsole(io.Error)));
        root.Subcommands.Add(BenchCommand.Create(io));
        root.Subcommands.Add(ServeCommand.Create(io));

        // -V as well as --version (curl, ssh, rsync spell it so); -v stays free for a verbose view.
        root.Options.OfType<VersionOption>().First().Aliases.Add("-V");
        SubcommandHelp.Install(root);
        return root;
    }

    public static Task<int> RunAsync(string[] args, CliIo io) => CommandLineHost.RunAsync(BuildRoot(io), args, io.Error, io.Out);
}
