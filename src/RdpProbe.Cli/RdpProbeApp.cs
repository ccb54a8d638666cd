using System.CommandLine;

namespace RdpProbe.Cli;

/// <summary>The command tree and its entry point; Program.cs and the CLI tests both go through here.</summary>
internal static class RdpProbeApp
{
    public static RootCommand BuildRoot(CliIo io)
    {
        var root = new RootCommand("rdpprobe — walks the RDP handshake step by step and names the phase that fails");
        ProbeCommand.Configure(root, io);
        root.Subcommands.Add(AnalyzeCommand.Create());
        root.Subcommands.Add(BenchCommand.Create(io));
        root.Subcommands.Add(ServeCommand.Create(io));
        return root;
    }

    public static Task<int> RunAsync(string[] args, CliIo io) => CommandLineHost.RunAsync(BuildRoot(io), args, io.Error);
}
