namespace RdpProbe.Probe;

/// <summary>
/// What CredSSP authenticates with (issue 12, --auth). <see cref="Negotiate"/> is what a domain-joined Windows client
/// does: SPNEGO (RFC 4178, MS-SPNG) offering Kerberos first and NTLM after it; <see cref="Kerberos"/> is a client
/// that may not fall back (Restrict NTLM, Protected Users, Credential Guard); <see cref="Ntlm"/> is raw NTLM in
/// TSRequest.negoTokens as the probe always did (and as FreeRDP 2 does).
/// </summary>
public enum AuthMechanism
{
    Negotiate,
    Kerberos,
    Ntlm,
}

/// <summary>Default and report words of <see cref="AuthMechanism"/>.</summary>
public static class AuthMechanisms
{
    /// <summary>
    /// The mechanism used when --auth is not given: negotiate when a Kerberos realm is known (a domain-joined Windows
    /// client always starts with SPNEGO and Kerberos), NTLM otherwise (a workgroup client's Kerberos attempt cannot get
    /// a ticket and ends in NTLM anyway).
    /// </summary>
    public static AuthMechanism Default(AuthMechanism? requested, string? realm)
        => requested ?? (string.IsNullOrEmpty(realm) ? AuthMechanism.Ntlm : AuthMechanism.Negotiate);

    public static string Word(AuthMechanism mechanism) => mechanism switch
    {
        AuthMechanism.Negotiate => "negotiate",
        AuthMechanism.Kerberos => "kerberos",
        _ => "ntlm",
    };

    /// <summary>Parses a --auth value (case-insensitive); false for anything else.</summary>
    public static bool TryParse(string? text, out AuthMechanism mechanism)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case "negotiate":
                mechanism = AuthMechanism.Negotiate;
                return true;
            case "kerberos":
                mechanism = AuthMechanism.Kerberos;
                return true;
            case "ntlm":
                mechanism = AuthMechanism.Ntlm;
                return true;
            default:
                mechanism = default;
                return false;
        }
    }
}
