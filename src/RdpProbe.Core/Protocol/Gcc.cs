using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace RdpProbe.Protocol;

/// <summary>encryptionMethods / encryptionMethod bits (MS-RDPBCGR 2.2.1.3.3, 2.2.1.4.3).</summary>
[Flags]
public enum EncryptionMethods : uint
{
    None = 0x00000000,
    Bit40 = 0x00000001,
    Bit128 = 0x00000002,
    Bit56 = 0x00000008,
    Fips = 0x00000010,
    All = Bit40 | Bit128 | Bit56 | Fips,
}

/// <summary>encryptionLevel (MS-RDPBCGR 2.2.1.4.3).</summary>
public enum EncryptionLevel : uint
{
    None = 0,
    Low = 1,
    ClientCompatible = 2,
    High = 3,
    Fips = 4,
}

/// <summary>User data block types (MS-RDPBCGR 2.2.1.3.1 TS_UD_HEADER).</summary>
internal enum GccBlockType : ushort
{
    ClientCore = 0xC001,
    ClientSecurity = 0xC002,
    ClientNetwork = 0xC003,
    ClientCluster = 0xC004,
    ServerCore = 0x0C01,
    ServerSecurity = 0x0C02,
    ServerNetwork = 0x0C03,
    ServerMessageChannel = 0x0C04,
    ServerMultitransport = 0x0C08,
}

/// <summary>A static virtual channel the client asks for (MS-RDPBCGR 2.2.1.3.4.1 CHANNEL_DEF).</summary>
internal sealed record ClientChannel(string Name, uint Options)
{
    /// <summary>The channels a Windows client typically asks for, with its option bits (INITIALIZED, ENCRYPT_RDP, COMPRESS_RDP, SHOW_PROTOCOL).</summary>
    public static IReadOnlyList<ClientChannel> Defaults { get; } =
    [
        new("rdpdr", 0x80800000),
        new("rdpsnd", 0xC0000000),
        new("cliprdr", 0xC0A00000),
        new("drdynvc", 0xC0800000),
    ];
}

/// <summary>What the client puts in its GCC user data (MS-RDPBCGR 2.2.1.3.2–2.2.1.3.5).</summary>
internal sealed record ClientGccSettings(
    SecurityProtocols SelectedProtocol,
    EncryptionMethods EncryptionMethods,
    IReadOnlyList<ClientChannel> Channels,
    ushort DesktopWidth = 1024,
    ushort DesktopHeight = 768,
    string ClientName = "RDPPROBE",
    ushort EarlyCapabilityFlags = Gcc.SupportErrInfoPdu,
    uint Version = Gcc.RdpVersion5Plus);

internal sealed record ServerCoreData(uint Version, uint? ClientRequestedProtocols, uint? EarlyCapabilityFlags)
{
    public string VersionName => Gcc.VersionName(Version);
}

/// <summary>SC_SECURITY (MS-RDPBCGR 2.2.1.4.3): method and level, and for standard security the server random and certificate.</summary>
internal sealed record ServerSecurityData(EncryptionMethods Method, EncryptionLevel Level, byte[]? ServerRandom, byte[]? ServerCertificate);

internal sealed record ServerNetworkData(ushort IoChannelId, IReadOnlyList<ushort> ChannelIds);

/// <summary>Everything the server put in its GCC Conference Create Response user data.</summary>
internal sealed record ServerGccData(
    ServerCoreData? Core,
    ServerSecurityData? Security,
    ServerNetworkData? Network,
    ushort? MessageChannelId,
    uint? MultitransportFlags,
    IReadOnlyList<ushort> OtherBlockTypes);

/// <summary>
/// T.124 GCC Conference Create Request / Response as RDP uses them (MS-RDPBCGR 2.2.1.3.1, 2.2.1.4.1): a fixed PER
/// wrapper around the little-endian user data blocks.
/// </summary>
internal static class Gcc
{
    /// <summary>RNS_UD_CS_SUPPORT_ERRINFO_PDU (MS-RDPBCGR 2.2.1.3.2): without it a server never sends Set Error Info.</summary>
    public const ushort SupportErrInfoPdu = 0x0001;

    /// <summary>RDP 5.0 and later (MS-RDPBCGR 2.2.1.3.2 version).</summary>
    public const uint RdpVersion5Plus = 0x00080004;

    /// <summary>Largest user data we accept from a server; real responses are a few hundred bytes to a few KiB.</summary>
    public const int MaxUserData = 16 * 1024;

