using System.Diagnostics;
using RdpProbe.Benchmarks.Analysis;

// capturegen generate OUT.pcap PACKETS TEMPLATE.pcap...   build a multi-connection capture from real handshakes
// capturegen measure FILE [runs] [stages]                   packets/s and allocated bytes/packet: bare loop vs analyzer (and per stage)
// capturegen liveset FILE [stream]                         managed live set every 10,000 flows (reader alone) or connections (the JSON document)
// capturegen bare FILE                                      one bare GetNextPacketPointers pass (the floor as a whole process)
if (args.Length >= 3 && args[0] == "generate")
{
    var sw = Stopwatch.StartNew();
    var (packets, connections) = CaptureGenerator.Generate(args[3..], args[1], long.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture));
    Console.WriteLine($"wrote {args[1]}: {packets} packets, {connections} connections, {new FileInfo(args[1]).Length} bytes in {sw.Elapsed.TotalSeconds:0.0} s");
    return 0;
}

if (args.Length == 2 && args[0] == "bare")
{
    var (packets, bytes) = ReadLoops.BarePointers(args[1]);
    Console.WriteLine($"{packets} packets, {bytes} bytes");
    return 0;
}

if (args.Length == 3 && args[0] == "liveset" && args[2] == "stream")
{
    LiveSetSink.Run(args[1]);
    return 0;
}

if (args.Length == 2 && args[0] == "liveset")
{
    // The managed live set (after a full collection) every 10,000 finished flows: what the analysis keeps.
    long flows = 0;
    RdpProbe.Analysis.CaptureFiles.Analyze([args[1]], new RdpProbe.Analysis.AnalyzerOptions(), null, default, (RdpProbe.Analysis.FinishedFlow f, RdpProbe.Analysis.AnalyzerClock _) =>
    {
        if (++flows % 10_000 == 0)
        {
            Console.WriteLine($"{flows} flows: live {GC.GetTotalMemory(true) / 1048576.0:0.0} MiB, working set {Environment.WorkingSet / 1048576} MiB");
        }
    });
    return 0;
}

if (args.Length >= 2 && args[0] == "measure")
{
    string file = args[1];
    int runs = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 5;

    // Warm-up (JIT, page cache), then the best of N runs; allocation is measured on the calling thread.
    ReadLoops.Bare(file);
    ReadLoops.BarePointers(file);
    ReadLoops.Analyzer(file);
    Measure("bare SharpPcap loop (GetNextPacket)", () => ReadLoops.Bare(file).Packets, runs);
    Measure("bare SharpPcap loop (GetNextPacketPointers)", () => ReadLoops.BarePointers(file).Packets, runs);
    Measure("rdpprobe analyzer", () => ReadLoops.Analyzer(file).Packets, runs);
    if (args.Length > 3 && args[3] == "stages")
    {
        // Where the analyzer's time and allocation go: each stage adds one step to the one before.
        ReadLoops.ReaderStage(file);
        ReadLoops.BuildStage(file);
        ReadLoops.Stream(file, false);
        long n = ReadLoops.BarePointers(file).Packets;
        Measure("stage: read + decode + flows (flows dropped unbuilt)", () => { ReadLoops.ReaderStage(file); return n; }, runs);
        Measure("stage: + findings built", () => { ReadLoops.BuildStage(file); return n; }, runs);
        Measure("stage: + report + JSON to a null stream, one thread", () => ReadLoops.Stream(file, false), runs);
        Measure("stage: the same, reports on a writer thread (allocation: the reader's)", () => ReadLoops.Stream(file, true), runs);
    }

    var (p, c) = ReadLoops.Analyzer(file);
    Console.WriteLine($"analyzer found {c} connections in {p} packets; peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / (1024 * 1024)} MiB");
    return 0;
}

Console.Error.WriteLine("usage: capturegen generate OUT.pcap PACKETS TEMPLATE.pcap... | capturegen measure FILE [runs] [stages] | capturegen liveset FILE [stream] | capturegen bare FILE");
return 2;

static void Measure(string name, Func<long> run, int runs)
{
    double best = double.MaxValue;
    long packets = 0;
    long allocated = 0;
    for (int i = 0; i < runs; i++)
    {
        GC.Collect();
        long before = GC.GetAllocatedBytesForCurrentThread();
        var sw = Stopwatch.StartNew();
        packets = run();
        double s = sw.Elapsed.TotalSeconds;
        allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        best = Math.Min(best, s);
    }

    Console.WriteLine($"{name}: {packets} packets, best {best:0.000} s = {packets / best / 1e6:0.00} M packets/s, allocated {(double)allocated / packets:0.0} B/packet ({allocated} B total)");
}
