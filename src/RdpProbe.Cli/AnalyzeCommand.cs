using System.CommandLine;

namespace RdpProbe.Cli;

/// <summary>rdpprobe analyze FILE... (placeholder until the analyzer lands).</summary>
internal static class AnalyzeCommand
{
    public static Command Create()
    {
        var command = new Command("analyze", "Find every RDP connection in a capture and say where and why it stopped");
        var files = new Argument<FileInfo[]>("files") { Arity = ArgumentArity.OneOrMore };
        command.Arguments.Add(files);
        command.SetAction((parse, ct) => Task.FromResult(ExitCodes.InternalError));
        return command;
    }
}
