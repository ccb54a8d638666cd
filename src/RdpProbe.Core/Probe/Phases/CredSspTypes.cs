using RdpProbe.Protocol;

namespace RdpProbe.Probe.Phases;

/// <summary>
/// Who to log on as. The password is never logged, never put in a wire message description or an exception, and
/// <see cref="ToString"/> hides it (records print every property by default).
/// </summary>
internal sealed record CredSspCredentials(string Domain, string User, string Password)
{
    /// <summary>Parses "DOMAIN\user", "user@domain" or "user" (empty domain, the server's own accounts).</summary>
    public static CredSspCredentials FromUserSpec(string userSpec, string password)
    {
        int backslash = userSpec.IndexOf('\\', StringComparison.Ordinal);
        if (backslash >= 0)
        {
            return new CredSspCredentials(userSpec[..backslash], userSpec[(backslash + 1)..], password);
        }

        // user@domain is a UPN; NTLM takes it whole as the user name with an empty domain (MS-NLMP 3.1.5.1.2 note).
        return new CredSspCredentials("", userSpec, password);
    }

    public string DisplayName => Domain.Length > 0 ? $"{Domain}\\{User}" : User;

    public override string ToString() => $"CredSspCredentials {{ User = {DisplayName}, Password = *** }}";
}

/// <summary>What the server's NTLM CHALLENGE says about it (MS-NLMP 2.2.1.2, AV pairs 2.2.2.1, VERSION 2.2.2.10).</summary>
internal sealed record NtlmChallengeInfo(
    string? TargetName,
    string? NetbiosComputerName,
    string? NetbiosDomainName,
    string? DnsComputerName,
    string? DnsDomainName,
    string? DnsTreeName,
    string? ProductVersion,
    int? ProductBuild,
    DateTimeOffset? ServerTime,
    double? ClockSkewSeconds,
    NtlmNegotiateFlags NegotiateFlags)
{
    /// <summary>Skew is server minus local: positive when the server's clock is ahead.</summary>
    public static NtlmChallengeInfo From(NtlmChallenge challenge, DateTimeOffset localTime)
    {
        var serverTime = challenge.ServerTime;
        return new NtlmChallengeInfo(
            challenge.TargetName,
            challenge.NbComputerName,
            challenge.NbDomainName,
            challenge.DnsComputerName,
            challenge.DnsDomainName,
            challenge.DnsTreeName,
            challenge.Version?.ProductVersion,
            challenge.Version?.Build,
            serverTime,
            serverTime is { } t ? Math.Round((t - localTime).TotalSeconds, 3) : null,
            challenge.Flags);
    }
}

/// <summary>How the CredSSP exchange went. Filled in as far as the exchange got, also when the phase failed.</summary>
internal sealed class CredSspResult
{
    /// <summary>The version the server put in its first TSRequest (MS-CSSP 2.2.1).</summary>
    public int? ServerVersion { get; internal set; }

    /// <summary>The version both sides use: the smaller of ours (6) and the server's.</summary>
    public int? NegotiatedVersion { get; internal set; }

    /// <summary>TSRequest.errorCode when the server sent one (an NTSTATUS).</summary>
    public uint? ErrorCode { get; internal set; }

    /// <summary>Report name of <see cref="ErrorCode"/>, e.g. "status_logon_failure".</summary>
    public string? ErrorName => ErrorCode is { } code ? NtStatus.Name(code) : null;

    public NtlmChallengeInfo? Ntlm { get; internal set; }

    /// <summary>True once the server proved the TLS key binding (its pubKeyAuth checked out) and authInfo was sent.</summary>
    public bool Authenticated { get; internal set; }

    /// <summary>True when the server's pubKeyAuth answer verified: the credentials were accepted.</summary>
    public bool ServerPubKeyAuthVerified { get; internal set; }

    /// <summary>
    /// The NTLM security context after AUTHENTICATE (sealing keys and sequence numbers per direction). CredSSP is done
    /// with it after authInfo; kept for callers that want to seal more (tests, transcripts).
    /// </summary>
    public NtlmSession? Session { get; internal set; }

