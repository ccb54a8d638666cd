using System.Net.Sockets;

namespace RdpProbe.Net;

/// <summary>The operating systems the adapter distinguishes.</summary>
public enum HostOs
{
    Linux,
    Windows,
    MacOs,
    Other,
}

/// <summary>
/// Every operating-system-specific decision of the probe and the capture reader in one place, one branch per OS.
/// <see cref="Current"/> is the running system; the tests build the other systems' adapters with <see cref="For"/>
/// and check their tables without running there.
/// </summary>
public sealed class Platform
{
    /// <summary>IPPROTO_TCP: 6 on every system (IANA protocol number).</summary>
    public const int IpProtoTcp = 6;

    /// <summary>IPPROTO_IP: 0 on every system.</summary>
    public const int IpProtoIp = 0;

    private Platform(HostOs os) => Os = os;

    public static Platform Current { get; } = For(Detect());

    public HostOs Os { get; }

    public static Platform For(HostOs os) => new(os);

    /// <summary>
    /// The TCP_MAXSEG socket option number: 2 in Linux (linux/tcp.h) and the BSDs/macOS (netinet/tcp.h), 4 in Windows
    /// (ws2ipdef.h; option 2 there is TCP_EXPEDITED_1122, a different option altogether).
    /// </summary>
    public int TcpMaxSegOption => Os == HostOs.Windows ? 4 : 2;

    /// <summary>
    /// getsockopt(IPPROTO_TCP, TCP_INFO) with the Linux <c>struct tcp_info</c> layout (option 11): Linux only. macOS
    /// has TCP_CONNECTION_INFO and Windows SIO_TCP_INFO with other layouts, which the probe does not read; there the
    /// kernel RTT, retransmissions and path MTU are simply absent.
    /// </summary>
    public int? TcpInfoOption => Os == HostOs.Linux ? 11 : null;

    /// <summary>getsockopt(IPPROTO_IP, IP_MTU), option 14: the path MTU the kernel learned; Linux only.</summary>
    public int? IpMtuOption => Os == HostOs.Linux ? 14 : null;

    /// <summary>
    /// Whether a socket error on a connected UDP socket means the peer answered ICMP port unreachable: Linux and macOS
    /// report ECONNREFUSED; Windows reports WSAECONNRESET (10054) on the next receive (SIO_UDP_CONNRESET, on by default).
    /// </summary>
    public bool IsUdpPortUnreachable(SocketError error) => error switch
    {
        SocketError.ConnectionRefused => true,
        SocketError.ConnectionReset => Os == HostOs.Windows,
        _ => false,
    };

    /// <summary>The packet capture library SharpPcap loads: Npcap's wpcap.dll on Windows, libpcap elsewhere.</summary>
    public string PcapLibrary => Os == HostOs.Windows ? "Npcap" : "libpcap";

    /// <summary>How to install <see cref="PcapLibrary"/> on this system, in one sentence.</summary>
    public string PcapInstallHint => Os switch
    {
        HostOs.Windows => "install Npcap from https://npcap.com (tick \"WinPcap API-compatible mode\")",
        HostOs.MacOs => "libpcap ships with macOS; reinstall it with `brew install libpcap` if it was removed",
        HostOs.Linux => "install it with `apt-get install libpcap0.8` (Debian, Ubuntu) or `dnf install libpcap` (Fedora, RHEL)",
        _ => "install libpcap from the system's packages",
    };

    /// <summary>The interface name to suggest for --capture-interface, as this OS spells a typical one.</summary>
    public string InterfaceHint => Os switch
    {
        HostOs.Windows => "Npcap names interfaces \\Device\\NPF_{GUID} (the GUIDs: `getmac /v`, or Wireshark's interface list); loopback is \\Device\\NPF_Loopback",
        HostOs.MacOs => "see `ifconfig -l`; loopback is lo0",
        HostOs.Linux => "see `ip link`; loopback is lo",
        _ => "see `ifconfig -a`; loopback is usually lo0",
    };

    /// <summary>
    /// The capture interface for a loopback target: Linux's "lo", the BSDs' and macOS's "lo0", and on Windows the
    /// Npcap Loopback Adapter (only Npcap captures loopback traffic; WinPcap could not).
    /// </summary>
    public string LoopbackCaptureInterface => Os switch
    {
        HostOs.Linux => "lo",
        HostOs.Windows => @"\Device\NPF_Loopback",
        _ => "lo0",
    };

    /// <summary>
    /// The capture device name of a network interface: the interface name on Linux and macOS; on Windows, Npcap's
    /// \Device\NPF_{GUID} built from the adapter's GUID (the friendly name "Ethernet" is not a device name).
    /// </summary>
    public string CaptureDeviceName(string interfaceName, string interfaceId) =>
        Os == HostOs.Windows ? $@"\Device\NPF_{interfaceId}" : interfaceName;

    /// <summary>
    /// The message for an exception that means the capture library itself is absent or too old, or null when the
    /// exception is about something else (the file, the interface, a permission).
    /// </summary>
    public string? PcapLibraryProblem(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case DllNotFoundException:
                    return $"capture library missing: {PcapLibrary} is not installed; {PcapInstallHint}";
                case EntryPointNotFoundException:
                    // An old WinPcap (or libpcap before 1.5) lacks pcap_open_offline_with_tstamp_precision and friends.
                    return $"capture library missing: the installed {PcapLibrary} is too old ({OneLine(e.Message)}); {PcapInstallHint}";
            }
        }

        return null;
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();

    private static HostOs Detect()
    {
        if (OperatingSystem.IsLinux())
        {
            return HostOs.Linux;
        }

        if (OperatingSystem.IsWindows())
        {
            return HostOs.Windows;
        }

        return OperatingSystem.IsMacOS() ? HostOs.MacOs : HostOs.Other;
    }
}
