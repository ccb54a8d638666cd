using System.CommandLine;
using RdpProbe.Probe.NetPath;
using RdpProbe.Runs;

namespace RdpProbe.Cli;

/// <summary>
/// The path-diagnostics options of the probe verb: --udp, --mtu, --capture/--capture-interface, and the run modes
/// --repeat, --targets/--concurrency and --concurrency-test. Values are checked by their parsers; which ones may be
/// combined is checked by <see cref="Conflict"/>.
/// </summary>
internal sealed class PathOptions
{
    public Option<bool> Udp { get; } = new("--udp") { Description = "Also test RDP-UDP reachability: a padded MS-RDPEUDP SYN to the UDP port (SYN+ACK, ICMP unreachable or silence)" };

    public Option<bool> Mtu { get; } = new("--mtu") { Description = "Also run the MTU black-hole test: ClientHellos padded to bisected sizes, and whether the server's flight arrives" };

    public Option<string?> Capture { get; } = new("--capture") { Description = "Record the probe's own packets into FILE (pcap) and analyse them afterwards (needs root or CAP_NET_RAW)" };

    public Option<string?> CaptureInterface { get; } = new("--capture-interface") { Description = "Interface for --capture (default: the one routing to the target; for loopback lo on Linux, lo0 on macOS, the Npcap loopback adapter \\Device\\NPF_Loopback on Windows)" };

    public Option<int?> Repeat { get; } = new("--repeat")
    {
        Description = "Run the whole probe N times (1..10000) and report per phase the success rate and latency percentiles",
        CustomParser = OptionParsers.OptionalCount("--repeat", 1, Runs.Repeat.MaxRuns, _ => $"--repeat must be 1..{Runs.Repeat.MaxRuns}"),
    };

    public Option<string?> TargetsFile { get; } = new("--targets") { Description = "Probe every host[:port] listed in FILE ('#' comments), one report per target (JSON Lines with --json)" };

    public Option<int> Concurrency { get; } = new("--concurrency")
    {
        Description = "Targets probed at once with --targets (1..256)",
        DefaultValueFactory = _ => 16,
        CustomParser = OptionParsers.Count("--concurrency", 16, 1, Targets.MaxConcurrency, _ => $"--concurrency must be 1..{Targets.MaxConcurrency}"),
    };

    public Option<int?> ConcurrencyTest { get; } = new("--concurrency-test")
    {
        Description = "Open N (1..500) connections held after the X.224 request and report when the server starts refusing or stalling. Only against your own servers.",
        CustomParser = OptionParsers.OptionalCount("--concurrency-test", 1, ConcurrencyTestOptions.MaxConnections, _ => $"--concurrency-test must be 1..{ConcurrencyTestOptions.MaxConnections}"),
    };

    public IEnumerable<Option> All => [Udp, Mtu, Capture, CaptureInterface, Repeat, TargetsFile, Concurrency, ConcurrencyTest];

    /// <summary>The options given, read once from the parse result.</summary>
    public PathValues Read(ParseResult parse) => new(
        parse.GetValue(Udp),
        parse.GetValue(Mtu),
        parse.GetValue(Capture),
        parse.GetValue(CaptureInterface),
        parse.GetValue(Repeat),
        parse.GetValue(TargetsFile),
        parse.GetValue(Concurrency),
        parse.GetValue(ConcurrencyTest));
}

/// <summary>The path options' values.</summary>
internal sealed record PathValues(bool Udp, bool Mtu, string? Capture, string? CaptureInterface, int? Repeat, string? TargetsFile, int Concurrency, int? ConcurrencyTest)
{
    public bool TargetsMode => TargetsFile is not null;

    public ProbeRunOptions RunOptions => new() { Udp = Udp, Mtu = Mtu, CapturePath = Capture, CaptureInterface = CaptureInterface };

    /// <summary>The first combination that makes no sense, as a usage message; null when the options fit together.</summary>
    public string? Conflict(bool hasTarget)
    {
        if (!hasTarget && !TargetsMode)
        {
            return "missing target: rdpprobe HOST[:PORT]";
        }

        if (hasTarget && TargetsMode)
        {
            return "give either a target or --targets FILE";
        }

        if (CaptureInterface is not null && Capture is null)
        {
            return "--capture-interface needs --capture FILE";
        }

        int modes = (TargetsMode ? 1 : 0) + (Repeat is null ? 0 : 1) + (ConcurrencyTest is null ? 0 : 1);
        if (modes > 1)
        {
            return "--targets, --repeat and --concurrency-test are separate runs: give one of them";
        }

        if (TargetsMode && Capture is not null)
        {
            return "--capture records one target's probe; it cannot be combined with --targets";
        }

        return null;
    }
}
