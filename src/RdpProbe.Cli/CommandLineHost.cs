using System.CommandLine;

namespace RdpProbe.Cli;

/// <summary>Runs the parsed command with Ctrl+C wired to cancellation and usage errors mapped to exit code 2.</summary>
internal static class CommandLineHost
{
    public static async Task<int> RunAsync(RootCommand root, string[] args)
    {
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors)
            {
                Console.Error.WriteLine($"rdpprobe: {error.Message}");
            }

            Console.Error.WriteLine("Try 'rdpprobe --help'.");
            return ExitCodes.Usage;
        }

        var config = new InvocationConfiguration { EnableDefaultExceptionHandler = false };
        try
        {
            return await parse.InvokeAsync(config);
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("rdpprobe: interrupted");
            return ExitCodes.Interrupted;
        }
    }
}
