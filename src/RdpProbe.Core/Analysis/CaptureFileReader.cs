using System.Runtime.InteropServices;
using RdpProbe.Net;
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

    /// <summary>The capture library (libpcap, Npcap on Windows) is not installed or too old: no file can be read.</summary>
    NoCaptureLibrary,
}

public readonly record struct CaptureReadResult(CaptureReadStatus Status, string? Message, long Frames);

/// <summary>
/// Reads .pcap/.pcapng files through libpcap (SharpPcap). The hot loop uses SharpPcap's
/// <c>GetNextPacketPointers</c> (pcap_next_ex) and reads the record header and frame straight from libpcap's buffer:
/// nothing is allocated per packet (no <c>PcapHeader</c>/<c>PosixTimeval</c>, no <c>RawCapture</c> copy).
/// With read-ahead (<see cref="CaptureReadAhead"/>) libpcap runs on a thread of its own and the analyzer on the
/// calling thread: the same frames in the same order, the file's reading off the analysis' critical path.
/// </summary>
internal static class CaptureFileReader
{
    /// <summary>Per-record overhead in a pcap file (16-byte record header), for the progress estimate.</summary>
    internal const int RecordOverhead = 16;

    /// <summary>Frames between two progress reports (and cancellation checks).</summary>
    internal const int ProgressEveryFrames = 0x4000;

    /// <param name="readAhead">Read the file on a second thread (<see cref="CaptureReadAhead"/>) while this one analyzes.</param>
    public static CaptureReadResult Read(string path, CaptureAnalyzer analyzer, Action<long>? progress, CancellationToken cancellationToken, bool readAhead = false)
    {
        // Frame numbers and flows count per file (CaptureAnalyzer.BeginFile); a caller reading one file starts it here.
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
        catch (Exception e) when (Platform.Current.PcapLibraryProblem(e) is { } missing)
        {
            // The file may be fine: the library that reads it is absent (no libpcap / Npcap) or too old (a wpcap.dll
            // without pcap_open_offline_with_tstamp_precision throws EntryPointNotFoundException).
            return new CaptureReadResult(CaptureReadStatus.NoCaptureLibrary, $"{missing} (needed to read {path})", 0);
        }
        catch (Exception e) when (e is PcapException or IOException or ArgumentException or InvalidOperationException)
        {
            return new CaptureReadResult(CaptureReadStatus.Unreadable, $"{path}: not a readable pcap/pcapng capture ({OneLine(e.Message)})", 0);
        }

        PcapReadBuffer? readBuffer = null;
        try
        {
            using (device)
            {
                int linkType = (int)device.LinkType;
                if (!LinkTypes.IsSupported(linkType))
                {
                    return new CaptureReadResult(CaptureReadStatus.Unreadable, $"{path}: link type {linkType} ({device.LinkType}) is not supported (Ethernet, Linux cooked SLL/SLL2, raw IP and BSD loopback are)", 0);
                }

                // A larger stdio buffer under libpcap where the platform allows it (freed after the device is closed).
                readBuffer = PcapReadBuffer.TryEnlarge(device);
                if (readAhead)
                {
                    return CaptureReadAhead.Read(path, device, linkType, analyzer, progress, cancellationToken);
                }

                var sink = new AnalyzerSink(analyzer, linkType, progress, cancellationToken);
                return Pump(path, device, ref sink);
            }
        }
        finally
        {
            readBuffer?.Dispose();
        }
    }

    /// <summary>Receives the records of <see cref="Pump"/> (a struct: the loop is compiled once per sink, no virtual call per packet).</summary>
    internal interface IRecordSink
    {
        /// <summary>One record; <paramref name="frame"/> is valid only during the call (libpcap's buffer).</summary>
        void OnRecord(in PcapRecordHeader record, ReadOnlySpan<byte> frame);

        /// <summary>The end of the file, or the record it could not read (<paramref name="frames"/> were read before it).</summary>
        void OnEnd(long frames);
    }

    /// <summary>
    /// The read loop: every record of an open device handed to <paramref name="sink"/>, then the outcome (the end of the
    /// file, or the frame after which it is damaged).
    /// </summary>
    internal static CaptureReadResult Pump<TSink>(string path, CaptureFileReaderDevice device, ref TSink sink)
        where TSink : struct, IRecordSink
    {
        // pcap_next_ex called directly where libpcap's exports were found (LibpcapExports), one reference held on the
        // handle for the whole loop; otherwise through SharpPcap. Both give raw pointers into libpcap's buffer.
        var handle = device.Handle;
        bool referenced = false;
        IntPtr direct = LibpcapExports.PcapNextEx;
        if (direct != IntPtr.Zero)
        {
            handle.DangerousAddRef(ref referenced);
        }

        try
        {
            return PumpRecords(path, device, ref sink, referenced ? handle.DangerousGetHandle() : IntPtr.Zero, direct);
        }
        finally
        {
            if (referenced)
            {
                handle.DangerousRelease();
            }
        }
    }