    /// <summary>The mechanism asked for (--auth, or its default).</summary>
    public AuthMechanism Auth { get; internal set; } = AuthMechanism.Ntlm;

    /// <summary>True when the tokens travelled in SPNEGO (RFC 4178) rather than as raw NTLM.</summary>
    public bool Spnego { get; internal set; }

    /// <summary>The mechanism the exchange ended up using ("kerberos", "ntlm"), once the server answered with one.</summary>
    public string? Mechanism { get; internal set; }

    /// <summary>TERMSRV/&lt;name&gt;; null for a literal IP address.</summary>
    public string? Spn { get; internal set; }

    /// <summary>
    /// Why no Kerberos token was sent, when none was: "no_spn" (literal IP) or the library's status word
    /// ("unknown_credentials", "target_unknown", …). Null when one was sent or Kerberos was not asked for.
    /// </summary>
    public string? KerberosUnavailable { get; internal set; }

    /// <summary>Why Kerberos was skipped before NTLM, in words for the phase detail (the final detail keeps it).</summary>
    public string? KerberosNote { get; internal set; }

    /// <summary>The server's first SPNEGO answer: negState and supportedMech (report words).</summary>
    public string? NegState { get; internal set; }

    public string? SupportedMech { get; internal set; }

    /// <summary>What the server did with the offered Kerberos ticket (null when none was offered).</summary>
    public SpnegoOutcome? ServerChoice { get; internal set; }

    /// <summary>The mechanism list of the NegTokenInit as sent (report words); empty when none was sent.</summary>
    public IReadOnlyList<string> SpnegoOffered { get; internal set; } = [];

    /// <summary>The server's Kerberos AP-REP verified (mutual authentication, RFC 4120 §3.2.5).</summary>
    public bool KerberosMutualAuth { get; internal set; }
}

/// <summary>What the server did with the client's Kerberos token in SPNEGO (issue 12).</summary>
internal enum SpnegoOutcome
{
    /// <summary>supportedMech Kerberos and an AP-REP: the server took the ticket.</summary>
    KerberosAccepted,

    /// <summary>supportedMech NTLM: the server wants NTLM instead (RFC 4178 §3: the acceptor picks another offered mech).</summary>
    NtlmChosen,

    /// <summary>negState reject.</summary>
    Rejected,

    /// <summary>The server closed, reset or answered with something that is not SPNEGO.</summary>
    NotUnderstood,
}

/// <summary>How CredSSP should authenticate: the mechanism, the service principal and the realm (issue 12).</summary>
internal sealed record CredSspAuth(AuthMechanism Mechanism, string? Spn, string? Realm)
{
    /// <summary>
    /// The krb5.conf for the Kerberos library when the kerberos phase found the KDC (--kdc, krb5.conf, DNS SRV), so
    /// CredSSP asks the same KDC for its ticket; null: the library's own configuration.
    /// </summary>
    public string? Krb5Conf { get; init; }

    /// <summary>
    /// Set when the kerberos phase failed in a way Negotiate falls back from (its code word, e.g.
    /// "kdc_err_s_principal_unknown"): CredSSP sends no Kerberos token and goes on with NTLM.
    /// </summary>
    public string? KerberosUnavailable { get; init; }

    /// <summary>Raw NTLM, the probe's behaviour before issue 12 and what FreeRDP 2 does.</summary>
    public static CredSspAuth Ntlm { get; } = new(AuthMechanism.Ntlm, null, null);
}

/// <summary>The client's random inputs to one CredSSP exchange: NTLM client challenge, exported session key, CredSSP nonce.</summary>
internal sealed record CredSspRandomness(byte[] ClientChallenge, byte[] ExportedSessionKey, byte[] ClientNonce)
{
    public static CredSspRandomness Fresh() => new(
        System.Security.Cryptography.RandomNumberGenerator.GetBytes(8),
        System.Security.Cryptography.RandomNumberGenerator.GetBytes(16),
        System.Security.Cryptography.RandomNumberGenerator.GetBytes(TsRequest.NonceLength));

    public override string ToString() => "CredSspRandomness { *** }";
}
