namespace RdpProbe.Protocol;

/// <summary>
/// NTSTATUS values a CredSSP server puts in TSRequest.errorCode (MS-CSSP 2.2.1, values from MS-ERREF 2.3.1), with the
/// report name (lower-case spec name, e.g. "status_logon_failure") and what it means for the person at the keyboard.
/// </summary>
internal static class NtStatus
{
    public const uint LogonFailure = 0xC000006D;
    public const uint WrongPassword = 0xC000006A;
    public const uint NoSuchUser = 0xC0000064;
    public const uint AccountRestriction = 0xC000006E;
    public const uint MoreProcessingRequired = 0xC0000016;

    private static readonly Dictionary<uint, (string Name, string Meaning)> Known = new()
    {
        [0xC000006D] = ("STATUS_LOGON_FAILURE", "the user name or password is wrong"),
        [0xC000006A] = ("STATUS_WRONG_PASSWORD", "the password is wrong"),
        [0xC0000064] = ("STATUS_NO_SUCH_USER", "the account does not exist"),
        [0xC000006E] = ("STATUS_ACCOUNT_RESTRICTION", "the credentials are right but an account restriction applies (blank password, logon hours, workstation list)"),
        [0xC000006F] = ("STATUS_INVALID_LOGON_HOURS", "the account may not log on at this time of day"),
        [0xC0000070] = ("STATUS_INVALID_WORKSTATION", "the account may not log on from this workstation"),
        [0xC0000071] = ("STATUS_PASSWORD_EXPIRED", "the password has expired"),
        [0xC0000072] = ("STATUS_ACCOUNT_DISABLED", "the account is disabled"),
        [0xC0000193] = ("STATUS_ACCOUNT_EXPIRED", "the account has expired"),
        [0xC0000224] = ("STATUS_PASSWORD_MUST_CHANGE", "the user must change the password before logging on"),
        [0xC0000234] = ("STATUS_ACCOUNT_LOCKED_OUT", "the account is locked out"),
        [0xC000015B] = ("STATUS_LOGON_TYPE_NOT_GRANTED", "the account lacks the logon right (network or Remote Desktop logon)"),
        [0xC0000022] = ("STATUS_ACCESS_DENIED", "access denied"),
        [0xC000005E] = ("STATUS_NO_LOGON_SERVERS", "the server could not reach a domain controller"),
        [0xC00000DF] = ("STATUS_NO_SUCH_DOMAIN", "the domain does not exist or cannot be contacted"),
        [0xC000018D] = ("STATUS_TRUSTED_RELATIONSHIP_FAILURE", "the server's trust with its domain is broken (secure channel)"),
        [0xC0000133] = ("STATUS_TIME_DIFFERENCE_AT_DC", "the clocks of the server and its domain controller differ too much"),
        [0xC0000388] = ("STATUS_DOWNGRADE_DETECTED", "the server detected a security downgrade"),
        [0xC0000413] = ("STATUS_AUTHENTICATION_FIREWALL_FAILED", "a selective-authentication trust refused this account"),
        [0xC0000380] = ("STATUS_SMARTCARD_WRONG_PIN", "the smart card PIN is wrong"),
        [0xC000040E] = ("STATUS_KDC_CERT_EXPIRED", "the domain controller's certificate has expired"),
        [0xC0000016] = ("STATUS_MORE_PROCESSING_REQUIRED", "not an error: the authentication continues"),
    };

    /// <summary>Report name, lower case ("status_logon_failure"); unknown values read "ntstatus_0x…" so they stay searchable.</summary>
    public static string Name(uint status)
        => Known.TryGetValue(status, out var entry) ? entry.Name.ToLowerInvariant() : $"ntstatus_0x{status:x8}";

    /// <summary>The spec name in its usual upper case, or null when unknown.</summary>
    public static string? SpecName(uint status) => Known.TryGetValue(status, out var entry) ? entry.Name : null;

    public static string Meaning(uint status)
        => Known.TryGetValue(status, out var entry) ? entry.Meaning : "an NTSTATUS this probe does not know";

    public static bool IsKnown(uint status) => Known.ContainsKey(status);

    public static IEnumerable<uint> KnownCodes => Known.Keys;
}
