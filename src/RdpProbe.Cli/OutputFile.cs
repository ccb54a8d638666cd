using System.Text;
using Spectre.Console;

namespace RdpProbe.Cli;

/// <summary>
/// -o/--output FILE: the command's results go to the file (plain text, no colour, like any redirected output);
/// diagnostics stay on standard error. Without the option it hands back the caller's streams unchanged.
/// </summary>
internal sealed class OutputFile : IDisposable
{
    private readonly StreamWriter? _writer;

    private OutputFile(CliIo io, StreamWriter? writer)
    {
        Io = io;
        _writer = writer;
    }

    public CliIo Io { get; }

    /// <summary>The streams to write to, or null (after saying why on standard error) when FILE cannot be created.</summary>
    public static OutputFile? Open(string? path, CliIo io)
    {
        if (path is null)
        {
            return new OutputFile(io, null);
        }

        StreamWriter writer;
        try
        {
            writer = new StreamWriter(path, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            io.Error.WriteLine($"rdpprobe: cannot write {path}: {ex.Message}");
            return null;
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });

        // A file has no terminal width; the same width as a redirected standard output.
        console.Profile.Width = 140;
        return new OutputFile(io with { Out = writer, Console = console }, writer);
    }

    public void Dispose() => _writer?.Dispose();
}