    private static unsafe CaptureReadResult PumpRecords<TSink>(string path, CaptureFileReaderDevice device, ref TSink sink, IntPtr pcap, IntPtr nextEx)
        where TSink : struct, IRecordSink
    {
        // Microsecond unless the device was opened for nanoseconds (libpcap pcap_get_tstamp_precision): read once.
        bool nanoseconds = device.TimestampResolution == TimestampResolution.Nanosecond;
        var pcapNextEx = (delegate* unmanaged<IntPtr, IntPtr*, IntPtr*, int>)nextEx;
        long frames = 0;
        IntPtr header = IntPtr.Zero;
        IntPtr data = IntPtr.Zero;
        while (true)
        {
            int status;
            try
            {
                // pcap_next_ex: raw pointers into libpcap's buffer, valid until the next call. (SharpPcap's
                // GetNextPacket(out PacketCapture) would allocate a PcapHeader and a PosixTimeval per packet.)
                status = pcap != IntPtr.Zero ? pcapNextEx(pcap, &header, &data) : device.GetNextPacketPointers(ref header, ref data);
            }
            catch (Exception e) when (e is PcapException or InvalidOperationException or IndexOutOfRangeException or ObjectDisposedException)
            {
                sink.OnEnd(frames);
                return new CaptureReadResult(CaptureReadStatus.Damaged, $"{path}: capture damaged after frame {frames} ({OneLine(e.Message)}); results cover the frames before it", frames);
            }

            // pcap_next_ex(3PCAP): 1 = a packet, 0 = live-capture timeout, -1 = read error, -2 = end of savefile.
            if (status == 1)
            {
                var record = PcapRecordHeader.Read(header, nanoseconds);
                ReadOnlySpan<byte> frame;
                unsafe
                {
                    frame = new ReadOnlySpan<byte>((void*)data, (int)record.CaptureLength);
                }

                sink.OnRecord(record, frame);
                frames++;
                continue;
            }

            if (status == -2)
            {
                sink.OnEnd(frames);
                return new CaptureReadResult(CaptureReadStatus.Ok, null, frames);
            }

            if (status == 0)
            {
                continue;
            }

            string error = device.LastError;
            sink.OnEnd(frames);
            return new CaptureReadResult(CaptureReadStatus.Damaged,
                $"{path}: capture damaged after frame {frames}{(string.IsNullOrWhiteSpace(error) ? "" : $" ({OneLine(error)})")}; results cover the frames before it", frames);
        }
    }

    /// <summary>Records straight into the analyzer, with progress and cancellation every <see cref="ProgressEveryFrames"/> frames.</summary>
    private struct AnalyzerSink(CaptureAnalyzer analyzer, int linkType, Action<long>? progress, CancellationToken cancellationToken) : IRecordSink
    {
        private readonly YoungGenerationBudget _budget = new();
        private long _frames;
        private long _position = 24;

        public void OnRecord(in PcapRecordHeader record, ReadOnlySpan<byte> frame)
        {
            analyzer.OnFrame(linkType, frame, (int)record.WireLength, record.TimestampMicros);
            _frames++;
            _position += frame.Length + RecordOverhead;
            if ((_frames & (ProgressEveryFrames - 1)) == 0)
            {
                progress?.Invoke(_position);
                cancellationToken.ThrowIfCancellationRequested();
            }

            if ((_frames & (YoungGenerationBudget.EveryFrames - 1)) == 0)
            {
                _budget.Check();
            }
        }

        public readonly void OnEnd(long frames) => progress?.Invoke(_position);
    }

    internal static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();
}

/// <summary>
/// libpcap's <c>struct pcap_pkthdr</c> read in place: <c>struct timeval ts; bpf_u_int32 caplen; bpf_u_int32 len;</c>
/// (pcap/pcap.h). On 64-bit Unix the timeval is two 8-byte fields (16 bytes; macOS keeps a 4-byte tv_usec padded to
/// 8, whose low half is read the same way on little-endian); on Windows and 32-bit platforms it is two 4-byte longs.
/// </summary>
internal readonly record struct PcapRecordHeader(long TimestampMicros, uint CaptureLength, uint WireLength)
{
    private static readonly bool WideTimeval = IntPtr.Size == 8 && !OperatingSystem.IsWindows();

    public static PcapRecordHeader Read(IntPtr header, bool nanoseconds)
    {
        long seconds;
        long fraction;
        uint caplen;
        uint len;
        if (WideTimeval)
        {
            seconds = Marshal.ReadInt64(header, 0);
            fraction = Marshal.ReadInt32(header, 8);
            caplen = (uint)Marshal.ReadInt32(header, 16);
            len = (uint)Marshal.ReadInt32(header, 20);
        }
        else
        {
            seconds = Marshal.ReadInt32(header, 0);
            fraction = Marshal.ReadInt32(header, 4);
            caplen = (uint)Marshal.ReadInt32(header, 8);
            len = (uint)Marshal.ReadInt32(header, 12);
        }

        return Parse(seconds, fraction, caplen, len, nanoseconds);
    }

    /// <summary>Microseconds since the epoch from the record's seconds and sub-second part.</summary>
    internal static PcapRecordHeader Parse(long seconds, long fraction, uint caplen, uint len, bool nanoseconds) =>
        new(seconds * 1_000_000 + (nanoseconds ? fraction / 1000 : fraction), caplen, len);
}

