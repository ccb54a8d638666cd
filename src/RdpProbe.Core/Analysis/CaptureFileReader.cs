using SharpPcap;
using SharpPcap.LibPcap;

namespace RdpProbe.Analysis;

public enum CaptureReadStatus
{
    Ok,

    /// <summary>Not a capture libpcap can open (missing, not pcap/pcapng, unsupported link type).</summary>
    Unreadable,

    /// <summary>Read up to a corrupt or truncated record; the packets before it were analyzed.</summary>
    Damaged,
}

public readonly record struct CaptureReadResult(CaptureReadStatus Status, string? Message, long Frames);

/// <summary>
/// Reads .pcap/.pcapng files through libpcap (SharpPcap). The hot loop uses <c>GetNextPacket(out PacketCapture)</c>
/// and the <c>Data</c> span straight from libpcap's buffer: no <c>GetPacket()</c> / <c>RawCapture</c> copies.
/// </summary>
internal static class CaptureFileReader
{
    /// <summary>Per-record overhead in a pcap file (16-byte record header), for the progress estimate.</summary>
    private const int RecordOverhead = 16;

    public static CaptureReadResult Read(string path, CaptureAnalyzer analyzer, Action<long>? progress, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            return new CaptureReadResult(CaptureReadStatus.Unreadable, $"{path}: no such file", 0);
        }

        CaptureFileReaderDevice device;
        try
        {
            device = new CaptureFileReaderDevice(path);
            device.Open();
        }
        catch (Exception e) when (e is PcapException or DllNotFoundException or IOException or ArgumentException or InvalidOperationException)
        {
            return new CaptureReadResult(CaptureReadStatus.Unreadable, $"{path}: not a readable pcap/pcapng capture ({OneLine(e.Message)})", 0);
        }

        using (device)
        {
            int linkType = (int)device.LinkType;
            if (!LinkTypes.IsSupported(linkType))
            {
                return new CaptureReadResult(CaptureReadStatus.Unreadable, $"{path}: link type {linkType} ({device.LinkType}) is not supported (Ethernet, Linux cooked SLL/SLL2, raw IP and BSD loopback are)", 0);
            }

            long frames = 0;
            long position = 24;
            while (true)
            {
                GetPacketStatus status;
                PacketCapture capture;
                try
                {
                    status = device.GetNextPacket(out capture);
                }
                catch (Exception e) when (e is PcapException or InvalidOperationException or IndexOutOfRangeException)
                {
                    return new CaptureReadResult(CaptureReadStatus.Damaged, $"{path}: capture damaged after frame {frames} ({OneLine(e.Message)}); results cover the frames before it", frames);
                }

                if (status == GetPacketStatus.PacketRead)
                {
                    var data = capture.Data;
                    var header = capture.Header;
                    var tv = header.Timeval;
                    // PosixTimeval keeps a decimal; one multiply is cheaper than its Seconds + MicroSeconds getters.
                    long timestamp = (long)(tv.Value * 1_000_000m);
                    int wireLength = header is PcapHeader ph ? (int)ph.PacketLength : data.Length;
                    analyzer.OnFrame(linkType, data, wireLength, timestamp);
                    frames++;
                    position += data.Length + RecordOverhead;
                    if ((frames & 0x3FFF) == 0)
                    {
                        progress?.Invoke(position);
                        cancellationToken.ThrowIfCancellationRequested();
                    }

                    continue;
                }

                if (status == GetPacketStatus.NoRemainingPackets)
                {
                    progress?.Invoke(position);
                    return new CaptureReadResult(CaptureReadStatus.Ok, null, frames);
                }

                if (status == GetPacketStatus.ReadTimeout)
                {
                    continue;
                }

                string error = device.LastError;
                return new CaptureReadResult(CaptureReadStatus.Damaged,
                    $"{path}: capture damaged after frame {frames}{(string.IsNullOrWhiteSpace(error) ? "" : $" ({OneLine(error)})")}; results cover the frames before it", frames);
            }
        }
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();
}

/// <summary>The analyzer's public entry point: files in, report and read status out.</summary>
public static class CaptureAnalysis
{
    public sealed record Result(Reports.AnalysisReport Report, CaptureReadStatus Status, IReadOnlyList<string> Errors);

    /// <param name="progress">Called with (bytes read so far across files, total bytes of all files).</param>
    public static Result Run(IReadOnlyList<string> files, AnalyzerOptions options, Action<long, long>? progress = null, CancellationToken cancellationToken = default)
    {
        var analyzer = new CaptureAnalyzer(options);
        long total = files.Sum(f => File.Exists(f) ? new FileInfo(f).Length : 0);
        long done = 0;
        var errors = new List<string>();
        var warnings = new List<string>();
        var worst = CaptureReadStatus.Ok;
        string? damage = null;
        int unreadable = 0;
        foreach (var file in files)
        {
            long before = done;
            var result = CaptureFileReader.Read(file, analyzer, progress is null ? null : read => progress(before + read, total), cancellationToken);
            done += File.Exists(file) ? new FileInfo(file).Length : 0;
            switch (result.Status)
            {
                case CaptureReadStatus.Unreadable:
                    unreadable++;
                    errors.Add(result.Message!);
                    break;
                case CaptureReadStatus.Damaged:
                    errors.Add(result.Message!);
                    damage ??= result.Message;
                    worst = CaptureReadStatus.Damaged;
                    break;
            }
        }

        if (unreadable > 0 && unreadable == files.Count)
        {
            worst = CaptureReadStatus.Unreadable;
        }
        else if (unreadable > 0)
        {
            warnings.AddRange(errors.Where(e => e != damage));
            worst = worst == CaptureReadStatus.Ok ? CaptureReadStatus.Damaged : worst;
            damage ??= errors[0];
        }

        if (analyzer.IcmpDropped > 0)
        {
            warnings.Add($"{analyzer.IcmpDropped} further ICMP errors not listed");
        }

        var report = analyzer.BuildReport(files, damage, warnings);
        return new Result(report, worst, errors);
    }
}
