using System.Globalization;
using System.Net;
using RdpProbe.Relay;

// rdpprobe-relay: a user-space delay/jitter relay for benchmark and test paths (kernel netem is not available).
//   rdpprobe-relay [--tcp LISTEN=UPSTREAM]... [--udp LISTEN=UPSTREAM]... [--delay MS] [--jitter MS]
//                  [--delay-up MS] [--delay-down MS] [--jitter-up MS] [--jitter-down MS] [--loss-up P] [--loss-down P]
//                  [--buffer BYTES] [--vxlan]
// LISTEN and UPSTREAM are IP:PORT ([v6]:PORT). --delay/--jitter set both directions (one-way each: the round trip
// grows by about twice the delay). "up" is client→upstream. Prints "relay ready" once every socket is bound, then runs
// until SIGTERM or Ctrl+C. --vxlan: the UDP maps carry VXLAN; the relay completes the inner IPv4 TCP/UDP checksums
// that checksum offload on veth leaves unfinished. Exit codes: 0 stopped, 2 bad arguments, 3 cannot bind.
const int BadArguments = 2, CannotBind = 3;

var tcp = new List<(IPEndPoint Listen, IPEndPoint Upstream)>();
var udp = new List<(IPEndPoint Listen, IPEndPoint Upstream)>();
double delayUp = 0, delayDown = 0, jitterUp = 0, jitterDown = 0, lossUp = 0, lossDown = 0;
long buffer = 1 << 20;
bool vxlan = false;

try
{
    for (int i = 0; i < args.Length; i++)
    {
        string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
        double Ms() => double.TryParse(Next(), NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v is >= 0 and <= 60_000 ? v : throw new ArgumentException($"{args[i - 1]} must be 0..60000 ms");
        double P() => double.TryParse(Next(), NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v is >= 0 and <= 1 ? v : throw new ArgumentException($"{args[i - 1]} must be a fraction 0..1");
        switch (args[i])
        {
            case "--tcp": tcp.Add(ParseMap(Next())); break;
            case "--udp": udp.Add(ParseMap(Next())); break;
            case "--delay": delayUp = delayDown = Ms(); break;
            case "--jitter": jitterUp = jitterDown = Ms(); break;
            case "--delay-up": delayUp = Ms(); break;
            case "--delay-down": delayDown = Ms(); break;
            case "--jitter-up": jitterUp = Ms(); break;
            case "--jitter-down": jitterDown = Ms(); break;
            case "--vxlan": vxlan = true; break;
            case "--loss-up": lossUp = P(); break;
            case "--loss-down": lossDown = P(); break;
            case "--buffer":
                buffer = long.TryParse(Next(), NumberStyles.None, CultureInfo.InvariantCulture, out long b) && b is >= 65536 and <= 1L << 30 ? b : throw new ArgumentException("--buffer must be 65536..1073741824 bytes");
                break;
            default: throw new ArgumentException($"unknown argument {args[i]}");
        }
    }

    if (tcp.Count + udp.Count == 0)
    {
        throw new ArgumentException("give at least one --tcp or --udp LISTEN=UPSTREAM");
    }
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine($"rdpprobe-relay: {ex.Message}");
    return BadArguments;
}

var up = new DelayProfile(TimeSpan.FromMilliseconds(delayUp), TimeSpan.FromMilliseconds(jitterUp), lossUp);
var down = new DelayProfile(TimeSpan.FromMilliseconds(delayDown), TimeSpan.FromMilliseconds(jitterDown), lossDown);
var relays = new List<IAsyncDisposable>();
try
{
    foreach (var (listen, upstream) in tcp)
    {
        relays.Add(new TcpRelay(listen, upstream, up, down, buffer));
        Console.WriteLine($"tcp {listen} -> {upstream}: up {up}, down {down}");
    }

    foreach (var (listen, upstream) in udp)
    {
        relays.Add(new UdpRelay(listen, upstream, up, down, buffer, vxlan));
        Console.WriteLine($"udp {listen} -> {upstream}: up {up}, down {down}");
    }
}
catch (System.Net.Sockets.SocketException ex)
{
    Console.Error.WriteLine($"rdpprobe-relay: cannot bind: {ex.Message}");
    foreach (var r in relays)
    {
        await r.DisposeAsync();
    }

    return CannotBind;
}

Console.WriteLine("relay ready");
var stopped = new TaskCompletionSource();
using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; stopped.TrySetResult(); });
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stopped.TrySetResult(); };
await stopped.Task;
foreach (var r in relays)
{
    await r.DisposeAsync();
}

return 0;

static (IPEndPoint, IPEndPoint) ParseMap(string text)
{
    int eq = text.IndexOf('=', StringComparison.Ordinal);
    if (eq < 0 || !IPEndPoint.TryParse(text[..eq], out var listen) || !IPEndPoint.TryParse(text[(eq + 1)..], out var upstream) || upstream.Port == 0)
    {
        throw new ArgumentException($"expected LISTEN=UPSTREAM as IP:PORT=IP:PORT, got '{text}'");
    }

    return (listen, upstream);
}
