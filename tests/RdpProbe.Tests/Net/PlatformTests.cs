using System.Net.Sockets;
using RdpProbe.Net;

namespace RdpProbe.Tests.Net;

/// <summary>The adapter's per-OS tables, checked for every OS without running there.</summary>
public sealed class PlatformTests
{
    [Theory]
    [InlineData(HostOs.Linux, 2)]
    [InlineData(HostOs.MacOs, 2)]
    [InlineData(HostOs.Windows, 4)]
    public void Tcp_maxseg_has_the_number_of_each_system(HostOs os, int option)
        => Assert.Equal(option, Platform.For(os).TcpMaxSegOption);

    [Theory]
    [InlineData(HostOs.Linux, 11, 14)]
    [InlineData(HostOs.Windows, null, null)]
    [InlineData(HostOs.MacOs, null, null)]
    [InlineData(HostOs.Other, null, null)]
    public void Tcp_info_and_ip_mtu_are_read_only_on_linux(HostOs os, int? tcpInfo, int? ipMtu)
    {
        var platform = Platform.For(os);
        Assert.Equal(tcpInfo, platform.TcpInfoOption);
        Assert.Equal(ipMtu, platform.IpMtuOption);
    }

    [Theory]
    [InlineData(HostOs.Linux, SocketError.ConnectionRefused, true)]
    [InlineData(HostOs.Linux, SocketError.ConnectionReset, false)]
    [InlineData(HostOs.MacOs, SocketError.ConnectionRefused, true)]
    [InlineData(HostOs.MacOs, SocketError.ConnectionReset, false)]
    [InlineData(HostOs.Windows, SocketError.ConnectionReset, true)]
    [InlineData(HostOs.Windows, SocketError.ConnectionRefused, true)]
    [InlineData(HostOs.Windows, SocketError.HostUnreachable, false)]
    [InlineData(HostOs.Linux, SocketError.TimedOut, false)]
    public void Icmp_port_unreachable_is_refused_or_on_windows_reset(HostOs os, SocketError error, bool unreachable)
        => Assert.Equal(unreachable, Platform.For(os).IsUdpPortUnreachable(error));

    [Theory]
    [InlineData(HostOs.Windows, "Npcap", "npcap.com")]
    [InlineData(HostOs.Linux, "libpcap", "apt-get install libpcap0.8")]
    [InlineData(HostOs.MacOs, "libpcap", "brew install libpcap")]
    public void The_capture_library_and_how_to_install_it(HostOs os, string library, string hint)
    {
        var platform = Platform.For(os);
        Assert.Equal(library, platform.PcapLibrary);
        Assert.Contains(hint, platform.PcapInstallHint, StringComparison.Ordinal);
        string? missing = platform.PcapLibraryProblem(new DllNotFoundException("Unable to load shared library 'wpcap'"));
        Assert.NotNull(missing);
        Assert.StartsWith($"capture library missing: {library} is not installed", missing, StringComparison.Ordinal);
        Assert.Contains(hint, missing, StringComparison.Ordinal);
    }

    [Fact]
    public void A_wpcap_without_the_precision_entry_point_is_named_too_old()
    {
        var platform = Platform.For(HostOs.Windows);
        var old = new EntryPointNotFoundException("Unable to find an entry point named 'pcap_open_offline_with_tstamp_precision' in DLL 'wpcap'.");
        string? message = platform.PcapLibraryProblem(new TypeInitializationException("SharpPcap.LibPcap.LibPcapSafeNativeMethods", old));
        Assert.NotNull(message);
        Assert.Contains("Npcap is too old", message, StringComparison.Ordinal);
        Assert.Contains("pcap_open_offline_with_tstamp_precision", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(HostOs.Linux, "lo")]
    [InlineData(HostOs.MacOs, "lo0")]
    [InlineData(HostOs.Other, "lo0")]
    [InlineData(HostOs.Windows, @"\Device\NPF_Loopback")]
    public void Loopback_is_captured_on_the_interface_each_system_names(HostOs os, string name)
    {
        var platform = Platform.For(os);
        Assert.Equal(name, platform.LoopbackCaptureInterface);
        Assert.Contains(name, platform.InterfaceHint, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(HostOs.Linux, "eth0")]
    [InlineData(HostOs.MacOs, "eth0")]
    [InlineData(HostOs.Windows, @"\Device\NPF_{5B9E7A3C-0000-4C6B-9E0D-1D2C3B4A5F60}")]
    public void A_network_interface_is_named_as_the_capture_library_names_it(HostOs os, string device)
    {
        // Npcap opens \Device\NPF_{GUID}; the friendly name ("Ethernet") is no device on Windows.
        Assert.Equal(device, Platform.For(os).CaptureDeviceName(os == HostOs.Windows ? "Ethernet" : "eth0", "{5B9E7A3C-0000-4C6B-9E0D-1D2C3B4A5F60}"));
    }

    [Fact]
    public void Other_errors_are_not_blamed_on_the_library()
    {
        Assert.Null(Platform.For(HostOs.Linux).PcapLibraryProblem(new IOException("bad magic")));
        Assert.Null(Platform.For(HostOs.Linux).PcapLibraryProblem(new InvalidOperationException("x", new ArgumentException("y"))));
    }

    [Fact]
    public void Current_is_the_running_system()
    {
        var expected = OperatingSystem.IsLinux() ? HostOs.Linux : OperatingSystem.IsWindows() ? HostOs.Windows : OperatingSystem.IsMacOS() ? HostOs.MacOs : HostOs.Other;
        Assert.Equal(expected, Platform.Current.Os);
    }
}
