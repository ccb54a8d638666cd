using System.Buffers;
using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace RdpProbe.Reports;

/// <summary>
/// The attempt chains of a streamed JSON document, kept out of memory until the end of the document, where they are
/// written: each chain as compact JSON (length-prefixed), in memory up to <see cref="MemoryLimit"/> bytes and in a
/// temporary file (deleted on close) after that. A capture of a hundred thousand fallback chains then costs disk, not
/// heap (issue 16: memory must not grow with the number of connections). Writing a chain back re-indents it to the
/// writer it goes to; the bytes are those the serializer would have written there directly.
/// </summary>
internal sealed class ChainSpool : IDisposable
{
    /// <summary>Spooled bytes kept in memory before a temporary file takes over.</summary>
    public const int MemoryLimit = 1 << 20;

    private readonly JsonTypeInfo<ChainReport> _type;
    private readonly JsonWriterOptions _options;
    private readonly ArrayBufferWriter<byte> _one = new();
    private Stream _store = new MemoryStream();
    private readonly string _directory;
    private bool _moved;

    /// <param name="directory">Where the temporary file goes (default: the system's temporary directory).</param>
    public ChainSpool(JsonTypeInfo<ChainReport> type, JsonWriterOptions options, string? directory = null)
    {
        _directory = directory ?? Path.GetTempPath();
        _type = type;
        _options = options with { Indented = false };
    }

    public int Count { get; private set; }

    public void Add(ChainReport chain)
    {
        _one.ResetWrittenCount();
        using (var writer = new Utf8JsonWriter(_one, _options))
        {
            JsonSerializer.Serialize(writer, chain, _type);
        }

        if (!_moved && _store.Length + _one.WrittenCount > MemoryLimit)
        {
            MoveToDisk();
        }

        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, _one.WrittenCount);
        _store.Write(length);
        _store.Write(_one.WrittenSpan);
        Count++;
    }

    /// <summary>
    /// Moves the spool to a temporary file. Where none can be made (a read-only or full temporary directory) the chains
    /// stay in memory, as they did before there was a spool: the document is still written whole.
    /// </summary>
    private void MoveToDisk()
    {
        _moved = true;
        FileStream file;
        try
        {
            file = new FileStream(Path.Combine(_directory, $"rdpprobe-chains-{Guid.NewGuid():N}.tmp"), FileMode.CreateNew,
                FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }

        _store.Position = 0;
        _store.CopyTo(file);
        _store.Dispose();
        _store = file;
    }

    /// <summary>Writes <c>"name": [every chain, in the order added]</c> to <paramref name="writer"/>.</summary>
    /// <param name="flushed">Called after each time the writer was flushed, to hand its output on (<see cref="JsonOutput"/>).</param>
    public void WriteArray(Utf8JsonWriter writer, string name, Action? flushed = null)
    {
        writer.WriteStartArray(name);
        _store.Flush();
        _store.Position = 0;
        Span<byte> length = stackalloc byte[4];
        byte[] buffer = [];
        for (int i = 0; i < Count; i++)
        {
            _store.ReadExactly(length);
            int n = BinaryPrimitives.ReadInt32LittleEndian(length);
            if (buffer.Length < n)
            {
                buffer = new byte[Math.Max(n, buffer.Length * 2)];
            }

            _store.ReadExactly(buffer, 0, n);
            using (var chain = JsonDocument.Parse(buffer.AsMemory(0, n)))
            {
                chain.RootElement.WriteTo(writer);
            }

            // Hand the bytes to the stream as they come: the writer would otherwise hold the whole array until the
            // document's end (tens of megabytes for a capture of many fallbacks).
            if (writer.BytesPending >= FlushPolicy.PendingBytes)
            {
                writer.Flush();
                flushed?.Invoke();
            }
        }

        writer.WriteEndArray();
        _store.Seek(0, SeekOrigin.End);
    }

    public void Dispose() => _store.Dispose();
}
