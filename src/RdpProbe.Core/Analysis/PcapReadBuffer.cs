using System.Runtime.InteropServices;
using SharpPcap.LibPcap;

namespace RdpProbe.Analysis;

/// <summary>
/// A larger stdio buffer under libpcap's savefile reader. libpcap reads a capture through the C library's
/// <c>FILE</c> with its default buffer (4 KiB with glibc): a 258 MB capture costs 61,000 read(2) calls, a measurable
/// share of the analysis on a virtual machine where each system call is dear. On Linux with glibc this gives the
/// <c>FILE</c> that <c>pcap_file(3PCAP)</c> returns a 1 MiB buffer of our own (256 times fewer calls). It is done after
/// libpcap read the file header, which glibc allows for a regular file: <c>setvbuf</c> with a buffer first syncs the
/// stream (the bytes read ahead are given back by seeking the descriptor back), so libpcap reads on from where it
/// was. Anywhere else (another C library, Windows, macOS, a library missing a symbol) nothing is changed: this only
/// saves time, and the file reads the same either way (<c>CaptureFileReaderTests</c> compare both).
/// </summary>
internal sealed unsafe class PcapReadBuffer : IDisposable
{
    /// <summary>Bytes of the buffer given to libpcap's stream.</summary>
    public const int Size = 1 << 20;

    private const int FullyBuffered = 0; // _IOFBF in glibc's stdio.h

    private void* _buffer;

    private PcapReadBuffer(void* buffer) => _buffer = buffer;

    /// <summary>Whether this platform's libraries allow it (Linux, glibc, libpcap found).</summary>
    public static bool Supported => LibpcapExports.PcapFile != IntPtr.Zero && LibpcapExports.SetVBuf != IntPtr.Zero;

    /// <summary>
    /// Gives <paramref name="device"/>'s stream the larger buffer; the returned object frees it and must be disposed
    /// after the device is closed. Null (nothing changed) where it is not supported or did not take.
    /// </summary>
    public static PcapReadBuffer? TryEnlarge(CaptureFileReaderDevice device)
    {
        if (!Supported)
        {
            return null;
        }

        try
        {
            IntPtr pcap = device.Handle.DangerousGetHandle();
            var pcapFile = (delegate* unmanaged<IntPtr, IntPtr>)LibpcapExports.PcapFile;
            IntPtr file = pcapFile(pcap);
            if (file == IntPtr.Zero)
            {
                return null;
            }

            void* buffer = NativeMemory.Alloc(Size);
            var setVBuf = (delegate* unmanaged<IntPtr, void*, int, nuint, int>)LibpcapExports.SetVBuf;
            if (setVBuf(file, buffer, FullyBuffered, Size) != 0)
            {
                NativeMemory.Free(buffer);
                return null;
            }

            return new PcapReadBuffer(buffer);
        }
        catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        if (_buffer != null)
        {
            NativeMemory.Free(_buffer);
            _buffer = null;
        }
    }

}

/// <summary>
/// libpcap and C library functions the savefile reader calls directly on Linux (zero where not found; callers then keep
/// to SharpPcap): <c>pcap_file</c> and glibc's <c>setvbuf</c> (<see cref="PcapReadBuffer"/>), and <c>pcap_next_ex</c>,
/// called with the raw <c>pcap_t*</c> while the reader holds one reference on SharpPcap's handle for the whole file
/// (SharpPcap's own call takes and drops a reference on it for every packet: 3 % of a whole analysis).
/// </summary>
internal static class LibpcapExports
{
    static LibpcapExports()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        // The names SharpPcap itself loads libpcap by on Linux (the library is already loaded: this finds it).
        foreach (string name in (string[])["libpcap.so", "libpcap.so.1", "libpcap.so.0.8", "libpcap.so.0"])
        {
            if (NativeLibrary.TryLoad(name, out var pcap)
                && NativeLibrary.TryGetExport(pcap, "pcap_file", out var pcapFile)
                && NativeLibrary.TryGetExport(pcap, "pcap_next_ex", out var nextEx))
            {
                PcapFile = pcapFile;
                PcapNextEx = nextEx;
                break;
            }
        }

        if (NativeLibrary.TryLoad("libc.so.6", out var libc)
            && NativeLibrary.TryGetExport(libc, "gnu_get_libc_version", out _)
            && NativeLibrary.TryGetExport(libc, "setvbuf", out var setVBuf))
        {
            SetVBuf = setVBuf;
        }
    }

    /// <summary><c>FILE *pcap_file(pcap_t *)</c>.</summary>
    public static IntPtr PcapFile { get; }

    /// <summary><c>int pcap_next_ex(pcap_t *, struct pcap_pkthdr **, const u_char **)</c>.</summary>
    public static IntPtr PcapNextEx { get; }

    /// <summary>glibc's <c>int setvbuf(FILE *, char *, int, size_t)</c> (zero with another C library).</summary>
    public static IntPtr SetVBuf { get; }
}
