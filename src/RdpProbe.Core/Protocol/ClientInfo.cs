using System.Buffers.Binary;
using System.Text;

namespace RdpProbe.Protocol;

/// <summary>TS_INFO_PACKET flags (MS-RDPBCGR 2.2.1.11.1.1).</summary>
[Flags]
internal enum ClientInfoFlags : uint
{
    Mouse = 0x00000001,
    DisableCtrlAltDel = 0x00000002,
    Autologon = 0x00000008,
    Unicode = 0x00000010,
    MaximizeShell = 0x00000020,
    LogonNotify = 0x00000040,
    EnableWindowsKey = 0x00000100,
    LogonErrors = 0x00010000,
    MouseHasWheel = 0x00020000,
    NoAudioPlayback = 0x00080000,
}

/// <summary>
/// Client Info PDU data (TS_INFO_PACKET with TS_EXTENDED_INFO_PACKET, MS-RDPBCGR 2.2.1.11.1.1–2.2.1.11.1.1.1).
/// Strings are UTF-16LE with a NUL the cb* counts leave out. The caller owns the buffer and should clear it: with
/// standard security and no NLA it carries the password.
/// </summary>
internal static class ClientInfo
{
    /// <summary>What a plain Windows client sets, plus AUTOLOGON when a password is inside and LOGONERRORS so the server reports logon problems.</summary>
    public const ClientInfoFlags DefaultFlags = ClientInfoFlags.Mouse | ClientInfoFlags.DisableCtrlAltDel | ClientInfoFlags.Unicode |
        ClientInfoFlags.MaximizeShell | ClientInfoFlags.LogonNotify | ClientInfoFlags.EnableWindowsKey | ClientInfoFlags.LogonErrors |
        ClientInfoFlags.MouseHasWheel | ClientInfoFlags.NoAudioPlayback;

    private const int TimeZoneSize = 172;

    public static byte[] Encode(string domain, string user, string? password, string clientAddress = "127.0.0.1")
    {
        byte[] d = Encoding.Unicode.GetBytes(domain);
        byte[] u = Encoding.Unicode.GetBytes(user);
        byte[] p = Encoding.Unicode.GetBytes(password ?? "");
        byte[] address = Encoding.Unicode.GetBytes(clientAddress + "\0");
        byte[] dir = Encoding.Unicode.GetBytes("C:\\Windows\\System32\\mstscax.dll\0");
        var flags = DefaultFlags | (string.IsNullOrEmpty(password) ? 0 : ClientInfoFlags.Autologon);

        int fixedPart = 18;
        int strings = d.Length + 2 + u.Length + 2 + p.Length + 2 + 2 + 2;
        int extended = 2 + 2 + address.Length + 2 + dir.Length + TimeZoneSize + 4 + 4 + 2;
        var buffer = new byte[fixedPart + strings + extended];
        var s = buffer.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(s, 0);                // CodePage (ignored with INFO_UNICODE)
        BinaryPrimitives.WriteUInt32LittleEndian(s[4..], (uint)flags);
        BinaryPrimitives.WriteUInt16LittleEndian(s[8..], (ushort)d.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(s[10..], (ushort)u.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(s[12..], (ushort)p.Length);
        // cbAlternateShell and cbWorkingDir stay 0.
        int o = fixedPart;
        foreach (var field in new[] { d, u, p, [], [] })
        {
            field.CopyTo(s[o..]);
            o += field.Length + 2;
        }

        // TS_EXTENDED_INFO_PACKET: AF_INET, client address, client dir, time zone (UTC, all zero), session id,
        // performance flags, no auto-reconnect cookie.
        BinaryPrimitives.WriteUInt16LittleEndian(s[o..], 0x0002);
        BinaryPrimitives.WriteUInt16LittleEndian(s[(o + 2)..], (ushort)address.Length);
        address.CopyTo(s[(o + 4)..]);
        o += 4 + address.Length;
        BinaryPrimitives.WriteUInt16LittleEndian(s[o..], (ushort)dir.Length);
        dir.CopyTo(s[(o + 2)..]);
        o += 2 + dir.Length + TimeZoneSize + 4;
        BinaryPrimitives.WriteUInt32LittleEndian(s[o..], 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | 0x00000020); // no wallpaper, full-window drag, menu animations, themes, cursor shadow
        Array.Clear(p);
        return buffer;
    }

    /// <summary>Reads back domain, user and whether a password is inside (tests; the password itself is never returned).</summary>
    public static (ClientInfoFlags Flags, string Domain, string User, int PasswordBytes) Describe(ReadOnlySpan<byte> data)
    {
        var flags = (ClientInfoFlags)BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
        int cbDomain = BinaryPrimitives.ReadUInt16LittleEndian(data[8..]);
        int cbUser = BinaryPrimitives.ReadUInt16LittleEndian(data[10..]);
        int cbPassword = BinaryPrimitives.ReadUInt16LittleEndian(data[12..]);
        string domain = Encoding.Unicode.GetString(data.Slice(18, cbDomain));
        string user = Encoding.Unicode.GetString(data.Slice(18 + cbDomain + 2, cbUser));
        return (flags, domain, user, cbPassword);
    }
}
