using System.Buffers.Binary;

namespace RdpProbe.Protocol;

/// <summary>capabilitySetType (MS-RDPBCGR 2.2.1.13.1.1.1).</summary>
internal enum CapabilitySetType : ushort
{
    General = 1,
    Bitmap = 2,
    Order = 3,
    BitmapCache = 4,
    Control = 5,
    Activation = 7,
    Pointer = 8,
    Share = 9,
    ColorCache = 10,
    Sound = 12,
    Input = 13,
    Font = 14,
    Brush = 15,
    GlyphCache = 16,
    OffscreenCache = 17,
    BitmapCacheHostSupport = 18,
    BitmapCacheRev2 = 19,
    VirtualChannel = 20,
    DrawNineGridCache = 21,
    DrawGdiPlus = 22,
    Rail = 23,
    Window = 24,
    CompDesk = 25,
    MultifragmentUpdate = 26,
    LargePointer = 27,
    SurfaceCommands = 28,
    BitmapCodecs = 29,
    FrameAcknowledge = 30,
}

/// <summary>One capability set: type and raw body (after the 4-byte header).</summary>
internal sealed record CapabilitySet(CapabilitySetType Type, byte[] Body)
{
    public string Name => Capabilities.Name(Type);
}

/// <summary>The server's capabilities in a few facts: names and what a network engineer might ask about.</summary>
internal sealed record CapabilitySummary(
    IReadOnlyList<string> Sets,
    string? OsType,
    int? DesktopWidth,
    int? DesktopHeight,
    int? PreferredBitsPerPixel,
    uint? MultifragmentMaxRequestSize,
    bool SurfaceCommands,
    int BitmapCodecCount)
{
    public string Describe()
    {
        var parts = new List<string>();
        if (DesktopWidth is { } w && DesktopHeight is { } h)
        {
            parts.Add($"desktop {w}x{h}" + (PreferredBitsPerPixel is { } bpp ? $" at {bpp} bpp" : ""));
        }

        if (OsType is not null)
        {
            parts.Add($"server OS type {OsType}");
        }

        parts.Add($"{Sets.Count} capability sets ({string.Join(", ", Sets)})");
        return string.Join("; ", parts);
    }
}

/// <summary>Capability sets (MS-RDPBCGR 2.2.7): reading the list and summarising the interesting ones.</summary>
internal static class Capabilities
{
    public const int MaxSets = 64;

    public static string Name(CapabilitySetType type) => Enum.IsDefined(type) ? ToSnake(type.ToString()) : $"capability_{(ushort)type}";

    private static string ToSnake(string name) => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(name);

    public static bool TryReadSets(ReadOnlySpan<byte> source, int count, out List<CapabilitySet> sets, out DecodeError error)
    {
        sets = [];
        error = DecodeError.None;
        if (count > MaxSets)
        {
            error = DecodeError.LengthTooLarge;
            return false;
        }

        int offset = 0;
        for (int i = 0; i < count; i++)
        {
            if (source.Length - offset < 4)
            {
                error = DecodeError.Truncated;
                return false;
            }

            var type = (CapabilitySetType)BinaryPrimitives.ReadUInt16LittleEndian(source[offset..]);
            int length = BinaryPrimitives.ReadUInt16LittleEndian(source[(offset + 2)..]);
            if (length < 4 || length > source.Length - offset)
            {
                error = length < 4 ? DecodeError.LengthTooSmall : DecodeError.LengthMismatch;
                return false;
            }

            sets.Add(new CapabilitySet(type, source.Slice(offset + 4, length - 4).ToArray()));
            offset += length;
        }

        return true;
    }

    public static byte[] EncodeSets(IReadOnlyList<CapabilitySet> sets)
    {
        var buffer = new byte[sets.Sum(s => 4 + s.Body.Length)];
        int offset = 0;
        foreach (var set in sets)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(offset), (ushort)set.Type);
            BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(offset + 2), (ushort)(4 + set.Body.Length));
            set.Body.CopyTo(buffer, offset + 4);
            offset += 4 + set.Body.Length;
        }

        return buffer;
    }

    /// <summary>General osMajorType (MS-RDPBCGR 2.2.7.1.1).</summary>
    private static string OsMajorName(ushort value) => value switch
    {
        0 => "unspecified",
        1 => "windows",
        2 => "os2",
        3 => "macintosh",
        4 => "unix",
        5 => "ios",
        6 => "osx",
        7 => "android",
        8 => "chrome_os",
        _ => $"os_{value}",
    };

    public static CapabilitySummary Summarize(IReadOnlyList<CapabilitySet> sets)
    {
        string? os = null;
        int? width = null, height = null, bpp = null;
        uint? multifragment = null;
        bool surface = false;
        int codecs = 0;
        foreach (var set in sets)
        {
            var b = set.Body;
            switch (set.Type)
            {
                case CapabilitySetType.General when b.Length >= 2:
                    os = OsMajorName(BinaryPrimitives.ReadUInt16LittleEndian(b));
                    break;
                case CapabilitySetType.Bitmap when b.Length >= 12:
                    // preferredBitsPerPixel, receive1/4/8BitPerPixel, desktopWidth, desktopHeight (2.2.7.1.2).
                    bpp = BinaryPrimitives.ReadUInt16LittleEndian(b);
                    width = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(8));
                    height = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(10));
                    break;
                case CapabilitySetType.MultifragmentUpdate when b.Length >= 4:
                    multifragment = BinaryPrimitives.ReadUInt32LittleEndian(b);
                    break;
                case CapabilitySetType.SurfaceCommands:
                    surface = true;
                    break;
                case CapabilitySetType.BitmapCodecs when b.Length >= 1:
                    codecs = b[0];
                    break;
            }
        }

        return new CapabilitySummary(sets.Select(s => s.Name).ToList(), os, width, height, bpp, multifragment, surface, codecs);
    }

    /// <summary>General and Bitmap sets with the given facts (tests and the fake server).</summary>
    public static IReadOnlyList<CapabilitySet> Minimal(ushort osMajor, ushort width, ushort height, ushort bpp)
    {
        var general = new byte[20];
        BinaryPrimitives.WriteUInt16LittleEndian(general, osMajor);
        BinaryPrimitives.WriteUInt16LittleEndian(general.AsSpan(4), 0x0200);
        var bitmap = new byte[24];
        BinaryPrimitives.WriteUInt16LittleEndian(bitmap, bpp);
        BinaryPrimitives.WriteUInt16LittleEndian(bitmap.AsSpan(8), width);
        BinaryPrimitives.WriteUInt16LittleEndian(bitmap.AsSpan(10), height);
        return [new CapabilitySet(CapabilitySetType.General, general), new CapabilitySet(CapabilitySetType.Bitmap, bitmap)];
    }
}
