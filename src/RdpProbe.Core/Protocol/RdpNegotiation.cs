using System.Buffers;
using System.Buffers.Binary;

namespace RdpProbe.Protocol;

/// <summary>requestedProtocols / selectedProtocol bits (MS-RDPBCGR 2.2.1.1.1).</summary>
[Flags]
public enum SecurityProtocols : uint
{
    Rdp = 0x00,
    Ssl = 0x01,
    Hybrid = 0x02,
    RdsTls = 0x04,
    HybridEx = 0x08,
    RdsAad = 0x10,
}

/// <summary>RDP_NEG_REQ flags (MS-RDPBCGR 2.2.1.1.1).</summary>
[Flags]
public enum NegotiationRequestFlags : byte
{
    None = 0,
    RestrictedAdminModeRequired = 0x01,
    RedirectedAuthenticationModeRequired = 0x02,
    CorrelationInfoPresent = 0x08,
}

/// <summary>RDP_NEG_RSP flags (MS-RDPBCGR 2.2.1.2.1).</summary>
[Flags]
public enum NegotiationResponseFlags : byte
{
    None = 0,
    ExtendedClientDataSupported = 0x01,
    DynvcGfxProtocolSupported = 0x02,
    NegRspFlagReserved = 0x04,
    RestrictedAdminModeSupported = 0x08,
    RedirectedAuthenticationModeSupported = 0x10,
}

/// <summary>RDP_NEG_FAILURE failureCode (MS-RDPBCGR 2.2.1.2.2).</summary>
public enum NegotiationFailureCode : uint
{
    SslRequiredByServer = 1,
    SslNotAllowedByServer = 2,
    SslCertNotOnServer = 3,
    InconsistentFlags = 4,
    HybridRequiredByServer = 5,
    SslWithUserAuthRequiredByServer = 6,
}

public enum NegotiationType : byte
{
    Request = 0x01,
    Response = 0x02,
    Failure = 0x03,
    CorrelationInfo = 0x06,
}

/// <summary>One 8-byte RDP_NEG_REQ / RDP_NEG_RSP / RDP_NEG_FAILURE structure; <see cref="Value"/> is the protocol mask or the failure code.</summary>
public readonly record struct NegotiationMessage(NegotiationType Type, byte Flags, uint Value)
{
    public const int Size = 8;

    public SecurityProtocols Protocols => (SecurityProtocols)Value;
    public NegotiationFailureCode FailureCode => (NegotiationFailureCode)Value;

    public static OperationStatus TryRead(ReadOnlySpan<byte> source, out NegotiationMessage value, out int bytesConsumed)
        => TryRead(source, out value, out bytesConsumed, out _);

    public static OperationStatus TryRead(ReadOnlySpan<byte> source, out NegotiationMessage value, out int bytesConsumed, out DecodeError error)
    {
        value = default;
        bytesConsumed = 0;
        error = DecodeError.None;
        if (source.Length >= 1 && source[0] is not ((byte)NegotiationType.Request or (byte)NegotiationType.Response or (byte)NegotiationType.Failure))
        {
            error = DecodeError.UnexpectedType;
            return OperationStatus.InvalidData;
        }

        if (source.Length < Size)
        {
            return OperationStatus.NeedMoreData;
        }

        // The length field is fixed at 8 for all three structures (MS-RDPBCGR 2.2.1.1.1, 2.2.1.2.1, 2.2.1.2.2).
        if (BinaryPrimitives.ReadUInt16LittleEndian(source[2..]) != Size)
        {
            error = DecodeError.LengthMismatch;
            return OperationStatus.InvalidData;
        }

        value = new NegotiationMessage((NegotiationType)source[0], source[1], BinaryPrimitives.ReadUInt32LittleEndian(source[4..]));
        bytesConsumed = Size;
        return OperationStatus.Done;
    }

    public void Write(Span<byte> destination)
    {
        destination[0] = (byte)Type;
        destination[1] = Flags;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], Size);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], Value);
    }
}

public static class SecurityProtocolNames
{
    /// <summary>The report word for a single protocol value (docs/REPORTS.md): rdp | ssl | hybrid | rdstls | hybrid_ex | rdsaad.</summary>
    public static string ToReportName(this SecurityProtocols protocol) => protocol switch
    {
        SecurityProtocols.Rdp => "rdp",
        SecurityProtocols.Ssl => "ssl",
        SecurityProtocols.Hybrid => "hybrid",
        SecurityProtocols.RdsTls => "rdstls",
        SecurityProtocols.HybridEx => "hybrid_ex",
        SecurityProtocols.RdsAad => "rdsaad",
        _ => $"0x{(uint)protocol:x8}",
    };

    /// <summary>The individual bits of a mask as report words; PROTOCOL_RDP (0) is its own entry when the mask is 0.</summary>
    public static IReadOnlyList<string> ToReportNames(this SecurityProtocols mask)
    {
        if (mask == SecurityProtocols.Rdp)
        {
            return ["rdp"];
        }

        var names = new List<string>();
        for (int bit = 0; bit < 32; bit++)
        {
            uint flag = 1u << bit;
            if (((uint)mask & flag) != 0)
            {
                names.Add(((SecurityProtocols)flag).ToReportName());
            }
        }

        return names;
    }

    public static bool TryParseReportName(string name, out SecurityProtocols protocol)
    {
        switch (name.Trim().ToLowerInvariant().Replace("-", "_"))
        {
            case "rdp": protocol = SecurityProtocols.Rdp; return true;
            case "ssl": case "tls": protocol = SecurityProtocols.Ssl; return true;
            case "hybrid": case "nla": case "credssp": protocol = SecurityProtocols.Hybrid; return true;
            case "rdstls": protocol = SecurityProtocols.RdsTls; return true;
            case "hybrid_ex": case "hybridex": protocol = SecurityProtocols.HybridEx; return true;
            case "rdsaad": case "aad": protocol = SecurityProtocols.RdsAad; return true;
            default: protocol = default; return false;
        }
    }

    /// <summary>Spec name in report form, e.g. "hybrid_required_by_server".</summary>
    public static string ToReportName(this NegotiationFailureCode code) => code switch
    {
        NegotiationFailureCode.SslRequiredByServer => "ssl_required_by_server",
        NegotiationFailureCode.SslNotAllowedByServer => "ssl_not_allowed_by_server",
        NegotiationFailureCode.SslCertNotOnServer => "ssl_cert_not_on_server",
        NegotiationFailureCode.InconsistentFlags => "inconsistent_flags",
        NegotiationFailureCode.HybridRequiredByServer => "hybrid_required_by_server",
        NegotiationFailureCode.SslWithUserAuthRequiredByServer => "ssl_with_user_auth_required_by_server",
        _ => $"unknown_failure_code_{(uint)code}",
    };
}
