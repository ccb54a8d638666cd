using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using RdpProbe.Net;
using SharpPcap;
using SharpPcap.LibPcap;

namespace RdpProbe.Probe.NetPath;

/// <summary>Why a live capture could not start; the CLI turns it into a one-line error and its own exit code.</summary>
public sealed class LiveCaptureException(string message, LiveCaptureFailure failure, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>Why the capture could not start, so a caller can say what to change.</summary>
    public LiveCaptureFailure Failure { get; } = failure;
}

/// <summary>Why a live capture could not start.</summary>
public enum LiveCaptureFailure
{
    /// <summary>libpcap is not installed.</summary>
    NoLibpcap,

    /// <summary>No interface has the given name.</summary>
    NoSuchInterface,

    /// <summary>The interface or the output file could not be opened (permissions, disk).</summary>
    CannotOpen,

    /// <summary>No interface holds the local address that routes to the target: the interface must be named.</summary>
    NoInterfaceTowardsTarget,
}

/// <summary>
/// Records the probe's own packets with libpcap while it runs (issue 5 "live capture"): the TCP and UDP flows to the
/// target port and every ICMP message about the target (unreachable, fragmentation-needed from a router on the way).
/// Disposing stops the capture, lets the last packets (FIN, RST) land, flushes and closes the pcap file, which is kept.
/// </summary>
public sealed class LiveCapture : IAsyncDisposable
{
    /// <summary>Upper bounds so a long run cannot fill the disk: packets and bytes written.</summary>
    public const int MaxPackets = 200_000;

    public const long MaxBytes = 256L * 1024 * 1024;

    private readonly LibPcapLiveDevice _device;
    private readonly CaptureFileWriterDevice _writer;
    private readonly object _gate = new();
    private long _bytes;
    private int _packets;
    private int _dropped;
    private bool _stopped;

    private LiveCapture(string path, string interfaceName, IReadOnlyList<IPEndPoint> targets, LibPcapLiveDevice device, CaptureFileWriterDevice writer)
    {
        _targets = [.. targets.Distinct()];
        FilePath = path;
        InterfaceName = interfaceName;
        _device = device;
        _writer = writer;
    }

    public string FilePath { get; }

    public string InterfaceName { get; }

    private readonly List<IPEndPoint> _targets;

    /// <summary>The BPF filter in use.</summary>
    public string Filter => BuildFilter(Targets);

    /// <summary>The endpoints the filter covers.</summary>
    public IReadOnlyList<IPEndPoint> Targets
    {
        get
        {
            lock (_gate)
            {
                return [.. _targets];
            }
        }
    }

    /// <summary>
    /// Widens the filter to <paramref name="targets"/> as well (a second lookup of a round-robin name can answer other
    /// addresses than the one the capture started with). Setting a BPF program is one quick call into the kernel.
    /// </summary>
    public void Cover(IEnumerable<IPEndPoint> targets)
    {
        ArgumentNullException.ThrowIfNull(targets);
        lock (_gate)
        {
            var added = targets.Where(t => !_targets.Contains(t)).Distinct().ToList();
            if (added.Count == 0 || _stopped)
            {
                return;
            }

            _targets.AddRange(added);
            _device.Filter = BuildFilter(_targets);
        }
    }

    /// <summary>Packets written so far.</summary>
    public int PacketCount => Volatile.Read(ref _packets);

    /// <summary>Packets not written because a bound was reached.</summary>
    public int DroppedPackets => Volatile.Read(ref _dropped);

    /// <summary>
    /// Opens <paramref name="interfaceName"/> (default: the interface that routes to the target; <see cref="Platform.LoopbackCaptureInterface"/> for loopback),
    /// sets the filter for <paramref name="target"/> and starts writing <paramref name="path"/>.
    /// </summary>
    public static ValueTask<LiveCapture> StartAsync(string path, string? interfaceName, IPEndPoint target, CancellationToken cancellationToken = default)
        => StartAsync(path, interfaceName, [target], cancellationToken);

    /// <summary>The same for several addresses of one target (--all-addresses): the filter covers each of them.</summary>
    public static ValueTask<LiveCapture> StartAsync(string path, string? interfaceName, IReadOnlyList<IPEndPoint> targets, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(Start(path, interfaceName, targets));
    }

    /// <summary>Synchronous start: opening a pcap handle is a quick local call (tests run it inside a network namespace).</summary>
    public static LiveCapture Start(string path, string? interfaceName, IPEndPoint target) => Start(path, interfaceName, [target]);

