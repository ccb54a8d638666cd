using Spectre.Console;

namespace RdpProbe.Cli;

/// <summary>
/// Where a command writes: JSON and plain results to <see cref="Out"/>, diagnostics to <see cref="Error"/>, the human
/// view to <see cref="Console"/> (injected, never the static AnsiConsole, so tests can capture it).
/// </summary>
internal sealed record CliIo(TextWriter Out, TextWriter Error, IAnsiConsole Console)
{
    /// <summary>The process's own streams; Spectre detects a redirected stdout and then writes plain text without ANSI codes.</summary>
    private static bool guarded;

    public static CliIo Standard()
    {
        // Every writer of standard output (the views, Spectre, the analyze command) goes through the guard.
        // Synchronized as Console.Out itself is: --targets writes JSON lines from several tasks.
        if (!guarded)
        {
            System.Console.SetOut(TextWriter.Synchronized(new GuardedWriter(System.Console.Out)));
            guarded = true;
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.Detect,
            ColorSystem = ColorSystemSupport.Detect,
            Interactive = InteractionSupport.Detect,
            Out = new AnsiConsoleOutput(System.Console.Out),
        });

        // Redirected to a file or a pipe there is no terminal width; 80 columns would wrap every table row.
        if (System.Console.IsOutputRedirected)
        {
            console.Profile.Width = 140;
        }

        return new(System.Console.Out, System.Console.Error, console);
    }
}
