using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace RdpProbe.Protocol;

/// <summary>Licensing bMsgType (MS-RDPBCGR 2.2.1.12.1.1 LICENSE_PREAMBLE).</summary>
internal enum LicenseMessageType : byte
{
    LicenseRequest = 0x01,
    PlatformChallenge = 0x02,
    NewLicense = 0x03,
    UpgradeLicense = 0x04,
    LicenseInfo = 0x12,
    NewLicenseRequest = 0x13,
    PlatformChallengeResponse = 0x15,
    ErrorAlert = 0xFF,
}

/// <summary>LICENSE_PREAMBLE: type, flags (low nibble = version), wMsgSize covering the whole message.</summary>
internal readonly record struct LicensePreamble(LicenseMessageType Type, byte Flags, ushort Size)
{
    public const int HeaderSize = 4;

    public int Version => Flags & 0x0F;
}

/// <summary>LICENSE_ERROR_MESSAGE (MS-RDPBCGR 2.2.1.12.1.3): error code and state transition.</summary>
internal sealed record LicenseErrorAlert(uint ErrorCode, uint StateTransition)
{
    public const uint StatusValidClient = 0x07;

    public bool IsValidClient => ErrorCode == StatusValidClient;

    public string Name => Licensing.ErrorName(ErrorCode);

    public string Meaning => Licensing.ErrorMeaning(ErrorCode);

    public string StateTransitionName => StateTransition switch
    {
        1 => "st_total_abort",
        2 => "st_no_transition",
        3 => "st_reset_phase_to_start",
        4 => "st_resend_last_message",
        _ => $"st_{StateTransition}",
    };
}

/// <summary>SERVER_LICENSE_REQUEST (MS-RDPELE 2.2.2.1): what the server wants before it issues a license.</summary>
internal sealed record LicenseRequestInfo(uint ProductVersion, string CompanyName, string ProductId, IReadOnlyList<string> Scopes, byte[] ServerCertificate)
{
    public override string ToString()
        => $"LicenseRequestInfo {{ Company = {CompanyName}, Product = {ProductId}, Version = 0x{ProductVersion:X}, Scopes = {string.Join(",", Scopes)}, Certificate = {ServerCertificate.Length} B }}";
}

/// <summary>One licensing message as received: preamble and body (after the preamble).</summary>
internal sealed record LicensingMessage(LicensePreamble Preamble, byte[] Body);

/// <summary>Licensing PDUs (MS-RDPBCGR 2.2.1.12, MS-RDPELE 2.2.2): the preamble, error alerts by name, the license request.</summary>
internal static class Licensing
{
    private static readonly Dictionary<uint, (string Name, string Meaning)> Errors = new()
    {
        [0x01] = ("ERR_INVALID_SERVER_CERTIFICATE", "the client rejected the server's licensing certificate"),
        [0x02] = ("ERR_NO_LICENSE", "the client has no license"),
        [0x03] = ("ERR_INVALID_MAC", "a licensing message failed its MAC check"),
        [0x04] = ("ERR_INVALID_SCOPE", "the license scope is not valid"),
        [0x06] = ("ERR_NO_LICENSE_SERVER", "the server could not reach a Remote Desktop license server"),
        [0x07] = ("STATUS_VALID_CLIENT", "licensing done: the client is valid, the connection carries on"),
        [0x08] = ("ERR_INVALID_CLIENT", "the server considers this client invalid"),
        [0x0B] = ("ERR_INVALID_PRODUCTID", "the product id is not valid"),
        [0x0C] = ("ERR_INVALID_MESSAGE_LEN", "a licensing message had an invalid length"),
    };

    public static string ErrorName(uint code) => Errors.TryGetValue(code, out var e) ? e.Name.ToLowerInvariant() : $"license_error_0x{code:x}";

    public static string ErrorMeaning(uint code) => Errors.TryGetValue(code, out var e) ? e.Meaning : "a licensing error code this probe does not know";

    public static IEnumerable<uint> KnownErrorCodes => Errors.Keys;

    public static bool IsKnownType(byte type) => Enum.IsDefined((LicenseMessageType)type);

    /// <summary>Reads a whole licensing message: the preamble's wMsgSize must match the bytes given.</summary>
    public static OperationStatus TryRead(ReadOnlySpan<byte> source, out LicensingMessage? value, out DecodeError error)
    {
        value = null;
        error = DecodeError.None;
        if (source.Length < LicensePreamble.HeaderSize)
        {
            error = DecodeError.Truncated;
            return OperationStatus.InvalidData;
        }

        var preamble = new LicensePreamble((LicenseMessageType)source[0], source[1], BinaryPrimitives.ReadUInt16LittleEndian(source[2..]));
        if (!IsKnownType(source[0]))
        {
            error = DecodeError.UnexpectedType;
            return OperationStatus.InvalidData;
        }

        if (preamble.Size < LicensePreamble.HeaderSize || preamble.Size > source.Length)
        {
            error = DecodeError.LengthMismatch;
            return OperationStatus.InvalidData;
        }

        value = new LicensingMessage(preamble, source[LicensePreamble.HeaderSize..preamble.Size].ToArray());
        return OperationStatus.Done;
    }

    public static bool TryReadErrorAlert(ReadOnlySpan<byte> body, out LicenseErrorAlert? alert)
    {
        alert = null;
        if (body.Length < 8)
        {
            return false;
        }

        alert = new LicenseErrorAlert(BinaryPrimitives.ReadUInt32LittleEndian(body), BinaryPrimitives.ReadUInt32LittleEndian(body[4..]));
        return true;
    }