    /// <summary>Synchronous start for several addresses; the default interface is the one routing to the first.</summary>
    public static LiveCapture Start(string path, string? interfaceName, IReadOnlyList<IPEndPoint> targets)
    {
        ArgumentNullException.ThrowIfNull(targets);
        if (targets.Count == 0)
        {
            throw new ArgumentException("nothing to capture: no target address", nameof(targets));
        }

        string name = interfaceName ?? InterfaceTowards(targets[0].Address);
        LibPcapLiveDevice? device;
        try
        {
            // A fresh list, not the cached Instance: interfaces (tunnels, namespaces) come and go.
            device = LibPcapLiveDeviceList.New().FirstOrDefault(d => string.Equals(d.Name, name, StringComparison.Ordinal));
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException or PcapException or TypeInitializationException)
        {
            var platform = Platform.Current;
            string why = platform.PcapLibraryProblem(ex) ?? $"capture library missing: {platform.PcapLibrary} could not list the interfaces; {platform.PcapInstallHint}";
            throw new LiveCaptureException($"{why} (live capture needs it)", LiveCaptureFailure.NoLibpcap, ex);
        }

        if (device is null)
        {
            throw new LiveCaptureException($"no capture interface named '{name}' ({Platform.Current.InterfaceHint})", LiveCaptureFailure.NoSuchInterface);
        }

        string filter = BuildFilter(targets);
        CaptureFileWriterDevice? writer = null;
        try
        {
            device.Open(new DeviceConfiguration { Mode = DeviceModes.None, Snaplen = 65535, ReadTimeout = 100 });
            device.Filter = filter;
            writer = new CaptureFileWriterDevice(path, FileMode.Create);
            writer.Open(device);
        }
        catch (Exception ex) when (Platform.Current.PcapLibraryProblem(ex) is { } missing)
        {
            // A library old enough to list interfaces but without a later entry point (an old wpcap.dll).
            writer?.Close();
            device.Close();
            throw new LiveCaptureException($"{missing} (live capture needs it)", LiveCaptureFailure.NoLibpcap, ex);
        }
        catch (Exception ex) when (ex is PcapException or IOException or UnauthorizedAccessException)
        {
            writer?.Close();
            device.Close();
            throw new LiveCaptureException($"cannot capture on '{name}' into {path}: {ex.Message} (capturing needs root or CAP_NET_RAW)", LiveCaptureFailure.CannotOpen, ex);
        }

        var capture = new LiveCapture(path, name, targets, device, writer);
        device.OnPacketArrival += capture.OnPacketArrival;
        device.StartCapture();
        return capture;
    }

    /// <summary>
    /// TCP/UDP to or from the target port, plus ICMP about the target: messages from the target itself, and ICMP errors
    /// from routers whose quoted IP header (at ICMP offset 8, destination at 8 + 16) names the target (RFC 792).
    /// </summary>
    public static string BuildFilter(IPEndPoint target)
    {
        string port = target.Port.ToString(CultureInfo.InvariantCulture);
        if (target.Address.AddressFamily == AddressFamily.InterNetwork)
        {
            string host = target.Address.ToString();
            byte[] b = target.Address.GetAddressBytes();
            uint quoted = ((uint)b[0] << 24) | ((uint)b[1] << 16) | ((uint)b[2] << 8) | b[3];
            return $"(host {host} and (tcp port {port} or udp port {port})) or (icmp and (host {host} or icmp[24:4] = 0x{quoted.ToString("x8", CultureInfo.InvariantCulture)}))";
        }

        string host6 = target.Address.ToString();
        return $"(host {host6} and (tcp port {port} or udp port {port} or icmp6)) or icmp6";
    }

    /// <summary>The filter for several addresses: any of the single-address filters.</summary>
    public static string BuildFilter(IReadOnlyList<IPEndPoint> targets)
    {
        ArgumentNullException.ThrowIfNull(targets);
        return targets.Count == 1 ? BuildFilter(targets[0]) : string.Join(" or ", targets.Distinct().Select(t => $"({BuildFilter(t)})"));
    }

    /// <summary>The interface whose address the kernel picks to reach <paramref name="address"/> (a connected UDP socket sends nothing).</summary>
    public static string InterfaceTowards(IPAddress address)
    {
        var platform = Platform.Current;
        if (IPAddress.IsLoopback(address))
        {
            return platform.LoopbackCaptureInterface;
        }

        using var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.Connect(new IPEndPoint(address, 9));
        var local = ((IPEndPoint)socket.LocalEndPoint!).Address;
        foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
        {
            if (nic.GetIPProperties().UnicastAddresses.Any(a => a.Address.Equals(local)))
            {
                return platform.CaptureDeviceName(nic.Name, nic.Id);
            }
        }

        throw new LiveCaptureException($"no interface holds {local}, the address used to reach {address}", LiveCaptureFailure.NoInterfaceTowardsTarget);
    }

    private void OnPacketArrival(object sender, PacketCapture e)
    {
        lock (_gate)
        {
            if (_stopped)
            {
                return;
            }

            int length = e.Data.Length;
            if (_packets >= MaxPackets || _bytes + length > MaxBytes)
            {
                _dropped++;
                return;
            }

            _writer.Write(e.GetPacket());
            _packets++;
            _bytes += length;
        }
    }

    /// <summary>Stops after a short grace period (the last FIN/RST/ICMP of a probe lands shortly after it returns) and closes the file.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Volatile.Read(ref _stopped))
        {
            return;
        }

        await Task.Delay(150).ConfigureAwait(false);
        try
        {
            _device.StopCapture();
        }
        catch (PcapException)
        {
            // Already stopped (interface gone, e.g. its namespace was deleted): the file still gets closed below.
        }

        lock (_gate)
        {
            _stopped = true;
            _writer.Close();
        }

        _device.OnPacketArrival -= OnPacketArrival;
        _device.Close();
    }
}
