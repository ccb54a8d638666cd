using System.Buffers;
using System.Net;
using System.Net.Security;

namespace RdpProbe.Probe.Phases;

/// <summary>
/// The client's Kerberos GSS-API context for CredSSP (issue 12), from the platform's Kerberos: MIT krb5 through GSS-API
/// on Linux and macOS, SSPI on Windows, both behind <see cref="NegotiateAuthentication"/> (package "Kerberos"). The
/// probe writes no Kerberos cryptography: the AP-REQ (RFC 4120 §5.5.1 in the RFC 4121 §4.1 framing), the AP-REP check
/// (mutual authentication), GSS_Wrap/Unwrap (RFC 4121 §4.2.6.2) and GSS_GetMIC (§4.2.6.1) are the library's.
/// Where the KDC is comes from the library's configuration (krb5.conf / KRB5_CONFIG, DNS SRV records), not from here.
/// </summary>
internal sealed class KerberosContext : IDisposable
{
    private readonly NegotiateAuthentication _auth;

    private KerberosContext(NegotiateAuthentication auth, string spn)
    {
        _auth = auth;
        Spn = spn;
    }

    /// <summary>The service principal asked for: TERMSRV/&lt;name as given&gt; (MS-CSSP 3.1.5 uses the TERMSRV service class).</summary>
    public string Spn { get; }

    /// <summary>The first token (AP-REQ) when the library could make one.</summary>
    public byte[]? FirstToken { get; private set; }

    /// <summary>What the library said about the first token: ContinueNeeded (mutual authentication pending) or a failure.</summary>
    public NegotiateAuthenticationStatusCode FirstStatus { get; private set; }

    /// <summary>The context is established: the server's AP-REP verified (mutual authentication).</summary>
    public bool Complete => _auth.IsAuthenticated;

    /// <summary>The SPN for a target name: none for a literal IP address (no TERMSRV principal can name it).</summary>
    public static string? SpnFor(string host, bool isLiteral) => isLiteral ? null : $"TERMSRV/{host}";

    /// <summary>
    /// Asks the library for the first token. With <paramref name="credentials"/> the library gets a ticket-granting
    /// ticket with the password (an AS exchange of its own, in memory: nothing is written to the user's credential
    /// cache); without, it uses the credential cache (kinit) like a logged-on client. Blocks while the library talks
    /// to the KDC: run it off the caller's thread. <paramref name="krb5Conf"/>, when given, is the krb5.conf the library
    /// reads for this call (the KDC the kerberos phase used, see <see cref="Krb5Environment"/>); both library calls
    /// that reach the KDC (acquiring the credential, the first token) happen inside that scope.
    /// </summary>
    public static KerberosContext Start(string spn, CredSspCredentials? credentials, string? realm, string? krb5Conf = null)
    {
        using var scope = Krb5Environment.Use(krb5Conf);
        var auth = new NegotiateAuthentication(new NegotiateAuthenticationClientOptions
        {
            Package = "Kerberos",
            TargetName = spn,
            Credential = Credential(credentials, realm),
            RequiredProtectionLevel = ProtectionLevel.EncryptAndSign,
            RequireMutualAuthentication = true,
        });
        var context = new KerberosContext(auth, spn);
        context.FirstToken = auth.GetOutgoingBlob(ReadOnlySpan<byte>.Empty, out var status);
        context.FirstStatus = status;
        if (status is not (NegotiateAuthenticationStatusCode.ContinueNeeded or NegotiateAuthenticationStatusCode.Completed))
        {
            context.FirstToken = null;
        }

        return context;
    }

    /// <summary>
    /// The Kerberos principal for the credentials: "user@REALM" as given (realm upper-cased, as Windows does), or
    /// DOMAIN\user with the known realm (else the domain upper-cased), or a bare user in the default realm.
    /// </summary>
    internal static NetworkCredential Credential(CredSspCredentials? credentials, string? realm)
    {
        if (credentials is null)
        {
            return CredentialCache.DefaultNetworkCredentials;
        }

        if (credentials.Domain.Length > 0)
        {
            return new NetworkCredential(credentials.User, credentials.Password, string.IsNullOrEmpty(realm) ? credentials.Domain.ToUpperInvariant() : realm);
        }

        int at = credentials.User.LastIndexOf('@');
        if (at > 0)
        {
            return new NetworkCredential(credentials.User[..at], credentials.Password, credentials.User[(at + 1)..].ToUpperInvariant());
        }

        return string.IsNullOrEmpty(realm)
            ? new NetworkCredential(credentials.User, credentials.Password)
            : new NetworkCredential(credentials.User, credentials.Password, realm);
    }

    /// <summary>The realm named by a user spec "user@realm" (upper-cased), if any.</summary>
    public static string? RealmOf(CredSspCredentials? credentials)
    {
        if (credentials is null || credentials.Domain.Length > 0)
        {
            return null;
        }

        int at = credentials.User.LastIndexOf('@');
        return at > 0 && at < credentials.User.Length - 1 ? credentials.User[(at + 1)..].ToUpperInvariant() : null;
    }

    /// <summary>Feeds the server's token (the AP-REP); Completed means the server proved it holds the service key.</summary>
    public NegotiateAuthenticationStatusCode Continue(ReadOnlySpan<byte> serverToken)
    {
        _auth.GetOutgoingBlob(serverToken, out var status);
        return status;
    }

    /// <summary>GSS_Wrap with confidentiality (what MS-CSSP 3.1.5 calls encrypting pubKeyAuth and authInfo).</summary>
    public byte[] Wrap(ReadOnlySpan<byte> message)
    {
        var output = new ArrayBufferWriter<byte>();
        var status = _auth.Wrap(message, output, requestEncryption: true, out bool encrypted);
        if (status != NegotiateAuthenticationStatusCode.Completed || !encrypted)
        {
            throw new InvalidOperationException($"Kerberos GSS_Wrap failed ({status})");
        }

        return output.WrittenSpan.ToArray();
    }

    /// <summary>GSS_Unwrap; false when the token does not verify or was not encrypted.</summary>
    public bool TryUnwrap(ReadOnlySpan<byte> token, out byte[] message)
    {
        var output = new ArrayBufferWriter<byte>();
        var status = _auth.Unwrap(token, output, out bool encrypted);
        message = status == NegotiateAuthenticationStatusCode.Completed && encrypted ? output.WrittenSpan.ToArray() : [];
        return status == NegotiateAuthenticationStatusCode.Completed && encrypted;
    }

    /// <summary>GSS_GetMIC over <paramref name="message"/> (the SPNEGO mechListMIC, RFC 4178 §5).</summary>
    public byte[] Mic(ReadOnlySpan<byte> message)
    {
        var output = new ArrayBufferWriter<byte>();
        _auth.ComputeIntegrityCheck(message, output);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>GSS_VerifyMIC.</summary>
    public bool VerifyMic(ReadOnlySpan<byte> message, ReadOnlySpan<byte> mic) => _auth.VerifyIntegrityCheck(message, mic);

    /// <summary>Report word for a library status ("unknown_credentials", "target_unknown", …).</summary>
    public static string StatusWord(NegotiateAuthenticationStatusCode status)
        => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(status.ToString());

    public void Dispose() => _auth.Dispose();
}
