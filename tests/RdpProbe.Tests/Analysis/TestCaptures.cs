using System.Buffers.Binary;
using RdpProbe.Analysis;
using RdpProbe.Reports;

namespace RdpProbe.Tests.Analysis;

/// <summary>Finds capture files: the repository's captures/ first, then the shared public set they were copied from.</summary>
internal static class TestCaptures
{
    private static readonly Lazy<string> RepoRoot = new(() =>
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "RdpProbe.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("repository root (RdpProbe.sln) not found");
    });

    public static string Root => RepoRoot.Value;

    /// <summary>A public capture by its set and name, e.g. ("zeek", "rdp-x509.pcap").</summary>
    public static string Public(string set, string name)
    {
        string[] candidates =
        [
            Path.Combine(Root, "captures", "public", set, name),
            Path.Combine(Root, "captures", set, name),
            Path.Combine("/work/shared/captures/public", set, name),
        ];
        return candidates.FirstOrDefault(File.Exists) ?? throw new FileNotFoundException($"capture {set}/{name} not found in captures/ or the shared public set", candidates[0]);
    }

    public static AnalysisReport Analyze(params string[] files) => Analyze(new AnalyzerOptions(), files);

    public static AnalysisReport Analyze(AnalyzerOptions options, params string[] files)
    {
        var result = CaptureAnalysis.Run(files, options);
        Assert.Equal(CaptureReadStatus.Ok, result.Status);
        return result.Report;
    }
}

/// <summary>Writes classic pcap files (microsecond timestamps) from raw frames, for analyzer scenario tests.</summary>
internal static class PcapFile
{
    public static string Write(int linkType, IEnumerable<(double Time, byte[] Frame)> frames, string? path = null)
    {
        path ??= Path.Combine(Path.GetTempPath(), $"rdpprobe-test-{Guid.NewGuid():N}.pcap");
        using var stream = File.Create(path);
        Span<byte> header = stackalloc byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(header, 0xA1B2C3D4);
        BinaryPrimitives.WriteUInt16LittleEndian(header[4..], 2);
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], 4);
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], 262144);
        BinaryPrimitives.WriteUInt32LittleEndian(header[20..], (uint)linkType);
        stream.Write(header);
        Span<byte> record = stackalloc byte[16];
        foreach (var (time, frame) in frames)
        {
            long micros = (long)Math.Round(time * 1e6);
            BinaryPrimitives.WriteUInt32LittleEndian(record, (uint)(1_700_000_000 + (micros / 1_000_000)));
            BinaryPrimitives.WriteUInt32LittleEndian(record[4..], (uint)(micros % 1_000_000));
            BinaryPrimitives.WriteUInt32LittleEndian(record[8..], (uint)frame.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(record[12..], (uint)frame.Length);
            stream.Write(record);
            stream.Write(frame);
        }

        return path;
    }
}
