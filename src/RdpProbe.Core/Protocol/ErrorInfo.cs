using System.Globalization;

namespace RdpProbe.Protocol;

/// <summary>
/// Set Error Info PDU errorInfo codes (MS-RDPBCGR 2.2.5.1.1), each with the report
/// name ("errinfo_server_denied_connection") and its meaning in words. The Windows client shows these as the
/// "extended error" after disconnect reason 0x904.
/// </summary>
internal static class ErrorInfo
{
    public const uint None = 0x00000000;
    public const uint ServerDeniedConnection = 0x00000007;

    private static readonly Dictionary<uint, (string Name, string Meaning)> Codes = Build();

    private static Dictionary<uint, (string, string)> Build()
    {
        var d = new Dictionary<uint, (string, string)>
        {
            // Protocol-independent codes.
            [0x0000] = ("NONE", "no error"),
            [0x0001] = ("RPC_INITIATED_DISCONNECT", "an administrative tool on the server disconnected the session"),
            [0x0002] = ("RPC_INITIATED_LOGOFF", "an administrative tool on the server logged the session off"),
            [0x0003] = ("IDLE_TIMEOUT", "the idle-session time limit was reached"),
            [0x0004] = ("LOGON_TIMEOUT", "the active-session time limit was reached"),
            [0x0005] = ("DISCONNECTED_BY_OTHERCONNECTION", "another connection took over the session"),
            [0x0006] = ("OUT_OF_MEMORY", "the server ran out of memory"),
            [0x0007] = ("SERVER_DENIED_CONNECTION", "the server refused the connection (session policy: connections disabled for this user or listener, session limits, deny rules)"),
            [0x0009] = ("SERVER_INSUFFICIENT_PRIVILEGES", "the user lacks the rights to connect to this server"),
            [0x000A] = ("SERVER_FRESH_CREDENTIALS_REQUIRED", "the server does not accept saved credentials; the user must type them"),
            [0x000B] = ("RPC_INITIATED_DISCONNECT_BYUSER", "the user disconnected the session with an administrative tool"),
            [0x000C] = ("LOGOFF_BY_USER", "the user logged off"),
            [0x000F] = ("CLOSE_STACK_ON_DRIVER_NOT_READY", "the display driver in the session never reported ready"),
            [0x0010] = ("SERVER_DWM_CRASH", "the Desktop Window Manager crashed in the session"),
            [0x0011] = ("CLOSE_STACK_ON_DRIVER_FAILURE", "the display driver in the session failed to start"),
            [0x0012] = ("CLOSE_STACK_ON_DRIVER_IFACE_FAILURE", "the display driver started but the stack could not use it"),
            [0x0017] = ("SERVER_WINLOGON_CRASH", "winlogon crashed in the session"),
            [0x0018] = ("SERVER_CSRSS_CRASH", "csrss crashed in the session"),
            [0x0019] = ("SERVER_SHUTDOWN", "the server is shutting down"),
            [0x001A] = ("SERVER_REBOOT", "the server is rebooting"),

            // Licensing.
            [0x0100] = ("LICENSE_INTERNAL", "internal error in the server's licensing component"),
            [0x0101] = ("LICENSE_NO_LICENSE_SERVER", "no Remote Desktop license server could be reached"),
            [0x0102] = ("LICENSE_NO_LICENSE", "no client access license (CAL) is available"),
            [0x0103] = ("LICENSE_BAD_CLIENT_MSG", "the server received a malformed licensing message"),
            [0x0104] = ("LICENSE_HWID_DOESNT_MATCH_LICENSE", "the client's stored license was modified"),
            [0x0105] = ("LICENSE_BAD_CLIENT_LICENSE", "the client's stored license is malformed"),
            [0x0106] = ("LICENSE_CANT_FINISH_PROTOCOL", "a network problem aborted licensing"),
            [0x0107] = ("LICENSE_CLIENT_ENDED_PROTOCOL", "the client ended licensing early"),
            [0x0108] = ("LICENSE_BAD_CLIENT_ENCRYPTION", "a licensing message was wrongly encrypted"),
            [0x0109] = ("LICENSE_CANT_UPGRADE_LICENSE", "the client's license could not be upgraded or renewed"),
            [0x010A] = ("LICENSE_NO_REMOTE_CONNECTIONS", "the server is not licensed for remote connections (e.g. the RD Session Host grace period ended)"),

            // Connection Broker.
            [0x0400] = ("CB_DESTINATION_NOT_FOUND", "the broker found no target for this user"),
            [0x0402] = ("CB_LOADING_DESTINATION", "the broker's target is still starting"),
            [0x0404] = ("CB_REDIRECTING_TO_DESTINATION", "the broker is redirecting to the target"),
            [0x0405] = ("CB_SESSION_ONLINE_VM_WAKE", "the broker is waking the target virtual machine"),
            [0x0406] = ("CB_SESSION_ONLINE_VM_BOOT", "the broker is booting the target virtual machine"),
            [0x0407] = ("CB_SESSION_ONLINE_VM_NO_DNS", "the target virtual machine has no DNS name"),
            [0x0408] = ("CB_DESTINATION_POOL_NOT_FREE", "no free machine in the target pool"),
            [0x0409] = ("CB_CONNECTION_CANCELLED", "the broker cancelled the connection"),
            [0x0410] = ("CB_CONNECTION_ERROR_INVALID_SETTINGS", "the routing token could not be validated"),
            [0x0411] = ("CB_SESSION_ONLINE_VM_BOOT_TIMEOUT", "the target virtual machine did not boot in time"),
            [0x0412] = ("CB_SESSION_ONLINE_VM_SESSMON_FAILED", "session monitoring failed on the target virtual machine"),

            // RDP protocol errors: the server rejected something the client sent.
            [0x10C9] = ("UNKNOWN_DATA_PDU_TYPE", "the client sent a data PDU of unknown type"),
            [0x10CA] = ("UNKNOWN_PDU_TYPE", "the client sent a PDU of unknown type"),
            [0x10CB] = ("DATA_PDU_SEQUENCE", "the client sent a data PDU out of sequence"),
            [0x10CD] = ("CONTROL_PDU_SEQUENCE", "the client sent a control PDU out of sequence"),
            [0x10CE] = ("INVALID_CONTROL_PDU_ACTION", "the client sent a control PDU with an invalid action"),
            [0x10CF] = ("INVALID_INPUT_PDU_TYPE", "the client sent an input PDU of invalid type"),
            [0x10D0] = ("INVALID_INPUT_PDU_MOUSE", "the client sent an invalid mouse event"),
            [0x10D1] = ("INVALID_REFRESH_RECT_PDU", "the client sent an invalid Refresh Rect PDU"),
            [0x10D2] = ("CREATE_USER_DATA_FAILED", "the server could not build its GCC Conference Create Response user data"),
            [0x10D3] = ("CONNECT_FAILED", "the channel connection phase failed"),
            [0x10D4] = ("CONFIRM_ACTIVE_HAS_WRONG_SHAREID", "the Confirm Active PDU carried the wrong share id"),
            [0x10D5] = ("CONFIRM_ACTIVE_HAS_WRONG_ORIGINATOR", "the Confirm Active PDU carried the wrong originator id"),
            [0x10DA] = ("PERSISTENT_KEY_PDU_BAD_LENGTH", "the Persistent Key List PDU has a bad length"),
            [0x10DB] = ("PERSISTENT_KEY_PDU_ILLEGAL_FIRST", "the first Persistent Key List PDU is not marked first"),
            [0x10DC] = ("PERSISTENT_KEY_PDU_TOO_MANY_TOTAL_KEYS", "the Persistent Key List PDUs announce too many keys"),
            [0x10DD] = ("PERSISTENT_KEY_PDU_TOO_MANY_CACHE_KEYS", "a Persistent Key List PDU has too many keys for a cache"),
            [0x10DE] = ("INPUT_PDU_BAD_LENGTH", "an input PDU has a bad length"),
            [0x10DF] = ("BITMAP_CACHE_ERROR_PDU_BAD_LENGTH", "a Bitmap Cache Error PDU has a bad length"),
            [0x10E0] = ("SECURITY_DATA_TOO_SHORT", "security data from the client is too short"),
            [0x10E1] = ("VCHANNEL_DATA_TOO_SHORT", "virtual channel data from the client is too short"),
            [0x10E2] = ("SHARE_DATA_TOO_SHORT", "share data from the client is too short"),
            [0x10E3] = ("BAD_SUPPRESS_OUTPUT_PDU", "the client sent a bad Suppress Output PDU"),
            [0x10E5] = ("CONFIRM_ACTIVE_PDU_TOO_SHORT", "the Confirm Active PDU is too short"),
            [0x10E7] = ("CAPABILITY_SET_TOO_SMALL", "a client capability set is too small"),
            [0x10E8] = ("CAPABILITY_SET_TOO_LARGE", "a client capability set is too large"),
            [0x10E9] = ("NO_CURSOR_CACHE", "the client announced no cursor cache"),
            [0x10EA] = ("BAD_CAPABILITIES", "the client's capabilities are not acceptable"),
            [0x10EC] = ("VIRTUAL_CHANNEL_DECOMPRESSION", "virtual channel data could not be decompressed"),
            [0x10ED] = ("INVALID_VC_COMPRESSION_TYPE", "virtual channel data uses an invalid compression type"),
            [0x10EF] = ("INVALID_CHANNEL_ID", "the client used an invalid channel id"),
            [0x10F0] = ("VCHANNELS_TOO_MANY", "the client asked for too many virtual channels"),
            [0x10F3] = ("REMOTEAPP_NOT_ENABLED", "RemoteApp is not enabled on the server"),
            [0x10F4] = ("CACHE_CAP_NOT_SET", "the client set no cache capability"),
            [0x10F5] = ("BITMAP_CACHE_ERROR_PDU_BAD_LENGTH2", "a Bitmap Cache Error PDU has a bad length"),
            [0x10F6] = ("OFFSCREEN_CACHE_ERROR_PDU_BAD_LENGTH", "an Offscreen Cache Error PDU has a bad length"),
            [0x10F7] = ("DRAWNINEGRID_CACHE_ERROR_PDU_BAD_LENGTH", "a DrawNineGrid Cache Error PDU has a bad length"),
            [0x10F8] = ("GDIPLUS_PDU_BAD_LENGTH", "a GDI+ Error PDU has a bad length"),
            [0x1129] = ("BAD_MONITOR_DATA", "the client's monitor layout is invalid"),
            [0x112A] = ("VC_DECOMPRESSED_REASSEMBLE_FAILED", "decompressed virtual channel data could not be reassembled"),
            [0x112B] = ("VC_DATA_TOO_LONG", "virtual channel data is too long"),
            [0x112C] = ("BAD_FRAME_ACK_DATA", "the client sent bad frame acknowledgement data"),
            [0x112D] = ("GRAPHICS_MODE_NOT_SUPPORTED", "the requested graphics mode is not supported"),
            [0x112E] = ("GRAPHICS_SUBSYSTEM_RESET_FAILED", "the graphics subsystem could not be reset"),
            [0x112F] = ("GRAPHICS_SUBSYSTEM_FAILED", "the graphics subsystem failed"),
            [0x1130] = ("TIMEZONE_KEY_NAME_LENGTH_TOO_SHORT", "the client's time zone key name is too short"),
            [0x1131] = ("TIMEZONE_KEY_NAME_LENGTH_TOO_LONG", "the client's time zone key name is too long"),
            [0x1132] = ("DYNAMIC_DST_DISABLED_FIELD_MISSING", "the client's dynamic DST field is missing"),
            [0x1133] = ("VC_DECODING_ERROR", "virtual channel data could not be decoded"),
            [0x1134] = ("VIRTUALDESKTOPTOOLARGE", "the requested virtual desktop is too large"),
            [0x1135] = ("MONITORGEOMETRYVALIDATIONFAILED", "the client's monitor geometry is invalid"),
            [0x1136] = ("INVALIDMONITORCOUNT", "the client announced an invalid number of monitors"),
            [0x1191] = ("UPDATE_SESSION_KEY_FAILED", "standard RDP security: the session key update failed"),
            [0x1192] = ("DECRYPT_FAILED", "standard RDP security: the server could not decrypt client data (MAC or key mismatch)"),
            [0x1193] = ("ENCRYPT_FAILED", "standard RDP security: the server could not encrypt data"),
            [0x1194] = ("ENCRYPTION_PACKAGE_MISMATCH", "standard RDP security: none of the client's encryption methods is acceptable to the server"),
            [0x1195] = ("DECRYPT_FAILED2", "standard RDP security: the server could not decrypt client data"),
            [0x1196] = ("PEER_DISCONNECTED", "the peer disconnected"),
        };

        // 0x1111–0x1126: SECURITY_DATA_TOO_SHORT2 … SECURITY_DATA_TOO_SHORT23 (one code per field the server checks).
        for (uint code = 0x1111; code <= 0x1126; code++)
        {
            uint n = code - 0x1111 + 2;
            d[code] = ($"SECURITY_DATA_TOO_SHORT{n.ToString(CultureInfo.InvariantCulture)}", "security data from the client is too short");
        }

        return d;
    }

    /// <summary>Report name: "errinfo_" + the lower-case code name; unknown codes keep their number.</summary>
    public static string Name(uint code)
        => Codes.TryGetValue(code, out var entry) ? "errinfo_" + entry.Name.ToLowerInvariant() : $"errinfo_0x{code:x8}";

    public static string Meaning(uint code)
        => Codes.TryGetValue(code, out var entry) ? entry.Meaning : "a Set Error Info code this probe does not know";

    public static bool IsKnown(uint code) => Codes.ContainsKey(code);

    public static IEnumerable<uint> KnownCodes => Codes.Keys;
}
