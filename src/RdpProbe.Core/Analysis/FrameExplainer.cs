using PacketDotNet;
using SharpPcap;
using SharpPcap.LibPcap;

namespace RdpProbe.Analysis;

/// <summary>
/// The cold path: one frame explained field by field with PacketDotNet (layers, addresses, ports, flags, lengths),
/// for a user who wants to look at a finding's frame without opening Wireshark. Never used on the hot path.
/// </summary>
public static class FrameExplainer
{
    /// <summary>Frame <paramref name="number"/> (1-based, counted across the files in order), or null if there is no such frame.</summary>
    public static string? Explain(IReadOnlyList<string> files, int number)
    {
        int seen = 0;
        foreach (var file in files)
        {
            using var device = new CaptureFileReaderDevice(file);
            device.Open();
            while (device.GetNextPacket(out PacketCapture capture) == GetPacketStatus.PacketRead)
            {
                if (++seen != number)
                {
                    continue;
                }

                var raw = capture.GetPacket();
                var packet = Packet.ParsePacket(raw.LinkLayerType, raw.Data);
                return $"frame {number} ({file}, {raw.Data.Length} bytes, {raw.Timeval.Date:yyyy-MM-dd HH:mm:ss.ffffff} UTC)\n{packet.ToString(StringOutputType.Verbose)}";
            }
        }

        return null;
    }
}
