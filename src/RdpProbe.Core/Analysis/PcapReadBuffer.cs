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

    private static readonly Lazy<(IntPtr PcapFile, IntPtr SetVBuf)> Functions = new(Resolve);

    private void* _buffer;

    private PcapReadBuffer(void* buffer) => _buffer = buffer;

    /// <summary>Whether this platform's libraries allow it (Linux, glibc, libpcap found).</summary>
    public static bool Supported => Functions.Value.PcapFile != IntPtr.Zero && Functions.Value.SetVBuf != IntPtr.Zero;

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
            var pcapFile = (delegate* unmanaged<IntPtr, IntPtr>)Functions.Value.PcapFile;
            IntPtr file = pcapFile(pcap);
            if (file == IntPtr.Zero)
            {
                return null;
            }

            void* buffer = NativeMemory.Alloc(Size);
            var setVBuf = (delegate* unmanaged<IntPtr, void*, int, nuint, int>)Functions.Value.SetVBuf;
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

    private static (IntPtr, IntPtr) Resolve()
    {
        if (!OperatingSystem.IsLinux() || !NativeLibrary.TryLoad("libc.so.6", out var libc)
            || !NativeLibrary.TryGetExport(libc, "gnu_get_libc_version", out _)
            || !NativeLibrary.TryGetExport(libc, "setvbuf", out var setVBuf))
        {
            return (IntPtr.Zero, IntPtr.Zero);
        }

        // The names SharpPcap itself loads libpcap by on Linux (the library is already loaded: this finds it).
        foreach (string name in (string[])["libpcap.so", "libpcap.so.1", "libpcap.so.0.8", "libpcap.so.0"])
        {
            if (NativeLibrary.TryLoad(name, out var pcap) && NativeLibrary.TryGetExport(pcap, "pcap_file", out var pcapFile))
            {
                return (pcapFile, setVBuf);
            }
        }

        return (IntPtr.Zero, IntPtr.Zero);
    }
}
