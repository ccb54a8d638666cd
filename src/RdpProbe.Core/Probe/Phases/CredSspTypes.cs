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
