using Spectre.Console;

namespace RdpProbe.Cli;

/// <summary>
/// Where a command writes: JSON and plain results to <see cref="Out"/>, diagnostics to <see cref="Error"/>, the human
/// view to <see cref="Console"/> (injected, never the static AnsiConsole, so tests can capture it).
/// </summary>
internal sealed record CliIo(TextWriter Out, TextWriter Error, IAnsiConsole Console)
{
    /// <summary>The process's own streams; Spectre detects a redirected stdout and then writes plain text without ANSI codes.</summary>
    public static CliIo Standard() => new(
        System.Console.Out,
        System.Console.Error,
        AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.Detect,
            ColorSystem = ColorSystemSupport.Detect,
            Interactive = InteractionSupport.Detect,
            Out = new AnsiConsoleOutput(System.Console.Out),
        }));
}