    /// <summary>
    /// SERVER_LICENSE_REQUEST body: ServerRandom(32), ProductInfo {dwVersion, cbCompanyName, pbCompanyName (UTF-16),
    /// cbProductId, pbProductId}, KeyExchangeList blob, ServerCertificate blob, ScopeList {ScopeCount, SCOPE blobs}.
    /// </summary>
    public static bool TryReadLicenseRequest(ReadOnlySpan<byte> body, out LicenseRequestInfo? value)
    {
        value = null;
        int o = 32;
        if (!TryU32(body, ref o, out uint version) || !TryString(body, ref o, out string company) || !TryString(body, ref o, out string product) ||
            !TryBlob(body, ref o, out _) || !TryBlob(body, ref o, out var certificate) || !TryU32(body, ref o, out uint scopeCount) || scopeCount > 64)
        {
            return false;
        }

        var scopes = new List<string>();
        for (int i = 0; i < scopeCount; i++)
        {
            if (!TryBlob(body, ref o, out var scope))
            {
                return false;
            }

            scopes.Add(Encoding.ASCII.GetString(scope).TrimEnd('\0'));
        }

        value = new LicenseRequestInfo(version, company, product, scopes, certificate);
        return true;
    }

    private static bool TryU32(ReadOnlySpan<byte> s, ref int o, out uint value)
    {
        value = 0;
        if (s.Length - o < 4)
        {
            return false;
        }

        value = BinaryPrimitives.ReadUInt32LittleEndian(s[o..]);
        o += 4;
        return true;
    }

    private static bool TryString(ReadOnlySpan<byte> s, ref int o, out string value)
    {
        value = "";
        if (!TryU32(s, ref o, out uint length) || length > (uint)(s.Length - o))
        {
            return false;
        }

        value = Encoding.Unicode.GetString(s.Slice(o, (int)length)).TrimEnd('\0');
        o += (int)length;
        return true;
    }

    /// <summary>LICENSE_BINARY_BLOB: wBlobType u16, wBlobLen u16, data.</summary>
    private static bool TryBlob(ReadOnlySpan<byte> s, ref int o, out byte[] data)
    {
        data = [];
        if (s.Length - o < 4)
        {
            return false;
        }

        int length = BinaryPrimitives.ReadUInt16LittleEndian(s[(o + 2)..]);
        if (length > s.Length - o - 4)
        {
            return false;
        }

        data = s.Slice(o + 4, length).ToArray();
        o += 4 + length;
        return true;
    }

    /// <summary>PlatformId: CLIENT_OS_ID_WINNT_POST_52 | CLIENT_IMAGE_ID_MICROSOFT (MS-RDPELE 2.2.2.2).</summary>
    public const uint ClientPlatformId = 0x04010000;

    /// <summary>
    /// Client New License Request (MS-RDPELE 2.2.2.2): RSA key exchange, platform id, client random, the 48-byte
    /// premaster secret encrypted with the server's licensing key (BB_RANDOM_BLOB), user and machine name (ANSI, NUL
    /// terminated). Preamble version 3 with EXTENDED_ERROR_MSG_SUPPORTED.
    /// </summary>
    public static byte[] EncodeNewLicenseRequest(ReadOnlySpan<byte> clientRandom, ReadOnlySpan<byte> encryptedPremaster, string userName, string machineName)
    {
        byte[] user = Encoding.ASCII.GetBytes(userName + "\0");
        byte[] machine = Encoding.ASCII.GetBytes(machineName + "\0");
        byte[] premaster = [.. encryptedPremaster, 0, 0, 0, 0, 0, 0, 0, 0];
        int size = LicensePreamble.HeaderSize + 4 + 4 + 32 + 4 + premaster.Length + 4 + user.Length + 4 + machine.Length;
        var message = new byte[size];
        var s = message.AsSpan();
        s[0] = (byte)LicenseMessageType.NewLicenseRequest;
        s[1] = 0x83;
        BinaryPrimitives.WriteUInt16LittleEndian(s[2..], (ushort)size);
        BinaryPrimitives.WriteUInt32LittleEndian(s[4..], 0x00000001); // KEY_EXCHANGE_ALG_RSA
        BinaryPrimitives.WriteUInt32LittleEndian(s[8..], ClientPlatformId);
        clientRandom[..32].CopyTo(s[12..]);
        int o = 44;
        o = WriteBlob(s, o, 0x0002, premaster); // BB_RANDOM_BLOB
        o = WriteBlob(s, o, 0x000F, user);      // BB_CLIENT_USER_NAME_BLOB
        WriteBlob(s, o, 0x0010, machine);        // BB_CLIENT_MACHINE_NAME_BLOB
        return message;
    }

    private static int WriteBlob(Span<byte> s, int o, ushort type, ReadOnlySpan<byte> data)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(s[o..], type);
        BinaryPrimitives.WriteUInt16LittleEndian(s[(o + 2)..], (ushort)data.Length);
        data.CopyTo(s[(o + 4)..]);
        return o + 4 + data.Length;
    }

    /// <summary>Error alert message with an empty BB_ERROR_BLOB, as servers send STATUS_VALID_CLIENT (16 bytes).</summary>
    public static byte[] EncodeErrorAlert(uint errorCode, uint stateTransition)
    {
        var message = new byte[16];
        message[0] = (byte)LicenseMessageType.ErrorAlert;
        message[1] = 0x03;
        BinaryPrimitives.WriteUInt16LittleEndian(message.AsSpan(2), 16);
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(4), errorCode);
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(8), stateTransition);
        BinaryPrimitives.WriteUInt16LittleEndian(message.AsSpan(12), 0x0004); // BB_ERROR_BLOB
        return message;
    }
}
