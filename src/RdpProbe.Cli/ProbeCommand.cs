using System.CommandLine;

namespace RdpProbe.Cli;

/// <summary>The default verb: rdpprobe HOST[:PORT]. (Placeholder until the probe engine lands.)</summary>
internal static class ProbeCommand
{
    public static void Configure(RootCommand root)
    {
        var target = new Argument<string>("target") { Description = "HOST[:PORT], default port 3389" };
        root.Arguments.Add(target);
        root.SetAction((parse, ct) => Task.FromResult(ExitCodes.InternalError));
    }
}
