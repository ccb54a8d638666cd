using System.CommandLine;
using RdpProbe.Cli;

var root = new RootCommand("rdpprobe — walks the RDP handshake step by step and names the phase that fails");
ProbeCommand.Configure(root);
root.Subcommands.Add(AnalyzeCommand.Create());
return await CommandLineHost.RunAsync(root, args);
