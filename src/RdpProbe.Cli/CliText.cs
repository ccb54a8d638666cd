using System.Text;

namespace RdpProbe.Cli;

/// <summary>Text from the user's inputs, made safe to print on a terminal.</summary>
internal static class CliText
{
    /// <summary>
    /// Control characters (a binary targets file, an escape sequence in a file name) become \xNN so nothing the input
    /// holds is interpreted by the terminal; at most <paramref name="max"/> characters are kept.
    /// </summary>
    public static string Printable(string text, int max = 120)
    {
        var builder = new StringBuilder(Math.Min(text.Length, max) + 8);
        foreach (char c in text)
        {
            if (builder.Length >= max)
            {
                builder.Append('…');
                break;
            }

            if (char.IsControl(c) || c is '\u2028' or '\u2029' or '\uFFFD')
            {
                builder.Append($"\\x{(int)c & 0xFF:x2}");
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }
}

/// <summary>Writing the results to standard output failed: reported in one line with <see cref="ExitCodes.OutputFailed"/>.</summary>
internal sealed class OutputWriteException(IOException inner) : IOException(inner.Message, inner);

/// <summary>
/// Standard output as the commands see it: a failed write (ENOSPC on /dev/full, EPIPE on a closed pipe) becomes an
/// <see cref="OutputWriteException"/>, so the host can tell it from an input error and end with one line.
/// </summary>
internal sealed class GuardedWriter(TextWriter inner) : TextWriter
{
    public override Encoding Encoding => inner.Encoding;

    public override IFormatProvider FormatProvider => inner.FormatProvider;

    public override string NewLine
    {
#pragma warning disable CS8765 // TextWriter.NewLine's setter accepts null; the inner writer handles it.
        get => inner.NewLine;
        set => inner.NewLine = value;
#pragma warning restore CS8765
    }

    public override void Write(char value) => Guard(() => inner.Write(value));

    public override void Write(string? value) => Guard(() => inner.Write(value));

    public override void Write(char[] buffer, int index, int count) => Guard(() => inner.Write(buffer, index, count));

    public override void Write(ReadOnlySpan<char> buffer)
    {
        try
        {
            inner.Write(buffer);
        }
        catch (IOException ex) when (ex is not OutputWriteException)
        {
            throw new OutputWriteException(ex);
        }
    }

    public override void WriteLine(string? value) => Guard(() => inner.WriteLine(value));

    public override void Flush() => Guard(inner.Flush);

    public override Task WriteAsync(char value) => GuardAsync(() => inner.WriteAsync(value));

    public override Task WriteAsync(string? value) => GuardAsync(() => inner.WriteAsync(value));

    public override Task WriteLineAsync(string? value) => GuardAsync(() => inner.WriteLineAsync(value));

    public override Task WriteAsync(ReadOnlyMemory<char> buffer, CancellationToken cancellationToken = default) => GuardAsync(() => inner.WriteAsync(buffer, cancellationToken));

    public override Task WriteLineAsync(ReadOnlyMemory<char> buffer, CancellationToken cancellationToken = default) => GuardAsync(() => inner.WriteLineAsync(buffer, cancellationToken));

    public override Task FlushAsync() => GuardAsync(inner.FlushAsync);

    public override Task FlushAsync(CancellationToken cancellationToken) => GuardAsync(() => inner.FlushAsync(cancellationToken));

    private static void Guard(Action write)
    {
        try
        {
            write();
        }
        catch (IOException ex) when (ex is not OutputWriteException)
        {
            throw new OutputWriteException(ex);
        }
    }

    private static async Task GuardAsync(Func<Task> write)
    {
        try
        {
            await write().ConfigureAwait(false);
        }
        catch (IOException ex) when (ex is not OutputWriteException)
        {
            throw new OutputWriteException(ex);
        }
    }
}