    /// <summary>T.124 key: object identifier 0.0.20.124.0.1 as PER (choice 0, length 5, value).</summary>
    private static ReadOnlySpan<byte> T124Key => [0x00, 0x05, 0x00, 0x14, 0x7C, 0x00, 0x01];

    private static ReadOnlySpan<byte> ClientH221Key => "Duca"u8;
    private static ReadOnlySpan<byte> ServerH221Key => "McDn"u8;

    public static string VersionName(uint version) => version switch
    {
        0x00080001 => "RDP 4.0",
        0x00080004 => "RDP 5.0-8.1",
        0x00080005 => "RDP 10.0",
        >= 0x00080006 and <= 0x000800FF => $"RDP 10.{version - 0x00080005}",
        _ => $"0x{version:X8}",
    };

    public static string MethodName(EncryptionMethods method) => method switch
    {
        EncryptionMethods.None => "none",
        EncryptionMethods.Bit40 => "40-bit",
        EncryptionMethods.Bit56 => "56-bit",
        EncryptionMethods.Bit128 => "128-bit",
        EncryptionMethods.Fips => "fips",
        _ => string.Join("|", Enum.GetValues<EncryptionMethods>().Where(m => m is not (EncryptionMethods.None or EncryptionMethods.All) && method.HasFlag(m)).Select(MethodName)),
    };

    public static string LevelName(EncryptionLevel level) => level switch
    {
        EncryptionLevel.None => "none",
        EncryptionLevel.Low => "low",
        EncryptionLevel.ClientCompatible => "client-compatible",
        EncryptionLevel.High => "high",
        EncryptionLevel.Fips => "fips",
        _ => $"level-{(uint)level}",
    };

    /// <summary>The client's user data blocks: CS_CORE, CS_SECURITY, CS_NET, CS_CLUSTER.</summary>
    public static byte[] EncodeClientData(ClientGccSettings settings)
    {
        if (settings.Channels.Count > 31)
        {
            throw new ArgumentException("at most 31 static channels (MS-RDPBCGR 2.2.1.3.4 CHANNEL_MAX_COUNT)", nameof(settings));
        }

        const int coreLength = 216;
        int netLength = 8 + 12 * settings.Channels.Count;
        var data = new byte[coreLength + 12 + netLength + 12];
        var s = data.AsSpan();

        // CS_CORE (2.2.1.3.2).
        Header(s, GccBlockType.ClientCore, coreLength);
        BinaryPrimitives.WriteUInt32LittleEndian(s[4..], settings.Version);
        BinaryPrimitives.WriteUInt16LittleEndian(s[8..], settings.DesktopWidth);
        BinaryPrimitives.WriteUInt16LittleEndian(s[10..], settings.DesktopHeight);
        BinaryPrimitives.WriteUInt16LittleEndian(s[12..], 0xCA01); // colorDepth RNS_UD_COLOR_8BPP (superseded below)
        BinaryPrimitives.WriteUInt16LittleEndian(s[14..], 0xAA03); // SASSequence RNS_UD_SAS_DEL
        BinaryPrimitives.WriteUInt32LittleEndian(s[16..], 0x0409); // keyboardLayout en-US
        BinaryPrimitives.WriteUInt32LittleEndian(s[20..], 2600);   // clientBuild
        string name = settings.ClientName.Length > 15 ? settings.ClientName[..15] : settings.ClientName;
        Encoding.Unicode.GetBytes(name, s[24..56]);
        BinaryPrimitives.WriteUInt32LittleEndian(s[56..], 4);      // keyboardType IBM enhanced
        BinaryPrimitives.WriteUInt32LittleEndian(s[64..], 12);     // keyboardFunctionKey
        BinaryPrimitives.WriteUInt16LittleEndian(s[132..], 0xCA01); // postBeta2ColorDepth
        BinaryPrimitives.WriteUInt16LittleEndian(s[134..], 1);     // clientProductId
        BinaryPrimitives.WriteUInt16LittleEndian(s[140..], 24);    // highColorDepth
        BinaryPrimitives.WriteUInt16LittleEndian(s[142..], 0x000F); // supportedColorDepths 24/16/15/32
        BinaryPrimitives.WriteUInt16LittleEndian(s[144..], settings.EarlyCapabilityFlags);
        // clientDigProductId (64), connectionType, pad1octet stay zero.
        BinaryPrimitives.WriteUInt32LittleEndian(s[212..], (uint)settings.SelectedProtocol);

        // CS_SECURITY (2.2.1.3.3): extEncryptionMethods is the French-locale field, zero.
        var sec = s[coreLength..];
        Header(sec, GccBlockType.ClientSecurity, 12);
        BinaryPrimitives.WriteUInt32LittleEndian(sec[4..], (uint)settings.EncryptionMethods);

        // CS_NET (2.2.1.3.4): names are at most 7 ASCII characters plus NUL.
        var net = sec[12..];
        Header(net, GccBlockType.ClientNetwork, netLength);
        BinaryPrimitives.WriteUInt32LittleEndian(net[4..], (uint)settings.Channels.Count);
        for (int i = 0; i < settings.Channels.Count; i++)
        {
            var def = net[(8 + 12 * i)..];
            var channel = settings.Channels[i];
            string channelName = channel.Name.Length > 7 ? channel.Name[..7] : channel.Name;
            Encoding.ASCII.GetBytes(channelName, def);
            BinaryPrimitives.WriteUInt32LittleEndian(def[8..], channel.Options);
        }

        // CS_CLUSTER (2.2.1.3.5): REDIRECTION_SUPPORTED with redirection version 4, as Windows clients send.
        var cluster = net[netLength..];
        Header(cluster, GccBlockType.ClientCluster, 12);
        BinaryPrimitives.WriteUInt32LittleEndian(cluster[4..], 0x0000000D);
        return data;
    }

