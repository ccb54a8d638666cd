using System.Buffers.Binary;

namespace RdpProbe.Benchmarks.Analysis;

/// <summary>
/// Builds a large, realistic multi-connection capture from real handshakes: the packets of template captures
/// (classic pcap, Ethernet/IPv4, e.g. captures/lab/*.pcap) are copied many times with every copy given its own
/// client address, client port and server address, all on server port 3389 (so tshark dissects RDP), and the
/// copies are interleaved in time. Distinct 4-tuples matter: a capture that repeats one 4-tuple sends tshark's TCP
/// analysis into a slow path and flatters the comparison (PERFORMANCE.md).
/// </summary>
public static class CaptureGenerator
{
    private sealed record Template(string Name, List<(long Micros, byte[] Frame)> Packets, ushort ServerPort);

    /// <summary>Writes about <paramref name="targetPackets"/> packets to <paramref name="output"/>; returns (packets, connections).</summary>
    public static (long Packets, int Connections) Generate(IReadOnlyList<string> templates, string output, long targetPackets, double connectionsPerSecond = 500)
    {
        var loaded = templates.Select(Load).Where(t => t.Packets.Count > 0).ToList();
        if (loaded.Count == 0)
        {
            throw new InvalidOperationException("no usable template (classic pcap, Ethernet, IPv4 TCP/UDP needed)");
        }

        // Schedule: copy k starts at k / rate seconds; its packets keep their original spacing.
        var schedule = new List<(long Time, int Copy, int Template, int Index)>();
        long total = 0;
        int copies = 0;
        long spacing = (long)(1_000_000 / connectionsPerSecond);
        while (total < targetPackets)
        {
            int t = copies % loaded.Count;
            long start = copies * spacing;
            var packets = loaded[t].Packets;
            long first = packets[0].Micros;
            for (int i = 0; i < packets.Count; i++)
            {
                schedule.Add((start + (packets[i].Micros - first), copies, t, i));
            }

            total += packets.Count;
            copies++;
        }

        schedule.Sort((a, b) => a.Time != b.Time ? a.Time.CompareTo(b.Time) : a.Copy != b.Copy ? a.Copy.CompareTo(b.Copy) : a.Index.CompareTo(b.Index));

        using var stream = new BufferedStream(File.Create(output), 1 << 20);
        Span<byte> header = stackalloc byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(header, 0xA1B2C3D4);
        BinaryPrimitives.WriteUInt16LittleEndian(header[4..], 2);
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], 4);
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], 262144);
        BinaryPrimitives.WriteUInt32LittleEndian(header[20..], 1);
        stream.Write(header);

        long epoch = 1_767_225_600L * 1_000_000; // 2026-01-01
        var buffer = new byte[70000];
        Span<byte> record = stackalloc byte[16];
        foreach (var (time, copy, t, index) in schedule)
        {
            var template = loaded[t];
            var frame = template.Packets[index].Frame;
            frame.CopyTo(buffer, 0);
            Rewrite(buffer.AsSpan(0, frame.Length), copy, template.ServerPort);
            long micros = epoch + time;
            BinaryPrimitives.WriteUInt32LittleEndian(record, (uint)(micros / 1_000_000));
            BinaryPrimitives.WriteUInt32LittleEndian(record[4..], (uint)(micros % 1_000_000));
            BinaryPrimitives.WriteUInt32LittleEndian(record[8..], (uint)frame.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(record[12..], (uint)frame.Length);
            stream.Write(record);
            stream.Write(buffer, 0, frame.Length);
        }

        return (schedule.Count, copies);
    }

    /// <summary>
    /// Gives copy <paramref name="copy"/> its own addresses: client 10.a.b.c (from the copy number), server 172.16.x.y,
    /// server port 3389; client ports stay as in the template. Fixes the IPv4 header checksum; TCP/UDP checksums are left
    /// stale (tshark does not check them by default, nor does the analyzer).
    /// </summary>
    private static void Rewrite(Span<byte> frame, int copy, ushort templateServerPort)
    {
        if (frame.Length < 14 + 20 || BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) != 0x0800)
        {
            return;
        }

        var ip = frame[14..];
        int ihl = (ip[0] & 0x0F) * 4;
        byte protocol = ip[9];
        uint client = 0x0A00_0000u | (uint)(copy + 1);
        uint server = 0xAC10_0000u | (uint)((copy % 4000) + 1);

        bool fromServer;
        ushort srcPort = 0;
        ushort dstPort = 0;
        bool hasPorts = (protocol is 6 or 17) && ip.Length >= ihl + 4;
        if (hasPorts)
        {
            srcPort = BinaryPrimitives.ReadUInt16BigEndian(ip[ihl..]);
            dstPort = BinaryPrimitives.ReadUInt16BigEndian(ip[(ihl + 2)..]);
            fromServer = srcPort == templateServerPort;
        }
        else
        {
            // ICMP and others: keep the direction by comparing with the template's first packet is not possible here;
            // treat them as coming from the server side.
            fromServer = true;
        }

        BinaryPrimitives.WriteUInt32BigEndian(ip[12..], fromServer ? server : client);
        BinaryPrimitives.WriteUInt32BigEndian(ip[16..], fromServer ? client : server);
        if (hasPorts)
        {
            // The client keeps its original port (templates with several connections stay distinct); every copy
            // has its own client address, so 4-tuples never repeat across copies.
            BinaryPrimitives.WriteUInt16BigEndian(ip[ihl..], fromServer ? (ushort)3389 : srcPort);
            BinaryPrimitives.WriteUInt16BigEndian(ip[(ihl + 2)..], fromServer ? dstPort : (ushort)3389);
        }

        ip[10] = 0;
        ip[11] = 0;
        uint sum = 0;
        for (int i = 0; i < ihl; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(ip[i..]);
        }

        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], (ushort)~sum);
    }

    /// <summary>Reads a classic little-endian microsecond pcap with Ethernet frames; the server port is the SYN's destination.</summary>
    private static Template Load(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var packets = new List<(long, byte[])>();
        if (bytes.Length < 24 || BinaryPrimitives.ReadUInt32LittleEndian(bytes) != 0xA1B2C3D4 || BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(20)) != 1)
        {
            return new Template(path, packets, 0);
        }

        ushort serverPort = 0;
        int offset = 24;
        while (offset + 16 <= bytes.Length)
        {
            long micros = (BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset)) * 1_000_000L) + BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset + 4));
            int caplen = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset + 8));
            offset += 16;
            if (caplen > bytes.Length - offset)
            {
                break;
            }

            var frame = bytes.AsSpan(offset, caplen).ToArray();
            offset += caplen;
            if (frame.Length >= 34 && BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12)) == 0x0800)
            {
                int ihl = (frame[14] & 0x0F) * 4;
                if (serverPort == 0 && frame[14 + 9] == 6 && frame.Length >= 14 + ihl + 14 && (frame[14 + ihl + 13] & 0x12) == 0x02)
                {
                    serverPort = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(14 + ihl + 2));
                }

                // Only the RDP flows of the template (other traffic in it would be rewritten into nonsense).
                bool rdp = frame[14 + 9] is 6 or 17 && frame.Length >= 14 + ihl + 4
                    && (serverPort == 0 || BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(14 + ihl)) == serverPort || BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(14 + ihl + 2)) == serverPort);
                if (rdp && serverPort != 0)
                {
                    packets.Add((micros, frame));
                }
            }
        }

        return new Template(path, serverPort == 0 ? [] : packets, serverPort);
    }
}
