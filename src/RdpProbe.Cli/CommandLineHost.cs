using System.CommandLine;
using System.CommandLine.Parsing;

namespace RdpProbe.Cli;

/// <summary>Runs the parsed command with Ctrl+C wired to cancellation and usage errors mapped to exit code 2.</summary>
internal static class CommandLineHost
{
    public static Task<int> RunAsync(RootCommand root, string[] args) => RunAsync(root, args, Console.Error);

    public static async Task<int> RunAsync(RootCommand root, string[] args, TextWriter error)
    {
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var parseError in parse.Errors)
            {
                error.WriteLine($"rdpprobe: {parseError.Message}");
            }

            // A bad value (a target, a duration, a count) is said in one line that names it; the pointer to --help is
            // for commands the parser could not make sense of (unknown options, missing arguments).
            if (parse.Errors.Any(e => e.SymbolResult is not (ArgumentResult or OptionResult)))
            {
                error.WriteLine("Try 'rdpprobe --help'.");
            }

            return ExitCodes.Usage;
        }

        var config = new InvocationConfiguration { EnableDefaultExceptionHandler = false };
        try
        {
            return await parse.InvokeAsync(config);
        }
        catch (OperationCanceledException)
        {
            // Ctrl+C: System.CommandLine cancelled the action's token; end quietly with the conventional code.
            error.WriteLine("rdpprobe: interrupted");
            return ExitCodes.Interrupted;
        }
        catch (OutputWriteException ex)
        {
            // > /dev/full, a closed pipe: the results could not be written; one line, its own exit code.
            error.WriteLine($"rdpprobe: cannot write the output: {ex.Message}");
            return ExitCodes.OutputFailed;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"rdpprobe: {CliText.Printable(ex.Message, 300)}");
            return ExitCodes.InternalError;
        }
    }
}