/// <summary>The analyzer's entry point: files in, findings and read status out.</summary>
public static class CaptureFiles
{
    public sealed record Result(CaptureFindings Findings, CaptureReadStatus Status, IReadOnlyList<string> Errors);

    /// <param name="progress">Called with (bytes read so far across files, total bytes of all files).</param>
    /// <param name="onConnection">When set, receives each connection as it ends and the findings list none (see
    /// <see cref="CaptureAnalyzer(AnalyzerOptions, Action{AnalyzedConnection})"/>).</param>
    public static Result Analyze(IReadOnlyList<string> files, AnalyzerOptions options, Action<long, long>? progress = null,
        CancellationToken cancellationToken = default, Action<AnalyzedConnection>? onConnection = null) =>
        Analyze(files, options, progress, cancellationToken, onConnection is null ? null : (c, _) => onConnection(c));

    /// <summary>As <see cref="Analyze(IReadOnlyList{string}, AnalyzerOptions, Action{long, long}?, CancellationToken, Action{AnalyzedConnection}?)"/>,
    /// each connection handed over with the capture clock at the moment it ended (for a streaming reader).</summary>
    public static Result Analyze(IReadOnlyList<string> files, AnalyzerOptions options, Action<long, long>? progress,
        CancellationToken cancellationToken, Action<AnalyzedConnection, AnalyzerClock>? onConnection)
    {
        CaptureAnalyzer? analyzer = null;
        analyzer = new CaptureAnalyzer(options, onConnection is null ? null : c => onConnection(c, analyzer!.Clock));
        return Analyze(files, options, progress, cancellationToken, analyzer);
    }

    /// <summary>As <see cref="Analyze(IReadOnlyList{string}, AnalyzerOptions, Action{long, long}?, CancellationToken, Action{AnalyzedConnection, AnalyzerClock}?)"/>,
    /// each flow handed over unbuilt (<see cref="FinishedFlow"/>), for a caller that builds the findings on another thread.</summary>
    /// <param name="readAhead">Read each file on a thread of its own while this one analyzes (<see cref="CaptureReadAhead"/>).</param>
    internal static Result Analyze(IReadOnlyList<string> files, AnalyzerOptions options, Action<long, long>? progress,
        CancellationToken cancellationToken, Action<FinishedFlow, AnalyzerClock> onFlow, bool readAhead = false)
    {
        CaptureAnalyzer? analyzer = null;
        analyzer = new CaptureAnalyzer(options, f => onFlow(f, analyzer!.Clock));
        return Analyze(files, options, progress, cancellationToken, analyzer, readAhead);
    }

    private static Result Analyze(IReadOnlyList<string> files, AnalyzerOptions options, Action<long, long>? progress,
        CancellationToken cancellationToken, CaptureAnalyzer analyzer, bool readAhead = false)
    {
        long total = files.Sum(f => File.Exists(f) ? new FileInfo(f).Length : 0);
        long done = 0;
        var errors = new List<string>();
        var warnings = new List<string>();
        var worst = CaptureReadStatus.Ok;
        string? damage = null;
        int unreadable = 0;
        for (int index = 0; index < files.Count; index++)
        {
            string file = files[index];
            analyzer.BeginFile(index);
            long before = done;
            var result = CaptureFileReader.Read(file, analyzer, progress is null ? null : read => progress(before + read, total), cancellationToken, readAhead);
            done += File.Exists(file) ? new FileInfo(file).Length : 0;
            if (result.Status == CaptureReadStatus.NoCaptureLibrary)
            {
                // Every other file would fail the same way; one message says what to install.
                errors.Add(result.Message!);
                worst = CaptureReadStatus.NoCaptureLibrary;
                break;
            }

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

        if (worst == CaptureReadStatus.NoCaptureLibrary)
        {
            // Nothing was read; the analysis below stays empty.
        }
        else if (unreadable > 0 && unreadable == files.Count)
        {
            worst = CaptureReadStatus.Unreadable;
        }
        else if (unreadable > 0)
        {
            warnings.AddRange(errors.Where(e => e != damage));
            worst = worst == CaptureReadStatus.Ok ? CaptureReadStatus.Damaged : worst;
            damage ??= errors[0];
        }

        if (analyzer.EvictedFlows > 0)
        {
            warnings.Add($"{analyzer.EvictedFlows} connections evicted before they ended: more than {options.MaxLiveFlows} were live at once; their verdicts say so");
        }

        if (analyzer.IcmpDropped > 0)
        {
            warnings.Add($"{analyzer.IcmpDropped} further ICMP errors not listed");
        }

        return new Result(analyzer.BuildFindings(files, damage, warnings), worst, errors);
    }
}
