using System.Text;
using System.Text.Json;
using RdpProbe.Diagnosis;

namespace RdpProbe.Probe.Bench;

/// <summary>One phase over all measured runs. Times in milliseconds; distributions over the runs where it succeeded.</summary>
public sealed class PhaseBench(Phase phase)
{
    public Phase Phase { get; } = phase;

    public int Attempted { get; init; }

    public int Succeeded { get; init; }

    public IReadOnlyDictionary<Ending, int> FailureEndings { get; init; } = new Dictionary<Ending, int>();

    /// <summary>Time on the wire: from each flight sent to the first bytes of the answer (network + server).</summary>
    public Distribution? Wire { get; init; }

    public Distribution? Wall { get; init; }

    /// <summary>The client's own time (wall − wire): crypto, JIT, scheduling.</summary>
    public Distribution? Client { get; init; }

    /// <summary>Round trips measured per run from the message flow.</summary>
    public Distribution? RoundTrips { get; init; }

    /// <summary>The least round trips the protocol allows for this phase.</summary>
    public int? Floor { get; init; }

    /// <summary>Round trips × the run's RTT.</summary>
    public Distribution? Network { get; set; }

    /// <summary>Wire time − round trips × RTT: the server thinking.</summary>
    public Distribution? Server { get; set; }

    /// <summary>"network", "server" or "client": the largest share at the median.</summary>
    public string? Attribution { get; set; }

    /// <summary>Median measured round trips above the floor (0 = no extra round trip).</summary>
    public double? ExtraRoundTrips => RoundTrips is { } rt && Floor is { } f ? rt.Median - f : null;
}

/// <summary>What <c>rdpprobe bench</c> measured (JSON schema rdpprobe.bench/1).</summary>
public sealed class BenchReport(string target)
{
    public const string Schema = "rdpprobe.bench/1";

    public string Target { get; } = target;

    public string? Address { get; set; }

    public int RunsAsked { get; init; }

    public int Warmup { get; init; }

    public int RunsDone { get; init; }

    /// <summary>Measured runs in which no phase failed.</summary>
    public int RunsComplete { get; set; }

    public bool WithCredentials { get; init; }

    public string? TlsVersion { get; set; }

    public DateTimeOffset StartedAt { get; set; } = DateTimeOffset.UtcNow;

    public double DurationMs { get; set; }

    public string? StoppedEarly { get; set; }

    /// <summary>The path's round-trip time: the TCP connect of each run (SYN → SYN/ACK, answered by the server's kernel).</summary>
    public Distribution? Rtt { get; set; }

    public const string RttSource = "tcp_connect";

    public List<PhaseBench> Phases { get; } = [];

    public Distribution? TotalWire { get; set; }

    public Distribution? TotalWall { get; set; }

    public Distribution? TotalRoundTrips { get; set; }

    public int? TotalFloor { get; set; }

    /// <summary>Wall time of the first warm-up run (JIT and library set-up included).</summary>
    public double? ColdWall { get; set; }

    /// <summary>True when no phase's median round trips exceed its floor.</summary>
    public bool AtFloor => Phases.All(p => p.ExtraRoundTrips is null or <= 0);

    public string ToJson(bool indented = true)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("schema", Schema);
            w.WriteString("target", Target);
            WriteNullable(w, "address", Address);
            w.WriteString("started_at", StartedAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
            w.WriteNumber("duration_ms", DurationMs);
            w.WriteNumber("runs_asked", RunsAsked);
            w.WriteNumber("warmup", Warmup);
            w.WriteNumber("runs_done", RunsDone);
            w.WriteNumber("runs_complete", RunsComplete);
            w.WriteBoolean("with_credentials", WithCredentials);
            WriteNullable(w, "tls_version", TlsVersion);
            WriteNullable(w, "stopped_early", StoppedEarly);
            w.WriteString("rtt_source", RttSource);
            WriteDistribution(w, "rtt_ms", Rtt);
            if (ColdWall is { } cold)
            {
                w.WriteNumber("cold_run_wall_ms", cold);
            }
            else
            {
                w.WriteNull("cold_run_wall_ms");
            }

            w.WriteStartArray("phases");
            foreach (var p in Phases)
            {
                w.WriteStartObject();
                w.WriteString("phase", p.Phase.ToReportName());
                w.WriteNumber("attempted", p.Attempted);
                w.WriteNumber("succeeded", p.Succeeded);
                w.WriteStartObject("failures");
                foreach (var (ending, count) in p.FailureEndings.OrderBy(e => e.Key))
                {
                    w.WriteNumber(ending.ToReportName(), count);
                }

                w.WriteEndObject();
                WriteDistribution(w, "wire_ms", p.Wire);
                WriteDistribution(w, "wall_ms", p.Wall);
                WriteDistribution(w, "client_ms", p.Client);
                WriteDistribution(w, "round_trips", p.RoundTrips);
                WriteNullable(w, "rtt_floor", p.Floor);
                if (p.ExtraRoundTrips is { } extra)
                {
                    w.WriteNumber("extra_round_trips", extra);
                }
                else
                {
                    w.WriteNull("extra_round_trips");
                }

                WriteDistribution(w, "network_ms", p.Network);
                WriteDistribution(w, "server_ms", p.Server);
                WriteNullable(w, "attribution", p.Attribution);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartObject("total");
            WriteDistribution(w, "wire_ms", TotalWire);
            WriteDistribution(w, "wall_ms", TotalWall);
            WriteDistribution(w, "round_trips", TotalRoundTrips);
            WriteNullable(w, "rtt_floor", TotalFloor);
            w.WriteBoolean("at_floor", AtFloor);
            w.WriteEndObject();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteNullable(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }

    private static void WriteNullable(Utf8JsonWriter w, string name, int? value)
    {
        if (value is { } v)
        {
            w.WriteNumber(name, v);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static void WriteDistribution(Utf8JsonWriter w, string name, Distribution? d)
    {
        if (d is null)
        {
            w.WriteNull(name);
            return;
        }

        w.WriteStartObject(name);
        w.WriteNumber("n", d.Count);
        w.WriteNumber("min", d.Min);
        w.WriteNumber("median", d.Median);
        w.WriteNumber("p90", d.P90);
        w.WriteNumber("p99", d.P99);
        w.WriteNumber("max", d.Max);
        w.WriteNumber("mean", d.Mean);
        w.WriteEndObject();
    }
}