    private static void Header(Span<byte> s, GccBlockType type, int length)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(s, (ushort)type);
        BinaryPrimitives.WriteUInt16LittleEndian(s[2..], (ushort)length);
    }

    /// <summary>
    /// Conference Create Request (T.124, MS-RDPBCGR 2.2.1.3.1): T.124 key, connectPDU length, ConnectGCCPDU choice
    /// conferenceCreateRequest, optional userData selected, conferenceName "1", one user data set with the H.221
    /// client key "Duca" and the blocks.
    /// </summary>
    public static byte[] EncodeConferenceCreateRequest(ReadOnlySpan<byte> clientData)
    {
        ReadOnlySpan<byte> fixedPart = [0x00, 0x08, 0x00, 0x10, 0x00, 0x01, 0xC0, 0x00, (byte)'D', (byte)'u', (byte)'c', (byte)'a'];
        return EncodeConnectPdu(fixedPart, clientData);
    }

    /// <summary>
    /// Conference Create Response (T.124, MS-RDPBCGR 2.2.1.4.1): T.124 key, connectPDU length, choice
    /// conferenceCreateResponse, nodeID, tag, result, one user data set keyed "McDn", then the server blocks.
    /// Returns the user data blocks.
    /// </summary>
    public static OperationStatus TryReadConferenceCreateResponse(ReadOnlySpan<byte> source, out byte[]? serverData, out int gccResult, out DecodeError error)
    {
        serverData = null;
        gccResult = -1;
        error = DecodeError.None;
        var r = new PerReader(source);
        if (!r.TryExpect(T124Key) || !r.TryReadLength(out _) || !r.TryReadByte(out byte choice))
        {
            error = r.Error;
            return OperationStatus.InvalidData;
        }

        // ConnectGCCPDU choice 1 (conferenceCreateResponse) with its extension bit clear: 0x14.
        if (choice != 0x14)
        {
            error = DecodeError.UnexpectedType;
            return OperationStatus.InvalidData;
        }

        // nodeID (UserID, 2 bytes), tag (INTEGER: length + value), result (ENUMERATED, 1 byte), number of sets, choice.
        if (!r.TryReadUInt16(out _) || !r.TryReadLength(out int tagLength) || !r.TryReadBytes(tagLength, out _) ||
            !r.TryReadByte(out byte result) || !r.TryReadByte(out _) || !r.TryReadByte(out _))
        {
            error = r.Error;
            return OperationStatus.InvalidData;
        }

        gccResult = result;

        // H.221 non-standard key: octet string with a lower bound of 4, so its length byte is 0.
        if (!r.TryReadLength(out int keyLength) || !r.TryReadBytes(keyLength + 4, out var key) || !key.SequenceEqual(ServerH221Key))
        {
            error = r.Error == DecodeError.None ? DecodeError.BadValue : r.Error;
            return OperationStatus.InvalidData;
        }

        if (!r.TryReadLength(out int dataLength) || dataLength > MaxUserData || !r.TryReadBytes(dataLength, out var data))
        {
            error = r.Error == DecodeError.None ? DecodeError.LengthTooLarge : r.Error;
            return OperationStatus.InvalidData;
        }

        serverData = data.ToArray();
        return OperationStatus.Done;
    }

    /// <summary>Writes a Conference Create Response around server blocks (tests and the fake server).</summary>
    public static byte[] EncodeConferenceCreateResponse(ReadOnlySpan<byte> serverData)
    {
        // choice 0x14, nodeID (any), tag length 1 value 1, result 0, one set, choice 0xC0, key "McDn".
        ReadOnlySpan<byte> fixedPart = [0x14, 0x76, 0x0A, 0x01, 0x01, 0x00, 0x01, 0xC0, 0x00, (byte)'M', (byte)'c', (byte)'D', (byte)'n'];
        return EncodeConnectPdu(fixedPart, serverData);
    }

    /// <summary>
    /// The framing both Conference Create PDUs share (T.124 ConnectData): the T.124 object key, the PER length of the
    /// connectPDU, its fixed part up to the user data set's key, then the PER-length-prefixed RDP blocks.
    /// </summary>
    private static byte[] EncodeConnectPdu(ReadOnlySpan<byte> fixedPart, ReadOnlySpan<byte> blocks)
    {
        int inner = fixedPart.Length + Per.LengthSize(blocks.Length) + blocks.Length;
        var buffer = new byte[T124Key.Length + Per.LengthSize(inner) + inner];
        int offset = 0;
        T124Key.CopyTo(buffer);
        offset += T124Key.Length;
        offset += Per.WriteLength(buffer.AsSpan(offset), inner);
        fixedPart.CopyTo(buffer.AsSpan(offset));
        offset += fixedPart.Length;
        offset += Per.WriteLength(buffer.AsSpan(offset), blocks.Length);
        blocks.CopyTo(buffer.AsSpan(offset));
        return buffer;
    }

    /// <summary>Reads the server's user data blocks (MS-RDPBCGR 2.2.1.4.2–2.2.1.4.6); unknown blocks are listed, not rejected.</summary>
    public static OperationStatus TryReadServerData(ReadOnlySpan<byte> data, out ServerGccData? value, out DecodeError error)
    {
        value = null;
        error = DecodeError.None;
        ServerCoreData? core = null;
        ServerSecurityData? security = null;
        ServerNetworkData? network = null;
        ushort? messageChannel = null;
        uint? multitransport = null;
        var others = new List<ushort>();
        int offset = 0;
        while (offset < data.Length)
        {
            if (data.Length - offset < 4)
            {
                error = DecodeError.Truncated;
                return OperationStatus.InvalidData;
            }

            ushort type = BinaryPrimitives.ReadUInt16LittleEndian(data[offset..]);
            ushort length = BinaryPrimitives.ReadUInt16LittleEndian(data[(offset + 2)..]);
            if (length < 4 || length > data.Length - offset)
            {
                error = length < 4 ? DecodeError.LengthTooSmall : DecodeError.LengthMismatch;
                return OperationStatus.InvalidData;
            }

            var body = data.Slice(offset + 4, length - 4);
            offset += length;
            switch ((GccBlockType)type)
            {
                case GccBlockType.ServerCore:
                    if (body.Length < 4)
                    {
                        error = DecodeError.LengthTooSmall;
                        return OperationStatus.InvalidData;
                    }

                    core = new ServerCoreData(
                        BinaryPrimitives.ReadUInt32LittleEndian(body),
                        body.Length >= 8 ? BinaryPrimitives.ReadUInt32LittleEndian(body[4..]) : null,
                        body.Length >= 12 ? BinaryPrimitives.ReadUInt32LittleEndian(body[8..]) : null);
                    break;
                case GccBlockType.ServerSecurity:
                    if (!TryReadSecurity(body, out security, out error))
                    {
                        return OperationStatus.InvalidData;
                    }

                    break;
                case GccBlockType.ServerNetwork:
                    if (body.Length < 4)
                    {
                        error = DecodeError.LengthTooSmall;
                        return OperationStatus.InvalidData;
                    }

                    int count = BinaryPrimitives.ReadUInt16LittleEndian(body[2..]);
                    if (body.Length < 4 + 2 * count)
                    {
                        error = DecodeError.LengthMismatch;
                        return OperationStatus.InvalidData;
                    }

                    var ids = new ushort[count];
                    for (int i = 0; i < count; i++)
                    {
                        ids[i] = BinaryPrimitives.ReadUInt16LittleEndian(body[(4 + 2 * i)..]);
                    }

                    network = new ServerNetworkData(BinaryPrimitives.ReadUInt16LittleEndian(body), ids);
                    break;
                case GccBlockType.ServerMessageChannel when body.Length >= 2:
                    messageChannel = BinaryPrimitives.ReadUInt16LittleEndian(body);
                    break;
                case GccBlockType.ServerMultitransport when body.Length >= 4:
                    multitransport = BinaryPrimitives.ReadUInt32LittleEndian(body);
                    break;
                default:
                    others.Add(type);
                    break;
            }
        }

        value = new ServerGccData(core, security, network, messageChannel, multitransport, others);
        return OperationStatus.Done;
    }

    private static bool TryReadSecurity(ReadOnlySpan<byte> body, out ServerSecurityData? value, out DecodeError error)
    {
        value = null;
        error = DecodeError.None;
        if (body.Length < 8)
        {
            error = DecodeError.LengthTooSmall;
            return false;
        }

        var method = (EncryptionMethods)BinaryPrimitives.ReadUInt32LittleEndian(body);
        var level = (EncryptionLevel)BinaryPrimitives.ReadUInt32LittleEndian(body[4..]);

        // With method and level both zero nothing follows (MS-RDPBCGR 2.2.1.4.3), the usual case under TLS.
        if (body.Length == 8)
        {
            value = new ServerSecurityData(method, level, null, null);
            return true;
        }

        if (body.Length < 16)
        {
            error = DecodeError.Truncated;
            return false;
        }

        uint randomLength = BinaryPrimitives.ReadUInt32LittleEndian(body[8..]);
        uint certLength = BinaryPrimitives.ReadUInt32LittleEndian(body[12..]);
        if (randomLength != 32)
        {
            error = DecodeError.BadValue;
            return false;
        }

        // serverRandomLen, serverCertLen, then the 32-byte random (MS-RDPBCGR 2.2.1.4.3): 48 bytes before the
        // certificate. Checked before the subtraction below, which would otherwise wrap around as unsigned.
        if (body.Length < 16 + 32 || certLength > (uint)(body.Length - 16 - 32))
        {
            error = body.Length < 16 + 32 ? DecodeError.Truncated : DecodeError.LengthMismatch;
            return false;
        }

        value = new ServerSecurityData(method, level, body.Slice(16, 32).ToArray(), body.Slice(48, (int)certLength).ToArray());
        return true;
    }

    /// <summary>Server blocks for tests and the fake server: SC_CORE, SC_SECURITY (method/level only), SC_NET.</summary>
    public static byte[] EncodeServerData(uint version, SecurityProtocols requested, EncryptionMethods method, EncryptionLevel level, ushort ioChannel, IReadOnlyList<ushort> channels, byte[]? serverRandom = null, byte[]? certificate = null)
    {
        int secLength = 12 + (serverRandom is null ? 0 : 8 + serverRandom.Length + certificate!.Length);
        int netLength = 8 + 2 * channels.Count + (channels.Count % 2 == 1 ? 2 : 0);
        var data = new byte[16 + secLength + netLength];
        var s = data.AsSpan();
        Header(s, GccBlockType.ServerCore, 16);
        BinaryPrimitives.WriteUInt32LittleEndian(s[4..], version);
        BinaryPrimitives.WriteUInt32LittleEndian(s[8..], (uint)requested);
        var sec = s[16..];
        Header(sec, GccBlockType.ServerSecurity, secLength);
        BinaryPrimitives.WriteUInt32LittleEndian(sec[4..], (uint)method);
        BinaryPrimitives.WriteUInt32LittleEndian(sec[8..], (uint)level);
        if (serverRandom is not null)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(sec[12..], (uint)serverRandom.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(sec[16..], (uint)certificate!.Length);
            serverRandom.CopyTo(sec[20..]);
            certificate.CopyTo(sec[(20 + serverRandom.Length)..]);
        }

        var net = sec[secLength..];
        Header(net, GccBlockType.ServerNetwork, netLength);
        BinaryPrimitives.WriteUInt16LittleEndian(net[4..], ioChannel);
        BinaryPrimitives.WriteUInt16LittleEndian(net[6..], (ushort)channels.Count);
        for (int i = 0; i < channels.Count; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(net[(8 + 2 * i)..], channels[i]);
        }

        return data;
    }
}
